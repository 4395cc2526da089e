use super::*;

fn span_text(orig: &str, n: &NormText, needle: &str) -> String {
    let b = n.text.find(needle).unwrap();
    let (s, e) = n.orig_span(b, b + needle.len());
    CharIndex::new(orig).slice(orig, s, e).to_string()
}

#[test]
fn context_windows_stay_on_char_boundaries() {
    let t = "téléphone: 555";
    assert_eq!(window_before(t, 13, 4), "ne: ");
    // Byte 2 is inside the first "é": the window starts at the next boundary.
    assert_eq!(window_before(t, 4, 2), "l");
    assert_eq!(window_before(t, 13, 100), "téléphone: ");
    assert_eq!(window_after(t, 0, 2), "t");
    assert_eq!(window_after(t, 13, 100), "555");
}

#[test]
fn char_index_slices_by_code_point() {
    let s = "aé😀b";
    let i = CharIndex::new(s);
    assert_eq!(i.slice(s, 1, 3), "é😀");
    assert_eq!(i.slice(s, 3, 9), "b");
    assert_eq!(i.slice(s, 5, 2), "");
}

#[test]
fn ascii_is_identity() {
    let n = NormText::new("mail bob@example.com now");
    assert_eq!(n.text, "mail bob@example.com now");
    assert_eq!(n.orig_span(5, 20), (5, 20));
}

#[test]
fn zero_width_removed_offsets_point_to_original() {
    let orig = "ig\u{200B}nore a\u{202E}b";
    let n = NormText::new(orig);
    assert_eq!(n.text, "ignore ab");
    assert_eq!(span_text(orig, &n, "ignore"), "ig\u{200B}nore");
}

#[test]
fn nfkc_folds_fullwidth_and_keeps_offsets() {
    let orig = "é ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ!";
    let n = NormText::new(orig);
    assert_eq!(n.text, "é bob@example.com!");
    assert_eq!(span_text(orig, &n, "bob@example.com"), "ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ");
}

#[test]
fn combining_sequence_composes() {
    let orig = "cafe\u{0301} x";
    let n = NormText::new(orig);
    assert_eq!(n.text, "café x");
    assert_eq!(span_text(orig, &n, "x"), "x");
}

#[test]
fn tag_characters_are_decoded() {
    let orig: String = "hi ".chars().chain("evil".chars().map(|c| char::from_u32(0xE0000 + c as u32).unwrap())).collect();
    let n = NormText::new(&orig);
    assert_eq!(n.text, "hi evil");
}

#[test]
fn ligature_expands_to_several_chars_of_one_span() {
    let orig = "ﬁle";
    let n = NormText::new(orig);
    assert_eq!(n.text, "file");
    assert_eq!(n.orig_span(0, 1), (0, 1));
    assert_eq!(n.orig_span(0, 4), (0, 3));
}

#[test]
fn empty_and_all_invisible() {
    assert!(NormText::new("").is_empty());
    let n = NormText::new("\u{200B}\u{FEFF}");
    assert!(n.is_empty());
    assert_eq!(n.orig_span(0, 0), (2, 2));
}
