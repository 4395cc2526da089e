//! Screening log records: one JSON object per screening, built here so that Envoy, the worker
//! and `parapet` write the same record (schema: `docs/observability.md`).
//!
//! The host supplies what the core cannot know: the time, its own name and the latency it
//! measured. Content is logged only with `logging.prompts`, and then always with every PII and
//! secret finding replaced by its type token, whatever the policy runs: no raw e-mail address,
//! card number or key reaches a log through this module.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::{GuardRequest, Message};
use crate::config::{LogSink, Mode};
use crate::engine::{derived_uuid, locate, Act, Guard, Outcome, Verdict};
use crate::error::ApiError;
use crate::formats::{self, Format};
use crate::mask;
use crate::text::{encoded_runs, NormText};

/// Who asked for the screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `/v2/guard` call: the caller acts on the verdict.
    Guard,
    /// A proxied LLM API request or response: the host acts on it.
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The request (prompt, history, tool results).
    Input,
    /// The model's response.
    Output,
}

/// What the core knows about one finished screening.
#[derive(Debug, Clone, PartialEq)]
pub struct Screening {
    pub kind: Kind,
    pub direction: Direction,
    /// `None` for a guard call.
    pub format: Option<Format>,
    pub project: Option<String>,
    pub outcome: Outcome,
    /// Detector types that detected, sorted (a monitored stream: over all of it).
    pub detected: Vec<String>,
    /// The verdict, when screening ran to the end (or found something before it stopped).
    pub verdict: Option<Verdict>,
    /// Why the screening could not complete.
    pub error: Option<ApiError>,
    /// The project's posture after this screening, when its policy keeps one.
    pub posture: Option<crate::govern::PostureSummary>,
    /// The shadow policy's verdict (logged, never enforced).
    pub shadow: Option<crate::govern::ShadowNote>,
}

/// What the host adds to a record.
#[derive(Debug, Clone, Copy)]
pub struct HostFacts<'a> {
    /// Milliseconds since the Unix epoch, from the host's clock.
    pub time_ms: u64,
    /// `envoy`, `worker`, `serve`, `screen`.
    pub host: &'a str,
    /// Time spent screening, as the host measured it.
    pub latency_us: u64,
    pub request_id: Option<&'a str>,
}

/// Where the logged content comes from.
#[derive(Debug, Clone, Copy)]
pub enum Content<'a> {
    None,
    /// The body that was screened (parsed again, only when prompts are logged).
    Body(&'a [u8]),
    Messages(&'a [Message]),
}

#[derive(Serialize)]
struct Record<'a> {
    time: String,
    request_id: String,
    host: &'a str,
    kind: &'static str,
    direction: &'static str,
    format: &'static str,
    project_id: Option<&'a str>,
    policy_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_version: Option<&'a str>,
    mode: Option<Mode>,
    action: &'static str,
    flagged: bool,
    detected: &'a [String],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    would_block: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    would_mask: Vec<String>,
    detectors: Vec<DetectorLog<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorLog<'a>>,
    latency_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<MessageLog>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    posture: Option<&'a crate::govern::PostureSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shadow: Option<&'a crate::govern::ShadowNote>,
}


#[derive(Serialize)]
struct DetectorLog<'a> {
    detector_type: &'a str,
    detector_id: &'a str,
    message_id: usize,
    detected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
}

#[derive(Serialize)]
struct ErrorLog<'a> {
    code: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct MessageLog {
    role: &'static str,
    content: String,
}

/// `ms` since the Unix epoch as RFC 3339 UTC with milliseconds.
pub fn rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), for years >= 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms % 1000)
}

impl Guard {
    /// Whether a record is wanted for this screening (a sink is set; clean screenings only with
    /// `logging.clean`).
    pub fn log_wanted(&self, s: &Screening) -> bool {
        let l = &self.config().logging;
        // A deferred request is always recorded: the record is what its review starts from.
        s.outcome == Outcome::Deferred || (l.sink != LogSink::None && (l.clean || s.outcome != Outcome::Clean || !s.detected.is_empty()))
    }

