//! `pii/phone_number`: telephone numbers, international and national.
//!
//! A candidate token is a maximal run of digit groups joined by single separators (space, `.`,
//! `-`, `/`), optionally led by `+` and with parenthesised groups (`(415)`, `(0)`). The token is
//! then classified by shape:
//!
//! - international: `+` or `00`, a valid E.164 country code, 7-15 significant digits (a `(0)`
//!   trunk digit does not count), at most one separator kind besides spaces;
//! - NANP: `(415) 555-2671`, `415-555-2671`, `415.555.2671`, `415 555 2671`, optional leading
//!   `1`, area and exchange codes starting with 2-9 (placeholders such as `555-123-4567` break
//!   that rule and are graded down);
//! - national with trunk prefix: `020 7946 0958`, `01 23 45 67 89`, `03-1234-5678`,
//!   `089/1234567`: leading `0` (not `00`), 9-12 digits, one separator kind throughout, pairs
//!   only as five pairs (French/Dutch style), not the SSN shape `078-05-1120`;
//! - bare digits (`4155552671`): only next to a context word (call, phone, tel, mobile, cell,
//!   whatsapp, fax, "reach me", ...).
//!
//! Levels (`L1` = certain): `+` grouped, NANP with parentheses or dashes -> `L1`; `+`
//! contiguous, `00` grouped, NANP dotted, national -> `L2`; NANP with spaces only -> `L3`; any of
//! those next to a context word -> `L1`. Bare digits with context -> `L3` for plausible lengths
//! (NANP 10/11 digits, trunk-0 10/11 digits), `L4` for other 7-15 digit runs. A NANP placeholder
//! is `L2` with parentheses or dashes, else needs a context word (`L3`). A reference word
//! (order, invoice, ISBN, account, ...) or `#` before a non-`L1` shape without a phone context
//! word drops it. When a token only yields a phone after dropping space-joined neighbours
//! ("2024-01-15 415-555-2671"), the level is one step less certain.
//!
//! Dates, times, versions, IPv4 addresses, card numbers, ISBNs, prices and year ranges do not have
//! any of these shapes, which is what keeps them out.

use regex::Regex;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::{window_after, window_before, NormText};

/// Bytes around a token searched for context words.
const CONTEXT_BEFORE: usize = 40;
const CONTEXT_AFTER: usize = 24;
const NEGATIVE_BEFORE: usize = 24;
/// Most groups a phone number is written in ("+33 1 23 45 67 89" has six).
const MAX_GROUPS: usize = 8;

pub struct Phone {
    token: Regex,
    context: Regex,
    negative: Regex,
}

impl Phone {
    pub fn new() -> Result<Self, String> {
        let token = Regex::new(r"\+?\(?[0-9][0-9()]*(?:[ .\-/]\(?[0-9][0-9()]*)*").map_err(|e| e.to_string())?;
        let context = Regex::new(concat!(
            r"(?i)(?:(?-u:\b)(?:call|called|calling|phone|phones|ph|tel|telephone|mobile|mob|cell|cellphone|",
            r"whats\s?app|fax|sms|text\s+me|reach\s+me|contact|dial|ring\s+me|hotline|landline|",
            r"t[ée]l[ée]phone|t[ée]l|portable|telefon|telefonnummer|handy|tel[ée]fono|telefone|celular|m[óo]vil)",
            r"(?-u:\b)|電話|携帯|手机|电话)"
        ))
        .map_err(|e| e.to_string())?;
        let negative = Regex::new(concat!(
            r"(?i)(?:(?-u:\b)(?:order|invoice|isbn|issn|ref|reference|tracking|account|acct|serial|sku|ticket|",
            r"case|transaction|txn|receipt|confirmation|booking|reservation|customer|member|policy|claim|",
            r"patent|doi|id|iban|bic|swift|routing|zip|postcode)(?-u:\b)|#\s*$)"
        ))
        .map_err(|e| e.to_string())?;
        Ok(Phone { token, context, negative })
    }
}

