//! Configuration: parsed strictly, validated, then compiled once.
//!
//! The same JSON configures every host (Envoy plugin configuration, the worker, `parapet
//! --config`). Unknown fields are rejected; every error names the field it is about, e.g.
//! `policies.support.detectors.pii/emial: unknown detector type`. An empty object `{}` is a
//! valid config: the built-in templates, the `default` policy, block mode, fail closed.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::detectors::{self, Built, Detector, Shared};
use crate::formats::Format;
use crate::policy::{Level, PolicySpec, TEMPLATES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Forward everything; record what would have been blocked.
    Monitor,
    /// Refuse flagged requests.
    #[default]
    Block,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// On an internal failure or an unscreenable body, let the request through (and count it).
    Open,
    /// On an internal failure or an unscreenable body, refuse the request.
    #[default]
    Closed,
}

/// The config as written. See `docs/config.md` for every field.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigSpec {
    #[serde(default = "default_policy")]
    pub default_policy: String,
    #[serde(default)]
    pub projects: BTreeMap<String, String>,
    #[serde(default)]
    pub policies: BTreeMap<String, PolicySpec>,
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub fail_mode: FailMode,
    #[serde(default = "default_project_header")]
    pub project_header: String,
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    #[serde(default = "default_max_messages")]
    pub max_messages: usize,
    #[serde(default = "default_guard_path")]
    pub guard_path: Option<String>,
    #[serde(default = "default_api_paths")]
    pub api_paths: BTreeMap<String, Format>,
    #[serde(default)]
    pub require_all_detectors: bool,
    #[serde(default = "default_hold_back")]
    pub stream_hold_back: usize,
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
}

fn default_max_response() -> usize {
    4 << 20
}

fn default_hold_back() -> usize {
    256
}

fn default_policy() -> String {
    "default".into()
}
fn default_project_header() -> String {
    "x-parapet-project".into()
}
fn default_max_body() -> usize {
    1 << 20
}
fn default_max_messages() -> usize {
    1000
}
fn default_guard_path() -> Option<String> {
    Some("/v2/guard".into())
}
fn default_api_paths() -> BTreeMap<String, Format> {
    BTreeMap::from([
        ("/v1/chat/completions".to_string(), Format::OpenaiChat),
        ("/v1/responses".to_string(), Format::OpenaiResponses),
        ("/v1/messages".to_string(), Format::AnthropicMessages),
    ])
}

/// Largest body a config may allow: bounds per-VM memory.
pub const MAX_BODY_LIMIT: usize = 32 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Dotted path of the offending field, e.g. `policies.support.sensitivity`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "invalid config: {}", self.message)
        } else {
            write!(f, "invalid config field `{}`: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError { field: field.into(), message: message.into() }
}

/// A detector as a policy runs it.
pub struct PolicyDetector {
    pub detector_type: String,
    pub level: Level,
    /// `None`: the policy names it but this build cannot run it.
    pub imp: Option<std::sync::Arc<dyn Detector>>,
}

pub struct Policy {
    pub id: String,
    pub description: String,
    pub sensitivity: Level,
    /// Sorted by detector type, so verdicts list detectors in a fixed order.
    pub detectors: Vec<PolicyDetector>,
}

impl Policy {
    pub fn unavailable(&self) -> Vec<String> {
        self.detectors.iter().filter(|d| d.imp.is_none()).map(|d| d.detector_type.clone()).collect()
    }
}

/// The compiled configuration.
pub struct Config {
    pub mode: Mode,
    pub fail_mode: FailMode,
    pub project_header: String,
    pub max_body_bytes: usize,
    pub max_messages: usize,
    pub guard_path: Option<String>,
    /// Path (without query) -> the LLM API format of its bodies.
    pub api_paths: BTreeMap<String, Format>,
    /// Bytes of streamed model text held back in block mode (see `stream.rs`).
    pub stream_hold_back: usize,
    /// Largest JSON response body held for screening (see `response.rs`).
    pub max_response_bytes: usize,
    pub default_policy: String,
    pub projects: BTreeMap<String, String>,
    pub policies: BTreeMap<String, Policy>,
}

fn parse_spec(json: &[u8]) -> Result<ConfigSpec, ConfigError> {
    let text = std::str::from_utf8(json).map_err(|e| err("", format!("not UTF-8 (byte {})", e.valid_up_to())))?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { String::new() } else { path };
        err(field, e.inner().to_string())
    })
}

