//! Streamed responses (SSE) and JSON responses cut into chunks anywhere: never a panic; in
//! monitor mode the client gets exactly the upstream's bytes; in block mode it gets a prefix of
//! them, possibly followed by one error event.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use parapet_filter::{Format, Guard, StreamStep};

#[path = "common.rs"]
mod common;

static GUARDS: OnceLock<[Guard; 2]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (head, body) = data.split_at(3);
    let gs = GUARDS.get_or_init(|| [common::guard("block"), common::guard("monitor")]);
    let monitor = head[0] & 1 == 1;
    let g = &gs[usize::from(monitor)];
    let format = [Format::OpenaiChat, Format::OpenaiResponses, Format::AnthropicMessages][usize::from(head[0] >> 1) % 3];
    let ct = if head[0] & 0x40 == 0 { "text/event-stream" } else { "application/json" };
    let Some(mut s) = g.start_response(format, 200, Some(ct), None, None, true) else { return };
    // Chunk sizes from the header bytes: 1..=64.
    let sizes = [usize::from(head[1] % 64) + 1, usize::from(head[2] % 64) + 1];
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    let mut blocked = false;
    while at < body.len() || at == 0 {
        let end = (at + sizes[i % 2]).min(body.len());
        let last = end == body.len();
        match s.feed(g, &body[at..end], last) {
            StreamStep::Release(b) => out.extend_from_slice(&b),
            StreamStep::Block { release, .. } => {
                out.extend_from_slice(&release);
                blocked = true;
                break;
            }
        }
        at = end;
        i += 1;
        if last {
            break;
        }
    }
    if monitor {
        assert_eq!(out, body, "monitor mode changed the stream");
    } else {
        assert!(body.starts_with(&out), "released bytes are not the upstream's");
        if !blocked {
            assert_eq!(out.len(), body.len(), "bytes were held back at the end");
        }
    }
    let _ = s.take_screening();
});
