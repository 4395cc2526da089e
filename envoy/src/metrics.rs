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
    /// The same counters for screened responses (`parapet.response.*`).
    response: Option<Box<Metrics>>,
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
        let mut m = Metrics::with_prefix("parapet.", "parapet.requests");
        m.response = Some(Box::new(Metrics::with_prefix("parapet.response.", "parapet.responses")));
        m
    }

    /// `total` counts what is screened; the outcome counters are named `<p><outcome>`.
    fn with_prefix(p: &str, total: &str) -> Metrics {
        let mut types: Vec<&'static str> = MODEL_DETECTORS.iter().chain(RULE_DETECTORS).copied().collect();
        types.sort_unstable();
        Metrics {
            requests: counter(total),
            guard_requests: if p == "parapet." { counter("parapet.guard_requests") } else { None },
            clean: counter(&format!("{p}clean")),
            flagged: counter(&format!("{p}flagged")),
            blocked: counter(&format!("{p}blocked")),
            rejected: counter(&format!("{p}rejected")),
            failed_open: counter(&format!("{p}failed_open")),
            masked: counter(&format!("{p}masked")),
            detected: types.into_iter().map(|t| (t, counter(&format!("{p}detected.{}", t.replace('/', "."))))).collect(),
            response: None,
        }
    }

    /// A response that is screened (`parapet.responses`).
    pub fn response(&self) {
        if let Some(r) = &self.response {
            r.request();
        }
    }

    /// How screening a response ended (`parapet.response.<outcome>`, `.detected.*`).
    pub fn response_outcome(&self, o: Outcome, detected: &[String]) {
        if let Some(r) = &self.response {
            r.outcome(o, detected);
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
