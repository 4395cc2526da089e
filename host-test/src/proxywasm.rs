//! One proxy-wasm VM on wasmtime, driven the way Envoy drives an HTTP filter.
//!
//! Lifecycle: `_initialize` (or `_start`) if exported, `proxy_on_context_create(root)`,
//! `proxy_on_vm_start`, `proxy_on_configure`. Per request a fresh HTTP context id:
//! `proxy_on_context_create`, `proxy_on_request_headers`, `proxy_on_request_body` (one call
//! with `end_of_stream`, or chunked like Envoy's buffering when `body_chunk_size` is set), then
//! the response phase — `proxy_on_response_headers`/`_body` over the local reply the module sent
//! (Envoy runs a local reply through the encoder filters, this one included) or over a
//! simulated upstream response when the module let the request through — and finally
//! `proxy_on_done`, `proxy_on_log`, `proxy_on_delete`.
//!
//! Limits: every request (and the start-up sequence) runs on a fuel budget — about one unit per
//! wasm instruction, deterministic, independent of machine load — and linear memory is capped.
//! A trap (module panic, fuel or memory exhausted) becomes a 500 JSON reply; the VM is then
//! dropped and a fresh one is started for the next request, as Envoy would restart a failed VM.

use std::sync::Arc;

use anyhow::{anyhow, Context as _, Result};
use wasmtime::{Instance, Store, Trap, TypedFunc};

use crate::abi::{action, HeaderPairs, LogLevel};
use crate::hostcalls::{Clock, HostState, LocalReply, LogRecord, Metric, SharedData, Stream};
use crate::runtime::Runtime;

/// Limits and knobs of a VM.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Fuel (about one unit per executed wasm instruction) for one request, all callbacks
    /// included; the start-up sequence gets the same budget. Default 20 billion.
    pub fuel: u64,
    /// Largest linear memory, in bytes. Default 512 MiB.
    pub memory_limit: usize,
    /// Log records below this level are not kept (also what `proxy_get_log_level` reports).
    pub log_level: LogLevel,
    /// At most this many log records are kept per request (and for start-up).
    pub max_logs: usize,
    pub clock: Clock,
    /// Deliver the request body in chunks of this size (Envoy-style buffering); `None`: one call.
    pub body_chunk_size: Option<usize>,
    /// `VmConfiguration` buffer passed to `proxy_on_vm_start`.
    pub vm_configuration: Vec<u8>,
    /// The `parapet_host` property: the host name the module writes into its log records.
    pub host_name: Option<String>,
    /// Shared data; VMs whose options are clones of one another share it (as Envoy's worker
    /// VMs of one plugin do): the posture state lives there.
    pub shared_data: SharedData,
}

pub const DEFAULT_FUEL: u64 = 200_000_000_000;
pub const DEFAULT_MEMORY_LIMIT: usize = 512 << 20;

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            fuel: DEFAULT_FUEL,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            log_level: LogLevel::Info,
            max_logs: 1000,
            clock: Clock::System,
            body_chunk_size: None,
            vm_configuration: Vec::new(),
            host_name: None,
            shared_data: SharedData::default(),
        }
    }
}

/// An HTTP request as Envoy would hand it to the filter.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    /// Path and query, e.g. `/v2/guard`.
    pub path: String,
    /// Regular headers (names are lower-cased by the host; `host` becomes `:authority`).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `false`: the client sent more than `body` (the host stopped reading); the body is
    /// delivered without `end_of_stream`.
    pub body_complete: bool,
    /// What the upstream answers if the module lets the request through. Default: 200, no body.
    pub upstream_response: Option<UpstreamResponse>,
}

