//! `pii/credit_card`: payment card numbers (PANs).
//!
//! A candidate is 13-19 digits, either contiguous or in a card-style grouping (4-4-4-4,
//! 4-4-4-4-3, 4-6-5, 4-6-4, ...) joined by one kind of separator (single spaces or single
//! dashes, never mixed). It must pass the Luhn check, must not start with 0 (no issuer uses major
//! industry identifier 0) and must not be one repeated digit.
//!
//! Levels: a known issuer prefix (IIN) with a length that issuer uses -> `L1`, labelled with the
//! issuer (`visa`, `mastercard`, `amex`, `discover`, `jcb`, `diners`, `unionpay`, `maestro`);
//! Luhn-valid but no issuer matches -> `L4`, labelled `unknown_issuer` (one random digit string
//! in ten passes Luhn, so only a paranoid policy wants those).
//!
//! A digit run glued to a word is part of an identifier (an IBAN's digits, `ID4111…`) and
//! skipped; an edge group glued to a decimal point or a `+` (phone) is not card digits; a card
//! inside a dash-joined identifier (`4111-1111-1111-1111-2222`) is not reported, since dashes bind
//! the whole run into one token. Space-joined runs are prose, so a card followed by another number
//! ("4111 1111 1111 1111 12 items") is still found.

use regex::Regex;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

pub struct CreditCard {
    /// Maximal runs of ASCII digit groups joined by single spaces or dashes.
    runs: Regex,
}

impl CreditCard {
    pub fn new() -> Result<Self, String> {
        let runs = Regex::new(r"[0-9]+(?:[ \-][0-9]+)*").map_err(|e| e.to_string())?;
        Ok(CreditCard { runs })
    }
}

/// One digit group of a run: byte range in the text and the separator that follows it.
struct Group {
    start: usize,
    end: usize,
    sep_after: Option<u8>,
}

impl Detector for CreditCard {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = &text.text;
        let b = t.as_bytes();
        if b.iter().filter(|c| c.is_ascii_digit()).count() < 13 {
            return;
        }
        let mut found = Vec::new();
        for m in self.runs.find_iter(t) {
            if m.len() < 13 {
                continue;
            }
            // A run glued to a word is part of an identifier (`DE89 3704 …`, `ID4111…`); an edge
            // group glued to a decimal point is a number of its own.
            if word_before(b, m.start()) || word_after(b, m.end()) {
                continue;
            }
            let groups = split_groups(b, m.start(), m.end());
            let n = groups.len();
            let lo = usize::from(glued_before(b, m.start()));
            let hi = n - usize::from(glued_after(b, m.end()));
            let mut i = lo;
            while i < hi {
                // Longest window first: a 5-group 19-digit card beats its 16-digit prefix.
                let longest = hi.min(i + 5);
                let hit = (i + 1..=longest).rev().find_map(|j| check_window(b, &groups, i, j, lo, hi).map(|f| (j, f)));
                match hit {
                    Some((j, f)) => {
                        found.push(f);
                        i = j;
                    }
                    None => i += 1,
                }
            }
        }
        out.extend(found);
    }
}

fn split_groups(b: &[u8], start: usize, end: usize) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut gs = start;
    for (i, &c) in b.iter().enumerate().take(end).skip(start) {
        if !c.is_ascii_digit() {
            groups.push(Group { start: gs, end: i, sep_after: Some(c) });
            gs = i + 1;
        }
    }
    groups.push(Group { start: gs, end, sep_after: None });
    groups
}

fn word_before(b: &[u8], start: usize) -> bool {
    start.checked_sub(1).and_then(|i| b.get(i)).is_some_and(|&p| p.is_ascii_alphanumeric() || p == b'_')
}

fn word_after(b: &[u8], end: usize) -> bool {
    b.get(end).is_some_and(|&n| n.is_ascii_alphanumeric() || n == b'_')
}

/// The byte before `start` makes the first group part of something else: a decimal (`3.4111…`)
/// or a phone number (`+4111…`).
fn glued_before(b: &[u8], start: usize) -> bool {
    let Some(&p) = start.checked_sub(1).and_then(|i| b.get(i)) else { return false };
    if p == b'+' {
        return true;
    }
    let pp = start.checked_sub(2).and_then(|i| b.get(i)).copied();
    matches!(p, b'.' | b',') && pp.is_some_and(|c| c.is_ascii_digit())
}

