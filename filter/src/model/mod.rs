//! The guard model: one small transformer encoder with seven heads (`prompt_attack` and six
//! moderation categories), run by tract in every runtime.
//!
//! This module owns loading (the NNEF graph and int8 blob converted by `build.rs`, plans built
//! for fixed window sizes), tokenising, windowing long text, and turning logits into the scores
//! and confidence levels a verdict reports. Calibration (`models/calibration.json`) maps each
//! sensitivity L1..L4 to a per-head threshold, with a second set for tool results
//! ([`Reading::Document`]) where the file has one.
//!
//! Determinism: wasm and native tract differ by about 1e-6 in a logit. Each logit is therefore
//! snapped to a 1/256 grid before anything else, and scores are rounded to six decimals, so a
//! verdict is the same bytes in every runtime unless a logit sits within 1e-6 of a grid edge.

pub mod gate;
pub mod q8;
mod wordpiece;

use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use tract_nnef::internal::Identifier;
use tract_nnef::prelude::*;

use crate::policy::Level;
use wordpiece::WordPiece;

static GRAPH: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guard.nnef.tar"));
static WEIGHTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guard.q8"));
static VOCAB: &str = include_str!(concat!(env!("OUT_DIR"), "/vocab.txt"));
static CALIBRATION: &str = include_str!("../../../models/calibration.json");

/// The heads, in the model's output order, as detector types.
pub const HEADS: [&str; 7] = [
    "prompt_attack",
    "moderated_content/hate",
    "moderated_content/sexual",
    "moderated_content/violence",
    "moderated_content/self_harm",
    "moderated_content/weapons",
    "moderated_content/crime",
];

const CLS: u32 = 101;
const SEP: u32 = 102;
/// Content tokens per window (plus `[CLS]` and `[SEP]`: the model's 256 positions).
pub const WINDOW: usize = 254;
/// Step between windows: 62 tokens of overlap, so a phrase cut by one window edge is whole in
/// the next. Validation and calibration used the same stride.
pub const STRIDE: usize = 192;
/// Plans are built for these window lengths at load; a window is padded (mask 0) to the next.
/// Most chat turns are under 30 tokens: the 32-token plan screens them at about half the cost
/// of the 64-token one (docs/benchmarks.md).
const BUCKETS: [usize; 4] = [32, 64, 128, 256];
/// Logits are snapped to multiples of 1/GRID (see the module docs).
pub const GRID: f32 = 256.0;

/// Lakera's confidence levels, most to least confident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Confidence {
    L1Confident,
    L2VeryLikely,
    L3Likely,
    L4LessLikely,
    L5Unlikely,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::L1Confident => "l1_confident",
            Confidence::L2VeryLikely => "l2_very_likely",
            Confidence::L3Likely => "l3_likely",
            Confidence::L4LessLikely => "l4_less_likely",
            Confidence::L5Unlikely => "l5_unlikely",
        }
    }
}

/// One head's result for a text: the max over its windows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadScore {
    /// Sigmoid score in 0..1, rounded to six decimals.
    pub score: f64,
    pub confidence: Confidence,
}

impl HeadScore {
    /// Whether a detector at sensitivity `level` flags this score.
    pub fn flags_at(&self, level: Level) -> bool {
        let wanted = match level {
            Level::L1 => Confidence::L1Confident,
            Level::L2 => Confidence::L2VeryLikely,
            Level::L3 => Confidence::L3Likely,
            Level::L4 => Confidence::L4LessLikely,
        };
        self.confidence <= wanted
    }
}

/// All heads for one text.
pub type Scores = [HeadScore; 7];

/// How a text's windows are read. A tool result or retrieved document is long prose written for
/// a human reader, scored as the best of many windows: where the calibration file has them, it
/// is read with thresholds set on real documents (`tool_thresholds`) and its best logit pays
/// `tool_window_penalty` per e-fold of windows, so that its flag rate does not grow with its
/// length; where the file has `tool_confirm`, its high windows are first confirmed at moved
/// starts ([`Confirm`]). Prompts are read with `thresholds`. A file without the document fields
/// reads both alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Prompt,
    Document,
}

