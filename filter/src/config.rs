//! Configuration: parsed strictly, validated, then compiled once.
//!
//! The same JSON configures every host (Envoy plugin configuration, the worker, `parapet
//! --config`). Unknown fields are rejected; every error names the field it is about, e.g.
//! `policies.support.detectors.pii/emial: unknown detector type`. An empty object `{}` is a
//! valid config: the built-in templates, the `default` policy, block mode, fail closed.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::detectors::{self, Built, Detector, Shared};
use crate::formats::Format;
use crate::keys::{self, Digest};
use crate::policy::{DetectorSpec, Level, PolicySpec, SideSpec, TEMPLATES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Forward everything; record what would have been blocked or masked. Set at any level, it
    /// turns enforcement off for everything beneath it.
    Monitor,
    /// Refuse flagged requests.
    #[default]
    Block,
    /// Replace findings with a type token (`<EMAIL>`) and forward. Only detectors that locate
    /// personal data or secrets can mask ([`can_mask`]).
    Mask,
}

/// Detectors whose findings can be replaced by a token: the `pii/*` family (secrets and custom
/// patterns included). Model verdicts, profanity and links judge the text, not a span of it.
pub fn can_mask(detector_type: &str) -> bool {
    detector_type.starts_with("pii/")
}

/// What an enforced detector does with a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Block,
    Mask,
}

/// What to do with a presented API key that is not in `api_keys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownKey {
    /// `401 unknown_api_key` (under `fail_mode: closed`).
    #[default]
    Reject,
    /// Resolve the project from the header or the default, as if no key were presented.
    Ignore,
}

/// One `api_keys` entry: the key (or its SHA-256) and the project it selects.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeySpec {
    #[serde(default)]
    pub key: Option<String>,
    /// Lower- or upper-case hex SHA-256 of the key, so the key itself need not be in the config.
    #[serde(default)]
    pub key_sha256: Option<String>,
    pub project: String,
}

impl fmt::Debug for ApiKeySpec {
    // Never print a key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeySpec").field("project", &self.project).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
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
    #[serde(default = "default_max_model_chars")]
    pub max_model_chars: usize,
    /// API key -> project.
    #[serde(default)]
    pub api_keys: Vec<ApiKeySpec>,
    #[serde(default)]
    pub unknown_api_key: UnknownKey,
    /// Route name (Envoy's `xds.route_name`) -> project.
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// Path prefix -> route name, for hosts without named routes (the worker); longest wins.
    #[serde(default)]
    pub route_prefixes: BTreeMap<String, String>,
    #[serde(default = "default_max_response")]
    pub max_response_bytes: usize,
    /// Screening log records (`docs/observability.md`).
    #[serde(default)]
    pub logging: LoggingSpec,
}

/// Where screening log records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSink {
    /// No records.
    #[default]
    None,
    /// The host's log: Envoy's log (`parapet.screening {json}` lines), the worker's console,
    /// `parapet`'s `--log FILE`.
    Log,
    /// POSTed as JSON lines to an Envoy cluster (`cluster`, `path`, `authority`); other hosts use
    /// their log.
    Http,
}

/// The `logging` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoggingSpec {
    #[serde(default)]
    pub sink: LogSink,
    /// Log message content (always with PII and secrets replaced by their type). Off: records
    /// carry detectors, scores and actions only.
    #[serde(default)]
    pub prompts: bool,
    /// Also log screenings that found nothing (needed for rates in reports).
    #[serde(default = "yes")]
    pub clean: bool,
    /// `http` sink: the Envoy cluster to POST records to.
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default = "default_log_path")]
    pub path: String,
    /// `http` sink: the `:authority` of the POST (default: the cluster name).
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default = "default_log_timeout")]
    pub timeout_ms: u32,
}

impl Default for LoggingSpec {
    fn default() -> Self {
        LoggingSpec { sink: LogSink::None, prompts: false, clean: true, cluster: None, path: default_log_path(), authority: None, timeout_ms: default_log_timeout() }
    }
}

