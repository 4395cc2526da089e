//! Parapet as a Workers-style ES module: a thin wasm-bindgen adapter over `parapet-filter`.
//!
//! The JavaScript worker (`edge-worker/src/worker.js`) routes requests, reads bodies with a size
//! cap, forwards to the origin and copies headers. Everything that decides an answer (parsing,
//! screening, modes, fail modes, error bodies) is the core's: this file only converts types.
//!
//! JS API (wasm-bindgen `--target web` glue, `parapet_edge.js`):
//!
//! ```js
//! const p = new Parapet(configJsonText);          // throws Error(ConfigError Display) on a bad config
//! p.projectHeader; p.maxBodyBytes; p.guardPath;   // config values the worker needs
//! p.mode; p.failMode; p.failOpen;
//! p.isGuardPath(path); p.isApiPath(path);         // query string ignored
//! const r = p.guard(bodyBytes, project, requestId);                  // Reply {status, body}
//! const d = p.screenRequest(path, bodyBytes, project, requestId);    // Decision
//! p.guardTooLarge(len); p.screenRequestTooLarge(len);                // the core's 413 for a body not read
//! d.forward; d.status; d.body; d.headers /* [k, v, k, v, ...] */; d.outcome; d.detected
//! d.forwardBody;                                  // mask mode: the body to forward, else undefined
//! // Project by route (path prefix), API key or header: the `*As` variants take a caller.
//! const who = p.identify(path, authorization, xApiKey, apiKey, projectHeaderValue);
//! p.guardAs(bodyBytes, who, requestId, contentEncoding, work?); p.screenRequestAs(path, bodyBytes, who, requestId, contentEncoding, work?);
//! // Cooperative screening: a long body's model windows, one per step, yielding between them.
//! const work = p.guardWork(bodyBytes, who);      // or p.requestWork(path, bodyBytes, who)
//! if (work.sliced) while (work.step()) await yieldToEventLoop();  // then pass `work` above
//! // Offload (config `offload`): p.offloads(work); p.offloadPath; p.offloadTimeoutMs; p.offloadFallback;
//! work.offloadRequest();  work.acceptOffload(answerBytes) /* undefined, or why not */
//! p.guardOffloadFailedAs(who, why); p.screenRequestOffloadFailedAs(path, who, why, requestId);
//! p.screenRequestTooLargeAs(len, who);
//! const s = p.startResponse(path, status, contentType, project, hasBody);  // ResponseScreen or undefined
//! s.removeHeaders; s.setHeaders /* flat */; s.isStream; s.holdsBody;
//! const out = s.feed(chunkBytes, end);  // bytes to send on; then s.blocked, s.status
//! s.takeOutcome(); s.detected; s.cause  // once the body ended (or was refused)
//! // Screening log records (config `logging`): one JSON line, or undefined when none is due.
//! r.logRecord; d.logRecord; s.takeLogRecord();
//! p.isResultsPath(path); p.resultsAs(bodyBytes, who, requestId, contentEncoding);   // `<guard_path>/results`, not logged
//! // Threat posture (kept in this isolate's memory, see below):
//! p.isPosturePath(path); p.posture();             // `GET /v2/posture`: Reply
//! r.headers; d.replyHeaders;                      // flat headers of a local answer (x-parapet-posture, content-type)
//! d.forbiddenTools; s.forbidTools(d.forbiddenTools); // posture `scoped`: calls the response may not make
//! r.postureRecord; d.postureRecord;               // a mode transition's log record, or undefined
//! ```
//!
//! Posture state: a Workers isolate has no memory shared with other isolates and no
//! compare-and-swap store that a request can read synchronously, so each `Parapet` keeps its
//! projects' posture in the isolate's own memory ([`parapet_filter::posture::LocalStore`]).
//! An isolate runs one request's wasm at a time, so no update is lost; isolates in other
//! locations (or a fresh isolate) keep their own. The closest shared equivalent, a Durable
//! Object per project, costs a network round trip per request; `docs/posture.md` says when to
//! use it.

use std::rc::Rc;

use parapet_filter::govern::{PostureCtx, PostureNote};
use parapet_filter::log::{Content, Direction, HostFacts, Screening};
use parapet_filter::posture::LocalStore;
use parapet_filter::{ApiError, Caller, FailMode, Guard, HttpReply, Mode, ProxyDecision, RequestCtx, StreamStep};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The isolate's clock. Workers do not advance it while a request computes, so a worker's
    /// records carry the request's arrival time and a latency of 0.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// The log record of a screening, if the config wants one.
