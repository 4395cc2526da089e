//! Counters and histograms, all defined once at configure time; Envoy shows them with the prefix
//! `wasmcustom.` (and drops it in `/stats/prometheus`).
//!
//! Two families:
//! - totals over all traffic, unlabelled: `parapet.requests`, `parapet.<outcome>`,
//!   `parapet.detected.<type>`, `parapet.responses`, `parapet.response.*`,
//!   `parapet.guard_requests`, and the histogram `parapet.guard_latency_us`; the scoring
//!   service's `parapet.offload.calls` and `parapet.offload.fallbacks`;
//! - the same per project, policy and direction, in names Envoy's tag extraction splits into
//!   labels (`envoy/stats-tags.yaml`):
//!   `parapet.screen.project.<p>.policy.<q>.direction.<input|output>.<counter>`,
//!   `....detector.<type>.detected`, and the histogram `....latency_us`. With the tag
//!   regexes they become `parapet_screen_<counter>{project,policy,direction}`,
//!   `parapet_screen_detected{...,detector}` and `parapet_screen_latency_us`.
//!
//! - per project whose policy keeps a threat posture:
//!   `parapet.posture.project.<p>.mode` (gauge, 0 `full` .. 4 `refusal`),
//!   `parapet.posture.project.<p>.score_milli` (gauge, the score times 1000) and
//!   `parapet.posture.project.<p>.transitions` (counter), as `parapet_posture_mode{project}` ...
//!
//! Every series is defined when the configuration is accepted: the projects, their policies and
//! the detectors each policy runs on each side are known then. The request path only looks up a
//! metric id and bumps it.

use std::time::{Duration, SystemTime};

use parapet_filter::config::Policy;
use parapet_filter::govern::PostureNote;
use parapet_filter::detectors::{MODEL_DETECTORS, RULE_DETECTORS};
use parapet_filter::{Config, Outcome};
use proxy_wasm::hostcalls::{define_metric, increment_metric, record_metric};
use proxy_wasm::types::MetricType;

/// Project label of requests that name no project (screened under `default_policy`).
pub const NO_PROJECT: &str = "_none";
/// Project label of requests whose project is not known: an unconfigured project id, or an API
/// key bound to none. Their policy label is [`NO_POLICY`].
pub const UNKNOWN_PROJECT: &str = "_unknown";
pub const NO_POLICY: &str = "_none";

/// The counters of each labelled series, in the order they are defined.
/// `inquiry`, `deferred` and `refused` count requests the project's posture answered itself.
pub const COUNTERS: [&str; 10] = ["requests", "clean", "flagged", "blocked", "masked", "failed_open", "rejected", "inquiry", "deferred", "refused"];

/// A name as it goes into one segment of a stat name: ASCII letters, digits, `_` and `-` stay,
/// anything else becomes `_`. A `.` would split the segment for tag extraction, `:` and `|`
/// break statsd lines, and the Prometheus exporter would rewrite most others anyway.
/// Detector types map one to one (`pii/email` → `pii_email`,
/// `moderated_content/self_harm` → `moderated_content_self_harm`).
pub fn label(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' }).collect()
}

/// Which way the screened text went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A request (user and tool messages).
    Input,
    /// A model response.
    Output,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

/// The stat name prefix of one labelled series (ends with `.`).
pub fn series_prefix(project: &str, policy: &str, direction: Direction) -> String {
    format!("parapet.screen.project.{}.policy.{}.direction.{}.", label(project), label(policy), direction.as_str())
}

/// Every stat name of one labelled series: the counters, then one `detected` counter per
/// detector type, then the latency histogram.
pub fn series_names(project: &str, policy: &str, direction: Direction, detectors: &[&str]) -> Vec<String> {
    let p = series_prefix(project, policy, direction);
    COUNTERS
        .iter()
        .map(|c| format!("{p}{c}"))
        .chain(detectors.iter().map(|d| format!("{p}detector.{}.detected", label(d))))
        .chain(std::iter::once(format!("{p}latency_us")))
        .collect()
}

fn counter(name: &str) -> Option<u32> {
    // A host that refuses a metric must not stop the filter: the counter is just absent.
    define_metric(MetricType::Counter, name).ok()
}

fn histogram(name: &str) -> Option<u32> {
    define_metric(MetricType::Histogram, name).ok()
}

fn gauge(name: &str) -> Option<u32> {
    define_metric(MetricType::Gauge, name).ok()
}

fn set(id: Option<u32>, value: u64) {
    if let Some(id) = id {
        record_metric(id, value).ok();
    }
}

fn bump(id: Option<u32>) {
    if let Some(id) = id {
        increment_metric(id, 1).ok();
    }
}

fn record_us(id: Option<u32>, took: Option<Duration>) {
    if let (Some(id), Some(took)) = (id, took) {
        record_metric(id, u64::try_from(took.as_micros()).unwrap_or(u64::MAX)).ok();
    }
}

/// The host's clock (proxy-wasm offers only wall-clock time); `None` if it is not available.
pub fn now() -> Option<SystemTime> {
    proxy_wasm::hostcalls::get_current_time().ok()
}

