//! Shared by the integration tests: the embedded module compiled once per test binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, OnceLock};

use parapet_host::{Filter, HostOptions, Runtime};

pub fn runtime() -> Arc<Runtime> {
    static RT: OnceLock<Arc<Runtime>> = OnceLock::new();
    RT.get_or_init(|| Arc::new(Runtime::new(parapet_host::EMBEDDED_ENVOY_WASM, None).expect("the embedded module loads"))).clone()
}

pub fn filter(config: &str) -> Filter {
    Filter::with_runtime(runtime(), config.as_bytes(), HostOptions::default()).expect("the module accepts the config")
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

pub const BENIGN: &str = r#"{"messages":[{"role":"user","content":"What is the capital of France?"}],"payload":true,"breakdown":true}"#;
pub const PII: &str = r#"{"messages":[{"role":"user","content":"Contact jane.doe@example.com or call +1 415 555 0134."}],"payload":true,"breakdown":true}"#;
pub const SECRET: &str = r#"{"messages":[{"role":"user","content":"deploy with token ghp_4kq9ZzXo1mB7vT2wLr8sY3nHc6dPfA0eJuQx please"}],"payload":true,"breakdown":true,"dev_info":true}"#;