#[derive(Deserialize)]
struct CalibrationFile {
    heads: Vec<String>,
    per_head: std::collections::BTreeMap<String, HeadCalibration>,
    /// For [`Reading::Document`]: [`Confirm`]; absent, a document's windows count as scored.
    #[serde(default)]
    tool_confirm: Option<ConfirmFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmFile {
    shifts: Vec<i32>,
    agree: usize,
    from: f64,
    /// What the rule is, for a reader of the file.
    #[serde(default)]
    #[allow(dead_code)]
    rule: String,
}

/// How a document's high windows are confirmed. A window of a multi-window document that scores
/// at least `from` on a head is scored again at each of `shifts` (tokens, the window moved along
/// the text, kept inside it), and that head's logit becomes the lower of its own and the
/// `agree`-th highest of the moved windows'. An instruction a few dozen tokens long stays inside
/// most moved windows and keeps its score; a benign window's high score that hangs on where
/// the window happens to start does not survive the move. Only windows over `from` pay for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    shifts: Vec<i32>,
    agree: usize,
    /// `from` as a logit.
    from_logit: f32,
}

#[derive(Deserialize)]
struct HeadCalibration {
    thresholds: Thresholds,
    /// For [`Reading::Document`]; a head without them reads documents with `thresholds`.
    #[serde(default)]
    tool_thresholds: Option<Thresholds>,
    /// For [`Reading::Document`]: subtracted, times ln(windows), from the best window's logit.
    #[serde(default)]
    tool_window_penalty: f64,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct Thresholds {
    L1: f64,
    L2: f64,
    L3: f64,
    L4: f64,
}

type Plan = Arc<TypedRunnableModel>;

pub struct Model {
    tokenizer: WordPiece,
    /// (window length incl. `[CLS]`/`[SEP]`, plan), ascending.
    plans: Vec<(usize, Plan)>,
    calibration: Calibration,
    /// The opt-in fast first stage (a policy's `first_stage`).
    pub gate: gate::Gate,
}

/// The model's identity: a digest of its graph, weights and vocabulary, e.g. `m-3f9a0c21d4e8`.
/// A scoring service and a filter exchange logits only when theirs are equal.
pub fn model_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [GRAPH, WEIGHTS, VOCAB.as_bytes()] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
        let d = h.finalize();
        format!("m-{}", d.iter().take(6).map(|b| format!("{b:02x}")).collect::<String>())
    })
}

/// Token ids the tokenizer can produce (the vocabulary's size).
pub fn vocab_len() -> usize {
    static LEN: OnceLock<usize> = OnceLock::new();
    *LEN.get_or_init(|| VOCAB.lines().count())
}

/// The process-wide model, loaded on first use (about 0.1 s) and shared by every config.
pub fn shared() -> Result<Arc<Model>, String> {
    static MODEL: OnceLock<Result<Arc<Model>, String>> = OnceLock::new();
    MODEL.get_or_init(|| Model::load().map(Arc::new)).clone()
}

fn err(e: impl std::fmt::Display) -> String {
    format!("guard model: {e}")
}

impl Model {
    pub fn load() -> Result<Model, String> {
        let tokenizer = WordPiece::from_vocab_txt(VOCAB).map_err(err)?;
        let nnef = tract_nnef::nnef();
        let mut proto = nnef.proto_model_for_read(&mut &GRAPH[..]).map_err(err)?;
        for (name, t) in q8::read(WEIGHTS).map_err(err)? {
            proto.tensors.insert(Identifier(name), Arc::new(t));
        }
        let typed = nnef.model_for_proto_model(&proto).map_err(err)?.into_decluttered().map_err(err)?;
        let sym = typed.symbols.sym("S");
        let mut plans = Vec::with_capacity(BUCKETS.len());
        for b in BUCKETS {
            let mut subs = std::collections::HashMap::new();
            subs.insert(sym.clone(), (b as i64).to_dim());
            let plan = typed.set_symbols(&subs).map_err(err)?.into_optimized().map_err(err)?.into_runnable().map_err(err)?;
            plans.push((b, plan));
        }
        let calibration = Calibration::parse(CALIBRATION)?;
        Ok(Model { tokenizer, plans, calibration, gate: gate::Gate::load().map_err(err)? })
    }