impl HttpRequest {
    pub fn new(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HttpRequest {
        HttpRequest {
            method: method.to_string(),
            path: path.to_string(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            body: body.to_vec(),
            body_complete: true,
            upstream_response: None,
        }
    }

    /// `POST path` with a JSON body and its `content-length`, as a client library sends it.
    pub fn post_json(path: &str, extra_headers: &[(&str, &str)], body: &[u8]) -> HttpRequest {
        let mut headers = vec![("content-type".to_string(), "application/json".to_string()), ("content-length".to_string(), body.len().to_string())];
        headers.extend(extra_headers.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        HttpRequest { headers, ..HttpRequest::new("POST", path, &[], body) }
    }
}

/// A forwarded request as the upstream receives it (after the module's changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamRequest {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct UpstreamResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// How the request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// The module answered with `proxy_send_local_response`.
    Local,
    /// The module let the request through to the (simulated) upstream.
    Forwarded,
    /// The module paused and never answered nor continued (Envoy would wait, then time out);
    /// also the normal end when `body_complete` is false and the module waits for more body.
    Paused,
    /// The module trapped, ran out of fuel or memory, or the VM could not be started.
    Failed { code: &'static str, message: String },
}

/// What a request produced.
#[derive(Debug, Clone)]
pub struct HostResponse {
    pub disposition: Disposition,
    /// The local reply as the module sent it (before the response phase could touch it).
    pub local_response: Option<LocalReply>,
    /// Status, headers (no `:status`) and body the client receives: the local reply or the
    /// upstream response after the module's response callbacks, or the host's 500 JSON on
    /// failure. For `Paused` the host has no answer: status 0, nothing else.
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Response headers the module added or changed during the response phase.
    pub added_response_headers: Vec<(String, String)>,
    /// Forwarded requests: headers and body as the upstream received them.
    pub upstream_request: Option<UpstreamRequest>,
    /// The module closed (reset) the stream.
    pub reset: bool,
    pub logs: Vec<LogRecord>,
    /// Fuel the request used (start-up excluded).
    pub fuel_used: u64,
    /// Turns the host gave the paused request: root ticks (a body screened a slice per tick)
    /// and scoring-service answers (a body offloaded).
    pub ticks: u32,
}

impl HostResponse {
    pub fn forwarded(&self) -> bool {
        self.disposition == Disposition::Forwarded
    }

    fn failed(code: &'static str, message: String, logs: Vec<LogRecord>) -> HostResponse {
        let body = parapet_filter::ApiError::new(500, code, message.clone()).to_json();
        HostResponse {
            disposition: Disposition::Failed { code, message },
            local_response: None,
            status: 500,
            headers: vec![("content-type".into(), "application/json".into())],
            body,
            added_response_headers: Vec::new(),
            upstream_request: None,
            reset: false,
            logs,
            fuel_used: 0,
            ticks: 0,
        }
    }
}

/// The module refused its configuration (`proxy_on_configure` returned false).
#[derive(Debug, Clone)]
pub struct ConfigRejected {
    /// The module's error-level log lines from `proxy_on_configure`.
    pub messages: Vec<String>,
}

impl std::fmt::Display for ConfigRejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the filter module rejected the configuration")?;
        if !self.messages.is_empty() {
            write!(f, ": {}", self.messages.join("; "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigRejected {}

/// `proxy_on_http_call_response(context_id, token, headers, body_size, trailers)`.
type CallResponseArgs = (i32, i32, i32, i32, i32);

struct Exports {
    on_context_create: TypedFunc<(i32, i32), ()>,
    on_request_headers: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_request_body: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_response_headers: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_response_body: Option<TypedFunc<(i32, i32, i32), i32>>,
    on_done: Option<TypedFunc<i32, i32>>,
    on_tick: Option<TypedFunc<i32, ()>>,
    on_http_call_response: Option<TypedFunc<CallResponseArgs, ()>>,
    on_log: Option<TypedFunc<i32, ()>>,
    on_delete: Option<TypedFunc<i32, ()>>,
}

struct Vm {
    store: Store<HostState>,
    exports: Exports,
    next_context_id: u32,
}

const ROOT_CONTEXT_ID: u32 = 1;
/// Most root ticks one paused request may take (a 100k-character document is about 120 model
/// windows, one or more per tick).
const MAX_TICKS: u32 = 10_000;

fn typed<P, R>(store: &mut Store<HostState>, inst: &Instance, name: &str) -> Result<Option<TypedFunc<P, R>>>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    if inst.get_func(&mut *store, name).is_none() {
        return Ok(None);
    }
    inst.get_typed_func::<P, R>(&mut *store, name).map(Some).map_err(|e| anyhow!("the module's `{name}` has an unexpected type: {e}"))
}

fn required<P, R>(store: &mut Store<HostState>, inst: &Instance, name: &str) -> Result<TypedFunc<P, R>>
where
    P: wasmtime::WasmParams,
    R: wasmtime::WasmResults,
{
    typed(store, inst, name)?.ok_or_else(|| anyhow!("the module does not export `{name}`"))
}

fn len_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Explains a wasm failure in one line, and names it with an error code.
fn describe(e: &wasmtime::Error, st: &HostState, fuel: u64) -> (&'static str, String) {
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => ("module_fuel_exhausted", format!("the filter module used its whole fuel budget ({fuel} units) for this request")),
        _ if st.limiter.hit => (
            "module_memory_limit",
            format!("the filter module needed more than its memory limit of {} MiB", st.limiter.memory_limit >> 20),
        ),
        trap => {
            let what = match trap {
                Some(t) => format!("wasm trap: {t}"),
                None => e.to_string().lines().next().unwrap_or("unknown error").to_string(),
            };
            // The SDK's panic hook logs the panic message at critical level just before aborting.
            match st.logs.iter().rev().find(|r| r.level == LogLevel::Critical && !r.from_host) {
                Some(r) => ("module_trap", format!("the filter module failed ({what}): {}", r.message)),
                None => ("module_trap", format!("the filter module failed ({what})")),
            }
        }
    }
}

fn pairs_to_strings(pairs: &HeaderPairs) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned())).collect()
}

impl Vm {
    fn start(rt: &Runtime, config: &[u8], opts: &HostOptions, metrics: Vec<Metric>) -> Result<(Vm, Vec<LogRecord>)> {
        let mut st = HostState::new(opts.memory_limit, opts.clock, opts.log_level, opts.max_logs, opts.vm_configuration.clone(), config.to_vec());
        if let Some(h) = &opts.host_name {
            st.host_properties.insert("parapet_host".into(), h.clone().into_bytes());
        }
        st.metrics = metrics;
        st.shared_data = opts.shared_data.clone();
        st.root_context_id = ROOT_CONTEXT_ID;
        let mut store = Store::new(&rt.engine, st);
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(opts.fuel).map_err(anyhow::Error::from)?;
        match Vm::start_in(rt, &mut store, config, opts) {
            Ok(exports) => {
                let logs = std::mem::take(&mut store.data_mut().logs);
                Ok((Vm { store, exports, next_context_id: ROOT_CONTEXT_ID + 1 }, logs))
            }
            Err(e) => {
                let logs = std::mem::take(&mut store.data_mut().logs);
                let detail = logs.iter().filter(|r| r.level >= LogLevel::Warn).map(|r| r.message.as_str()).collect::<Vec<_>>();
                if e.downcast_ref::<ConfigRejected>().is_some() {
                    return Err(e);
                }
                if detail.is_empty() {
                    Err(e)
                } else {
                    Err(e.context(format!("module log: {}", detail.join("; "))))
                }
            }
        }
    }

