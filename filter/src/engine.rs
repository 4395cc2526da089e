//! Screening: a request, a policy, a verdict; and the HTTP-shaped entry points hosts call.
//!
//! Hosts pass bytes in and get a status and bytes out ([`Guard::guard_http`]), or a decision for
//! a proxied LLM API request ([`Guard::decide_request`]) in one of the [`Format`]s. Everything that decides the answer lives
//! here, so the Envoy filter, the worker and the wasmtime host cannot drift apart.

use serde::Serialize;

use crate::api::{
    BreakdownEntry, DevInfo, GuardRequest, GuardResponse, Message, PayloadEntry, ResponseMetadata, Role,
};
use std::collections::BTreeSet;

use crate::config::{Action, Config, ConfigError, FailMode, Policy, Setting, UnknownKey};
use crate::detectors::Finding;
use crate::error::ApiError;
use crate::formats::{self, Format};
use crate::model::{HeadScore, Reading, Scores};
use crate::text::{encoded_runs, CharIndex, EncodedRun, NormText};
use crate::{keys, mask};

/// What the host knows about the request besides its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestCtx<'a> {
    /// Value of the configured project header, if the request had one.
    pub project: Option<&'a str>,
    /// The host's request id (Envoy's `x-request-id`), echoed as `metadata.request_uuid`.
    pub request_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn error(e: &ApiError) -> HttpReply {
        HttpReply { status: e.status, body: e.to_json() }
    }
}

/// The outcome of screening one interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub flagged: bool,
    pub project_id: Option<String>,
    pub policy_id: String,
    /// The policy's version ([`Policy::version`]).
    pub policy_version: String,
    /// Detector types that detected, sorted, without repeats.
    pub detected: Vec<String>,
    pub payload: Vec<PayloadEntry>,
    pub breakdown: Vec<BreakdownEntry>,
    pub unavailable: Vec<String>,
    /// What each detected type's setting does with its findings, sorted. A type can appear
    /// twice when its input and output settings differ.
    pub acts: Vec<(Act, String)>,
    /// Why a detector failed ([`Act::Failed`]), when the failure has a more precise answer
    /// than `detector_failed` (the guard model's input over `max_model_chars`).
    pub failure: Option<ApiError>,
}

/// What a detection leads to under its detector's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Act {
    Block,
    Mask,
    /// Monitored: would have blocked.
    WouldBlock,
    /// Monitored: would have masked.
    WouldMask,
    /// The detector failed to run: the request is unscreenable (the policy's `fail_mode`).
    Failed,
}

impl Verdict {
    /// The detector types with act `a`, sorted.
    pub fn acted(&self, a: Act) -> Vec<String> {
        self.acts.iter().filter(|(x, _)| *x == a).map(|(_, t)| t.clone()).collect()
    }

    pub fn any(&self, a: Act) -> bool {
        self.acts.iter().any(|(x, _)| *x == a)
    }
}

pub struct Guard {
    config: Config,
}

/// How a proxied request ended, for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Screened, nothing detected: forwarded.
    Clean,
    /// Screened, detected, forwarded because the mode is `monitor`.
    Flagged,
    /// Screened, detected, refused with 403.
    Blocked,
    /// Could not be screened (bad body, too large, unknown project) and refused: fail closed.
    Rejected,
    /// Could not be screened and forwarded anyway: fail open.
    FailedOpen,
    /// Screened, findings replaced with tokens, the rewritten body forwarded.
    Masked,
    /// Answered with a clarifying reply (posture `inquiry`), not forwarded.
    Inquiry,
    /// Answered `202` with a review id (posture `deferral`), not forwarded.
    Deferred,
    /// Refused because the project is in posture `refusal`.
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Clean => "clean",
            Outcome::Flagged => "flagged",
            Outcome::Blocked => "blocked",
            Outcome::Rejected => "rejected",
            Outcome::FailedOpen => "failed_open",
            Outcome::Masked => "masked",
            Outcome::Inquiry => "inquiry",
            Outcome::Deferred => "deferred",
            Outcome::Refused => "refused",
        }
    }
}

/// What a proxying host does with a request it screened.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyDecision {
    /// `Some`: answer the client with this and do not forward.
    pub reply: Option<HttpReply>,
    /// Headers for the response the client gets when the request is forwarded.
    pub response_headers: Vec<(&'static str, String)>,
    pub outcome: Outcome,
    /// Detector types that detected (empty unless screened).
    pub detected: Vec<String>,
    /// `Some`: forward this body instead of the original (mask mode); its length differs, so
    /// the host must update `content-length`.
    pub body: Option<Vec<u8>>,
    /// The verdict behind the decision, when screening ran (for the log record).
    pub verdict: Option<Verdict>,
    /// Why the body could not be screened (rejected or failed open).
    pub error: Option<ApiError>,
    /// Headers of the local reply besides `content-type: application/json` (a `content-type`
    /// here replaces it).
    pub reply_headers: Vec<(&'static str, String)>,
    /// What the project's posture did ([`Guard::decide_request_governed`]).
    pub posture: Option<crate::govern::PostureNote>,
    /// The shadow policy's verdict, for the log only.
    pub shadow: Option<crate::govern::ShadowNote>,
    /// Tools the response must not call (posture `scoped` and up).
    pub forbidden_tools: Vec<String>,
}

impl ProxyDecision {
    fn new(reply: Option<HttpReply>, response_headers: Vec<(&'static str, String)>, outcome: Outcome, verdict: Option<Verdict>, error: Option<ApiError>) -> ProxyDecision {
        ProxyDecision {
            reply,
            response_headers,
            outcome,
            detected: verdict.as_ref().map(|v| v.detected.clone()).unwrap_or_default(),
            body: None,
            verdict,
            error,
            reply_headers: Vec::new(),
            posture: None,
            shadow: None,
            forbidden_tools: Vec::new(),
        }
    }

    /// The log view of this decision about a request (`Direction::Input`) or a response.
    pub fn screening(&self, format: Format, direction: crate::log::Direction, project: Option<&str>) -> crate::log::Screening {
        crate::log::Screening {
            kind: crate::log::Kind::Api,
            direction,
            format: Some(format),
            project: project.map(str::to_string),
            outcome: self.outcome,
            detected: self.detected.clone(),
            verdict: self.verdict.clone(),
            error: self.error.clone(),
            posture: self.posture.as_ref().map(crate::govern::PostureNote::summary),
            shadow: self.shadow.clone(),
        }
    }
}

/// Who is calling, as the host sees it: the inputs of project selection ([`Guard::identify`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Caller<'a> {
    /// The host's route name (Envoy: the `xds.route_name` property).
    pub route: Option<&'a str>,
    /// Request path, for `route_prefixes` (hosts without named routes).
    pub path: &'a str,
    pub authorization: Option<&'a str>,
    pub x_api_key: Option<&'a str>,
    pub api_key: Option<&'a str>,
    /// Value of `project_header`.
    pub project_header: Option<&'a str>,
}

/// Where the project came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectSource {
    Route,
    ApiKey,
    Header,
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `None`: the default policy.
    pub project: Option<String>,
    pub source: ProjectSource,
}

