//! Mask mode: findings replaced with a type token, in place, in an LLM API body.
//!
//! Only the JSON string values the screen reads as user, tool or assistant text are rewritten
//! (the same fields `formats.rs` extracts; system prompts and tool definitions are context and
//! stay as they are). Every other byte of the body is kept: the new string is spliced into the
//! original text, so key order, numbers and whitespace do not change and the JSON stays valid.
//!
//! Tokens, per detector type:
//! `pii/email` `<EMAIL>`, `pii/phone_number` `<PHONE_NUMBER>`, `pii/credit_card` `<CREDIT_CARD>`,
//! `pii/iban_code` `<IBAN_CODE>`, `pii/us_social_security_number` `<US_SOCIAL_SECURITY_NUMBER>`,
//! `pii/ip_address` `<IP_ADDRESS>`, `pii/address` `<ADDRESS>`, `pii/name` `<NAME>`, `pii/secret` `<SECRET>`,
//! `pii/custom` the pattern's name in upper case (`employee_id` -> `<EMPLOYEE_ID>`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::{parse_object, Role};
use crate::error::ApiError;
use crate::formats::Format;

/// The token that replaces a finding of `detector_type` (`labels`: the finding's labels).
pub fn token(detector_type: &str, labels: &[String]) -> String {
    let name = match detector_type {
        "pii/custom" => labels.first().map(String::as_str).unwrap_or("custom"),
        t => t.strip_prefix("pii/").unwrap_or(t),
    };
    let up: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("<{up}>")
}

/// Replaces code-point spans `(start, end, token)` of `text`. Overlapping spans merge into one,
/// which gets the token of the span that starts first (the longer one on a tie).
pub fn replace_spans(text: &str, mut spans: Vec<(usize, usize, String)>) -> String {
    spans.sort_by_key(|a| (a.0, std::cmp::Reverse(a.1)));
    let starts: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    let byte = |cp: usize| starts.get(cp).copied().unwrap_or(text.len());
    let mut out = String::with_capacity(text.len());
    let mut at = 0; // code points of `text` consumed
    for (s, e, tok) in spans {
        if e <= at {
            continue; // inside a span already replaced
        }
        if s >= at {
            out.push_str(text.get(byte(at)..byte(s)).unwrap_or(""));
            out.push_str(&tok);
        }
        at = e;
    }
    out.push_str(text.get(byte(at)..).unwrap_or(""));
    out
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Key(String),
    Index(usize),
}

type Path = Vec<Seg>;

/// The string values of `body` that are screened as text, with the role they are screened as.
fn targets(format: Format, response: bool, obj: &Value) -> Vec<(Path, Role)> {
    let mut out = Vec::new();
    let at = |p: &Path, s: Seg| {
        let mut q = p.clone();
        q.push(s);
        q
    };
    let key = |k: &str| Seg::Key(k.to_string());
    match (format, response) {
        (Format::OpenaiChat, false) => {
            if let Some(Value::Array(msgs)) = obj.get("messages") {
                for (i, m) in msgs.iter().enumerate() {
                    let p = vec![key("messages"), Seg::Index(i)];
                    let Some(role) = m.get("role").and_then(Value::as_str).and_then(Role::parse) else { continue };
                    if !role.is_context() {
                        content_parts(m.get("content"), &at(&p, key("content")), role, &mut out);
                    }
                    tool_calls(m, &p, &mut out);
                }
            }
        }
        (Format::OpenaiChat, true) => {
            if let Some(Value::Array(choices)) = obj.get("choices") {
                for (i, c) in choices.iter().enumerate() {
                    let p = vec![key("choices"), Seg::Index(i), key("message")];
                    let Some(m) = c.get("message") else { continue };
                    content_parts(m.get("content"), &at(&p, key("content")), Role::Assistant, &mut out);
                    if let Some(Value::String(_)) = m.get("refusal") {
                        out.push((at(&p, key("refusal")), Role::Assistant));
                    }
                    tool_calls(m, &p, &mut out);
                }
            }
        }
        (Format::OpenaiResponses, false) => match obj.get("input") {
            Some(Value::String(_)) => out.push((vec![key("input")], Role::User)),
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    responses_item(item, &vec![key("input"), Seg::Index(i)], &mut out);
                }
            }
            _ => {}
        },
        (Format::OpenaiResponses, true) => {
            if let Some(Value::Array(items)) = obj.get("output") {
                for (i, item) in items.iter().enumerate() {
                    responses_item(item, &vec![key("output"), Seg::Index(i)], &mut out);
                }
            }
        }
        (Format::AnthropicMessages, false) => {
            if let Some(Value::Array(msgs)) = obj.get("messages") {
                for (i, m) in msgs.iter().enumerate() {
                    let role = match m.get("role").and_then(Value::as_str) {
                        Some("user") => Role::User,
                        Some("assistant") => Role::Assistant,
                        _ => continue,
                    };
                    anthropic_content(m.get("content"), &vec![key("messages"), Seg::Index(i), key("content")], role, &mut out);
                }
            }
        }
        (Format::AnthropicMessages, true) => anthropic_content(obj.get("content"), &vec![key("content")], Role::Assistant, &mut out),
    }
    out
}

