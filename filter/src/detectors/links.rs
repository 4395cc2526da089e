//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct UnknownLinks;

impl UnknownLinks {
    pub fn new(_allowed: &[String], _builtin: bool) -> Result<Self, String> {
        Ok(UnknownLinks)
    }
}

impl Detector for UnknownLinks {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