impl Identity {
    /// Route and key bindings are the operator's: a client cannot pick another project.
    pub fn pinned(&self) -> bool {
        matches!(self.source, ProjectSource::Route | ProjectSource::ApiKey)
    }
}

/// Response header: `true` when the request was flagged (monitor mode lets it through).
pub const HEADER_FLAGGED: &str = "x-parapet-flagged";
/// Response header: the detector types that fired, comma-separated.
pub const HEADER_DETECTORS: &str = "x-parapet-detectors";
/// Response header: set when the request could not be screened and fail-open let it through.
pub const HEADER_FAILED_OPEN: &str = "x-parapet-failed-open";
/// Response header: detector types whose findings were replaced in the forwarded body.
pub const HEADER_MASKED: &str = "x-parapet-masked";
/// Response header: monitored detector types that would have blocked.
pub const HEADER_WOULD_BLOCK: &str = "x-parapet-would-block";
/// Response header: monitored detector types that would have masked.
pub const HEADER_WOULD_MASK: &str = "x-parapet-would-mask";

/// The setting a detector applies to a message of `role` (assistant text is output; tool
/// results have the tool side, which defaults to the input side).
fn side(d: &crate::config::PolicyDetector, role: crate::api::Role) -> Option<Setting> {
    match role {
        crate::api::Role::Assistant => d.output,
        crate::api::Role::Tool => d.tool,
        _ => d.input,
    }
}

/// How the guard model reads a message of `role`: tool results (and what the request formats
/// map to them) as documents, with the calibration's document thresholds; the rest as prompts.
fn reading_of(role: Role) -> Reading {
    match role {
        Role::Tool => Reading::Document,
        _ => Reading::Prompt,
    }
}

/// A detector could not run: the request was not fully screened.
pub(crate) fn detector_failed(v: &Verdict) -> ApiError {
    v.failure.clone().unwrap_or_else(|| ApiError::new(500, "detector_failed", format!("detector {} failed to run", v.acted(Act::Failed).join(", "))))
}

/// A finding as a code-point span of the original message.
pub(crate) struct Located {
    pub start: usize,
    pub end: usize,
    pub level: crate::policy::Level,
    pub labels: Vec<String>,
}

/// `imp`'s findings in a message (`norm`) and in the base64/hex runs of it that decode to text
/// (`runs`). A finding inside a run covers the whole run and gains the encoding as a label.
pub(crate) fn locate(imp: &dyn crate::detectors::Detector, norm: &NormText, runs: &[EncodedRun], findings: &mut Vec<Finding>) -> Result<Vec<Located>, String> {
    findings.clear();
    imp.try_scan(norm, findings)?;
    let mut out: Vec<Located> = findings
        .drain(..)
        .map(|f| {
            let (start, end) = norm.orig_span(f.start, f.end);
            Located { start, end, level: f.level, labels: f.labels }
        })
        .collect();
    for run in runs {
        imp.try_scan(&run.decoded, findings)?;
        for f in findings.drain(..) {
            let mut labels = f.labels;
            labels.push(run.encoding.to_string());
            out.push(Located { start: run.start, end: run.end, level: f.level, labels });
        }
    }
    Ok(out)
}

fn detector_id(detector_type: &str) -> String {
    format!("parapet-{}", detector_type.replace(['/', '_'], "-"))
}

/// A stable request id when the host gives none: derived from the body, so the same request
/// gets the same id in every runtime (no clock, no randomness).
pub(crate) fn derived_uuid(body: &[u8]) -> String {
    // Two FNV-1a 64 passes with different offsets give 128 bits; not cryptographic, only an id.
    let fnv = |seed: u64| body.iter().fold(seed, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3));
    let a = fnv(0xcbf2_9ce4_8422_2325);
    let b = fnv(0x6c62_272e_07bb_0142);
    // Shape it as an RFC 9562 version-8 (custom) UUID.
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x8000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffff_ffff_ffff)
}

pub(crate) fn request_uuid(ctx: &RequestCtx, body: &[u8]) -> String {
    match ctx.request_id {
        Some(id) if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) => id.to_string(),
        _ => derived_uuid(body),
    }
}

/// The gate cut-off of a policy's fast first stage (`first_stage`: its pass share in percent).
fn stage_cutoff(model: &crate::model::Model, first_stage: Option<u8>) -> Result<Option<i64>, ApiError> {
    first_stage
        .map(|p| model.gate.cutoff(p).ok_or_else(|| ApiError::new(500, "model_failed", format!("no first-stage cut-off for {p}%"))))
        .transpose()
}