fn push(p: &Path, s: Seg) -> Path {
    let mut q = p.clone();
    q.push(s);
    q
}

fn k(s: &str) -> Seg {
    Seg::Key(s.to_string())
}

/// Content as a string, or parts whose text is screened (bare strings, `text`-typed parts).
fn content_parts(v: Option<&Value>, p: &Path, role: Role, out: &mut Vec<(Path, Role)>) {
    match v {
        Some(Value::String(_)) => out.push((p.clone(), role)),
        Some(Value::Array(parts)) => {
            for (j, part) in parts.iter().enumerate() {
                match part {
                    Value::String(_) => out.push((push(p, Seg::Index(j)), role)),
                    Value::Object(o) => {
                        let kind = o.get("type").and_then(Value::as_str).unwrap_or("text");
                        if matches!(kind, "text" | "input_text" | "output_text") && matches!(o.get("text"), Some(Value::String(_))) {
                            out.push((push(&push(p, Seg::Index(j)), k("text")), role));
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Every string inside `v` (tool arguments and results are screened as their whole JSON text),
/// except identifiers and type tags.
fn all_strings(v: &Value, p: &Path, role: Role, out: &mut Vec<(Path, Role)>) {
    match v {
        Value::String(_) => out.push((p.clone(), role)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| all_strings(x, &push(p, Seg::Index(i)), role, out)),
        Value::Object(o) => {
            for (key, x) in o {
                if !matches!(key.as_str(), "type" | "id" | "call_id" | "tool_call_id" | "tool_use_id" | "status" | "role") {
                    all_strings(x, &push(p, k(key)), role, out);
                }
            }
        }
        _ => {}
    }
}

fn tool_calls(m: &Value, p: &Path, out: &mut Vec<(Path, Role)>) {
    if let Some(Value::Array(calls)) = m.get("tool_calls") {
        for (i, c) in calls.iter().enumerate() {
            if let Some(args) = c.get("function").and_then(|f| f.get("arguments")) {
                let ap = push(&push(&push(&push(p, k("tool_calls")), Seg::Index(i)), k("function")), k("arguments"));
                all_strings(args, &ap, Role::Assistant, out);
            }
        }
    }
}

fn responses_item(item: &Value, p: &Path, out: &mut Vec<(Path, Role)>) {
    let Some(o) = item.as_object() else { return };
    match o.get("type").and_then(Value::as_str).unwrap_or("message") {
        "message" => {
            let Some(role) = o.get("role").and_then(Value::as_str).and_then(Role::parse) else { return };
            if !role.is_context() {
                content_parts(o.get("content"), &push(p, k("content")), role, out);
            }
        }
        "function_call" | "custom_tool_call" => {
            for f in ["arguments", "input"] {
                if let Some(v) = o.get(f) {
                    all_strings(v, &push(p, k(f)), Role::Assistant, out);
                }
            }
        }
        "function_call_output" | "custom_tool_call_output" => {
            if let Some(v) = o.get("output") {
                all_strings(v, &push(p, k("output")), Role::Tool, out);
            }
        }
        "reasoning" => {
            if let Some(Value::Array(parts)) = o.get("summary") {
                for (i, part) in parts.iter().enumerate() {
                    if let Some(Value::String(_)) = part.get("text") {
                        out.push((push(&push(&push(p, k("summary")), Seg::Index(i)), k("text")), Role::Assistant));
                    }
                }
            }
        }
        kind => all_strings(item, p, if kind.ends_with("_output") { Role::Tool } else { Role::Assistant }, out),
    }
}

fn anthropic_content(v: Option<&Value>, p: &Path, role: Role, out: &mut Vec<(Path, Role)>) {
    let blocks = match v {
        Some(Value::String(_)) => return out.push((p.clone(), role)),
        Some(Value::Array(b)) => b,
        _ => return,
    };
    for (i, b) in blocks.iter().enumerate() {
        let bp = push(p, Seg::Index(i));
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => {
                if let Some(Value::String(_)) = b.get("text") {
                    out.push((push(&bp, k("text")), role));
                }
            }
            "tool_use" | "server_tool_use" => {
                if let Some(input) = b.get("input") {
                    all_strings(input, &push(&bp, k("input")), role, out);
                }
            }
            "tool_result" | "web_search_tool_result" => anthropic_content(b.get("content"), &push(&bp, k("content")), Role::Tool, out),
            "document" => {
                let src = b.get("source");
                if src.and_then(|s| s.get("type")).and_then(Value::as_str) == Some("text") {
                    if let Some(Value::String(_)) = src.and_then(|s| s.get("data")) {
                        out.push((push(&push(&bp, k("source")), k("data")), Role::Tool));
                    }
                }
            }
            "thinking" => {
                if let Some(Value::String(_)) = b.get("thinking") {
                    out.push((push(&bp, k("thinking")), role));
                }
            }
            _ => {}
        }
    }
}

fn lookup<'a>(v: &'a Value, p: &Path) -> Option<&'a str> {
    let mut cur = v;
    for s in p {
        cur = match s {
            Seg::Key(key) => cur.get(key.as_str())?,
            Seg::Index(i) => cur.get(*i)?,
        };
    }
    cur.as_str()
}

/// Rewrites the screened text of a body. `mask(role, text)` returns the new text, or `None` to
/// keep it. Returns `None` when nothing changed.
pub fn mask_body(
    format: Format,
    response: bool,
    body: &[u8],
    mask: &mut dyn FnMut(Role, &str) -> Option<String>,
) -> Result<Option<Vec<u8>>, ApiError> {
    let value = Value::Object(parse_object(body)?);
    let mut changes: BTreeMap<Path, String> = BTreeMap::new();
    for (path, role) in targets(format, response, &value) {
        let Some(text) = lookup(&value, &path) else { continue };
        if let Some(new) = mask(role, text) {
            if new != text {
                changes.insert(path, new);
            }
        }
    }
    if changes.is_empty() {
        return Ok(None);
    }
    let text = std::str::from_utf8(body).map_err(|_| unmaskable("the body is not UTF-8"))?;
    let spans = string_spans(text).ok_or_else(|| unmaskable("the body could not be re-read for masking"))?;
    let mut seen: BTreeMap<&Path, usize> = BTreeMap::new();
    for (p, _, _) in &spans {
        *seen.entry(p).or_default() += 1;
    }
    // A repeated key is read differently by different parsers: refuse to guess which one counts.
    if changes.keys().any(|p| seen.get(p).copied() != Some(1)) {
        return Err(unmaskable("a masked field appears more than once in the body"));
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (p, start, end) in &spans {
        if let Some(new) = changes.get(p) {
            out.push_str(text.get(at..*start).unwrap_or(""));
            let encoded = serde_json::to_string(new).map_err(|e| unmaskable(&e.to_string()))?;
            out.push_str(&encoded);
            at = *end;
        }
    }
    out.push_str(text.get(at..).unwrap_or(""));
    Ok(Some(out.into_bytes()))
}

fn unmaskable(why: &str) -> ApiError {
    ApiError::new(500, "mask_failed", format!("could not mask the body: {why}"))
}

/// Byte spans (quotes included) of every string value in a JSON text, with its path. The text
/// was already accepted by serde_json, so this only has to find boundaries; anything unexpected
/// gives `None`.
fn string_spans(text: &str) -> Option<Vec<(Path, usize, usize)>> {
    struct Scan<'a> {
        b: &'a [u8],
        i: usize,
        out: Vec<(Path, usize, usize)>,
    }
    impl Scan<'_> {
        fn ws(&mut self) {
            while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            }
        }
        fn string(&mut self) -> Option<(usize, usize)> {
            let start = self.i;
            if self.b.get(self.i) != Some(&b'"') {
                return None;
            }
            self.i += 1;
            loop {
                match self.b.get(self.i)? {
                    b'\\' => self.i += 2,
                    b'"' => {
                        self.i += 1;
                        return Some((start, self.i));
                    }
                    _ => self.i += 1,
                }
            }
        }
        fn value(&mut self, path: &mut Path, depth: usize) -> Option<()> {
            if depth > 256 {
                return None;
            }
            self.ws();
            match *self.b.get(self.i)? {
                b'"' => {
                    let (s, e) = self.string()?;
                    self.out.push((path.clone(), s, e));
                }
                b'{' => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        return Some(());
                    }
                    loop {
                        self.ws();
                        let (s, e) = self.string()?;
                        let key: String = serde_json::from_slice(self.b.get(s..e)?).ok()?;
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return None;
                        }
                        self.i += 1;
                        path.push(Seg::Key(key));
                        self.value(path, depth + 1)?;
                        path.pop();
                        self.ws();
                        match self.b.get(self.i)? {
                            b',' => self.i += 1,
                            b'}' => {
                                self.i += 1;
                                return Some(());
                            }
                            _ => return None,
                        }
                    }
                }
                b'[' => {
                    self.i += 1;
                    self.ws();
                    if self.b.get(self.i) == Some(&b']') {
                        self.i += 1;
                        return Some(());
                    }
                    let mut n = 0;
                    loop {
                        path.push(Seg::Index(n));
                        self.value(path, depth + 1)?;
                        path.pop();
                        n += 1;
                        self.ws();
                        match self.b.get(self.i)? {
                            b',' => self.i += 1,
                            b']' => {
                                self.i += 1;
                                return Some(());
                            }
                            _ => return None,
                        }
                    }
                }
                _ => {
                    // Number, true, false, null.
                    let start = self.i;
                    while self.i < self.b.len() && (self.b[self.i].is_ascii_alphanumeric() || matches!(self.b[self.i], b'-' | b'+' | b'.')) {
                        self.i += 1;
                    }
                    if self.i == start {
                        return None;
                    }
                }
            }
            Some(())
        }
    }
    let mut s = Scan { b: text.as_bytes(), i: 0, out: Vec::new() };
    s.value(&mut Vec::new(), 0)?;
    Some(s.out)
}

#[cfg(test)]
mod tests;
