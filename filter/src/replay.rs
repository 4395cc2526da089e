//! Replaying recorded traffic under a policy, for `parapet policy diff OLD NEW --replay FILE`:
//! which requests would change verdict if NEW replaced OLD.
//!
//! A replay line is one of:
//! - a guard request (`{"messages": [...], "project_id": ...}`), as in `tests/corpus/`;
//! - a labelled text (`{"text": "...", "label": 0|1}`), as `parapet eval` reads;
//! - a screening log record (`docs/observability.md`) with its `messages` (logged with
//!   `logging.prompts`; PII and secrets in it are already masked, so a change in a PII detector
//!   shows only through what masking left). A record without content is skipped, and counted.
//!
//! Replay is stateless: the posture (`crate::posture`) is not replayed, and a shadow policy
//! does not take part. Both configs screen each request natively; `parapet verify` proves the
//! module answers the same.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::api::{GuardRequest, Message};
use crate::engine::{Act, Guard, Verdict};

/// One request to replay.
#[derive(Debug, Clone)]
pub struct Case {
    pub project: Option<String>,
    pub messages: Vec<Message>,
}

/// What a line is, once read.
#[derive(Debug, Clone)]
pub enum Line {
    Case(Case),
    /// A well-formed line with nothing to replay (a log record without content, a posture
    /// transition record): why.
    Skip(&'static str),
}

/// Reads one replay line. `Err`: a line that is none of the accepted shapes.
pub fn parse_line(line: &str, max_messages: usize) -> Result<Line, String> {
    let obj: Map<String, Value> = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    if obj.get("kind").and_then(Value::as_str) == Some("posture") {
        return Ok(Line::Skip("posture_record"));
    }
    let is_record = obj.contains_key("request_id") && obj.contains_key("kind");
    if is_record {
        let Some(messages) = obj.get("messages") else { return Ok(Line::Skip("no_content")) };
        let project = obj.get("project_id").cloned().unwrap_or(Value::Null);
        let body = json!({ "messages": messages, "project_id": project }).to_string();
        return guard_case(body.as_bytes(), max_messages);
    }
    if obj.contains_key("messages") {
        return guard_case(line.as_bytes(), max_messages);
    }
    if let Some(text) = obj.get("text").and_then(Value::as_str) {
        let body = json!({ "messages": [{ "role": "user", "content": text }] }).to_string();
        return guard_case(body.as_bytes(), max_messages);
    }
    Err("expected a guard request (`messages`), a labelled text (`text`) or a screening log record".into())
}

fn guard_case(body: &[u8], max_messages: usize) -> Result<Line, String> {
    let req = GuardRequest::parse(body, max_messages).map_err(|e| format!("{}: {}", e.code, e.message))?;
    Ok(Line::Case(Case { project: req.project_id, messages: req.messages }))
}

/// A verdict as a diff compares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub policy_id: String,
    pub policy_version: String,
    /// `clean`, `flagged` (monitored), `masked`, `blocked`, or `rejected` (unknown project, a
    /// detector that failed), the words of the log's `action`.
    pub action: &'static str,
    pub detected: Vec<String>,
    /// Why the case could not be screened (`action: rejected`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The action a verdict leads to, in log words.
pub fn action_of(v: &Verdict) -> &'static str {
    if v.any(Act::Failed) {
        "rejected"
    } else if v.any(Act::Block) {
        "blocked"
    } else if v.any(Act::Mask) {
        "masked"
    } else if v.flagged {
        "flagged"
    } else {
        "clean"
    }
}

impl Guard {
    /// The verdict this config gives a replayed case. `project`: the project to screen it as
    /// (the case's own, or `None` for the default policy).
    pub fn replay(&self, case: &Case, project: Option<&str>) -> Outcome {
        let policy = match self.resolve(project) {
            Ok(p) => p,
            Err(e) => {
                return Outcome { policy_id: String::new(), policy_version: String::new(), action: "rejected", detected: Vec::new(), error: Some(e.code.to_string()) }
            }
        };
        let v = self.screen(policy, project, &case.messages);
        let failed = v.any(Act::Failed);
        Outcome {
            policy_id: policy.id.clone(),
            policy_version: policy.version.clone(),
            action: action_of(&v),
            error: failed.then(|| "detector_failed".to_string()),
            detected: v.detected,
        }
    }
}

#[cfg(test)]
mod tests;