/// Time since `start` (from [`now`]); `None` without a clock or if the clock went back.
pub fn since(start: Option<SystemTime>) -> Option<Duration> {
    now()?.duration_since(start?).ok()
}

/// Outcome counters under one prefix, shared by both families.
struct Outcomes {
    requests: Option<u32>,
    clean: Option<u32>,
    flagged: Option<u32>,
    blocked: Option<u32>,
    masked: Option<u32>,
    failed_open: Option<u32>,
    rejected: Option<u32>,
    inquiry: Option<u32>,
    deferred: Option<u32>,
    refused: Option<u32>,
    /// `(detector type, counter)`, sorted by type.
    detected: Vec<(String, Option<u32>)>,
}

impl Outcomes {
    fn count(&self, o: Outcome, detected: &[String]) {
        bump(self.requests);
        bump(match o {
            Outcome::Clean => self.clean,
            Outcome::Flagged => self.flagged,
            Outcome::Blocked => self.blocked,
            Outcome::Rejected => self.rejected,
            Outcome::FailedOpen => self.failed_open,
            Outcome::Masked => self.masked,
            Outcome::Inquiry => self.inquiry,
            Outcome::Deferred => self.deferred,
            Outcome::Refused => self.refused,
        });
        // `flagged` counts every flagged request, whether monitor forwarded it, block refused it
        // or mask rewrote it.
        if matches!(o, Outcome::Blocked | Outcome::Masked) {
            bump(self.flagged);
        }
        for d in detected {
            if let Ok(i) = self.detected.binary_search_by(|(t, _)| t.as_str().cmp(d.as_str())) {
                bump(self.detected.get(i).and_then(|(_, id)| *id));
            }
        }
    }
}

/// One project (or `_none` / `_unknown`), both directions.
struct Series {
    project: String,
    input: Side,
    output: Side,
}

struct Side {
    outcomes: Outcomes,
    latency: Option<u32>,
}

impl Side {
    fn define(project: &str, policy: &str, direction: Direction, detectors: &[&str]) -> Side {
        let names = series_names(project, policy, direction, detectors);
        let id = |i: usize| names.get(i).and_then(|n| counter(n));
        let mut detected: Vec<(String, Option<u32>)> =
            detectors.iter().enumerate().map(|(i, d)| (d.to_string(), id(COUNTERS.len() + i))).collect();
        detected.sort_by(|a, b| a.0.cmp(&b.0));
        Side {
            outcomes: Outcomes {
                requests: id(0),
                clean: id(1),
                flagged: id(2),
                blocked: id(3),
                masked: id(4),
                failed_open: id(5),
                rejected: id(6),
                inquiry: id(7),
                deferred: id(8),
                refused: id(9),
                detected,
            },
            latency: names.last().and_then(|n| histogram(n)),
        }
    }
}

impl Series {
    fn define(project: &str, policy: Option<&Policy>) -> Series {
        let (policy_label, input, output) = match policy {
            Some(p) => {
                let on = |input: bool| -> Vec<&str> {
                    p.detectors
                        .iter()
                        .filter(|d| if input { d.input_settings().next().is_some() } else { d.output.is_some() })
                        .map(|d| d.detector_type.as_str())
                        .collect()
                };
                (p.id.as_str(), on(true), on(false))
            }
            None => (NO_POLICY, Vec::new(), Vec::new()),
        };
        Series {
            project: project.to_string(),
            input: Side::define(project, policy_label, Direction::Input, &input),
            output: Side::define(project, policy_label, Direction::Output, &output),
        }
    }

    fn side(&self, d: Direction) -> &Side {
        match d {
            Direction::Input => &self.input,
            Direction::Output => &self.output,
        }
    }
}

/// Which labelled series a screening counts under (from [`Metrics::series`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeriesId(usize);

pub struct Metrics {
    requests: Option<u32>,
    guard_requests: Option<u32>,
    guard_latency: Option<u32>,
    offload_calls: Option<u32>,
    offload_fallbacks: Option<u32>,
    totals: Outcomes,
    responses: Option<u32>,
    response_totals: Outcomes,
    /// `_none`, `_unknown`, then every configured project sorted by id.
    series: Vec<Series>,
    /// Projects whose policy keeps a posture (`None`: no project), sorted.
    posture: Vec<(Option<String>, PostureIds)>,
}

struct PostureIds {
    mode: Option<u32>,
    score_milli: Option<u32>,
    transitions: Option<u32>,
}

/// The stat name prefix of a project's posture metrics (ends with `.`).
pub fn posture_prefix(project: Option<&str>) -> String {
    format!("parapet.posture.project.{}.", label(project.unwrap_or(NO_PROJECT)))
}

const NONE_SERIES: SeriesId = SeriesId(0);
const UNKNOWN_SERIES: SeriesId = SeriesId(1);

