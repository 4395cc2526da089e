//! `pii/name`: person names in running text, found by a small learned token tagger.
//!
//! The text is cut into word tokens ([`tokens`]); each token gets about thirty hashed features
//! ([`features`]: the word, its shape, prefix and suffix, its neighbours two either side and
//! the separators between them, whether it starts a sentence or line, the run of capitalised
//! words it sits in, cues shared by every language (an introduction before it, a verb of
//! writing after it, a title before it), and three lexicons: first names, last names and common
//! lower-case words); a logistic model over those features (integer weights, so every runtime
//! adds up the same numbers) scores each token. Tokens scoring at least the `L4` threshold form
//! names: neighbours joined by a space, a hyphen or an initial's full stop are one name, surname
//! particles ("van der") join the words around them, and a capitalised word next to a name joins
//! it on weaker evidence. A name's level is the most certain level its best token reaches.
//!
//! The weights, lexicons and thresholds are one file, `models/name-tagger.bin`, made by the
//! training pipeline in `models/names/` (generated multilingual text; see its card). Latin,
//! Cyrillic and Greek scripts are covered; scripts written without spaces between words
//! (Chinese, Japanese, Thai) are not segmented, so names in them are not found.
//!
//! Titles and greetings are not part of a name ("Dr. Ana Silva" and "Frau Ana Silva" report "Ana
//! Silva"), nor is a possessive "'s". Names of public figures are names: they are reported like
//! anyone else's.

use std::collections::BTreeMap;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

/// The shipped model (format: [`Tagger::parse`]).
const MODEL: &[u8] = include_bytes!("../../../models/name-tagger.bin");

const MAGIC: &[u8; 8] = b"PNAME\x00\x01\x00";

/// Fixed-point scale of the stored weights: a logit is the sum of a token's weights / `SCALE`.
pub const SCALE: i32 = 256;

/// How far below the `L4` threshold a capitalised word may score and still continue the name
/// before it: three logits.
const CONTINUE_MARGIN: i32 = 3 * SCALE;

/// How far below its best occurrence a capitalised word the text uses elsewhere as a name may
/// score: one logit (none: real F1 0.596 -> 0.606, but a word wrongly taken for a name once is
/// then flagged at every occurrence: flags in code 0.39 -> 0.61 per 10,000 characters).
const SPREAD_MARGIN: i32 = SCALE;

/// The spread needs at least one in this many of the word's occurrences at `L2` or better on
/// their own. Without it one LLM-topic document was flagged 46 times for a vector database it
/// once asked to "tell Weaviate" something (documents 2.01 -> 1.39 flags per 10,000 characters;
/// real F1 0.657 -> 0.661; one in two: 1.31 and 0.649, one in eight: 1.44 and 0.657).
const SPREAD_SHARE: usize = 4;

/// The same for a capitalised word right before a name.
const BACK_MARGIN: i32 = 4 * SCALE;

/// Titles and greetings that stay outside a name even right before it, lower-cased (the
/// languages of the tagger's training text): "Frau Schneider", "Servus Jessica".
const TITLES: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady", "herr", "herrn", "frau", "fräulein",
    "monsieur", "madame", "mademoiselle", "mme", "mlle", "señor", "señora", "señorita", "sr", "sra", "srta", "don",
    "doña", "dona", "dra", "signor", "signore", "signora", "signorina", "sig", "dott", "ing", "dhr", "mevr",
    "mevrouw", "meneer", "pan", "pani", "господин", "госпожа", "доктор", "dear", "hi", "hello", "hey", "thanks",
    "cheers", "regards", "best", "hallo", "servus", "moin", "liebe", "lieber", "bonjour", "salut", "coucou", "cher",
    "chère", "hola", "querida", "querido", "estimada", "estimado", "ciao", "salve", "gentile", "caro", "cara", "hoi",
    "beste", "olá", "oi", "prezado", "prezada", "cześć", "witaj", "witam", "drogi", "droga", "szanowny",
    "szanowna", "привет", "здравствуйте", "уважаемый", "уважаемая", "дорогой", "дорогая",
    // Abbreviated titles as the tokenizer cuts them: "г-н", "Dott.ssa" -> "ssa", "Sig.ra" -> "ra".
    "г-н", "г-жа", "ssa", "ra", "mgr",
];

