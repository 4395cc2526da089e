//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct Phone;

impl Phone {
    pub fn new() -> Result<Self, String> {
        Ok(Phone)
    }
}

impl Detector for Phone {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
