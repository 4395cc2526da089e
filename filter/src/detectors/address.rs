//! `pii/address`: US street addresses and PO boxes.
//!
//! A street address is a house number (`123`, `221B`, `12-14`), an optional direction (`N`,
//! `North`), a street name of one to four words, a street suffix (`St`, `Avenue`, `Blvd`, ...), an
//! optional trailing direction (`NW`), an optional unit (`Apt 4B`, `Suite 200`, `Unit 5`, `#12`)
//! and an optional `, City, ST 12345(-6789)` (state as a capitalised USPS code or a full name;
//! comma or line break before the city). `PO Box 123` / `P.O. Box` / `Post Office Box` takes the
//! same optional tail and is labelled `po_box`.
//!
//! Levels: city + state + ZIP -> `L1`; a unit, or city + state -> `L2`; number + name + suffix
//! only -> `L3`; a PO box -> `L2`, `L1` with city, state and ZIP. A street whose name or suffix
//! is not capitalised ("2 way street", "123 main st") is one step less certain, since the
//! capitalised name is what sets an address apart from prose. A "city" made of function words
//! (", and in Texas") is prose: the finding stops before it.
//!
//! Rejected outright: a name containing function words ("the", "of", "down", ...), a house number
//! led by a word that makes it a count, year or reference ("a 2 way street", "chapter 12 drive",
//! "in 2008 Wall Street", "top 5 …"), a leading-zero house number, and numbers glued to other
//! digits or a currency sign. Highway-style names with the number after ("Route 66") are not
//! matched.

use regex::{Captures, Regex};

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

/// USPS street suffixes common enough to be worth the regex, full and abbreviated. Everyday
/// words that double as suffixes (Point, Park, Walk, Run, Row, Path) are left out: they turn too
/// much prose into addresses.
const SUFFIXES: &str = "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|\
parkway|pkwy|terrace|ter|terr|circle|cir|highway|hwy|square|sq|trail|trl|loop|alley|aly|crescent|cres|\
expressway|expy|freeway|fwy|plaza|plz|turnpike|tpke|pike|causeway|cswy|crossing|xing";

const STATE_CODES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|\
NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|PR|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY";

const STATE_NAMES: &str = "alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|\
georgia|hawaii|idaho|illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|michigan|\
minnesota|mississippi|missouri|montana|nebraska|nevada|new\\s+hampshire|new\\s+jersey|new\\s+mexico|new\\s+york|\
north\\s+carolina|north\\s+dakota|ohio|oklahoma|oregon|pennsylvania|rhode\\s+island|south\\s+carolina|\
south\\s+dakota|tennessee|texas|utah|vermont|virginia|washington|west\\s+virginia|wisconsin|wyoming|\
district\\s+of\\s+columbia|puerto\\s+rico";

/// Function words never part of a street name: their presence means prose.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "of", "to", "in", "on", "at", "by", "for", "from", "with", "into", "onto",
    "down", "up", "over", "under", "off", "out", "is", "are", "was", "were", "be", "been", "i", "you", "we", "they",
    "he", "she", "it", "my", "your", "our", "their", "his", "her", "its", "this", "that", "these", "those", "not",
    "no", "yes", "so", "if", "then", "than", "as", "per", "more", "less", "very", "just", "all", "some", "any", "each",
    "every", "other", "another", "such", "only", "also", "will", "would", "can", "could", "should", "do", "does",
    "did", "have", "has", "had", "me", "him", "them", "us", "what", "which", "who", "when", "where", "how", "why",
    "there", "here",
];

/// Words that make the following number a count, year, rank or reference, not a house number.
#[rustfmt::skip]
const NOT_BEFORE: &[&str] = &[
    "a", "an", "the", "in", "since", "until", "till", "by", "of", "for", "than", "about", "around", "over", "under",
    "only", "top", "best", "first", "last", "next", "every", "all", "these", "those", "chapter", "page", "pages",
    "section", "step", "part", "version", "level", "episode", "season", "vol", "volume", "figure", "fig", "table",
    "item", "items", "rule", "lesson", "grade", "day", "days", "week", "weeks", "year", "years", "hour", "hours",
    "minute", "minutes", "mile", "miles", "no", "number", "line", "row", "verse", "psalm", "exercise", "question",
    "problem", "error", "code", "status", "http", "port", "take", "took", "give", "gave", "buy", "bought", "need",
    "needs", "want", "wants", "got", "get", "have", "has", "had", "with", "without", "like", "nearly", "almost",
    "approximately", "roughly", "above", "below", "between",
];

pub struct Address {
    street: Regex,
    po_box: Regex,
}

