//! Screening a streamed (SSE) LLM response while it flows.
//!
//! The host hands each response chunk to [`StreamScreen::feed`] and sends on exactly the bytes
//! it gets back. In `block` mode the screen holds back the events carrying the last
//! `hold_back` bytes of model text, so a match split across chunks (an e-mail address, a key) is
//! complete, and caught, before its first half reaches the client; everything older is
//! released. When a detector fires, the held bytes are dropped and the stream ends with an error
//! event in the API's own format ([`error_event`]); every later chunk is dropped. Hosts drive it
//! through [`crate::response::ResponseScreen`].
//! In `monitor` mode nothing is held: every byte is released at once and the verdict is only
//! recorded; a stream that cannot be screened is forwarded and counted as failed open, since
//! its bytes are already with the client. Matches longer than the hold-back window can be released in part before they are
//! recognised; the window is the trade-off between that and added latency.

use std::collections::VecDeque;

use serde_json::json;

use crate::api::{Message, Role};
use crate::config::FailMode;
use crate::engine::{detector_failed, Act, Guard, Outcome, Verdict};
use crate::error::ApiError;
use crate::formats::Format;
use crate::sse::{stream_text, Event, SseParser};

/// What the host does with the bytes of this step.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamStep {
    /// Send these bytes on (possibly none: everything new is held back).
    Release(Vec<u8>),
    /// Send `release` (already screened), then `error` (the in-stream error event, or for a
    /// whole JSON body its replacement), then end the stream. `verdict` is `None` when the body
    /// could not be screened (fail closed). `status` is what a host that has not yet sent the
    /// response headers answers with (403 blocked, 502 unscreenable).
    Block { release: Vec<u8>, error: Vec<u8>, status: u16, verdict: Option<Box<Verdict>> },
}

pub struct StreamScreen {
    format: Format,
    project: Option<String>,
    parser: SseParser,
    /// Bytes received and not yet released.
    pending: Vec<u8>,
    /// Bytes taken out of `pending` so far (released or dropped).
    drained: usize,
    /// Model text from the start of the next screening window on.
    text: String,
    /// `(end of an event's bytes in pending, text length after it)`, oldest first.
    marks: VecDeque<(usize, usize)>,
    /// Text length released to the client so far.
    released_text: usize,
    /// Last verdict with detections (monitor mode keeps screening and reports it).
    flagged: Option<Verdict>,
    /// Verdict given: later bytes pass through (end of stream, fail open) ...
    finished: bool,
    /// ... or are dropped (blocked, fail closed).
    stopped: bool,
    /// Detector types any window flagged (monitor mode), sorted.
    seen: Vec<String>,
    /// How the stream ended, until the host takes it.
    outcome: Option<(Outcome, Vec<String>)>,
    /// Streamed text the guard model has not scored yet, after an overlap of scored text.
    model_text: String,
    /// Bytes of `model_text` not scored yet.
    model_new: usize,
    /// Tools the model may not call (posture `scoped` and up).
    forbidden: Vec<String>,
}

/// The guard model scores streamed text in steps of this many bytes (and at the end) rather
/// than per event: a token-per-event stream would otherwise run it hundreds of times.
const MODEL_STEP: usize = 1024;
/// Scored text kept before the next step, so a phrase cut by a step edge is scored whole.
const MODEL_OVERLAP: usize = 256;

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The in-stream error event a client of `format` understands.
pub fn error_event(format: Format, code: &str, message: &str, detector_types: &[String]) -> Vec<u8> {
    let (event, data) = match format {
        Format::OpenaiChat => (
            None,
            json!({"error": {"message": message, "type": "parapet_blocked", "code": code, "param": null, "detector_types": detector_types}}),
        ),
        Format::OpenaiResponses => (
            Some("error"),
            json!({"type": "error", "code": code, "message": message, "param": null, "detector_types": detector_types}),
        ),
        Format::AnthropicMessages => (
            Some("error"),
            json!({"type": "error", "error": {"type": "parapet_blocked", "message": message, "detector_types": detector_types}}),
        ),
    };
    let mut out = String::new();
    crate::sse::write_event(&mut out, event, &data.to_string());
    crate::sse::write_end(&mut out, format);
    out.into_bytes()
}

