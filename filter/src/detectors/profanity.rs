//! `moderated_content/profanity`: profanity and slurs from the project's lexicon
//! (`data/profanity.txt`), robust to the usual evasions.
//!
//! Levels follow the lexicon's tiers: slurs `L1` (always reported), strong profanity `L2`,
//! moderate insults and vulgar anatomy `L3`, mild words `L4`. Slurs with a common innocent sense
//! (chink in the armour, Spic and Span) sit in tier 2. Labels name the tier: `slur`, `strong`,
//! `moderate`, `mild`.
//!
//! Matching runs on a folded copy of the text that keeps a map back to byte offsets:
//! - ASCII letters are lower-cased; accented Latin letters lose their marks (`fück`), and a few
//!   Cyrillic/Greek look-alikes fold to Latin (`аss` with Cyrillic `а`);
//! - substitution characters (`@ 4 3 1 ! 0 $ 5 7 8 9 | +`, and `*` for any vowel) stay as
//!   they are: each lexicon letter compiles to a class accepting its substitutes, so `1` can be
//!   `i` or `l`; a run of n equal letters compiles to "n or more" (`fuuuck`, but `as` ≠ `ass`);
//! - runs of three or more single characters split by one or two separators (`f.u.c.k`,
//!   `f-u-c-k`, `f u c k`) are joined.
//!
//! Words match on word boundaries in the folded text, where only letters (any script's Latin,
//! Greek or Cyrillic letters) continue a word: digits and symbols never do, so `shit!` and
//! `(hell)` match while Scunthorpe, assassin, cocktail, Dickens, shell and shiitake do not. A
//! match needs two or more letters or symbol substitutes (so `A55` and `455` are not "ass") and
//! must not touch a digit.

use std::collections::BTreeMap;

use regex::bytes::{Regex, RegexBuilder};
use unicode_normalization::UnicodeNormalization;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

const LEXICON: &str = include_str!("data/profanity.txt");

const TIER_LABELS: [&str; 4] = ["slur", "strong", "moderate", "mild"];
const LEVELS: [Level; 4] = [Level::L1, Level::L2, Level::L3, Level::L4];

/// Where an entry may sit relative to word boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `word`: both ends on a boundary.
    Word,
    /// `word*`: starts on a boundary, may continue.
    Prefix,
    /// `*word`: ends on a boundary, may start inside a word.
    Suffix,
    /// `*word*`: anywhere.
    Infix,
}

const KINDS: [Kind; 4] = [Kind::Word, Kind::Prefix, Kind::Suffix, Kind::Infix];

struct KindMatcher {
    kind: Kind,
    /// All entries of this kind, longest first.
    any: Regex,
    /// Per tier (index 0 = tier 1), anchored: which tier a match belongs to.
    tiers: Vec<Option<Regex>>,
}

pub struct Profanity {
    matchers: Vec<KindMatcher>,
    entries: usize,
}

/// The regex class for one lexicon letter: the letter and its look-alike substitutes.
fn class(c: char) -> String {
    match c {
        'a' => r"[a@4*]".into(),
        'b' => r"[b8]".into(),
        'e' => r"[e3*]".into(),
        'g' => r"[g9]".into(),
        'i' => r"[i1!|*]".into(),
        'l' => r"[l1|]".into(),
        'o' => r"[o0*]".into(),
        's' => r"[s$5]".into(),
        't' => r"[t7+]".into(),
        'u' => r"[uv*]".into(),
        c => c.to_string(),
    }
}

/// `fuck` -> `f{1,6}[uv*]{1,6}c{1,6}k{1,6}`; `ass` -> `[a@4*]{1,6}[s$5]{2,7}`.
fn word_pattern(w: &str) -> String {
    let mut out = String::new();
    let mut chars = w.chars().peekable();
    while let Some(c) = chars.next() {
        let mut n = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            n += 1;
        }
        // Bounded, so a match is short and restarting the search after a rejected match stays
        // cheap; the folded text holds at most three equal characters in a row anyway.
        out.push_str(&class(c));
        out.push_str(&format!("{{{n},{}}}", n + 5));
    }
    out
}

fn build(p: &str) -> Result<Regex, String> {
    RegexBuilder::new(p).unicode(false).size_limit(32 << 20).dfa_size_limit(8 << 20).build().map_err(|e| e.to_string())
}