/// One digit group of a token.
struct Group {
    /// Byte span including parentheses.
    outer: (usize, usize),
    /// Byte span of the digits.
    digits: (usize, usize),
    paren: bool,
    /// Separator before this group; `None` for the first group and next to parentheses.
    sep: Option<u8>,
}

struct Token {
    start: usize,
    end: usize,
    plus: bool,
    groups: Vec<Group>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `+` grouped; NANP with parentheses or dashes.
    Strong,
    /// `+` contiguous; `00` grouped; NANP dotted; national trunk-0.
    Medium,
    /// NANP separated by spaces only.
    Weak,
    /// Bare digits, or a shape too weak alone: a phone only next to a context word.
    Bare { plausible: bool },
}

impl Detector for Phone {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = &text.text;
        let b = t.as_bytes();
        if b.iter().filter(|c| c.is_ascii_digit()).count() < 7 {
            return;
        }
        for m in self.token.find_iter(t) {
            if m.len() < 7 {
                continue;
            }
            let Some(tok) = parse(b, m.start(), m.end()) else { continue };
            // Digits glued to a word belong to an identifier (`DE89 3704 …`, `ID415-555-2671`):
            // no part of the token is a phone number.
            if glued_before(t, tok.start) || glued_after(b, tok.end) {
                continue;
            }
            let n = tok.groups.len();
            let mut i = 0;
            while i < n {
                let hit =
                    (i + 1..=n.min(i + MAX_GROUPS)).rev().find_map(|j| self.window(t, &tok, i, j).map(|f| (j, f)));
                match hit {
                    Some((j, f)) => {
                        out.push(f);
                        i = j;
                    }
                    None => i += 1,
                }
            }
        }
    }
}

impl Phone {
    /// Groups `i..j` of `tok` as a phone number. Windows smaller than the token must be cut at
    /// spaces: "2024-01-15 415-555-2671" yields the phone, "1999-2004-5555" nothing.
    fn window(&self, t: &str, tok: &Token, i: usize, j: usize) -> Option<Finding> {
        let b = t.as_bytes();
        let g = tok.groups.get(i..j)?;
        // Cheap length test first: at most 15 significant digits, plus a `00` prefix and a `(0)`.
        if !(7..=18).contains(&g.iter().map(|x| x.digits.1 - x.digits.0).sum::<usize>()) {
            return None;
        }
        let whole = i == 0 && j == tok.groups.len();
        let cut_ok = |k: usize| k == 0 || k == tok.groups.len() || tok.groups.get(k).and_then(|x| x.sep) == Some(b' ');
        if !cut_ok(i) || !cut_ok(j) {
            return None;
        }
        let plus = tok.plus && i == 0;
        // Cutting a window out of a run of space-separated numbers ("04 15 23 42 08 16") finds
        // phones in any list: a cut-out needs a shape of its own (`+`, parentheses, `-`, `.`).
        let distinct = plus || g.iter().any(|x| x.paren) || g.iter().skip(1).any(|x| x.sep.is_some_and(|c| c != b' '));
        if !whole && !distinct {
            return None;
        }
        let start = if i == 0 { tok.start } else { g.first()?.outer.0 };
        let end = if j == tok.groups.len() { tok.end } else { g.last()?.outer.1 };
        let kind = classify(b, plus, g)?;
        let ctx = || {
            self.context.is_match(window_before(t, start, CONTEXT_BEFORE))
                || self.context.is_match(window_after(t, end, CONTEXT_AFTER))
        };
        let neg = || self.negative.is_match(window_before(t, start, NEGATIVE_BEFORE));
        let level = match kind {
            Kind::Strong => Level::L1,
            Kind::Medium | Kind::Weak if ctx() => Level::L1,
            Kind::Medium | Kind::Weak if neg() => return None,
            Kind::Medium => Level::L2,
            Kind::Weak => Level::L3,
            Kind::Bare { .. } if !ctx() => return None,
            Kind::Bare { plausible: true } => Level::L3,
            Kind::Bare { plausible: false } => Level::L4,
        };
        let level = if whole { level } else { less_certain(level) };
        Some(Finding { start, end, level, labels: vec![] })
    }
}