    /// The log record of a screening, as one line of JSON (no newline).
    pub fn log_record(&self, s: &Screening, content: Content<'_>, facts: &HostFacts<'_>) -> String {
        let policy = self.resolve(s.project.as_deref()).ok();
        let v = s.verdict.as_ref();
        // A deferred request is held for review: its (masked) content is the review's subject.
        let prompts = self.config().logging.prompts || s.outcome == Outcome::Deferred;
        let (messages, metadata) = if prompts { self.logged_content(s, content) } else { (None, None) };
        let request_id = match (facts.request_id, content) {
            (Some(id), _) if !id.is_empty() => id.to_string(),
            (_, Content::Body(b)) => derived_uuid(b),
            _ => String::new(),
        };
        let mode = policy.map(|p| if s.direction == Direction::Output { p.output_mode } else { p.input_mode });
        let action = match s.kind {
            // A guard call is answered, never enforced here: report what the caller was told.
            Kind::Guard if s.error.is_some() => "rejected",
            Kind::Guard if !s.detected.is_empty() => "flagged",
            Kind::Guard => "clean",
            Kind::Api => s.outcome.as_str(),
        };
        let rec = Record {
            time: rfc3339_ms(facts.time_ms),
            request_id,
            host: facts.host,
            kind: match s.kind {
                Kind::Guard => "guard",
                Kind::Api => "api",
            },
            direction: match s.direction {
                Direction::Input => "input",
                Direction::Output => "output",
            },
            format: s.format.map_or("guard", Format::as_str),
            project_id: s.project.as_deref(),
            policy_id: v.map(|v| v.policy_id.as_str()).or(policy.map(|p| p.id.as_str())),
            policy_version: v.map(|v| v.policy_version.as_str()).or(policy.map(|p| p.version.as_str())),
            mode,
            action,
            flagged: !s.detected.is_empty(),
            detected: &s.detected,
            would_block: v.map(|v| v.acted(Act::WouldBlock)).unwrap_or_default(),
            would_mask: v.map(|v| v.acted(Act::WouldMask)).unwrap_or_default(),
            detectors: v
                .map(|v| {
                    v.breakdown
                        .iter()
                        .map(|b| DetectorLog {
                            detector_type: &b.detector_type,
                            detector_id: &b.detector_id,
                            message_id: b.message_id,
                            detected: b.detected,
                            score: b.score,
                            level: b.level,
                            status: b.status,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            error: s.error.as_ref().map(|e| ErrorLog { code: e.code, message: &e.message }),
            latency_ms: facts.latency_us as f64 / 1000.0,
            metadata,
            messages,
            posture: s.posture.as_ref(),
            shadow: s.shadow.as_ref(),
        };
        serde_json::to_string(&rec).unwrap_or_else(|e| format!("{{\"error\":{{\"code\":\"internal\",\"message\":{:?}}}}}", e.to_string()))
    }

    /// The messages (and guard metadata) of `content`, masked.
    fn logged_content(&self, s: &Screening, content: Content<'_>) -> (Option<Vec<MessageLog>>, Option<Value>) {
        let max = self.config().max_messages;
        let (owned, metadata): (Option<Vec<Message>>, Option<Map<String, Value>>) = match content {
            Content::None => (None, None),
            Content::Messages(m) => (Some(m.to_vec()), None),
            Content::Body(b) => match (s.kind, s.format) {
                (Kind::Api, Some(f)) => {
                    let parsed = if s.direction == Direction::Output { formats::parse_response(f, b, max) } else { formats::parse_request(f, b, max) };
                    (parsed.ok(), None)
                }
                _ => match GuardRequest::parse(b, max) {
                    Ok(r) => (Some(r.messages), r.metadata),
                    Err(_) => (None, None),
                },
            },
        };
        let custom = self
            .resolve(s.project.as_deref())
            .ok()
            .and_then(|p| p.detectors.iter().find(|d| d.detector_type == "pii/custom").and_then(|d| d.imp.clone()));
        let messages = owned.map(|ms| {
            ms.iter().map(|m| MessageLog { role: m.role.as_str(), content: self.mask_for_log(&m.content, custom.as_deref()) }).collect()
        });
        let metadata = metadata.map(|m| self.mask_value(Value::Object(m), custom.as_deref()));
        (messages, metadata)
    }

    fn mask_value(&self, v: Value, custom: Option<&dyn crate::detectors::Detector>) -> Value {
        match v {
            Value::String(s) => Value::String(self.mask_for_log(&s, custom)),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.mask_value(x, custom)).collect()),
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, x)| (self.mask_for_log(&k, custom), self.mask_value(x, custom))).collect()),
            other => other,
        }
    }

    /// `text` with every finding of every PII and secret detector (and the policy's custom
    /// patterns) replaced by its type token, at the most sensitive level. Replacing a finding can
    /// make a new one out of what is left around it (`2606:470014700::1111`: the SSN-shaped
    /// digits go, and `::1111` reads as an IPv6 address), so masking repeats until nothing is
    /// found: logged content never holds anything a detector would report.
    pub fn mask_for_log(&self, text: &str, custom: Option<&dyn crate::detectors::Detector>) -> String {
        let mut out = self.mask_once(text, custom);
        // Each pass only replaces; four passes settled every input the fuzzer found.
        for _ in 0..4 {
            let Some(next) = out.as_deref().map(|t| self.mask_once(t, custom)) else { break };
            match next {
                Some(n) => out = Some(n),
                None => break,
            }
        }
        out.unwrap_or_else(|| text.to_string())
    }

    /// One masking pass; `None` when nothing was found.
    fn mask_once(&self, text: &str, custom: Option<&dyn crate::detectors::Detector>) -> Option<String> {
        if text.is_empty() {
            return None;
        }
        let norm = NormText::new(text);
        let runs = encoded_runs(text);
        let mut spans = Vec::new();
        let mut findings = Vec::new();
        let maskers = self.config().log_maskers.iter().map(|(t, d)| (*t, d.as_ref())).chain(custom.map(|c| ("pii/custom", c)));
        for (t, d) in maskers {
            // Rule detectors do not fail; one that did would leave nothing to mask here.
            for f in locate(d, &norm, &runs, &mut findings).unwrap_or_default() {
                spans.push((f.start, f.end, mask::token(t, &f.labels)));
            }
        }
        (!spans.is_empty()).then(|| mask::replace_spans(text, spans))
    }
}

#[cfg(test)]
mod tests;
