//! Text normalisation with a map back to the original.
//!
//! Detectors match on a normalised copy: NFKC (full-width and compatibility forms fold to their
//! plain letters), invisible characters removed (zero-width, bidi controls, soft hyphen, variation
//! selectors) and Unicode tag characters decoded to the ASCII they hide ("ASCII smuggling").
//! Payload offsets must still point into what the client sent, so every normalised character
//! remembers the span of original code points it came from.

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::UnicodeNormalization;

/// A message's text, normalised, with offsets back into the original.
#[derive(Debug, Clone)]
pub struct NormText {
    /// The normalised text detectors match on.
    pub text: String,
    /// For each char of `text`: its byte offset in `text`, and the original code-point span.
    byte_at: Vec<u32>,
    orig_start: Vec<u32>,
    orig_end: Vec<u32>,
    /// Length of the original text in code points.
    orig_len: u32,
}

/// Characters that render as nothing and are used to split words past a matcher.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'               // soft hyphen
        | '\u{034F}'             // combining grapheme joiner
        | '\u{061C}'             // arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // hangul fillers
        | '\u{180B}'..='\u{180F}' // mongolian selectors and vowel separator
        | '\u{200B}'..='\u{200F}' // zero-width space/joiners, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates, deprecated formats
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'              // zero-width no-break space / BOM
        | '\u{E0001}'             // language tag
        | '\u{E007F}'             // cancel tag
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Unicode tag characters U+E0020..U+E007E mirror printable ASCII and are invisible: decode them.
fn decode_tag(c: char) -> Option<char> {
    let cp = c as u32;
    if (0xE0020..=0xE007E).contains(&cp) {
        char::from_u32(cp - 0xE0000)
    } else {
        None
    }
}

impl NormText {
    pub fn new(original: &str) -> NormText {
        let orig_len = original.chars().count() as u32;
        let mut out = NormText {
            text: String::with_capacity(original.len()),
            byte_at: Vec::with_capacity(original.len()),
            orig_start: Vec::with_capacity(original.len()),
            orig_end: Vec::with_capacity(original.len()),
            orig_len,
        };
        let chars: Vec<char> = original.chars().collect();
        let mut i = 0usize;
        let mut seg = String::new();
        while i < chars.len() {
            // A segment is one starter and the combining marks after it: NFKC composes within it.
            let start = i;
            i += 1;
            while i < chars.len() && canonical_combining_class(chars[i]) != 0 {
                i += 1;
            }
            seg.clear();
            for &c in &chars[start..i] {
                if let Some(t) = decode_tag(c) {
                    seg.push(t);
                } else if !is_invisible(c) {
                    seg.push(c);
                }
            }
            if seg.is_empty() {
                continue;
            }
            let (s, e) = (start as u32, i as u32);
            if seg.is_ascii() {
                for c in seg.chars() {
                    out.push(c, s, e);
                }
            } else {
                for c in seg.nfkc() {
                    // NFKC can itself produce invisible characters (rare); keep them out too.
                    if !is_invisible(c) {
                        out.push(c, s, e);
                    }
                }
            }
        }
        // Sub-segment precision for the common case: a segment of one code point maps 1:1.
        out
    }

    fn push(&mut self, c: char, s: u32, e: u32) {
        self.byte_at.push(self.text.len() as u32);
        self.orig_start.push(s);
        self.orig_end.push(e);
        self.text.push(c);
    }

