//! The compiled module, shared by every VM (one per worker thread): engine settings, the
//! compiled-code cache, the ABI checks done once at load, and the linker with all host calls.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use wasmtime::{Config, Engine, ExternType, InstancePre, Linker, Module, ValType};

use crate::hostcalls::{self, HostState};

/// Wasmtime version this host is built against (for `parapet version` and cache keys).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// The ABI version export a module must have.
pub const ABI_EXPORT: &str = "proxy_abi_version_0_2_1";

/// A module compiled for this host, ready to instantiate any number of VMs.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) pre: InstancePre<HostState>,
    /// Name of the exported allocator (`malloc` on wasm32-unknown-unknown, else
    /// `proxy_on_memory_allocate`).
    pub(crate) allocator: &'static str,
    info: ModuleInfo,
}

/// What is known about the loaded module.
#[derive(Debug, Clone)]
pub struct ModuleInfo {
    pub size_bytes: usize,
    /// Time to compile the module (or load it from the cache).
    pub load_time: Duration,
    /// `Some(path)` when the compiled code came from, or was written to, the cache.
    pub cache_file: Option<PathBuf>,
    pub cache_hit: bool,
    /// Host calls the module imports.
    pub imports: Vec<String>,
    /// Imports this host does not implement, linked as stubs returning `Unimplemented`.
    pub stubbed_imports: Vec<String>,
}

impl Runtime {
    /// Compiles `wasm` (or loads its compiled code from `cache_dir`) and links the host calls.
    pub fn new(wasm: &[u8], cache_dir: Option<&Path>) -> Result<Runtime> {
        let mut config = Config::new();
        // Fuel bounds the work of one request deterministically (see `HostOptions::fuel`).
        config.consume_fuel(true);
        let engine = Engine::new(&config).map_err(anyhow::Error::from).context("cannot create the wasmtime engine")?;
        let started = Instant::now();
        let (module, cache_file, cache_hit) = load_module(&engine, wasm, cache_dir)?;
        let load_time = started.elapsed();
        check_exports(&module)?;
        let allocator = allocator_export(&module)?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        let provided = hostcalls::link(&mut linker).map_err(anyhow::Error::from).context("cannot link the proxy-wasm host calls")?;
        let mut imports = Vec::new();
        let mut stubbed = Vec::new();
        for import in module.imports() {
            let name = format!("{}.{}", import.module(), import.name());
            imports.push(name.clone());
            if import.module() == "env" && provided.contains(&import.name()) {
                continue;
            }
            // An import we do not know: a call must not trap, so link a stub that answers
            // `Unimplemented` when the signature allows it; anything else cannot be satisfied.
            let ExternType::Func(fty) = import.ty() else {
                bail!("the module imports {name}, which is not a function; this host provides proxy-wasm host calls only");
            };
            let results: Vec<ValType> = fty.results().collect();
            let numeric = fty.params().all(|p| matches!(p, ValType::I32 | ValType::I64));
            if import.module() != "env" || !numeric || !(results.is_empty() || matches!(results.as_slice(), [ValType::I32])) {
                bail!("the module imports {name} with type {fty}, which this host does not provide (it implements the proxy-wasm ABI 0.2.1 `env` host calls)");
            }
            linker
                .func_new(import.module(), import.name(), fty.clone(), |_caller, _params, results| {
                    if let Some(r) = results.first_mut() {
                        *r = wasmtime::Val::I32(crate::abi::status::UNIMPLEMENTED);
                    }
                    Ok(())
                })
                .map_err(anyhow::Error::from)?;
            stubbed.push(name);
        }
        let pre = linker.instantiate_pre(&module).map_err(anyhow::Error::from).context("cannot link the module")?;
        let info = ModuleInfo { size_bytes: wasm.len(), load_time, cache_file, cache_hit, imports, stubbed_imports: stubbed };
        Ok(Runtime { engine, pre, allocator, info })
    }

    pub fn info(&self) -> &ModuleInfo {
        &self.info
    }
}