/// Lower-case particles inside a surname ("Theo van Doesburg", "Piero della Francesca", "da
/// Silva"): a name runs on through up to two of them into a capitalised word after them.
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "de", "del", "della", "delle", "degli", "dei", "di", "da", "das", "do", "dos", "du",
    "des", "la", "le", "ten", "ter", "zu", "bin", "ibn", "al", "el",
];

/// Words that introduce a person's name right after them, lower-cased, in the training
/// languages: one feature for all of them, so an introduction in a sentence the templates never
/// had ("Mam na imię ...") still counts.
const INTRO: &[&[&str]] = &[
    &["name", "is"], &["i'm"], &["i", "am"], &["call", "me"],
    &["ich", "heiße"], &["name", "ist"], &["ich", "bin"], &["je", "m'appelle"], &["nom", "est"], &["je", "suis"],
    &["me", "llamo"], &["nombre", "es"], &["soy"], &["mi", "chiamo"], &["nome", "è"], &["sono"], &["naam", "is"],
    &["ik", "ben"], &["ik", "heet"], &["nome", "é"], &["me", "chamo"], &["sou"], &["na", "imię"],
    &["nazywam", "się"], &["jestem"], &["меня", "зовут"], &["зовут"], &["это"],
];

/// Verbs of saying or writing right after a name ("Jake Hughes wrote:", "... пишет:").
const SAID: &[&[&str]] = &[
    &["wrote"], &["writes"], &["said"], &["says"], &["schrieb"], &["schreibt"], &["sagte"], &["a", "écrit"],
    &["écrit"], &["escribió"], &["escribe"], &["dijo"], &["ha", "scritto"], &["scrive"], &["schreef"],
    &["schrijft"], &["zei"], &["escreveu"], &["disse"], &["napisał"], &["napisała"], &["pisze"],
    &["powiedział"], &["powiedziała"], &["пишет"], &["написал"], &["написала"], &["сказал"], &["сказала"],
];

pub struct Name {
    tagger: Tagger,
}

impl Name {
    pub fn new() -> Result<Self, String> {
        Ok(Name { tagger: Tagger::parse(MODEL)? })
    }
}

impl Detector for Name {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        for (start, end, level) in self.tagger.names(&text.text) {
            out.push(Finding { start, end, level, labels: Vec::new() });
        }
    }
}

/// The lexicons the features consult, as sorted 32-bit hashes of lower-cased words.
#[derive(Debug, Clone, Default)]
pub struct Lexicons {
    pub first: Vec<u32>,
    pub last: Vec<u32>,
    pub common: Vec<u32>,
}

impl Lexicons {
    fn has(list: &[u32], lower: &str) -> bool {
        list.binary_search(&fnv(0, lower.as_bytes())).is_ok()
    }
}