fn yes() -> bool {
    true
}
fn default_log_path() -> String {
    "/v1/screenings".into()
}
fn default_log_timeout() -> u32 {
    1000
}

fn default_max_response() -> usize {
    4 << 20
}

fn default_hold_back() -> usize {
    256
}
/// About 117 model windows: a few seconds of one core in the slowest runtime.
fn default_max_model_chars() -> usize {
    100_000
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

/// How a detector runs on one side (inputs or outputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub level: Level,
    /// What it does when enforced (`block` unless a `mask` setting applies and it can mask).
    pub action: Action,
    /// `monitor` somewhere above or at this detector: report, never enforce.
    pub monitor: bool,
}

/// A detector as a policy runs it.
pub struct PolicyDetector {
    pub detector_type: String,
    /// The input side's level (the output side's when the detector only screens outputs).
    pub level: Level,
    /// A rule detector; `None` for a model head or a detector this build cannot run.
    pub imp: Option<std::sync::Arc<dyn Detector>>,
    /// A head of the guard model (index into [`crate::model::HEADS`]).
    pub head: Option<usize>,
    /// `None`: not run on inputs (user and tool messages).
    pub input: Option<Setting>,
    /// `None`: not run on outputs (assistant messages).
    pub output: Option<Setting>,
}

impl PolicyDetector {
    pub fn available(&self) -> bool {
        self.imp.is_some() || self.head.is_some()
    }
}

pub struct Policy {
    pub id: String,
    pub description: String,
    pub sensitivity: Level,
    /// Sorted by detector type, so verdicts list detectors in a fixed order.
    pub detectors: Vec<PolicyDetector>,
    pub fail_mode: FailMode,
    /// The mode of each side as configured (policy side, policy, config; `monitor` anywhere
    /// wins), for logs; detectors may still override it.
    pub input_mode: Mode,
    pub output_mode: Mode,
}

impl Policy {
    pub fn unavailable(&self) -> Vec<String> {
        self.detectors.iter().filter(|d| !d.available()).map(|d| d.detector_type.clone()).collect()
    }