impl Address {
    pub fn new() -> Result<Self, String> {
        // `, City, ST 12345`: state code upper case (so "in", "or", "me" in prose are not
        // states), ZIP optional. City words are checked in code.
        let tail = format!(
            r"(?:(?:,[ \t]*|[ \t]*\r?\n[ \t]*)(?P<city>[a-z][a-z'.\-]*(?:[ \t][a-z][a-z'.\-]*){{0,3}})(?:,[ \t]*|[ \t]+)(?P<state>(?-i:{STATE_CODES})|{STATE_NAMES})(?-u:\b)(?:,?[ \t]+(?P<zip>[0-9]{{5}}(?:-[0-9]{{4}})?)(?-u:\b))?)?"
        );
        let word = r"(?:[a-z][a-z'\-]*\.?|[0-9]{1,3}(?:st|nd|rd|th))";
        let street = format!(
            r"(?i)(?-u:\b)(?P<base>(?P<num>[0-9]{{1,6}}(?:-[0-9]{{1,5}})?[a-z]?)(?-u:\b)[ \t]+(?:(?:(?-i:[NSEW]|NE|NW|SE|SW)|north|south|east|west)\.?[ \t]+)?(?P<name>(?:{word}[ \t]+){{0,3}}?{word})[ \t]+(?P<suf>{SUFFIXES})(?-u:\b)\.?(?:[ \t]+(?-i:NE|NW|SE|SW|N|S|E|W)(?-u:\b)\.?)?(?P<unit>,?[ \t]*(?:(?:apt|apartment|suite|ste|unit|bldg|building|fl|floor|rm|room)\.?[ \t]*#?[ \t]*|\#[ \t]?)(?:[0-9][a-z0-9\-]{{0,5}}|[a-z](?:-?[0-9]{{1,4}})?)(?-u:\b))?){tail}"
        );
        let street = Regex::new(&street).map_err(|e| e.to_string())?;
        let po_box = format!(
            r"(?i)(?-u:\b)(?P<base>(?:p\.?[ \t]?o\.?[ \t]*box|post[ \t]+office[ \t]+box)[ \t]*#?[ \t]*[0-9]{{1,7}})(?-u:\b){tail}"
        );
        let po_box = Regex::new(&po_box).map_err(|e| e.to_string())?;
        Ok(Address { street, po_box })
    }
}

impl Detector for Address {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = &text.text;
        if !t.bytes().any(|c| c.is_ascii_digit()) {
            return;
        }
        let mut found: Vec<Finding> = Vec::new();
        for c in self.street.captures_iter(t) {
            if let Some(f) = street_finding(t, &c) {
                found.push(f);
            }
        }
        let streets = found.len();
        // Index of the first street that may overlap a PO box: both lists are in text order.
        let mut k = 0;
        for c in self.po_box.captures_iter(t) {
            let Some(f) = po_box_finding(&c) else { continue };
            while k < streets && found.get(k).is_some_and(|g| g.end <= f.start) {
                k += 1;
            }
            if !(k < streets && found.get(k).is_some_and(|g| g.start < f.end)) {
                found.push(f);
            }
        }
        found.sort_by_key(|f| (f.start, f.end));
        out.extend(found);
    }
}

fn street_finding(t: &str, c: &Captures) -> Option<Finding> {
    let m = c.get(0)?;
    let num = c.name("num")?.as_str();
    let name = c.name("name")?.as_str();
    let suffix = c.name("suf")?.as_str();
    if num.starts_with('0') || glued_before(t, m.start()) || number_is_not_a_house(t, m.start()) {
        return None;
    }
    if has_stopword(name) {
        return None;
    }
    let capitalised = |w: &str| w.chars().next().is_some_and(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit());
    let proper = name.split_whitespace().all(capitalised) && capitalised(suffix);
    // "12 Oak Street, and then Texas": a city made of function words is prose; keep the street.
    let city_ok = c.name("city").is_some_and(|m| !has_stopword(m.as_str()));
    let end = if city_ok { m.end() } else { c.name("base")?.end() };
    let (state, zip) = (city_ok && c.name("state").is_some(), city_ok && c.name("zip").is_some());
    let level = if state && zip {
        Level::L1
    } else if c.name("unit").is_some() || state {
        Level::L2
    } else {
        Level::L3
    };
    let level = if proper { level } else { less_certain(level) };
    Some(Finding { start: m.start(), end, level, labels: vec![] })
}

fn has_stopword(words: &str) -> bool {
    words.split_whitespace().any(|w| STOPWORDS.contains(&w.trim_end_matches('.').to_ascii_lowercase().as_str()))
}

fn po_box_finding(c: &Captures) -> Option<Finding> {
    let m = c.get(0)?;
    let (end, full) = match c.name("city") {
        Some(city) if !has_stopword(city.as_str()) => (m.end(), c.name("zip").is_some()),
        _ => (c.name("base")?.end(), false),
    };
    let level = if full { Level::L1 } else { Level::L2 };
    Some(Finding { start: m.start(), end, level, labels: vec!["po_box".to_string()] })
}

fn less_certain(l: Level) -> Level {
    match l {
        Level::L1 => Level::L2,
        Level::L2 => Level::L3,
        Level::L3 | Level::L4 => Level::L4,
    }
}

/// The house number continues a number or price: `1.5 Main St`, `$20 Oak Dr`, `3-12 Elm St`.
fn glued_before(t: &str, start: usize) -> bool {
    let mut back = t.get(..start).unwrap_or("").chars().rev();
    let Some(p) = back.next() else { return false };
    if matches!(p, '$' | '€' | '£' | '¥' | '#' | '-' | '+' | '/') {
        return true;
    }
    matches!(p, '.' | ',' | ':') && back.next().is_some_and(|c| c.is_ascii_digit())
}

/// The word before the number makes it a count or reference ("a 2 way street", "chapter 12").
fn number_is_not_a_house(t: &str, start: usize) -> bool {
    let head = t.get(..start).unwrap_or("").trim_end();
    let word = head.rsplit(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    !word.is_empty() && NOT_BEFORE.contains(&word.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests;
