//! The detector seam.
//!
//! A detector scans one normalised message and reports findings; the engine decides, from the
//! policy's sensitivity, which findings count. Detectors are built once when the config is
//! compiled (regexes compiled, lexicons indexed) and shared read-only by every request.
//!
//! Model-backed detectors (`prompt_attack`, the moderation heads) are heads of one classifier
//! ([`crate::model`]) scored once per message for all heads; they compile to [`Built::Model`].
//! If the model cannot be loaded they are reported as unavailable, never skipped silently.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::policy::{Level, PolicySpec};
use crate::text::NormText;

pub mod address;
pub mod credit_card;
pub mod custom;
pub mod email;
pub mod iban;
pub mod ip;
pub mod links;
pub mod phone;
pub mod profanity;
pub mod secrets;
pub mod ssn;

/// One match, as a byte range of [`NormText::text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    /// The lowest sensitivity at which this finding is reported: `L1` for certain matches,
    /// `L4` for matches only a paranoid policy wants.
    pub level: Level,
    /// Sub-kind, e.g. the secret kind (`aws_access_key_id`) or the custom rule's name.
    pub labels: Vec<String>,
}

pub trait Detector: Send + Sync {
    /// Appends this detector's findings in `text` to `out`, in order of position.
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>);

    /// As `scan`, for detectors that can fail (a model that cannot run). `Err` makes the request
    /// unscreenable: the policy's `fail_mode` decides. Rule detectors cannot fail.
    fn try_scan(&self, text: &NormText, out: &mut Vec<Finding>) -> Result<(), String> {
        self.scan(text, out);
        Ok(())
    }
}

/// Detectors backed by the classifier model (the heads of [`crate::model::HEADS`]).
pub const MODEL_DETECTORS: &[&str] = &[
    "prompt_attack",
    "moderated_content/crime",
    "moderated_content/hate",
    "moderated_content/self_harm",
    "moderated_content/sexual",
    "moderated_content/violence",
    "moderated_content/weapons",
];

/// Detectors implemented by rules in this crate.
pub const RULE_DETECTORS: &[&str] = &[
    "moderated_content/profanity",
    "pii/address",
    "pii/credit_card",
    "pii/custom",
    "pii/email",
    "pii/iban_code",
    "pii/ip_address",
    "pii/phone_number",
    "pii/secret",
    "pii/us_social_security_number",
    "unknown_links",
];

/// Detectors whose findings are replaced in logged content, whatever the policy runs: every
/// `pii/*` rule detector (a policy's own `pii/custom` patterns are added to these).
pub fn log_masked() -> impl Iterator<Item = &'static str> {
    RULE_DETECTORS.iter().copied().filter(|t| t.starts_with("pii/") && *t != "pii/custom")
}

pub fn is_known(name: &str) -> bool {
    MODEL_DETECTORS.contains(&name) || RULE_DETECTORS.contains(&name)
}

/// What a policy's detector entry compiles to.
pub enum Built {
    Ready(Arc<dyn Detector>),
    /// A head of the guard model, by index into [`crate::model::HEADS`].
    Model(usize),
    /// Known detector type, but this build cannot run it.
    Unavailable,
}

/// Stateless detectors are compiled once per config and shared by every policy.
#[derive(Default)]
pub struct Shared {
    cache: BTreeMap<&'static str, Arc<dyn Detector>>,
}