/// A tagger: feature weights, lexicons and the per-level thresholds.
#[derive(Debug, Clone)]
pub struct Tagger {
    /// log2 of the number of weight buckets.
    pub bits: u32,
    pub weights: Vec<i16>,
    pub lex: Lexicons,
    /// Minimum token score (weight sum, `SCALE` per logit unit) for `L1`..`L4`, descending.
    pub thresholds: [i32; 4],
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
    if b.len() < n {
        return Err("name tagger model: truncated".into());
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

fn u32_at(b: &mut &[u8]) -> Result<u32, String> {
    let s = take(b, 4)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

impl Tagger {
    /// Model file layout, little-endian: magic (8 bytes), `bits` (u32), `2^bits` i16 weights,
    /// three lexicons (u32 count, then sorted u32 hashes: first names, last names, common words),
    /// four i32 thresholds (`L1`..`L4`).
    pub fn parse(mut b: &[u8]) -> Result<Tagger, String> {
        if take(&mut b, 8)? != MAGIC {
            return Err("name tagger model: bad magic".into());
        }
        let bits = u32_at(&mut b)?;
        if !(8..=24).contains(&bits) {
            return Err(format!("name tagger model: {bits} hash bits"));
        }
        let w = take(&mut b, 2usize << bits)?;
        let weights = w.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect();
        let mut lists = Vec::new();
        for _ in 0..3 {
            let n = u32_at(&mut b)? as usize;
            let raw = take(&mut b, n.checked_mul(4).ok_or("name tagger model: bad lexicon size")?)?;
            let list: Vec<u32> = raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
            if list.windows(2).any(|p| p[0] >= p[1]) {
                return Err("name tagger model: lexicon not sorted".into());
            }
            lists.push(list);
        }
        let mut thresholds = [0i32; 4];
        for t in thresholds.iter_mut() {
            *t = u32_at(&mut b)? as i32;
        }
        if !b.is_empty() || thresholds.windows(2).any(|p| p[0] < p[1]) {
            return Err("name tagger model: bad thresholds or trailing bytes".into());
        }
        let common = lists.pop().unwrap_or_default();
        let last = lists.pop().unwrap_or_default();
        let first = lists.pop().unwrap_or_default();
        Ok(Tagger { bits, weights, lex: Lexicons { first, last, common }, thresholds })
    }

    /// The file [`Tagger::parse`] reads.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend(self.bits.to_le_bytes());
        for w in &self.weights {
            b.extend(w.to_le_bytes());
        }
        for list in [&self.lex.first, &self.lex.last, &self.lex.common] {
            b.extend((list.len() as u32).to_le_bytes());
            for h in list {
                b.extend(h.to_le_bytes());
            }
        }
        for t in self.thresholds {
            b.extend(t.to_le_bytes());
        }
        b
    }

    /// Each token's score (weight sum; `SCALE` = one logit unit).
    pub fn scores(&self, p: &Prepared) -> Vec<i32> {
        let mask = (1u32 << self.bits) - 1;
        let mut feats = Vec::with_capacity(40);
        (0..p.toks.len())
            .map(|i| {
                features(p, i, &mut feats);
                feats
                    .iter()
                    .map(|f| i32::from(self.weights.get((f & mask) as usize).copied().unwrap_or(0)))
                    .sum()
            })
            .collect()
    }

    /// Names in `text`: byte ranges and the most certain level each reaches.
    pub fn names(&self, text: &str) -> Vec<(usize, usize, Level)> {
        let p = Prepared::new(text, &self.lex);
        let toks = &p.toks;
        if toks.is_empty() {
            return Vec::new();
        }
        let mut scores = self.scores(&p);
        // One name, one decision: a capitalised word (not a common one) that the text uses
        // elsewhere as a name at `L2` or better ("Ruth:" as a chat speaker, "Tracy" in a word
        // problem) scores at least one logit below its best occurrence.
        // Unless the text mostly uses the word otherwise ([`SPREAD_SHARE`]).
        // word -> (best score, occurrences at `L2` or better, occurrences)
        let mut seen: BTreeMap<&str, (i32, usize, usize)> = BTreeMap::new();
        let spread = |i: usize, t: &Tok| t.class == Class::Cap && !p.lexicon_hits(i).2;
        for (i, (t, &s)) in toks.iter().zip(&scores).enumerate() {
            if spread(i, t) {
                let w = text.get(t.start..t.end).unwrap_or("");
                let e = seen.entry(w).or_insert((i32::MIN, 0, 0));
                e.2 += 1;
                if s >= self.thresholds[1] {
                    e.0 = e.0.max(s);
                    e.1 += 1;
                }
            }
        }
        for (i, (t, s)) in toks.iter().zip(scores.iter_mut()).enumerate() {
            if spread(i, t) {
                if let Some(&(b, named, all)) = seen.get(text.get(t.start..t.end).unwrap_or("")) {
                    if named > 0 && named * SPREAD_SHARE >= all {
                        *s = (*s).max(b - SPREAD_MARGIN);
                    }
                }
            }
        }
        let low = self.thresholds[3];
        let mut out: Vec<(usize, usize, Level)> = Vec::new();
        let mut open: Option<(usize, usize, i32)> = None; // start, end, best score
        for (i, (t, &s)) in toks.iter().zip(&scores).enumerate() {
            // A type token another detector left (`<EMAIL>`, `<NAME>`) is never a name.
            let token = text.get(..t.start).is_some_and(|b| b.ends_with('<'))
                && text.get(t.end..).is_some_and(|a| a.starts_with('>'));
            // A capitalised word right after a name continues it on weaker evidence ("David
            // Haber": "haber" is also a common Spanish word).
            let after_name = i > 0 && toks.get(i - 1).is_some_and(|prev| joins(text, prev, t) && prev.end == open.map_or(0, |o| o.1));
            let continues = open.is_some()
                && after_name
                && ((t.class == Class::Cap && s >= low - CONTINUE_MARGIN) || self.particle_bridge(&p, &scores, i));
            if (s < low && !continues) || token {
                if let Some(o) = open.take() {
                    out.push(self.finish(o));
                }
                continue;
            }
            open = match open {
                Some((st, _, best)) if i > 0 && joins(text, &toks[i - 1], t) => Some((st, t.end, best.max(s))),
                Some(o) => {
                    out.push(self.finish(o));
                    Some((self.back(&p, &scores, i, o.1), t.end, s))
                }
                None => Some((self.back(&p, &scores, i, out.last().map_or(0, |n| n.1)), t.end, s)),
            };
        }
        if let Some(o) = open {
            out.push(self.finish(o));
        }
        out
    }

    /// Whether token `i` is a surname particle that, with at most one more, leads to a
    /// capitalised word (not a common one) that could continue a name.
    fn particle_bridge(&self, p: &Prepared, scores: &[i32], i: usize) -> bool {
        let mut k = i;
        while p.particle(k) && k - i < 2 {
            let joined = p.toks.get(k).zip(p.toks.get(k + 1)).is_some_and(|(a, b)| joins(p.text, a, b));
            if !joined {
                return false;
            }
            k += 1;
        }
        k > i
            && p.toks.get(k).is_some_and(|t| t.class == Class::Cap)
            && !p.lexicon_hits(k).2
            && scores.get(k).is_some_and(|&s| s >= self.thresholds[3] - CONTINUE_MARGIN)
    }

    /// Where a name that opens at token `i` starts: a capitalised word right before it joins it
    /// on weaker evidence, as a word after it does ("Margarethe Lindqvist": the surname is sure,
    /// the rarer first name less so), unless it is a common word ("Segundo" is a name and
    /// "according to"), a surname but no first name, or a title ([`TITLES`]); up to two words
    /// back and never into the name before it (which ends at byte `floor`).
    fn back(&self, p: &Prepared, scores: &[i32], i: usize, floor: usize) -> usize {
        // Whether the capitalised word `j` would join the name that starts at `j + 1`.
        let joins_back = |j: usize| {
            let (Some(prev), Some(cur), Some(&s)) = (p.toks.get(j), p.toks.get(j + 1), scores.get(j)) else { return false };
            let token = p.text.get(..prev.start).is_some_and(|b| b.ends_with('<'));
            let (first, last, common) = p.lexicon_hits(j);
            let lw = p.lower.get(j).map_or("", String::as_str);
            prev.class == Class::Cap
                && !common
                && (first || !last)
                && !TITLES.contains(&lw)
                && prev.start >= floor
                && s >= self.thresholds[3] - BACK_MARGIN
                && joins(p.text, prev, cur)
                && !token
        };
        // Surname particles right before the name ("van den Brandhof") join it only between it
        // and a first name or a title ("Romi van den Brandhof", "meneer van Dijk"): after any
        // other word they are as likely a preposition ("het werk van Sieuwerd": "Sieuwerd's work").
        let mut k = i;
        while k > 0 && i - k < 2 && p.particle(k - 1) {
            let (Some(prev), Some(cur)) = (p.toks.get(k - 1), p.toks.get(k)) else { break };
            if prev.start < floor || !joins(p.text, prev, cur) {
                break;
            }
            k -= 1;
        }
        if k < i {
            let title = k > 0
                && p.lower.get(k - 1).is_some_and(|w| TITLES.contains(&w.as_str()))
                && p.toks.get(k - 1).zip(p.toks.get(k)).is_some_and(|(a, b)| joins(p.text, a, b) || p.text.get(a.end..b.start) == Some(". "));
            if !(title || (k > 0 && joins_back(k - 1))) {
                k = i;
            }
        }
        let i = k;
        while k > 0 && i - k < 2 && joins_back(k - 1) {
            k -= 1;
        }
        p.toks.get(k).map_or(0, |t| t.start)
    }

    fn finish(&self, (start, end, best): (usize, usize, i32)) -> (usize, usize, Level) {
        let level = [Level::L1, Level::L2, Level::L3]
            .into_iter()
            .zip(self.thresholds)
            .find(|(_, t)| best >= *t)
            .map_or(Level::L4, |(l, _)| l);
        (start, end, level)
    }
}

/// Whether name tokens `a` and `b` (in order) belong to one name: only a space or two, a
/// hyphen, or an initial's full stop and a space between them.
fn joins(text: &str, a: &Tok, b: &Tok) -> bool {
    let gap = text.get(a.end..b.start).unwrap_or("\n");
    match gap {
        " " | "  " | "-" => true,
        ". " => a.end - a.start <= 2 && a.class == Class::Upper,
        _ => false,
    }
}

/// What a token's letters look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `Anna`, `O'Brien`, `Jean-Pierre`.
    Cap,
    /// `anna`.
    Lower,
    /// `ANNA`, `J`.
    Upper,
    /// `iPhone`, `getUserName`.
    Mixed,
    /// Digits or anything with a digit.
    Digit,
    /// Letters without case (CJK, Arabic, ...).
    Caseless,
}

impl Class {
    fn tag(self) -> &'static [u8] {
        match self {
            Class::Cap => b"C",
            Class::Lower => b"l",
            Class::Upper => b"U",
            Class::Mixed => b"M",
            Class::Digit => b"d",
            Class::Caseless => b"n",
        }
    }
}