    fn start_in(rt: &Runtime, store: &mut Store<HostState>, config: &[u8], opts: &HostOptions) -> Result<Exports> {
        let fail = |store: &Store<HostState>, what: &str, e: wasmtime::Error| {
            let (_, msg) = describe(&e, store.data(), opts.fuel);
            anyhow!("{what}: {msg}")
        };
        let inst = rt.pre.instantiate(&mut *store).map_err(|e| fail(store, "cannot instantiate the module", e))?;
        let memory = inst.get_memory(&mut *store, "memory").ok_or_else(|| anyhow!("the module exports no memory"))?;
        let malloc = required::<i32, i32>(store, &inst, rt.allocator)?;
        store.data_mut().memory = Some(memory);
        store.data_mut().malloc = Some(malloc);
        for init in ["_initialize", "_start"] {
            if let Some(f) = typed::<(), ()>(store, &inst, init)? {
                f.call(&mut *store, ()).map_err(|e| fail(store, init, e))?;
                break;
            }
        }
        let on_context_create = required::<(i32, i32), ()>(store, &inst, "proxy_on_context_create")?;
        let on_vm_start = required::<(i32, i32), i32>(store, &inst, "proxy_on_vm_start")?;
        let on_configure = required::<(i32, i32), i32>(store, &inst, "proxy_on_configure")?;
        let exports = Exports {
            on_context_create: on_context_create.clone(),
            on_request_headers: typed(store, &inst, "proxy_on_request_headers")?,
            on_request_body: typed(store, &inst, "proxy_on_request_body")?,
            on_response_headers: typed(store, &inst, "proxy_on_response_headers")?,
            on_response_body: typed(store, &inst, "proxy_on_response_body")?,
            on_done: typed(store, &inst, "proxy_on_done")?,
            on_tick: typed(store, &inst, "proxy_on_tick")?,
            on_http_call_response: typed(store, &inst, "proxy_on_http_call_response")?,
            on_log: typed(store, &inst, "proxy_on_log")?,
            on_delete: typed(store, &inst, "proxy_on_delete")?,
        };
        let root = ROOT_CONTEXT_ID as i32;
        store.data_mut().effective_context_id = ROOT_CONTEXT_ID;
        on_context_create.call(&mut *store, (root, 0)).map_err(|e| fail(store, "proxy_on_context_create(root)", e))?;
        let vm_len = len_i32(opts.vm_configuration.len());
        if on_vm_start.call(&mut *store, (root, vm_len)).map_err(|e| fail(store, "proxy_on_vm_start", e))? == 0 {
            return Err(anyhow!("the module's proxy_on_vm_start returned false"));
        }
        if on_configure.call(&mut *store, (root, len_i32(config.len()))).map_err(|e| fail(store, "proxy_on_configure", e))? == 0 {
            let messages = store.data().logs.iter().filter(|r| r.level >= LogLevel::Error).map(|r| r.message.clone()).collect();
            return Err(ConfigRejected { messages }.into());
        }
        Ok(exports)
    }

