//! Governance around a verdict: the project's threat posture (its graded modes applied to
//! proxied requests and guard calls, `GET /v2/posture`, transition records) and shadow policies
//! (a candidate screened beside the active policy, logged, never enforced).
//!
//! Hosts call the `*_governed` entry points with a [`PostureCtx`]: their shared store and their
//! clock. Without one (or for a policy with no `posture`), everything is as in [`crate::engine`].

use serde::Serialize;
use serde_json::{json, Value};

use crate::config::Policy;
use crate::engine::{Guard, HttpReply, Outcome, ProxyDecision, RequestCtx, Verdict};
use crate::error::ApiError;
use crate::formats::Format;
use crate::posture::{self, PostureMode, PostureSpec, PostureState, PostureStore, Reading, Signal, Transition};

/// Response header: the project's posture mode and score, e.g. `scoped; score=3.412`.
pub const HEADER_POSTURE: &str = "x-parapet-posture";
/// Response header: the version of the policy that screened the request.
pub const HEADER_POLICY_VERSION: &str = "x-parapet-policy-version";
/// Request header (to the upstream) and response header: irreversible tools removed in `scoped`.
pub const HEADER_TOOLS_REMOVED: &str = "x-parapet-tools-removed";

/// What a host lends the core for posture: its shared store and its clock.
#[derive(Clone, Copy)]
pub struct PostureCtx<'a> {
    pub store: &'a dyn PostureStore,
    /// Milliseconds since the Unix epoch.
    pub now_ms: u64,
}

/// What the posture did for one screening.
#[derive(Debug, Clone, PartialEq)]
pub struct PostureNote {
    pub project: Option<String>,
    pub policy_id: String,
    pub policy_version: String,
    /// The mode that governed this request (after its own signal was added).
    pub mode: PostureMode,
    pub reading: Reading,
    pub state: PostureState,
    pub transition: Option<Transition>,
    /// The store failed: the request was governed by the mode last read (or `full`).
    pub error: Option<String>,
}

impl PostureNote {
    pub fn header(&self) -> String {
        format!("{}; score={}", self.mode, posture::round3(self.reading.score))
    }

    /// What a screening's log record says of the posture.
    pub fn summary(&self) -> PostureSummary {
        PostureSummary {
            mode: self.mode,
            score: posture::round3(self.reading.score),
            drivers: self.state.drivers().into_iter().map(|(source, p)| Driver { source, pressure: posture::round3(p) }).collect(),
        }
    }
}

/// The posture in a screening's log record: the mode that governed the request, the score, and
/// the largest sources of the pressure (the lineage of a deferral or refusal).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostureSummary {
    pub mode: PostureMode,
    pub score: f64,
    pub drivers: Vec<Driver>,
}

/// One source of a project's pressure: a detector type or `failed_open`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Driver {
    pub source: String,
    pub pressure: f64,
}

/// A candidate policy's verdict on a request the active policy decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShadowNote {
    pub policy_id: String,
    pub policy_version: String,
    pub flagged: bool,
    pub detected: Vec<String>,
    /// What the candidate would have done: `clean`, `flagged` (monitor), `blocked`, `masked`,
    /// `rejected` (a detector failed).
    pub action: &'static str,
    /// The candidate's action differs from the active policy's.
    pub differs: bool,
}

impl Guard {
    /// The shadow (candidate) policy of `project`, if the config names one.
    pub fn shadow_policy(&self, project: Option<&str>) -> Option<&Policy> {
        let sh = &self.config().shadow;
        let name = match project {
            None => sh.default.as_ref(),
            Some(p) => sh.projects.get(p),
        }?;
        self.config().policies.get(name)
    }

    /// The candidate's verdict on `messages`, beside the active verdict `active`.
    pub(crate) fn shadow_note(&self, project: Option<&str>, messages: &[crate::api::Message], active: Option<&Verdict>) -> Option<ShadowNote> {
        let policy = self.shadow_policy(project)?;
        let v = self.screen(policy, project, messages);
        let action = crate::replay::action_of(&v);
        Some(ShadowNote {
            policy_id: policy.id.clone(),
            policy_version: policy.version.clone(),
            flagged: v.flagged,
            differs: active.is_none_or(|a| crate::replay::action_of(a) != action || a.detected != v.detected),
            detected: v.detected,
            action,
        })
    }

    /// Projects whose policy keeps a posture ([`crate::Config::posture_projects`]).
    pub fn posture_projects(&self) -> Vec<Option<String>> {
        self.config().posture_projects()
    }