/// A word token: byte range in the text, and its letters' case class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    pub start: usize,
    pub end: usize,
    pub class: Class,
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '-' | '\u{2010}')
}

/// Word tokens: runs of letters and digits; an apostrophe or hyphen between two letters stays
/// inside (`O'Brien`, `Jean-Pierre`), except a possessive `'s` at the end.
pub fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let next = it.peek().map(|&(_, n)| n);
        let inside = c.is_alphanumeric()
            || (start.is_some() && is_joiner(c) && next.is_some_and(char::is_alphabetic) && !possessive(text, i));
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(tok(text, s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(tok(text, s, text.len()));
    }
    out
}

/// `'s` / `’s` at byte `i` closing a word (`Anna's`).
fn possessive(text: &str, i: usize) -> bool {
    let rest = text.get(i..).unwrap_or("");
    let mut cs = rest.chars();
    cs.next();
    matches!(cs.next(), Some('s' | 'S')) && !cs.next().is_some_and(char::is_alphanumeric)
}

fn tok(text: &str, start: usize, end: usize) -> Tok {
    let w = text.get(start..end).unwrap_or("");
    let (mut up, mut low, mut digit, mut caseless) = (0, 0, false, 0);
    let mut first_up = false;
    for (k, c) in w.chars().enumerate() {
        if c.is_numeric() {
            digit = true;
        } else if c.is_uppercase() {
            up += 1;
            if k == 0 {
                first_up = true;
            }
        } else if c.is_lowercase() {
            low += 1;
        } else if c.is_alphabetic() {
            caseless += 1;
        }
    }
    let class = if digit {
        Class::Digit
    } else if up == 0 && low == 0 && caseless > 0 {
        Class::Caseless
    } else if up == 0 {
        Class::Lower
    } else if low == 0 {
        Class::Upper
    } else if first_up && (up == 1 || capitalised_parts(w)) {
        Class::Cap
    } else {
        Class::Mixed
    };
    Tok { start, end, class }
}

