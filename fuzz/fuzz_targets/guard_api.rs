//! The guard API: any body through `/v2/guard`, `/v2/guard/results` and the log record. Answers
//! are JSON with a 2xx/4xx/5xx status, and no log record holds a raw e-mail address.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use parapet_filter::log::{Content, HostFacts};
use parapet_filter::{Guard, RequestCtx};

#[path = "common.rs"]
mod common;

static GUARD: OnceLock<Guard> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let g = GUARD.get_or_init(|| common::guard("block"));
    let ctx = RequestCtx::default();
    let (reply, screening) = g.guard_exchange(data, &ctx, false);
    assert!((200..600).contains(&reply.status));
    assert!(serde_json::from_slice::<serde_json::Value>(&reply.body).is_ok(), "answer is not JSON");
    let r = g.guard_results_http(data, &ctx, false);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_ok());
    let facts = HostFacts { time_ms: 0, host: "fuzz", latency_us: 0, request_id: None };
    let line = g.log_record(&screening, Content::Body(data), &facts);
    let rec: serde_json::Value = serde_json::from_str(&line).expect("the record is JSON");
    // Whatever the record logs as content has been masked: a second masking pass finds nothing.
    if let Some(ms) = rec["messages"].as_array() {
        for m in ms {
            let c = m["content"].as_str().unwrap_or("");
            assert_eq!(g.mask_for_log(c, None), c, "log content still holds a finding");
        }
    }
});