impl StreamScreen {
    pub fn new(format: Format, project: Option<&str>) -> StreamScreen {
        StreamScreen {
            format,
            project: project.map(str::to_string),
            parser: SseParser::new(),
            pending: Vec::new(),
            drained: 0,
            text: String::new(),
            marks: VecDeque::new(),
            released_text: 0,
            flagged: None,
            finished: false,
            stopped: false,
            seen: Vec::new(),
            outcome: None,
            model_text: String::new(),
            model_new: 0,
            forbidden: Vec::new(),
        }
    }

    /// Ends the stream, before the event that carries it, if the model calls one of `tools`.
    pub fn forbid_tools(&mut self, tools: &[String]) {
        self.forbidden = tools.to_vec();
    }

    /// How the stream ended (once, when it has): for counters and logs.
    pub fn take_outcome(&mut self) -> Option<(Outcome, Vec<String>)> {
        self.outcome.take()
    }

    /// The verdict of the last screen that detected something (monitor mode records it, and
    /// a block keeps the verdict that stopped the stream).
    pub fn flagged(&self) -> Option<&Verdict> {
        self.flagged.as_ref()
    }

    fn take_pending(&mut self, upto: usize) -> Vec<u8> {
        let upto = upto.min(self.pending.len());
        let out: Vec<u8> = self.pending.drain(..upto).collect();
        self.drained += upto;
        for m in self.marks.iter_mut() {
            m.0 = m.0.saturating_sub(upto);
        }
        out
    }

    fn fail(&mut self, guard: &Guard, e: &ApiError) -> StreamStep {
        self.finished = true;
        // Monitor mode has already released every byte: there is nothing left to refuse.
        let project = self.project.as_deref();
        if guard.fail_mode_for(project) == FailMode::Open || !guard.enforces_output(project) {
            self.outcome = Some((Outcome::FailedOpen, Vec::new()));
            let all = self.pending.len();
            return StreamStep::Release(self.take_pending(all));
        }
        self.stopped = true;
        self.outcome = Some((Outcome::Rejected, Vec::new()));
        StreamStep::Block { release: Vec::new(), error: error_event(self.format, e.code, &e.message, &[]), status: 502, verdict: None }
    }

