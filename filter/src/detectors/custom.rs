//! `pii/custom`: the policy's own named regular expressions, reported with the rule name as label.

use regex::{Regex, RegexBuilder};

use super::{Detector, Finding};
use crate::policy::{CustomPatternSpec, Level};
use crate::text::NormText;

/// Compiled-program and lazy-DFA caps: a pattern is data from the config, so it must not be able
/// to make a VM compile or match unboundedly.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
pub const REGEX_DFA_LIMIT: usize = 2 << 20;

pub struct Custom {
    rules: Vec<(String, Regex)>,
}

impl Custom {
    /// `Err` names the rule index (`custom_patterns[i]...`) so config errors point at it.
    pub fn new(specs: &[CustomPatternSpec]) -> Result<Self, String> {
        let mut rules = Vec::with_capacity(specs.len());
        for (i, s) in specs.iter().enumerate() {
            if s.name.trim().is_empty() {
                return Err(format!("custom_patterns[{i}].name: must not be empty"));
            }
            if specs[..i].iter().any(|o| o.name == s.name) {
                return Err(format!("custom_patterns[{i}].name: duplicate rule name {:?}", s.name));
            }
            let re = RegexBuilder::new(&s.pattern)
                .case_insensitive(s.case_insensitive)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_DFA_LIMIT)
                .build()
                .map_err(|e| format!("custom_patterns[{i}].pattern: {e}"))?;
            if re.is_match("") {
                return Err(format!("custom_patterns[{i}].pattern: matches the empty string, which would flag every message"));
            }
            rules.push((s.name.clone(), re));
        }
        Ok(Custom { rules })
    }
}

impl Detector for Custom {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let mut found = Vec::new();
        for (name, re) in &self.rules {
            for m in re.find_iter(&text.text) {
                found.push(Finding { start: m.start(), end: m.end(), level: Level::L1, labels: vec![name.clone()] });
            }
        }
        found.sort_by(|a, b| (a.start, a.end, &a.labels).cmp(&(b.start, b.end, &b.labels)));
        out.extend(found);
    }
}

#[cfg(test)]
mod tests;
