//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct Profanity;

impl Profanity {
    pub fn new() -> Result<Self, String> {
        Ok(Profanity)
    }
}

impl Detector for Profanity {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