impl Profanity {
    pub fn new() -> Result<Self, String> {
        // (kind, tier 1..=4) -> words
        let mut groups: BTreeMap<(Kind, usize), Vec<String>> = BTreeMap::new();
        let mut entries = 0;
        for (n, line) in LEXICON.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: &str| format!("profanity lexicon line {}: {why}: {line:?}", n + 1);
            let (entry, tier) = line.split_once('\t').ok_or_else(|| bad("expected `word<TAB>tier`"))?;
            let tier: usize = tier.trim().parse().map_err(|_| bad("tier must be 1..4"))?;
            if !(1..=4).contains(&tier) {
                return Err(bad("tier must be 1..4"));
            }
            let (pre, rest) = entry.strip_prefix('*').map_or((false, entry), |r| (true, r));
            let (post, word) = rest.strip_suffix('*').map_or((false, rest), |r| (true, r));
            if word.len() < 2 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(bad("entries are two or more lowercase letters with optional `*` ends"));
            }
            let kind = match (pre, post) {
                (false, false) => Kind::Word,
                (false, true) => Kind::Prefix,
                (true, false) => Kind::Suffix,
                (true, true) => Kind::Infix,
            };
            groups.entry((kind, tier)).or_default().push(word.to_string());
            entries += 1;
        }
        let mut matchers = Vec::new();
        for kind in KINDS {
            let mut all: Vec<&String> = groups.range((kind, 1)..=(kind, 4)).flat_map(|(_, v)| v).collect();
            if all.is_empty() {
                continue;
            }
            // Longest first, so leftmost-first alternation prefers `fucking` over `fuck`.
            all.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
            all.dedup();
            let alt = all.iter().map(|w| word_pattern(w)).collect::<Vec<_>>().join("|");
            let any = build(&format!("(?:{alt})"))?;
            let mut tiers = Vec::new();
            for tier in 1..=4 {
                tiers.push(match groups.get(&(kind, tier)) {
                    Some(ws) => Some(build(&format!("^(?:{})$", ws.iter().map(|w| word_pattern(w)).collect::<Vec<_>>().join("|")))?),
                    None => None,
                });
            }
            matchers.push(KindMatcher { kind, any, tiers });
        }
        Ok(Profanity { matchers, entries })
    }

    /// Number of lexicon entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Letter,
    Neutral,
    Sep,
    Other,
    /// A separator inside a joined run (`f.u.c.k`).
    Dropped,
}

/// The folded text: ASCII, one byte per kept source character, with the source byte span.
struct Folded {
    s: Vec<u8>,
    src: Vec<(usize, usize)>,
    /// `joined[i]`: separators were dropped between folded bytes `i - 1` and `i` (`f.u.c.k`).
    /// Such a seam is a word boundary for the words around the run.
    joined: Vec<bool>,
}

/// Look-alike letters from other scripts that fold to Latin.
fn confusable(c: char) -> Option<char> {
    Some(match c {
        'а' | 'А' | 'α' | 'Α' => 'a',
        'в' | 'В' | 'β' => 'b',
        'с' | 'С' => 'c',
        'е' | 'Е' | 'ε' | 'Ε' => 'e',
        'һ' | 'Һ' | 'Η' => 'h',
        'і' | 'І' | 'ι' | 'Ι' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'м' | 'М' | 'Μ' => 'm',
        'н' | 'Н' | 'Ν' => 'n',
        'о' | 'О' | 'ο' | 'Ο' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' => 't',
        'у' | 'У' | 'υ' => 'u',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'ν' => 'v',
        'ѡ' | 'ω' => 'w',
        _ => return None,
    })
}

fn classify(c: char) -> (Unit, u8) {
    if c.is_ascii_alphabetic() {
        return (Unit::Letter, c.to_ascii_lowercase() as u8);
    }
    if c.is_ascii_digit() || matches!(c, '@' | '$' | '!' | '*' | '|' | '+') {
        return (Unit::Neutral, c as u8);
    }
    if matches!(c, ' ' | '.' | '-' | '_' | '~') {
        return (Unit::Sep, b' ');
    }
    if c.is_ascii() || !c.is_alphabetic() {
        return (Unit::Other, b' ');
    }
    if let Some(l) = confusable(c) {
        return (Unit::Letter, l as u8);
    }
    if let Some(base) = c.nfd().next().filter(char::is_ascii_alphabetic) {
        return (Unit::Letter, base.to_ascii_lowercase() as u8);
    }
    // Other Latin, Greek and Cyrillic letters continue a word; other scripts (CJK, Arabic, ...)
    // are written without spaces between words, so they act as boundaries.
    if matches!(c as u32, 0x00C0..=0x024F | 0x0370..=0x03FF | 0x0400..=0x04FF | 0x1E00..=0x1EFF) {
        return (Unit::Letter, b'X');
    }
    (Unit::Other, b' ')
}