    /// Index of the normalised char that starts at or contains byte `b` of `text`.
    fn char_index(&self, b: usize) -> usize {
        match self.byte_at.binary_search(&(b as u32)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Maps a byte range of `text` (as regex reports it) to a code-point range of the original.
    pub fn orig_span(&self, byte_start: usize, byte_end: usize) -> (usize, usize) {
        if self.byte_at.is_empty() || byte_start >= self.text.len() {
            return (self.orig_len as usize, self.orig_len as usize);
        }
        let first = self.char_index(byte_start);
        let last = if byte_end > byte_start { self.char_index(byte_end - 1) } else { first };
        let s = self.orig_start.get(first).copied().unwrap_or(self.orig_len);
        let e = self.orig_end.get(last).copied().unwrap_or(self.orig_len);
        (s as usize, e.max(s) as usize)
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Up to `n` bytes of `t` before byte `pos`, shrunk to a char boundary: a detector's context
/// window ("call me", "ssn") in front of a candidate.
pub fn window_before(t: &str, pos: usize, n: usize) -> &str {
    let mut a = pos.saturating_sub(n);
    while a < pos && !t.is_char_boundary(a) {
        a += 1;
    }
    t.get(a..pos).unwrap_or("")
}

/// Up to `n` bytes of `t` from byte `pos`, shrunk to a char boundary.
pub fn window_after(t: &str, pos: usize, n: usize) -> &str {
    let mut z = pos.saturating_add(n).min(t.len());
    while z > pos && !t.is_char_boundary(z) {
        z -= 1;
    }
    t.get(pos..z).unwrap_or("")
}

/// Byte offset of every code point of a string, for slicing by code-point offsets in O(1).
pub struct CharIndex {
    starts: Vec<usize>,
}

impl CharIndex {
    pub fn new(s: &str) -> CharIndex {
        CharIndex { starts: s.char_indices().map(|(b, _)| b).collect() }
    }

    fn byte(&self, s: &str, cp: usize) -> usize {
        self.starts.get(cp).copied().unwrap_or(s.len())
    }

    /// Code points `[start, end)` of `s` (the string the index was built from).
    pub fn slice<'a>(&self, s: &'a str, start: usize, end: usize) -> &'a str {
        let (b, e) = (self.byte(s, start), self.byte(s, end.max(start)));
        s.get(b..e).unwrap_or("")
    }
}

#[cfg(test)]
mod tests;

/// A run of base64 or hex in a message that decodes to readable text. Detectors scan `decoded`
/// too, so personal data or a key hidden in an encoding is still found; a finding in it covers
/// the whole run (`start..end`, code points of the original message).
#[derive(Debug, Clone)]
pub struct EncodedRun {
    pub start: usize,
    pub end: usize,
    /// `base64` or `hex`.
    pub encoding: &'static str,
    pub decoded: NormText,
}

/// Shortest run worth decoding: 16 characters hold 12 bytes of base64 or 8 of hex.
const MIN_RUN: usize = 16;
/// Longest run decoded, and most runs per message: bounds the work an attacker can cause.
const MAX_RUN: usize = 64 << 10;
const MAX_RUNS: usize = 64;

fn is_b64(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_')
}

/// Decoded bytes count as text when they are UTF-8 and nearly all printable.
fn readable(bytes: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(bytes).ok()?;
    let total = s.chars().count();
    let printable = s.chars().filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t')).count();
    (total >= 8 && printable * 20 >= total * 19).then(|| s.to_string())
}

fn decode_hex(run: &str) -> Option<Vec<u8>> {
    if run.len() % 2 != 0 || !run.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..run.len()).step_by(2).map(|i| run.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect()
}

fn decode_b64(run: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let body = run.trim_end_matches('=');
    if body.contains(['-', '_']) {
        URL_SAFE_NO_PAD.decode(body).ok()
    } else {
        STANDARD_NO_PAD.decode(body).ok()
    }
}

/// The base64 and hex runs of `original` that decode to readable text, in order.
pub fn encoded_runs(original: &str) -> Vec<EncodedRun> {
    let mut out = Vec::new();
    let mut cp = 0usize;
    let mut run_start: Option<(usize, usize)> = None; // (code point, byte)
    let mut iter = original.char_indices().peekable();
    loop {
        let next = iter.next();
        let in_run = next.is_some_and(|(_, c)| is_b64(c) || (c == '=' && run_start.is_some()));
        match (in_run, run_start) {
            (true, None) => run_start = next.map(|(b, _)| (cp, b)),
            (false, Some((s_cp, s_b))) => {
                let end_b = next.map_or(original.len(), |(b, _)| b);
                let run = original.get(s_b..end_b).unwrap_or("");
                if (MIN_RUN..=MAX_RUN).contains(&run.len()) {
                    let decoded = decode_hex(run).map(|b| ("hex", b)).or_else(|| decode_b64(run).map(|b| ("base64", b)));
                    if let Some((encoding, text)) = decoded.and_then(|(e, b)| readable(&b).map(|t| (e, t))) {
                        out.push(EncodedRun { start: s_cp, end: cp, encoding, decoded: NormText::new(&text) });
                        if out.len() >= MAX_RUNS {
                            return out;
                        }
                    }
                }
                run_start = None;
            }
            _ => {}
        }
        if next.is_none() {
            return out;
        }
        cp += 1;
    }
}

#[cfg(test)]
mod encoded_tests;