impl Shared {
    fn get<D, F>(&mut self, name: &'static str, make: F) -> Result<Arc<dyn Detector>, String>
    where
        D: Detector + 'static,
        F: FnOnce() -> Result<D, String>,
    {
        if let Some(d) = self.cache.get(name) {
            return Ok(Arc::clone(d));
        }
        let d: Arc<dyn Detector> = Arc::new(make()?);
        self.cache.insert(name, Arc::clone(&d));
        Ok(d)
    }
}

/// Compiles detector `name` for `policy`. `Err` carries a message for the config error.
pub fn build(name: &str, policy: &PolicySpec, shared: &mut Shared) -> Result<Built, String> {
    let d = match name {
        "pii/email" => shared.get("pii/email", email::Email::new)?,
        "pii/phone_number" => shared.get("pii/phone_number", phone::Phone::new)?,
        "pii/credit_card" => shared.get("pii/credit_card", credit_card::CreditCard::new)?,
        "pii/iban_code" => shared.get("pii/iban_code", iban::Iban::new)?,
        "pii/us_social_security_number" => shared.get("pii/us_social_security_number", ssn::Ssn::new)?,
        "pii/ip_address" => shared.get("pii/ip_address", ip::IpAddress::new)?,
        "pii/address" => shared.get("pii/address", address::Address::new)?,
        "pii/secret" => shared.get("pii/secret", secrets::Secrets::new)?,
        "moderated_content/profanity" => shared.get("moderated_content/profanity", profanity::Profanity::new)?,
        "pii/custom" => Arc::new(custom::Custom::new(&policy.custom_patterns)?),
        "unknown_links" => Arc::new(links::UnknownLinks::new(&policy.allowed_domains, policy.builtin_allowlist)?),
        n if MODEL_DETECTORS.contains(&n) => {
            let head = crate::model::HEADS.iter().position(|h| *h == n);
            return Ok(match (head, crate::model::shared()) {
                (Some(h), Ok(_)) => Built::Model(h),
                _ => Built::Unavailable,
            });
        }
        n => return Err(format!("unknown detector type {n:?}")),
    };
    Ok(Built::Ready(d))
}

/// Helpers shared by the detector unit tests.
#[cfg(test)]
pub mod testing {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::{Detector, Finding};
    use crate::policy::Level;
    use crate::text::NormText;

    /// One finding as (matched text, level, labels).
    pub type ScanHit = (String, Level, Vec<String>);

    /// Runs a detector over a plain string.
    pub fn scan_str(d: &dyn Detector, s: &str) -> Vec<ScanHit> {
        let (n, out) = findings(d, s);
        out.into_iter().map(|f| (n.text[f.start..f.end].to_string(), f.level, f.labels)).collect()
    }

    /// The normalised text of `s` and the raw findings in it.
    pub fn findings(d: &dyn Detector, s: &str) -> (NormText, Vec<Finding>) {
        let n = NormText::new(s);
        let mut out = Vec::new();
        d.scan(&n, &mut out);
        (n, out)
    }

    /// The matched texts only.
    pub fn texts(d: &dyn Detector, s: &str) -> Vec<String> {
        scan_str(d, s).into_iter().map(|h| h.0).collect()
    }

    /// The single finding in `s`; fails, showing `s` and the findings, unless there is exactly one.
    pub fn only(d: &dyn Detector, s: &str) -> ScanHit {
        let mut h = scan_str(d, s);
        assert_eq!(h.len(), 1, "{s:?} -> {h:?}");
        h.remove(0)
    }

    /// Fails, showing `s` and the findings, if there is any.
    pub fn assert_none(d: &dyn Detector, s: &str) {
        let h = scan_str(d, s);
        assert!(h.is_empty(), "{s:?} -> {h:?}");
    }

    /// A finding with its labels joined by commas, for comparing with a literal.
    pub fn joined((text, level, labels): ScanHit) -> (String, Level, String) {
        (text, level, labels.join(","))
    }

    /// Fragments for the number-shaped detectors: digits, separators, non-ASCII and invisible
    /// characters (the space twice, so it comes up more often).
    pub const NUMERIC_FRAGMENTS: &[&str] = &[
        "0", "1", "2", "4", "5", "7", "9", "00", "123", "4111", " ", " ", "-", ".", "(", ")", "+", "/", ":", ",", "#", "é", "日",
        "\u{a0}", "\u{200b}", "\n", "a", "Z",
    ];

    /// Tricky fragments from every text-shaped detector's domain: URLs, secret prefixes, PEM
    /// armour, profanity, homoglyphs, combining marks, emoji.
    pub const MIXED_FRAGMENTS: &[&str] = &[
        "a", "s", "h", "i", "t", "f", "u", "c", "k", "@", "$", "*", ".", " ", "-", "_", "é", "ü", "\u{0430}", "好", "🙂", "\u{200b}",
        "/", ":", "=", "\"", "'", "0", "1", "3", "\n", "http://", "https://", "www.", ".xyz/", "sk-", "ghp_", "AKIA", "eyJ",
        "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "xn--", "password=", "postgres://u:p@h/", "(", ")", "[", "]",
        "Server=x;Password=y;", "\\n", "%", "#", "?", "&", "ss", "fuck", "shit", "\u{0301}", "Ａ",
    ];

