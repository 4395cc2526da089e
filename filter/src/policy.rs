//! Policies: which detectors run and how sensitive they are.
//!
//! A policy is data (`policies/NAME.json`, or inline under `policies` in the config): one
//! sensitivity `L1` (fewest flags) .. `L4` (most flags), the detectors it runs with optional
//! per-detector sensitivity, custom patterns and an allowlist of link domains. The five
//! templates ship inside the module so the embedded default needs no files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::{FailMode, Mode};

/// Flagging sensitivity. Every finding carries the lowest level at which it is reported, so
/// `L1` reports only the most certain matches and `L4` reports everything a detector finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub enum Level {
    L1,
    L2,
    L3,
    L4,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    #[serde(default)]
    pub description: String,
    pub sensitivity: Level,
    /// Detector type -> per-detector settings. Listing a detector enables it.
    pub detectors: BTreeMap<String, DetectorSpec>,
    /// Named regular expressions reported as `pii/custom` (needs `pii/custom` in `detectors`).
    #[serde(default)]
    pub custom_patterns: Vec<CustomPatternSpec>,
    /// Registrable domains (and their subdomains) that `unknown_links` accepts, on top of the
    /// built-in list unless `builtin_allowlist` is false.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    #[serde(default = "yes")]
    pub builtin_allowlist: bool,
    /// Overrides the config's `mode` for this policy's detectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Overrides the config's `fail_mode` for requests screened under this policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_mode: Option<FailMode>,
    /// Inputs (user and tool messages, i.e. requests): overrides for that side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<SideSpec>,
    /// Outputs (assistant messages, i.e. model responses): overrides for that side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<SideSpec>,
    /// Tool results and documents (messages of role `tool`), a part of the input side: each
    /// field given replaces `input`'s for them. Lets retrieved content be screened at another
    /// sensitivity than what the user typed, within one request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<SideSpec>,
    /// The project's threat posture (`docs/posture.md`); absent: none (always `full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posture: Option<crate::posture::PostureSpec>,
    /// Opt-in fast first stage for `prompt_attack` (docs/config.md, "Fast first stage"): the percent of
    /// benign windows (30, 20 or 10) it passes to the transformer; the rest skip it. Absent:
    /// every window runs the transformer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_stage: Option<u8>,
}

impl PolicySpec {
    /// The side tool messages get: `tool`'s fields over `input`'s (absent: exactly `input`).
    pub fn tool_side(&self) -> Option<SideSpec> {
        match (&self.tool, &self.input) {
            (None, i) => i.clone(),
            (Some(t), None) => Some(t.clone()),
            (Some(t), Some(i)) => Some(SideSpec {
                sensitivity: t.sensitivity.or(i.sensitivity),
                mode: t.mode.or(i.mode),
                detectors: t.detectors.clone().or_else(|| i.detectors.clone()),
            }),
        }
    }

    /// This policy with every sensitivity raised to at least `floor` (the posture's `scoped`).
    pub fn tightened(&self, floor: Level) -> PolicySpec {
        let up = |l: Option<Level>| l.map(|l| l.max(floor));
        let dets = |d: &BTreeMap<String, DetectorSpec>| {
            d.iter().map(|(k, v)| (k.clone(), DetectorSpec { sensitivity: up(v.sensitivity), mode: v.mode })).collect::<BTreeMap<_, _>>()
        };
        let side = |s: &Option<SideSpec>| {
            s.as_ref().map(|s| SideSpec { sensitivity: up(s.sensitivity), mode: s.mode, detectors: s.detectors.as_ref().map(dets) })
        };
        PolicySpec {
            sensitivity: self.sensitivity.max(floor),
            detectors: dets(&self.detectors),
            input: side(&self.input),
            output: side(&self.output),
            tool: side(&self.tool),
            posture: None,
            // Under a raised posture every window gets the transformer again.
            first_stage: None,
            ..self.clone()
        }
    }
}

/// One side of an IO policy. Anything left out is the policy's (for `tool`: the input side's).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SideSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Level>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Replaces the policy's `detectors` for this side (an empty object screens nothing here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detectors: Option<BTreeMap<String, DetectorSpec>>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    /// Overrides the policy's sensitivity for this detector.
    #[serde(default)]
    pub sensitivity: Option<Level>,
    /// Overrides the side's and the policy's mode for this detector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomPatternSpec {
    pub name: String,
    pub pattern: String,
    #[serde(default)]
    pub case_insensitive: bool,
}

/// The pre-built templates, by name, as shipped in `policies/`.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("default", include_str!("../../policies/default.json")),
    ("public-facing", include_str!("../../policies/public-facing.json")),
    ("internal-facing", include_str!("../../policies/internal-facing.json")),
    ("prompt-defense-only", include_str!("../../policies/prompt-defense-only.json")),
    ("content-safety", include_str!("../../policies/content-safety.json")),
];
