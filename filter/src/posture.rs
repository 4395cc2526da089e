//! Threat posture: a per-project state that integrates verdicts over time and grades how much
//! authority the application keeps while pressure lasts.
//!
//! A per-request guard forgets: an attacker who tries fifty variants is judged fifty times
//! afresh. The posture remembers. Every screening of a project adds a *signal* (the weights of
//! the detectors that fired, model detectors weighted by their score, fail-open events) to:
//! - **pressure** `P`: the signals, each decayed with the policy's half-life;
//! - **recent** `F`: the same with a short half-life; `F * ln2 / H_rate` estimates the signal
//!   rate per second, and the **rate term** `D = rate - P * ln2 / H` is how fast `P` is moving
//!   (positive while an attack builds, negative while it decays);
//! - **baseline** `B`: a slow average of `P`, what is normal for the project.
//!
//! The **score** is `P + lookahead * max(D, 0)`: the pressure now plus where it is heading. It
//! walks the graded modes `full` < `scoped` < `inquiry` < `deferral` < `refusal`: a mode is
//! entered when the score reaches its threshold and left only when the score falls below
//! `hysteresis` times that threshold, so a score hovering at a threshold does not flap. The
//! **alarm** fires on a sudden shift: `P` at least `surge_factor` times the baseline (and at
//! least `surge_min`); while it lasts the mode is at least `alarm_mode`.
//!
//! This module is pure: the host passes the time and a [`PostureStore`] (Envoy's shared data,
//! a map shared by `parapet serve`'s threads, the worker isolate's memory). Updates are
//! read-modify-write with compare-and-swap, retried, so concurrent screenings lose nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::policy::Level;

/// The graded modes, from full authority to none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PostureMode {
    /// Normal operation.
    #[default]
    Full,
    /// Irreversible tools removed from requests and blocked in responses; sensitivity tightened.
    Scoped,
    /// Requests are answered with a clarifying reply instead of reaching the model.
    Inquiry,
    /// Requests are answered `202` with a review id; the full request is logged for review.
    Deferral,
    /// Every request of the project is refused.
    Refusal,
}

impl PostureMode {
    pub const ALL: [PostureMode; 5] = [PostureMode::Full, PostureMode::Scoped, PostureMode::Inquiry, PostureMode::Deferral, PostureMode::Refusal];

    pub fn as_str(self) -> &'static str {
        match self {
            PostureMode::Full => "full",
            PostureMode::Scoped => "scoped",
            PostureMode::Inquiry => "inquiry",
            PostureMode::Deferral => "deferral",
            PostureMode::Refusal => "refusal",
        }
    }

    /// 0 (`full`) .. 4 (`refusal`), for a gauge.
    pub fn rank(self) -> u8 {
        match self {
            PostureMode::Full => 0,
            PostureMode::Scoped => 1,
            PostureMode::Inquiry => 2,
            PostureMode::Deferral => 3,
            PostureMode::Refusal => 4,
        }
    }
}

impl fmt::Display for PostureMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Score thresholds at which each mode is entered.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default = "d_scoped")]
    pub scoped: f64,
    #[serde(default = "d_inquiry")]
    pub inquiry: f64,
    #[serde(default = "d_deferral")]
    pub deferral: f64,
    #[serde(default = "d_refusal")]
    pub refusal: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { scoped: d_scoped(), inquiry: d_inquiry(), deferral: d_deferral(), refusal: d_refusal() }
    }
}

impl Thresholds {
    fn of(&self, m: PostureMode) -> f64 {
        match m {
            PostureMode::Full => 0.0,
            PostureMode::Scoped => self.scoped,
            PostureMode::Inquiry => self.inquiry,
            PostureMode::Deferral => self.deferral,
            PostureMode::Refusal => self.refusal,
        }
    }
}

