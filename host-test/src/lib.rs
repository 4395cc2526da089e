//! parapet-host: the wasmtime host for Parapet's Envoy filter module.
//!
//! - [`runtime`]: compiling (and caching) the module, ABI checks, linking the host calls;
//! - [`hostcalls`]: the proxy-wasm ABI 0.2.1 host calls;
//! - [`proxywasm`]: a VM driven like Envoy drives an HTTP filter ([`Filter`]);
//! - [`cli`]: the `parapet` command line (`screen`, `serve`, `verify`).
//!
//! The host decides nothing: every verdict comes from the module (or, in `verify`, from the
//! native core it is compared with).

pub mod abi;
pub mod cli;
pub mod hostcalls;
pub mod proxywasm;
pub mod runtime;

pub use hostcalls::{Clock, LocalReply, LogRecord, Metric, SharedData};
pub use proxywasm::{ConfigRejected, Disposition, Filter, HostOptions, HostResponse, HttpRequest, UpstreamRequest, UpstreamResponse};
pub use runtime::{ModuleInfo, Runtime};

/// The Envoy filter module this binary was built with (see build.rs).
pub static EMBEDDED_ENVOY_WASM: &[u8] = include_bytes!(env!("PARAPET_EMBEDDED_ENVOY_WASM"));

/// Path the embedded module was read from at build time.
pub const EMBEDDED_ENVOY_WASM_PATH: &str = env!("PARAPET_EMBEDDED_ENVOY_WASM");
