//! `pii/us_social_security_number`: US Social Security numbers.
//!
//! Formats: `AAA-GG-SSSS`, `AAA GG SSSS` and nine bare digits. Numbers the SSA never issues are
//! not reported at all: area 000, 666 or 900-999 (the 9xx range is ITINs and advertising
//! numbers), group 00, serial 0000.
//!
//! Levels:
//! - dashed -> `L1`;
//! - spaced -> `L1` with a context word (ssn, social security, ...) nearby, else `L2` (three
//!   space-separated numbers of that shape also occur in plain lists and tables);
//! - bare nine digits -> `L2` with a context word, else `L4`;
//! - well-known published or placeholder numbers (078-05-1120 from the Woolworth wallet insert,
//!   219-09-9999 from an SSA pamphlet, 123-45-6789, one repeated digit such as 111-11-1111) ->
//!   `L4` in any format, labelled `example`: they are almost always examples in documentation,
//!   but a paranoid policy may still want them.
//!
//! A number that is part of a longer digit sequence (a phone number, ZIP+4, an account number)
//! is not reported.

use regex::Regex;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::{window_after, window_before, NormText};

/// Widely published numbers that are not anyone's SSN (or were voided).
const EXAMPLES: &[&[u8; 9]] = &[b"078051120", b"219099999", b"123456789"];

/// How far around a number to look for a context word, in bytes.
const CONTEXT_BEFORE: usize = 48;
const CONTEXT_AFTER: usize = 24;

pub struct Ssn {
    candidate: Regex,
    context: Regex,
}

impl Ssn {
    pub fn new() -> Result<Self, String> {
        let candidate =
            Regex::new(r"[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{9}").map_err(|e| e.to_string())?;
        let context = Regex::new(
            r"(?i)(?-u:\b)(?:ssns?(?-u:\b)|social\s+security|soc\.?\s*sec(?-u:\b)|ss\s*#|ss\s*no(?-u:\b)|s\.s\.n)",
        )
        .map_err(|e| e.to_string())?;
        Ok(Ssn { candidate, context })
    }

    fn has_context(&self, t: &str, start: usize, end: usize) -> bool {
        self.context.is_match(window_before(t, start, CONTEXT_BEFORE))
            || self.context.is_match(window_after(t, end, CONTEXT_AFTER))
    }

    fn finding(&self, t: &str, start: usize, end: usize) -> Option<Finding> {
        let b = t.as_bytes();
        let span = b.get(start..end)?;
        let shape = match span.get(3) {
            Some(b'-') => Shape::Dashed,
            Some(b' ') => Shape::Spaced,
            _ => Shape::Bare,
        };
        if extends(b, start, end, shape) {
            return None;
        }
        let digits: Vec<u8> = span.iter().copied().filter(u8::is_ascii_digit).collect();
        let d9 = <[u8; 9]>::try_from(digits.as_slice()).ok()?;
        if !issuable(&d9) {
            return None;
        }
        let (level, labels) = if EXAMPLES.contains(&&d9) || d9.iter().all(|&c| c == d9[0]) {
            (Level::L4, vec!["example".to_string()])
        } else {
            let ctx = self.has_context(t, start, end);
            let level = match (shape, ctx) {
                (Shape::Dashed, _) | (Shape::Spaced, true) => Level::L1,
                (Shape::Spaced, false) | (Shape::Bare, true) => Level::L2,
                (Shape::Bare, false) => Level::L4,
            };
            (level, vec![])
        };
        Some(Finding { start, end, level, labels })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Dashed,
    Spaced,
    Bare,
}

impl Detector for Ssn {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = &text.text;
        let b = t.as_bytes();
        if b.iter().filter(|c| c.is_ascii_digit()).count() < 9 {
            return;
        }
        let mut pos = 0;
        while let Some(m) = self.candidate.find_at(t, pos) {
            match self.finding(t, m.start(), m.end()) {
                Some(f) => {
                    pos = f.end;
                    out.push(f);
                }
                // A rejected candidate can hide the real one ("123 45 5362" in
                // "123 45 536-22-1234"): resume one (ASCII) digit later.
                None => pos = m.start() + 1,
            }
        }
    }
}

/// Area, group and serial ranges the SSA issues.
fn issuable(d: &[u8; 9]) -> bool {
    let area = &d[..3];
    let group = &d[3..5];
    let serial = &d[5..];
    area != b"000" && area != b"666" && d[0] != b'9' && group != b"00" && serial != b"0000"
}

/// The number continues into neighbouring digits: glued to a word or digit, a `+` (phone), or
/// joined by a separator to more digits (`1-555-12-3456`, `123-45-6789-0`, `1.123456789`).
/// A space only joins when the candidate itself is space-separated: "SSN 1 123-45-6789" is
/// prose, "12 123 45 6789" is a list of numbers.
fn extends(b: &[u8], start: usize, end: usize, shape: Shape) -> bool {
    let joins = |c: u8| matches!(c, b'-' | b'.' | b'/' | b',') || (c == b' ' && shape == Shape::Spaced);
    let prev = start.checked_sub(1).and_then(|i| b.get(i)).copied();
    let prev2 = start.checked_sub(2).and_then(|i| b.get(i)).copied();
    let next = b.get(end).copied();
    let next2 = b.get(end + 1).copied();
    let word = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
    let digit = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_digit());
    word(prev)
        || word(next)
        || prev == Some(b'+')
        || (prev.is_some_and(joins) && digit(prev2))
        || (next.is_some_and(joins) && digit(next2))
}

#[cfg(test)]
mod tests;