fn less_certain(l: Level) -> Level {
    match l {
        Level::L1 => Level::L2,
        Level::L2 => Level::L3,
        Level::L3 | Level::L4 => Level::L4,
    }
}

/// Splits the regex match into groups; trims an unbalanced `(` or `)` at the edges (prose
/// parentheses around the number). `None` for malformed parentheses.
fn parse(b: &[u8], start: usize, end: usize) -> Option<Token> {
    let plus = b.get(start) == Some(&b'+');
    let mut body = if plus { start + 1 } else { start };
    let mut end = end;
    let span = b.get(body..end)?;
    let opens = span.iter().filter(|&&c| c == b'(').count();
    let closes = span.iter().filter(|&&c| c == b')').count();
    if opens > closes && !plus && b.get(body) == Some(&b'(') {
        body += 1;
    }
    if closes > opens && end > body && b.get(end - 1) == Some(&b')') {
        end -= 1;
    }
    let mut groups = Vec::new();
    let mut pending: Option<u8> = None;
    let mut digits_from: Option<usize> = None;
    let mut paren: Option<(usize, Option<u8>)> = None;
    for i in body..end {
        let c = *b.get(i)?;
        match c {
            b'0'..=b'9' => {
                if digits_from.is_none() {
                    digits_from = Some(i);
                }
            }
            b'(' => {
                if paren.is_some() {
                    return None;
                }
                if let Some(d) = digits_from.take() {
                    groups.push(Group { outer: (d, i), digits: (d, i), paren: false, sep: pending.take() });
                }
                paren = Some((i, pending.take()));
            }
            b')' => {
                let (p, sep) = paren.take()?;
                let d = digits_from.take()?;
                groups.push(Group { outer: (p, i + 1), digits: (d, i), paren: true, sep });
            }
            _ => {
                // Separators inside parentheses, or two in a row.
                if paren.is_some() || (pending.is_some() && digits_from.is_none()) {
                    return None;
                }
                if let Some(d) = digits_from.take() {
                    groups.push(Group { outer: (d, i), digits: (d, i), paren: false, sep: pending.take() });
                }
                pending = Some(c);
            }
        }
    }
    if let Some(d) = digits_from {
        groups.push(Group { outer: (d, end), digits: (d, end), paren: false, sep: pending.take() });
    }
    // An open parenthesis or a separator with no group after it.
    if paren.is_some() || pending.is_some() || groups.is_empty() {
        return None;
    }
    let start = if plus { start } else { body };
    Some(Token { start, end, plus, groups })
}

fn digits<'a>(b: &'a [u8], g: &Group) -> &'a [u8] {
    b.get(g.digits.0..g.digits.1).unwrap_or(&[])
}

fn classify(b: &[u8], plus: bool, g: &[Group]) -> Option<Kind> {
    let first = g.first()?;
    if plus {
        return intl(b, g, 0).map(|grouped| if grouped { Kind::Strong } else { Kind::Medium });
    }
    if !first.paren && digits(b, first).starts_with(b"00") {
        // `00` is the international prefix written without `+`.
        return match intl(b, g, 2)? {
            true => Some(Kind::Medium),
            false => Some(Kind::Bare { plausible: true }),
        };
    }
    if g.len() == 1 {
        return if first.paren { None } else { bare(digits(b, first)) };
    }
    nanp(b, g).or_else(|| national(b, g).then_some(Kind::Medium))
}

