//! LLM API bodies (OpenAI chat, Responses, Anthropic; requests and responses) under block, mask
//! and monitor: never a panic, and a masked body is valid JSON that no longer has the findings.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use parapet_filter::{Format, Guard, Outcome, RequestCtx};

#[path = "common.rs"]
mod common;

static GUARDS: OnceLock<[Guard; 3]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else { return };
    let gs = GUARDS.get_or_init(|| [common::guard("block"), common::guard("mask"), common::guard("monitor")]);
    let g = &gs[usize::from(sel % 3)];
    let format = [Format::OpenaiChat, Format::OpenaiResponses, Format::AnthropicMessages][usize::from(sel / 3 % 3)];
    let ctx = RequestCtx::default();
    let d = if sel / 9 % 2 == 0 { g.decide_request(format, body, &ctx) } else { g.mask_response(format, body, &ctx) };
    if let Some(new) = &d.body {
        assert_eq!(d.outcome, Outcome::Masked);
        assert!(serde_json::from_slice::<serde_json::Value>(new).is_ok(), "masked body is not JSON");
        let again = if sel / 9 % 2 == 0 { g.decide_request(format, new, &ctx) } else { g.mask_response(format, new, &ctx) };
        assert!(again.verdict.map_or(true, |v| !v.any(parapet_filter::Act::Mask)), "a finding survived masking");
    }
    if d.outcome == Outcome::Clean {
        assert!(d.reply.is_none() && d.body.is_none());
    }
});