    /// Scans `cases` deterministic pseudo-random strings of up to `max_parts` fragments from
    /// `alphabet` and asserts, for each, that the scan does not panic and that its findings are
    /// non-empty (`start < end`), on char boundaries of [`NormText::text`] (so slicing the text
    /// with them cannot panic), sorted (`start`s strictly increasing) and disjoint. Every
    /// failure names the input string.
    pub fn assert_scan_invariants(d: &dyn Detector, alphabet: &[&str], cases: usize, max_parts: usize) {
        assert!(!alphabet.is_empty());
        // 64-bit LCG (Knuth's MMIX constants); the high bits are the random ones.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut below = |n: usize| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) as usize % n
        };
        for _ in 0..cases {
            let parts = below(max_parts + 1);
            let s: String = (0..parts).map(|_| alphabet[below(alphabet.len())]).collect();
            let scanned = catch_unwind(AssertUnwindSafe(|| findings(d, &s)));
            let Ok((n, out)) = scanned else { panic!("scan panicked on input {s:?}") };
            for f in &out {
                assert!(
                    f.start < f.end && n.text.is_char_boundary(f.start) && n.text.is_char_boundary(f.end),
                    "finding {}..{} is empty or off the char boundaries of {:?}, for input {s:?}",
                    f.start,
                    f.end,
                    n.text
                );
            }
            for w in out.windows(2) {
                assert!(
                    w[0].start < w[1].start && w[0].end <= w[1].start,
                    "findings {}..{} and {}..{} are out of order or overlap, for input {s:?}",
                    w[0].start,
                    w[0].end,
                    w[1].start,
                    w[1].end
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::testing::{assert_scan_invariants, MIXED_FRAGMENTS, NUMERIC_FRAGMENTS};
    use super::*;
    use crate::policy::CustomPatternSpec;

    /// Every rule detector, built the way a config builds it, keeps the scan invariants on a mix
    /// of all the detectors' fragments: a new detector is covered once it is in `RULE_DETECTORS`.
    #[test]
    fn every_rule_detector_keeps_the_scan_invariants() {
        let policy = PolicySpec {
            description: String::new(),
            sensitivity: Level::L4,
            detectors: RULE_DETECTORS.iter().map(|n| (n.to_string(), Default::default())).collect(),
            custom_patterns: vec![CustomPatternSpec {
                name: "ticket".into(),
                pattern: r"\bTICKET-\d{3,}\b".into(),
                case_insensitive: true,
            }],
            allowed_domains: vec!["corp.example".into()],
            builtin_allowlist: true,
            mode: None,
            fail_mode: None,
            posture: None,
            input: None,
            output: None,
            first_stage: None,
        };
        let extras = [
            " Main", " St", " Ave", ", IL", " Springfield", "PO Box", " Apt", "::", "ff", "fe80", "255", "192.168", "/24", "v",
            "DE", "GB", "NL", "ab", "WEST", "89", "ssn ", "666", "call ", "tel", "TICKET-", "ticket-", "corp.example",
            ".corp.example/", "bob@", "example.com", " [at] ", " [dot] ",
        ];
        let alphabet = [NUMERIC_FRAGMENTS, MIXED_FRAGMENTS, &extras].concat();
        let mut shared = Shared::default();
        for &name in RULE_DETECTORS {
            let d = match build(name, &policy, &mut shared) {
                Ok(Built::Ready(d)) => d,
                Ok(Built::Unavailable | Built::Model(_)) => panic!("{name}: not a rule detector"),
                Err(e) => panic!("{name}: {e}"),
            };
            let kept = catch_unwind(AssertUnwindSafe(|| assert_scan_invariants(&*d, &alphabet, 3000, 48)));
            assert!(kept.is_ok(), "{name} breaks a scan invariant (the failure is above)");
        }
    }
}
