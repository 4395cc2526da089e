//! The host side of the proxy-wasm ABI 0.2.1: every `env.proxy_*` import, over a [`HostState`].
//!
//! Real: logging, time, buffers (request/response body, VM and plugin configuration), header
//! maps, properties, local responses, stream continue/close, effective context, metrics, shared
//! data (shared by every VM started with the same [`SharedData`], as Envoy shares it between the
//! worker VMs of one plugin, with its compare-and-swap tokens) and VM-local queues. Answered without effect (no network at run time): HTTP and
//! gRPC callouts, foreign functions, ticks. A host call never traps: bad pointers answer
//! `InvalidMemoryAccess`, unknown types `NotFound`/`BadArgument`; only a trap inside the
//! module's own allocator (called to hand data back) propagates.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use wasmtime::{Caller, Linker, Memory, ResourceLimiter, TypedFunc};

use crate::abi::{self, buffer, map, status, HeaderPairs, LogLevel, MetricType};

/// Longest log message kept; longer ones are cut (and marked).
pub const MAX_LOG_MESSAGE: usize = 8 * 1024;

/// One `proxy_log` call (or a note from the host itself, `context_id` 0 and `from_host`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub level: LogLevel,
    pub context_id: u32,
    pub message: String,
    pub from_host: bool,
}

/// A metric the module defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub name: String,
    pub kind: MetricType,
    /// Counter total, gauge value, or for a histogram the sum of recorded values.
    pub value: u64,
    /// Histogram: number of recorded values (0 otherwise).
    pub count: u64,
}

/// Time source for `proxy_get_current_time_nanoseconds`. Verdicts never depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Fixed(u64),
}

/// Caps linear memory; remembers whether the cap was hit so a trap can be explained.
pub(crate) struct Limiter {
    pub memory_limit: usize,
    pub hit: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.hit = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// The state of the HTTP stream in flight.
#[derive(Default)]
pub(crate) struct Stream {
    pub context_id: u32,
    pub request_headers: HeaderPairs,
    pub request_trailers: HeaderPairs,
    /// What `HttpRequestBody` shows: the data buffered since the module last continued.
    pub request_body: Vec<u8>,
    /// Set once the response phase starts; Envoy has no response header map before that.
    pub in_response: bool,
    pub response_headers: HeaderPairs,
    pub response_trailers: HeaderPairs,
    pub response_body: Vec<u8>,
    pub local_response: Option<LocalReply>,
    /// `proxy_continue_stream(HttpRequest)` was called.
    pub continued_request: bool,
    /// `proxy_close_stream` was called for the request or the response.
    pub reset: bool,
    /// Per-request properties (`request.path`, ...), plus any the module set.
    pub properties: BTreeMap<String, Vec<u8>>,
    /// A call to the scoring service, answered and waiting to be delivered.
    pub call: Option<CallAnswer>,
    /// The call answer being delivered (`proxy_on_http_call_response`).
    pub call_answer: Option<CallAnswer>,
}

/// What the scoring service (the native core, here) answered a module's call.
#[derive(Debug, Clone)]
pub(crate) struct CallAnswer {
    pub token: u32,
    pub headers: HeaderPairs,
    pub body: Vec<u8>,
}

/// Answers a module's score request the way `parapet serve` does, with the native core.
fn score_natively(body: &[u8]) -> (u16, Vec<u8>) {
    let scored = parapet_filter::offload::parse_request(body).and_then(|windows| {
        let model = parapet_filter::model::shared().map_err(|e| parapet_filter::ApiError::new(500, "model_unavailable", e))?;
        let logits = windows.iter().map(|w| model.infer(w)).collect::<Result<Vec<_>, _>>().map_err(|e| parapet_filter::ApiError::new(500, "model_failed", e))?;
        Ok(parapet_filter::offload::response_body(&logits))
    });
    match scored {
        Ok(bytes) => (200, bytes),
        Err(e) => (e.status, e.to_json()),
    }
}

/// `proxy_send_local_response` as the module called it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalReply {
    pub status: u16,
    pub details: String,
    pub headers: HeaderPairs,
    pub body: Vec<u8>,
    pub grpc_status: i32,
}