    /// Runs one request. `Err` means the VM failed and must be dropped.
    fn request(&mut self, req: &HttpRequest, opts: &HostOptions) -> std::result::Result<HostResponse, (&'static str, String)> {
        let store = &mut self.store;
        if let Err(e) = store.set_fuel(opts.fuel) {
            return Err(("module_trap", format!("cannot set fuel: {e}")));
        }
        let ctx = self.next_context_id;
        self.next_context_id = self.next_context_id.wrapping_add(1).max(ROOT_CONTEXT_ID + 1);
        let result = Vm::drive(store, &self.exports, ctx, req, opts);
        let used = opts.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        match result {
            Ok(mut resp) => {
                resp.fuel_used = used;
                Ok(resp)
            }
            Err(e) => Err(describe(&e, store.data(), opts.fuel)),
        }
    }

    fn drive(store: &mut Store<HostState>, ex: &Exports, ctx: u32, req: &HttpRequest, opts: &HostOptions) -> wasmtime::Result<HostResponse> {
        let id = ctx as i32;
        let mut headers: HeaderPairs = Vec::with_capacity(req.headers.len() + 4);
        let authority = req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("host")).map_or("localhost", |(_, v)| v.as_str());
        headers.push((b":authority".to_vec(), authority.as_bytes().to_vec()));
        headers.push((b":path".to_vec(), req.path.as_bytes().to_vec()));
        headers.push((b":method".to_vec(), req.method.as_bytes().to_vec()));
        headers.push((b":scheme".to_vec(), b"http".to_vec()));
        for (k, v) in &req.headers {
            if !k.eq_ignore_ascii_case("host") {
                headers.push((k.to_ascii_lowercase().into_bytes(), v.as_bytes().to_vec()));
            }
        }
        let mut props = std::collections::BTreeMap::new();
        let url_path = req.path.split('?').next().unwrap_or(&req.path);
        props.insert("request.path".to_string(), req.path.as_bytes().to_vec());
        props.insert("request.url_path".to_string(), url_path.as_bytes().to_vec());
        props.insert("request.method".to_string(), req.method.as_bytes().to_vec());
        props.insert("request.host".to_string(), authority.as_bytes().to_vec());
        props.insert("request.scheme".to_string(), b"http".to_vec());
        props.insert("request.protocol".to_string(), b"HTTP/1.1".to_vec());
        if let Some((_, v)) = req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-request-id")) {
            props.insert("request.id".to_string(), v.as_bytes().to_vec());
        }
        let num_headers = len_i32(headers.len());
        {
            let st = store.data_mut();
            st.stream = Some(Stream { context_id: ctx, request_headers: headers, properties: props, ..Stream::default() });
            st.effective_context_id = ctx;
            st.limiter.hit = false;
        }
        ex.on_context_create.call(&mut *store, (id, ROOT_CONTEXT_ID as i32))?;

