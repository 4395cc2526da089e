//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct Ssn;

impl Ssn {
    pub fn new() -> Result<Self, String> {
        Ok(Ssn)
    }
}

impl Detector for Ssn {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
