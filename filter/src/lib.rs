//! Parapet's detector core.
//!
//! Owns everything a verdict depends on, so that every host (the Envoy proxy-wasm filter, the
//! edge worker, the wasmtime host and native tests) produces byte-identical answers:
//! - [`api`]: the Lakera-compatible `/v2/guard` request and response types, and their parsing
//!   with errors that name the offending field;
//! - [`text`]: normalisation (NFKC, invisible characters) with a map back to original offsets;
//! - [`detectors`]: the detector seam and the deterministic detectors;
//! - [`policy`] and [`config`]: policy templates, projects, and the compiled configuration;
//! - [`engine`]: screening a request under a policy, and the HTTP-shaped entry points hosts call.
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
pub mod policy;
pub mod response;
pub mod sse;
pub mod stream;
pub mod text;

pub use config::{Config, ConfigError, FailMode, Mode};
pub use engine::{Guard, HttpReply, Outcome, ProxyDecision, RequestCtx, Verdict};
pub use error::ApiError;
pub use formats::Format;
pub use response::{HeaderEdits, ResponseScreen};
pub use stream::{StreamScreen, StreamStep};

/// Version reported in `dev_info` and logs.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