    /// The posture section of `project`'s policy, if it keeps one.
    pub fn posture_spec(&self, project: Option<&str>) -> Option<&PostureSpec> {
        self.resolve(project).ok().and_then(|p| p.posture.as_ref())
    }

    /// The mode `project` is in now (before this request's signal): picks the tightened policy.
    fn mode_now(&self, spec: &PostureSpec, project: Option<&str>, pc: &PostureCtx) -> PostureMode {
        posture::load(pc.store, project).map_or(PostureMode::Full, |st| st.view(spec, pc.now_ms).0)
    }

    /// Adds a screening's signal to the posture of `project` under `policy`.
    fn posture_record(&self, policy: &Policy, spec: &PostureSpec, project: Option<&str>, pc: &PostureCtx, signal: &Signal, before: PostureMode) -> PostureNote {
        let (state, transition, error) = match posture::record(pc.store, spec, project, pc.now_ms, signal) {
            Ok((s, t)) => (s, t, None),
            Err(e) => {
                let st = PostureState { mode: before, ..PostureState::default() };
                (st, None, Some(e))
            }
        };
        PostureNote {
            project: project.map(str::to_string),
            policy_id: policy.id.clone(),
            policy_version: policy.version.clone(),
            mode: state.mode,
            reading: state.reading(spec),
            state,
            transition,
            error,
        }
    }

    /// Can a request of `project` be rewritten: an enforced `mask` detector on the input side,
    /// or a posture with irreversible tools to remove. A host that must fix headers before it
    /// sees the body (Envoy drops `content-length`) asks this.
    pub fn may_rewrite(&self, project: Option<&str>) -> bool {
        self.may_mask(project) || self.posture_spec(project).is_some_and(|s| !s.irreversible_tools.is_empty())
    }

    /// [`Guard::decide_request`] under the project's posture, with the shadow policy's verdict.
    pub fn decide_request_governed(&self, format: Format, body: &[u8], ctx: &RequestCtx, pc: Option<&PostureCtx>) -> ProxyDecision {
        let policy = match self.resolve(ctx.project) {
            Ok(p) => p,
            Err(e) => return self.decide_unscreenable(&e),
        };
        let spec = policy.posture.as_ref().zip(pc);
        let before = spec.map_or(PostureMode::Full, |(s, pc)| self.mode_now(s, ctx.project, pc));
        let screening = match (before >= PostureMode::Scoped, policy.scoped.as_deref()) {
            (true, Some(tight)) => tight,
            _ => policy,
        };
        let mut d = self.decide_under_policy(screening, format, body, ctx);
        if self.shadow_policy(ctx.project).is_some() {
            if let Ok(messages) = crate::formats::parse_request(format, body, self.config().max_messages) {
                d.shadow = self.shadow_note(ctx.project, &messages, d.verdict.as_ref());
            }
        }
        let Some((spec, pc)) = spec else { return d };
        let signal = match d.outcome {
            Outcome::FailedOpen => Signal::failed_open(spec),
            _ => d.verdict.as_ref().map(|v| Signal::of_verdict(spec, v)).unwrap_or_default(),
        };
        let note = self.posture_record(policy, spec, ctx.project, pc, &signal, before);
        self.apply_mode(&mut d, spec, &note, format, body, ctx, pc);
        d.response_headers.push((HEADER_POSTURE, note.header()));
        d.reply_headers.push((HEADER_POSTURE, note.header()));
        d.posture = Some(note);
        d
    }

    /// What the mode does to a request the detectors let through (a blocked or refused request
    /// stays so).
    #[allow(clippy::too_many_arguments)]
    fn apply_mode(&self, d: &mut ProxyDecision, spec: &PostureSpec, note: &PostureNote, format: Format, body: &[u8], ctx: &RequestCtx, pc: &PostureCtx) {
        if note.mode >= PostureMode::Scoped {
            d.forbidden_tools.clone_from(&spec.irreversible_tools);
        }
        if d.reply.is_some() {
            return;
        }
        let id = crate::engine::request_uuid(ctx, body);
        match note.mode {
            PostureMode::Full => {}
            PostureMode::Scoped => {
                let current = d.body.as_deref().unwrap_or(body);
                if let Some((new, removed)) = crate::tools::strip_tools(current, &spec.irreversible_tools) {
                    d.body = Some(new);
                    d.response_headers.push((HEADER_TOOLS_REMOVED, removed.join(",")));
                }
            }
            PostureMode::Inquiry => {
                let (reply, content_type) = crate::tools::assistant_reply(format, body, &id.replace('-', ""), pc.now_ms / 1000, &spec.inquiry_message);
                d.reply = Some(HttpReply { status: 200, body: reply });
                d.reply_headers.push(("content-type", content_type.to_string()));
                d.reply_headers.extend(d.response_headers.iter().cloned());
                d.outcome = Outcome::Inquiry;
                d.body = None;
            }
            PostureMode::Deferral => {
                let reply = json!({
                    "status": "deferred",
                    "review_id": id,
                    "project_id": ctx.project,
                    "message": "The request is held for review under the project's threat posture; it was not sent to the model.",
                    "posture": { "mode": note.mode, "score": posture::round3(note.reading.score) },
                });
                d.reply = Some(HttpReply { status: 202, body: reply.to_string().into_bytes() });
                d.reply_headers.extend(d.response_headers.iter().cloned());
                d.outcome = Outcome::Deferred;
                d.body = None;
            }
            PostureMode::Refusal => {
                d.reply = Some(posture_refusal(ctx.project, note));
                d.outcome = Outcome::Refused;
                d.body = None;
            }
        }
    }