    /// Whether screening under this policy runs the guard model.
    pub fn uses_model(&self) -> bool {
        self.detectors.iter().any(|d| d.head.is_some())
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
    /// Most characters of one request the guard model screens; more is unscreenable (fail_mode).
    pub max_model_chars: usize,
    /// Largest JSON response body held for screening (see `response.rs`).
    pub max_response_bytes: usize,
    pub default_policy: String,
    pub projects: BTreeMap<String, String>,
    pub policies: BTreeMap<String, Policy>,
    /// SHA-256 of each configured API key, and the project it selects (same order).
    pub key_digests: Vec<Digest>,
    pub key_projects: Vec<String>,
    pub unknown_api_key: UnknownKey,
    pub routes: BTreeMap<String, String>,
    pub route_prefixes: BTreeMap<String, String>,
    pub logging: LoggingSpec,
    /// Every PII and secret detector (each policy's custom patterns aside), for masking log
    /// content whatever the policy runs: `(detector type, detector)`, sorted by type.
    pub log_maskers: Vec<(&'static str, std::sync::Arc<dyn Detector>)>,
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

/// One side's setting for detector `name`, or `None` when that side does not run it.
/// Level: the detector's, else the side's, else the policy's. Mode: the most specific of the
/// detector's, the side's, the policy's and the config's; `monitor` at any of them turns
/// enforcement off beneath it. An inherited `mask` falls back to `block` for a detector that
/// cannot mask; asking a detector itself to mask when it cannot is an error.
fn side_setting(
    name: &str,
    spec: &PolicySpec,
    side: Option<&SideSpec>,
    side_name: &str,
    field: &str,
    global: Mode,
) -> Result<Option<Setting>, ConfigError> {
    let (list, list_field): (&BTreeMap<String, DetectorSpec>, String) = match side.and_then(|s| s.detectors.as_ref()) {
        Some(d) => (d, format!("{field}.{side_name}.detectors")),
        None => (&spec.detectors, format!("{field}.detectors")),
    };
    let Some(dspec) = list.get(name) else { return Ok(None) };
    let side_sens = side.and_then(|s| s.sensitivity);
    let level = dspec.sensitivity.or(side_sens).unwrap_or(spec.sensitivity);
    let chain = [dspec.mode, side.and_then(|s| s.mode), spec.mode, Some(global)];
    let monitor = chain.contains(&Some(Mode::Monitor));
    let enforce = chain.iter().flatten().find(|m| **m != Mode::Monitor).copied().unwrap_or(Mode::Block);
    let action = match enforce {
        Mode::Mask if can_mask(name) => Action::Mask,
        Mode::Mask if dspec.mode == Some(Mode::Mask) => {
            return Err(err(
                format!("{list_field}.{name}.mode"),
                format!("{name} cannot mask (only pii/* detectors can); use \"block\" or \"monitor\""),
            ))
        }
        _ => Action::Block,
    };
    Ok(Some(Setting { level, action, monitor }))
}

fn side_mode(spec: &PolicySpec, side: Option<&SideSpec>, global: Mode) -> Mode {
    let chain = [side.and_then(|s| s.mode), spec.mode, Some(global)];
    if chain.contains(&Some(Mode::Monitor)) {
        return Mode::Monitor;
    }
    chain.into_iter().flatten().next().unwrap_or(Mode::Block)
}

fn compile_policy(id: &str, spec: &PolicySpec, field: &str, shared: &mut Shared, global: Mode) -> Result<Policy, ConfigError> {
    if spec.detectors.is_empty() {
        return Err(err(format!("{field}.detectors"), "a policy must enable at least one detector"));
    }
    let sides = [("input", spec.input.as_ref()), ("output", spec.output.as_ref())];
    // Every detector either side runs, with the field that names it (for errors).
    let mut names: BTreeMap<&String, String> = BTreeMap::new();
    for (side_name, side) in sides {
        match side.and_then(|s| s.detectors.as_ref()) {
            Some(list) => {
                for n in list.keys() {
                    names.entry(n).or_insert_with(|| format!("{field}.{side_name}.detectors.{n}"));
                }
            }
            None => {
                for n in spec.detectors.keys() {
                    names.entry(n).or_insert_with(|| format!("{field}.detectors.{n}"));
                }
            }
        }
    }
    // Detectors listed only at the top but replaced on both sides are still checked.
    for n in spec.detectors.keys() {
        if !detectors::is_known(n) {
            return Err(err(format!("{field}.detectors.{n}"), format!("unknown detector type {n:?}")));
        }
    }
    let custom_listed = names.contains_key(&"pii/custom".to_string());
    if !spec.custom_patterns.is_empty() && !custom_listed {
        return Err(err(format!("{field}.custom_patterns"), "custom patterns are given but `pii/custom` is not in `detectors`"));
    }
    if let Some(cf) = names.get(&"pii/custom".to_string()) {
        if spec.custom_patterns.is_empty() {
            return Err(err(cf.clone(), "`pii/custom` needs at least one entry in `custom_patterns`"));
        }
    }
    let mut detectors = Vec::with_capacity(names.len());
    for (name, dfield) in names {
        let dfield = dfield.clone();
        if !detectors::is_known(name) {
            return Err(err(dfield, format!("unknown detector type {name:?}")));
        }
        let (imp, head) = match detectors::build(name, spec, shared) {
            Ok(Built::Ready(d)) => (Some(d), None),
            Ok(Built::Model(h)) => (None, Some(h)),
            Ok(Built::Unavailable) => (None, None),
            // Messages that start with a sub-field name already locate themselves.
            Err(m) if m.starts_with("custom_patterns") || m.starts_with("allowed_domains") => {
                let (sub, msg) = m.split_once(": ").unwrap_or((m.as_str(), ""));
                return Err(err(format!("{field}.{sub}"), msg));
            }
            Err(m) => return Err(err(dfield, m)),
        };
        let input = side_setting(name, spec, spec.input.as_ref(), "input", field, global)?;
        let output = side_setting(name, spec, spec.output.as_ref(), "output", field, global)?;
        let level = input.or(output).map_or(spec.sensitivity, |s| s.level);
        detectors.push(PolicyDetector { detector_type: name.clone(), level, imp, head, input, output });
    }
    Ok(Policy {
        id: id.to_string(),
        description: spec.description.clone(),
        sensitivity: spec.sensitivity,
        detectors,
        fail_mode: spec.fail_mode.unwrap_or_default(),
        input_mode: side_mode(spec, spec.input.as_ref(), global),
        output_mode: side_mode(spec, spec.output.as_ref(), global),
    })
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
            let mut p = compile_policy(name, &tspec, &format!("<template {name}>"), &mut shared, spec.mode)?;
            p.fail_mode = spec.fail_mode;
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
            let mut p = compile_policy(name, pspec, &field, &mut shared, spec.mode)?;
            p.fail_mode = pspec.fail_mode.unwrap_or(spec.fail_mode);
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
        let mut key_digests: Vec<Digest> = Vec::with_capacity(spec.api_keys.len());
        let mut key_projects = Vec::with_capacity(spec.api_keys.len());
        for (i, k) in spec.api_keys.iter().enumerate() {
            let f = format!("api_keys[{i}]");
            // Messages never quote the key.
            let digest = match (&k.key, &k.key_sha256) {
                (Some(key), None) if !key.is_empty() => keys::sha256(key.as_bytes()),
                (Some(_), None) => return Err(err(format!("{f}.key"), "must not be empty")),
                (None, Some(hex)) => keys::parse_hex_digest(hex)
                    .ok_or_else(|| err(format!("{f}.key_sha256"), "must be 64 hex digits (the SHA-256 of the key)"))?,
                _ => return Err(err(f, "give exactly one of `key` and `key_sha256`")),
            };
            if key_digests.contains(&digest) {
                return Err(err(f, "the same key is listed twice"));
            }
            if !spec.projects.contains_key(&k.project) {
                return Err(err(format!("{f}.project"), format!("no project {:?} in `projects`", k.project)));
            }
            key_digests.push(digest);
            key_projects.push(k.project.clone());
        }
        for (route, project) in &spec.routes {
            if !spec.projects.contains_key(project) {
                return Err(err(format!("routes.{route}"), format!("no project {project:?} in `projects`")));
            }
        }
        for (prefix, route) in &spec.route_prefixes {
            if !prefix.starts_with('/') {
                return Err(err(format!("route_prefixes.{prefix}"), format!("{prefix:?} must start with '/'")));
            }
            if !spec.routes.contains_key(route) {
                return Err(err(format!("route_prefixes.{prefix}"), format!("no route {route:?} in `routes`")));
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
        let lg = &spec.logging;
        if lg.sink == LogSink::Http && lg.cluster.as_deref().is_none_or(|c| c.trim().is_empty()) {
            return Err(err("logging.cluster", "the http sink needs the Envoy cluster to send records to"));
        }
        if !lg.path.starts_with('/') {
            return Err(err("logging.path", format!("{:?} must start with '/'", lg.path)));
        }
        if lg.timeout_ms == 0 || lg.timeout_ms > 60_000 {
            return Err(err("logging.timeout_ms", "must be between 1 and 60000"));
        }
        let mut log_maskers = Vec::new();
        // These detectors read nothing from the policy; any spec will do.
        let any: PolicySpec = serde_json::from_str(r#"{"sensitivity":"L4","detectors":{}}"#).map_err(|e| err("", e.to_string()))?;
        for t in detectors::log_masked() {
            if let Ok(Built::Ready(d)) = detectors::build(t, &any, &mut shared) {
                log_maskers.push((t, d));
            }
        }
        if spec.max_response_bytes == 0 || spec.max_response_bytes > MAX_BODY_LIMIT {
            return Err(err("max_response_bytes", format!("must be between 1 and {MAX_BODY_LIMIT}")));
        }
        if spec.stream_hold_back > 65536 {
            return Err(err("stream_hold_back", "must be at most 65536 bytes"));
        }
        if spec.max_model_chars == 0 || spec.max_model_chars > MAX_BODY_LIMIT {
            return Err(err("max_model_chars", format!("must be between 1 and {MAX_BODY_LIMIT}")));
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
            max_model_chars: spec.max_model_chars,
            max_response_bytes: spec.max_response_bytes,
            default_policy: spec.default_policy.clone(),
            projects: spec.projects.clone(),
            policies,
            key_digests,
            key_projects,
            unknown_api_key: spec.unknown_api_key,
            routes: spec.routes.clone(),
            route_prefixes: spec.route_prefixes.clone(),
            logging: spec.logging.clone(),
            log_maskers,
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
    fn model_detectors_compile_to_model_heads() {
        let c = Config::compile(br#"{"require_all_detectors":true}"#).unwrap();
        assert!(c.unavailable_detectors().is_empty());
        let p = &c.policies["default"];
        assert!(p.uses_model());
        let pa = p.detectors.iter().find(|d| d.detector_type == "prompt_attack").unwrap();
        assert_eq!(pa.head, Some(0));
        assert!(pa.imp.is_none() && pa.available());
        let rules = Config::compile(br#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{}}}},"default_policy":"p"}"#).unwrap();
        assert!(!rules.policies["p"].uses_model());
        assert_eq!(field_of(r#"{"max_model_chars":0}"#), "max_model_chars");
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

    #[test]
    fn sides_resolve_level_and_mode_most_specific_first() {
        let c = Config::compile(
            br#"{"mode":"block","policies":{"p":{"sensitivity":"L1","mode":"mask",
                "detectors":{"pii/email":{"sensitivity":"L3"},"prompt_attack":{},"pii/ip_address":{"mode":"monitor"}},
                "input":{"sensitivity":"L2"},
                "output":{"mode":"monitor","sensitivity":"L4","detectors":{"pii/secret":{"mode":"block"}}}}}}"#,
        )
        .unwrap();
        let p = &c.policies["p"];
        let get = |t: &str| p.detectors.iter().find(|d| d.detector_type == t).unwrap();
        let s = |level, action, monitor| Some(Setting { level, action, monitor });
        // Detector level beats the side's; the side's beats the policy's.
        assert_eq!(get("pii/email").input, s(Level::L3, Action::Mask, false));
        // An inherited mask blocks for a detector that cannot mask.
        assert_eq!(get("prompt_attack").input, s(Level::L2, Action::Block, false));
        // Monitor at the detector: dry run of the policy's mask.
        assert_eq!(get("pii/ip_address").input, s(Level::L2, Action::Mask, true));
        // The output side lists its own detectors: only pii/secret runs there, monitored by the side.
        assert_eq!(get("pii/email").output, None);
        assert_eq!(get("pii/secret").input, None);
        assert_eq!(get("pii/secret").output, s(Level::L4, Action::Block, true));
        assert_eq!(p.detectors.len(), 4);
        // Templates follow the config's mode and fail mode.
        let m = Config::compile(br#"{"mode":"monitor","fail_mode":"open"}"#).unwrap();
        let d = &m.policies["default"];
        assert!(d.detectors.iter().all(|x| x.input.is_some_and(|s| s.monitor) && x.output.is_some_and(|s| s.monitor)));
        assert_eq!(d.fail_mode, FailMode::Open);
    }
}
