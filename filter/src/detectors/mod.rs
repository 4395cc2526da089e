//! The detector seam.
//!
//! A detector scans one normalised message and reports findings; the engine decides, from the
//! policy's sensitivity, which findings count. Detectors are built once when the config is
//! compiled (regexes compiled, lexicons indexed) and shared read-only by every request.
//!
//! Model-backed detectors (`prompt_attack`, the moderation heads) are heads of one classifier
//! ([`crate::model`]) scored once per message for all heads; they compile to [`Built::Model`].
//! If the model cannot be loaded they are reported as unavailable, never skipped silently.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::policy::{Level, PolicySpec};
use crate::text::NormText;

pub mod address;
pub mod credit_card;
pub mod custom;
pub mod email;
pub mod iban;
pub mod ip;
pub mod links;
pub mod name;
pub mod phone;
pub mod profanity;
pub mod secrets;
pub mod ssn;

/// One match, as a byte range of [`NormText::text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    /// The lowest sensitivity at which this finding is reported: `L1` for certain matches,
    /// `L4` for matches only a paranoid policy wants.
    pub level: Level,
    /// Sub-kind, e.g. the secret kind (`aws_access_key_id`) or the custom rule's name.
    pub labels: Vec<String>,
}

pub trait Detector: Send + Sync {
    /// Appends this detector's findings in `text` to `out`, in order of position.
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>);

    /// As `scan`, for detectors that can fail (a model that cannot run). `Err` makes the request
    /// unscreenable: the policy's `fail_mode` decides. Rule detectors cannot fail.
    fn try_scan(&self, text: &NormText, out: &mut Vec<Finding>) -> Result<(), String> {
        self.scan(text, out);
        Ok(())
    }
}

/// Detectors backed by the classifier model (the heads of [`crate::model::HEADS`]).
pub const MODEL_DETECTORS: &[&str] = &[
    "prompt_attack",
    "moderated_content/crime",
    "moderated_content/hate",
    "moderated_content/self_harm",
    "moderated_content/sexual",
    "moderated_content/violence",
    "moderated_content/weapons",
];

/// Detectors implemented by rules in this crate.
pub const RULE_DETECTORS: &[&str] = &[
    "moderated_content/profanity",
    "pii/address",
    "pii/credit_card",
    "pii/custom",
    "pii/email",
    "pii/iban_code",
    "pii/ip_address",
    "pii/name",
    "pii/phone_number",
    "pii/secret",
    "pii/us_social_security_number",
    "unknown_links",
];

/// Detectors whose findings are replaced in logged content, whatever the policy runs: every
/// `pii/*` rule detector (a policy's own `pii/custom` patterns are added to these).
pub fn log_masked() -> impl Iterator<Item = &'static str> {
    RULE_DETECTORS.iter().copied().filter(|t| t.starts_with("pii/") && *t != "pii/custom")
}

pub fn is_known(name: &str) -> bool {
    MODEL_DETECTORS.contains(&name) || RULE_DETECTORS.contains(&name)
}

/// What a policy's detector entry compiles to.
pub enum Built {
    Ready(Arc<dyn Detector>),
    /// A head of the guard model, by index into [`crate::model::HEADS`].
    Model(usize),
    /// Known detector type, but this build cannot run it.
    Unavailable,
}

/// Stateless detectors are compiled once per config and shared by every policy.
#[derive(Default)]
pub struct Shared {
    cache: BTreeMap<&'static str, Arc<dyn Detector>>,
}

impl Shared {
    fn get<D, F>(&mut self, name: &'static str, make: F) -> Result<Arc<dyn Detector>, String>
    where
        D: Detector + 'static,
        F: FnOnce() -> Result<D, String>,
    {
        if let Some(d) = self.cache.get(name) {
            return Ok(Arc::clone(d));
        }
        let d: Arc<dyn Detector> = Arc::new(make()?);
        self.cache.insert(name, Arc::clone(&d));
        Ok(d)
    }
}

/// Compiles detector `name` for `policy`. `Err` carries a message for the config error.
pub fn build(name: &str, policy: &PolicySpec, shared: &mut Shared) -> Result<Built, String> {
    let d = match name {
        "pii/email" => shared.get("pii/email", email::Email::new)?,
        "pii/phone_number" => shared.get("pii/phone_number", phone::Phone::new)?,
        "pii/credit_card" => shared.get("pii/credit_card", credit_card::CreditCard::new)?,
        "pii/iban_code" => shared.get("pii/iban_code", iban::Iban::new)?,
        "pii/us_social_security_number" => shared.get("pii/us_social_security_number", ssn::Ssn::new)?,
        "pii/ip_address" => shared.get("pii/ip_address", ip::IpAddress::new)?,
        "pii/address" => shared.get("pii/address", address::Address::new)?,
        "pii/name" => shared.get("pii/name", name::Name::new)?,
        "pii/secret" => shared.get("pii/secret", secrets::Secrets::new)?,
        "moderated_content/profanity" => shared.get("moderated_content/profanity", profanity::Profanity::new)?,
        "pii/custom" => Arc::new(custom::Custom::new(&policy.custom_patterns)?),
        "unknown_links" => Arc::new(links::UnknownLinks::new(&policy.allowed_domains, policy.builtin_allowlist)?),
        n if MODEL_DETECTORS.contains(&n) => {
            let head = crate::model::HEADS.iter().position(|h| *h == n);
            return Ok(match (head, crate::model::shared()) {
                (Some(h), Ok(_)) => Built::Model(h),
                _ => Built::Unavailable,
            });
        }
        n => return Err(format!("unknown detector type {n:?}")),
    };
    Ok(Built::Ready(d))
}

/// Helpers shared by the detector unit tests.
#[cfg(test)]
pub mod testing;

#[cfg(test)]
mod tests;
