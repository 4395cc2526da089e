//! The Lakera-compatible `/v2/guard` request and response.
//!
//! Request: `{messages, project_id?, payload?, breakdown?, metadata?, dev_info?}`. Unknown
//! top-level fields are ignored so that clients written for Lakera keep working; the fields
//! Parapet reads are checked strictly, and every error names the field (`messages[1].content`).
//!
//! Offsets in payload entries count Unicode code points (not bytes, not UTF-16 units) of that
//! message's content; for array content the text parts are joined with one `\n`.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    System,
    Developer,
    User,
    Assistant,
    Tool,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "system" => Role::System,
            "developer" => Role::Developer,
            "user" => Role::User,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::Developer => "developer",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }

    /// System and developer prompts are context for the screen, never a target of flags of
    /// their own (as in Lakera): the application wrote them, not the user or the model.
    pub fn is_context(self) -> bool {
        matches!(self, Role::System | Role::Developer)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuardRequest {
    pub messages: Vec<Message>,
    pub project_id: Option<String>,
    pub payload: bool,
    pub breakdown: bool,
    pub dev_info: bool,
    /// Caller metadata (user id, session id, …): kept for logs, never affects the verdict.
    pub metadata: Option<Map<String, Value>>,
}

/// How strict message parsing is about content parts that are not text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parts {
    /// The guard API: only text parts exist; anything else is an error.
    TextOnly,
    /// A proxied LLM request: image, audio and file parts are not text and are not screened.
    SkipNonText,
}

/// Checks the body is UTF-8 and JSON, and returns its top-level object.
pub fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(400, "empty_body", "request body is empty; expected a JSON object"));
    }
    let text = std::str::from_utf8(body).map_err(|e| {
        ApiError::new(400, "invalid_utf8", format!("request body is not valid UTF-8 (first bad byte at offset {})", e.valid_up_to()))
    })?;
    let value: Value = serde_json::from_str(text)
        .map_err(|e| ApiError::new(400, "invalid_json", format!("request body is not valid JSON: {e}")))?;
    match value {
        Value::Object(m) => Ok(m),
        other => Err(ApiError::new(400, "invalid_request", format!("request body must be a JSON object, got {}", type_name(&other)))),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn opt_bool(obj: &Map<String, Value>, key: &str) -> Result<bool, ApiError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(ApiError::invalid("invalid_type", key, format!("`{key}` must be a boolean, got {}", type_name(v)))),
    }
}

impl GuardRequest {
    pub fn parse(body: &[u8], max_messages: usize) -> Result<GuardRequest, ApiError> {
        let obj = parse_object(body)?;
        let messages = parse_messages(obj.get("messages"), "messages", max_messages, Parts::TextOnly)?;
        let project_id = match obj.get("project_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::String(_)) => {
                return Err(ApiError::invalid("invalid_value", "project_id", "`project_id` must not be empty"))
            }
            Some(v) => {
                return Err(ApiError::invalid("invalid_type", "project_id", format!("`project_id` must be a string, got {}", type_name(v))))
            }
        };
        let metadata = match obj.get("metadata") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => Some(m.clone()),
            Some(v) => {
                return Err(ApiError::invalid("invalid_type", "metadata", format!("`metadata` must be an object, got {}", type_name(v))))
            }
        };
        Ok(GuardRequest {
            messages,
            project_id,
            payload: opt_bool(&obj, "payload")?,
            breakdown: opt_bool(&obj, "breakdown")?,
            dev_info: opt_bool(&obj, "dev_info")?,
            metadata,
        })
    }
}

/// Parses an OpenAI-style `messages` array (shared by the guard API and proxied chat bodies).
pub fn parse_messages(v: Option<&Value>, field: &str, max: usize, parts: Parts) -> Result<Vec<Message>, ApiError> {
    let arr = match v {
        Some(Value::Array(a)) => a,
        None | Some(Value::Null) => {
            return Err(ApiError::invalid("missing_field", field, format!("`{field}` is required")))
        }
        Some(other) => {
            return Err(ApiError::invalid("invalid_type", field, format!("`{field}` must be an array of messages, got {}", type_name(other))))
        }
    };
    if arr.is_empty() {
        return Err(ApiError::invalid("invalid_value", field, format!("`{field}` must contain at least one message")));
    }
    if arr.len() > max {
        return Err(ApiError::new(413, "too_many_messages", format!("`{field}` has {} messages; the limit is {max}", arr.len())));
    }
    arr.iter().enumerate().map(|(i, m)| parse_message(m, &format!("{field}[{i}]"), parts)).collect()
}

