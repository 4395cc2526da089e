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
        tool: None,
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