    /// Token ids of `text` without `[CLS]`/`[SEP]`.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::with_capacity(text.len() / 4 + 4);
        self.tokenizer.encode(text, &mut ids);
        ids
    }

    /// Scores `text` as a prompt: every window of it, max per head.
    pub fn score(&self, text: &str) -> Result<Scores, String> {
        self.score_with(text, None, Reading::Prompt)
    }

    /// [`Model::score`], read as `reading`; with a first-stage cut-off only the windows whose
    /// gate score reaches it run the transformer, the others count as benign. A text none of
    /// whose windows pass scores 0 (`l5_unlikely`) on every head.
    ///
    /// The score is the best window's; read as a document, a head with a window penalty takes
    /// `penalty * ln(windows)` off that logit first (every window counts, run or skipped): the
    /// best of more benign windows is higher only because there are more of them.
    pub fn score_with(&self, text: &str, first_stage: Option<i64>, reading: Reading) -> Result<Scores, String> {
        self.score_under(&self.calibration, text, first_stage, reading)
    }

    /// [`Model::score_with`] read with `cal` (the shipped calibration, or a test's).
    fn score_under(&self, cal: &Calibration, text: &str, first_stage: Option<i64>, reading: Reading) -> Result<Scores, String> {
        let ids = self.tokenize(text);
        let confirm = match reading {
            Reading::Document if ids.len() > WINDOW => cal.tool_confirm.as_ref(),
            _ => None,
        };
        let mut best = [f32::NEG_INFINITY; 7];
        for (start, window) in self.running(&ids, first_stage) {
            let mut logits = self.logits(window)?;
            if let Some(c) = confirm {
                self.confirm(c, &cal.documents, &ids, start, &mut logits)?;
            }
            for (b, l) in best.iter_mut().zip(logits) {
                *b = b.max(l);
            }
        }
        let count = windows(ids.len()).count();
        let mut out = [HeadScore { score: 0.0, confidence: Confidence::L5Unlikely }; 7];
        for (h, (o, logit)) in out.iter_mut().zip(best).enumerate() {
            *o = cal.head_score(h, cal.text_logit(h, logit, count, reading), reading);
        }
        Ok(out)
    }

    /// A window's logits: precomputed by the host, or run now.
    fn logits(&self, window: &[u32]) -> Result<[f32; 7], String> {
        precomputed(window).map_or_else(|| self.infer(window), Ok)
    }

    /// [`Confirm`]: lowers each head of the window at `start` that has document thresholds
    /// (`heads`) and whose logit reaches `from` to the `agree`-th highest logit of the moved
    /// windows, where that is lower. Heads read as prompts are left as they are.
    fn confirm(&self, c: &Confirm, heads: &[bool; 7], ids: &[u32], start: usize, logits: &mut [f32; 7]) -> Result<(), String> {
        // Decided on the snapped logit, as every comparison of a verdict is (module docs): a raw
        // logit 1e-6 either side of `from` would otherwise run the rule in one runtime only.
        let due = |h: usize, l: f32| heads.get(h).copied().unwrap_or(false) && snap(l) >= c.from_logit;
        if !logits.iter().enumerate().any(|(h, &l)| due(h, l)) {
            return Ok(());
        }
        let last = ids.len().saturating_sub(WINDOW);
        let mut moved = Vec::with_capacity(c.shifts.len());
        for &d in &c.shifts {
            let s = (start as i64 + i64::from(d)).clamp(0, last as i64) as usize;
            moved.push(self.logits(ids.get(s..s + WINDOW).unwrap_or_default())?);
        }
        for (h, l) in logits.iter_mut().enumerate() {
            if !due(h, *l) {
                continue;
            }
            let mut head: Vec<f32> = moved.iter().map(|m| m[h]).collect();
            head.sort_by(|a, b| b.total_cmp(a));
            if let Some(&kth) = head.get(c.agree - 1) {
                *l = l.min(kth);
            }
        }
        Ok(())
    }

    /// The windows of `text` the transformer runs on (content ids): every window, or with a
    /// first-stage cut-off only those whose gate score reaches it.
    pub fn windows_of(&self, text: &str, first_stage: Option<i64>) -> Vec<Vec<u32>> {
        self.running(&self.tokenize(text), first_stage).map(|(_, w)| w.to_vec()).collect()
    }

    /// The windows of `ids` that run the transformer ([`Model::windows_of`]), with their starts.
    fn running<'a>(&'a self, ids: &'a [u32], first_stage: Option<i64>) -> impl Iterator<Item = (usize, &'a [u32])> + 'a {
        windows(ids.len())
            .map(|(start, end)| (start, ids.get(start..end).unwrap_or_default()))
            .filter(move |(_, w)| first_stage.is_none_or(|t| self.gate.passes(w, t)))
    }

    /// Raw logits of one window of content ids (at most [`WINDOW`]).
    pub fn infer(&self, content: &[u32]) -> Result<[f32; 7], String> {
        let n = content.len() + 2;
        let (len, plan) = self.plans.iter().find(|(b, _)| *b >= n).ok_or_else(|| err(format!("window of {n} tokens exceeds the model")))?;
        run_padded(plan, *len, content)
    }
}

/// Bodies with more model windows than this are worth screening cooperatively (a slice at a
/// time between other work, [`Precomputed`]); up to this many (a chat prompt of up to about
/// 2,000 characters) cost less than the hosts' rounds of slices and are screened at once.
pub const SLICE_WINDOWS: usize = 2;