/// The `posture` section of a policy. Absent: the policy keeps no posture (always `full`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostureSpec {
    /// Half-life of the pressure, in seconds.
    #[serde(default = "d_half_life")]
    pub half_life_s: f64,
    /// Half-life of the recent signal behind the rate term, in seconds (shorter than `half_life_s`).
    #[serde(default = "d_rate_half_life")]
    pub rate_half_life_s: f64,
    /// Seconds the rate term looks ahead: the score is the pressure plus this times its rise per second.
    #[serde(default = "d_lookahead")]
    pub rate_lookahead_s: f64,
    /// Half-life of the baseline, in seconds (longer than `half_life_s`).
    #[serde(default = "d_baseline")]
    pub baseline_half_life_s: f64,
    /// The alarm fires when the pressure is at least this many times the baseline ...
    #[serde(default = "d_surge_factor")]
    pub surge_factor: f64,
    /// ... and at least this much.
    #[serde(default = "d_surge_min")]
    pub surge_min: f64,
    /// The lowest mode while the alarm lasts.
    #[serde(default = "d_alarm_mode")]
    pub alarm_mode: PostureMode,
    #[serde(default)]
    pub thresholds: Thresholds,
    /// A mode is left when the score falls below this fraction of its threshold (0 < h <= 1).
    #[serde(default = "d_hysteresis")]
    pub hysteresis: f64,
    /// Signal weight per detector type, per family (`"pii/*"`), and for `failed_open`; 1 when
    /// not listed. A model detector's signal is its weight times its score.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Tools that act irreversibly (send, pay, delete): `scoped` and above remove them from
    /// requests and block responses that call them.
    #[serde(default)]
    pub irreversible_tools: Vec<String>,
    /// Sensitivity of every detector from `scoped` up (never lower than configured).
    #[serde(default = "d_scoped_sensitivity")]
    pub scoped_sensitivity: Level,
    /// The clarifying reply of `inquiry`.
    #[serde(default = "d_inquiry_message")]
    pub inquiry_message: String,
}

fn d_half_life() -> f64 {
    300.0
}
fn d_rate_half_life() -> f64 {
    30.0
}
fn d_lookahead() -> f64 {
    60.0
}
fn d_baseline() -> f64 {
    3600.0
}
fn d_surge_factor() -> f64 {
    4.0
}
fn d_surge_min() -> f64 {
    3.0
}
fn d_alarm_mode() -> PostureMode {
    PostureMode::Scoped
}
fn d_scoped() -> f64 {
    3.0
}
fn d_inquiry() -> f64 {
    6.0
}
fn d_deferral() -> f64 {
    10.0
}
fn d_refusal() -> f64 {
    16.0
}
fn d_hysteresis() -> f64 {
    0.5
}
fn d_scoped_sensitivity() -> Level {
    Level::L4
}
fn d_inquiry_message() -> String {
    "Before I continue, could you tell me more about what you are trying to do? Please restate your request.".into()
}

impl PostureSpec {
    /// Problems with the section, all of them, as `(sub-field, message)`.
    pub fn validate(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut pos = |name: &str, v: f64| {
            if !(v.is_finite() && v > 0.0 && v <= 1e9) {
                out.push((name.to_string(), format!("must be a positive number of at most 1e9, got {v}")));
            }
        };
        pos("half_life_s", self.half_life_s);
        pos("rate_half_life_s", self.rate_half_life_s);
        pos("baseline_half_life_s", self.baseline_half_life_s);
        pos("surge_factor", self.surge_factor);
        pos("surge_min", self.surge_min);
        if !(self.rate_lookahead_s.is_finite() && (0.0..=1e9).contains(&self.rate_lookahead_s)) {
            out.push(("rate_lookahead_s".into(), format!("must be between 0 and 1e9, got {}", self.rate_lookahead_s)));
        }
        if !(self.hysteresis.is_finite() && self.hysteresis > 0.0 && self.hysteresis <= 1.0) {
            out.push(("hysteresis".into(), format!("must be in (0, 1], got {}", self.hysteresis)));
        }
        let t = &self.thresholds;
        let ladder = [("scoped", t.scoped), ("inquiry", t.inquiry), ("deferral", t.deferral), ("refusal", t.refusal)];
        let mut prev = 0.0;
        for (name, v) in ladder {
            if !(v.is_finite() && v > prev) {
                out.push((format!("thresholds.{name}"), format!("must be a number above the previous mode's threshold ({prev}), got {v}")));
            }
            if v.is_finite() {
                prev = v;
            }
        }
        for (k, w) in &self.weights {
            if !(w.is_finite() && *w >= 0.0 && *w <= 1e6) {
                out.push((format!("weights.{k}"), format!("must be between 0 and 1e6, got {w}")));
            }
            let known = k == "failed_open" || crate::detectors::is_known(k) || k.strip_suffix("/*").is_some_and(is_family);
            if !known {
                out.push((format!("weights.{k}"), format!("{k:?} is not a detector type, a family (\"pii/*\") or \"failed_open\"")));
            }
        }
        for (i, tool) in self.irreversible_tools.iter().enumerate() {
            if tool.trim().is_empty() {
                out.push((format!("irreversible_tools[{i}]"), "a tool name must not be empty".into()));
            }
        }
        if self.inquiry_message.trim().is_empty() {
            out.push(("inquiry_message".into(), "must not be empty".into()));
        }
        out
    }