fn parse_message(v: &Value, field: &str, parts: Parts) -> Result<Message, ApiError> {
    let obj = match v {
        Value::Object(o) => o,
        other => return Err(ApiError::invalid("invalid_type", field, format!("`{field}` must be an object, got {}", type_name(other)))),
    };
    let role_field = format!("{field}.role");
    let role = match obj.get("role") {
        Some(Value::String(s)) => Role::parse(s).ok_or_else(|| {
            ApiError::invalid("invalid_value", role_field.as_str(), format!("`{role_field}` must be one of system, developer, user, assistant, tool; got {s:?}"))
        })?,
        None => return Err(ApiError::invalid("missing_field", role_field.as_str(), format!("`{role_field}` is required"))),
        Some(other) => {
            return Err(ApiError::invalid("invalid_type", role_field.as_str(), format!("`{role_field}` must be a string, got {}", type_name(other))))
        }
    };
    let content = parse_content(obj.get("content"), &format!("{field}.content"), parts)?;
    Ok(Message { role, content })
}

/// Content is a string, null (an assistant turn that only calls tools), or an array of parts.
pub fn parse_content(v: Option<&Value>, field: &str, parts: Parts) -> Result<String, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(items)) => {
            let mut texts: Vec<&str> = Vec::with_capacity(items.len());
            for (i, part) in items.iter().enumerate() {
                let pf = format!("{field}[{i}]");
                let obj = match part {
                    Value::Object(o) => o,
                    // Some clients send bare strings as parts.
                    Value::String(s) => {
                        texts.push(s);
                        continue;
                    }
                    other => {
                        return Err(ApiError::invalid("invalid_type", pf.as_str(), format!("`{pf}` must be a content part object, got {}", type_name(other))))
                    }
                };
                let kind = obj.get("type").and_then(Value::as_str).unwrap_or("text");
                match (kind, obj.get("text")) {
                    ("text" | "input_text" | "output_text", Some(Value::String(t))) => texts.push(t),
                    ("text" | "input_text" | "output_text", other) => {
                        let got = other.map_or("nothing", type_name);
                        return Err(ApiError::invalid("invalid_type", format!("{pf}.text"), format!("`{pf}.text` must be a string, got {got}")));
                    }
                    (_, _) if parts == Parts::SkipNonText => {}
                    (k, _) => {
                        return Err(ApiError::invalid(
                            "unsupported_content",
                            format!("{pf}.type"),
                            format!("`{pf}.type` is {k:?}; only text parts can be screened"),
                        ))
                    }
                }
            }
            Ok(texts.join("\n"))
        }
        Some(other) => Err(ApiError::invalid(
            "invalid_type",
            field,
            format!("`{field}` must be a string or an array of text parts, got {}", type_name(other)),
        )),
    }
}

/// One match a detector reported, located in the original message content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadEntry {
    /// Code-point offsets into the message's content; `end` is exclusive.
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub detector_type: String,
    pub labels: Vec<String>,
    pub message_id: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownEntry {
    pub project_id: Option<String>,
    pub policy_id: String,
    pub detector_id: String,
    pub detector_type: String,
    pub detected: bool,
    /// The first message it detected in, else the latest message it screened.
    pub message_id: usize,
    /// `"unavailable"` when the policy names a detector this build does not have.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    /// Model detectors: the highest score (0..1) over the screened messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Model detectors: Lakera's confidence level of that score, `l1_confident`..`l5_unlikely`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseMetadata {
    pub request_uuid: String,
    /// The version of the policy that screened the request (`pv-` and 12 hex digits).
    pub policy_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevInfo {
    pub version: &'static str,
    pub policy_id: String,
    /// Detectors the policy names that this build cannot run.
    pub unavailable_detectors: Vec<String>,
    /// Detected types the policy enforces by blocking / by masking, and those it only monitors
    /// (what it would block / mask). Left out when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mask: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_block: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_mask: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuardResponse {
    pub flagged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Vec<PayloadEntry>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Vec<BreakdownEntry>>,
    pub metadata: ResponseMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev_info: Option<DevInfo>,
}

#[cfg(test)]
mod tests;
