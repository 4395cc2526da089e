//! Screening what an LLM API answers, for hosts that proxy it.
//!
//! The host starts a [`ResponseScreen`] from the response's status and headers
//! ([`Guard::start_response`]), applies its [`HeaderEdits`] before the headers leave, then feeds
//! every body chunk through [`ResponseScreen::feed`] and sends on exactly the bytes it gets back.
//! All decisions are made here:
//! - only 2xx responses with a body are screened; `text/event-stream` is screened as a stream
//!   ([`StreamScreen`]), anything else as one JSON body in the request's API format;
//! - `block` mode holds a JSON body until it is complete (at most `max_response_bytes`), then sends
//!   it unchanged or replaces it with the 403-style error JSON; a stream is held back only by the
//!   `stream_hold_back` window and ends with an in-stream error event;
//! - `monitor` mode never holds a byte: it screens a copy as the bytes go by and only reports;
//! - a body that cannot be screened (not the format's shape, compressed, over the size limit)
//!   follows `fail_mode` in block mode; in monitor mode it is forwarded and counted as failed
//!   open, because its bytes are already with the client.
//!
//! A host that still holds the response headers when the verdict is known (the worker; Envoy
//! with `hold_response_headers`, for bodies [`ResponseScreen::holds_body`] says are held whole)
//! answers with [`StreamStep::Block`]'s `status`. One that has sent them (Envoy without the hold)
//! cannot change the status: its client sees the upstream status with the error body.

use serde_json::json;

use crate::config::FailMode;
use crate::engine::{detector_failed, Act, Guard, HttpReply, Outcome, Verdict};
use crate::error::ApiError;
use crate::formats::Format;
use crate::stream::{error_event, StreamScreen, StreamStep};

/// Request header a proxying host sets on a screened API request so the upstream answers
/// uncompressed: a compressed body cannot be screened.
pub const UPSTREAM_ACCEPT_ENCODING: (&str, &str) = ("accept-encoding", "identity");

/// Response header set when a response could not be screened and was forwarded anyway (set
/// only while the headers can still change).
pub const HEADER_RESPONSE_FAILED_OPEN: &str = "x-parapet-response-failed-open";

/// Header changes a host makes before sending the response headers on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderEdits {
    pub remove: Vec<&'static str>,
    pub set: Vec<(&'static str, String)>,
}

enum Body {
    /// One JSON body, collected (a copy in monitor mode) until its end.
    Json { buf: Vec<u8>, over: bool },
    Stream(Box<StreamScreen>),
    /// Cannot be screened; refused at the first chunk (fail closed).
    Refuse { error: ApiError, sse: bool },
    /// Verdict given: later bytes pass.
    Pass,
    /// Verdict given: later bytes are dropped.
    Drop,
}

pub struct ResponseScreen {
    format: Format,
    project: Option<String>,
    body: Body,
    edits: HeaderEdits,
    outcome: Option<(Outcome, Vec<String>)>,
    /// Error code of a body that could not be screened.
    cause: Option<&'static str>,
    /// The JSON body's verdict and messages, for the log record.
    verdict: Option<Verdict>,
    messages: Vec<crate::api::Message>,
    error: Option<ApiError>,
    /// Tools the model may not call (posture `scoped` and up): a call ends the response.
    forbidden: Vec<String>,
}

/// The error a response calling a forbidden tool is replaced with (or ends with, streamed).
fn tool_forbidden(tool: &str) -> ApiError {
    ApiError::new(403, "tool_forbidden", format!("the response calls {tool:?}, an irreversible tool the project's posture has withdrawn"))
}