fn check_exports(module: &Module) -> Result<()> {
    let exports: Vec<&str> = module.exports().map(|e| e.name()).collect();
    if !exports.contains(&ABI_EXPORT) {
        let abis: Vec<&str> = exports.iter().copied().filter(|n| n.starts_with("proxy_abi_version_")).collect();
        if abis.is_empty() {
            bail!("not a proxy-wasm module: it does not export {ABI_EXPORT}");
        }
        bail!("unsupported proxy-wasm ABI: the module exports {}, this host speaks {ABI_EXPORT} only", abis.join(", "));
    }
    for required in ["memory", "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure"] {
        if !exports.contains(&required) {
            bail!("the module does not export `{required}`, which a proxy-wasm 0.2.1 module must");
        }
    }
    Ok(())
}

fn allocator_export(module: &Module) -> Result<&'static str> {
    for name in ["malloc", "proxy_on_memory_allocate"] {
        if let Some(ExternType::Func(f)) = module.get_export(name) {
            let params: Vec<ValType> = f.params().collect();
            let results: Vec<ValType> = f.results().collect();
            if matches!(params.as_slice(), [ValType::I32]) && matches!(results.as_slice(), [ValType::I32]) {
                return Ok(name);
            }
            bail!("the module's `{name}` has type {f}, expected (i32) -> i32");
        }
    }
    Err(anyhow!("the module exports no allocator (`malloc` or `proxy_on_memory_allocate`), so the host cannot hand it data"))
}

/// Two FNV-1a passes: a 128-bit content key for the cache file name (not a security boundary:
/// whoever can write the cache directory can write compiled code there anyway).
fn content_key(wasm: &[u8], engine: &Engine) -> String {
    let fnv = |seed: u64| wasm.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3));
    let mut h = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    WASMTIME_VERSION.hash(&mut h);
    format!("{:016x}{:016x}-{:016x}-{}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x6c62_272e_07bb_0142), h.finish(), wasm.len())
}

fn load_module(engine: &Engine, wasm: &[u8], cache_dir: Option<&Path>) -> Result<(Module, Option<PathBuf>, bool)> {
    let compile = || Module::new(engine, wasm).map_err(anyhow::Error::from).context("cannot compile the wasm module");
    let Some(dir) = cache_dir else { return Ok((compile()?, None, false)) };
    let path = dir.join(format!("module-{}.cwasm", content_key(wasm, engine)));
    if path.is_file() {
        // SAFETY: the file is compiled code this host wrote for exactly these bytes and this
        // engine configuration (both are in the file name); wasmtime also checks the engine
        // version and settings recorded in it and refuses a mismatch.
        match unsafe { Module::deserialize_file(engine, &path) } {
            Ok(m) => return Ok((m, Some(path), true)),
            Err(e) => {
                eprintln!("parapet: ignoring unusable cached module {}: {e}", path.display());
                std::fs::remove_file(&path).ok();
            }
        }
    }
    let module = compile()?;
    // The cache is an optimisation: failing to write it is not an error.
    let written = module.serialize().map_err(anyhow::Error::from).and_then(|bytes| {
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".tmp-{}-{}", std::process::id(), path.file_name().and_then(|n| n.to_str()).unwrap_or("module")));
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    });
    if written.is_ok() {
        prune_cache(dir, &path);
    }
    Ok((module, written.is_ok().then_some(path), false))
}

/// Keeps the cache small: the newest few compiled modules stay, older ones go.
fn prune_cache(dir: &Path, keep: &Path) {
    const KEEP: usize = 6;
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p != keep && p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("module-") && n.ends_with(".cwasm")))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    for (_, p) in files.into_iter().skip(KEEP - 1) {
        std::fs::remove_file(p).ok();
    }
}

/// `$PARAPET_CACHE/wasmtime`, else `$HOME/.cache/parapet/wasmtime`; `None` without a home.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PARAPET_CACHE").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("wasmtime"));
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    Some(PathBuf::from(home).join(".cache").join("parapet").join("wasmtime"))
}