    /// The weight of one detector type's detection.
    pub fn weight(&self, detector_type: &str) -> f64 {
        if let Some(w) = self.weights.get(detector_type) {
            return *w;
        }
        let family = detector_type.split_once('/').map(|(f, _)| format!("{f}/*"));
        family.and_then(|f| self.weights.get(&f).copied()).unwrap_or(1.0)
    }

    pub fn is_irreversible(&self, tool: &str) -> bool {
        self.irreversible_tools.iter().any(|t| t == tool)
    }
}

/// `moderated_content`, `pii`: a prefix some detector type has.
fn is_family(f: &str) -> bool {
    crate::detectors::MODEL_DETECTORS.iter().chain(crate::detectors::RULE_DETECTORS).any(|d| d.strip_prefix(f).is_some_and(|r| r.starts_with('/')))
}

/// What one screening contributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signal {
    /// `(source, amount)`: a detector type or `failed_open`, and its weighted contribution.
    pub parts: Vec<(String, f64)>,
}

impl Signal {
    /// The signal of a verdict: each detected type's weight, a model detector's times its score.
    pub fn of_verdict(spec: &PostureSpec, v: &crate::engine::Verdict) -> Signal {
        let parts = v
            .breakdown
            .iter()
            .filter(|b| b.detected)
            .map(|b| (b.detector_type.clone(), spec.weight(&b.detector_type) * b.score.unwrap_or(1.0)))
            .filter(|(_, a)| *a > 0.0)
            .collect();
        Signal { parts }
    }

    /// A request let through unscreened (fail open).
    pub fn failed_open(spec: &PostureSpec) -> Signal {
        let w = spec.weight("failed_open");
        Signal { parts: if w > 0.0 { vec![("failed_open".into(), w)] } else { Vec::new() } }
    }

    pub fn total(&self) -> f64 {
        self.parts.iter().map(|(_, a)| a).sum()
    }
}

/// A project's posture as stored (JSON in the host's shared store).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PostureState {
    /// When the state was last updated (ms since the Unix epoch, the host's clock).
    pub t_ms: u64,
    pub pressure: f64,
    pub recent: f64,
    pub baseline: f64,
    pub mode: PostureMode,
    pub alarm: bool,
    /// When the current mode was entered.
    pub since_ms: u64,
    /// Screenings integrated so far (every one, clean or not).
    pub screenings: u64,
    /// Signals integrated so far (screenings that contributed).
    pub signals: u64,
    /// Each source's share of the pressure, decayed like it.
    pub sources: BTreeMap<String, f64>,
}

/// The quantities derived from a state at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub pressure: f64,
    /// Signal per second, from the recent signal.
    pub rate: f64,
    /// How fast the pressure moves, per second (the rate term).
    pub trend: f64,
    pub baseline: f64,
    pub score: f64,
    pub alarm: bool,
}

/// A mode change or an alarm edge: logged, naming what drove it.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub from: PostureMode,
    pub to: PostureMode,
    pub alarm: bool,
    pub alarm_changed: bool,
    pub reading: Reading,
    /// The largest sources of the pressure, largest first.
    pub drivers: Vec<(String, f64)>,
    pub t_ms: u64,
}

fn decay(dt_s: f64, half_life_s: f64) -> f64 {
    // 2^(-dt/h); exp2 of a finite non-positive argument is in (0, 1].
    (-(dt_s / half_life_s)).exp2()
}

