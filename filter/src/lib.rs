//! Parapet's detector core.
//!
//! Owns everything a verdict depends on, so that every host (the Envoy proxy-wasm filter, the
//! edge worker, the wasmtime host and native tests) produces byte-identical answers:
//! - [`api`]: the Lakera-compatible `/v2/guard` request and response types, and their parsing
//!   with errors that name the offending field;
//! - [`text`]: normalisation (NFKC, invisible characters) with a map back to original offsets;
//! - [`detectors`]: the detector seam and the deterministic detectors;
//! - [`model`]: the guard model (prompt attack and moderation heads) run by tract;
//! - [`policy`] and [`config`]: policy templates, projects, and the compiled configuration;
//! - [`engine`]: screening a request under a policy, and the HTTP-shaped entry points hosts call;
//! - [`log`]: the screening log record every host writes;
//! - [`posture`]: the per-project threat posture and its graded modes; [`govern`]: the posture
//!   and shadow policies applied to requests; [`tools`]: tool definitions and calls in API bodies;
//! - [`replay`]: recorded traffic replayed under a policy (`parapet policy diff`).
//!
//! No I/O, clocks, randomness or hash-map iteration happens here.

// Tests may unwrap: a panic there is a failed test, not a crashed proxy.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod config;
pub mod detectors;
pub mod engine;
pub mod error;
pub mod formats;
pub mod govern;
pub mod keys;
pub mod log;
pub mod mask;
pub mod model;
pub mod offload;
pub mod policy;
pub mod posture;
pub mod replay;
pub mod response;
pub mod sse;
pub mod stream;
pub mod text;
pub mod tools;

pub use config::{Config, ConfigError, FailMode, Mode};
pub use engine::{Act, Caller, Guard, HttpReply, Identity, Outcome, ProjectSource, ProxyDecision, RequestCtx, Verdict};
pub use error::ApiError;
pub use formats::Format;
pub use response::{HeaderEdits, ResponseScreen};
pub use stream::{StreamScreen, StreamStep};

/// Version reported in `dev_info` and logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// getrandom's custom backend for wasm32-unknown-unknown (see `.cargo/config.toml`). Some of
/// tract's dependencies link getrandom; nothing on a verdict's path reads these bytes, and a
/// module with no imports beyond proxy-wasm's runs in every host.
///
/// # Safety
/// `dest` must be valid for writes of `len` bytes, as getrandom guarantees.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
#[no_mangle]
pub unsafe extern "C" fn __getrandom_v03_custom(dest: *mut u8, len: usize) -> i32 {
    // SAFETY: the caller (getrandom) hands us a writable buffer of `len` bytes.
    unsafe { std::ptr::write_bytes(dest, 0, len) };
    0
}