fn fold(t: &str) -> Folded {
    // Compact per-char records (kind, folded byte; separators keep their own byte so runs can
    // compare them) and start offsets: this runs on every message.
    let mut units: Vec<(Unit, u8)> = Vec::with_capacity(t.len());
    let mut starts: Vec<usize> = Vec::with_capacity(t.len());
    for (i, c) in t.char_indices() {
        let (u, b) = classify(c);
        units.push((u, if u == Unit::Sep { c as u8 } else { b }));
        starts.push(i);
    }
    let word = |u: &[(Unit, u8)], i: usize| u.get(i).is_some_and(|x| matches!(x.0, Unit::Letter | Unit::Neutral));
    let single = |u: &[(Unit, u8)], i: usize| word(u, i) && !(i > 0 && word(u, i - 1)) && !word(u, i + 1);
    let is_sep = |u: &[(Unit, u8)], i: usize| u.get(i).is_some_and(|x| x.0 == Unit::Sep);
    // Runs of three or more single characters split by the same one or two separators
    // (`f.u.c.k`, `f u c k`, `F. U. C. K.`): their separators are dropped.
    let mut i = 0;
    while i < units.len() {
        if !single(&units, i) {
            i += 1;
            continue;
        }
        let (mut j, mut count, mut first_sep) = (i, 1, None);
        loop {
            let mut k = j + 1;
            while k - j <= 2 && is_sep(&units, k) {
                k += 1;
            }
            if !(k > j + 1 && k - j <= 3 && single(&units, k)) {
                break;
            }
            let (fa, fb) = *first_sep.get_or_insert((j + 1, k));
            if units.get(fa..fb) != units.get(j + 1..k) {
                break;
            }
            j = k;
            count += 1;
        }
        if count >= 3 {
            for u in units.get_mut(i..j).unwrap_or(&mut []) {
                if u.0 == Unit::Sep {
                    u.0 = Unit::Dropped;
                }
            }
            i = j + 1;
        } else {
            i += 1;
        }
    }
    let mut f = Folded { s: Vec::with_capacity(units.len()), src: Vec::with_capacity(units.len()), joined: Vec::with_capacity(units.len()) };
    let mut pending_join = false;
    for (idx, &(u, b)) in units.iter().enumerate() {
        if u == Unit::Dropped {
            pending_join = true;
            continue;
        }
        let b = if matches!(u, Unit::Letter | Unit::Neutral) { b } else { b' ' };
        let end = starts.get(idx + 1).copied().unwrap_or(t.len());
        // More than three equal characters in a row fold to three (`fuuuuuck` -> `fuuuck`): no
        // entry needs more, and the last kept one maps to the whole run.
        let n = f.s.len();
        let run = n >= 3
            && b != b' '
            && f.s.get(n - 3..).is_some_and(|w| w.iter().all(|&x| x == b))
            && f.joined.get(n - 2..).is_some_and(|j| !j.iter().any(|&x| x));
        if run && !pending_join {
            if let Some(last) = f.src.last_mut() {
                last.1 = end;
            }
            continue;
        }
        f.s.push(b);
        f.src.push((starts.get(idx).copied().unwrap_or(0), end));
        f.joined.push(pending_join);
        pending_join = false;
    }
    f
}

fn is_letter(b: u8) -> bool {
    b.is_ascii_lowercase() || b == b'X'
}

#[derive(Debug)]
struct Hit {
    start: usize,
    end: usize,
    tier: usize,
}

impl KindMatcher {
    fn tier_of(&self, w: &[u8]) -> Option<usize> {
        self.tiers.iter().position(|r| r.as_ref().is_some_and(|r| r.is_match(w)))
    }

