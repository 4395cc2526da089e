//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct CreditCard;

impl CreditCard {
    pub fn new() -> Result<Self, String> {
        Ok(CreditCard)
    }
}

impl Detector for CreditCard {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