/// `Jean-Pierre`, `O'Brien`, `McDonald`: each joined part starts upper case, or a `Mc`/`Mac`.
fn capitalised_parts(w: &str) -> bool {
    let parts_ok = w.split(is_joiner).all(|p| {
        let mut cs = p.chars();
        cs.next().is_some_and(char::is_uppercase) && cs.filter(|c| c.is_uppercase()).count() == 0
    });
    parts_ok || ["Mc", "Mac"].iter().any(|p| w.starts_with(p) && w.chars().filter(|c| c.is_uppercase()).count() == 2)
}

/// 32-bit FNV-1a of a feature template id and its bytes.
pub fn fnv(template: u8, bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5 ^ u32::from(template);
    h = h.wrapping_mul(0x0100_0193);
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn fnv2(template: u8, a: &[u8], b: &[u8]) -> u32 {
    let mut h = fnv(template, a);
    h ^= 0xff;
    h = h.wrapping_mul(0x0100_0193);
    for x in b {
        h ^= u32::from(*x);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn lower(w: &str) -> String {
    w.chars().flat_map(char::to_lowercase).collect()
}

/// The word's shape: letters as `X`/`x`, digits as `d`, runs longer than two cut to two.
fn shape(w: &str) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(8);
    for c in w.chars() {
        let s = if c.is_uppercase() {
            b'X'
        } else if c.is_lowercase() {
            b'x'
        } else if c.is_numeric() {
            b'd'
        } else if c.is_alphabetic() {
            b'n'
        } else {
            b'-'
        };
        let n = out.len();
        if n >= 2 && out[n - 1] == s && out[n - 2] == s {
            continue;
        }
        out.push(s);
    }
    out
}

/// The separator before token `i`, as a short class: `^` text start, `n` a line break (with
/// `n.` etc. when it also holds punctuation), `s` spaces only, else its first non-space char.
fn gap(text: &str, toks: &[Tok], i: usize) -> Vec<u8> {
    let (from, to) = match (i.checked_sub(1).and_then(|p| toks.get(p)), toks.get(i)) {
        (Some(p), Some(t)) => (p.end, t.start),
        (None, Some(t)) => (0, t.start),
        (Some(p), None) => (p.end, text.len()),
        (None, None) => return b"^".to_vec(),
    };
    let g = text.get(from..to).unwrap_or("");
    let punct = g.chars().find(|c| !c.is_whitespace());
    let mut out = Vec::with_capacity(5);
    if i == 0 {
        out.push(b'^');
    }
    if g.contains('\n') {
        out.push(b'n');
    }
    match punct {
        Some(c) => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        None if out.is_empty() => out.push(if g.is_empty() { b'0' } else { b's' }),
        None => {}
    }
    out
}

fn script(w: &str) -> &'static [u8] {
    match w.chars().find(|c| c.is_alphabetic()) {
        Some(c) if (c as u32) < 0x250 => b"lat",
        Some(c) if (0x370..0x400).contains(&(c as u32)) => b"grk",
        Some(c) if (0x400..0x530).contains(&(c as u32)) => b"cyr",
        Some(_) => b"oth",
        None => b"-",
    }
}

fn lexicon_tag(lex: &Lexicons, lw: &str) -> &'static [u8] {
    match (Lexicons::has(&lex.first, lw), Lexicons::has(&lex.last, lw), Lexicons::has(&lex.common, lw)) {
        (true, true, false) => b"FL-",
        (true, false, false) => b"F--",
        (false, true, false) => b"-L-",
        (false, false, false) => b"---",
        (true, true, true) => b"FLc",
        (true, false, true) => b"F-c",
        (false, true, true) => b"-Lc",
        (false, false, true) => b"--c",
    }
}