/// International number after `+` or `00` (`skip` digits of the first group). `Some(grouped)`.
fn intl(b: &[u8], g: &[Group], skip: usize) -> Option<bool> {
    let first = g.first()?;
    if first.paren {
        return None;
    }
    let head = digits(b, first).get(skip..)?;
    // "00 44 20 …": the country code is the next group.
    let (cc_group, rest) = if head.is_empty() {
        let second = g.get(1)?;
        if second.paren {
            return None;
        }
        (digits(b, second), g.get(2..)?)
    } else {
        (head, g.get(1..)?)
    };
    let trunk = |x: &Group| x.paren && digits(b, x) == b"0";
    let sig: Vec<u8> =
        cc_group.iter().chain(rest.iter().filter(|x| !trunk(x)).flat_map(|x| digits(b, x).iter())).copied().collect();
    if !(7..=15).contains(&sig.len()) {
        return None;
    }
    let cc = cc_len(&sig)?;
    // Country code 1 is the NANP: exactly ten national digits of NANP shape.
    if sig.first() == Some(&b'1')
        && (sig.len() != 11 || !nanp_digits_ok(sig.get(1..4).unwrap_or(&[]), sig.get(4..7).unwrap_or(&[])))
    {
        return None;
    }
    let grouped = !rest.is_empty();
    // Grouped numbers set the country code apart ("+44 20 …"); "+5 10 20 30" is arithmetic.
    if grouped && cc_group.len() < 4 && cc_group.len() != cc {
        return None;
    }
    if rest.iter().filter(|x| !trunk(x) && digits(b, x).len() == 1).count() > 1 {
        return None;
    }
    if rest.iter().filter(|x| x.paren && !trunk(x)).count() > 1 {
        return None;
    }
    // Spaces plus at most one other separator kind ("+7 495 123-45-67", "+1 415-555-2671").
    let kinds: Vec<u8> = rest.iter().filter_map(|x| x.sep).filter(|&c| c != b' ').collect();
    if kinds.windows(2).any(|w| w.first() != w.last()) {
        return None;
    }
    Some(grouped)
}

/// Length of the E.164 country code `d` starts with, if it is assigned. 1 and 7 are one digit;
/// the listed pairs are two-digit codes; the other listed prefixes start three-digit codes
/// (28x, 83x and 89x are unassigned).
fn cc_len(d: &[u8]) -> Option<usize> {
    const TWO: &[u8] = &[
        20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60, 61,
        62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98,
    ];
    const THREE: &[u8] = &[21, 22, 23, 24, 25, 26, 29, 35, 37, 38, 42, 50, 59, 67, 68, 69, 80, 85, 87, 88, 96, 97, 99];
    let d1 = d.first()?.wrapping_sub(b'0');
    if d1 == 1 || d1 == 7 {
        return Some(1);
    }
    let two = d1 * 10 + d.get(1)?.wrapping_sub(b'0');
    if TWO.contains(&two) {
        Some(2)
    } else if THREE.contains(&two) {
        Some(3)
    } else {
        None
    }
}

/// North American numbering plan: area code and exchange start with 2-9; N11 are service codes.
/// "555-123-4567" breaks the rule but is still written as a phone number: `nanp` grades it down.
fn nanp_digits_ok(area: &[u8], exch: &[u8]) -> bool {
    let lead = |x: &[u8]| x.first().is_some_and(|c| (b'2'..=b'9').contains(c));
    lead(area) && lead(exch) && area.get(1..) != Some(b"11".as_slice())
}

fn nanp(b: &[u8], g: &[Group]) -> Option<Kind> {
    let (lead, g3) = match g.len() {
        3 => (None, g),
        4 => (g.first(), g.get(1..)?),
        _ => return None,
    };
    if let Some(l) = lead {
        if l.paren || digits(b, l) != b"1" {
            return None;
        }
    }
    let [area, exch, line] = g3 else { return None };
    let (a, e, l) = (digits(b, area), digits(b, exch), digits(b, line));
    if a.len() != 3 || e.len() != 3 || l.len() != 4 || exch.paren || line.paren {
        return None;
    }
    let valid = nanp_digits_ok(a, e);
    let kind = if area.paren {
        // "(415) 555-2671", "(415)555-2671", "1 (800) 555 0199".
        let ok = matches!(exch.sep, None | Some(b' ')) && matches!(line.sep, Some(b'-' | b'.' | b' '));
        ok.then_some(Kind::Strong)?
    } else {
        if exch.sep != line.sep || (lead.is_some() && area.sep != exch.sep && area.sep != Some(b' ')) {
            return None;
        }
        match line.sep {
            Some(b'-') => Kind::Strong,
            Some(b'.') => Kind::Medium,
            Some(b' ') => Kind::Weak,
            _ => return None,
        }
    };
    // Placeholder-style numbers (555-123-4567, 123-456-7890): the unmistakable shapes one step
    // down, the others only next to a context word.
    match (valid, kind) {
        (true, k) => Some(k),
        (false, Kind::Strong) => Some(Kind::Medium),
        (false, _) => Some(Kind::Bare { plausible: true }),
    }
}