/// Below this a source's share is dropped, so the stored state stays small.
const NEGLIGIBLE: f64 = 1e-4;
/// Most sources kept per project (the largest).
const MAX_SOURCES: usize = 32;

impl PostureState {
    /// The state decayed to `now_ms` with `signal` added (a clock that went back counts as no time).
    pub fn advanced(&self, spec: &PostureSpec, now_ms: u64, signal: &Signal) -> PostureState {
        let now_ms = now_ms.max(self.t_ms);
        let dt = (now_ms - self.t_ms) as f64 / 1000.0;
        let d = decay(dt, spec.half_life_s);
        let dr = decay(dt, spec.rate_half_life_s);
        let db = decay(dt, spec.baseline_half_life_s);
        let old = self.pressure * d;
        let total = signal.total();
        let mut sources: BTreeMap<String, f64> =
            self.sources.iter().map(|(k, v)| (k.clone(), v * d)).filter(|(_, v)| *v >= NEGLIGIBLE).collect();
        for (k, a) in &signal.parts {
            *sources.entry(k.clone()).or_insert(0.0) += a;
        }
        if sources.len() > MAX_SOURCES {
            let mut v: Vec<(String, f64)> = sources.into_iter().collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(MAX_SOURCES);
            sources = v.into_iter().collect();
        }
        PostureState {
            t_ms: now_ms,
            pressure: old + total,
            recent: self.recent * dr + total,
            // The baseline follows the pressure as it was before this signal: a surge stands out.
            baseline: self.baseline * db + old * (1.0 - db),
            mode: self.mode,
            alarm: self.alarm,
            since_ms: self.since_ms,
            screenings: self.screenings + 1,
            signals: self.signals + u64::from(total > 0.0),
            sources,
        }
    }

    pub fn reading(&self, spec: &PostureSpec) -> Reading {
        let ln2 = std::f64::consts::LN_2;
        let rate = self.recent * ln2 / spec.rate_half_life_s;
        let trend = rate - self.pressure * ln2 / spec.half_life_s;
        let score = self.pressure + spec.rate_lookahead_s * trend.max(0.0);
        let alarm = self.pressure >= spec.surge_min && self.pressure >= spec.surge_factor * self.baseline;
        Reading { pressure: self.pressure, rate, trend, baseline: self.baseline, score, alarm }
    }

    /// The mode the reading calls for, from `current`, with hysteresis and the alarm floor.
    pub fn next_mode(spec: &PostureSpec, current: PostureMode, r: &Reading) -> PostureMode {
        let t = &spec.thresholds;
        let up = PostureMode::ALL.into_iter().rev().find(|m| r.score >= t.of(*m)).unwrap_or(PostureMode::Full);
        let mode = if up >= current {
            up
        } else {
            // Step down only as far as the hysteresis band allows.
            PostureMode::ALL.into_iter().rev().filter(|m| *m <= current).find(|m| r.score >= t.of(*m) * spec.hysteresis).unwrap_or(PostureMode::Full)
        };
        if r.alarm {
            mode.max(spec.alarm_mode)
        } else {
            mode
        }
    }

    /// The state after a screening at `now_ms` contributed `signal`, and the transition if the
    /// mode or the alarm changed.
    pub fn step(&self, spec: &PostureSpec, now_ms: u64, signal: &Signal) -> (PostureState, Option<Transition>) {
        let mut next = self.advanced(spec, now_ms, signal);
        let r = next.reading(spec);
        let mode = Self::next_mode(spec, self.mode, &r);
        let changed = mode != self.mode || r.alarm != self.alarm;
        next.mode = mode;
        next.alarm = r.alarm;
        if mode != self.mode {
            next.since_ms = next.t_ms;
        }
        let transition = changed.then(|| Transition {
            from: self.mode,
            to: mode,
            alarm: r.alarm,
            alarm_changed: r.alarm != self.alarm,
            reading: r,
            drivers: next.drivers(),
            t_ms: next.t_ms,
        });
        (next, transition)
    }

    /// What the state reads at `now_ms` with nothing added (the mode a screening now would see).
    pub fn view(&self, spec: &PostureSpec, now_ms: u64) -> (PostureMode, Reading) {
        let mut at = self.advanced(spec, now_ms, &Signal::default());
        at.screenings = self.screenings;
        let r = at.reading(spec);
        (Self::next_mode(spec, self.mode, &r), r)
    }

