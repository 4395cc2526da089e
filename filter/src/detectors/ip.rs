//! SKELETON: to be implemented.

use super::{Detector, Finding};
use crate::text::NormText;

pub struct IpAddress;

impl IpAddress {
    pub fn new() -> Result<Self, String> {
        Ok(IpAddress)
    }
}

impl Detector for IpAddress {
    fn scan(&self, _text: &NormText, _out: &mut Vec<Finding>) {}
}