fn is_sse(content_type: Option<&str>) -> bool {
    content_type.and_then(|c| c.split(';').next()).is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// A response error is the upstream's fault, not the client's: 502, whatever the parse said.
fn upstream_error(e: &ApiError) -> ApiError {
    ApiError { status: 502, code: e.code, message: format!("the upstream response could not be screened: {}", e.message), param: e.param.clone() }
}

impl Guard {
    /// Starts screening a response to a request in `format`; `None` when it is not screened
    /// (not 2xx, or no body follows the headers). `content_encoding` is the header as the body
    /// arrives (a host whose runtime decodes bodies passes `None`).
    pub fn start_response(
        &self,
        format: Format,
        status: u16,
        content_type: Option<&str>,
        content_encoding: Option<&str>,
        project: Option<&str>,
        has_body: bool,
    ) -> Option<ResponseScreen> {
        if !(200..300).contains(&status) || status == 204 || !has_body {
            return None;
        }
        let sse = is_sse(content_type);
        let block = self.enforces_output(project);
        let mut screen = ResponseScreen {
            format,
            project: project.map(str::to_string),
            body: Body::Pass,
            edits: HeaderEdits::default(),
            outcome: None,
            cause: None,
            verdict: None,
            messages: Vec::new(),
            error: None,
            forbidden: Vec::new(),
        };
        let encoded = content_encoding.map(str::trim).filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"));
        if let Some(enc) = encoded {
            let e = ApiError::new(502, "response_encoded", format!("the upstream response is {enc}-encoded and cannot be screened"));
            if block && self.fail_mode_for(project) == FailMode::Closed {
                screen.body = Body::Refuse { error: e, sse };
                screen.edits.remove = vec!["content-length", "content-encoding"];
                if !sse {
                    screen.edits.set.push(("content-type", "application/json".into()));
                }
            } else {
                screen.edits.set.push((HEADER_RESPONSE_FAILED_OPEN, e.code.to_string()));
                screen.outcome = Some((Outcome::FailedOpen, Vec::new()));
                screen.cause = Some(e.code);
                screen.error = Some(e);
            }
            return Some(screen);
        }
        screen.body = if sse { Body::Stream(Box::new(StreamScreen::new(format, project))) } else { Body::Json { buf: Vec::new(), over: false } };
        if block {
            // The body may change length (an error replaces it).
            screen.edits.remove = vec!["content-length"];
        }
        Some(screen)
    }

    /// The replacement body for a blocked JSON response: a blocked request's error, saying
    /// that the response was refused.
    pub fn response_blocked_reply(&self, v: &Verdict) -> HttpReply {
        let body = json!({"error": {
            "message": format!("response blocked by Parapet policy {:?}: {}", v.policy_id, v.detected.join(", ")),
            "type": "parapet_blocked",
            "code": "blocked",
            "param": null,
            "detector_types": v.detected,
            "policy_id": v.policy_id,
            "policy_version": v.policy_version,
        }});
        HttpReply { status: 403, body: body.to_string().into_bytes() }
    }
}

impl ResponseScreen {
    /// Header changes to make before the response headers are sent.
    pub fn header_edits(&self) -> &HeaderEdits {
        &self.edits
    }

    /// Error code of a body that could not be screened (for logs), if any.
    pub fn cause(&self) -> Option<&'static str> {
        self.cause
    }

    /// Is the whole body held until its end before a byte of it is released (a JSON body in
    /// block mode or under a tool ban, or one refused at its first chunk)? A host that can
    /// still hold the response headers until then answers with a [`StreamStep::Block`]'s
    /// status and the final body's length.
    pub fn holds_body(&self) -> bool {
        match &self.body {
            Body::Json { .. } => self.edits.remove.contains(&"content-length"),
            Body::Refuse { sse, .. } => !sse,
            Body::Stream(_) | Body::Pass | Body::Drop => false,
        }
    }

    /// Is the body screened as a server-sent event stream?
    pub fn is_stream(&self) -> bool {
        matches!(self.body, Body::Stream(_))
    }

    /// How screening ended, as the log record sees it (once, when it has), with the screened
    /// messages of a JSON body when `logging.prompts` is on (a stream's text is not kept).
    pub fn take_screening(&mut self) -> Option<(crate::log::Screening, Vec<crate::api::Message>)> {
        let (outcome, detected) = self.take_outcome()?;
        let verdict = match &self.body {
            Body::Stream(s) => s.flagged().cloned(),
            _ => self.verdict.take(),
        };
        let s = crate::log::Screening {
            kind: crate::log::Kind::Api,
            direction: crate::log::Direction::Output,
            format: Some(self.format),
            project: self.project.clone(),
            outcome,
            detected,
            verdict,
            error: self.error.take().or_else(|| self.cause.map(|c| ApiError::new(502, c, "the upstream response could not be screened"))),
            posture: None,
            shadow: None,
        };
        Some((s, std::mem::take(&mut self.messages)))
    }

    /// How screening ended (once, when it has): for counters and logs.
    pub fn take_outcome(&mut self) -> Option<(Outcome, Vec<String>)> {
        if let Body::Stream(s) = &mut self.body {
            if let Some(o) = s.take_outcome() {
                return Some(o);
            }
        }
        self.outcome.take()
    }

    fn refuse(&mut self, e: &ApiError, sse: bool) -> StreamStep {
        self.cause = Some(e.code);
        self.error = Some(e.clone());
        self.body = Body::Drop;
        self.outcome = Some((Outcome::Rejected, Vec::new()));
        let error = if sse { error_event(self.format, e.code, &e.message, &[]) } else { e.to_json() };
        StreamStep::Block { release: Vec::new(), error, status: e.status, verdict: None }
    }

    /// Forbids calls to `tools` (posture `scoped` and up): a JSON response that calls one is
    /// replaced by an error, a stream ends with an error event before the call's event. The
    /// body is then held like in block mode, so call this before applying [`Self::header_edits`].
    pub fn forbid_tools(&mut self, tools: &[String]) {
        if tools.is_empty() {
            return;
        }
        self.forbidden = tools.to_vec();
        match &mut self.body {
            Body::Stream(s) => s.forbid_tools(tools),
            Body::Json { .. } if !self.edits.remove.contains(&"content-length") => self.edits.remove.push("content-length"),
            _ => {}
        }
    }

    /// Feeds one chunk of the body; `end` on the last one (the chunk may be empty).
    pub fn feed(&mut self, guard: &Guard, chunk: &[u8], end: bool) -> StreamStep {
        let project = self.project.as_deref();
        let block = guard.enforces_output(project) || !self.forbidden.is_empty();
        let fail_open = !block || guard.fail_mode_for(project) == FailMode::Open;
        match &mut self.body {
            Body::Pass => StreamStep::Release(chunk.to_vec()),
            Body::Drop => StreamStep::Release(Vec::new()),
            Body::Refuse { error, sse } => {
                let (e, sse) = (error.clone(), *sse);
                self.refuse(&e, sse)
            }
            // The stream screen drops what follows a block by itself.
            Body::Stream(s) => s.feed(guard, chunk, end),
            Body::Json { buf, over } => {
                let limit = guard.config().max_response_bytes;
                if !*over {
                    buf.extend_from_slice(chunk);
                    *over = buf.len() > limit;
                }
                if *over {
                    let e = ApiError::new(502, "body_too_large", format!("the upstream response is over max_response_bytes ({limit} bytes) and cannot be screened"));
                    if fail_open {
                        self.cause = Some(e.code);
                        let held = if block { std::mem::take(buf) } else { chunk.to_vec() };
                        self.body = Body::Pass;
                        self.outcome = Some((Outcome::FailedOpen, Vec::new()));
                        return StreamStep::Release(held);
                    }
                    return self.refuse(&e, false);
                }
                if !end {
                    return StreamStep::Release(if block { Vec::new() } else { chunk.to_vec() });
                }
                let body = std::mem::take(buf);
                if let Some(tool) = crate::tools::forbidden_call(&String::from_utf8_lossy(&body), &self.forbidden) {
                    self.body = Body::Drop;
                    self.outcome = Some((Outcome::Blocked, Vec::new()));
                    self.cause = Some("tool_forbidden");
                    let e = tool_forbidden(&tool);
                    return StreamStep::Block { release: Vec::new(), error: e.to_json(), status: e.status, verdict: None };
                }
                // Not `Guard::screen_response`: its size check is the request limit.
                let keep = guard.config().logging.prompts;
                let result = crate::formats::parse_response(self.format, &body, guard.config().max_messages).and_then(|messages| {
                    let v = guard.screen(guard.resolve(project)?, project, &messages);
                    if keep {
                        self.messages = messages;
                    }
                    self.verdict = Some(v.clone());
                    Ok(v)
                });
                let released = if block { body } else { chunk.to_vec() };
                match result {
                    Ok(v) if v.any(Act::Failed) && !fail_open => self.refuse(&upstream_error(&detector_failed(&v)), false),
                    // Only detections whose output setting is enforced stop the response.
                    Ok(v) if block && (v.any(Act::Block) || v.any(Act::Mask)) => {
                        // Only enforced masks: send the body with the findings replaced.
                        if !v.any(Act::Block) {
                            if let Some(masked) = guard.masked_response_body(self.format, &released, project) {
                                self.body = Body::Pass;
                                self.outcome = Some((Outcome::Masked, v.detected.clone()));
                                return StreamStep::Release(masked);
                            }
                        }
                        self.body = Body::Drop;
                        self.outcome = Some((Outcome::Blocked, v.detected.clone()));
                        let r = guard.response_blocked_reply(&v);
                        StreamStep::Block { release: Vec::new(), error: r.body, status: r.status, verdict: Some(Box::new(v)) }
                    }
                    Ok(v) => {
                        self.body = Body::Pass;
                        self.outcome = Some(if v.flagged { (Outcome::Flagged, v.detected) } else { (Outcome::Clean, Vec::new()) });
                        StreamStep::Release(released)
                    }
                    Err(e) if fail_open => {
                        self.cause = Some(e.code);
                        self.error = Some(upstream_error(&e));
                        self.body = Body::Pass;
                        self.outcome = Some((Outcome::FailedOpen, Vec::new()));
                        StreamStep::Release(released)
                    }
                    Err(e) => self.refuse(&upstream_error(&e), false),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
