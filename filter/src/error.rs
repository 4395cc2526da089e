//! Request errors and their JSON form.
//!
//! Every host answers a bad request with the same body, shaped like an OpenAI error so that the
//! clients Parapet sits in front of can parse it:
//! `{"error":{"message":…,"type":…,"code":…,"param":…}}`.

use serde::Serialize;

/// Why a request could not be screened. Carries the HTTP status hosts answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    /// Machine-readable cause, e.g. `invalid_json`, `body_too_large`, `unknown_project`.
    pub code: &'static str,
    pub message: String,
    /// The request field at fault (`messages[2].content`), when there is one.
    pub param: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    code: &'a str,
    param: Option<&'a str>,
}

impl ApiError {
    pub fn invalid(code: &'static str, param: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError { status: 400, code, message: message.into(), param: Some(param.into()) }
    }

    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), param: None }
    }

    /// The OpenAI `type` family for this status; Parapet's own refusals (the threat posture's)
    /// are `parapet_blocked`, like a blocked request.
    fn kind(&self) -> &'static str {
        match (self.code, self.status) {
            ("posture_refusal" | "tool_forbidden", _) => "parapet_blocked",
            (_, 400..=499) => "invalid_request_error",
            _ => "parapet_error",
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        let body = Body {
            error: Inner {
                message: &self.message,
                kind: self.kind(),
                code: self.code,
                param: self.param.as_deref(),
            },
        };
        // Serialising plain strings cannot fail; keep a fixed fallback rather than panic.
        serde_json::to_vec(&body).unwrap_or_else(|_| br#"{"error":{"message":"internal error","type":"parapet_error","code":"internal","param":null}}"#.to_vec())
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.param {
            Some(p) => write!(f, "{} ({}): {}", self.code, p, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}
