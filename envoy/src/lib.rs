//! Parapet as an Envoy/Istio proxy-wasm HTTP filter.
//!
//! A thin adapter: it reads headers and the body from Envoy, asks the core
//! ([`parapet_filter::Guard`]) what to do, and does it. Two routes matter:
//! - the guard endpoint (`guard_path`, default `POST /v2/guard`): answered by the filter itself
//!   with the Lakera-compatible response;
//! - LLM API paths (`api_paths`: OpenAI chat completions, OpenAI Responses, Anthropic Messages):
//!   the request body is screened; in `block` mode a flagged request gets a 403, in `monitor`
//!   mode it is forwarded and the response carries `x-parapet-flagged` / `x-parapet-detectors`,
//!   in `mask` mode the rewritten body goes upstream (its `content-length` is dropped at header
//!   time, when Envoy still allows it, and the buffer filter behind this one frames the body).
//!
//! The project comes from the core's [`Guard::identify`]: the route name (the `xds.route_name`
//! property; per-route filter config does not reach proxy-wasm), the API key headers, or the
//! project header.
//!
//! The response is screened too ([`parapet_filter::ResponseScreen`]): the filter hands every
//! response chunk to the core and sends on exactly the bytes it gets back. A JSON body the core
//! holds whole (block mode) has its headers held too when the config says `hold_response_headers`
//! (and the plugin `allow_on_headers_stop_iteration`): Envoy buffers the body for the filter,
//! and the verdict sets the status (403 blocked, 502 unscreenable) and `content-length` before
//! anything leaves. Without the hold a blocked JSON response keeps the upstream status with the
//! error JSON as its body. A blocked stream ends with the API's in-stream error event.
//!
//! The project's threat posture ([`parapet_filter::posture`]) lives in Envoy's shared data,
//! which every worker VM of the plugin sees: each screening reads the state and writes it back
//! with compare-and-swap, retrying on a lost race, so concurrent workers lose no update.
//! `GET <posture_path>` (`/v2/posture` beside `/v2/guard`) answers every project's mode.
//!
//! Cooperative screening ([`slicer`]): a body whose guard-model work is more than one window
//! is not screened in one go. The filter pauses it, and the root context's tick runs its windows
//! one slice at a time, round robin with other such bodies, so the worker serves other streams
//! between slices; with every window done the request is decided (the same verdict bytes: the
//! windows' logits are the ones the screening would have computed) and resumed.
//!
//! Headers are always continued and the body is paused until `end_of_stream`: Envoy 1.40 turns
//! a paused header phase into StopAllIteration and would never hand the body to the filter.
//! The filter chain therefore puts Envoy's buffer filter *after* this one, so the router sees
//! nothing until the filter has let the body through.

mod metrics;
mod slicer;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use parapet_filter::config::{LogSink, OffloadFallback};
use parapet_filter::govern::{PostureCtx, PostureNote};
use parapet_filter::posture::{self, PostureStore};
use parapet_filter::response::UPSTREAM_ACCEPT_ENCODING;
use parapet_filter::log::{Content, Direction, HostFacts, Kind, Screening};
use parapet_filter::{Caller, Format, Guard, HttpReply, Outcome, ProxyDecision, RequestCtx, ResponseScreen, StreamStep};
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, Status};

use crate::metrics::{Metrics, SeriesId};
use crate::slicer::Slicer;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    // Replaces the SDK's hook (set by `set_log_level`), which unwraps the log call. A panic
    // aborts the VM (panic=abort) and Envoy applies the plugin's `failure_policy`; this one
    // line, message first, is what tells an operator why.
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let msg = payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str)).unwrap_or("(no message)");
        let msg = msg.replace('\n', " ");
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let _ = proxy_wasm::hostcalls::log(LogLevel::Critical, &format!("parapet: panic: {msg}{at}"));
    }));
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root::default()) });
}}

/// Envoy's shared data as the posture store: one key per project, shared by every VM of the
/// plugin, with Envoy's compare-and-swap tokens.
struct SharedData;

impl PostureStore for SharedData {
    fn load(&self, key: &str) -> Result<Option<(Vec<u8>, u32)>, String> {
        match proxy_wasm::hostcalls::get_shared_data(key) {
            Ok((Some(bytes), cas)) => Ok(Some((bytes, cas.unwrap_or(0)))),
            Ok((None, _)) | Err(Status::NotFound) => Ok(None),
            Err(e) => Err(format!("shared data {key}: {e:?}")),
        }
    }

    fn store(&self, key: &str, value: &[u8], cas: u32) -> Result<bool, String> {
        match proxy_wasm::hostcalls::set_shared_data(key, Some(value), (cas != 0).then_some(cas)) {
            Ok(()) => Ok(true),
            Err(Status::CasMismatch) => Ok(false),
            Err(e) => Err(format!("shared data {key}: {e:?}")),
        }
    }
}

