//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct Secrets;

impl Secrets {
    pub fn new() -> Result<Self, String> {
        Ok(Secrets)
    }
}

impl Detector for Secrets {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