fn compile_policy(id: &str, spec: &PolicySpec, field: &str, shared: &mut Shared) -> Result<Policy, ConfigError> {
    if spec.detectors.is_empty() {
        return Err(err(format!("{field}.detectors"), "a policy must enable at least one detector"));
    }
    if !spec.custom_patterns.is_empty() && !spec.detectors.contains_key("pii/custom") {
        return Err(err(format!("{field}.custom_patterns"), "custom patterns are given but `pii/custom` is not in `detectors`"));
    }
    if spec.detectors.contains_key("pii/custom") && spec.custom_patterns.is_empty() {
        return Err(err(format!("{field}.detectors.pii/custom"), "`pii/custom` needs at least one entry in `custom_patterns`"));
    }
    let mut detectors = Vec::with_capacity(spec.detectors.len());
    for (name, dspec) in &spec.detectors {
        let dfield = format!("{field}.detectors.{name}");
        if !detectors::is_known(name) {
            return Err(err(dfield, format!("unknown detector type {name:?}")));
        }
        let imp = match detectors::build(name, spec, shared) {
            Ok(Built::Ready(d)) => Some(d),
            Ok(Built::Unavailable) => None,
            // Messages that start with a sub-field name already locate themselves.
            Err(m) if m.starts_with("custom_patterns") || m.starts_with("allowed_domains") => {
                let (sub, msg) = m.split_once(": ").unwrap_or((m.as_str(), ""));
                return Err(err(format!("{field}.{sub}"), msg));
            }
            Err(m) => return Err(err(dfield, m)),
        };
        detectors.push(PolicyDetector { detector_type: name.clone(), level: dspec.sensitivity.unwrap_or(spec.sensitivity), imp });
    }
    Ok(Policy { id: id.to_string(), description: spec.description.clone(), sensitivity: spec.sensitivity, detectors })
}

impl Config {
    pub fn compile(json: &[u8]) -> Result<Config, ConfigError> {
        let spec = parse_spec(json)?;
        Config::from_spec(&spec)
    }