    /// `POST /v2/guard` under the project's posture: from `scoped` up the tightened policy
    /// screens; the answer's `metadata.posture` names the mode and score, and in `refusal` the
    /// request is `flagged` whatever the detectors said. The shadow policy is screened too.
    pub fn guard_exchange_governed(&self, body: &[u8], ctx: &RequestCtx, pinned: bool, pc: Option<&PostureCtx>) -> (HttpReply, crate::log::Screening, Option<PostureNote>) {
        // The project is known only once the body is parsed; the posture of that project picks
        // the policy variant.
        let project = self.guard_project(body, ctx, pinned);
        let policy = self.resolve(project.as_deref()).ok();
        let spec = policy.and_then(|p| p.posture.as_ref()).zip(pc);
        let before = spec.map_or(PostureMode::Full, |(s, pc)| self.mode_now(s, project.as_deref(), pc));
        let tight = before >= PostureMode::Scoped;
        let (mut reply, mut s) = self.guard_exchange_with(body, ctx, pinned, tight);
        if s.verdict.is_some() && self.shadow_policy(project.as_deref()).is_some() {
            if let Ok(req) = crate::api::GuardRequest::parse(body, self.config().max_messages) {
                s.shadow = self.shadow_note(project.as_deref(), &req.messages, s.verdict.as_ref());
            }
        }
        let (Some((spec, pc)), Some(policy)) = (spec, policy) else { return (reply, s, None) };
        let signal = s.verdict.as_ref().map(|v| Signal::of_verdict(spec, v)).unwrap_or_default();
        let note = self.posture_record(policy, spec, project.as_deref(), pc, &signal, before);
        if reply.status == 200 {
            if let Ok(mut v) = serde_json::from_slice::<Value>(&reply.body) {
                v["metadata"]["posture"] = json!({ "mode": note.mode, "score": posture::round3(note.reading.score) });
                if note.mode == PostureMode::Refusal {
                    v["flagged"] = Value::Bool(true);
                }
                reply.body = v.to_string().into_bytes();
            }
        }
        s.posture = Some(note.summary());
        (reply, s, Some(note))
    }

    /// Adds a screened response's signal to its project's posture (a response that leaks what
    /// an attack was after counts like the attack). The response itself is governed by what
    /// the request's decision set (forbidden tools); this only moves the state.
    pub fn posture_after_response(&self, s: &crate::log::Screening, pc: Option<&PostureCtx>) -> Option<PostureNote> {
        let policy = self.resolve(s.project.as_deref()).ok()?;
        let (spec, pc) = policy.posture.as_ref().zip(pc)?;
        let signal = match s.outcome {
            Outcome::FailedOpen => Signal::failed_open(spec),
            _ => s.verdict.as_ref().map(|v| Signal::of_verdict(spec, v)).unwrap_or_default(),
        };
        let before = self.mode_now(spec, s.project.as_deref(), pc);
        Some(self.posture_record(policy, spec, s.project.as_deref(), pc, &signal, before))
    }

