//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct Address;

impl Address {
    pub fn new() -> Result<Self, String> {
        Ok(Address)
    }
}

impl Detector for Address {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