    pub fn from_spec(spec: &ConfigSpec) -> Result<Config, ConfigError> {
        let mut shared = Shared::default();
        let mut policies = BTreeMap::new();
        for (name, text) in TEMPLATES {
            let tspec: PolicySpec = serde_json::from_str(text).map_err(|e| err(format!("<template {name}>"), e.to_string()))?;
            let p = compile_policy(name, &tspec, &format!("<template {name}>"), &mut shared)?;
            policies.insert(name.to_string(), p);
        }
        for (name, pspec) in &spec.policies {
            let field = format!("policies.{name}");
            if name.trim().is_empty() {
                return Err(err("policies", "a policy name must not be empty"));
            }
            if policies.contains_key(name) {
                return Err(err(field, format!("{name:?} is a built-in template; give your policy another name")));
            }
            let p = compile_policy(name, pspec, &field, &mut shared)?;
            policies.insert(name.clone(), p);
        }
        if !policies.contains_key(&spec.default_policy) {
            return Err(err("default_policy", format!("no policy named {:?}", spec.default_policy)));
        }
        for (project, policy) in &spec.projects {
            if project.is_empty() {
                return Err(err("projects", "a project id must not be empty"));
            }
            if !policies.contains_key(policy) {
                return Err(err(format!("projects.{project}"), format!("no policy named {policy:?}")));
            }
        }
        if spec.require_all_detectors {
            let in_use = std::iter::once(("default_policy".to_string(), &spec.default_policy))
                .chain(spec.projects.iter().map(|(k, v)| (format!("projects.{k}"), v)));
            for (user, name) in in_use {
                let missing = policies.get(name.as_str()).map(Policy::unavailable).unwrap_or_default();
                if !missing.is_empty() {
                    return Err(err(
                        "require_all_detectors",
                        format!("policy {name:?} (used by {user}) runs {}, which this build lacks", missing.join(", ")),
                    ));
                }
            }
        }
        if spec.max_body_bytes == 0 || spec.max_body_bytes > MAX_BODY_LIMIT {
            return Err(err("max_body_bytes", format!("must be between 1 and {MAX_BODY_LIMIT}")));
        }
        if spec.max_response_bytes == 0 || spec.max_response_bytes > MAX_BODY_LIMIT {
            return Err(err("max_response_bytes", format!("must be between 1 and {MAX_BODY_LIMIT}")));
        }
        if spec.stream_hold_back > 65536 {
            return Err(err("stream_hold_back", "must be at most 65536 bytes"));
        }
        if spec.max_messages == 0 {
            return Err(err("max_messages", "must be at least 1"));
        }
        let header = spec.project_header.to_ascii_lowercase();
        if header.is_empty() || !header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(err("project_header", "must be a non-empty HTTP header name (letters, digits, '-', '_')"));
        }
        for (field, path) in spec.guard_path.iter().map(|p| ("guard_path".to_string(), p)).chain(
            spec.api_paths.keys().map(|p| (format!("api_paths.{p}"), p)),
        ) {
            if !path.starts_with('/') {
                return Err(err(field, format!("{path:?} must start with '/'")));
            }
        }
        Ok(Config {
            mode: spec.mode,
            fail_mode: spec.fail_mode,
            project_header: header,
            max_body_bytes: spec.max_body_bytes,
            max_messages: spec.max_messages,
            guard_path: spec.guard_path.clone(),
            api_paths: spec.api_paths.clone(),
            stream_hold_back: spec.stream_hold_back,
            max_response_bytes: spec.max_response_bytes,
            default_policy: spec.default_policy.clone(),
            projects: spec.projects.clone(),
            policies,
        })
    }

    /// Every policy's unavailable detectors, for a warning when the config is loaded.
    pub fn unavailable_detectors(&self) -> Vec<(String, Vec<String>)> {
        self.policies
            .values()
            .map(|p| (p.id.clone(), p.unavailable()))
            .filter(|(_, u)| !u.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(json: &str) -> String {
        match Config::compile(json.as_bytes()) {
            Ok(_) => panic!("config should be rejected: {json}"),
            Err(e) => e.field,
        }
    }

    #[test]
    fn empty_config_is_the_embedded_default() {
        let c = Config::compile(b"{}").unwrap();
        assert_eq!(c.default_policy, "default");
        assert_eq!((c.mode, c.fail_mode), (Mode::Block, FailMode::Closed));
        assert_eq!(c.policies.len(), 5);
        for (name, _) in TEMPLATES {
            assert!(!c.policies[*name].description.is_empty(), "template {name} needs a description");
        }
        assert!(Config::compile(b"").is_ok());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field_of(r#"{"mode":"panic"}"#), "mode");
        assert_eq!(field_of(r#"{"bogus":1}"#), "bogus");
        assert!(Config::compile(br#"{"bogus":1}"#).err().unwrap().message.contains("bogus"));
        assert_eq!(field_of(r#"{"projects":{"p1":"nope"}}"#), "projects.p1");
        assert_eq!(field_of(r#"{"default_policy":"nope"}"#), "default_policy");
        assert_eq!(field_of(r#"{"max_body_bytes":0}"#), "max_body_bytes");
        assert_eq!(field_of(r#"{"max_response_bytes":0}"#), "max_response_bytes");
        assert_eq!(field_of(r#"{"project_header":"bad header"}"#), "project_header");
        assert_eq!(field_of(r#"{"api_paths":{"v1":"openai_chat"}}"#), "api_paths.v1");
        assert_eq!(field_of(r#"{"api_paths":{"/v1/x":"grpc"}}"#), "api_paths./v1/x");
        assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L9","detectors":{"pii/email":{}}}}}"#), "policies.p.sensitivity");
        assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/emial":{}}}}}"#), "policies.p.detectors.pii/emial");
        assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{"sensitivty":"L1"}}}}}"#), "policies.p.detectors.pii/email.sensitivty");
        assert_eq!(field_of(r#"{"policies":{"default":{"sensitivity":"L2","detectors":{"pii/email":{}}}}}"#), "policies.default");
        assert_eq!(
            field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/custom":{}},"custom_patterns":[{"name":"a","pattern":"("}]}}}"#),
            "policies.p.custom_patterns[0].pattern"
        );
        assert_eq!(field_of(r#"{"policies":{"p":{"sensitivity":"L2","detectors":{}}}}"#), "policies.p.detectors");
    }

    #[test]
    fn model_detectors_are_reported_not_skipped() {
        let c = Config::compile(b"{}").unwrap();
        let un = c.unavailable_detectors();
        assert!(un.iter().any(|(p, d)| p == "default" && d.contains(&"prompt_attack".to_string())));
        let strict = Config::compile(br#"{"require_all_detectors":true}"#);
        let e = strict.err().unwrap();
        assert_eq!(e.field, "require_all_detectors");
        assert!(e.message.contains("\"default\"") && e.message.contains("prompt_attack"), "{e}");
        // Only policies in use count: a rule-only default passes the strict check.
        assert!(Config::compile(br#"{"require_all_detectors":true,"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{}}}},"default_policy":"p"}"#).is_ok());
        assert!(Config::compile(br#"{"require_all_detectors":true,"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{}}}},"default_policy":"p","projects":{"x":"content-safety"}}"#).is_err());
    }

    #[test]
    fn per_detector_override_applies() {
        let c = Config::compile(
            br#"{"policies":{"p":{"sensitivity":"L1","detectors":{"pii/email":{"sensitivity":"L4"},"pii/ip_address":{}}}},"projects":{"x":"p"}}"#,
        )
        .unwrap();
        let p = &c.policies["p"];
        let levels: Vec<_> = p.detectors.iter().map(|d| (d.detector_type.as_str(), d.level)).collect();
        assert_eq!(levels, vec![("pii/email", Level::L4), ("pii/ip_address", Level::L1)]);
    }
}
