//! The opt-in fast first stage for `prompt_attack` (a policy's `first_stage`): a linear model
//! over hashed WordPiece unigrams and bigrams, trained by `models/train/first_stage.py`. A window
//! whose gate score stays below the policy's cut-off counts as benign and skips the transformer.
//!
//! A window's score is the highest over chunks of 16 tokens (`first_stage.json`), half overlapping, so
//! one injected sentence in a long benign document can open the gate. Table, bias and cut-offs
//! are integers (an int8 table and sums in `i64`): the gate decides identically in every runtime.

use std::collections::BTreeMap;

use serde::Deserialize;

static TABLE: &[u8] = include_bytes!("../../../models/first-stage.i8");
static META: &str = include_str!("../../../models/first_stage.json");

/// The shares of benign windows (percent) the shipped cut-offs pass to the transformer.
pub const PASS_CHOICES: [u8; 3] = [30, 20, 10];

#[derive(Deserialize)]
struct Meta {
    format: String,
    bits: u32,
    chunk: usize,
    chunk_stride: usize,
    bias: i64,
    cutoffs: BTreeMap<String, i64>,
    #[cfg(test)]
    reference: Vec<Reference>,
}

#[cfg(test)]
#[derive(Deserialize)]
struct Reference {
    text: String,
    window_scores: Vec<i64>,
}

pub struct Gate {
    mask: u64,
    chunk: usize,
    stride: usize,
    bias: i64,
    /// (percent of benign windows passed, integer cut-off), as [`PASS_CHOICES`].
    cutoffs: [(u8, i64); 3],
}

/// splitmix64's finaliser: the bucket hash the training script uses.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl Gate {
    pub fn load() -> Result<Gate, String> {
        let m: Meta = serde_json::from_str(META).map_err(|e| format!("first_stage.json: {e}"))?;
        if m.format != "parapet first stage v1" {
            return Err(format!("first_stage.json: unknown format {:?}", m.format));
        }
        if !(1..=24).contains(&m.bits) || TABLE.len() != 1usize << m.bits {
            return Err(format!("first-stage.i8 has {} bytes, first_stage.json says 2^{}", TABLE.len(), m.bits));
        }
        if m.chunk_stride == 0 || m.chunk_stride > m.chunk {
            return Err("first_stage.json: chunk_stride must be in 1..=chunk".into());
        }
        let mut cutoffs = [(0u8, 0i64); 3];
        for (slot, pct) in cutoffs.iter_mut().zip(PASS_CHOICES) {
            let t = m.cutoffs.get(&pct.to_string()).ok_or_else(|| format!("first_stage.json has no cutoffs.{pct}"))?;
            *slot = (pct, *t);
        }
        Ok(Gate { mask: (1u64 << m.bits) - 1, chunk: m.chunk, stride: m.chunk_stride, bias: m.bias, cutoffs })
    }

    /// The integer cut-off that passes `pct` percent of benign windows (one of [`PASS_CHOICES`]).
    pub fn cutoff(&self, pct: u8) -> Option<i64> {
        self.cutoffs.iter().find(|(p, _)| *p == pct).map(|(_, t)| *t)
    }

    /// Whether a window of content ids goes on to the transformer at cut-off `t`.
    pub fn passes(&self, window: &[u32], t: i64) -> bool {
        self.window_score(window) >= t
    }

    /// The gate score of one window: bias plus the highest chunk sum.
    pub fn window_score(&self, window: &[u32]) -> i64 {
        let mut buckets = Vec::with_capacity(2 * self.chunk);
        let best = if window.len() <= self.chunk {
            self.chunk_sum(window, &mut buckets)
        } else {
            // As the training script: starts 0, stride, .. below len - chunk + stride; the last
            // chunks may be shorter than `chunk`.
            (0..window.len() - self.chunk + self.stride)
                .step_by(self.stride)
                .map(|s| self.chunk_sum(window.get(s..(s + self.chunk).min(window.len())).unwrap_or_default(), &mut buckets))
                .max()
                .unwrap_or(0)
        };
        self.bias + best
    }

    /// Sum of the table over the distinct buckets of a chunk's unigrams and bigrams.
    fn chunk_sum(&self, c: &[u32], buckets: &mut Vec<u64>) -> i64 {
        buckets.clear();
        buckets.extend(c.iter().map(|t| mix(u64::from(*t)) & self.mask));
        buckets.extend(c.windows(2).map(|p| mix((1u64 << 63) | (u64::from(p[0]) << 32) | u64::from(p[1])) & self.mask));
        buckets.sort_unstable();
        buckets.dedup();
        buckets.iter().map(|b| i64::from(TABLE.get(*b as usize).map_or(0, |v| *v as i8))).sum()
    }
}

#[cfg(test)]
mod tests;