        let has_local = |store: &Store<HostState>| store.data().stream.as_ref().is_some_and(|s| s.local_response.is_some());
        let continued = |store: &Store<HostState>| store.data().stream.as_ref().is_some_and(|s| s.continued_request);
        let body_eos = req.body.is_empty() && req.body_complete;
        let mut forwarded_body = Vec::new();
        let mut forwarded = false;
        let mut ticks = 0u32;
        let headers_action = match &ex.on_request_headers {
            Some(f) => f.call(&mut *store, (id, num_headers, i32::from(body_eos)))?,
            None => action::CONTINUE,
        };
        if !has_local(store) {
            if headers_action != action::CONTINUE && !continued(store) {
                // Envoy 1.40 turns a paused header phase into StopAllIteration: it stalls.
            } else if body_eos {
                forwarded = true;
            } else {
                let chunk = opts.body_chunk_size.filter(|n| *n > 0).unwrap_or(req.body.len().max(1));
                let pieces: Vec<&[u8]> = if req.body.is_empty() { vec![&[][..]] } else { req.body.chunks(chunk).collect() };
                let last_index = pieces.len() - 1;
                for (i, piece) in pieces.into_iter().enumerate() {
                    let eos = i == last_index && req.body_complete;
                    let size = {
                        let Some(s) = store.data_mut().stream.as_mut() else { break };
                        s.request_body.extend_from_slice(piece);
                        s.request_body.len()
                    };
                    let a = match &ex.on_request_body {
                        Some(f) => f.call(&mut *store, (id, len_i32(size), i32::from(eos)))?,
                        None => action::CONTINUE,
                    };
                    if has_local(store) {
                        break;
                    }
                    if a == action::CONTINUE || continued(store) {
                        if let Some(s) = store.data_mut().stream.as_mut() {
                            forwarded_body.append(&mut s.request_body);
                        }
                        forwarded = eos;
                    } else {
                        forwarded = false;
                    }
                }
                // A body paused at its end, waiting for the scoring service's answer (offload) or
                // with a tick asked for (cooperative screening): Envoy would deliver the answer,
                // or call the root's tick until the module answers or resumes the stream; here
                // nothing else is waiting, so the answer comes at once and the ticks back to back.
                let pending_call = |store: &Store<HostState>| store.data().stream.as_ref().is_some_and(|s| s.call.is_some());
                while !forwarded
                    && !has_local(store)
                    && !continued(store)
                    && req.body_complete
                    && (pending_call(store) || store.data().tick_period_ms > 0)
                    && ticks < MAX_TICKS
                {
                    if pending_call(store) {
                        let Some(f) = &ex.on_http_call_response else { break };
                        let answer = store.data_mut().stream.as_mut().and_then(|s| s.call.take());
                        let Some(answer) = answer else { break };
                        let (token, body_len) = (answer.token as i32, len_i32(answer.body.len()));
                        if let Some(s) = store.data_mut().stream.as_mut() {
                            s.call_answer = Some(answer);
                        }
                        store.data_mut().effective_context_id = ctx;
                        f.call(&mut *store, (id, token, 1, body_len, 0))?;
                        if let Some(s) = store.data_mut().stream.as_mut() {
                            s.call_answer = None;
                        }
                    } else {
                        let Some(f) = &ex.on_tick else { break };
                        store.data_mut().effective_context_id = ROOT_CONTEXT_ID;
                        f.call(&mut *store, ROOT_CONTEXT_ID as i32)?;
                    }
                    ticks += 1;
                    if continued(store) && !has_local(store) {
                        if let Some(s) = store.data_mut().stream.as_mut() {
                            forwarded_body.append(&mut s.request_body);
                        }
                        forwarded = true;
                    }
                }
            }
        }