fn record(guard: &Guard, s: &Screening, content: Content<'_>, started: f64, request_id: Option<&str>) -> Option<String> {
    if !guard.log_wanted(s) {
        return None;
    }
    let now = date_now();
    // `as` from f64 saturates; the clock is never negative.
    let facts = HostFacts { time_ms: now as u64, host: "worker", latency_us: ((now - started).max(0.0) * 1000.0) as u64, request_id };
    Some(guard.log_record(s, content, &facts))
}

/// The core's version, as reported in `dev_info`.
/// A body's guard-model windows, run one per `step()` so the worker can yield to its event loop
/// between them: other requests of the isolate go on while a long document is screened. Given
/// to `guardAs` / `screenRequestAs`, the screening takes the windows' logits instead of running
/// them again: the same verdict bytes as screening in one go.
#[wasm_bindgen]
pub struct ModelWork {
    windows: Vec<Vec<u32>>,
    next: usize,
    precomputed: parapet_filter::model::Precomputed,
}

impl ModelWork {
    fn new(windows: Vec<Vec<u32>>) -> ModelWork {
        ModelWork { windows, next: 0, precomputed: parapet_filter::model::Precomputed::default() }
    }
}

#[wasm_bindgen]
impl ModelWork {
    /// `true` when the body has more windows than a short prompt: worth running a step at a time.
    #[wasm_bindgen(getter)]
    pub fn sliced(&self) -> bool {
        parapet_filter::model::worth_slicing(self.windows.len())
    }

    /// The scoring service request for all the windows (config `offload`).
    #[wasm_bindgen(js_name = offloadRequest)]
    pub fn offload_request(&self) -> Vec<u8> {
        parapet_filter::offload::request_body(&self.windows)
    }

    /// Takes the scoring service's answer; `undefined` when it is usable, else why not (the
    /// fallback then applies).
    #[wasm_bindgen(js_name = acceptOffload)]
    pub fn accept_offload(&mut self, answer: &[u8]) -> Option<String> {
        match parapet_filter::offload::parse_response(answer, &self.windows) {
            Ok(pre) => {
                self.precomputed = pre;
                self.next = self.windows.len();
                None
            }
            Err(why) => Some(why),
        }
    }

    /// Runs the next window; `false` once none is left. A window that fails is left to the
    /// screening, which meets the same error and follows the fail mode.
    pub fn step(&mut self) -> bool {
        let Some(window) = self.windows.get(self.next) else { return false };
        self.next += 1;
        match parapet_filter::model::shared().and_then(|m| m.infer(window)) {
            Ok(logits) => self.precomputed.insert(window.clone(), logits),
            Err(_) => self.next = self.windows.len(),
        }
        self.next < self.windows.len()
    }
}

#[wasm_bindgen]
pub fn version() -> String {
    parapet_filter::VERSION.to_string()
}

/// One compiled configuration. Build it once per isolate and reuse it for every request.
#[wasm_bindgen]
pub struct Parapet {
    guard: Rc<Guard>,
    /// The projects' posture, in this isolate's memory (shared with its response screens).
    store: Rc<LocalStore>,
}

/// The transition record of a screening's posture note, if its mode or alarm changed.
fn transition_record(guard: &Guard, note: Option<&PostureNote>, request_id: Option<&str>) -> Option<String> {
    guard.transition_record(note?, date_now() as u64, "worker", request_id)
}