/// A text's tokens with what their features need, computed once per text (features look at
/// neighbours and at the whole line, so per-token work stays constant).
#[derive(Debug, Clone)]
pub struct Prepared<'a> {
    text: &'a str,
    pub toks: Vec<Tok>,
    lower: Vec<String>,
    lex: Vec<&'static [u8]>,
    /// Separator before token `i`; `gaps[n]` is the text's tail.
    gaps: Vec<Vec<u8>>,
    /// Title-likeness of each token's line.
    line: Vec<&'static [u8]>,
    /// For capitalised tokens: length of the capitalised run (cut at 5) and position in it.
    run: Vec<(u8, u8)>,
}

impl<'a> Prepared<'a> {
    pub fn new(text: &'a str, lex: &Lexicons) -> Prepared<'a> {
        let toks = tokens(text);
        let lower: Vec<String> = toks.iter().map(|t| lower(text.get(t.start..t.end).unwrap_or(""))).collect();
        let lexs = lower.iter().map(|w| lexicon_tag(lex, w)).collect();
        let gaps = (0..=toks.len()).map(|i| gap(text, &toks, i)).collect();
        let mut p = Prepared { text, toks, lower, lex: lexs, gaps, line: Vec::new(), run: Vec::new() };
        p.line = p.lines();
        p.run = p.runs();
        p
    }

    fn lines(&self) -> Vec<&'static [u8]> {
        let mut out = vec![&b"-"[..]; self.toks.len()];
        let mut a = 0;
        while a < self.toks.len() {
            // Tokens a..b share a line: no line break in the gaps between them.
            let mut b = a + 1;
            while b < self.toks.len() && !self.gaps.get(b).is_some_and(|g| g.contains(&b'n')) {
                b += 1;
            }
            let (mut caps, mut words) = (0usize, 0usize);
            for t in self.toks.get(a..b).unwrap_or(&[]) {
                if matches!(t.class, Class::Lower | Class::Cap | Class::Upper | Class::Mixed) {
                    words += 1;
                    caps += usize::from(t.class == Class::Cap);
                }
            }
            let tag: &'static [u8] = match (words, caps * 4 / words.max(1)) {
                (0..=2, _) => b"short",
                (_, 0) => b"q0",
                (_, 1) => b"q1",
                (_, 2) => b"q2",
                _ => b"q3",
            };
            for o in out.get_mut(a..b).unwrap_or(&mut []) {
                *o = tag;
            }
            a = b;
        }
        out
    }

    fn caps_join(&self, a: usize, b: usize) -> bool {
        match (self.toks.get(a), self.toks.get(b)) {
            (Some(x), Some(y)) => {
                matches!(x.class, Class::Cap | Class::Upper)
                    && matches!(y.class, Class::Cap | Class::Upper)
                    && matches!(self.text.get(x.end..y.start), Some(" " | "-" | ". "))
            }
            _ => false,
        }
    }

    fn runs(&self) -> Vec<(u8, u8)> {
        let n = self.toks.len();
        let mut out = vec![(0u8, 0u8); n];
        let mut a = 0;
        while a < n {
            let mut b = a;
            while b + 1 < n && self.caps_join(b, b + 1) {
                b += 1;
            }
            let len = (b - a + 1).min(5) as u8;
            for (k, o) in out.iter_mut().enumerate().take(b + 1).skip(a) {
                *o = (len, (k - a).min(4) as u8);
            }
            a = b + 1;
        }
        out
    }

    /// Token `i`'s lexicon hits: (first name, last name, common word).
    pub fn lexicon_hits(&self, i: usize) -> (bool, bool, bool) {
        let t = self.lex.get(i).copied().unwrap_or(b"---");
        (t.first() == Some(&b'F'), t.get(1) == Some(&b'L'), t.get(2) == Some(&b'c'))
    }

    /// Whether names `i` and `i + 1` would be one name if both were tagged.
    pub fn joined(&self, i: usize) -> bool {
        match (self.toks.get(i), self.toks.get(i + 1)) {
            (Some(a), Some(b)) => joins(self.text, a, b),
            _ => false,
        }
    }

    /// Whether token `k` is a lower-case surname particle ([`PARTICLES`]).
    fn particle(&self, k: usize) -> bool {
        self.toks.get(k).is_some_and(|t| t.class == Class::Lower) && self.lower.get(k).is_some_and(|w| PARTICLES.contains(&w.as_str()))
    }

    /// Whether one of `phrases` ends right before token `i` (a space, not a line break, between
    /// it and the token).
    fn phrase_ends(&self, phrases: &[&[&str]], i: usize) -> bool {
        let spaced = self.gaps.get(i).is_some_and(|g| g.as_slice() == b"s");
        spaced
            && phrases.iter().any(|ph| {
                i >= ph.len() && ph.iter().enumerate().all(|(k, w)| self.lower.get(i - ph.len() + k).is_some_and(|x| x == w))
            })
    }

    /// Whether one of `phrases` starts at token `i`, a space after the token before it.
    fn phrase_starts(&self, phrases: &[&[&str]], i: usize) -> bool {
        let spaced = self.gaps.get(i).is_some_and(|g| g.as_slice() == b"s");
        spaced && phrases.iter().any(|ph| ph.iter().enumerate().all(|(k, w)| self.lower.get(i + k).is_some_and(|x| x == w)))
    }

    pub fn starts_sentence(&self, i: usize) -> bool {
        let g = self.gaps.get(i).map_or(&b""[..], Vec::as_slice);
        g.first().is_some_and(|c| matches!(c, b'^' | b'n')) || matches!(g, b"." | b"!" | b"?" | b":")
    }
}