        let local = store.data().stream.as_ref().and_then(|s| s.local_response.clone());
        let (disposition, response) = match &local {
            Some(l) => (Disposition::Local, Some((l.status, l.headers.clone(), l.body.clone()))),
            None if forwarded => {
                let up = req.upstream_response.clone().unwrap_or(UpstreamResponse { status: 200, headers: Vec::new(), body: Vec::new() });
                let h = up.headers.iter().map(|(k, v)| (k.to_ascii_lowercase().into_bytes(), v.as_bytes().to_vec())).collect();
                (Disposition::Forwarded, Some((up.status, h, up.body)))
            }
            None => (Disposition::Paused, None),
        };
        let upstream_request = (disposition == Disposition::Forwarded).then(|| {
            let headers = store.data().stream.as_ref().map(|s| pairs_to_strings(&s.request_headers)).unwrap_or_default();
            UpstreamRequest { headers, body: forwarded_body }
        });

        let mut out = HostResponse {
            disposition,
            local_response: local,
            status: 0,
            headers: Vec::new(),
            body: Vec::new(),
            added_response_headers: Vec::new(),
            upstream_request,
            reset: false,
            logs: Vec::new(),
            fuel_used: 0,
            ticks,
        };
        if let Some((status, rheaders, rbody)) = response {
            let mut all: HeaderPairs = vec![(b":status".to_vec(), status.to_string().into_bytes())];
            all.extend(rheaders);
            let before = all.clone();
            let n = len_i32(all.len());
            if let Some(s) = store.data_mut().stream.as_mut() {
                s.in_response = true;
                s.response_headers = all;
                s.response_body = rbody.clone();
            }
            let eos = rbody.is_empty();
            if let Some(f) = &ex.on_response_headers {
                f.call(&mut *store, (id, n, i32::from(eos)))?;
            }
            if !eos {
                if let Some(f) = &ex.on_response_body {
                    f.call(&mut *store, (id, len_i32(rbody.len()), 1))?;
                }
            }
            let st = store.data();
            if let Some(s) = st.stream.as_ref() {
                let after = &s.response_headers;
                out.status = after
                    .iter()
                    .find(|(k, _)| k == b":status")
                    .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse().ok())
                    .unwrap_or(status);
                out.headers = pairs_to_strings(&after.iter().filter(|(k, _)| k != b":status").cloned().collect());
                out.added_response_headers = pairs_to_strings(&after.iter().filter(|p| p.0 != b":status" && !before.contains(p)).cloned().collect());
                out.body = s.response_body.clone();
            }
        }
        out.reset = store.data().stream.as_ref().is_some_and(|s| s.reset);

        if let Some(f) = &ex.on_done {
            f.call(&mut *store, id)?;
        }
        if let Some(f) = &ex.on_log {
            f.call(&mut *store, id)?;
        }
        if let Some(f) = &ex.on_delete {
            f.call(&mut *store, id)?;
        }
        let st = store.data_mut();
        st.stream = None;
        st.effective_context_id = ROOT_CONTEXT_ID;
        out.logs = std::mem::take(&mut st.logs);
        Ok(out)
    }
}