fn totals(p: &str) -> Outcomes {
    let mut types: Vec<&'static str> = MODEL_DETECTORS.iter().chain(RULE_DETECTORS).copied().collect();
    types.sort_unstable();
    Outcomes {
        requests: None,
        clean: counter(&format!("{p}clean")),
        flagged: counter(&format!("{p}flagged")),
        blocked: counter(&format!("{p}blocked")),
        masked: counter(&format!("{p}masked")),
        failed_open: counter(&format!("{p}failed_open")),
        rejected: counter(&format!("{p}rejected")),
        inquiry: counter(&format!("{p}inquiry")),
        deferred: counter(&format!("{p}deferred")),
        refused: counter(&format!("{p}refused")),
        detected: types.into_iter().map(|t| (t.to_string(), counter(&format!("{p}detected.{}", t.replace('/', "."))))).collect(),
    }
}

impl Metrics {
    /// Defines every metric for `config`: called once per accepted configuration.
    pub fn define(config: &Config) -> Metrics {
        let mut series = vec![
            Series::define(NO_PROJECT, config.policies.get(&config.default_policy)),
            Series::define(UNKNOWN_PROJECT, None),
        ];
        // `projects` is a sorted map, so the projects stay sorted for the lookup.
        series.extend(config.projects.iter().map(|(project, policy)| Series::define(project, config.policies.get(policy))));
        Metrics {
            requests: counter("parapet.requests"),
            guard_requests: counter("parapet.guard_requests"),
            guard_latency: histogram("parapet.guard_latency_us"),
            offload_calls: counter("parapet.offload.calls"),
            offload_fallbacks: counter("parapet.offload.fallbacks"),
            totals: totals("parapet."),
            responses: counter("parapet.responses"),
            response_totals: totals("parapet.response."),
            series,
            posture: config
                .posture_projects()
                .into_iter()
                .map(|p| {
                    let pre = posture_prefix(p.as_deref());
                    let ids = PostureIds {
                        mode: gauge(&format!("{pre}mode")),
                        score_milli: gauge(&format!("{pre}score_milli")),
                        transitions: counter(&format!("{pre}transitions")),
                    };
                    (p, ids)
                })
                .collect(),
        }
    }

    /// A project's posture after a screening: its mode and score gauges, its transitions.
    pub fn posture(&self, note: &PostureNote) {
        let Some((_, ids)) = self.posture.iter().find(|(p, _)| *p == note.project) else { return };
        set(ids.mode, u64::from(note.mode.rank()));
        // `as` from f64 saturates; a score is never negative.
        set(ids.score_milli, (note.reading.score * 1000.0).round() as u64);
        if note.transition.as_ref().is_some_and(|t| t.from != t.to) {
            bump(ids.transitions);
        }
    }

    /// The series of a request for `project` (as [`parapet_filter::Guard::identify`] found it):
    /// `_none` without a project, `_unknown` for a project that is not configured.
    pub fn series(&self, project: Option<&str>) -> SeriesId {
        let Some(p) = project else { return NONE_SERIES };
        let projects = self.series.get(2..).unwrap_or_default();
        projects.binary_search_by(|s| s.project.as_str().cmp(p)).map_or(UNKNOWN_SERIES, |i| SeriesId(i + 2))
    }

    /// The series of a request whose caller could not be identified (e.g. an unknown API key).
    pub fn unknown(&self) -> SeriesId {
        UNKNOWN_SERIES
    }

    /// A request on a screened path (`parapet.requests`, guard endpoint calls included).
    pub fn request(&self) {
        bump(self.requests);
    }

    /// A body's model windows sent to the scoring service (`parapet.offload.calls`).
    pub fn offload_call(&self) {
        bump(self.offload_calls);
    }

    /// A scoring call that failed, so the fallback decided (`parapet.offload.fallbacks`).
    pub fn offload_fallback(&self) {
        bump(self.offload_fallbacks);
    }

    /// A guard endpoint call (`parapet.guard_requests`).
    pub fn guard_request(&self) {
        bump(self.guard_requests);
    }

    /// How long the core took to answer a guard endpoint call (`parapet.guard_latency_us`).
    pub fn guard_latency(&self, took: Option<Duration>) {
        record_us(self.guard_latency, took);
    }

    /// A response that is screened (`parapet.responses`).
    pub fn response(&self) {
        bump(self.responses);
    }

    /// How screening a request ended (`parapet.<outcome>`, `parapet.detected.*` and the
    /// input side of `s`); `took`: time spent in the core, `None` when nothing was screened.
    pub fn outcome(&self, s: SeriesId, o: Outcome, detected: &[String], took: Option<Duration>) {
        self.totals.count(o, detected);
        self.labelled(s, Direction::Input, o, detected, took);
    }

    /// How screening a response ended (`parapet.response.*` and the output side of `s`).
    pub fn response_outcome(&self, s: SeriesId, o: Outcome, detected: &[String], took: Option<Duration>) {
        self.response_totals.count(o, detected);
        self.labelled(s, Direction::Output, o, detected, took);
    }

    fn labelled(&self, s: SeriesId, d: Direction, o: Outcome, detected: &[String], took: Option<Duration>) {
        if let Some(series) = self.series.get(s.0) {
            let side = series.side(d);
            side.outcomes.count(o, detected);
            record_us(side.latency, took);
        }
    }
}

#[cfg(test)]
mod tests;