/// A shared-data value and its compare-and-swap token.
type Entry = (Vec<u8>, u32);

/// Shared data: key -> value and token. Clones share one map.
#[derive(Debug, Clone, Default)]
pub struct SharedData(Arc<Mutex<BTreeMap<Vec<u8>, Entry>>>);

impl SharedData {
    /// The value under `key` and its token (a poisoned lock reads as absent).
    pub fn get(&self, key: &[u8]) -> Option<Entry> {
        self.0.lock().ok().and_then(|m| m.get(key).cloned())
    }

    /// Envoy's rule: token 0 writes unconditionally, another token only if it is still the
    /// key's. Returns the proxy-wasm status.
    pub fn set(&self, key: Vec<u8>, value: Vec<u8>, cas: u32) -> i32 {
        let Ok(mut data) = self.0.lock() else { return status::INTERNAL_FAILURE };
        let current = data.get(&key).map_or(0, |(_, c)| *c);
        if cas != 0 && cas != current {
            return status::CAS_MISMATCH;
        }
        data.insert(key, (value, current.wrapping_add(1).max(1)));
        status::OK
    }
}

pub(crate) struct HostState {
    pub limiter: Limiter,
    pub memory: Option<Memory>,
    pub malloc: Option<TypedFunc<i32, i32>>,
    pub clock: Clock,
    pub log_level: LogLevel,
    pub max_logs: usize,
    pub logs: Vec<LogRecord>,
    pub logs_dropped: usize,
    pub vm_configuration: Vec<u8>,
    pub plugin_configuration: Vec<u8>,
    pub root_context_id: u32,
    pub effective_context_id: u32,
    /// The HTTP stream in flight, if any.
    pub stream: Option<Stream>,
    /// VM-wide properties set by the module.
    pub vm_properties: BTreeMap<String, Vec<u8>>,
    /// Properties the host answers (`parapet_host`).
    pub host_properties: BTreeMap<String, Vec<u8>>,
    pub metrics: Vec<Metric>,
    pub shared_data: SharedData,
    pub queues: Vec<(String, VecDeque<Vec<u8>>)>,
    pub tick_period_ms: u32,
}

impl HostState {
    pub fn new(memory_limit: usize, clock: Clock, log_level: LogLevel, max_logs: usize, vm_configuration: Vec<u8>, plugin_configuration: Vec<u8>) -> HostState {
        HostState {
            limiter: Limiter { memory_limit, hit: false },
            memory: None,
            malloc: None,
            clock,
            log_level,
            max_logs,
            logs: Vec::new(),
            logs_dropped: 0,
            vm_configuration,
            plugin_configuration,
            root_context_id: 0,
            effective_context_id: 0,
            stream: None,
            vm_properties: BTreeMap::new(),
            host_properties: BTreeMap::new(),
            metrics: Vec::new(),
            shared_data: SharedData::default(),
            queues: Vec::new(),
            tick_period_ms: 0,
        }
    }

    pub fn host_log(&mut self, level: LogLevel, message: String) {
        self.push_log(LogRecord { level, context_id: 0, message, from_host: true });
    }

    fn push_log(&mut self, rec: LogRecord) {
        if rec.level < self.log_level {
            return;
        }
        if self.logs.len() >= self.max_logs {
            self.logs_dropped += 1;
            return;
        }
        self.logs.push(rec);
    }

    fn header_map(&mut self, map_type: i32) -> Result<&mut HeaderPairs, i32> {
        let Some(s) = self.stream.as_mut() else { return Err(status::BAD_ARGUMENT) };
        match map_type {
            map::HTTP_REQUEST_HEADERS => Ok(&mut s.request_headers),
            map::HTTP_REQUEST_TRAILERS => Ok(&mut s.request_trailers),
            map::HTTP_RESPONSE_HEADERS if s.in_response => Ok(&mut s.response_headers),
            map::HTTP_RESPONSE_TRAILERS if s.in_response => Ok(&mut s.response_trailers),
            map::HTTP_RESPONSE_HEADERS | map::HTTP_RESPONSE_TRAILERS => Err(status::BAD_ARGUMENT),
            map::HTTP_CALL_RESPONSE_HEADERS => s.call_answer.as_mut().map(|a| &mut a.headers).ok_or(status::NOT_FOUND),
            _ => Err(status::NOT_FOUND),
        }
    }

