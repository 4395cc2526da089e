//! Every rule detector on arbitrary text: findings are ordered, in bounds, on char boundaries,
//! and map back into the original text.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use parapet_filter::detectors::Finding;
use parapet_filter::text::NormText;
use parapet_filter::Guard;

#[path = "common.rs"]
mod common;

static GUARD: OnceLock<Guard> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let g = GUARD.get_or_init(|| common::guard("block"));
    let norm = NormText::new(text);
    let chars = text.chars().count();
    let Some(policy) = g.config().policies.get("rules") else { return };
    let mut out: Vec<Finding> = Vec::new();
    for d in &policy.detectors {
        let Some(imp) = &d.imp else { continue };
        out.clear();
        imp.scan(&norm, &mut out);
        for f in &out {
            assert!(f.start <= f.end && f.end <= norm.text.len(), "{}: finding out of bounds", d.detector_type);
            assert!(norm.text.is_char_boundary(f.start) && norm.text.is_char_boundary(f.end), "{}: not a char boundary", d.detector_type);
            let (s, e) = norm.orig_span(f.start, f.end);
            assert!(s <= e && e <= chars, "{}: original span out of bounds", d.detector_type);
        }
    }
});