    /// Feeds one chunk of the response body; `end` on the last one (the chunk may be empty).
    pub fn feed(&mut self, guard: &Guard, chunk: &[u8], end: bool) -> StreamStep {
        if self.stopped {
            return StreamStep::Release(Vec::new());
        }
        if self.finished {
            return StreamStep::Release(chunk.to_vec());
        }
        // Forbidden tools hold events like block mode: a call must not be released before its
        // event is complete and checked.
        let monitor = !guard.enforces_output(self.project.as_deref()) && self.forbidden.is_empty();
        // Text older than the window the next screen starts at is never looked at again: drop
        // it, so a long stream costs memory for its window only.
        let cut = floor_boundary(&self.text, self.released_text.saturating_sub(guard.config().stream_hold_back));
        if cut > 0 {
            self.text.drain(..cut);
            self.released_text -= cut;
            for m in self.marks.iter_mut() {
                m.1 = m.1.saturating_sub(cut);
            }
        }
        self.pending.extend_from_slice(chunk);
        // Only a frame that never ends can grow the held bytes this far: refuse to hold more.
        if self.pending.len() > guard.config().max_response_bytes {
            let limit = guard.config().max_response_bytes;
            return self.fail(guard, &ApiError::new(502, "body_too_large", format!("the response stream holds over max_response_bytes ({limit} bytes) without an event boundary")));
        }
        let mut events: Vec<Event> = Vec::new();
        if self.parser.feed(chunk, &mut events).is_err() {
            return self.fail(guard, &ApiError::new(502, "stream_line_too_long", "the response stream has a line over 1 MiB"));
        }
        if end {
            self.parser.finish(&mut events);
        }
        for ev in &events {
            if let Some(tool) = crate::tools::forbidden_call(&ev.data, &self.forbidden) {
                // The event naming the call has not been released (events are released only
                // after this loop): end the stream here, whatever the mode.
                self.finished = true;
                self.stopped = true;
                self.outcome = Some((Outcome::Blocked, Vec::new()));
                let msg = format!("the response calls {tool:?}, an irreversible tool the project's posture has withdrawn");
                return StreamStep::Block { release: Vec::new(), error: error_event(self.format, "tool_forbidden", &msg, &[]), status: 403, verdict: None };
            }
            let t = stream_text(self.format, ev);
            self.text.push_str(&t);
            self.model_text.push_str(&t);
            self.model_new += t.len();
        }
        // Release points are frame ends: a frame cut by the chunk is held whole, so no part
        // of text not yet screened is ever released.
        let frame_end = self.parser.frame_end().saturating_sub(self.drained);
        if frame_end > self.marks.back().map_or(0, |m| m.0) {
            self.marks.push_back((frame_end, self.text.len()));
        }
        // Screen the new text with enough of the released text before it to complete a match
        // that started there.
        let hold = guard.config().stream_hold_back;
        let from = floor_boundary(&self.text, self.released_text.saturating_sub(hold));
        let window = self.text.get(from..).unwrap_or("");
        if !window.is_empty() && (!events.is_empty() || end) {
            let policy = match guard.resolve(self.project.as_deref()) {
                Ok(p) => p,
                Err(e) => return self.fail(guard, &e),
            };
            // Rule detectors see every window; the guard model sees the text in MODEL_STEP steps.
            let msg = [Message { role: Role::Assistant, content: window.to_string() }];
            let mut v = guard.screen_with(policy, self.project.as_deref(), &msg, false);
            if !policy.uses_model() {
                self.model_text.clear();
                self.model_new = 0;
            }
            if policy.uses_model() && (self.model_new >= MODEL_STEP || (end && self.model_new > 0)) {
                let msg = [Message { role: Role::Assistant, content: std::mem::take(&mut self.model_text) }];
                let scored = guard.screen(policy, self.project.as_deref(), &msg);
                let keep = floor_boundary(&msg[0].content, msg[0].content.len().saturating_sub(MODEL_OVERLAP));
                self.model_text = msg[0].content.get(keep..).unwrap_or("").to_string();
                self.model_new = 0;
                if scored.flagged || scored.any(Act::Failed) {
                    v = scored;
                }
            }
            if v.any(Act::Failed) {
                return self.fail(guard, &detector_failed(&v));
            }
            if v.flagged {
                // A stream cannot be masked: an enforced mask stops it like a block.
                if !monitor && (v.any(Act::Block) || v.any(Act::Mask)) {
                    self.finished = true;
                    self.stopped = true;
                    self.outcome = Some((Outcome::Blocked, v.detected.clone()));
                    self.flagged = Some(v.clone());
                    let error = error_event(
                        self.format,
                        "blocked",
                        &format!("response blocked by Parapet policy {:?}: {}", v.policy_id, v.detected.join(", ")),
                        &v.detected,
                    );
                    return StreamStep::Block { release: Vec::new(), error, status: 403, verdict: Some(Box::new(v)) };
                }
                for d in &v.detected {
                    if !self.seen.contains(d) {
                        self.seen.push(d.clone());
                    }
                }
                self.seen.sort();
                self.flagged = Some(v);
            }
        }
        if monitor || end {
            if end {
                self.finished = true;
                let seen = std::mem::take(&mut self.seen);
                self.outcome = Some(if seen.is_empty() { (Outcome::Clean, seen) } else { (Outcome::Flagged, seen) });
            }
            self.released_text = self.text.len();
            self.marks.clear();
            let all = self.pending.len();
            return StreamStep::Release(self.take_pending(all));
        }
        // Release through the newest event boundary that leaves `hold` bytes of text held.
        let keep_from = self.text.len().saturating_sub(hold);
        let mut upto = None;
        while let Some(&(b, t)) = self.marks.front() {
            if t > keep_from {
                break;
            }
            upto = Some(b);
            self.released_text = t;
            self.marks.pop_front();
        }
        StreamStep::Release(upto.map(|b| self.take_pending(b)).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests;