    fn property(&self, path: &str) -> Option<Vec<u8>> {
        if let Some(v) = self.stream.as_ref().and_then(|s| s.properties.get(path)) {
            return Some(v.clone());
        }
        if let Some(v) = self.vm_properties.get(path).or_else(|| self.host_properties.get(path)) {
            return Some(v.clone());
        }
        match path {
            "plugin_name" => Some(b"parapet".to_vec()),
            "plugin_root_id" | "plugin_vm_id" => Some(Vec::new()),
            _ => None,
        }
    }

    fn now_nanos(&self) -> u64 {
        match self.clock {
            Clock::Fixed(n) => n,
            Clock::System => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
                .unwrap_or(0),
        }
    }
}

type C<'a> = Caller<'a, HostState>;
type R = wasmtime::Result<i32>;

fn u(v: i32) -> usize {
    v as u32 as usize
}

fn read(c: &C<'_>, ptr: i32, len: i32) -> Option<Vec<u8>> {
    let mem = c.data().memory?;
    let data = mem.data(c);
    let start = u(ptr);
    data.get(start..start.checked_add(u(len))?).map(<[u8]>::to_vec)
}

fn write(c: &mut C<'_>, ptr: i32, bytes: &[u8]) -> bool {
    let Some(mem) = c.data().memory else { return false };
    mem.write(c, u(ptr), bytes).is_ok()
}

fn write_u32(c: &mut C<'_>, ptr: i32, v: u32) -> bool {
    write(c, ptr, &v.to_le_bytes())
}

/// Hands `data` to the module: allocates with its allocator, copies, and stores the pointer and
/// size at `ptr_ptr` / `size_ptr`. Empty data is returned as a null pointer and size 0.
fn copy_out(c: &mut C<'_>, data: &[u8], ptr_ptr: i32, size_ptr: i32) -> R {
    if data.is_empty() {
        return Ok(if write_u32(c, ptr_ptr, 0) && write_u32(c, size_ptr, 0) { status::OK } else { status::INVALID_MEMORY_ACCESS });
    }
    let Some(malloc) = c.data().malloc.clone() else { return Ok(status::INTERNAL_FAILURE) };
    let Ok(len) = i32::try_from(data.len()) else { return Ok(status::INTERNAL_FAILURE) };
    let p = malloc.call(&mut *c, len)?;
    if p == 0 {
        return Ok(status::INTERNAL_FAILURE);
    }
    if !write(c, p, data) || !write_u32(c, ptr_ptr, p as u32) || !write_u32(c, size_ptr, len as u32) {
        return Ok(status::INVALID_MEMORY_ACCESS);
    }
    Ok(status::OK)
}

fn lower(bytes: Vec<u8>) -> Vec<u8> {
    bytes.to_ascii_lowercase()
}

fn buffer_slice(buf: &[u8], start: i32, max: i32) -> Result<Vec<u8>, i32> {
    let start = u(start);
    if start > buf.len() {
        return Err(status::BAD_ARGUMENT);
    }
    let end = start.saturating_add(u(max)).min(buf.len());
    Ok(buf[start..end].to_vec())
}

macro_rules! try_status {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(code) => return Ok(code),
        }
    };
}

macro_rules! mem {
    ($e:expr) => {
        match $e {
            Some(v) => v,
            None => return Ok(status::INVALID_MEMORY_ACCESS),
        }
    };
}

