//! Locates the Envoy filter module that `parapet` embeds (`include_bytes!`).
//!
//! Order: `$PARAPET_ENVOY_WASM`, then `$ENVOY_WASM` (set by scripts/env.sh), then
//! `<target-dir>/wasm32-unknown-unknown/release/parapet_envoy.wasm`, the target dir being
//! `$CARGO_TARGET_DIR` or the nearest ancestor of `OUT_DIR` that holds that file.

use std::path::{Path, PathBuf};

const REL: &str = "wasm32-unknown-unknown/release/parapet_envoy.wasm";

fn candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for var in ["PARAPET_ENVOY_WASM", "ENVOY_WASM"] {
        println!("cargo:rerun-if-env-changed={var}");
        if let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            out.push(PathBuf::from(p));
            // An explicit choice is final: do not fall back to something else silently.
            return out;
        }
    }
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        out.push(PathBuf::from(t).join(REL));
    }
    if let Some(out_dir) = std::env::var_os("OUT_DIR") {
        // OUT_DIR = <target>/[<triple>/]<profile>/build/parapet-host-<hash>/out
        for dir in Path::new(&out_dir).ancestors().skip(3) {
            out.push(dir.join(REL));
        }
    }
    out
}

fn main() {
    let found = candidates();
    match found.iter().find(|p| p.is_file()) {
        Some(path) => {
            let path = path.canonicalize().unwrap_or_else(|_| path.clone());
            println!("cargo:rerun-if-changed={}", path.display());
            println!("cargo:rustc-env=PARAPET_EMBEDDED_ENVOY_WASM={}", path.display());
        }
        None => {
            for p in &found {
                println!("cargo:rerun-if-changed={}", p.display());
            }
            let looked = found.iter().take(3).map(|p| format!("  {}", p.display())).collect::<Vec<_>>().join("\n");
            eprintln!(
                "error: parapet embeds the Envoy filter module, but parapet_envoy.wasm was not found. Looked at:\n{looked}\n\
                 Build it first with scripts/build.sh (or: source scripts/env.sh && cargo build --release \
                 --target wasm32-unknown-unknown -p parapet-envoy), or set PARAPET_ENVOY_WASM=/path/to/parapet_envoy.wasm."
            );
            std::process::exit(1);
        }
    }
}