/// The hashed features of token `i` of `p` (appended to a cleared `out`).
pub fn features(p: &Prepared, i: usize, out: &mut Vec<u32>) {
    out.clear();
    each_feature(p, i, |_, h| out.push(h));
}

/// [`features`] with the template each comes from (the first argument of its hash): the
/// trainer leaves some kinds out of some tokens so that others carry weight of their own.
pub fn tagged_features(p: &Prepared, i: usize, out: &mut Vec<(u8, u32)>) {
    out.clear();
    each_feature(p, i, |t, h| out.push((t, h)));
}

fn each_feature(p: &Prepared, i: usize, mut push: impl FnMut(u8, u32)) {
    let (Some(t), Some(lw), Some(&lx)) = (p.toks.get(i), p.lower.get(i), p.lex.get(i)) else { return };
    let w = p.text.get(t.start..t.end).unwrap_or("");
    let cls = t.class.tag();
    let sent: &[u8] = if p.starts_sentence(i) { b"S" } else { b"-" };
    let chars: Vec<char> = lw.chars().collect();
    let suffix: String = chars.iter().skip(chars.len().saturating_sub(3)).collect();
    let prefix: String = chars.iter().take(3).collect();
    let len_bucket: &[u8] = match chars.len() {
        1 => b"1",
        2 => b"2",
        3..=4 => b"4",
        5..=8 => b"8",
        _ => b"9",
    };
    let empty: &[u8] = b"";
    let before = p.gaps.get(i).map_or(empty, Vec::as_slice);
    let after = p.gaps.get(i + 1).map_or(empty, Vec::as_slice);
    push(0, fnv(0, b"bias"));
    push(1, fnv(1, lw.as_bytes()));
    push(2, fnv(2, &shape(w)));
    push(3, fnv2(3, suffix.as_bytes(), cls));
    push(4, fnv2(4, prefix.as_bytes(), cls));
    push(5, fnv2(5, cls, sent));
    push(6, fnv2(6, lx, &[cls, sent].concat()));
    push(20, fnv2(20, len_bucket, cls));
    push(21, fnv2(21, script(w), cls));
    push(14, fnv2(14, before, cls));
    push(15, fnv2(15, after, cls));
    push(23, fnv2(23, before, after));
    // Neighbours: the words themselves, their class and lexicon hits.
    for (k, tid) in [(-2isize, 8u8), (-1, 9), (1, 10), (2, 11)] {
        let j = usize::try_from(i as isize + k).ok().filter(|j| *j < p.toks.len());
        match j.and_then(|j| Some((p.toks.get(j)?, p.lower.get(j)?, *p.lex.get(j)?))) {
            Some((n, nw, nlx)) => {
                push(tid, fnv(tid, nw.as_bytes()));
                push(tid + 20, fnv2(tid + 20, n.class.tag(), &[nlx, cls].concat()));
                if k.abs() == 1 {
                    push(tid + 40, fnv2(tid + 40, nw.as_bytes(), cls));
                }
            }
            None => push(tid, fnv(tid, b"<edge>")),
        }
    }
    if let (Some(&(len, pos)), true) = (p.run.get(i), matches!(t.class, Class::Cap | Class::Upper)) {
        push(16, fnv2(16, &[b'0' + len], &[b'0' + pos]));
    }
    push(17, fnv2(17, p.line.get(i).copied().unwrap_or(b"-"), cls));
    // Punctuation glued to the word without a space (`Vec<`, `.Iterator`, `Kelvin(`), apart
    // from the gap classes above that do not tell `Bianchi <` from `Vec<`.
    let glued = |c: Option<char>| match c {
        Some(c) if !c.is_whitespace() && !c.is_alphanumeric() => c,
        _ => ' ',
    };
    let mut buf = [0u8; 8];
    let (gb, ga) = (glued(p.text.get(..t.start).and_then(|s| s.chars().next_back())), glued(p.text.get(t.end..).and_then(|s| s.chars().next())));
    let n = gb.encode_utf8(&mut buf).len();
    let m = ga.encode_utf8(&mut buf[n..]).len();
    push(24, fnv2(24, buf.get(..n + m).unwrap_or(b""), cls));
    if after.first() == Some(&b'\'') || after.starts_with("\u{2019}".as_bytes()) {
        push(18, fnv2(18, b"poss", cls));
    }
    // Cues shared by every language: an introduction before the word or the name it ends, a
    // verb of saying after the word or the name it starts, a title or greeting right before it.
    let cap = |j: usize| p.toks.get(j).is_some_and(|t| t.class == Class::Cap);
    if p.phrase_ends(INTRO, i) || (i > 0 && cap(i - 1) && p.phrase_ends(INTRO, i - 1)) {
        push(60, fnv2(60, b"intro", cls));
    }
    if p.phrase_starts(SAID, i + 1) || (cap(i + 1) && p.phrase_starts(SAID, i + 2)) {
        push(61, fnv2(61, b"said", cls));
    }
    if i > 0 && p.lower.get(i - 1).is_some_and(|w| TITLES.contains(&w.as_str())) {
        push(62, fnv2(62, b"title", cls));
    }
}

#[cfg(test)]
mod tests;
