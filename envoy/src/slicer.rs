//! Cooperative screening: the guard-model windows of paused bodies, run a slice per tick.
//!
//! Envoy runs every stream of a worker on one thread, so a 30k-character document screened in
//! one go holds every other stream on that worker for its whole model time (about a second).
//! A body worth slicing (`parapet_filter::model::worth_slicing`) is therefore paused; the root
//! context's tick runs its windows here, one slice (at least one window, at most [`SLICE`] of
//! work) per tick, the body with the fewest windows left first, and the worker's event loop
//! serves other streams between ticks. Each callback of another stream pushes the next slice
//! [`GAP`] away, so a short request's turns through the event loop are not each followed by a
//! window, but never past [`MAX_DEFER`] since the last slice: steady traffic cannot starve a
//! document. When a body's windows are all done it is handed back with their logits to be
//! decided ([`parapet_filter::model::Precomputed`]): the screening takes the same logits it
//! would have computed, so the verdict is byte-identical to an unsliced one.
//!
//! The clock only decides when work is done (a slice's length, the deferrals); it never
//! reaches a verdict.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use parapet_filter::model::Precomputed;

use crate::{metrics, Http};

/// Work one tick does before it gives the worker back (a 256-token window takes longer alone).
pub const SLICE: Duration = Duration::from_millis(5);
/// The tick period while bodies wait and nothing else happens on the worker.
pub const TICK: Duration = Duration::from_millis(1);
/// The time the next slice waits after another stream's callback: a slice holds the worker for
/// a whole window (about 25 ms in V8), and a request takes several turns of the event loop
/// (its body, the upstream's connection and answer, the answer to the client), so a slice
/// between each would multiply its latency.
pub const GAP: Duration = Duration::from_millis(10);
/// How long other streams' callbacks may keep pushing the next slice away since the last one
/// ran: under steady traffic on the worker a paused body still gets a window at least this
/// often (plus one gap), instead of waiting for a quiet moment that may never come.
pub const MAX_DEFER: Duration = Duration::from_millis(50);

struct Job {
    http: Rc<RefCell<Http>>,
    windows: Vec<Vec<u32>>,
    next: usize,
    precomputed: Precomputed,
    /// Time spent on this body's windows so far (`None` once the clock failed).
    took: Option<Duration>,
}

/// A body whose windows are all done.
pub struct Done {
    pub context_id: u32,
    pub http: Rc<RefCell<Http>>,
    pub precomputed: Precomputed,
    pub took: Option<Duration>,
}

#[derive(Default)]
pub struct Slicer {
    jobs: BTreeMap<u32, Job>,
    /// When the last slice ran (or the first body was paused): bounds the deferrals.
    last_slice: Option<std::time::SystemTime>,
    /// Paused bodies in arrival order; the one with the fewest windows left goes first (ties: the
    /// earliest), so a body of a few windows is not kept waiting behind long documents.
    turn: VecDeque<u32>,
}

impl Slicer {
    pub fn add(&mut self, context_id: u32, http: Rc<RefCell<Http>>, windows: Vec<Vec<u32>>) {
        let job = Job { http, windows, next: 0, precomputed: Precomputed::default(), took: Some(Duration::ZERO) };
        if self.jobs.is_empty() {
            self.last_slice = metrics::now();
        }
        if self.jobs.insert(context_id, job).is_none() {
            self.turn.push_back(context_id);
        }
    }

    /// The stream ended before its body was decided.
    pub fn cancel(&mut self, context_id: u32) {
        self.jobs.remove(&context_id);
        self.turn.retain(|id| *id != context_id);
    }

    pub fn is_idle(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Another stream has work on this worker: the next slice waits [`GAP`] from now, unless
    /// the last one ran [`MAX_DEFER`] ago or more (then the timer is left to fire).
    pub fn make_way(&self) {
        if self.is_idle() {
            return;
        }
        let recent = metrics::since(self.last_slice).is_some_and(|t| t < MAX_DEFER);
        if recent {
            proxy_wasm::hostcalls::set_tick_period(GAP).ok();
        }
    }

    /// One slice of the windows of the body with the fewest left; the body, once all of them are
    /// done.
    pub fn step(&mut self) -> Option<Done> {
        let left = |id: &u32| self.jobs.get(id).map_or(usize::MAX, |j| j.windows.len() - j.next);
        let at = self.turn.iter().enumerate().min_by_key(|(i, id)| (left(id), *i)).map(|(i, _)| i)?;
        let id = self.turn.remove(at)?;
        let job = self.jobs.get_mut(&id)?;
        let start = metrics::now();
        self.last_slice = start;
        match parapet_filter::model::shared() {
            Ok(model) => {
                while let Some(window) = job.windows.get(job.next) {
                    job.next += 1;
                    match model.infer(window) {
                        Ok(logits) => job.precomputed.insert(window.clone(), logits),
                        // The decision runs this window itself and reports the failure.
                        Err(_) => break,
                    }
                    if metrics::since(start).is_none_or(|t| t >= SLICE) {
                        break;
                    }
                }
            }
            // The decision meets the same error and follows the fail mode.
            Err(_) => job.next = job.windows.len(),
        }
        job.took = job.took.zip(metrics::since(start)).map(|(a, b)| a + b);
        if job.next < job.windows.len() {
            self.turn.insert(at, id);
            return None;
        }
        let job = self.jobs.remove(&id)?;
        Some(Done { context_id: id, http: job.http, precomputed: job.precomputed, took: job.took })
    }
}