/// Is a body of `windows` model windows screened cooperatively ([`SLICE_WINDOWS`])?
pub fn worth_slicing(windows: usize) -> bool {
    windows > SLICE_WINDOWS
}

/// Window logits computed before a screening: by a host that runs the windows a slice at a
/// time between other work, or by a scoring service. A screening run inside
/// [`Precomputed::apply`] takes each window's logits from here; a window missing here is run as
/// usual, so what was precomputed changes when the work is done, never the verdict.
#[derive(Debug, Default, Clone)]
pub struct Precomputed {
    logits: std::collections::BTreeMap<Vec<u32>, [f32; 7]>,
}

thread_local! {
    static ACTIVE: std::cell::RefCell<Option<Precomputed>> = const { std::cell::RefCell::new(None) };
}

fn precomputed(window: &[u32]) -> Option<[f32; 7]> {
    ACTIVE.with(|a| a.borrow().as_ref().and_then(|p| p.logits.get(window).copied()))
}

impl Precomputed {
    pub fn insert(&mut self, window: Vec<u32>, logits: [f32; 7]) {
        self.logits.insert(window, logits);
    }

    pub fn len(&self) -> usize {
        self.logits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.logits.is_empty()
    }

    /// Runs `f` (a screening) with these logits at hand; gives them back with its result.
    pub fn apply<R>(self, f: impl FnOnce() -> R) -> (R, Precomputed) {
        let before = ACTIVE.with(|a| a.replace(Some(self)));
        let r = f();
        let back = ACTIVE.with(|a| a.replace(before)).unwrap_or_default();
        (r, back)
    }
}

/// Runs one window padded to `len` tokens (mask 0 past the text): the padding changes no logit,
/// so any plan at least as long as the window gives the same answer.
fn run_padded(plan: &Plan, len: usize, content: &[u32]) -> Result<[f32; 7], String> {
    if content.len() + 2 > len {
        return Err(err(format!("window of {} tokens exceeds a plan of {len}", content.len() + 2)));
    }
    let mut ids = vec![0i64; len];
    let mut mask = vec![0i64; len];
    let tokens = std::iter::once(CLS).chain(content.iter().copied()).chain(std::iter::once(SEP));
    for ((slot, m), id) in ids.iter_mut().zip(mask.iter_mut()).zip(tokens) {
        *slot = i64::from(id);
        *m = 1;
    }
    let ids = Tensor::from_shape(&[1, len], &ids).map_err(err)?;
    let mask = Tensor::from_shape(&[1, len], &mask).map_err(err)?;
    let out = plan.run(tvec!(ids.into_tvalue(), mask.into_tvalue())).map_err(err)?;
    let view = out.first().ok_or_else(|| err("no output"))?.to_plain_array_view::<f32>().map_err(err)?;
    if view.len() != 7 {
        return Err(err(format!("{} logits, expected 7", view.len())));
    }
    let mut logits = [0f32; 7];
    for (l, v) in logits.iter_mut().zip(view.iter()) {
        *l = *v;
    }
    Ok(logits)
}

impl Model {
    /// Snaps a logit to the grid, then gives its score and confidence for head `h` (a prompt).
    pub fn head_score(&self, h: usize, logit: f32) -> HeadScore {
        self.head_score_as(h, logit, Reading::Prompt)
    }

    /// [`Model::head_score`] read as `reading`: the score is the same, the thresholds differ.
    pub fn head_score_as(&self, h: usize, logit: f32, reading: Reading) -> HeadScore {
        self.calibration.head_score(h, logit, reading)
    }

}

/// The token ranges of the windows covering `len` content tokens: [`WINDOW`] long, [`STRIDE`]
/// apart, the last one ending at `len` (one empty window for no tokens).
fn windows(len: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = if len <= WINDOW { 1 } else { 1 + (len - WINDOW).div_ceil(STRIDE) };
    (0..count).map(move |i| (i * STRIDE, (i * STRIDE + WINDOW).min(len)))
}

/// The calibration file, checked: per head, the thresholds of L1..L4 (descending) for prompts
/// and for documents, and the documents' window penalty ([`Reading`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    thresholds: [[f64; 4]; 7],
    tool_thresholds: [[f64; 4]; 7],
    tool_window_penalty: [f64; 7],
    /// Heads with document thresholds of their own (the ones [`Confirm`] applies to).
    documents: [bool; 7],
    tool_confirm: Option<Confirm>,
}