/// Milliseconds since the Unix epoch by the host's clock.
fn now_ms() -> Option<u64> {
    metrics::now().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The posture context of a screening now; without a clock the posture is not updated (and the
/// request is governed as if it kept none), which is logged.
fn posture_ctx() -> Option<PostureCtx<'static>> {
    now_ms().map(|now_ms| PostureCtx { store: &SharedData, now_ms })
}

#[derive(Default)]
struct Root {
    guard: Option<Rc<Guard>>,
    /// Bodies whose model windows run a slice per tick.
    slicer: Rc<RefCell<Slicer>>,
    metrics: Option<Rc<Metrics>>,
    /// The host's name in log records: the `parapet_host` property (set by `parapet`), else
    /// `envoy`.
    host: Rc<str>,
}

impl Context for Root {}

impl Root {
    /// One slice of model work; a body whose windows are all done is decided and resumed.
    fn slice(&mut self) {
        let finished = self.slicer.borrow_mut().step();
        if let Some(done) = finished {
            // The request's context is the one whose hostcalls follow (its reply, its body).
            if proxy_wasm::hostcalls::set_effective_context(done.context_id).is_ok() {
                let action = done.http.borrow_mut().finish_sliced(done.precomputed, done.took);
                if action == Action::Continue {
                    proxy_wasm::hostcalls::resume_http_request().ok();
                }
            }
        }
        let idle = self.slicer.borrow().is_idle();
        proxy_wasm::hostcalls::set_tick_period(if idle { Duration::ZERO } else { slicer::TICK }).ok();
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Guard::new(&bytes) {
            Ok(guard) if guard.config().offload.as_ref().is_some_and(|o| o.cluster.is_none()) => {
                // Rejected like any bad config: the old one keeps serving.
                proxy_wasm::hostcalls::log(LogLevel::Error, "invalid config field `offload.cluster`: Envoy needs the cluster of the scoring service").ok();
                false
            }
            Ok(guard) => {
                for (policy, missing) in guard.config().unavailable_detectors() {
                    proxy_wasm::hostcalls::log(
                        LogLevel::Warn,
                        &format!("policy {policy:?} names detectors this build lacks (reported as unavailable): {}", missing.join(", ")),
                    )
                    .ok();
                }
                self.metrics = Some(Rc::new(Metrics::define(guard.config())));
                // Created before this VM serves, so the one unconditional write never races an
                // update (shared data outlives a configuration: a new one keeps the state).
                for project in guard.posture_projects() {
                    if let Err(e) = posture::init(&SharedData, project.as_deref()) {
                        proxy_wasm::hostcalls::log(LogLevel::Error, &format!("posture store: {e}")).ok();
                    }
                }
                let named = proxy_wasm::hostcalls::get_property(vec!["parapet_host"]).ok().flatten().and_then(|b| String::from_utf8(b).ok());
                self.host = Rc::from(named.as_deref().unwrap_or("envoy"));
                self.guard = Some(Rc::new(guard));
                proxy_wasm::hostcalls::log(LogLevel::Info, "configuration accepted").ok();
                true
            }
            Err(e) => {
                // Returning false makes Envoy reject this configuration; the old one keeps serving.
                proxy_wasm::hostcalls::log(LogLevel::Error, &e.to_string()).ok();
                false
            }
        }
    }

    fn on_tick(&mut self) {
        self.slice();
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        let guard = self.guard.clone()?;
        let metrics = self.metrics.clone()?;
        let http = Rc::new(RefCell::new(Http {
            guard,
            metrics,
            host: Rc::clone(&self.host),
            route: Route::Pass,
            project: None,
            pinned: false,
            request_id: None,
            response_headers: Vec::new(),
            api_format: None,
            response: None,
            holding: false,
            held_fed: 0,
            response_time: Some(Duration::ZERO),
            forbidden_tools: Vec::new(),
            sliced: None,
            offloading: None,
            #[cfg(feature = "fault-injection")]
            fault_panic: false,
        }));
        Some(Box::new(Shim { context_id, http, slicer: Rc::clone(&self.slicer) }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Not ours: pass untouched.
    Pass,
    /// `POST guard_path`: answer locally.
    Guard,
    /// `POST guard_path/results`: the tuning endpoint, answered locally, not logged.
    Results,
    /// `GET <posture_path>`: every project's posture, answered locally.
    Posture,
    /// `POST` to an LLM API path: screen, then forward or answer.
    Api(Format),
    /// Already answered locally.
    Done,
}

/// What a scoring service's answer (or its failure) leads to.
enum Offloaded {
    /// The body was decided: resume the stream on `Continue`.
    Decided(Action),
    /// The service failed and the fallback is `local`: slice these windows in-process.
    Slice(Vec<Vec<u32>>),
}

/// A body whose model windows are with the scoring service.
struct Offloading {
    windows: Vec<Vec<u32>>,
    start: Option<std::time::SystemTime>,
}

/// A request body whose model windows run a slice at a time before it is decided.
struct SlicedBody {
    body: Vec<u8>,
    /// Taken by the shim when it hands them to the slicer.
    windows: Option<Vec<Vec<u32>>>,
}

/// What the SDK holds for a stream: the stream's state is shared with the slicer, which decides
/// a sliced body from the root context's tick.
struct Shim {
    context_id: u32,
    http: Rc<RefCell<Http>>,
    slicer: Rc<RefCell<Slicer>>,
}

impl Shim {
    /// Hands a body's windows to the slicer (and starts the root's tick if it was idle).
    fn slice(&self, windows: Vec<Vec<u32>>) {
        let idle = self.slicer.borrow().is_idle();
        self.slicer.borrow_mut().add(self.context_id, Rc::clone(&self.http), windows);
        if idle {
            proxy_wasm::hostcalls::set_tick_period(slicer::TICK).ok();
        }
    }
}

impl Context for Shim {
    fn on_http_call_response(&mut self, _token_id: u32, num_headers: usize, body_size: usize, _num_trailers: usize) {
        let next = self.http.borrow_mut().offload_answered(num_headers, body_size);
        match next {
            Offloaded::Decided(Action::Continue) => {
                proxy_wasm::hostcalls::resume_http_request().ok();
            }
            Offloaded::Decided(_) => {}
            Offloaded::Slice(windows) => self.slice(windows),
        }
    }

    fn on_done(&mut self) -> bool {
        // A stream that ends (the client went away) while its windows run is dropped from the
        // slicer: nothing is decided for it.
        self.slicer.borrow_mut().cancel(self.context_id);
        true
    }
}

impl HttpContext for Shim {
    fn on_http_request_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Action {
        self.slicer.borrow().make_way();
        self.http.borrow_mut().on_http_request_headers(num_headers, end_of_stream)
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let action = self.http.borrow_mut().on_http_request_body(body_size, end_of_stream);
        let windows = self.http.borrow_mut().sliced.as_mut().and_then(|s| s.windows.take());
        match windows {
            Some(windows) => self.slice(windows),
            None => self.slicer.borrow().make_way(),
        }
        action
    }

    fn on_http_response_headers(&mut self, num_headers: usize, end_of_stream: bool) -> Action {
        self.slicer.borrow().make_way();
        self.http.borrow_mut().on_http_response_headers(num_headers, end_of_stream)
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.slicer.borrow().make_way();
        self.http.borrow_mut().on_http_response_body(body_size, end_of_stream)
    }
}

struct Http {
    guard: Rc<Guard>,
    metrics: Rc<Metrics>,
    host: Rc<str>,
    route: Route,
    project: Option<String>,
    /// The project is bound by route or API key (the guard body may not pick another).
    pinned: bool,
    request_id: Option<String>,
    response_headers: Vec<(&'static str, String)>,
    /// The API format of a forwarded request: its response is screened in that format.
    api_format: Option<Format>,
    response: Option<ResponseScreen>,
    /// The response headers are held until the body is screened (`hold_response_headers`).
    holding: bool,
    /// Bytes of the held response body (Envoy's buffer) already fed to the core.
    held_fed: usize,
    /// Time spent in the core screening the response so far (`None` once the clock failed).
    response_time: Option<Duration>,
    /// Tools the response may not call (the project's posture is `scoped` or higher).
    forbidden_tools: Vec<String>,
    /// A body paused for sliced screening: the body, then (once handed to the slicer) `None`
    /// in `windows`.
    sliced: Option<SlicedBody>,
    /// The body's windows are with the scoring service (config `offload`).
    offloading: Option<Offloading>,
    /// Test builds: the request asked for a forced panic (`x-parapet-fault: panic`).
    #[cfg(feature = "fault-injection")]
    fault_panic: bool,
}

/// Microseconds for a log record (0 without a clock).
fn micros(took: Option<Duration>) -> u64 {
    took.map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl Http {
    /// Writes the screening's log record to the configured sink (`logging` in the config).
    fn emit(&self, s: &Screening, content: Content<'_>, latency_us: u64) {
        if !self.guard.log_wanted(s) {
            return;
        }
        let facts = HostFacts { time_ms: now_ms().unwrap_or(0), host: &self.host, latency_us, request_id: self.request_id.as_deref() };
        let line = self.guard.log_record(s, content, &facts);
        self.emit_line(line);
    }

    /// What a screening did to the project's posture: its gauges, and a transition record
    /// (always written: with no sink configured it goes to Envoy's log as a warning).
    fn posture_effects(&self, note: Option<&PostureNote>) {
        let Some(note) = note else { return };
        self.metrics.posture(note);
        if let Some(e) = &note.error {
            proxy_wasm::hostcalls::log(LogLevel::Error, &format!("posture of project {:?} not updated: {e}", note.project)).ok();
        }
        let Some(line) = self.guard.transition_record(note, now_ms().unwrap_or(0), &self.host, self.request_id.as_deref()) else { return };
        if self.guard.config().logging.sink == LogSink::None {
            proxy_wasm::hostcalls::log(LogLevel::Warn, &format!("parapet.posture {line}")).ok();
        } else {
            self.emit_line(line);
        }
    }

    /// One record line to the configured sink.
    fn emit_line(&self, line: String) {
        let cfg = &self.guard.config().logging;
        if cfg.sink == LogSink::Http {
            if let Some(cluster) = cfg.cluster.as_deref() {
                let authority = cfg.authority.as_deref().unwrap_or(cluster);
                let headers = vec![(":method", "POST"), (":path", cfg.path.as_str()), (":authority", authority), ("content-type", "application/x-ndjson")];
                let mut body = line.into_bytes();
                body.push(b'\n');
                // Fire and forget: the answer is not awaited; a refused call is logged instead.
                if let Err(e) = proxy_wasm::hostcalls::dispatch_http_call(cluster, headers, Some(&body), vec![], Duration::from_millis(u64::from(cfg.timeout_ms))) {
                    let line = String::from_utf8_lossy(&body);
                    proxy_wasm::hostcalls::log(LogLevel::Warn, &format!("log collector {cluster:?} refused the record ({e:?}): parapet.screening {}", line.trim_end())).ok();
                }
                return;
            }
        }
        proxy_wasm::hostcalls::log(LogLevel::Info, &format!("parapet.screening {line}")).ok();
    }

    /// Counts and logs how screening a response ended, once it has.
    fn response_outcome(&mut self) {
        let Some(screen) = self.response.as_mut() else { return };
        let Some((screening, messages)) = screen.take_screening() else { return };
        let (outcome, detected) = (screening.outcome, screening.detected.clone());
        let series = self.metrics.series(self.project.as_deref());
        self.metrics.response_outcome(series, outcome, &detected, self.response_time);
        self.emit(&screening, Content::Messages(&messages), micros(self.response_time));
        let note = self.guard.posture_after_response(&screening, posture_ctx().as_ref());
        self.posture_effects(note.as_ref());
        let Some(screen) = self.response.as_ref() else { return };
        if outcome != Outcome::Clean {
            let cause = screen.cause().map(|c| format!(" cause={c}")).unwrap_or_default();
            proxy_wasm::hostcalls::log(
                LogLevel::Info,
                &format!(
                    "response {} request_id={} detectors=[{}]{cause}",
                    outcome.as_str(),
                    self.request_id.as_deref().unwrap_or("-"),
                    detected.join(",")
                ),
            )
            .ok();
        }
    }

    /// A guard call refused before screening (too large, unknown API key): logged, answered.
    fn guard_refused(&mut self, e: &parapet_filter::ApiError) -> Action {
        if self.route == Route::Guard {
            let s = Screening {
                kind: Kind::Guard,
                direction: Direction::Input,
                format: None,
                project: self.project.clone(),
                outcome: Outcome::Rejected,
                detected: Vec::new(),
                verdict: None,
                error: Some(e.clone()),
                posture: None,
                shadow: None,
            };
            self.emit(&s, Content::None, 0);
        }
        self.reply(&HttpReply::error(e))
    }

    fn reply(&mut self, r: &HttpReply) -> Action {
        self.reply_with(r, &[])
    }

    /// A local answer; `headers` come with it (a `content-type` among them replaces JSON's).
    fn reply_with(&mut self, r: &HttpReply, headers: &[(&'static str, String)]) -> Action {
        self.route = Route::Done;
        let mut all: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 1);
        if !headers.iter().any(|(k, _)| *k == "content-type") {
            all.push(("content-type", "application/json"));
        }
        all.extend(headers.iter().map(|(k, v)| (*k, v.as_str())));
        self.send_http_response(u32::from(r.status), all, Some(&r.body));
        Action::Pause
    }

    /// The labelled metric series of this request's project.
    fn series(&self) -> SeriesId {
        self.metrics.series(self.project.as_deref())
    }

    /// Adds the time since `start` to the response's screening time.
    fn response_timed(&mut self, start: Option<std::time::SystemTime>) {
        self.response_time = self.response_time.zip(metrics::since(start)).map(|(a, b)| a + b);
    }

    fn ctx(&self) -> RequestCtx<'_> {
        RequestCtx { project: self.project.as_deref(), request_id: self.request_id.as_deref() }
    }

    /// The model windows of a complete body (none for routes without a screening).
    fn model_windows(&self, body: &[u8]) -> Vec<Vec<u32>> {
        match self.route {
            Route::Guard => self.guard.guard_model_windows(body, &self.ctx(), self.pinned),
            Route::Api(format) => self.guard.request_model_windows(format, body, self.project.as_deref()),
            _ => Vec::new(),
        }
    }

    /// Sends a long body's windows to the scoring service; an error when the call could not
    /// even be made (the fallback applies at once).
    fn offload(&mut self, windows: &[Vec<u32>]) -> Result<(), String> {
        let Some(o) = self.guard.config().offload.clone() else { return Err("no offload configured".into()) };
        let Some(cluster) = o.cluster.as_deref() else { return Err("offload.cluster is not set".into()) };
        let authority = o.authority.as_deref().unwrap_or(cluster);
        let headers = vec![(":method", "POST"), (":path", o.path.as_str()), (":authority", authority), ("content-type", "application/json")];
        let body = parapet_filter::offload::request_body(windows);
        let timeout = Duration::from_millis(u64::from(o.timeout_ms));
        self.metrics.offload_call();
        proxy_wasm::hostcalls::dispatch_http_call(cluster, headers, Some(&body), vec![], timeout)
            .map(|_| ())
            .map_err(|e| format!("the call to cluster {cluster:?} was refused ({e:?})"))
    }

    /// The scoring service answered (or failed: no headers): decide with its logits, or apply
    /// the fallback.
    fn offload_answered(&mut self, num_headers: usize, body_size: usize) -> Offloaded {
        let Some(job) = self.offloading.take() else { return Offloaded::Decided(Action::Pause) };
        let status = if num_headers == 0 { None } else { self.get_http_call_response_header(":status") };
        let answer = match status.as_deref() {
            Some("200") => {
                let body = self.get_http_call_response_body(0, body_size).unwrap_or_default();
                parapet_filter::offload::parse_response(&body, &job.windows)
            }
            Some(s) => Err(format!("the scoring service answered {s}: {}", String::from_utf8_lossy(&self.get_http_call_response_body(0, body_size.min(300)).unwrap_or_default()))),
            None => Err("no answer from the scoring service (timeout, reset or unreachable)".into()),
        };
        match answer {
            Ok(pre) => Offloaded::Decided(self.finish_sliced(pre, metrics::since(job.start))),
            Err(why) => self.offload_failed(&why, job.windows),
        }
    }

    /// The scoring service failed: counted, logged, and the configured fallback decides.
    fn offload_failed(&mut self, why: &str, windows: Vec<Vec<u32>>) -> Offloaded {
        self.metrics.offload_fallback();
        let fallback = self.guard.config().offload.as_ref().map_or(OffloadFallback::Local, |o| o.fallback);
        let then = match fallback {
            OffloadFallback::Local => "screening in-process",
            OffloadFallback::FailMode => "following fail_mode",
        };
        proxy_wasm::hostcalls::log(LogLevel::Warn, &format!("offload failed request_id={}: {why}; {then}", self.request_id.as_deref().unwrap_or("-"))).ok();
        if fallback == OffloadFallback::Local {
            return Offloaded::Slice(windows);
        }
        self.sliced = None;
        let e = parapet_filter::offload::failed(why);
        Offloaded::Decided(match self.route {
            Route::Guard => {
                self.metrics.guard_request();
                self.guard_refused(&e)
            }
            _ => {
                let d = self.guard.decide_unscreenable_for(self.project.as_deref(), &e);
                self.unscreenable(d, self.series())
            }
        })
    }

    /// Decides a body whose windows the slicer ran; `took` is the time they took.
    fn finish_sliced(&mut self, precomputed: parapet_filter::model::Precomputed, took: Option<Duration>) -> Action {
        let body = self.sliced.take().map(|s| s.body).unwrap_or_default();
        let (action, _) = precomputed.apply(|| self.finish_timed(&body, took));
        action
    }

    /// The body is complete (or known to be too large): decide.
    fn finish(&mut self, body: &[u8]) -> Action {
        self.finish_timed(body, Some(Duration::ZERO))
    }

    /// [`Http::finish`]; `before` is screening time already spent on this body (its sliced
    /// model windows), counted into its latency.
    fn finish_timed(&mut self, body: &[u8], before: Option<Duration>) -> Action {
        #[cfg(feature = "fault-injection")]
        self.fault_injection();
        match self.route {
            Route::Guard => {
                self.metrics.guard_request();
                let start = metrics::now();
                let pc = posture_ctx();
                let (r, screening, note) = self.guard.guard_exchange_governed(body, &self.ctx(), self.pinned, pc.as_ref());
                let took = metrics::since(start).zip(before).map(|(a, b)| a + b);
                self.metrics.guard_latency(took);
                self.emit(&screening, Content::Body(body), micros(took));
                self.posture_effects(note.as_ref());
                let headers: Vec<(&'static str, String)> = note.iter().map(|n| (parapet_filter::govern::HEADER_POSTURE, n.header())).collect();
                self.reply_with(&r, &headers)
            }
            Route::Posture => {
                let r = self.guard.posture_http(&SharedData, now_ms().unwrap_or(0));
                self.reply(&r)
            }
            Route::Results => {
                // Tuning answers are not logged (Lakera's `/v2/guard/results`).
                let r = self.guard.guard_results_http(body, &self.ctx(), self.pinned);
                self.reply(&r)
            }
            Route::Api(format) => {
                let start = metrics::now();
                let pc = posture_ctx();
                let d = self.guard.decide_request_governed(format, body, &self.ctx(), pc.as_ref());
                let took = metrics::since(start).zip(before).map(|(a, b)| a + b);
                self.metrics.outcome(self.series(), d.outcome, &d.detected, took);
                let screening = d.screening(format, Direction::Input, self.project.as_deref());
                self.emit(&screening, Content::Body(body), micros(took));
                if d.outcome != Outcome::Clean {
                    proxy_wasm::hostcalls::log(
                        LogLevel::Info,
                        &format!("{} request_id={} detectors=[{}]", d.outcome.as_str(), self.request_id.as_deref().unwrap_or("-"), d.detected.join(",")),
                    )
                    .ok();
                }
                self.posture_effects(d.posture.as_ref());
                self.forbidden_tools.clone_from(&d.forbidden_tools);
                self.response_headers = d.response_headers;
                if let Some(masked) = &d.body {
                    // Mask mode (or tools removed by the posture): the upstream gets the
                    // rewritten body. Its content-length was dropped in the header phase
                    // (headers are read-only here); the buffer filter after this one sets it
                    // from the final body.
                    self.set_http_request_body(0, body.len(), masked);
                }
                match d.reply {
                    Some(r) => self.reply_with(&r, &d.reply_headers),
                    None => Action::Continue,
                }
            }
            Route::Pass | Route::Done => Action::Continue,
        }
    }

    /// An API request that cannot be screened: answer, or (fail open) pass it on unscreened.
    fn unscreenable(&mut self, d: ProxyDecision, series: SeriesId) -> Action {
        self.metrics.outcome(series, d.outcome, &d.detected, None);
        if let Route::Api(format) = self.route {
            let screening = d.screening(format, Direction::Input, self.project.as_deref());
            self.emit(&screening, Content::None, 0);
        }
        proxy_wasm::hostcalls::log(
            LogLevel::Info,
            &format!(
                "{} request_id={} cause={}",
                d.outcome.as_str(),
                self.request_id.as_deref().unwrap_or("-"),
                d.response_headers.first().map_or("-", |h| h.1.as_str())
            ),
        )
        .ok();
        self.response_headers = d.response_headers;
        match d.reply {
            Some(r) => self.reply(&r),
            None => {
                self.route = Route::Pass;
                Action::Continue
            }
        }
    }

    /// A body over the limit is never buffered further: answer (or fail open) at once.
    fn too_large(&mut self, len: usize) -> Action {
        let Err(e) = self.guard.check_size(len) else { return Action::Continue };
        match self.route {
            Route::Guard | Route::Results => {
                self.metrics.guard_request();
                self.guard_refused(&e)
            }
            Route::Api(_) => {
                let d = self.guard.decide_unscreenable_for(self.project.as_deref(), &e);
                self.unscreenable(d, self.series())
            }
            Route::Posture | Route::Pass | Route::Done => Action::Continue,
        }
    }
}

impl Http {
    /// A response whose headers are held: Envoy buffers the body (paused) while the core sees
    /// each new part; once it decides, the status, length and body are set before anything
    /// leaves, so a blocked answer is the core's 4xx/5xx and a masked one has its real length.
    fn held_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let fresh = self.get_http_response_body(self.held_fed, body_size.saturating_sub(self.held_fed)).unwrap_or_default();
        self.held_fed = body_size;
        let Some(screen) = self.response.as_mut() else { return Action::Continue };
        let start = metrics::now();
        let step = screen.feed(&self.guard, &fresh, end_of_stream);
        self.response_timed(start);
        // A block ends the body (later bytes are dropped), so its length is final too.
        let (out, whole) = match step {
            // Still collecting: Envoy keeps buffering, nothing is sent.
            StreamStep::Release(bytes) if bytes.is_empty() && !end_of_stream => return Action::Pause,
            StreamStep::Release(bytes) => (bytes, end_of_stream),
            StreamStep::Block { mut release, error, status, .. } => {
                release.extend_from_slice(&error);
                self.set_http_response_header(":status", Some(&status.to_string()));
                self.set_http_response_header("content-type", Some("application/json"));
                (release, true)
            }
        };
        // Released before its end (over `max_response_bytes`, failing open): the rest streams
        // unframed.
        if whole {
            self.set_http_response_header("content-length", Some(&out.len().to_string()));
        }
        self.set_http_response_body(0, body_size, &out);
        self.holding = false;
        self.response_outcome();
        Action::Continue
    }
}

impl Context for Http {}

#[cfg(feature = "fault-injection")]
impl Http {
    /// Test builds only (`--features fault-injection`, `scripts/build.sh`'s `fault` profile):
    /// `x-parapet-fault: panic` on a screened request panics where a bug in the core would, so
    /// the e2e tests can watch Envoy's failure policy and the panic log line.
    #[allow(clippy::panic)]
    fn fault_injection(&self) {
        if self.fault_panic && matches!(self.route, Route::Guard | Route::Results | Route::Api(_)) {
            panic!("forced panic (x-parapet-fault)");
        }
    }
}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let path = self.get_http_request_header(":path").unwrap_or_default();
        let method = self.get_http_request_header(":method").unwrap_or_default();
        self.route = match self.guard.api_format(&path) {
            _ if self.guard.is_guard_path(&path) => Route::Guard,
            _ if self.guard.is_results_path(&path) => Route::Results,
            _ if self.guard.is_posture_path(&path) => Route::Posture,
            Some(format) if method == "POST" => Route::Api(format),
            _ => Route::Pass,
        };
        if self.route == Route::Pass {
            return Action::Continue;
        }
        // Headers can be read here only: Envoy refuses it in the body callback.
        #[cfg(feature = "fault-injection")]
        {
            self.fault_panic = self.get_http_request_header("x-parapet-fault").as_deref() == Some("panic");
        }
        if self.route == Route::Posture {
            if method != "GET" && method != "HEAD" {
                let e = parapet_filter::ApiError::new(405, "method_not_allowed", format!("{path} accepts GET only"));
                return self.reply(&HttpReply::error(&e));
            }
            return self.finish(&[]);
        }
        self.metrics.request();
        if matches!(self.route, Route::Guard | Route::Results) && method != "POST" {
            let e = parapet_filter::ApiError::new(405, "method_not_allowed", format!("{path} accepts POST only"));
            return self.reply(&HttpReply::error(&e));
        }
        let guard = Rc::clone(&self.guard);
        if let Route::Api(format) = self.route {
            self.api_format = Some(format);
            // A compressed response could not be screened.
            self.set_http_request_header(UPSTREAM_ACCEPT_ENCODING.0, Some(UPSTREAM_ACCEPT_ENCODING.1));
        }
        self.request_id = self.get_http_request_header("x-request-id");
        let header = self.get_http_request_header(&guard.config().project_header);
        let (auth, x_api_key, api_key) =
            (self.get_http_request_header("authorization"), self.get_http_request_header("x-api-key"), self.get_http_request_header("api-key"));
        // The hostcall itself, not the trait method, which panics on a host error status.
        let route_name = proxy_wasm::hostcalls::get_property(vec!["xds", "route_name"]).ok().flatten().and_then(|b| String::from_utf8(b).ok());
        let caller = Caller {
            route: route_name.as_deref(),
            path: &path,
            authorization: auth.as_deref(),
            x_api_key: x_api_key.as_deref(),
            api_key: api_key.as_deref(),
            project_header: header.as_deref(),
        };
        match guard.identify(&caller) {
            Ok(id) => {
                self.pinned = id.pinned();
                self.project = id.project;
                // A body that may be rewritten must not keep its original length: Envoy lets
                // the filter change headers only now, so drop it and let the buffer filter
                // (or chunked framing, without one) frame the body that is forwarded.
                if matches!(self.route, Route::Api(_)) && guard.may_rewrite(self.project.as_deref()) {
                    self.set_http_request_header("content-length", None);
                }
            }
            Err(e) if matches!(self.route, Route::Guard | Route::Results) => {
                self.metrics.guard_request();
                return self.guard_refused(&e);
            }
            Err(e) => {
                let d = guard.decide_unscreenable(&e);
                return self.unscreenable(d, self.metrics.unknown());
            }
        }
        if let Err(e) = guard.check_encoding(self.get_http_request_header("content-encoding").as_deref()) {
            return match self.route {
                Route::Guard | Route::Results => {
                    self.metrics.guard_request();
                    self.guard_refused(&e)
                }
                _ => {
                    let d = guard.decide_unscreenable_for(self.project.as_deref(), &e);
                    self.unscreenable(d, self.series())
                }
            };
        }
        if let Some(len) = self.get_http_request_header("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
            if self.too_large(len) == Action::Pause {
                return Action::Pause;
            }
        }
        if end_of_stream {
            return self.finish(&[]);
        }
        Action::Continue
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        match self.route {
            Route::Pass => return Action::Continue,
            Route::Done => return Action::Pause,
            Route::Posture => return Action::Continue,
            Route::Guard | Route::Results | Route::Api(_) => {}
        }
        if body_size > self.guard.config().max_body_bytes {
            return self.too_large(body_size);
        }
        if !end_of_stream {
            // Envoy keeps buffering; we see the whole body at end_of_stream.
            return Action::Pause;
        }
        let body = self.get_http_request_body(0, body_size).unwrap_or_default();
        let windows = self.model_windows(&body);
        if self.guard.offloads(windows.len()) {
            // Envoy keeps the body buffered while the scoring service runs its windows.
            self.sliced = Some(SlicedBody { body, windows: None });
            return match self.offload(&windows) {
                Ok(()) => {
                    self.offloading = Some(Offloading { windows, start: metrics::now() });
                    Action::Pause
                }
                Err(why) => match self.offload_failed(&why, windows) {
                    Offloaded::Decided(action) => action,
                    Offloaded::Slice(windows) => {
                        self.sliced = self.sliced.take().map(|s| SlicedBody { windows: Some(windows), ..s });
                        Action::Pause
                    }
                },
            };
        }
        if parapet_filter::model::worth_slicing(windows.len()) {
            // Envoy keeps the body buffered while the slicer runs its windows.
            self.sliced = Some(SlicedBody { body, windows: Some(windows) });
            return Action::Pause;
        }
        self.finish(&body)
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        for (name, value) in std::mem::take(&mut self.response_headers) {
            self.set_http_response_header(name, Some(&value));
        }
        // Screen the upstream's answer to a forwarded API request (not a local reply).
        let Some(format) = self.api_format.filter(|_| self.route != Route::Done) else { return Action::Continue };
        let status = self.get_http_response_header(":status").and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
        let content_type = self.get_http_response_header("content-type");
        let content_encoding = self.get_http_response_header("content-encoding");
        let start = metrics::now();
        self.response = self.guard.start_response(
            format,
            status,
            content_type.as_deref(),
            content_encoding.as_deref(),
            self.project.as_deref(),
            !end_of_stream,
        );
        if let Some(screen) = self.response.as_mut() {
            // Before the header edits are read: a forbidden call needs the body held.
            screen.forbid_tools(&self.forbidden_tools);
        }
        self.response_timed(start);
        if let Some(screen) = &self.response {
            self.metrics.response();
            let edits = screen.header_edits().clone();
            for name in edits.remove {
                self.set_http_response_header(name, None);
            }
            for (name, value) in edits.set {
                self.set_http_response_header(name, Some(&value));
            }
            // With the plugin's `allow_on_headers_stop_iteration`, a paused header phase is
            // StopIteration: Envoy keeps the headers and still hands the body to this filter.
            self.holding = self.guard.config().hold_response_headers && screen.holds_body();
        }
        self.response_outcome();
        if self.holding {
            return Action::Pause;
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.response.is_none() {
            return Action::Continue;
        }
        if self.holding {
            return self.held_response_body(body_size, end_of_stream);
        }
        // Always Continue: Envoy hands over each chunk once, and the core holds back what is
        // not yet screened (so the body buffer is only ever the current chunk).
        let chunk = self.get_http_response_body(0, body_size).unwrap_or_default();
        let Some(screen) = self.response.as_mut() else { return Action::Continue };
        let start = metrics::now();
        let step = screen.feed(&self.guard, &chunk, end_of_stream);
        self.response_timed(start);
        let out = match step {
            StreamStep::Release(bytes) => bytes,
            StreamStep::Block { mut release, error, .. } => {
                release.extend_from_slice(&error);
                release
            }
        };
        if out != chunk {
            self.set_http_response_body(0, body_size, &out);
        }
        self.response_outcome();
        Action::Continue
    }
}
