//! Counters, defined once at configure time and shown by Envoy as `wasmcustom.parapet.*`.

use parapet_filter::detectors::{MODEL_DETECTORS, RULE_DETECTORS};
use parapet_filter::Outcome;
use proxy_wasm::hostcalls::{define_metric, increment_metric};
use proxy_wasm::types::MetricType;

pub struct Metrics {
    requests: Option<u32>,
    guard_requests: Option<u32>,
    clean: Option<u32>,
    flagged: Option<u32>,
    blocked: Option<u32>,
    rejected: Option<u32>,
    failed_open: Option<u32>,
    masked: Option<u32>,
    /// `(detector type, counter)`, sorted by type.
    detected: Vec<(&'static str, Option<u32>)>,
}

fn counter(name: &str) -> Option<u32> {
    // A host that refuses a metric must not stop the filter: the counter is just absent.
    define_metric(MetricType::Counter, name).ok()
}

fn bump(id: Option<u32>) {
    if let Some(id) = id {
        increment_metric(id, 1).ok();
    }
}

impl Metrics {
    pub fn define() -> Metrics {
        let mut types: Vec<&'static str> = MODEL_DETECTORS.iter().chain(RULE_DETECTORS).copied().collect();
        types.sort_unstable();
        Metrics {
            requests: counter("parapet.requests"),
            guard_requests: counter("parapet.guard_requests"),
            clean: counter("parapet.clean"),
            flagged: counter("parapet.flagged"),
            blocked: counter("parapet.blocked"),
            rejected: counter("parapet.rejected"),
            failed_open: counter("parapet.failed_open"),
            masked: counter("parapet.masked"),
            detected: types.into_iter().map(|t| (t, counter(&format!("parapet.detected.{}", t.replace('/', "."))))).collect(),
        }
    }

    pub fn request(&self) {
        bump(self.requests);
    }

    pub fn guard_request(&self) {
        bump(self.guard_requests);
    }

    pub fn outcome(&self, o: Outcome, detected: &[String]) {
        bump(match o {
            Outcome::Clean => self.clean,
            Outcome::Flagged => self.flagged,
            Outcome::Blocked => self.blocked,
            Outcome::Rejected => self.rejected,
            Outcome::FailedOpen => self.failed_open,
            Outcome::Masked => self.masked,
        });
        // `flagged` counts every flagged request, whether monitor forwarded it, block refused it
        // or mask rewrote it.
        if matches!(o, Outcome::Blocked | Outcome::Masked) {
            bump(self.flagged);
        }
        for d in detected {
            if let Ok(i) = self.detected.binary_search_by(|(t, _)| t.cmp(&d.as_str())) {
                bump(self.detected.get(i).and_then(|(_, id)| *id));
            }
        }
    }
}
