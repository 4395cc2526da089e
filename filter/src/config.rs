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
    /// Envoy: hold a held JSON response's headers until its body is screened (needs the
    /// plugin's `allow_on_headers_stop_iteration: true`, Envoy 1.35+).
    #[serde(default)]
    pub hold_response_headers: bool,
    /// Screening log records (`docs/observability.md`).
    #[serde(default)]
    pub logging: LoggingSpec,
    /// Long bodies' model windows scored by a Parapet scoring service (`parapet serve`).
    #[serde(default)]
    pub offload: Option<OffloadSpec>,
    /// Candidate policies screened beside the active one, logged, never enforced.
    #[serde(default)]
    pub shadow: ShadowSpec,
}

/// The `shadow` section: which candidate policy shadows which project's active policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShadowSpec {
    /// Shadows requests without a project (screened under `default_policy`).
    #[serde(default)]
    pub default: Option<String>,
    /// Project -> candidate policy.
    #[serde(default)]
    pub projects: BTreeMap<String, String>,
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

/// What a host does when the scoring service fails (timeout, error, unreachable, wrong model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffloadFallback {
    /// Screen the body in-process (cooperatively, a slice at a time).
    #[default]
    Local,
    /// Treat the body as unscreenable: the policy's `fail_mode` decides (refused when closed).
    FailMode,
}

/// The `offload` section: model windows of long bodies go to a scoring service.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OffloadSpec {
    /// Envoy: the cluster of the scoring service (required there; the worker uses its
    /// `SCORING` service binding or `SCORING_URL` instead).
    #[serde(default)]
    pub cluster: Option<String>,
    /// The `:authority` of the call (default: the cluster name).
    #[serde(default)]
    pub authority: Option<String>,
    #[serde(default = "default_offload_path")]
    pub path: String,
    /// How long a call may take before the fallback applies.
    #[serde(default = "default_offload_timeout")]
    pub timeout_ms: u32,
    /// Bodies with at least this many model windows are offloaded.
    #[serde(default = "default_offload_min")]
    pub min_windows: usize,
    #[serde(default)]
    pub fallback: OffloadFallback,
}

fn default_offload_path() -> String {
    crate::offload::SCORE_PATH.into()
}

fn default_offload_timeout() -> u32 {
    2000
}

fn default_offload_min() -> usize {
    crate::model::SLICE_WINDOWS + 1
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
    /// The input side's level (else the tool side's, else the output side's).
    pub level: Level,
    /// A rule detector; `None` for a model head or a detector this build cannot run.
    pub imp: Option<std::sync::Arc<dyn Detector>>,
    /// A head of the guard model (index into [`crate::model::HEADS`]).
    pub head: Option<usize>,
    /// `None`: not run on user messages (and on tool messages unless `tool` says otherwise).
    pub input: Option<Setting>,
    /// `None`: not run on outputs (assistant messages).
    pub output: Option<Setting>,
    /// `None`: not run on tool messages (tool results, documents): `tool` over `input`.
    pub tool: Option<Setting>,
}

impl PolicyDetector {
    /// Its settings on the input side of a request: user messages, then tool messages.
    pub fn input_settings(&self) -> impl Iterator<Item = Setting> {
        [self.input, self.tool].into_iter().flatten()
    }

    pub fn available(&self) -> bool {
        self.imp.is_some() || self.head.is_some()
    }
}