fn glued_after(b: &[u8], end: usize) -> bool {
    let Some(&n) = b.get(end) else { return false };
    matches!(n, b'.' | b',') && b.get(end + 1).is_some_and(|c| c.is_ascii_digit())
}

/// Groups `i..j` of a run as a card, if they form one. `lo..hi` are the usable groups.
fn check_window(b: &[u8], groups: &[Group], i: usize, j: usize, lo: usize, hi: usize) -> Option<Finding> {
    let win = groups.get(i..j)?;
    let first = win.first()?;
    let last = win.last()?;
    // Cheap length test first: long runs of short groups try many windows.
    if !(13..=19).contains(&win.iter().map(|g| g.end - g.start).sum::<usize>()) {
        return None;
    }
    // One separator kind inside the window.
    let seps: Vec<u8> = win.iter().take(win.len() - 1).filter_map(|g| g.sep_after).collect();
    if seps.windows(2).any(|w| w.first() != w.last()) {
        return None;
    }
    // A dash binds neighbouring groups into one identifier: the card would be part of it.
    let dash_before = i > lo && groups.get(i - 1).and_then(|g| g.sep_after) == Some(b'-');
    let dash_after = j < hi && last.sep_after == Some(b'-');
    if dash_before || dash_after {
        return None;
    }
    let lens: Vec<usize> = win.iter().map(|g| g.end - g.start).collect();
    if !valid_grouping(&lens) {
        return None;
    }
    let digits: Vec<u8> = win.iter().flat_map(|g| b.get(g.start..g.end).unwrap_or(&[]).iter().copied()).collect();
    if !(13..=19).contains(&digits.len()) || digits.first() == Some(&b'0') {
        return None;
    }
    if digits.iter().all(|&d| Some(&d) == digits.first()) || !luhn(&digits) {
        return None;
    }
    let (level, label) = match issuer(&digits) {
        Some(name) => (Level::L1, name),
        None => (Level::L4, "unknown_issuer"),
    };
    Some(Finding { start: first.start, end: last.end, level, labels: vec![label.to_string()] })
}

/// Contiguous 13-19 digits, or the groupings issuers print: fours with a shorter tail
/// (4-4-4-1 .. 4-4-4-4-3), Amex 4-6-5 and Diners 4-6-4. Excludes thousands-style groups of three.
fn valid_grouping(lens: &[usize]) -> bool {
    match lens {
        [n] => (13..=19).contains(n),
        [4, 6, 5] | [4, 6, 4] => true,
        [4, 4, 4, last] | [4, 4, 4, 4, last] => (1..=4).contains(last),
        _ => false,
    }
}

/// Luhn (mod 10) over ASCII digits.
fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| {
            let v = u32::from(c.wrapping_sub(b'0'));
            if i % 2 == 1 {
                let d = v * 2;
                if d > 9 {
                    d - 9
                } else {
                    d
                }
            } else {
                v
            }
        })
        .sum();
    sum % 10 == 0
}

/// The first `n` digits as a number.
fn prefix(digits: &[u8], n: usize) -> u32 {
    digits.iter().take(n).fold(0u32, |acc, &c| acc * 10 + u32::from(c.wrapping_sub(b'0')))
}

/// Issuer by IIN range and length. Order matters where ranges overlap: Discover's co-branded
/// 622126-622925 before UnionPay's 62, the specific brands before Maestro's broad 5x/6x.
fn issuer(digits: &[u8]) -> Option<&'static str> {
    let len = digits.len();
    let (p1, p2, p3, p4, p6) =
        (prefix(digits, 1), prefix(digits, 2), prefix(digits, 3), prefix(digits, 4), prefix(digits, 6));
    let long = (16..=19).contains(&len);
    if (p2 == 34 || p2 == 37) && len == 15 {
        Some("amex")
    } else if ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39) && (14..=19).contains(&len) {
        Some("diners")
    } else if (3528..=3589).contains(&p4) && long {
        Some("jcb")
    } else if p1 == 4 && matches!(len, 13 | 16 | 19) {
        Some("visa")
    } else if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16 {
        Some("mastercard")
    } else if (p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6)) && long {
        Some("discover")
    } else if p2 == 62 && long {
        Some("unionpay")
    } else if (p2 == 50 || (56..=69).contains(&p2)) && (12..=19).contains(&len) {
        Some("maestro")
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