    /// The largest sources of the pressure (at most 5), largest first.
    pub fn drivers(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self.sources.iter().map(|(k, a)| (k.clone(), *a)).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(5);
        v
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A stored state; unreadable bytes (another version's layout) start afresh.
    pub fn from_bytes(b: &[u8]) -> PostureState {
        serde_json::from_slice(b).unwrap_or_default()
    }
}

/// The host's shared store: values with a compare-and-swap token, with proxy-wasm's shared-data
/// semantics (Envoy's, and `parapet`'s host): a write with token 0 is unconditional; a write
/// with another token succeeds only if the key's token is still that one.
pub trait PostureStore {
    /// The value under `key` and its token; `None` when the key was never written.
    fn load(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, String>;
    /// Writes `value` if the key's token is still `cas` (0: unconditionally). `Ok(false)`:
    /// someone wrote in between; read again.
    fn store(&self, key: &str, value: &[u8], cas: u32) -> Result<bool, String>;
}

/// Shared-data key of a project's posture (`None`: requests without a project).
pub fn key(project: Option<&str>) -> String {
    format!("parapet.posture.{}", project.unwrap_or(""))
}

/// Writes lost to another writer before this one gives up (each retry reads the newest state).
const MAX_CAS_RETRIES: usize = 64;

/// Creates a project's state if the store has none. Hosts call it at configure time, before the
/// VM serves, so the only unconditional write (token 0) never races a screening's update.
pub fn init(store: &dyn PostureStore, project: Option<&str>) -> Result<(), String> {
    let k = key(project);
    if store.load(&k)?.is_none() {
        store.store(&k, &PostureState::default().to_bytes(), 0)?;
    }
    Ok(())
}

/// Reads a project's state (a fresh one when never written or unreadable).
pub fn load(store: &dyn PostureStore, project: Option<&str>) -> Result<PostureState, String> {
    Ok(store.load(&key(project))?.map(|(b, _)| PostureState::from_bytes(&b)).unwrap_or_default())
}

/// Adds a screening's signal to a project's posture, atomically: read, step, compare-and-swap,
/// retried on a lost race. Returns the new state and the transition it caused.
pub fn record(store: &dyn PostureStore, spec: &PostureSpec, project: Option<&str>, now_ms: u64, signal: &Signal) -> Result<(PostureState, Option<Transition>), String> {
    let k = key(project);
    for _ in 0..MAX_CAS_RETRIES {
        let Some((bytes, cas)) = store.load(&k)? else {
            // Not created at configure time (a host that skipped `init`): create it, then update
            // it like any other state.
            init(store, project)?;
            continue;
        };
        let mut state = PostureState::from_bytes(&bytes);
        if state.t_ms == 0 {
            // A state created at configure time starts its clock at its first screening.
            state.t_ms = now_ms;
            state.since_ms = now_ms;
        }
        let (next, transition) = state.step(spec, now_ms, signal);
        // A token of 0 would make the write unconditional; proxy-wasm hosts never hand one out
        // for a key that exists.
        if cas != 0 && store.store(&k, &next.to_bytes(), cas)? {
            return Ok((next, transition));
        }
    }
    Err(format!("posture of {k}: {MAX_CAS_RETRIES} writes in a row lost to concurrent writers"))
}

/// A store for one thread or one isolate (the worker; tests).
#[derive(Debug, Default)]
pub struct LocalStore {
    map: std::cell::RefCell<BTreeMap<String, (Vec<u8>, u32)>>,
}

impl PostureStore for LocalStore {
    fn load(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, String> {
        Ok(self.map.borrow().get(key).cloned())
    }

    fn store(&self, key: &str, value: &[u8], cas: u32) -> Result<bool, String> {
        let mut map = self.map.borrow_mut();
        let current = map.get(key).map_or(0, |(_, c)| *c);
        if cas != 0 && current != cas {
            return Ok(false);
        }
        map.insert(key.to_string(), (value.to_vec(), current.wrapping_add(1).max(1)));
        Ok(true)
    }
}

/// Rounds for display (headers, `/v2/posture`, logs): three decimals.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests;