/// National number with a trunk `0`: `020 7946 0958`, `01 23 45 67 89`, `(030) 1234-5678`.
fn national(b: &[u8], g: &[Group]) -> bool {
    let Some(first) = g.first() else { return false };
    let fd = digits(b, first);
    let trunk_then_area = fd.first() == Some(&b'0') && fd.get(1).is_some_and(|&c| c != b'0');
    if !(2..=6).contains(&g.len()) || !trunk_then_area || !(2..=6).contains(&fd.len()) {
        return false;
    }
    let rest = g.get(1..).unwrap_or(&[]);
    if rest.iter().any(|x| x.paren || !(2..=8).contains(&digits(b, x).len())) {
        return false;
    }
    let total: usize = g.iter().map(|x| digits(b, x).len()).sum();
    if !(9..=12).contains(&total) {
        return false;
    }
    // One separator kind throughout; the one after a parenthesised area code is free.
    let seps: Vec<Option<u8>> =
        rest.iter().enumerate().filter(|&(k, _)| !(k == 0 && first.paren)).map(|(_, x)| x.sep).collect();
    if seps.iter().any(Option::is_none) || seps.windows(2).any(|w| w.first() != w.last()) {
        return false;
    }
    let lens: Vec<usize> = g.iter().map(|x| digits(b, x).len()).collect();
    // Pairs are the French/Dutch style, always five of them; six pairs are a list of numbers.
    if lens.iter().all(|&n| n == 2) && lens.len() != 5 {
        return false;
    }
    // 078-05-1120 is the US Social Security number shape.
    if lens == [3, 2, 4] && seps.first() == Some(&Some(b'-')) {
        return false;
    }
    // 010.000.000.001 is an IPv4 address written with zero padding.
    if seps.first() == Some(&Some(b'.')) && lens.len() == 4 && lens.iter().all(|&n| n <= 3) {
        return false;
    }
    // 01-02-2024-10: a date with something appended.
    if let (Some(2), Some(2), Some(4)) = (lens.first().copied(), lens.get(1).copied(), lens.get(2).copied()) {
        let year = g.get(2).map(|x| digits(b, x)).unwrap_or(&[]);
        if year.starts_with(b"19") || year.starts_with(b"20") {
            return false;
        }
    }
    true
}

fn bare(d: &[u8]) -> Option<Kind> {
    if !(7..=15).contains(&d.len()) {
        return None;
    }
    let nanp10 = |x: &[u8]| x.len() == 10 && nanp_digits_ok(x.get(..3).unwrap_or(&[]), x.get(3..6).unwrap_or(&[]));
    let trunk = d.first() == Some(&b'0') && d.get(1).is_some_and(|&c| c != b'0') && (10..=11).contains(&d.len());
    let plausible = nanp10(d) || (d.first() == Some(&b'1') && nanp10(d.get(1..).unwrap_or(&[]))) || trunk;
    Some(Kind::Bare { plausible })
}

/// The token continues something that is not a phone number: a word (`ID415…`), a decimal or
/// time (`12:415…`, `3.415…`), a price (`$415…`).
fn glued_before(t: &str, start: usize) -> bool {
    let head = t.get(..start).unwrap_or("");
    let mut back = head.chars().rev();
    let Some(p) = back.next() else { return false };
    if p.is_ascii_alphanumeric() || p == '_' || matches!(p, '$' | '€' | '£' | '¥') {
        return true;
    }
    matches!(p, '.' | ',' | ':' | '/' | '-') && back.next().is_some_and(|c| c.is_ascii_digit())
}

fn glued_after(b: &[u8], end: usize) -> bool {
    let Some(&n) = b.get(end) else { return false };
    if n.is_ascii_alphanumeric() || n == b'_' || n == b'%' {
        return true;
    }
    matches!(n, b',' | b':' | b'.' | b'/' | b'-') && b.get(end + 1).is_some_and(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests;
