//! Server-sent events: an incremental parser and the text each LLM API streams.
//!
//! [`SseParser`] takes a response body in chunks cut anywhere (inside a line, between `\r` and
//! `\n`, inside a UTF-8 sequence) and yields the same events as the whole body would: `data:`
//! lines joined with `\n`, `event:` names, comments (`:`) ignored, `\r\n`, `\r` and `\n` line
//! ends, a BOM at the start dropped. [`SseParser::finish`] flushes an unterminated last frame, so
//! a truncated stream is still screened. [`stream_text`] turns one event of a format into the
//! text the model produced (content deltas, tool-call argument deltas); non-JSON data such as
//! `[DONE]` yields nothing.

use serde_json::Value;

use crate::formats::Format;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Event {
    /// The `event:` field, empty when absent.
    pub event: String,
    pub data: String,
}

/// Most bytes a single line may hold before the parser gives up on the stream: an attacker must
/// not make the filter buffer an unbounded line.
pub const MAX_LINE: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current, unfinished line.
    line: Vec<u8>,
    /// The previous chunk ended with `\r`: a `\n` starting the next chunk belongs to it.
    after_cr: bool,
    started: bool,
    event: String,
    data: Vec<String>,
    has_data: bool,
    /// Bytes fed so far.
    fed: usize,
    /// See [`SseParser::frame_end`].
    frame_end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseError {
    LineTooLong,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// Feeds a chunk; appends the events it completes to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Event>) -> Result<(), SseError> {
        let mut rest = chunk;
        // An empty chunk must not consume the pending `\r`: its `\n` may still come.
        if self.after_cr && !rest.is_empty() {
            self.after_cr = false;
            if let Some((&b'\n', tail)) = rest.split_first() {
                rest = tail;
            }
        }
        while let Some(i) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (head, tail) = rest.split_at(i);
            self.line.extend_from_slice(head);
            let is_cr = tail.first() == Some(&b'\r');
            rest = tail.get(1..).unwrap_or(&[]);
            if is_cr {
                match rest.first() {
                    Some(&b'\n') => rest = rest.get(1..).unwrap_or(&[]),
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            let line = std::mem::take(&mut self.line);
            if self.line_done(&line, out) {
                self.frame_end = self.fed + (chunk.len() - rest.len());
            }
        }
        self.fed += chunk.len();
        self.line.extend_from_slice(rest);
        if self.line.len() > MAX_LINE {
            return Err(SseError::LineTooLong);
        }
        Ok(())
    }

    /// Bytes fed up to the end of the last complete frame (its blank line): everything before
    /// it has been parsed into events, nothing after it has.
    pub fn frame_end(&self) -> usize {
        self.frame_end
    }

    /// End of stream: a last line or frame without its terminating blank line is dispatched.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out);
        }
        self.dispatch(out);
    }

    /// Handles one line; `true` when it ended a frame.
    fn line_done(&mut self, raw: &[u8], out: &mut Vec<Event>) -> bool {
        let mut line = raw;
        if !self.started {
            self.started = true;
            line = line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return true;
        }
        if line.first() == Some(&b':') {
            return false; // comment / keep-alive
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let v = line.get(i + 1..).unwrap_or(&[]);
                (line.get(..i).unwrap_or(&[]), v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &[][..]),
        };
        // Invalid UTF-8 inside a field is replaced, not dropped: the text is still screened.
        let value = String::from_utf8_lossy(value).into_owned();
        match name {
            b"data" => {
                self.data.push(value);
                self.has_data = true;
            }
            b"event" => self.event = value,
            _ => {} // id, retry and unknown fields do not carry model text
        }
        false
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if self.has_data {
            out.push(Event { event: std::mem::take(&mut self.event), data: self.data.join("\n") });
        }
        self.event.clear();
        self.data.clear();
        self.has_data = false;
    }
}

/// Writes one server-sent event: an optional `event:` line, the `data:` line, a blank line.
pub fn write_event(out: &mut String, event: Option<&str>, data: &str) {
    if let Some(e) = event {
        out.push_str("event: ");
        out.push_str(e);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(data);
    out.push_str("\n\n");
}

/// Ends a stream the way clients of `format` expect (OpenAI chat: `data: [DONE]`).
pub fn write_end(out: &mut String, format: Format) {
    if format == Format::OpenaiChat {
        out.push_str("data: [DONE]\n\n");
    }
}

/// The model text one streamed event carries, for `format`. Empty for control events.
pub fn stream_text(format: Format, ev: &Event) -> String {
    let Ok(v) = serde_json::from_str::<Value>(&ev.data) else { return String::new() };
    let mut out = String::new();
    let mut push = |s: Option<&str>| {
        if let Some(s) = s {
            out.push_str(s);
        }
    };
    match format {
        Format::OpenaiChat => {
            for c in v.get("choices").and_then(Value::as_array).into_iter().flatten() {
                let d = c.get("delta");
                push(d.and_then(|d| d.get("content")).and_then(Value::as_str));
                push(d.and_then(|d| d.get("refusal")).and_then(Value::as_str));
                for t in d.and_then(|d| d.get("tool_calls")).and_then(Value::as_array).into_iter().flatten() {
                    push(t.get("function").and_then(|f| f.get("arguments")).and_then(Value::as_str));
                }
            }
        }
        Format::OpenaiResponses => {
            let kind = v.get("type").and_then(Value::as_str).unwrap_or("");
            if kind.ends_with(".delta") {
                push(v.get("delta").and_then(Value::as_str));
            }
        }
        Format::AnthropicMessages => {
            if v.get("type").and_then(Value::as_str) == Some("content_block_delta") {
                let d = v.get("delta");
                for key in ["text", "partial_json", "thinking"] {
                    push(d.and_then(|d| d.get(key)).and_then(Value::as_str));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
