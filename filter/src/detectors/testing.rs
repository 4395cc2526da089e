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
        assert!(scanned.is_ok(), "scan panicked on input {s:?}");
        let Ok((n, out)) = scanned else { continue };
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
