//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct Iban;

impl Iban {
    pub fn new() -> Result<Self, String> {
        Ok(Iban)
    }
}

impl Detector for Iban {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