    fn scan(&self, f: &Folded, out: &mut Vec<Hit>) {
        let bytes = f.s.as_slice();
        let at = |i: usize| bytes.get(i).copied();
        let seam = |i: usize| f.joined.get(i).copied().unwrap_or(false);
        // A word may start at `i` / end before `i`: no letter continues it on that side (the
        // text's edge, a non-letter, or a joined seam).
        let lead_ok = |i: usize| i == 0 || seam(i) || !at(i - 1).is_some_and(is_letter);
        let trail_ok = |i: usize| i >= bytes.len() || seam(i) || !at(i).is_some_and(is_letter);
        let needs_lead = matches!(self.kind, Kind::Word | Kind::Prefix);
        let needs_trail = matches!(self.kind, Kind::Word | Kind::Suffix);
        let mut pos = 0;
        while pos < bytes.len() {
            let Some(m) = self.any.find_at(bytes, pos) else { break };
            let (mut a, mut b) = (m.start(), m.end());
            pos = a + 1;
            if needs_lead && !lead_ok(a) {
                // No word starts before the end of this run of letters.
                let mut p = a + 1;
                while p < bytes.len() && !lead_ok(p) {
                    p += 1;
                }
                pos = p;
                continue;
            }
            let Some(mut tier) = self.tier_of(bytes.get(a..b).unwrap_or(&[])) else { continue };
            if needs_trail && !trail_ok(b) {
                // Leftmost-first picked the longest entry here; a shorter one may still end on
                // a boundary (`fuck` when only `fucking` failed).
                let shorter = (a + 2..b).rev().take(64).find_map(|j| if trail_ok(j) { self.tier_of(bytes.get(a..j).unwrap_or(&[])).map(|t| (j, t)) } else { None });
                match shorter {
                    Some((j, t)) => {
                        b = j;
                        tier = t;
                    }
                    None => continue,
                }
            }
            // `*ass*` in markdown: drop wildcard asterisks the word does not need.
            while at(a) == Some(b'*') && b - a > 2 {
                match self.tier_of(bytes.get(a + 1..b).unwrap_or(&[])) {
                    Some(t) => {
                        a += 1;
                        tier = t;
                    }
                    None => break,
                }
            }
            while b > a + 2 && at(b - 1) == Some(b'*') {
                match self.tier_of(bytes.get(a..b - 1).unwrap_or(&[])) {
                    Some(t) => {
                        b -= 1;
                        tier = t;
                    }
                    None => break,
                }
            }
            // Partial-word entries report the whole word.
            if !needs_lead {
                while a > 0 && !lead_ok(a) {
                    a -= 1;
                }
            }
            if !needs_trail {
                while b < bytes.len() && !trail_ok(b) {
                    b += 1;
                }
            }
            let core = bytes.get(a..b).unwrap_or(&[]);
            let strong = core.iter().filter(|x| !x.is_ascii_digit()).count();
            let touches_digit = (a > 0 && at(a - 1).is_some_and(|x| x.is_ascii_digit())) || at(b).is_some_and(|x| x.is_ascii_digit());
            if strong < 2 || touches_digit || b <= a {
                continue;
            }
            let (Some(&(start, _)), Some(&(_, end))) = (f.src.get(a), f.src.get(b - 1)) else { continue };
            out.push(Hit { start, end, tier });
            pos = b;
        }
    }
}

impl Detector for Profanity {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = text.text.as_str();
        if t.len() < 2 {
            return;
        }
        let f = fold(t);
        let mut hits = Vec::new();
        for m in &self.matchers {
            m.scan(&f, &mut hits);
        }
        // Most severe first, then longest: `motherfucker` once, not `fuck` inside it.
        hits.sort_by(|x, y| x.tier.cmp(&y.tier).then(y.end.saturating_sub(y.start).cmp(&x.end.saturating_sub(x.start))).then(x.start.cmp(&y.start)));
        let mut kept: BTreeMap<usize, Hit> = BTreeMap::new();
        for h in hits {
            if kept.range(..h.end).next_back().is_none_or(|(_, k)| k.end <= h.start) {
                kept.insert(h.start, h);
            }
        }
        for h in kept.into_values() {
            let (Some(level), Some(label)) = (LEVELS.get(h.tier), TIER_LABELS.get(h.tier)) else { continue };
            out.push(Finding { start: h.start, end: h.end, level: *level, labels: vec![(*label).to_string()] });
        }
    }
}

#[cfg(test)]
mod tests;


