//! `pii/iban_code`: International Bank Account Numbers (ISO 13616).
//!
//! Two-letter country code, two check digits, then the BBAN; written contiguous or in groups of
//! four separated by single spaces (the print format), any letter case. A candidate must use a
//! country in the SWIFT IBAN registry, have exactly that country's length and pass ISO 7064
//! MOD 97-10 (remainder 1). A valid IBAN is `L1`, labelled with the country code (`DE`); wrong
//! length, unknown country or a bad checksum is no finding, since the checksum makes a valid
//! match near-certain and an invalid one noise.

use regex::Regex;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

/// IBAN length per country, from the SWIFT IBAN registry (89 countries, 2024), sorted by code
/// for binary search. Territories that use a parent's code (GF, GP, RE, ... use FR; JE, GG, IM
/// use GB) need no row.
#[rustfmt::skip]
const LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22),
    ("BH", 22), ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24),
    ("DE", 22), ("DJ", 27), ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18),
    ("FK", 18), ("FO", 18), ("FR", 27), ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27),
    ("GT", 28), ("HN", 28), ("HR", 21), ("HU", 28), ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26),
    ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20), ("LB", 28), ("LC", 32), ("LI", 21), ("LT", 20),
    ("LU", 20), ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22), ("MK", 19), ("MN", 20),
    ("MR", 27), ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23), ("PK", 24),
    ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("RU", 33), ("SA", 24),
    ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("SO", 23), ("ST", 25),
    ("SV", 28), ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20),
    ("YE", 30),
];

/// Shortest registry length (Norway): shorter texts cannot hold an IBAN.
const MIN_LEN: usize = 15;

fn country_length(cc: &[u8]) -> Option<usize> {
    LENGTHS.binary_search_by(|(c, _)| c.as_bytes().cmp(cc)).ok().and_then(|i| LENGTHS.get(i)).map(|&(_, n)| n)
}

pub struct Iban {
    candidate: Regex,
}

impl Iban {
    pub fn new() -> Result<Self, String> {
        // Contiguous (11-30 BBAN characters) or grouped by four after the first four; the last
        // group may be shorter. A following short word can be swallowed by the grouped form:
        // `scan` cuts the match at the country's length. Bounded, so a retry after a rejected
        // candidate costs at most one IBAN length.
        let candidate = Regex::new(r"(?i)[a-z]{2}[0-9]{2}(?:[a-z0-9]{11,30}|(?: [a-z0-9]{4}){2,7}(?: [a-z0-9]{1,4})?)")
            .map_err(|e| e.to_string())?;
        Ok(Iban { candidate })
    }
}

impl Detector for Iban {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = &text.text;
        if t.len() < MIN_LEN || !t.bytes().any(|c| c.is_ascii_digit()) {
            return;
        }
        let b = t.as_bytes();
        let mut pos = 0;
        while let Some(m) = self.candidate.find_at(t, pos) {
            match validate(b, m.start(), m.end()) {
                Some(f) => {
                    pos = f.end;
                    out.push(f);
                }
                // A rejected candidate may have swallowed the start of a real IBAN
                // ("ref AB12 DE89 3704 …"): resume just after its first (ASCII) letter.
                None => pos = m.start() + 1,
            }
        }
    }
}

/// Checks the candidate at `start..end` and trims it to its country's length.
fn validate(b: &[u8], start: usize, end: usize) -> Option<Finding> {
    // Inside a longer word (`XDE89…`) is not an IBAN.
    if start.checked_sub(1).and_then(|i| b.get(i)).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return None;
    }
    let span = b.get(start..end)?;
    let cc = [span.first()?.to_ascii_uppercase(), span.get(1)?.to_ascii_uppercase()];
    let len = country_length(&cc)?;
    // Collect exactly `len` characters; the cut must fall between groups.
    let mut chars = Vec::with_capacity(len);
    let mut cut = end;
    for (i, &c) in span.iter().enumerate() {
        if c == b' ' {
            continue;
        }
        if chars.len() == len {
            cut = start + i;
            break;
        }
        chars.push(c.to_ascii_uppercase());
    }
    if chars.len() != len {
        return None;
    }
    // Drop the separator the cut left at the end.
    let mut stop = cut;
    while stop > start && b.get(stop - 1) == Some(&b' ') {
        stop -= 1;
    }
    if b.get(stop).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_') {
        return None;
    }
    if !mod97_is_one(&chars) {
        return None;
    }
    let label = String::from_utf8_lossy(&cc).into_owned();
    Some(Finding { start, end: stop, level: Level::L1, labels: vec![label] })
}

/// ISO 7064 MOD 97-10: move the first four characters to the end, letters become 10..35, the
/// number mod 97 must be 1. Computed digit by digit so it never overflows.
fn mod97_is_one(iban: &[u8]) -> bool {
    let (head, rest) = iban.split_at(iban.len().min(4));
    let mut r: u32 = 0;
    for &c in rest.iter().chain(head) {
        r = match c {
            b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
            _ => return false,
        };
    }
    r == 1
}

#[cfg(test)]
mod tests;