/// A proxy-wasm VM running one filter configuration. Not shared between threads: give each
/// worker its own (they can share one [`Runtime`]).
pub struct Filter {
    rt: Arc<Runtime>,
    config: Vec<u8>,
    opts: HostOptions,
    vm: Option<Vm>,
    /// Metrics carried over from a VM that failed.
    saved_metrics: Vec<Metric>,
    startup_logs: Vec<LogRecord>,
    restarts: u64,
}

impl Filter {
    /// Compiles `wasm` (no cache) and starts a VM configured with `config_json`.
    pub fn new(wasm: &[u8], config_json: &[u8]) -> Result<Filter> {
        let rt = Arc::new(Runtime::new(wasm, None)?);
        Filter::with_runtime(rt, config_json, HostOptions::default())
    }

    /// Starts a VM of an already compiled module. Fails if the module rejects the config
    /// (the error downcasts to [`ConfigRejected`]) or traps while starting.
    pub fn with_runtime(rt: Arc<Runtime>, config_json: &[u8], opts: HostOptions) -> Result<Filter> {
        let (vm, startup_logs) = Vm::start(&rt, config_json, &opts, Vec::new()).context("cannot start the filter module")?;
        Ok(Filter { rt, config: config_json.to_vec(), opts, vm: Some(vm), saved_metrics: Vec::new(), startup_logs, restarts: 0 })
    }

    /// Log records from start-up (`on_vm_start`, `on_configure`); taken once.
    pub fn take_startup_logs(&mut self) -> Vec<LogRecord> {
        std::mem::take(&mut self.startup_logs)
    }

    /// Metrics the module defined, with their current values.
    pub fn metrics(&self) -> Vec<Metric> {
        match &self.vm {
            Some(vm) => vm.store.data().metrics.clone(),
            None => self.saved_metrics.clone(),
        }
    }

    /// The VM's linear memory in bytes. Wasm memory only grows, so this is the high-water mark
    /// of every request so far (0 while no VM runs).
    pub fn memory_bytes(&self) -> usize {
        match &self.vm {
            Some(vm) => vm.store.data().memory.map_or(0, |m| m.data_size(&vm.store)),
            None => 0,
        }
    }

    /// VMs started after a failure.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    pub fn options(&self) -> &HostOptions {
        &self.opts
    }

    /// Convenience form of [`Filter::request`].
    pub fn http_request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> HostResponse {
        self.request(&HttpRequest::new(method, path, headers, body))
    }

    /// Runs one request through the module. Never panics: a failure is a 500 JSON response.
    pub fn request(&mut self, req: &HttpRequest) -> HostResponse {
        if self.vm.is_none() {
            match Vm::start(&self.rt, &self.config, &self.opts, std::mem::take(&mut self.saved_metrics)) {
                Ok((vm, _logs)) => {
                    self.restarts += 1;
                    self.vm = Some(vm);
                }
                Err(e) => return HostResponse::failed("module_unavailable", format!("cannot restart the filter module: {e:#}"), Vec::new()),
            }
        }
        let Some(vm) = self.vm.as_mut() else {
            return HostResponse::failed("module_unavailable", "the filter module is not running".into(), Vec::new());
        };
        match vm.request(req, &self.opts) {
            Ok(resp) => resp,
            Err((code, message)) => {
                let mut logs = std::mem::take(&mut vm.store.data_mut().logs);
                logs.push(LogRecord { level: LogLevel::Error, context_id: 0, message: format!("{code}: {message}"), from_host: true });
                self.saved_metrics = vm.store.data().metrics.clone();
                self.vm = None;
                HostResponse::failed(code, message, logs)
            }
        }
    }
}