/// Every host call this module defines, by import name.
pub const PROVIDED: &[&str] = &[
    "proxy_log",
    "proxy_get_log_level",
    "proxy_get_current_time_nanoseconds",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_add_header_map_value",
    "proxy_get_property",
    "proxy_set_property",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_send_local_response",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_send",
    "proxy_grpc_cancel",
    "proxy_grpc_close",
    "proxy_get_status",
    "proxy_set_effective_context",
    "proxy_call_foreign_function",
    "proxy_done",
    "proxy_define_metric",
    "proxy_get_metric",
    "proxy_record_metric",
    "proxy_increment_metric",
    // ABI 0.2.0 names some SDKs still import.
    "proxy_get_configuration",
    "proxy_continue_request",
    "proxy_continue_response",
    "proxy_clear_route_cache",
];

/// Defines every host call in [`PROVIDED`] in the `env` namespace.
pub(crate) fn link(l: &mut Linker<HostState>) -> wasmtime::Result<&'static [&'static str]> {
    const E: &str = "env";

    // --- logging and time ---
    l.func_wrap(E, "proxy_log", |mut c: C<'_>, level: i32, ptr: i32, size: i32| -> R {
        let Some(level) = LogLevel::from_i32(level) else { return Ok(status::BAD_ARGUMENT) };
        let bytes = mem!(read(&c, ptr, size));
        let mut message = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_LOG_MESSAGE)]).into_owned();
        if bytes.len() > MAX_LOG_MESSAGE {
            message.push_str(" [...]");
        }
        let context_id = c.data().effective_context_id;
        c.data_mut().push_log(LogRecord { level, context_id, message, from_host: false });
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_get_log_level", |mut c: C<'_>, ret: i32| -> R {
        let level = c.data().log_level as u32;
        Ok(if write_u32(&mut c, ret, level) { status::OK } else { status::INVALID_MEMORY_ACCESS })
    })?;
    l.func_wrap(E, "proxy_get_current_time_nanoseconds", |mut c: C<'_>, ret: i32| -> R {
        let now = c.data().now_nanos();
        Ok(if write(&mut c, ret, &now.to_le_bytes()) { status::OK } else { status::INVALID_MEMORY_ACCESS })
    })?;
    l.func_wrap(E, "proxy_set_tick_period_milliseconds", |mut c: C<'_>, period: i32| -> R {
        // Recorded; this host never calls proxy_on_tick (requests are driven synchronously).
        c.data_mut().tick_period_ms = period as u32;
        Ok(status::OK)
    })?;

    // --- buffers ---
    l.func_wrap(E, "proxy_get_buffer_bytes", |mut c: C<'_>, kind: i32, start: i32, max: i32, rptr: i32, rsize: i32| -> R {
        let st = c.data();
        let data = match kind {
            buffer::HTTP_REQUEST_BODY => try_status!(st.stream.as_ref().ok_or(status::NOT_FOUND).and_then(|s| buffer_slice(&s.request_body, start, max))),
            buffer::HTTP_RESPONSE_BODY => try_status!(st.stream.as_ref().ok_or(status::NOT_FOUND).and_then(|s| buffer_slice(&s.response_body, start, max))),
            buffer::HTTP_CALL_RESPONSE_BODY => {
                try_status!(st.stream.as_ref().and_then(|s| s.call_answer.as_ref()).ok_or(status::NOT_FOUND).and_then(|a| buffer_slice(&a.body, start, max)))
            }
            buffer::VM_CONFIGURATION => try_status!(buffer_slice(&st.vm_configuration, start, max)),
            buffer::PLUGIN_CONFIGURATION => try_status!(buffer_slice(&st.plugin_configuration, start, max)),
            _ => return Ok(status::NOT_FOUND),
        };
        copy_out(&mut c, &data, rptr, rsize)
    })?;
    l.func_wrap(E, "proxy_set_buffer_bytes", |mut c: C<'_>, kind: i32, start: i32, size: i32, ptr: i32, len: i32| -> R {
        let data = mem!(read(&c, ptr, len));
        let Some(s) = c.data_mut().stream.as_mut() else { return Ok(status::NOT_FOUND) };
        let buf = match kind {
            buffer::HTTP_REQUEST_BODY => &mut s.request_body,
            buffer::HTTP_RESPONSE_BODY => &mut s.response_body,
            _ => return Ok(status::NOT_FOUND),
        };
        let from = u(start).min(buf.len());
        let to = from.saturating_add(u(size)).min(buf.len());
        buf.splice(from..to, data);
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_get_configuration", |mut c: C<'_>, rptr: i32, rsize: i32| -> R {
        let data = c.data().plugin_configuration.clone();
        copy_out(&mut c, &data, rptr, rsize)
    })?;

    // --- header maps ---
    l.func_wrap(E, "proxy_get_header_map_pairs", |mut c: C<'_>, kind: i32, rptr: i32, rsize: i32| -> R {
        let bytes = abi::serialize_map(try_status!(c.data_mut().header_map(kind)));
        copy_out(&mut c, &bytes, rptr, rsize)
    })?;
    l.func_wrap(E, "proxy_set_header_map_pairs", |mut c: C<'_>, kind: i32, ptr: i32, size: i32| -> R {
        let bytes = mem!(read(&c, ptr, size));
        let Some(pairs) = abi::deserialize_map(&bytes) else { return Ok(status::SERIALIZATION_FAILURE) };
        let m = try_status!(c.data_mut().header_map(kind));
        *m = pairs.into_iter().map(|(k, v)| (lower(k), v)).collect();
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_get_header_map_value", |mut c: C<'_>, kind: i32, kptr: i32, ksize: i32, rptr: i32, rsize: i32| -> R {
        let key = lower(mem!(read(&c, kptr, ksize)));
        let m = try_status!(c.data_mut().header_map(kind));
        let Some(value) = m.iter().find(|(k, _)| *k == key).map(|(_, v)| v.clone()) else { return Ok(status::NOT_FOUND) };
        copy_out(&mut c, &value, rptr, rsize)
    })?;
    l.func_wrap(E, "proxy_remove_header_map_value", |mut c: C<'_>, kind: i32, kptr: i32, ksize: i32| -> R {
        let key = lower(mem!(read(&c, kptr, ksize)));
        try_status!(c.data_mut().header_map(kind)).retain(|(k, _)| *k != key);
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_replace_header_map_value", |mut c: C<'_>, kind: i32, kptr: i32, ksize: i32, vptr: i32, vsize: i32| -> R {
        let key = lower(mem!(read(&c, kptr, ksize)));
        let value = mem!(read(&c, vptr, vsize));
        let m = try_status!(c.data_mut().header_map(kind));
        match m.iter().position(|(k, _)| *k == key) {
            Some(i) => {
                m[i].1 = value;
                let mut n = 0;
                m.retain(|(k, _)| {
                    n += usize::from(*k == key);
                    *k != key || n == 1
                });
            }
            None => m.push((key, value)),
        }
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_add_header_map_value", |mut c: C<'_>, kind: i32, kptr: i32, ksize: i32, vptr: i32, vsize: i32| -> R {
        let key = lower(mem!(read(&c, kptr, ksize)));
        let value = mem!(read(&c, vptr, vsize));
        try_status!(c.data_mut().header_map(kind)).push((key, value));
        Ok(status::OK)
    })?;

    // --- properties ---
    l.func_wrap(E, "proxy_get_property", |mut c: C<'_>, pptr: i32, psize: i32, rptr: i32, rsize: i32| -> R {
        let path = abi::split_property_path(&mem!(read(&c, pptr, psize))).join(".");
        let Some(value) = c.data().property(&path) else { return Ok(status::NOT_FOUND) };
        copy_out(&mut c, &value, rptr, rsize)
    })?;
    l.func_wrap(E, "proxy_set_property", |mut c: C<'_>, pptr: i32, psize: i32, vptr: i32, vsize: i32| -> R {
        let path = abi::split_property_path(&mem!(read(&c, pptr, psize))).join(".");
        let value = mem!(read(&c, vptr, vsize));
        let st = c.data_mut();
        match st.stream.as_mut() {
            Some(s) => s.properties.insert(path, value),
            None => st.vm_properties.insert(path, value),
        };
        Ok(status::OK)
    })?;

    // --- shared data (every VM with the same SharedData) and queues (this VM only) ---
    l.func_wrap(E, "proxy_get_shared_data", |mut c: C<'_>, kptr: i32, ksize: i32, rptr: i32, rsize: i32, rcas: i32| -> R {
        let key = mem!(read(&c, kptr, ksize));
        let Some((value, cas)) = c.data().shared_data.get(&key) else { return Ok(status::NOT_FOUND) };
        if !write_u32(&mut c, rcas, cas) {
            return Ok(status::INVALID_MEMORY_ACCESS);
        }
        copy_out(&mut c, &value, rptr, rsize)
    })?;
    l.func_wrap(E, "proxy_set_shared_data", |c: C<'_>, kptr: i32, ksize: i32, vptr: i32, vsize: i32, cas: i32| -> R {
        let key = mem!(read(&c, kptr, ksize));
        let value = mem!(read(&c, vptr, vsize));
        Ok(c.data().shared_data.set(key, value, cas as u32))
    })?;
    l.func_wrap(E, "proxy_register_shared_queue", |mut c: C<'_>, nptr: i32, nsize: i32, rid: i32| -> R {
        let name = String::from_utf8_lossy(&mem!(read(&c, nptr, nsize))).into_owned();
        let queues = &mut c.data_mut().queues;
        let id = match queues.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                queues.push((name, VecDeque::new()));
                queues.len() - 1
            }
        };
        Ok(if write_u32(&mut c, rid, id as u32 + 1) { status::OK } else { status::INVALID_MEMORY_ACCESS })
    })?;
    l.func_wrap(E, "proxy_resolve_shared_queue", |mut c: C<'_>, vptr: i32, vsize: i32, nptr: i32, nsize: i32, rid: i32| -> R {
        mem!(read(&c, vptr, vsize));
        let name = String::from_utf8_lossy(&mem!(read(&c, nptr, nsize))).into_owned();
        let Some(i) = c.data().queues.iter().position(|(n, _)| *n == name) else { return Ok(status::NOT_FOUND) };
        Ok(if write_u32(&mut c, rid, i as u32 + 1) { status::OK } else { status::INVALID_MEMORY_ACCESS })
    })?;
    l.func_wrap(E, "proxy_dequeue_shared_queue", |mut c: C<'_>, qid: i32, rptr: i32, rsize: i32| -> R {
        let i = u(qid).wrapping_sub(1);
        let Some((_, q)) = c.data_mut().queues.get_mut(i) else { return Ok(status::NOT_FOUND) };
        let Some(item) = q.pop_front() else { return Ok(status::EMPTY) };
        copy_out(&mut c, &item, rptr, rsize)
    })?;
    l.func_wrap(E, "proxy_enqueue_shared_queue", |mut c: C<'_>, qid: i32, vptr: i32, vsize: i32| -> R {
        let value = mem!(read(&c, vptr, vsize));
        let i = u(qid).wrapping_sub(1);
        let Some((_, q)) = c.data_mut().queues.get_mut(i) else { return Ok(status::NOT_FOUND) };
        // No proxy_on_queue_ready: this host has no event loop; the module can dequeue itself.
        q.push_back(value);
        Ok(status::OK)
    })?;

    // --- stream control and local responses ---
    l.func_wrap(E, "proxy_continue_stream", |mut c: C<'_>, kind: i32| -> R {
        if let Some(s) = c.data_mut().stream.as_mut() {
            if kind == abi::stream::HTTP_REQUEST {
                s.continued_request = true;
            }
        }
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_continue_request", |mut c: C<'_>| -> R {
        if let Some(s) = c.data_mut().stream.as_mut() {
            s.continued_request = true;
        }
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_continue_response", |_c: C<'_>| -> R { Ok(status::OK) })?;
    l.func_wrap(E, "proxy_clear_route_cache", |_c: C<'_>| -> R { Ok(status::OK) })?;
    l.func_wrap(E, "proxy_close_stream", |mut c: C<'_>, kind: i32| -> R {
        if let Some(s) = c.data_mut().stream.as_mut() {
            if kind == abi::stream::HTTP_REQUEST || kind == abi::stream::HTTP_RESPONSE {
                s.reset = true;
            }
        }
        Ok(status::OK)
    })?;
    l.func_wrap(
        E,
        "proxy_send_local_response",
        |mut c: C<'_>, code: i32, dptr: i32, dsize: i32, bptr: i32, bsize: i32, hptr: i32, hsize: i32, grpc: i32| -> R {
            let details = String::from_utf8_lossy(&mem!(read(&c, dptr, dsize))).into_owned();
            let body = mem!(read(&c, bptr, bsize));
            let Some(headers) = abi::deserialize_map(&mem!(read(&c, hptr, hsize))) else { return Ok(status::SERIALIZATION_FAILURE) };
            let Ok(code) = u16::try_from(code) else { return Ok(status::BAD_ARGUMENT) };
            if !(100..=599).contains(&code) {
                return Ok(status::BAD_ARGUMENT);
            }
            let st = c.data_mut();
            let Some(s) = st.stream.as_mut() else { return Ok(status::BAD_ARGUMENT) };
            if s.local_response.is_some() {
                // Envoy sends the first local reply; a second one is a module bug worth seeing.
                st.host_log(LogLevel::Warn, format!("second proxy_send_local_response ({code}) ignored"));
                return Ok(status::OK);
            }
            let headers = headers.into_iter().map(|(k, v)| (lower(k), v)).collect();
            s.local_response = Some(LocalReply { status: code, details, headers, body, grpc_status: grpc });
            Ok(status::OK)
        },
    )?;

    // --- callouts: no network at run time ---
    // A call to the scoring service's path (config `offload`) is answered by the native core, as
    // `parapet serve` would; this host makes no other outbound call.
    l.func_wrap(
        E,
        "proxy_http_call",
        |mut c: C<'_>, _up: i32, _up_len: i32, hptr: i32, hsize: i32, bptr: i32, bsize: i32, _tp: i32, _ts: i32, _timeout: i32, rtoken: i32| -> R {
            let Some(headers) = abi::deserialize_map(&mem!(read(&c, hptr, hsize))) else { return Ok(status::SERIALIZATION_FAILURE) };
            let is_score = headers.iter().any(|(k, v)| k == b":path" && v == parapet_filter::offload::SCORE_PATH.as_bytes());
            if !is_score || c.data().stream.is_none() {
                c.data_mut().host_log(LogLevel::Warn, "proxy_http_call refused: this host makes no outbound calls".into());
                return Ok(status::INTERNAL_FAILURE);
            }
            let body = if bsize > 0 { mem!(read(&c, bptr, bsize)) } else { Vec::new() };
            let (code, answer) = score_natively(&body);
            let token = 1 + c.data().stream.as_ref().map_or(0, |s| s.context_id);
            if let Some(s) = c.data_mut().stream.as_mut() {
                s.call = Some(CallAnswer { token, headers: vec![(b":status".to_vec(), code.to_string().into_bytes())], body: answer });
            }
            Ok(if write_u32(&mut c, rtoken, token) { status::OK } else { status::INVALID_MEMORY_ACCESS })
        },
    )?;
    l.func_wrap(
        E,
        "proxy_grpc_call",
        |mut c: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| -> R {
            c.data_mut().host_log(LogLevel::Warn, "proxy_grpc_call refused: this host makes no outbound calls".into());
            Ok(status::INTERNAL_FAILURE)
        },
    )?;
    l.func_wrap(E, "proxy_grpc_stream", |mut c: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| -> R {
        c.data_mut().host_log(LogLevel::Warn, "proxy_grpc_stream refused: this host makes no outbound calls".into());
        Ok(status::INTERNAL_FAILURE)
    })?;
    l.func_wrap(E, "proxy_grpc_send", |_c: C<'_>, _: i32, _: i32, _: i32, _: i32| -> R { Ok(status::NOT_FOUND) })?;
    l.func_wrap(E, "proxy_grpc_cancel", |_c: C<'_>, _: i32| -> R { Ok(status::NOT_FOUND) })?;
    l.func_wrap(E, "proxy_grpc_close", |_c: C<'_>, _: i32| -> R { Ok(status::NOT_FOUND) })?;
    l.func_wrap(E, "proxy_get_status", |mut c: C<'_>, rcode: i32, rptr: i32, rsize: i32| -> R {
        // No callouts ever complete here: report code 0 with no message.
        Ok(if write_u32(&mut c, rcode, 0) && write_u32(&mut c, rptr, 0) && write_u32(&mut c, rsize, 0) {
            status::OK
        } else {
            status::INVALID_MEMORY_ACCESS
        })
    })?;
    l.func_wrap(E, "proxy_call_foreign_function", |_c: C<'_>, _: i32, _: i32, _: i32, _: i32, _: i32, _: i32| -> R {
        Ok(status::NOT_FOUND)
    })?;

    // --- contexts ---
    l.func_wrap(E, "proxy_set_effective_context", |mut c: C<'_>, id: i32| -> R {
        let id = id as u32;
        let st = c.data_mut();
        let known = id == st.root_context_id || st.stream.as_ref().is_some_and(|s| s.context_id == id);
        if !known {
            return Ok(status::BAD_ARGUMENT);
        }
        st.effective_context_id = id;
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_done", |_c: C<'_>| -> R { Ok(status::OK) })?;

    // --- metrics ---
    l.func_wrap(E, "proxy_define_metric", |mut c: C<'_>, kind: i32, nptr: i32, nsize: i32, rid: i32| -> R {
        let Some(kind) = MetricType::from_i32(kind) else { return Ok(status::BAD_ARGUMENT) };
        let name = String::from_utf8_lossy(&mem!(read(&c, nptr, nsize))).into_owned();
        let metrics = &mut c.data_mut().metrics;
        let id = match metrics.iter().position(|m| m.name == name && m.kind == kind) {
            Some(i) => i,
            None => {
                metrics.push(Metric { name, kind, value: 0, count: 0 });
                metrics.len() - 1
            }
        };
        Ok(if write_u32(&mut c, rid, id as u32 + 1) { status::OK } else { status::INVALID_MEMORY_ACCESS })
    })?;
    l.func_wrap(E, "proxy_get_metric", |mut c: C<'_>, id: i32, ret: i32| -> R {
        let Some(m) = c.data().metrics.get(u(id).wrapping_sub(1)) else { return Ok(status::NOT_FOUND) };
        if m.kind == MetricType::Histogram {
            return Ok(status::BAD_ARGUMENT);
        }
        let v = m.value;
        Ok(if write(&mut c, ret, &v.to_le_bytes()) { status::OK } else { status::INVALID_MEMORY_ACCESS })
    })?;
    l.func_wrap(E, "proxy_record_metric", |mut c: C<'_>, id: i32, value: i64| -> R {
        let Some(m) = c.data_mut().metrics.get_mut(u(id).wrapping_sub(1)) else { return Ok(status::NOT_FOUND) };
        let value = value as u64;
        match m.kind {
            MetricType::Counter => m.value = m.value.wrapping_add(value),
            MetricType::Gauge => m.value = value,
            MetricType::Histogram => {
                m.value = m.value.saturating_add(value);
                m.count += 1;
            }
        }
        Ok(status::OK)
    })?;
    l.func_wrap(E, "proxy_increment_metric", |mut c: C<'_>, id: i32, offset: i64| -> R {
        let Some(m) = c.data_mut().metrics.get_mut(u(id).wrapping_sub(1)) else { return Ok(status::NOT_FOUND) };
        match m.kind {
            MetricType::Counter if offset < 0 => return Ok(status::BAD_ARGUMENT),
            MetricType::Counter | MetricType::Gauge => {
                let v = i128::from(m.value) + i128::from(offset);
                m.value = u64::try_from(v.max(0)).unwrap_or(u64::MAX);
            }
            MetricType::Histogram => return Ok(status::BAD_ARGUMENT),
        }
        Ok(status::OK)
    })?;

    Ok(PROVIDED)
}