pub struct Policy {
    pub id: String,
    /// A digest of everything that decides this policy's verdicts (its spec, the config's mode
    /// and its fail mode), e.g. `pv-3f9a0c21d4e8`: verdicts and logs name the exact version.
    pub version: String,
    pub description: String,
    pub sensitivity: Level,
    /// Sorted by detector type, so verdicts list detectors in a fixed order.
    pub detectors: Vec<PolicyDetector>,
    pub fail_mode: FailMode,
    /// The mode of each side as configured (policy side, policy, config; `monitor` anywhere
    /// wins), for logs; detectors may still override it.
    pub input_mode: Mode,
    pub output_mode: Mode,
    /// The threat posture the policy keeps, if any.
    pub posture: Option<crate::posture::PostureSpec>,
    /// The first stage's pass share in percent (`PolicySpec::first_stage`), if on.
    pub first_stage: Option<u8>,
    /// The policy as the posture runs it from `scoped` up (sensitivity tightened).
    pub scoped: Option<Box<Policy>>,
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
    /// Envoy holds a held JSON response's headers until its body is screened.
    pub hold_response_headers: bool,
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
    pub offload: Option<OffloadSpec>,
    /// Every PII and secret detector (each policy's custom patterns aside), for masking log
    /// content whatever the policy runs: `(detector type, detector)`, sorted by type.
    pub log_maskers: Vec<(&'static str, std::sync::Arc<dyn Detector>)>,
    pub shadow: ShadowSpec,
}

/// Sets what depends on the config around a policy, on its tightened variant too.
fn finish_policy(p: &mut Policy, fail: FailMode, version: String) {
    if let Some(s) = p.scoped.as_mut() {
        s.fail_mode = fail;
        s.version.clone_from(&version);
    }
    p.fail_mode = fail;
    p.version = version;
}

/// `pv-` and 12 hex digits of the SHA-256 of the policy as written (canonical JSON: maps are
/// sorted) with the config-wide settings that change its verdicts. Templates are versioned the
/// same way, so an upgrade that changes a template changes its version.
fn policy_version(spec: &PolicySpec, mode: Mode, fail: FailMode) -> String {
    let canonical = serde_json::json!({ "policy": spec, "mode": mode, "fail_mode": fail }).to_string();
    let digest = keys::sha256(canonical.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("pv-{hex}")
}

fn parse_spec(json: &[u8]) -> Result<ConfigSpec, ConfigError> {
    let text = std::str::from_utf8(json).map_err(|e| err("", format!("not UTF-8 (byte {})", e.valid_up_to())))?;
    let text = if text.trim().is_empty() { "{}" } else { text };
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        // The root (".") and a position serde cannot name ("?", a syntax error) are no field.
        let field = if path == "." || path == "?" { String::new() } else { path };
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

/// Compiles one policy; its problems go to `errs` (all of them, each naming its field), and
/// `None` comes back when there was any.
fn compile_policy(id: &str, spec: &PolicySpec, field: &str, shared: &mut Shared, global: Mode, errs: &mut Vec<ConfigError>) -> Option<Policy> {
    let before = errs.len();
    if spec.detectors.is_empty() {
        errs.push(err(format!("{field}.detectors"), "a policy must enable at least one detector"));
    }
    // Tool messages take `tool`'s fields over `input`'s; errors name where a list came from.
    let tool = spec.tool_side();
    let tool_name = if spec.tool.as_ref().is_some_and(|t| t.detectors.is_some()) { "tool" } else { "input" };
    let sides = [("input", spec.input.as_ref()), ("output", spec.output.as_ref()), (tool_name, tool.as_ref())];
    // Every detector any side runs, with the field that names it (for errors).
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
        if !detectors::is_known(n) && names.get(n).is_none_or(|f| *f != format!("{field}.detectors.{n}")) {
            errs.push(err(format!("{field}.detectors.{n}"), format!("unknown detector type {n:?}")));
        }
    }
    let custom_listed = names.contains_key(&"pii/custom".to_string());
    if !spec.custom_patterns.is_empty() && !custom_listed {
        errs.push(err(format!("{field}.custom_patterns"), "custom patterns are given but `pii/custom` is not in `detectors`"));
    }
    if let Some(cf) = names.get(&"pii/custom".to_string()) {
        if spec.custom_patterns.is_empty() {
            errs.push(err(cf.clone(), "`pii/custom` needs at least one entry in `custom_patterns`"));
        }
    }
    let mut detectors = Vec::with_capacity(names.len());
    for (name, dfield) in names {
        let dfield = dfield.clone();
        if !detectors::is_known(name) {
            errs.push(err(dfield, format!("unknown detector type {name:?}")));
            continue;
        }
        let (imp, head) = match detectors::build(name, spec, shared) {
            Ok(Built::Ready(d)) => (Some(d), None),
            Ok(Built::Model(h)) => (None, Some(h)),
            Ok(Built::Unavailable) => (None, None),
            // Messages that start with a sub-field name already locate themselves.
            Err(m) if m.starts_with("custom_patterns") || m.starts_with("allowed_domains") => {
                let (sub, msg) = m.split_once(": ").unwrap_or((m.as_str(), ""));
                errs.push(err(format!("{field}.{sub}"), msg));
                continue;
            }
            Err(m) => {
                errs.push(err(dfield, m));
                continue;
            }
        };
        let input = side_setting(name, spec, spec.input.as_ref(), "input", field, global);
        let output = side_setting(name, spec, spec.output.as_ref(), "output", field, global);
        let tool_setting = side_setting(name, spec, tool.as_ref(), tool_name, field, global);
        let (input, output, tool_setting) = match (input, output, tool_setting) {
            (Ok(i), Ok(o), Ok(t)) => (i, o, t),
            (i, o, t) => {
                let i = i.err();
                // A list the tool side inherits from `input` fails there once, not twice.
                let t = t.err().filter(|t| i.as_ref() != Some(t));
                errs.extend(i);
                errs.extend(o.err());
                errs.extend(t);
                continue;
            }
        };
        let level = input.or(tool_setting).or(output).map_or(spec.sensitivity, |s| s.level);
        detectors.push(PolicyDetector { detector_type: name.clone(), level, imp, head, input, output, tool: tool_setting });
    }
    if let Some(pct) = spec.first_stage {
        let ffield = format!("{field}.first_stage");
        if !crate::model::gate::PASS_CHOICES.contains(&pct) {
            errs.push(err(ffield, format!("{pct} is not a calibrated cut-off; use 30, 20 or 10 (percent of benign windows passed to the transformer)")));
        } else if !detectors.iter().any(|d| d.head == Some(0)) {
            errs.push(err(ffield, "the first stage gates `prompt_attack`, which this policy does not run"));
        } else if let Some(d) = detectors.iter().find(|d| d.head.is_some_and(|h| h != 0)) {
            errs.push(err(
                ffield,
                format!("a window the first stage skips skips every model head, and it is trained for prompt_attack only: remove {} or first_stage", d.detector_type),
            ));
        }
    }
    let mut scoped = None;
    if let Some(ps) = &spec.posture {
        let problems = ps.validate();
        if problems.is_empty() {
            // The tightened variant only raises levels: it has no problem the policy lacks.
            let mut ignored = Vec::new();
            scoped = compile_policy(id, &spec.tightened(ps.scoped_sensitivity), field, shared, global, &mut ignored).map(Box::new);
        }
        errs.extend(problems.into_iter().map(|(sub, msg)| err(format!("{field}.posture.{sub}"), msg)));
    }
    if errs.len() > before {
        return None;
    }
    Some(Policy {
        id: id.to_string(),
        version: String::new(),
        posture: spec.posture.clone(),
        scoped,
        description: spec.description.clone(),
        sensitivity: spec.sensitivity,
        detectors,
        fail_mode: spec.fail_mode.unwrap_or_default(),
        input_mode: side_mode(spec, spec.input.as_ref(), global),
        output_mode: side_mode(spec, spec.output.as_ref(), global),
        first_stage: spec.first_stage,
    })
}

/// The parse errors of a config document, all of them: each failing field is reported, taken
/// out of the document, and the document parsed again (at most this many times).
const MAX_PARSE_ERRORS: usize = 64;

/// One step of a field path, in the original document's coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for s in path {
        match s {
            Seg::Key(k) if out.is_empty() => out.push_str(k),
            Seg::Key(k) => {
                out.push('.');
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A config document parsed with every unparsable field taken out.
struct Salvaged {
    /// What is left, when it parses.
    spec: Option<ConfigSpec>,
    errors: Vec<ConfigError>,
    /// Policies taken out (they exist, with errors of their own).
    broken_policies: Vec<String>,
    /// Arrays that lost elements: later errors inside them would carry shifted indices.
    shifted: Vec<String>,
}

/// Parses a config document, reporting every field that does not parse (not just the first).
fn parse_spec_all(json: &[u8]) -> Salvaged {
    let mut out = Salvaged { spec: None, errors: Vec::new(), broken_policies: Vec::new(), shifted: Vec::new() };
    let text = match std::str::from_utf8(json) {
        Ok(t) if t.trim().is_empty() => "{}",
        Ok(t) => t,
        Err(e) => {
            out.errors.push(err("", format!("not UTF-8 (byte {})", e.valid_up_to())));
            return out;
        }
    };
    // Syntax errors end parsing: nothing after them can be read.
    let mut doc: serde_json::Value = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            out.errors.push(err("", e.to_string()));
            return out;
        }
    };
    // Array elements taken out so far: (the array's path, original index), to report later
    // errors at the index the author wrote.
    let mut removed: Vec<(Vec<Seg>, usize)> = Vec::new();
    // Paths whose children were taken out: their "missing field" is a consequence, not news.
    let mut emptied: Vec<Vec<Seg>> = Vec::new();
    for _ in 0..MAX_PARSE_ERRORS {
        let e = match serde_path_to_error::deserialize::<_, ConfigSpec>(&doc) {
            Ok(spec) => {
                out.spec = Some(spec);
                return out;
            }
            Err(e) => e,
        };
        let mut orig: Vec<Seg> = Vec::new();
        let mut cur: Vec<Seg> = Vec::new();
        let mut known = true;
        for seg in e.path().iter() {
            match seg {
                serde_path_to_error::Segment::Map { key } => {
                    orig.push(Seg::Key(key.clone()));
                    cur.push(Seg::Key(key.clone()));
                }
                serde_path_to_error::Segment::Seq { index } => {
                    let gone: Vec<usize> = removed.iter().filter(|(p, _)| *p == orig).map(|(_, i)| *i).collect();
                    let original = (0..).filter(|i| !gone.contains(i)).nth(*index).unwrap_or(*index);
                    orig.push(Seg::Index(original));
                    cur.push(Seg::Index(*index));
                }
                _ => known = false,
            }
        }
        let message = e.inner().to_string();
        let consequence = message.starts_with("missing field") && emptied.contains(&orig);
        if !consequence {
            out.errors.push(err(path_string(&orig), message));
        }
        // Take the failing field out and try again; at the root there is nothing left to try.
        if !known || cur.is_empty() || !remove_at(&mut doc, &cur) {
            return out;
        }
        if let [Seg::Key(p), Seg::Key(name)] = orig.as_slice() {
            if p == "policies" {
                out.broken_policies.push(name.clone());
            }
        }
        if let Some((last, parent)) = orig.split_last() {
            if let Seg::Index(i) = last {
                removed.push((parent.to_vec(), *i));
                out.shifted.push(path_string(parent));
            }
            emptied.push(parent.to_vec());
        }
    }
    out
}

/// Removes the value at `path` from `doc`; false if it is not there.
fn remove_at(doc: &mut serde_json::Value, path: &[Seg]) -> bool {
    let Some((last, parent)) = path.split_last() else { return false };
    let mut v = doc;
    for s in parent {
        let next = match s {
            Seg::Key(k) => v.get_mut(k.as_str()),
            Seg::Index(i) => v.get_mut(*i),
        };
        let Some(n) = next else { return false };
        v = n;
    }
    match (last, v) {
        (Seg::Key(k), serde_json::Value::Object(m)) => m.remove(k).is_some(),
        (Seg::Index(i), serde_json::Value::Array(a)) if *i < a.len() => {
            a.remove(*i);
            true
        }
        _ => false,
    }
}

impl Config {
    pub fn compile(json: &[u8]) -> Result<Config, ConfigError> {
        let spec = parse_spec(json)?;
        Config::from_spec(&spec)
    }

    /// Every problem with a config document at once, each naming its field (what `parapet
    /// policy lint` prints); empty when the config compiles.
    pub fn lint(json: &[u8]) -> Vec<ConfigError> {
        // The compiler is the judge: what it accepts has no problem, and its error is always
        // among those reported (a duplicate key, say, is seen only by the text parser).
        let first = match Config::compile(json) {
            Ok(_) => return Vec::new(),
            Err(e) => e,
        };
        let mut errors = Config::salvage(json);
        if !errors.iter().any(|e| e.field == first.field) {
            errors.insert(0, first);
        }
        errors
    }

    /// Every problem found by parsing with unparsable fields taken out, then compiling.
    fn salvage(json: &[u8]) -> Vec<ConfigError> {
        let s = parse_spec_all(json);
        let mut errors = s.errors;
        if let Some(spec) = s.spec {
            let semantic = Config::compile_all(&spec, &s.broken_policies).err().unwrap_or_default();
            // Inside an array that lost elements, indices no longer match the document.
            let shifted = |f: &str| s.shifted.iter().any(|a| f.strip_prefix(a.as_str()).is_some_and(|r| r.starts_with('[')));
            errors.extend(semantic.into_iter().filter(|e| !shifted(&e.field)));
        }
        errors
    }

    /// Compiles a parsed config; the first problem found.
    pub fn from_spec(spec: &ConfigSpec) -> Result<Config, ConfigError> {
        Config::from_spec_all(spec).map_err(|mut v| if v.is_empty() { err("", "invalid config") } else { v.swap_remove(0) })
    }

    /// Compiles a parsed config; all its problems.
    pub fn from_spec_all(spec: &ConfigSpec) -> Result<Config, Vec<ConfigError>> {
        Config::compile_all(spec, &[])
    }

    /// [`Config::from_spec_all`]; `broken`: policies that exist but did not parse (references
    /// to them are not errors of their own).
    fn compile_all(spec: &ConfigSpec, broken: &[String]) -> Result<Config, Vec<ConfigError>> {
        let mut errs: Vec<ConfigError> = Vec::new();
        let mut shared = Shared::default();
        let mut policies = BTreeMap::new();
        for (name, text) in TEMPLATES {
            let tspec: PolicySpec = match serde_json::from_str(text) {
                Ok(t) => t,
                Err(e) => {
                    errs.push(err(format!("<template {name}>"), e.to_string()));
                    continue;
                }
            };
            if let Some(mut p) = compile_policy(name, &tspec, &format!("<template {name}>"), &mut shared, spec.mode, &mut errs) {
                finish_policy(&mut p, spec.fail_mode, policy_version(&tspec, spec.mode, spec.fail_mode));
                policies.insert(name.to_string(), p);
            }
        }
        // Names that exist, compiled or not: references to a policy with errors of its own are
        // not reported again.
        let mut named: Vec<&str> = TEMPLATES.iter().map(|(n, _)| *n).chain(broken.iter().map(String::as_str)).collect();
        for (name, pspec) in &spec.policies {
            let field = format!("policies.{name}");
            if name.trim().is_empty() {
                errs.push(err("policies", "a policy name must not be empty"));
                continue;
            }
            if TEMPLATES.iter().any(|(t, _)| t == name) {
                errs.push(err(field, format!("{name:?} is a built-in template; give your policy another name")));
                continue;
            }
            named.push(name);
            if let Some(mut p) = compile_policy(name, pspec, &field, &mut shared, spec.mode, &mut errs) {
                let fail = pspec.fail_mode.unwrap_or(spec.fail_mode);
                finish_policy(&mut p, fail, policy_version(pspec, spec.mode, fail));
                policies.insert(name.clone(), p);
            }
        }
        let exists = |n: &str| named.contains(&n);
        if !exists(&spec.default_policy) {
            errs.push(err("default_policy", format!("no policy named {:?}", spec.default_policy)));
        }
        for (project, policy) in &spec.projects {
            if project.is_empty() {
                errs.push(err("projects", "a project id must not be empty"));
            } else if !exists(policy) {
                errs.push(err(format!("projects.{project}"), format!("no policy named {policy:?}")));
            }
        }
        if let Some(name) = &spec.shadow.default {
            if !exists(name) {
                errs.push(err("shadow.default", format!("no policy named {name:?}")));
            }
        }
        for (project, name) in &spec.shadow.projects {
            if !spec.projects.contains_key(project) {
                errs.push(err(format!("shadow.projects.{project}"), format!("no project {project:?} in `projects`")));
            } else if !exists(name) {
                errs.push(err(format!("shadow.projects.{project}"), format!("no policy named {name:?}")));
            }
        }
        let mut key_digests: Vec<Digest> = Vec::with_capacity(spec.api_keys.len());
        let mut key_projects = Vec::with_capacity(spec.api_keys.len());
        for (i, k) in spec.api_keys.iter().enumerate() {
            let f = format!("api_keys[{i}]");
            // Messages never quote the key.
            let digest = match (&k.key, &k.key_sha256) {
                (Some(key), None) if !key.is_empty() => Some(keys::sha256(key.as_bytes())),
                (Some(_), None) => {
                    errs.push(err(format!("{f}.key"), "must not be empty"));
                    None
                }
                (None, Some(hex)) => {
                    let d = keys::parse_hex_digest(hex);
                    if d.is_none() {
                        errs.push(err(format!("{f}.key_sha256"), "must be 64 hex digits (the SHA-256 of the key)"));
                    }
                    d
                }
                _ => {
                    errs.push(err(f.clone(), "give exactly one of `key` and `key_sha256`"));
                    None
                }
            };
            if !spec.projects.contains_key(&k.project) {
                errs.push(err(format!("{f}.project"), format!("no project {:?} in `projects`", k.project)));
            }
            let Some(digest) = digest else { continue };
            if key_digests.contains(&digest) {
                errs.push(err(f, "the same key is listed twice"));
                continue;
            }
            key_digests.push(digest);
            key_projects.push(k.project.clone());
        }
        for (route, project) in &spec.routes {
            if !spec.projects.contains_key(project) {
                errs.push(err(format!("routes.{route}"), format!("no project {project:?} in `projects`")));
            }
        }
        for (prefix, route) in &spec.route_prefixes {
            if !prefix.starts_with('/') {
                errs.push(err(format!("route_prefixes.{prefix}"), format!("{prefix:?} must start with '/'")));
            } else if !spec.routes.contains_key(route) {
                errs.push(err(format!("route_prefixes.{prefix}"), format!("no route {route:?} in `routes`")));
            }
        }
        if spec.require_all_detectors {
            let in_use = std::iter::once(("default_policy".to_string(), &spec.default_policy))
                .chain(spec.projects.iter().map(|(k, v)| (format!("projects.{k}"), v)));
            for (user, name) in in_use {
                let missing = policies.get(name.as_str()).map(Policy::unavailable).unwrap_or_default();
                if !missing.is_empty() {
                    errs.push(err(
                        "require_all_detectors",
                        format!("policy {name:?} (used by {user}) runs {}, which this build lacks", missing.join(", ")),
                    ));
                }
            }
        }
        if spec.max_body_bytes == 0 || spec.max_body_bytes > MAX_BODY_LIMIT {
            errs.push(err("max_body_bytes", format!("must be between 1 and {MAX_BODY_LIMIT}")));
        }
        let lg = &spec.logging;
        if lg.sink == LogSink::Http && lg.cluster.as_deref().is_none_or(|c| c.trim().is_empty()) {
            errs.push(err("logging.cluster", "the http sink needs the Envoy cluster to send records to"));
        }
        if !lg.path.starts_with('/') {
            errs.push(err("logging.path", format!("{:?} must start with '/'", lg.path)));
        }
        if lg.timeout_ms == 0 || lg.timeout_ms > 60_000 {
            errs.push(err("logging.timeout_ms", "must be between 1 and 60000"));
        }
        if let Some(o) = &spec.offload {
            if o.cluster.as_deref().is_some_and(|c| c.trim().is_empty()) {
                errs.push(err("offload.cluster", "must name the Envoy cluster of the scoring service"));
            }
            if !o.path.starts_with('/') {
                errs.push(err("offload.path", format!("{:?} must start with '/'", o.path)));
            }
            if o.timeout_ms == 0 || o.timeout_ms > 60_000 {
                errs.push(err("offload.timeout_ms", "must be between 1 and 60000"));
            }
            if o.min_windows == 0 {
                errs.push(err("offload.min_windows", "must be at least 1"));
            }
        }
        let mut log_maskers = Vec::new();
        // These detectors read nothing from the policy; any spec will do.
        match serde_json::from_str::<PolicySpec>(r#"{"sensitivity":"L4","detectors":{}}"#) {
            Ok(any) => {
                for t in detectors::log_masked() {
                    if let Ok(Built::Ready(d)) = detectors::build(t, &any, &mut shared) {
                        log_maskers.push((t, d));
                    }
                }
            }
            Err(e) => errs.push(err("", e.to_string())),
        }
        if spec.max_response_bytes == 0 || spec.max_response_bytes > MAX_BODY_LIMIT {
            errs.push(err("max_response_bytes", format!("must be between 1 and {MAX_BODY_LIMIT}")));
        }
        if spec.stream_hold_back > 65536 {
            errs.push(err("stream_hold_back", "must be at most 65536 bytes"));
        }
        if spec.max_model_chars == 0 || spec.max_model_chars > MAX_BODY_LIMIT {
            errs.push(err("max_model_chars", format!("must be between 1 and {MAX_BODY_LIMIT}")));
        }
        if spec.max_messages == 0 {
            errs.push(err("max_messages", "must be at least 1"));
        }
        let header = spec.project_header.to_ascii_lowercase();
        if header.is_empty() || !header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            errs.push(err("project_header", "must be a non-empty HTTP header name (letters, digits, '-', '_')"));
        }
        for (field, path) in spec.guard_path.iter().map(|p| ("guard_path".to_string(), p)).chain(
            spec.api_paths.keys().map(|p| (format!("api_paths.{p}"), p)),
        ) {
            if !path.starts_with('/') {
                errs.push(err(field, format!("{path:?} must start with '/'")));
            }
        }
        if !errs.is_empty() {
            return Err(errs);
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
            hold_response_headers: spec.hold_response_headers,
            default_policy: spec.default_policy.clone(),
            projects: spec.projects.clone(),
            policies,
            key_digests,
            key_projects,
            unknown_api_key: spec.unknown_api_key,
            routes: spec.routes.clone(),
            route_prefixes: spec.route_prefixes.clone(),
            logging: spec.logging.clone(),
            offload: spec.offload.clone(),
            log_maskers,
            shadow: spec.shadow.clone(),
        })
    }

    /// The posture endpoint: `posture` beside the guard endpoint (`/v2/guard` → `/v2/posture`);
    /// `None` when the guard endpoint is off.
    pub fn posture_path(&self) -> Option<String> {
        let g = self.guard_path.as_deref()?;
        let (dir, _) = g.rsplit_once('/')?;
        Some(format!("{dir}/posture"))
    }

    /// Projects whose policy keeps a threat posture, sorted (`None` first: requests without a
    /// project, when the default policy keeps one).
    pub fn posture_projects(&self) -> Vec<Option<String>> {
        let keeps = |name: &str| self.policies.get(name).is_some_and(|p| p.posture.is_some());
        let default = keeps(&self.default_policy).then_some(None);
        default.into_iter().chain(self.projects.iter().filter(|(_, pol)| keeps(pol)).map(|(k, _)| Some(k.clone()))).collect()
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
mod tests;
