use super::*;
use crate::detectors::testing::{assert_scan_invariants, only, scan_str, texts, NUMERIC_FRAGMENTS};

fn hits(s: &str) -> Vec<String> {
    texts(&Ssn::new().unwrap(), s)
}

fn level(s: &str) -> Option<Level> {
    let h = scan_str(&Ssn::new().unwrap(), s);
    assert!(h.len() <= 1, "{s:?} -> {h:?}");
    h.first().map(|h| h.1)
}

#[test]
fn compiles() {
    assert!(Ssn::new().is_ok());
}

#[test]
fn formats_and_levels() {
    assert_eq!(hits("my number is 536-22-1234."), vec!["536-22-1234"]);
    assert_eq!(level("536-22-1234"), Some(Level::L1));
    assert_eq!(level("list: 536 22 1234"), Some(Level::L2));
    assert_eq!(level("SSN: 536 22 1234"), Some(Level::L1));
    assert_eq!(level("SSN#536221234"), Some(Level::L2));
    assert_eq!(level("social security number 536221234"), Some(Level::L2));
    assert_eq!(level("536221234 (ssn)"), Some(Level::L2));
    assert_eq!(level("soc. sec. 536221234"), Some(Level::L2));
    assert_eq!(level("ref 536221234"), Some(Level::L4));
    assert_eq!(hits("a 536-22-1234 b 601-12-0001"), vec!["536-22-1234", "601-12-0001"]);
    // A rejected candidate does not hide the number after it.
    assert_eq!(hits("123 45 536-22-1234"), vec!["536-22-1234"]);
}

#[test]
fn unissuable_numbers_are_rejected() {
    for s in ["000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "536-00-1234", "536-22-0000"] {
        assert!(hits(s).is_empty(), "{s}");
    }
    // The 987-65-432x advertising block is in the 9xx area.
    assert!(hits("987-65-4320").is_empty());
}

#[test]
fn known_examples_are_l4() {
    for s in ["078-05-1120", "219-09-9999", "123-45-6789", "SSN 123456789", "111-11-1111", "222 22 2222"] {
        let (_, level, labels) = only(&Ssn::new().unwrap(), s);
        assert_eq!((level, labels), (Level::L4, vec!["example".to_string()]), "{s}");
    }
}

#[test]
fn non_ascii_surroundings() {
    assert_eq!(hits("Mon numéro de sécurité sociale américain est 536-22-1234, d'accord ?"), vec!["536-22-1234"]);
    assert_eq!(hits("社会保障番号は536-22-1234です"), vec!["536-22-1234"]);
    // Context word before a multi-byte prefix: the window must respect char boundaries.
    assert_eq!(level("SSN → «536221234»"), Some(Level::L2));
    assert_eq!(level("ééééééééééééééééééééééééééééééééé536221234"), Some(Level::L4));
}

#[test]
fn hard_negatives() {
    // Phone numbers.
    assert!(hits("call 415-555-2671 or (415) 555-2671 or 4155552671 or +1 536 22 1234").is_empty());
    assert!(hits("1-536-22-1234 and 536-22-1234-5").is_empty());
    // ZIP+4 and dates.
    assert!(hits("Springfield, IL 62704-1234 on 2024-01-15 or 15.01.2024").is_empty());
    // Part of longer digit runs or words.
    assert!(hits("order 5362212345 and 15362212345 and A536-22-1234 and 536-22-1234x").is_empty());
    assert!(hits("12 536 22 1234 and 536 22 1234 5").is_empty());
    assert!(hits("price 1.536221234 or 536221234.50").is_empty());
    // Mixed separators.
    assert!(hits("536-22 1234 and 536 22-1234").is_empty());
}

/// Pseudo-random inputs from this alphabet keep the scan invariants (see the helper).
#[test]
fn fuzz_invariants() {
    let alphabet = [NUMERIC_FRAGMENTS, &["ssn ", "666"]].concat();
    assert_scan_invariants(&Ssn::new().unwrap(), &alphabet, 3000, 48);
}