impl Calibration {
    /// Reads a calibration file and checks it names the model's heads; a head without document
    /// thresholds reads documents with its prompt ones, without a penalty with none.
    pub fn parse(json: &str) -> Result<Calibration, String> {
        let c: CalibrationFile = serde_json::from_str(json).map_err(|e| err(format!("calibration.json: {e}")))?;
        let mut out = Calibration {
            thresholds: [[0f64; 4]; 7],
            tool_thresholds: [[0f64; 4]; 7],
            tool_window_penalty: [0f64; 7],
            documents: [false; 7],
            tool_confirm: c.tool_confirm.as_ref().map(Confirm::check).transpose()?,
        };
        for (h, name) in HEADS.iter().enumerate() {
            let short = name.trim_start_matches("moderated_content/");
            if c.heads.get(h).map(String::as_str) != Some(short) {
                return Err(err(format!("calibration.json heads[{h}] is not {short:?}")));
            }
            let head = c.per_head.get(short).ok_or_else(|| err(format!("calibration.json has no per_head.{short}")))?;
            let p = threshold_row(&head.thresholds, short, "thresholds")?;
            let d = match &head.tool_thresholds {
                Some(t) => threshold_row(t, short, "tool_thresholds")?,
                None => p,
            };
            if !(0.0..=10.0).contains(&head.tool_window_penalty) {
                return Err(err(format!("calibration.json per_head.{short}.tool_window_penalty must be in 0..10")));
            }
            out.thresholds[h] = p;
            out.tool_thresholds[h] = d;
            out.tool_window_penalty[h] = head.tool_window_penalty;
            out.documents[h] = head.tool_thresholds.is_some();
        }
        Ok(out)
    }

    /// The logit head `h` gives a text of `windows` windows whose best window gave `best`.
    pub fn text_logit(&self, h: usize, best: f32, windows: usize, reading: Reading) -> f32 {
        match reading {
            Reading::Prompt => best,
            Reading::Document => {
                let penalty = self.tool_window_penalty.get(h).copied().unwrap_or(0.0);
                best - (penalty * (windows.max(1) as f64).ln()) as f32
            }
        }
    }

    /// Snaps a logit to the grid, then gives its score and confidence for head `h`.
    pub fn head_score(&self, h: usize, logit: f32, reading: Reading) -> HeadScore {
        let snapped = f64::from(snap(logit));
        let score = (1.0 / (1.0 + (-snapped).exp()) * 1e6).round() / 1e6;
        HeadScore { score, confidence: self.confidence(h, score, reading) }
    }

    /// The confidence level of head `h`'s score read as `reading`.
    pub fn confidence(&self, h: usize, score: f64, reading: Reading) -> Confidence {
        let table = match reading {
            Reading::Prompt => &self.thresholds,
            Reading::Document => &self.tool_thresholds,
        };
        let t = table.get(h).copied().unwrap_or([f64::INFINITY; 4]);
        if score >= t[0] {
            Confidence::L1Confident
        } else if score >= t[1] {
            Confidence::L2VeryLikely
        } else if score >= t[2] {
            Confidence::L3Likely
        } else if score >= t[3] {
            Confidence::L4LessLikely
        } else {
            Confidence::L5Unlikely
        }
    }
}

impl Confirm {
    fn check(f: &ConfirmFile) -> Result<Confirm, String> {
        let bad = |what: &str| err(format!("calibration.json tool_confirm.{what}"));
        if f.shifts.is_empty() || f.shifts.len() > 16 || f.shifts.iter().any(|d| *d == 0 || d.unsigned_abs() as usize > WINDOW) {
            return Err(bad(&format!("shifts must be 1..16 non-zero moves of at most {WINDOW} tokens")));
        }
        if f.agree == 0 || f.agree > f.shifts.len() {
            return Err(bad("agree must be 1..the number of shifts"));
        }
        if !(f.from > 0.0 && f.from < 1.0) {
            return Err(bad("from must be a score strictly between 0 and 1"));
        }
        Ok(Confirm { shifts: f.shifts.clone(), agree: f.agree, from_logit: (f.from / (1.0 - f.from)).ln() as f32 })
    }
}

/// A logit on the 1/[`GRID`] grid (module docs: what makes verdicts equal across runtimes).
fn snap(logit: f32) -> f32 {
    (logit * GRID).round() / GRID
}

fn threshold_row(t: &Thresholds, head: &str, field: &str) -> Result<[f64; 4], String> {
    let row = [t.L1, t.L2, t.L3, t.L4];
    if !row.windows(2).all(|w| w[0] >= w[1]) || row.iter().any(|x| !(0.0..=1.0).contains(x)) {
        return Err(err(format!("calibration.json per_head.{head}.{field} must be in 0..1 and descend from L1 to L4")));
    }
    Ok(row)
}

#[cfg(test)]
mod tests;
