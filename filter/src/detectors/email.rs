//! `pii/email`: e-mail addresses, plain and spelled out ("bob at example dot com").

use regex::Regex;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

pub struct Email {
    plain: Regex,
    spelled: Regex,
}

impl Email {
    pub fn new() -> Result<Self, String> {
        // Local part per RFC 5322 dot-atom; domain labels of letters, digits and hyphens, a
        // letter-only TLD. No match inside a longer word (the `\b` and `[^…]` guards).
        let plain = Regex::new(
            r"(?i)\b[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}\b",
        )
        .map_err(|e| e.to_string())?;
        // Obfuscated to slip past filters: only a sensitive policy wants these.
        let spelled = Regex::new(
            r"(?i)\b[a-z0-9._%+-]+\s*(?:\[at\]|\(at\)|\{at\}|\sat\s)\s*[a-z0-9-]+(?:\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s)\s*[a-z0-9-]+)*\s*(?:\[dot\]|\(dot\)|\{dot\}|\sdot\s)\s*(?:com|org|net|edu|gov|io|co|de|uk|fr|info|biz|me|ai|dev)\b",
        )
        .map_err(|e| e.to_string())?;
        Ok(Email { plain, spelled })
    }
}

impl Detector for Email {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = &text.text;
        if !t.contains('@') && !t.to_ascii_lowercase().contains("at") {
            return;
        }
        let mut found: Vec<Finding> = self
            .plain
            .find_iter(t)
            .map(|m| Finding { start: m.start(), end: m.end(), level: Level::L1, labels: vec![] })
            .collect();
        for m in self.spelled.find_iter(t) {
            if !found.iter().any(|f| f.start < m.end() && m.start() < f.end) {
                found.push(Finding { start: m.start(), end: m.end(), level: Level::L3, labels: vec!["spelled_out".into()] });
            }
        }
        found.sort_by_key(|f| (f.start, f.end));
        out.extend(found);
    }
}

#[cfg(test)]
mod tests;