    /// `GET /v2/posture`: every project's mode and score now (projects whose policy keeps no
    /// posture are listed as `full`, `"enabled": false`). Read-only: no signal is added.
    pub fn posture_http(&self, store: &dyn PostureStore, now_ms: u64) -> HttpReply {
        let cfg = self.config();
        let projects = std::iter::once(None).chain(cfg.projects.keys().map(|p| Some(p.as_str())));
        let mut list = Vec::new();
        for project in projects {
            let Ok(policy) = self.resolve(project) else { continue };
            let mut entry = PostureEntry {
                project_id: project,
                policy_id: &policy.id,
                policy_version: &policy.version,
                enabled: policy.posture.is_some(),
                mode: PostureMode::Full,
                ..PostureEntry::default()
            };
            if let Some(spec) = &policy.posture {
                match posture::load(store, project) {
                    Ok(st) => {
                        let (mode, r) = st.view(spec, now_ms);
                        entry.mode = mode;
                        entry.reading = Some(EntryReading {
                            score: posture::round3(r.score),
                            pressure: posture::round3(r.pressure),
                            rate: posture::round3(r.rate),
                            trend: posture::round3(r.trend),
                            baseline: posture::round3(r.baseline),
                            alarm: r.alarm,
                            since: (st.since_ms > 0).then(|| crate::log::rfc3339_ms(st.since_ms)),
                            screenings: st.screenings,
                            signals: st.signals,
                            drivers: st.drivers().into_iter().map(|(source, p)| Driver { source, pressure: posture::round3(p) }).collect(),
                        });
                    }
                    Err(e) => entry.error = Some(e),
                }
            }
            list.push(entry);
        }
        let body = serde_json::to_vec(&PostureList { projects: list }).unwrap_or_default();
        HttpReply { status: 200, body }
    }

    /// Is `path` (query ignored) the posture endpoint, `<guard_path>`'s sibling `posture`
    /// (`/v2/guard` → `/v2/posture`)?
    pub fn is_posture_path(&self, path: &str) -> bool {
        let p = path.split('?').next().unwrap_or(path);
        self.posture_path().is_some_and(|pp| pp == p)
    }

    pub fn posture_path(&self) -> Option<String> {
        self.config().posture_path()
    }

    /// The log record of a mode transition or alarm edge (one JSON line), naming its drivers.
    pub fn transition_record(&self, note: &PostureNote, time_ms: u64, host: &str, request_id: Option<&str>) -> Option<String> {
        let t = note.transition.as_ref()?;
        let r = &t.reading;
        let rec = TransitionRecord {
            time: crate::log::rfc3339_ms(time_ms),
            request_id: request_id.unwrap_or(""),
            host,
            kind: "posture",
            project_id: note.project.as_deref(),
            policy_id: &note.policy_id,
            policy_version: &note.policy_version,
            from: t.from,
            to: t.to,
            alarm: t.alarm,
            alarm_changed: t.alarm_changed,
            score: posture::round3(r.score),
            pressure: posture::round3(r.pressure),
            rate: posture::round3(r.rate),
            trend: posture::round3(r.trend),
            baseline: posture::round3(r.baseline),
            screenings: note.state.screenings,
            drivers: t.drivers.iter().map(|(source, p)| Driver { source: source.clone(), pressure: posture::round3(*p) }).collect(),
        };
        serde_json::to_string(&rec).ok()
    }
}

/// A posture transition's log record; fields in the order of a screening record's.
#[derive(Serialize)]
struct TransitionRecord<'a> {
    time: String,
    request_id: &'a str,
    host: &'a str,
    kind: &'static str,
    project_id: Option<&'a str>,
    policy_id: &'a str,
    policy_version: &'a str,
    from: PostureMode,
    to: PostureMode,
    alarm: bool,
    alarm_changed: bool,
    score: f64,
    pressure: f64,
    rate: f64,
    trend: f64,
    baseline: f64,
    screenings: u64,
    drivers: Vec<Driver>,
}

/// `GET /v2/posture`.
#[derive(Serialize)]
struct PostureList<'a> {
    projects: Vec<PostureEntry<'a>>,
}

/// One project in `GET /v2/posture`.
#[derive(Serialize, Default)]
struct PostureEntry<'a> {
    project_id: Option<&'a str>,
    policy_id: &'a str,
    policy_version: &'a str,
    /// The policy keeps a posture.
    enabled: bool,
    mode: PostureMode,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    reading: Option<EntryReading>,
    /// The store could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct EntryReading {
    score: f64,
    pressure: f64,
    rate: f64,
    trend: f64,
    baseline: f64,
    alarm: bool,
    /// When the current mode was entered.
    since: Option<String>,
    screenings: u64,
    signals: u64,
    drivers: Vec<Driver>,
}

/// The `403` of a project in `refusal`.
fn posture_refusal(project: Option<&str>, note: &PostureNote) -> HttpReply {
    let e = ApiError::new(
        403,
        "posture_refusal",
        format!(
            "project {} is in posture \"refusal\" (score {}): requests are refused until the pressure decays",
            project.map_or_else(|| "(default)".to_string(), |p| format!("{p:?}")),
            posture::round3(note.reading.score)
        ),
    );
    HttpReply::error(&e)
}

#[cfg(test)]
mod tests;