fn flat(headers: &[(&'static str, String)]) -> Vec<String> {
    headers.iter().flat_map(|(k, v)| [k.to_string(), v.clone()]).collect()
}

/// Screening one upstream response (see `parapet_filter::response`). The worker applies the
/// header edits, feeds every body chunk and sends on exactly the bytes `feed` returns.
#[wasm_bindgen]
pub struct ResponseScreen {
    guard: Rc<Guard>,
    store: Rc<LocalStore>,
    /// The posture transition the response caused, as a log record (returned once).
    posture_log: Option<String>,
    screen: parapet_filter::ResponseScreen,
    /// Set by the `feed` that blocked: the status a response whose headers are not yet sent gets.
    blocked_status: Option<u16>,
    outcome: Option<&'static str>,
    detected: Vec<String>,
    log: Option<String>,
    started: f64,
}

impl ResponseScreen {
    fn note_outcome(&mut self) {
        if let Some((s, messages)) = self.screen.take_screening() {
            self.outcome = Some(s.outcome.as_str());
            self.detected = s.detected.clone();
            self.log = record(&self.guard, &s, Content::Messages(&messages), self.started, None);
            let pc = PostureCtx { store: &*self.store, now_ms: date_now() as u64 };
            let note = self.guard.posture_after_response(&s, Some(&pc));
            self.posture_log = transition_record(&self.guard, note.as_ref(), None);
        }
    }
}

#[wasm_bindgen]
impl ResponseScreen {
    /// Response headers to remove before sending the headers on.
    #[wasm_bindgen(getter, js_name = removeHeaders)]
    pub fn remove_headers(&self) -> Vec<String> {
        self.screen.header_edits().remove.iter().map(|h| h.to_string()).collect()
    }

    /// Response headers to set, flat: `[name, value, ...]`.
    #[wasm_bindgen(getter, js_name = setHeaders)]
    pub fn set_headers(&self) -> Vec<String> {
        self.screen.header_edits().set.iter().flat_map(|(k, v)| [k.to_string(), v.clone()]).collect()
    }

    /// `true` for a server-sent event stream.
    #[wasm_bindgen(getter, js_name = isStream)]
    pub fn is_stream(&self) -> bool {
        self.screen.is_stream()
    }

    /// `true` when the core holds the body whole until its end (a JSON body in block mode or
    /// under a tool ban): the worker can then still choose the status.
    #[wasm_bindgen(getter, js_name = holdsBody)]
    pub fn holds_body(&self) -> bool {
        self.screen.holds_body()
    }

    /// Forbids calls to these tools (a decision's `forbiddenTools`): call before reading the
    /// header edits.
    #[wasm_bindgen(js_name = forbidTools)]
    pub fn forbid_tools(&mut self, tools: Vec<String>) {
        self.screen.forbid_tools(&tools);
    }

    /// Feeds one body chunk (`end` on the last, possibly empty); returns the bytes to send on.
    pub fn feed(&mut self, chunk: &[u8], end: bool) -> Vec<u8> {
        let out = match self.screen.feed(&self.guard, chunk, end) {
            StreamStep::Release(bytes) => bytes,
            StreamStep::Block { mut release, error, status, .. } => {
                self.blocked_status = Some(status);
                release.extend_from_slice(&error);
                release
            }
        };
        self.note_outcome();
        out
    }

    /// `true` once a `feed` blocked: the bytes it returned end the body.
    #[wasm_bindgen(getter)]
    pub fn blocked(&self) -> bool {
        self.blocked_status.is_some()
    }

    /// Status for a blocked body whose headers are not yet sent (403 blocked, 502 unscreenable).
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> u16 {
        self.blocked_status.unwrap_or(0)
    }

    /// `clean`, `flagged`, `blocked`, `rejected` or `failed_open` once screening ended, else
    /// `undefined`; returned once.
    #[wasm_bindgen(js_name = takeOutcome)]
    pub fn take_outcome(&mut self) -> Option<String> {
        self.outcome.take().map(str::to_string)
    }

    /// Detector types that detected (once the outcome is known).
    #[wasm_bindgen(getter)]
    pub fn detected(&self) -> Vec<String> {
        self.detected.clone()
    }

    /// Error code of a body that could not be screened, if any.
    #[wasm_bindgen(getter)]
    pub fn cause(&self) -> Option<String> {
        self.screen.cause().map(str::to_string)
    }

    /// The response's screening log record, once screening ended (returned once).
    #[wasm_bindgen(js_name = takeLogRecord)]
    pub fn take_log_record(&mut self) -> Option<String> {
        self.log.take()
    }

    /// The posture transition the response caused, as a log record (returned once).
    #[wasm_bindgen(js_name = takePostureRecord)]
    pub fn take_posture_record(&mut self) -> Option<String> {
        self.posture_log.take()
    }
}

/// An HTTP answer from the core: a status and a JSON body.
#[wasm_bindgen]
pub struct Reply {
    status: u16,
    body: Vec<u8>,
    log: Option<String>,
    headers: Vec<String>,
    posture_log: Option<String>,
}

#[wasm_bindgen]
impl Reply {
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body bytes (a copy, as a `Uint8Array`).
    #[wasm_bindgen(getter)]
    pub fn body(&self) -> Vec<u8> {
        self.body.clone()
    }

    /// The screening log record (config `logging`), or `undefined`.
    #[wasm_bindgen(getter, js_name = logRecord)]
    pub fn log_record(&self) -> Option<String> {
        self.log.clone()
    }

    /// Headers of the answer besides `content-type: application/json`, flat.
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> Vec<String> {
        self.headers.clone()
    }

    /// The posture transition this call caused, as a log record, or `undefined`.
    #[wasm_bindgen(getter, js_name = postureRecord)]
    pub fn posture_record(&self) -> Option<String> {
        self.posture_log.clone()
    }
}

impl From<HttpReply> for Reply {
    fn from(r: HttpReply) -> Reply {
        Reply { status: r.status, body: r.body, log: None, headers: Vec::new(), posture_log: None }
    }
}

/// What to do with a proxied LLM API request.
#[wasm_bindgen]
pub struct Decision {
    reply: Option<HttpReply>,
    headers: Vec<String>,
    outcome: &'static str,
    detected: Vec<String>,
    body: Option<Vec<u8>>,
    log: Option<String>,
    reply_headers: Vec<String>,
    forbidden_tools: Vec<String>,
    posture_log: Option<String>,
}

/// The caller's project, as [`Guard::identify`] picked it (or why it could not).
#[wasm_bindgen]
pub struct Who {
    project: Option<String>,
    pinned: bool,
    error: Option<ApiError>,
}

#[wasm_bindgen]
impl Who {
    /// The project identified (route, key or header), for screening the response under the
    /// same policy; undefined for the default policy or when identification failed.
    #[wasm_bindgen(getter)]
    pub fn project(&self) -> Option<String> {
        self.project.clone()
    }
}

#[wasm_bindgen]
impl Decision {
    /// `true`: forward the request to the origin (adding `headers` to its response);
    /// `false`: answer the client with `status` and `body`.
    #[wasm_bindgen(getter)]
    pub fn forward(&self) -> bool {
        self.reply.is_none()
    }

    /// Status of the answer when not forwarding, else 0.
    #[wasm_bindgen(getter)]
    pub fn status(&self) -> u16 {
        self.reply.as_ref().map_or(0, |r| r.status)
    }

    /// Body of the answer when not forwarding, else empty.
    #[wasm_bindgen(getter)]
    pub fn body(&self) -> Vec<u8> {
        self.reply.as_ref().map(|r| r.body.clone()).unwrap_or_default()
    }

    /// Response headers for a forwarded request, flat: `[name, value, name, value, ...]`.
    #[wasm_bindgen(getter)]
    pub fn headers(&self) -> Vec<String> {
        self.headers.clone()
    }

    /// `clean`, `flagged`, `blocked`, `rejected` or `failed_open`.
    #[wasm_bindgen(getter)]
    pub fn outcome(&self) -> String {
        self.outcome.to_string()
    }

    /// Detector types that detected, sorted.
    #[wasm_bindgen(getter)]
    pub fn detected(&self) -> Vec<String> {
        self.detected.clone()
    }

    /// Mask mode: the rewritten body to forward instead of the original; else `undefined`.
    #[wasm_bindgen(getter, js_name = forwardBody)]
    pub fn forward_body(&self) -> Option<Vec<u8>> {
        self.body.clone()
    }

    /// The screening log record (config `logging`), or `undefined`.
    #[wasm_bindgen(getter, js_name = logRecord)]
    pub fn log_record(&self) -> Option<String> {
        self.log.clone()
    }

    /// Headers of the answer when not forwarding, flat; a `content-type` among them replaces
    /// `application/json` (an `inquiry` reply to a streamed request is an event stream).
    #[wasm_bindgen(getter, js_name = replyHeaders)]
    pub fn reply_headers(&self) -> Vec<String> {
        self.reply_headers.clone()
    }

    /// Tools the response may not call (the project's posture is `scoped` or higher).
    #[wasm_bindgen(getter, js_name = forbiddenTools)]
    pub fn forbidden_tools(&self) -> Vec<String> {
        self.forbidden_tools.clone()
    }

    /// The posture transition this request caused, as a log record, or `undefined`.
    #[wasm_bindgen(getter, js_name = postureRecord)]
    pub fn posture_record(&self) -> Option<String> {
        self.posture_log.clone()
    }
}

impl From<ProxyDecision> for Decision {
    fn from(d: ProxyDecision) -> Decision {
        Decision {
            headers: flat(&d.response_headers),
            reply_headers: flat(&d.reply_headers),
            forbidden_tools: d.forbidden_tools,
            reply: d.reply,
            outcome: d.outcome.as_str(),
            detected: d.detected,
            body: d.body,
            log: None,
            posture_log: None,
        }
    }
}

impl Parapet {
    /// The decision for a request to `path`, with its log record.
    fn decide_logged(&self, d: ProxyDecision, format: Option<parapet_filter::Format>, project: Option<&str>, body: Content<'_>, started: f64, request_id: Option<&str>) -> Decision {
        let log = format.and_then(|f| record(&self.guard, &d.screening(f, Direction::Input, project), body, started, request_id));
        let posture_log = transition_record(&self.guard, d.posture.as_ref(), request_id);
        let mut out = Decision::from(d);
        out.log = log;
        out.posture_log = posture_log;
        out
    }

    /// The posture context of a request now: this isolate's store and clock.
    fn posture_ctx(&self) -> PostureCtx<'_> {
        // `as` from f64 saturates; the clock is never negative.
        PostureCtx { store: &*self.store, now_ms: date_now() as u64 }
    }
}

/// A byte count from JS (a `number`, possibly a huge `Content-Length`): saturating, so a value
/// beyond the address space stays "too large" instead of wrapping around.
fn js_len(len: f64) -> usize {
    // `as` from f64 saturates (NaN -> 0); negative lengths never reach here from the worker.
    len as usize
}

/// The worker asked for a 413 for a body within the limit: a worker bug, answered as one.
fn not_too_large(len: f64) -> ApiError {
    ApiError::new(500, "internal", format!("worker reported a body of {len} bytes as over the limit"))
}

#[wasm_bindgen]
impl Parapet {
    /// Compiles a config (JSON text; empty means `{}`). The error text names the bad field.
    #[wasm_bindgen(constructor)]
    pub fn new(config_json: &str) -> Result<Parapet, JsError> {
        let guard = Guard::new(config_json.as_bytes()).map_err(|e| JsError::new(&e.to_string()))?;
        let store = LocalStore::default();
        for project in guard.posture_projects() {
            parapet_filter::posture::init(&store, project.as_deref()).map_err(|e| JsError::new(&e))?;
        }
        Ok(Parapet { guard: Rc::new(guard), store: Rc::new(store) })
    }

    /// Starts screening the origin's response to a screened API request to `path`; `undefined`
    /// when it is not screened (not 2xx, no body, not an API path). The runtime decodes
    /// compressed bodies itself, so no content encoding is passed.
    #[wasm_bindgen(js_name = startResponse)]
    pub fn start_response(&self, path: &str, status: u16, content_type: Option<String>, project: Option<String>, has_body: bool) -> Option<ResponseScreen> {
        let format = self.guard.api_format(path)?;
        let screen = self.guard.start_response(format, status, content_type.as_deref(), None, project.as_deref(), has_body)?;
        let mut r = ResponseScreen {
            guard: Rc::clone(&self.guard),
            store: Rc::clone(&self.store),
            posture_log: None,
            screen,
            blocked_status: None,
            outcome: None,
            detected: Vec::new(),
            log: None,
            started: date_now(),
        };
        r.note_outcome();
        Some(r)
    }

    /// `POST <guard_path>`: the Lakera-compatible answer (or error) for a body.
    pub fn guard(&self, body: &[u8], project: Option<String>, request_id: Option<String>) -> Reply {
        let ctx = RequestCtx { project: project.as_deref(), request_id: request_id.as_deref() };
        self.guard_logged(body, &ctx, false)
    }

    /// Screens a proxied LLM API request body (the format is the one configured for `path`) and
    /// applies the mode and the fail mode.
    #[wasm_bindgen(js_name = screenRequest)]
    pub fn screen_request(&self, path: &str, body: &[u8], project: Option<String>, request_id: Option<String>) -> Decision {
        let ctx = RequestCtx { project: project.as_deref(), request_id: request_id.as_deref() };
        let started = date_now();
        match self.guard.api_format(path) {
            Some(format) => {
                let d = self.guard.decide_request_governed(format, body, &ctx, Some(&self.posture_ctx()));
                self.decide_logged(d, Some(format), ctx.project, Content::Body(body), started, ctx.request_id)
            }
            None => self.guard.decide_unscreenable(&ApiError::new(404, "not_screened", format!("{path} is not an API path Parapet screens"))).into(),
        }
    }

    /// Picks the project: route (by `route_prefixes` on `path`), then API key (`authorization:
    /// Bearer`, `x-api-key`, `api-key`), then the project header. The key is not kept.
    pub fn identify(
        &self,
        path: &str,
        authorization: Option<String>,
        x_api_key: Option<String>,
        api_key: Option<String>,
        project: Option<String>,
    ) -> Who {
        let c = Caller {
            route: None,
            path,
            authorization: authorization.as_deref(),
            x_api_key: x_api_key.as_deref(),
            api_key: api_key.as_deref(),
            project_header: project.as_deref(),
        };
        match self.guard.identify(&c) {
            Ok(id) => Who { pinned: id.pinned(), project: id.project, error: None },
            Err(e) => Who { project: None, pinned: false, error: Some(e) },
        }
    }

    /// [`Parapet::guard`] for an identified caller. `content_encoding`: the request's header (a
    /// compressed body is refused with 415).
    #[wasm_bindgen(js_name = guardAs)]
    pub fn guard_as(&self, body: &[u8], who: &Who, request_id: Option<String>, content_encoding: Option<String>, work: Option<ModelWork>) -> Reply {
        match work {
            Some(w) => w.precomputed.apply(|| self.guard_now(body, who, request_id, content_encoding)).0,
            None => self.guard_now(body, who, request_id, content_encoding),
        }
    }

    fn guard_now(&self, body: &[u8], who: &Who, request_id: Option<String>, content_encoding: Option<String>) -> Reply {
        if let Some(e) = &who.error {
            return HttpReply::error(e).into();
        }
        if let Err(e) = self.guard.check_encoding(content_encoding.as_deref()) {
            return HttpReply::error(&e).into();
        }
        let ctx = RequestCtx { project: who.project.as_deref(), request_id: request_id.as_deref() };
        self.guard_logged(body, &ctx, who.pinned)
    }

    /// `POST <guard_path>/results` for an identified caller: confidence levels per detector,
    /// no decision, no log record.
    #[wasm_bindgen(js_name = resultsAs)]
    pub fn results_as(&self, body: &[u8], who: &Who, request_id: Option<String>, content_encoding: Option<String>) -> Reply {
        if let Some(e) = &who.error {
            return HttpReply::error(e).into();
        }
        if let Err(e) = self.guard.check_encoding(content_encoding.as_deref()) {
            return HttpReply::error(&e).into();
        }
        let ctx = RequestCtx { project: who.project.as_deref(), request_id: request_id.as_deref() };
        self.guard.guard_results_http(body, &ctx, who.pinned).into()
    }

    /// Is `path` (query ignored) the tuning endpoint `<guard_path>/results`?
    #[wasm_bindgen(js_name = isResultsPath)]
    pub fn is_results_path(&self, path: &str) -> bool {
        self.guard.is_results_path(path)
    }

    fn guard_logged(&self, body: &[u8], ctx: &RequestCtx, pinned: bool) -> Reply {
        let started = date_now();
        let (reply, s, note) = self.guard.guard_exchange_governed(body, ctx, pinned, Some(&self.posture_ctx()));
        let log = record(&self.guard, &s, Content::Body(body), started, ctx.request_id);
        let headers = note.iter().flat_map(|n| [parapet_filter::govern::HEADER_POSTURE.to_string(), n.header()]).collect();
        let posture_log = transition_record(&self.guard, note.as_ref(), ctx.request_id);
        Reply { status: reply.status, body: reply.body, log, headers, posture_log }
    }

    /// `GET <posture_path>`: every project's posture in this isolate.
    pub fn posture(&self) -> Reply {
        self.guard.posture_http(&*self.store, date_now() as u64).into()
    }

    /// Is `path` (query ignored) the posture endpoint?
    #[wasm_bindgen(js_name = isPosturePath)]
    pub fn is_posture_path(&self, path: &str) -> bool {
        self.guard.is_posture_path(path)
    }

    /// The guard-model windows screening this guard body will run, for the worker to run one
    /// at a time ([`ModelWork`]) and hand back to `guardAs`.
    #[wasm_bindgen(js_name = guardWork)]
    pub fn guard_work(&self, body: &[u8], who: &Who) -> ModelWork {
        let ctx = RequestCtx { project: who.project.as_deref(), request_id: None };
        ModelWork::new(if who.error.is_some() { Vec::new() } else { self.guard.guard_model_windows(body, &ctx, who.pinned) })
    }

    /// The guard-model windows screening this API request body will run ([`ModelWork`]).
    #[wasm_bindgen(js_name = requestWork)]
    pub fn request_work(&self, path: &str, body: &[u8], who: &Who) -> ModelWork {
        let windows = match (self.guard.api_format(path), &who.error) {
            (Some(format), None) => self.guard.request_model_windows(format, body, who.project.as_deref()),
            _ => Vec::new(),
        };
        ModelWork::new(windows)
    }

    /// [`Parapet::screen_request`] for an identified caller; `work`: its model windows, already
    /// run ([`ModelWork`]).
    #[wasm_bindgen(js_name = screenRequestAs)]
    pub fn screen_request_as(
        &self,
        path: &str,
        body: &[u8],
        who: &Who,
        request_id: Option<String>,
        content_encoding: Option<String>,
        work: Option<ModelWork>,
    ) -> Decision {
        match work {
            Some(w) => w.precomputed.apply(|| self.screen_request_now(path, body, who, request_id, content_encoding)).0,
            None => self.screen_request_now(path, body, who, request_id, content_encoding),
        }
    }

    fn screen_request_now(&self, path: &str, body: &[u8], who: &Who, request_id: Option<String>, content_encoding: Option<String>) -> Decision {
        if let (None, Err(e)) = (&who.error, self.guard.check_encoding(content_encoding.as_deref())) {
            let d = self.guard.decide_unscreenable_for(who.project.as_deref(), &e);
            return self.decide_logged(d, self.guard.api_format(path), who.project.as_deref(), Content::None, date_now(), request_id.as_deref());
        }
        match &who.error {
            Some(e) => self.guard.decide_unscreenable(e).into(),
            None => self.screen_request(path, body, who.project.clone(), request_id),
        }
    }

    /// [`Parapet::screen_request_too_large`] under the fail mode of the caller's policy.
    #[wasm_bindgen(js_name = screenRequestTooLargeAs)]
    /// `path` (the request's) names the API format in its log record.
    pub fn screen_request_too_large_as(&self, len: f64, who: &Who, path: Option<String>) -> Decision {
        if let Some(e) = &who.error {
            return self.guard.decide_unscreenable(e).into();
        }
        let e = self.guard.check_size(js_len(len)).err().unwrap_or_else(|| not_too_large(len));
        let d = self.guard.decide_unscreenable_for(who.project.as_deref(), &e);
        let format = path.as_deref().and_then(|p| self.guard.api_format(p));
        self.decide_logged(d, format, who.project.as_deref(), Content::None, date_now(), None)
    }

    /// The guard endpoint's answer to a body of `len` bytes that the worker did not read because
    /// it is over `maxBodyBytes`.
    #[wasm_bindgen(js_name = guardTooLarge)]
    pub fn guard_too_large(&self, len: f64) -> Reply {
        match self.guard.check_size(js_len(len)) {
            Err(e) => HttpReply::error(&e).into(),
            Ok(()) => HttpReply::error(&not_too_large(len)).into(),
        }
    }

    /// The decision for an API request body of `len` bytes that the worker did not read because
    /// it is over `maxBodyBytes`: the core's 413 under `fail_mode: closed`, forward under `open`.
    #[wasm_bindgen(js_name = screenRequestTooLarge)]
    pub fn screen_request_too_large(&self, len: f64) -> Decision {
        match self.guard.check_size(js_len(len)) {
            Err(e) => self.guard.decide_unscreenable(&e).into(),
            Ok(()) => self.guard.decide_unscreenable(&not_too_large(len)).into(),
        }
    }

    /// Is `path` (query ignored) the guard endpoint?
    #[wasm_bindgen(js_name = isGuardPath)]
    pub fn is_guard_path(&self, path: &str) -> bool {
        self.guard.is_guard_path(path)
    }

    /// Is `path` (query ignored) a screened LLM API path?
    #[wasm_bindgen(js_name = isApiPath)]
    pub fn is_api_path(&self, path: &str) -> bool {
        self.guard.api_format(path).is_some()
    }

    /// The guard endpoint's path, or `undefined` when disabled.
    #[wasm_bindgen(getter, js_name = guardPath)]
    pub fn guard_path(&self) -> Option<String> {
        self.guard.config().guard_path.clone()
    }

    /// Header naming the project (lower case).
    #[wasm_bindgen(getter, js_name = projectHeader)]
    pub fn project_header(&self) -> String {
        self.guard.config().project_header.clone()
    }

    /// `offload.path` when the config has an `offload` section, else `undefined`.
    #[wasm_bindgen(getter, js_name = offloadPath)]
    pub fn offload_path(&self) -> Option<String> {
        self.guard.config().offload.as_ref().map(|o| o.path.clone())
    }

    /// `offload.timeout_ms` (0 without an `offload` section).
    #[wasm_bindgen(getter, js_name = offloadTimeoutMs)]
    pub fn offload_timeout_ms(&self) -> u32 {
        self.guard.config().offload.as_ref().map_or(0, |o| o.timeout_ms)
    }

    /// `offload.fallback`: `local` or `fail_mode` (`undefined` without an `offload` section).
    #[wasm_bindgen(getter, js_name = offloadFallback)]
    pub fn offload_fallback(&self) -> Option<String> {
        self.guard.config().offload.as_ref().map(|o| match o.fallback {
            parapet_filter::config::OffloadFallback::Local => "local".to_string(),
            parapet_filter::config::OffloadFallback::FailMode => "fail_mode".to_string(),
        })
    }

    /// Does this body go to the scoring service (an `offload` section, and at least
    /// `offload.min_windows` windows)?
    #[wasm_bindgen(js_name = offloads)]
    pub fn offloads(&self, work: &ModelWork) -> bool {
        self.guard.offloads(work.windows.len())
    }

    /// The guard endpoint's answer when the scoring service failed under `fallback: fail_mode`.
    #[wasm_bindgen(js_name = guardOffloadFailedAs)]
    pub fn guard_offload_failed_as(&self, who: &Who, why: &str) -> Reply {
        match &who.error {
            Some(e) => HttpReply::error(e).into(),
            None => HttpReply::error(&parapet_filter::offload::failed(why)).into(),
        }
    }

    /// An API request's decision when the scoring service failed under `fallback: fail_mode`:
    /// unscreenable, so the policy's `fail_mode` decides.
    #[wasm_bindgen(js_name = screenRequestOffloadFailedAs)]
    pub fn screen_request_offload_failed_as(&self, path: &str, who: &Who, why: &str, request_id: Option<String>) -> Decision {
        if let Some(e) = &who.error {
            return self.guard.decide_unscreenable(e).into();
        }
        let d = self.guard.decide_unscreenable_for(who.project.as_deref(), &parapet_filter::offload::failed(why));
        self.decide_logged(d, self.guard.api_format(path), who.project.as_deref(), Content::None, date_now(), request_id.as_deref())
    }

    /// Largest body the core screens; the worker reads at most one byte more.
    #[wasm_bindgen(getter, js_name = maxBodyBytes)]
    pub fn max_body_bytes(&self) -> f64 {
        // At most 32 MiB (checked by the config compiler): exact in an f64.
        self.guard.config().max_body_bytes as f64
    }

    /// `block`, `monitor` or `mask` (the config's; policies and detectors may override it).
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> String {
        match self.guard.config().mode {
            Mode::Block => "block",
            Mode::Monitor => "monitor",
            Mode::Mask => "mask",
        }
        .to_string()
    }

    /// `closed` or `open`.
    #[wasm_bindgen(getter, js_name = failMode)]
    pub fn fail_mode(&self) -> String {
        match self.guard.config().fail_mode {
            FailMode::Closed => "closed",
            FailMode::Open => "open",
        }
        .to_string()
    }

    /// `true` under `fail_mode: open`: what the worker does if the module itself fails (a trap),
    /// when it can no longer ask the core.
    #[wasm_bindgen(getter, js_name = failOpen)]
    pub fn fail_open(&self) -> bool {
        self.guard.config().fail_mode == FailMode::Open
    }
}
