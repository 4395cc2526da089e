//! The host's own failure paths, with tiny hand-written proxy-wasm modules: traps, fuel and
//! memory limits, unknown imports, modules that are not proxy-wasm 0.2.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use parapet_host::{Disposition, Filter, HostOptions, HttpRequest, Runtime};

/// A minimal proxy-wasm module. `on_headers` is the body of `proxy_on_request_headers`
/// (params `$ctx $n $eos`, returns an Action); `$answer` sends 200 `{"ok":true}`.
fn module(on_headers: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_send_local_response" (func $send (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_buffer_bytes" (func $buf (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_some_future_call" (func $future (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 16) "{{\"ok\":true}}")
  (data (i32.const 64) "application/json")
  (data (i32.const 128) "configured")
  ;; serialized header map: 1 pair, "content-type" (12) / "application/json" (16)
  (data (i32.const 256) "\01\00\00\00\0c\00\00\00\10\00\00\00content-type\00application/json\00")
  (func (export "malloc") (param $n i32) (result i32) (local $p i32)
    global.get $heap local.set $p
    global.get $heap local.get $n i32.add global.set $heap
    local.get $p)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
  (func (export "proxy_on_configure") (param $ctx i32) (param $size i32) (result i32)
    ;; read the plugin configuration through the ABI, log, and reject a config of size 3
    (drop (call $buf (i32.const 7) (i32.const 0) (local.get $size) (i32.const 512) (i32.const 516)))
    (drop (call $log (i32.const 2) (i32.const 128) (i32.const 10)))
    (i32.ne (local.get $size) (i32.const 3)))
  (func $answer (param $status i32) (result i32)
    (drop (call $send (local.get $status) (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 11) (i32.const 256) (i32.const 42) (i32.const -1)))
    i32.const 1)
  (func (export "proxy_on_request_headers") (param $ctx i32) (param $n i32) (param $eos i32) (result i32)
    {on_headers})
  (func (export "proxy_on_done") (param i32) (result i32) i32.const 1)
  (func (export "proxy_on_delete") (param i32))
)"#
    );
    wat::parse_str(&text).unwrap()
}

fn filter_of(wasm: &[u8], opts: HostOptions) -> Filter {
    let rt = Arc::new(Runtime::new(wasm, None).unwrap());
    Filter::with_runtime(rt, b"{}", opts).unwrap()
}

fn get(f: &mut Filter) -> parapet_host::HostResponse {
    f.request(&HttpRequest::new("GET", "/", &[], b""))
}

#[test]
fn a_minimal_module_answers_and_unknown_imports_are_stubbed() {
    // The unknown import answers Unimplemented (12): status 400 + 12.
    let wasm = module("(call $answer (i32.add (i32.const 400) (call $future (i32.const 0))))");
    let rt = Runtime::new(&wasm, None).unwrap();
    assert_eq!(rt.info().stubbed_imports, vec!["env.proxy_some_future_call".to_string()]);
    let mut f = Filter::with_runtime(Arc::new(rt), b"{}", HostOptions::default()).unwrap();
    assert!(f.take_startup_logs().iter().any(|l| l.message == "configured"));
    let r = get(&mut f);
    assert_eq!(r.disposition, Disposition::Local);
    assert_eq!(r.status, 412);
    assert_eq!(r.body, br#"{"ok":true}"#);
    assert_eq!(r.headers, vec![("content-type".to_string(), "application/json".to_string())]);
}

#[test]
fn a_rejected_config_fails_start() {
    let wasm = module("(call $answer (i32.const 200))");
    let rt = Arc::new(Runtime::new(&wasm, None).unwrap());
    let e = Filter::with_runtime(rt, b"bad", HostOptions::default()).err().unwrap();
    assert!(e.downcast_ref::<parapet_host::ConfigRejected>().is_some(), "{e:#}");
}

#[test]
fn a_trap_is_a_500_and_the_vm_restarts() {
    // Traps when the request has more than 5 headers (4 pseudo-headers + 2).
    let wasm = module("(if (i32.gt_u (local.get $n) (i32.const 5)) (then unreachable)) (call $answer (i32.const 200))");
    let mut f = filter_of(&wasm, HostOptions::default());
    let r = f.request(&HttpRequest::new("GET", "/", &[("a", "1"), ("b", "2")], b""));
    assert_eq!(r.status, 500);
    let Disposition::Failed { code, message } = &r.disposition else { panic!("{:?}", r.disposition) };
    assert_eq!(*code, "module_trap");
    assert!(message.contains("unreachable"), "{message}");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["error"]["code"], "module_trap");
    assert_eq!(v["error"]["type"], "parapet_error");
    let r = get(&mut f);
    assert_eq!(r.status, 200, "a fresh VM serves the next request");
    assert_eq!(f.restarts(), 1);
}

#[test]
fn fuel_bounds_a_runaway_request() {
    let wasm = module("(loop $l (br $l)) (call $answer (i32.const 200))");
    let mut f = filter_of(&wasm, HostOptions { fuel: 5_000_000, ..HostOptions::default() });
    let started = std::time::Instant::now();
    let r = get(&mut f);
    assert!(started.elapsed().as_secs() < 10);
    assert_eq!(r.status, 500);
    assert!(matches!(&r.disposition, Disposition::Failed { code: "module_fuel_exhausted", .. }), "{:?}", r.disposition);
}

#[test]
fn memory_is_capped() {
    // Tries to grow by 100 MiB (1600 pages of 64 KiB); traps if the grow fails.
    let wasm = module("(if (i32.eq (memory.grow (i32.const 1600)) (i32.const -1)) (then unreachable)) (call $answer (i32.const 200))");
    let mut small = filter_of(&wasm, HostOptions { memory_limit: 16 << 20, ..HostOptions::default() });
    let r = get(&mut small);
    assert!(matches!(&r.disposition, Disposition::Failed { code: "module_memory_limit", .. }), "{:?}", r.disposition);
    let mut big = filter_of(&wasm, HostOptions { memory_limit: 256 << 20, ..HostOptions::default() });
    assert_eq!(get(&mut big).status, 200);
}

#[test]
fn pausing_without_answering_is_reported() {
    let wasm = module("i32.const 1");
    let mut f = filter_of(&wasm, HostOptions::default());
    let r = get(&mut f);
    assert_eq!(r.disposition, Disposition::Paused);
    let wasm = module("i32.const 0");
    let mut f = filter_of(&wasm, HostOptions::default());
    let r = f.request(&HttpRequest::new("POST", "/", &[], b"hello"));
    assert_eq!(r.disposition, Disposition::Forwarded);
    assert_eq!(r.upstream_request.unwrap().body, b"hello");
    assert_eq!(r.status, 200);
}

#[test]
fn non_proxy_wasm_modules_are_refused_with_a_reason() {
    let plain = wat::parse_str(r#"(module (memory (export "memory") 1))"#).unwrap();
    let e = Runtime::new(&plain, None).err().unwrap().to_string();
    assert!(e.contains("proxy_abi_version_0_2_1"), "{e}");
    let old = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "proxy_abi_version_0_1_0")))"#).unwrap();
    let e = Runtime::new(&old, None).err().unwrap().to_string();
    assert!(e.contains("proxy_abi_version_0_1_0"), "{e}");
    let wasi = wat::parse_str(
        r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
           (memory (export "memory") 1) (func (export "proxy_abi_version_0_2_1"))
           (func (export "malloc") (param i32) (result i32) i32.const 0)
           (func (export "proxy_on_context_create") (param i32 i32))
           (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
           (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1))"#,
    )
    .unwrap();
    let e = Runtime::new(&wasi, None).err().unwrap().to_string();
    assert!(e.contains("wasi_snapshot_preview1.fd_write"), "{e}");
}

#[test]
fn compiled_code_cache_round_trips() {
    let wasm = module("(call $answer (i32.const 200))");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("parapet-cache-test-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let a = Runtime::new(&wasm, Some(&dir)).unwrap();
    assert!(!a.info().cache_hit && a.info().cache_file.is_some());
    let b = Runtime::new(&wasm, Some(&dir)).unwrap();
    assert!(b.info().cache_hit);
    let mut f = Filter::with_runtime(Arc::new(b), b"{}", HostOptions::default()).unwrap();
    assert_eq!(get(&mut f).status, 200);
    std::fs::remove_dir_all(&dir).ok();
}