/// The texts the guard model scores: the latest interaction (the last user message and
/// everything after it), non-context messages only, normalised.
fn model_texts<'a>(messages: &[Message], normed: &'a [Option<NormText>]) -> Vec<(usize, &'a str)> {
    let from = messages.iter().rposition(|m| m.role == Role::User).unwrap_or(0);
    normed.iter().enumerate().skip(from).filter_map(|(i, n)| n.as_ref().map(|n| (i, n.text.as_str()))).collect()
}

#[derive(Serialize)]
struct BlockBody<'a> {
    error: BlockInner<'a>,
}

#[derive(Serialize)]
struct BlockInner<'a> {
    message: String,
    #[serde(rename = "type")]
    kind: &'static str,
    code: &'static str,
    param: Option<&'a str>,
    detector_types: &'a [String],
    policy_id: &'a str,
    policy_version: &'a str,
}

impl Guard {
    pub fn new(config_json: &[u8]) -> Result<Guard, ConfigError> {
        Ok(Guard { config: Config::compile(config_json)? })
    }

    pub fn from_config(config: Config) -> Guard {
        Guard { config }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Resolves the policy: the body's `project_id`, else the header's project, else the default.
    /// An unknown project is an error, never a silent fallback to the default policy.
    pub fn resolve(&self, project: Option<&str>) -> Result<&Policy, ApiError> {
        let name = match project {
            None => &self.config.default_policy,
            Some(p) => self.config.projects.get(p).ok_or_else(|| ApiError {
                status: 400,
                code: "unknown_project",
                message: format!("project_id {p:?} is not configured"),
                param: Some("project_id".into()),
            })?,
        };
        self.config
            .policies
            .get(name)
            .ok_or_else(|| ApiError::new(500, "internal", format!("policy {name:?} missing from compiled config")))
    }

    /// Screens messages under a policy.
    ///
    /// Rule detectors scan every non-context message. The guard model scores the latest
    /// interaction: the last user message and everything after it (tool results, retrieved
    /// documents, model output), since earlier turns were screened when they were the latest.
    /// With no user message (a model response), every non-context message is scored.
    pub fn screen(&self, policy: &Policy, project_id: Option<&str>, messages: &[Message]) -> Verdict {
        self.screen_with(policy, project_id, messages, true)
    }

    /// [`Guard::screen`]; `run_model: false` runs the rule detectors only (re-screening a masked
    /// body, whose model scores cannot have changed in a way masking could act on).
    pub fn screen_with(&self, policy: &Policy, project_id: Option<&str>, messages: &[Message], run_model: bool) -> Verdict {
        let mut payload = Vec::new();
        let mut breakdown = Vec::with_capacity(policy.detectors.len());
        let latest = messages.iter().rposition(|m| !m.role.is_context()).unwrap_or(0);
        let normed: Vec<Option<NormText>> =
            messages.iter().map(|m| (!m.role.is_context() && !m.content.is_empty()).then(|| NormText::new(&m.content))).collect();
        let has_rules = policy.detectors.iter().any(|d| d.imp.is_some());
        let runs: Vec<Vec<EncodedRun>> =
            messages.iter().zip(&normed).map(|(m, n)| if has_rules && n.is_some() { encoded_runs(&m.content) } else { Vec::new() }).collect();
        let mut acts: BTreeSet<(Act, String)> = BTreeSet::new();
        let mut failure = None;
        let scores = if run_model && policy.uses_model() {
            self.model_scores(messages, &normed, policy.first_stage).unwrap_or_else(|e| {
                for d in policy.detectors.iter().filter(|d| d.head.is_some()) {
                    acts.insert((Act::Failed, d.detector_type.clone()));
                }
                failure = Some(e);
                Vec::new()
            })
        } else {
            Vec::new()
        };
        let mut findings: Vec<Finding> = Vec::new();
        for d in &policy.detectors {
            let mut first_hit: Option<usize> = None;
            let mut model_score: Option<(usize, HeadScore)> = None;
            if let Some(h) = d.head {
                for (mid, s) in &scores {
                    let Some(setting) = messages.get(*mid).and_then(|m| side(d, m.role)) else { continue };
                    let Some(hs) = s.get(h) else { continue };
                    // The highest-scoring message stands for the request; ties go to the earliest.
                    if model_score.is_none_or(|(_, best)| hs.score > best.score) {
                        model_score = Some((*mid, *hs));
                    }
                    if hs.flags_at(setting.level) {
                        first_hit.get_or_insert(*mid);
                        // Model detectors cannot mask: an inherited `mask` compiles to `block`.
                        acts.insert((if setting.monitor { Act::WouldBlock } else { Act::Block }, d.detector_type.clone()));
                    }
                }
            }
            if let Some(imp) = &d.imp {
                for (mid, ((msg, norm), runs)) in messages.iter().zip(&normed).zip(&runs).enumerate() {
                    let Some(norm) = norm else { continue };
                    let Some(setting) = side(d, msg.role) else { continue };
                    let Ok(found) = locate(imp.as_ref(), norm, runs, &mut findings) else {
                        acts.insert((Act::Failed, d.detector_type.clone()));
                        continue;
                    };
                    // Built once per message with findings: slicing by code point stays linear.
                    let mut index: Option<CharIndex> = None;
                    for f in found.into_iter().filter(|f| f.level <= setting.level) {
                        let (start, end) = (f.start, f.end);
                        first_hit.get_or_insert(mid);
                        let act = match (setting.action, setting.monitor) {
                            (Action::Block, false) => Act::Block,
                            (Action::Mask, false) => Act::Mask,
                            (Action::Block, true) => Act::WouldBlock,
                            (Action::Mask, true) => Act::WouldMask,
                        };
                        if !acts.iter().any(|(a, t)| *a == act && *t == d.detector_type) {
                            acts.insert((act, d.detector_type.clone()));
                        }
                        let index = index.get_or_insert_with(|| CharIndex::new(&msg.content));
                        payload.push(PayloadEntry {
                            start,
                            end,
                            text: index.slice(&msg.content, start, end).to_string(),
                            detector_type: d.detector_type.clone(),
                            labels: f.labels,
                            message_id: mid,
                        });
                    }
                }
            }
            breakdown.push(BreakdownEntry {
                project_id: project_id.map(str::to_string),
                policy_id: policy.id.clone(),
                detector_id: detector_id(&d.detector_type),
                detector_type: d.detector_type.clone(),
                detected: first_hit.is_some(),
                message_id: first_hit.or(model_score.map(|(m, _)| m)).unwrap_or(latest),
                status: (!d.available()).then_some("unavailable"),
                score: model_score.map(|(_, s)| s.score),
                level: model_score.map(|(_, s)| s.confidence.as_str()),
            });
        }
        payload.sort_by(|a, b| (a.message_id, a.start, a.end, &a.detector_type).cmp(&(b.message_id, b.start, b.end, &b.detector_type)));
        let detected: Vec<String> = breakdown.iter().filter(|b| b.detected).map(|b| b.detector_type.clone()).collect();
        Verdict {
            flagged: !detected.is_empty(),
            project_id: project_id.map(str::to_string),
            policy_id: policy.id.clone(),
            policy_version: policy.version.clone(),
            detected,
            payload,
            breakdown,
            unavailable: policy.unavailable(),
            acts: acts.into_iter().collect(),
            failure,
        }
    }

    /// The guard-model windows (content token ids) screening these messages under the
    /// project's policy will run, in order: for a host that runs them ahead, a slice at a time
    /// ([`crate::model::Precomputed`]). Empty when the policy runs no model or the text is over
    /// `max_model_chars` (the screening refuses it without running any).
    pub fn model_windows(&self, project: Option<&str>, messages: &[Message]) -> Vec<Vec<u32>> {
        let (Ok(policy), Ok(model)) = (self.resolve(project), crate::model::shared()) else { return Vec::new() };
        if !policy.uses_model() {
            return Vec::new();
        }
        let Ok(cutoff) = stage_cutoff(&model, policy.first_stage) else { return Vec::new() };
        let normed: Vec<Option<NormText>> =
            messages.iter().map(|m| (!m.role.is_context() && !m.content.is_empty()).then(|| NormText::new(&m.content))).collect();
        let texts = model_texts(messages, &normed);
        if texts.iter().map(|(_, t)| t.chars().count()).sum::<usize>() > self.config.max_model_chars {
            return Vec::new();
        }
        texts.into_iter().flat_map(|(_, t)| model.windows_of(t, cutoff)).collect()
    }

    /// Does a body of `windows` model windows go to the scoring service (config `offload`)?
    pub fn offloads(&self, windows: usize) -> bool {
        self.config.offload.as_ref().is_some_and(|o| windows >= o.min_windows)
    }

    /// [`Guard::model_windows`] of a proxied API request body (none if it does not parse).
    pub fn request_model_windows(&self, format: Format, body: &[u8], project: Option<&str>) -> Vec<Vec<u32>> {
        formats::parse_request(format, body, self.config.max_messages).map(|m| self.model_windows(project, &m)).unwrap_or_default()
    }

    /// [`Guard::model_windows`] of a guard endpoint body (none if it does not parse).
    pub fn guard_model_windows(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> Vec<Vec<u32>> {
        let project = self.guard_project(body, ctx, pinned);
        GuardRequest::parse(body, self.config.max_messages).map(|r| self.model_windows(project.as_deref(), &r.messages)).unwrap_or_default()
    }

    /// Guard-model scores of the latest interaction, per message index.
    /// `first_stage`: the policy's pass share in percent, if its fast first stage is on.
    fn model_scores(&self, messages: &[Message], normed: &[Option<NormText>], first_stage: Option<u8>) -> Result<Vec<(usize, Scores)>, ApiError> {
        let model = crate::model::shared().map_err(|e| ApiError::new(500, "model_unavailable", e))?;
        let cutoff = stage_cutoff(&model, first_stage)?;
        let texts = model_texts(messages, normed);
        let chars: usize = texts.iter().map(|(_, t)| t.chars().count()).sum();
        if chars > self.config.max_model_chars {
            return Err(ApiError::new(
                413,
                "model_input_too_large",
                format!("the latest interaction has {chars} characters; the guard model screens at most {} (max_model_chars)", self.config.max_model_chars),
            ));
        }
        texts
            .into_iter()
            .map(|(i, t)| {
                let reading = messages.get(i).map_or(Reading::Prompt, |m| reading_of(m.role));
                model.score_with(t, cutoff, reading).map(|s| (i, s)).map_err(|e| ApiError::new(500, "model_failed", e))
            })
            .collect()
    }

    /// `POST /v2/guard`: body in, Lakera-compatible response (or error) out.
    pub fn guard_http(&self, body: &[u8], ctx: &RequestCtx) -> HttpReply {
        match self.guard_response(body, ctx) {
            Ok(resp) => match serde_json::to_vec(&resp) {
                Ok(bytes) => HttpReply { status: 200, body: bytes },
                Err(e) => HttpReply::error(&ApiError::new(500, "internal", format!("could not encode response: {e}"))),
            },
            Err(e) => HttpReply::error(&e),
        }
    }

    pub fn guard_response(&self, body: &[u8], ctx: &RequestCtx) -> Result<GuardResponse, ApiError> {
        self.guard_response_for(body, ctx, false)
    }

    /// `POST /v2/guard` for a caller whose project ([`Guard::identify`]) is in `ctx.project`.
    /// `pinned` (a route or key binding): the body's `project_id` may only repeat it.
    pub fn guard_http_for(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> HttpReply {
        match self.guard_response_for(body, ctx, pinned) {
            Ok(resp) => match serde_json::to_vec(&resp) {
                Ok(bytes) => HttpReply { status: 200, body: bytes },
                Err(e) => HttpReply::error(&ApiError::new(500, "internal", format!("could not encode response: {e}"))),
            },
            Err(e) => HttpReply::error(&e),
        }
    }

    pub fn guard_response_for(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> Result<GuardResponse, ApiError> {
        self.guard_verdict_for(body, ctx, pinned).map(|(r, _)| r)
    }

    /// [`Guard::guard_http_for`], with the screening behind the answer (for the log record).
    pub fn guard_exchange(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> (HttpReply, crate::log::Screening) {
        self.guard_exchange_with(body, ctx, pinned, false)
    }

    /// [`Guard::guard_exchange`]; `tight`: under the tightened policy (posture `scoped` and up).
    pub(crate) fn guard_exchange_with(&self, body: &[u8], ctx: &RequestCtx, pinned: bool, tight: bool) -> (HttpReply, crate::log::Screening) {
        let (reply, verdict, error, project) = match self.guard_verdict_as(body, ctx, pinned, tight) {
            Ok((resp, v)) => match serde_json::to_vec(&resp) {
                Ok(bytes) => (HttpReply { status: 200, body: bytes }, Some(v.clone()), None, v.project_id.clone()),
                Err(e) => {
                    let e = ApiError::new(500, "internal", format!("could not encode response: {e}"));
                    (HttpReply::error(&e), Some(v.clone()), Some(e), v.project_id.clone())
                }
            },
            Err(e) => {
                // The body's project, if it got that far (an unknown project is worth logging).
                let named = if pinned { None } else { GuardRequest::parse(body, self.config.max_messages).ok().and_then(|r| r.project_id) };
                (HttpReply::error(&e), None, Some(e), named.or(ctx.project.map(str::to_string)))
            }
        };
        let outcome = match (&error, &verdict) {
            (Some(_), _) => Outcome::Rejected,
            (None, Some(v)) if v.flagged => Outcome::Flagged,
            _ => Outcome::Clean,
        };
        let s = crate::log::Screening {
            kind: crate::log::Kind::Guard,
            direction: crate::log::Direction::Input,
            format: None,
            project,
            outcome,
            detected: verdict.as_ref().map(|v| v.detected.clone()).unwrap_or_default(),
            verdict,
            error,
            posture: None,
            shadow: None,
        };
        (reply, s)
    }

    /// Is `path` (query string ignored) the tuning endpoint, `<guard_path>/results`?
    pub fn is_results_path(&self, path: &str) -> bool {
        let p = path.split('?').next().unwrap_or(path);
        self.config.guard_path.as_deref().is_some_and(|g| p.strip_prefix(g) == Some("/results"))
    }

    /// `POST <guard_path>/results` (Lakera's tuning endpoint): for every detector of the policy,
    /// the confidence level at which it would flag (`l1_confident` .. `l5_unlikely`) and, for
    /// model detectors, the score. No flagging decision; hosts do not log it.
    pub fn guard_results_http(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> HttpReply {
        match self.guard_results(body, ctx, pinned) {
            Ok(v) => HttpReply { status: 200, body: v.to_string().into_bytes() },
            Err(e) => HttpReply::error(&e),
        }
    }

    fn guard_results(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> Result<serde_json::Value, ApiError> {
        let (req, policy, v) = self.guard_screen(body, ctx, pinned)?;
        let mut results = Vec::with_capacity(policy.detectors.len());
        let mut findings = Vec::new();
        for (d, b) in policy.detectors.iter().zip(&v.breakdown) {
            let mut entry = serde_json::json!({
                "project_id": b.project_id,
                "policy_id": b.policy_id,
                "detector_id": b.detector_id,
                "detector_type": b.detector_type,
                "message_id": b.message_id,
            });
            if !d.available() {
                entry["result"] = serde_json::Value::Null;
                entry["status"] = "unavailable".into();
            } else if d.head.is_some() {
                entry["result"] = b.level.unwrap_or("l5_unlikely").into();
                if let Some(score) = b.score {
                    entry["score"] = score.into();
                }
            } else if let Some(imp) = &d.imp {
                // The most certain finding on any screened message decides the level.
                let mut best: Option<(crate::policy::Level, usize)> = None;
                for (mid, m) in req.messages.iter().enumerate() {
                    if m.role.is_context() || m.content.is_empty() || side(d, m.role).is_none() {
                        continue;
                    }
                    findings.clear();
                    if imp.try_scan(&NormText::new(&m.content), &mut findings).is_err() {
                        return Err(ApiError::new(500, "detector_failed", format!("detector {} failed to run", d.detector_type)));
                    }
                    if let Some(l) = findings.iter().map(|f| f.level).min() {
                        if best.is_none_or(|(bl, _)| l < bl) {
                            best = Some((l, mid));
                        }
                    }
                }
                entry["result"] = match best {
                    Some((crate::policy::Level::L1, _)) => "l1_confident",
                    Some((crate::policy::Level::L2, _)) => "l2_very_likely",
                    Some((crate::policy::Level::L3, _)) => "l3_likely",
                    Some((crate::policy::Level::L4, _)) => "l4_less_likely",
                    None => "l5_unlikely",
                }
                .into();
                if let Some((_, mid)) = best {
                    entry["message_id"] = mid.into();
                }
            }
            results.push(entry);
        }
        Ok(serde_json::json!({ "results": results }))
    }

    /// A guard request body parsed, its policy chosen and screened (the guard endpoints' common
    /// part): the project is the body's `project_id` unless a route or key pinned it.
    fn guard_screen(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> Result<(GuardRequest, &Policy, Verdict), ApiError> {
        self.guard_screen_as(body, ctx, pinned, false)
    }

    /// The project a guard call is for: the body's `project_id` unless a route or key pinned
    /// it (`None` when the body does not parse: the call is refused anyway).
    pub(crate) fn guard_project(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> Option<String> {
        if pinned {
            return ctx.project.map(str::to_string);
        }
        GuardRequest::parse(body, self.config.max_messages).ok().and_then(|r| r.project_id).or(ctx.project.map(str::to_string))
    }

    /// [`Guard::guard_screen`]; `tight`: under the policy's tightened variant (posture `scoped`
    /// and up), when it has one.
    fn guard_screen_as(&self, body: &[u8], ctx: &RequestCtx, pinned: bool, tight: bool) -> Result<(GuardRequest, &Policy, Verdict), ApiError> {
        self.check_size(body.len())?;
        let req = GuardRequest::parse(body, self.config.max_messages)?;
        if pinned && req.project_id.is_some() && req.project_id.as_deref() != ctx.project {
            return Err(ApiError::invalid(
                "project_mismatch",
                "project_id",
                "`project_id` differs from the project this route or API key is bound to",
            ));
        }
        let project = if pinned { ctx.project } else { req.project_id.as_deref().or(ctx.project) };
        let mut policy = self.resolve(project)?;
        if tight {
            policy = policy.scoped.as_deref().unwrap_or(policy);
        }
        let v = self.screen(policy, project, &req.messages);
        if v.any(Act::Failed) {
            return Err(detector_failed(&v));
        }
        Ok((req, policy, v))
    }

    fn guard_verdict_for(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> Result<(GuardResponse, Verdict), ApiError> {
        self.guard_verdict_as(body, ctx, pinned, false)
    }

    fn guard_verdict_as(&self, body: &[u8], ctx: &RequestCtx, pinned: bool, tight: bool) -> Result<(GuardResponse, Verdict), ApiError> {
        let (req, _, v) = self.guard_screen_as(body, ctx, pinned, tight)?;
        let acted = |a: Act| v.acted(a);
        let (block, mask, would_block, would_mask) = (acted(Act::Block), acted(Act::Mask), acted(Act::WouldBlock), acted(Act::WouldMask));
        let resp = GuardResponse {
            flagged: v.flagged,
            payload: req.payload.then(|| v.payload.clone()),
            breakdown: req.breakdown.then(|| v.breakdown.clone()),
            metadata: ResponseMetadata { request_uuid: request_uuid(ctx, body), policy_version: v.policy_version.clone() },
            dev_info: req.dev_info.then(|| DevInfo {
                version: crate::VERSION,
                policy_id: v.policy_id.clone(),
                block,
                mask,
                would_block,
                would_mask,
                unavailable_detectors: v.unavailable.clone(),
            }),
        };
        Ok((resp, v))
    }

    /// Screens a proxied LLM API request body.
    pub fn screen_request(&self, format: Format, body: &[u8], ctx: &RequestCtx) -> Result<Verdict, ApiError> {
        self.screen_body(format, false, body, ctx)
    }

    /// Screens a non-streaming LLM API response body (the model's output and tool calls).
    pub fn screen_response(&self, format: Format, body: &[u8], ctx: &RequestCtx) -> Result<Verdict, ApiError> {
        self.screen_body(format, true, body, ctx)
    }

    fn screen_body(&self, format: Format, response: bool, body: &[u8], ctx: &RequestCtx) -> Result<Verdict, ApiError> {
        self.check_size(body.len())?;
        let messages = self.parse_body(format, response, body)?;
        let policy = self.resolve(ctx.project)?;
        let v = self.screen(policy, ctx.project, &messages);
        if v.any(Act::Failed) {
            return Err(detector_failed(&v));
        }
        Ok(v)
    }

    /// The messages of a request or response body of `format` (no size check).
    fn parse_body(&self, format: Format, response: bool, body: &[u8]) -> Result<Vec<Message>, ApiError> {
        let max = self.config.max_messages;
        if response {
            formats::parse_response(format, body, max)
        } else {
            formats::parse_request(format, body, max)
        }
    }

    /// Screens a proxied LLM API request and applies the modes (block, mask, monitor) and the
    /// fail mode.
    pub fn decide_request(&self, format: Format, body: &[u8], ctx: &RequestCtx) -> ProxyDecision {
        self.decide_body(format, false, body, ctx)
    }

    /// A non-streaming LLM API response body under the policy's output side: the same decision
    /// as for a request; under `mask`, `body` is the response with findings replaced.
    pub fn mask_response(&self, format: Format, body: &[u8], ctx: &RequestCtx) -> ProxyDecision {
        self.decide_body(format, true, body, ctx)
    }

    fn decide_body(&self, format: Format, response: bool, body: &[u8], ctx: &RequestCtx) -> ProxyDecision {
        // The project decides the policy, whose fail mode covers every later step.
        match self.resolve(ctx.project) {
            Ok(policy) => self.decide_under(policy, format, response, body, ctx),
            Err(e) => self.decide_unscreenable(&e),
        }
    }

    /// A request decided under `policy` (the project's, or its tightened variant).
    pub(crate) fn decide_under_policy(&self, policy: &Policy, format: Format, body: &[u8], ctx: &RequestCtx) -> ProxyDecision {
        self.decide_under(policy, format, false, body, ctx)
    }

    fn decide_under(&self, policy: &Policy, format: Format, response: bool, body: &[u8], ctx: &RequestCtx) -> ProxyDecision {
        let parsed = self.check_size(body.len()).and_then(|()| self.parse_body(format, response, body));
        let messages = match parsed {
            Ok(m) => m,
            Err(e) => return self.unscreenable(policy.fail_mode, &e),
        };
        let v = self.screen(policy, ctx.project, &messages);
        if v.any(Act::Failed) {
            return self.unscreenable(policy.fail_mode, &detector_failed(&v));
        }
        if v.any(Act::Block) || !v.any(Act::Mask) {
            return self.decide_verdict(v);
        }
        // Mask, then screen what would be forwarded: a finding that masking could not reach
        // (one spanning two content parts) blocks instead of leaking.
        let masked = mask::mask_body(format, response, body, &mut |role, text| self.mask_text(policy, role, text));
        let residual = match &masked {
            Ok(Some(new)) => {
                match self.parse_body(format, response, new) {
                    Ok(m) => {
                        let after = self.screen_with(policy, ctx.project, &m, false);
                        if after.any(Act::Failed) {
                            v.acted(Act::Mask)
                        } else {
                            after.acted(Act::Mask)
                        }
                    }
                    Err(_) => v.acted(Act::Mask),
                }
            }
            _ => v.acted(Act::Mask),
        };
        match masked {
            Ok(Some(new)) if residual.is_empty() => {
                let mut d = self.decide_verdict_masked(&v);
                d.body = Some(new);
                d
            }
            _ => {
                let mut blocked = v;
                blocked.acts.extend(residual.into_iter().map(|t| (Act::Block, t)));
                blocked.acts.sort();
                self.decide_verdict(blocked)
            }
        }
    }

    /// A response body with the output side's `mask` findings replaced, for a host holding the
    /// whole body (its size limit, `max_response_bytes`, is the caller's). `None`: masking could
    /// not reach every finding, or failed: the caller blocks instead of leaking.
    pub fn masked_response_body(&self, format: Format, body: &[u8], project: Option<&str>) -> Option<Vec<u8>> {
        let policy = self.resolve(project).ok()?;
        let new = mask::mask_body(format, true, body, &mut |role, text| self.mask_text(policy, role, text)).ok().flatten()?;
        let again = self.parse_body(format, true, &new).ok()?;
        let after = self.screen_with(policy, project, &again, false);
        (!after.any(Act::Mask) && !after.any(Act::Failed)).then_some(new)
    }

    /// Can a request of `project` be rewritten (its policy's input or tool side has an enforced `mask`
    /// detector)? Lets a host that must fix headers before it sees the body prepare for it.
    pub fn may_mask(&self, project: Option<&str>) -> bool {
        self.resolve(project).is_ok_and(|p| p.detectors.iter().any(|d| d.input_settings().any(|s| s.action == Action::Mask && !s.monitor)))
    }

    /// `text` with the findings of the enforced mask-mode detectors (for `role`'s side) replaced
    /// by their tokens; `None` when there are none.
    fn mask_text(&self, policy: &Policy, role: crate::api::Role, text: &str) -> Option<String> {
        if role.is_context() || text.is_empty() {
            return None;
        }
        let norm = NormText::new(text);
        let runs = encoded_runs(text);
        let mut spans = Vec::new();
        let mut findings = Vec::new();
        for d in &policy.detectors {
            let (Some(imp), Some(s)) = (&d.imp, side(d, role)) else { continue };
            if s.action != Action::Mask || s.monitor {
                continue;
            }
            // A failure leaves the text unmasked; the screen of the result then blocks.
            let Ok(found) = locate(imp.as_ref(), &norm, &runs, &mut findings) else { continue };
            for f in found.into_iter().filter(|f| f.level <= s.level) {
                spans.push((f.start, f.end, mask::token(&d.detector_type, &f.labels)));
            }
        }
        (!spans.is_empty()).then(|| mask::replace_spans(text, spans))
    }

    fn headers(v: &Verdict) -> Vec<(&'static str, String)> {
        let mut headers = vec![(HEADER_FLAGGED, v.flagged.to_string()), (crate::govern::HEADER_POLICY_VERSION, v.policy_version.clone())];
        if v.flagged {
            headers.push((HEADER_DETECTORS, v.detected.join(",")));
        }
        for (act, name) in [(Act::WouldBlock, HEADER_WOULD_BLOCK), (Act::WouldMask, HEADER_WOULD_MASK)] {
            if v.any(act) {
                headers.push((name, v.acted(act).join(",")));
            }
        }
        headers
    }

    fn decide_verdict_masked(&self, v: &Verdict) -> ProxyDecision {
        let mut headers = Self::headers(v);
        headers.push((HEADER_MASKED, v.acted(Act::Mask).join(",")));
        ProxyDecision::new(None, headers, Outcome::Masked, Some(v.clone()), None)
    }

    /// The decision for a verdict alone. With no body to rewrite, a `mask` finding blocks.
    pub fn decide_verdict(&self, v: Verdict) -> ProxyDecision {
        let headers = Self::headers(&v);
        let (reply, outcome) = if v.any(Act::Block) || v.any(Act::Mask) {
            (Some(self.blocked_reply(&v)), Outcome::Blocked)
        } else if v.flagged {
            (None, Outcome::Flagged)
        } else {
            (None, Outcome::Clean)
        };
        ProxyDecision::new(reply, headers, outcome, Some(v), None)
    }

    /// A body that cannot be screened: refused under `fail_mode: closed`, forwarded (and
    /// marked) under `open`. Never passed silently. Uses the config's `fail_mode`: for failures
    /// before a policy is known (unknown project or key).
    pub fn decide_unscreenable(&self, e: &ApiError) -> ProxyDecision {
        self.unscreenable(self.config.fail_mode, e)
    }

    /// As [`Guard::decide_unscreenable`], under the fail mode of the policy `project` selects
    /// (the config's when the project is unknown).
    /// The fail mode of `project`'s policy (the config's when the project is unknown).
    pub fn fail_mode_for(&self, project: Option<&str>) -> FailMode {
        self.resolve(project).map_or(self.config.fail_mode, |p| p.fail_mode)
    }

    /// Whether `project`'s policy enforces a detector on outputs. If not (every output setting is
    /// `monitor`, or none screens outputs), response screening never holds a byte.
    pub fn enforces_output(&self, project: Option<&str>) -> bool {
        self.resolve(project).is_ok_and(|p| p.detectors.iter().any(|d| d.output.is_some_and(|s| !s.monitor)))
    }

    pub fn decide_unscreenable_for(&self, project: Option<&str>, e: &ApiError) -> ProxyDecision {
        let fail = self.resolve(project).map_or(self.config.fail_mode, |p| p.fail_mode);
        self.unscreenable(fail, e)
    }

    fn unscreenable(&self, fail: FailMode, e: &ApiError) -> ProxyDecision {
        match fail {
            FailMode::Closed => ProxyDecision::new(Some(HttpReply::error(e)), vec![], Outcome::Rejected, None, Some(e.clone())),
            FailMode::Open => ProxyDecision::new(None, vec![(HEADER_FAILED_OPEN, e.code.to_string())], Outcome::FailedOpen, None, Some(e.clone())),
        }
    }

    /// Picks the project for a caller. Precedence: route (`routes`, by route name or by
    /// `route_prefixes`), then API key (`api_keys`), then `project_header`, then none (the
    /// default policy). A presented key that is not configured is `401 unknown_api_key` unless
    /// `unknown_api_key` is `ignore`. Neither the key nor its digest is ever put in an answer.
    pub fn identify(&self, c: &Caller) -> Result<Identity, ApiError> {
        let cfg = &self.config;
        let named = c.route.filter(|r| cfg.routes.contains_key(*r));
        let route = named.or_else(|| {
            let p = c.path.split('?').next().unwrap_or(c.path);
            // Longest prefix wins: the map is sorted, so scan it all and keep the longest match.
            cfg.route_prefixes.iter().filter(|(prefix, _)| p.starts_with(prefix.as_str())).max_by_key(|(prefix, _)| prefix.len()).map(|(_, r)| r.as_str())
        });
        if let Some(project) = route.and_then(|r| cfg.routes.get(r)) {
            return Ok(Identity { project: Some(project.clone()), source: ProjectSource::Route });
        }
        if !cfg.key_digests.is_empty() {
            let bearer = c.authorization.and_then(|a| {
                let (scheme, rest) = a.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
            let key = [bearer, c.x_api_key.map(str::trim), c.api_key.map(str::trim)].into_iter().flatten().find(|k| !k.is_empty());
            if let Some(key) = key {
                match keys::find(&cfg.key_digests, key).and_then(|i| cfg.key_projects.get(i)) {
                    Some(project) => return Ok(Identity { project: Some(project.clone()), source: ProjectSource::ApiKey }),
                    None if cfg.unknown_api_key == UnknownKey::Reject => {
                        return Err(ApiError::new(401, "unknown_api_key", "the API key is not bound to any project"))
                    }
                    None => {}
                }
            }
        }
        match c.project_header.filter(|p| !p.is_empty()) {
            Some(p) => Ok(Identity { project: Some(p.to_string()), source: ProjectSource::Header }),
            None => Ok(Identity { project: None, source: ProjectSource::Default }),
        }
    }

    /// The LLM API format of `path` (query string ignored), if this config screens it.
    pub fn api_format(&self, path: &str) -> Option<Format> {
        let p = path.split('?').next().unwrap_or(path);
        self.config.api_paths.get(p).copied()
    }

    /// Is `path` (query string ignored) the guard endpoint?
    pub fn is_guard_path(&self, path: &str) -> bool {
        let p = path.split('?').next().unwrap_or(path);
        self.config.guard_path.as_deref() == Some(p)
    }

    /// A request body must arrive as it is (`content-encoding` absent or `identity`): a
    /// compressed body cannot be screened, and is refused with `415 unsupported_encoding`
    /// (an API request: under the policy's fail mode) rather than misread as invalid JSON.
    pub fn check_encoding(&self, content_encoding: Option<&str>) -> Result<(), ApiError> {
        match content_encoding.map(str::trim).filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity")) {
            None => Ok(()),
            Some(enc) => Err(ApiError {
                status: 415,
                code: "unsupported_encoding",
                message: format!("the request body is {enc:?}-encoded; send it uncompressed (Parapet screens what it can read)"),
                param: Some("content-encoding".into()),
            }),
        }
    }

    pub fn check_size(&self, len: usize) -> Result<(), ApiError> {
        if len > self.config.max_body_bytes {
            return Err(ApiError::new(
                413,
                "body_too_large",
                format!("request body is {len} bytes; the limit is {} bytes", self.config.max_body_bytes),
            ));
        }
        Ok(())
    }

    /// The 403 a blocking host answers with, naming the detector types that fired.
    pub fn blocked_reply(&self, v: &Verdict) -> HttpReply {
        let body = BlockBody {
            error: BlockInner {
                message: format!("request blocked by Parapet policy {:?}: {}", v.policy_id, v.detected.join(", ")),
                kind: "parapet_blocked",
                code: "blocked",
                param: None,
                detector_types: &v.detected,
                policy_id: &v.policy_id,
                policy_version: &v.policy_version,
            },
        };
        match serde_json::to_vec(&body) {
            Ok(b) => HttpReply { status: 403, body: b },
            Err(e) => HttpReply::error(&ApiError::new(500, "internal", e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
