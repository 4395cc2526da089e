//! Text normalisation: any string normalises, and every byte range of the normalised text maps
//! to an in-bounds, ordered range of the original.
#![no_main]
use libfuzzer_sys::fuzz_target;
use parapet_filter::text::NormText;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let norm = NormText::new(&text);
    let chars = text.chars().count();
    let bounds: Vec<usize> = norm.text.char_indices().map(|(i, _)| i).chain(std::iter::once(norm.text.len())).collect();
    for w in bounds.windows(2).take(256) {
        let (s, e) = norm.orig_span(w[0], w[1]);
        assert!(s <= e && e <= chars);
    }
    let (s, e) = norm.orig_span(0, norm.text.len());
    assert!(s <= e && e <= chars);
});
