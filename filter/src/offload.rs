//! The scoring service's wire format (config `offload`). A host sends a body's guard-model
//! windows (token ids) to a Parapet scoring service (`parapet serve`, `POST /v1/parapet/score`);
//! the service runs them with the native core and answers each window's logits on the 1/256
//! grid that every verdict snaps logits to, so a verdict from offloaded windows is the one the
//! host would have given in-process. Both sides name the model they run; a host refuses logits
//! from another model (and falls back).

use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::model::{self, Precomputed};

/// Where `parapet serve` answers score requests.
pub const SCORE_PATH: &str = "/v1/parapet/score";

/// Requests with more windows than this are refused (a 100k-character body is about 120).
pub const MAX_WINDOWS: usize = 4096;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreRequest {
    model: String,
    windows: Vec<Vec<u32>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreResponse {
    model: String,
    /// Per window, per head: the logit times 256, rounded.
    logits: Vec<[i32; 7]>,
}

/// The error of a body whose scoring call failed under `fallback: fail_mode`: unscreenable, so
/// the policy's fail mode decides.
pub fn failed(why: &str) -> ApiError {
    ApiError::new(503, "offload_failed", format!("the scoring service failed: {why}"))
}

/// The request a host sends for `windows`.
pub fn request_body(windows: &[Vec<u32>]) -> Vec<u8> {
    let req = ScoreRequest { model: model::model_id().to_string(), windows: windows.to_vec() };
    serde_json::to_vec(&req).unwrap_or_default()
}

/// The service's answer for `windows` as precomputed logits, or why it cannot be used.
pub fn parse_response(body: &[u8], windows: &[Vec<u32>]) -> Result<Precomputed, String> {
    let r: ScoreResponse = serde_json::from_slice(body).map_err(|e| format!("scoring service answer: {e}"))?;
    if r.model != model::model_id() {
        return Err(format!("scoring service runs model {}, this filter {}", r.model, model::model_id()));
    }
    if r.logits.len() != windows.len() {
        return Err(format!("scoring service answered {} windows of {}", r.logits.len(), windows.len()));
    }
    let mut out = Precomputed::default();
    for (w, grid) in windows.iter().zip(r.logits) {
        out.insert(w.clone(), grid.map(|k| k as f32 / model::GRID));
    }
    Ok(out)
}

/// The service side: the windows of a request, checked (model, count, length, token ids).
pub fn parse_request(body: &[u8]) -> Result<Vec<Vec<u32>>, ApiError> {
    let r: ScoreRequest = serde_json::from_slice(body).map_err(|e| ApiError::new(400, "invalid_json", format!("score request: {e}")))?;
    if r.model != model::model_id() {
        return Err(ApiError::new(409, "model_mismatch", format!("this service runs model {}; the request is for {}", model::model_id(), r.model)));
    }
    if r.windows.len() > MAX_WINDOWS {
        return Err(ApiError::new(413, "too_many_windows", format!("{} windows; at most {MAX_WINDOWS}", r.windows.len())));
    }
    let vocab = model::vocab_len();
    for (i, w) in r.windows.iter().enumerate() {
        if w.len() > model::WINDOW || w.iter().any(|&id| id as usize >= vocab) {
            return Err(ApiError::new(400, "invalid_window", format!("window {i} is over {} tokens or has an id outside the vocabulary", model::WINDOW)));
        }
    }
    Ok(r.windows)
}

/// The service side: the answer for windows' raw logits (snapped to the grid).
pub fn response_body(logits: &[[f32; 7]]) -> Vec<u8> {
    let r = ScoreResponse { model: model::model_id().to_string(), logits: logits.iter().map(|l| l.map(|x| (x * model::GRID).round() as i32)).collect() };
    serde_json::to_vec(&r).unwrap_or_default()
}

#[cfg(test)]
mod tests;
