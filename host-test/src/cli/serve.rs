//! `parapet serve`: the guard API over HTTP/1.1 and HTTP/2 (cleartext), answered by the module.
//!
//! HTTP itself is hyper's: hyper-util's auto builder tells an HTTP/1 request from the HTTP/2
//! connection preface (prior knowledge), and hyper parses, frames and limits heads and bodies.
//! This module owns the routes and their error bodies, and the server's life cycle: a cap on
//! open connections, a header-read timeout, an idle timeout that no trickle of bytes can
//! extend, a body-read timeout, and a graceful stop on SIGTERM or SIGINT that lets requests in
//! flight finish. Guard requests go over a bounded channel to a fixed pool of threads, each
//! owning one VM; the VMs share one shared-data store (as Envoy's worker VMs do), which holds
//! each project's threat posture.

use std::convert::Infallible;
use std::io::Write as _;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use parapet_filter::ApiError;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::{CliError, CliResult, Flags, Global, Setup};
use crate::proxywasm::{Disposition, HostResponse, HttpRequest};

/// Largest request head: HTTP/1 read buffer while parsing a head, HTTP/2 header list.
const MAX_HEAD: usize = 64 * 1024;
/// Most header fields in an HTTP/1 request head.
const MAX_HEADERS: usize = 100;
/// Most concurrent HTTP/2 streams on one connection.
const H2_MAX_STREAMS: u32 = 64;
/// After answering without reading a body, what is still read and dropped so that closing the
/// connection does not reset it before the client has read the answer.
const DRAIN_BYTES: usize = 8 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);
/// Connections over the cap that still get a 503 (each for at most `REFUSE_TIME`); beyond
/// that they are closed at once.
const REFUSE_AT_ONCE: usize = 64;
const REFUSE_TIME: Duration = Duration::from_secs(5);

/// The server's limits (flags of `parapet serve`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    /// A new connection must deliver a whole request head within this.
    pub header_timeout: Duration,
    /// A connection with no request in flight is closed after this.
    pub idle_timeout: Duration,
    /// A request body must arrive within this.
    pub body_timeout: Duration,
    /// On SIGTERM, requests in flight get this long to finish.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

struct Job {
    req: HttpRequest,
    reply: oneshot::Sender<HostResponse>,
}

struct Shared {
    setup: Setup,
    guard_path: String,
    /// `GET` here: every project's posture, answered by the module.
    posture_path: Option<String>,
    max_body: usize,
    jobs: mpsc::Sender<Job>,
    limits: Limits,
    /// Threads one score request's windows are spread over.
    score_threads: usize,
}

/// Largest score request read: `offload::MAX_WINDOWS` windows of token ids as JSON.
const MAX_SCORE_BODY: usize = 16 << 20;

fn seconds(flags: &Flags, name: &str, default: Duration) -> CliResult<Duration> {
    match flags.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 3600.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| CliError::usage(format!("{name}: expected seconds, more than 0 and at most 3600, got {v:?}"))),
    }
}

fn limits_of(flags: &Flags) -> CliResult<Limits> {
    let d = Limits::default();
    let max_connections = match flags.get("--max-connections") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=65_536).contains(n))
            .ok_or_else(|| CliError::usage(format!("--max-connections: expected 1..65536, got {v:?}")))?,
        None => d.max_connections,
    };
    Ok(Limits {
        max_connections,
        header_timeout: seconds(flags, "--header-timeout", d.header_timeout)?,
        idle_timeout: seconds(flags, "--idle-timeout", d.idle_timeout)?,
        body_timeout: seconds(flags, "--body-timeout", d.body_timeout)?,
        drain_timeout: seconds(flags, "--drain-timeout", d.drain_timeout)?,
    })
}

pub fn run(global: &Global, flags: &Flags) -> CliResult<ExitCode> {
    if let Some(p) = flags.positionals.first() {
        return Err(CliError::usage(format!("serve takes no arguments (got {p:?}); see `parapet serve --help`")));
    }
    let addr = flags.get("--addr").unwrap_or("127.0.0.1:8080");
    let workers = match flags.get("--workers") {
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| CliError::usage(format!("--workers: expected 1..64, got {v:?}")))?,
        None => std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(1, 8),
    };
    let limits = limits_of(flags)?;
    let score_threads = match flags.get("--score-threads") {
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=256).contains(n)).ok_or_else(|| CliError::usage(format!("--score-threads: expected 1..256, got {v:?}")))?,
        None => std::thread::available_parallelism().map_or(2, |n| n.get()),
    };
    // The scoring service's model, native: loaded now rather than by the first score request.
    parapet_filter::model::shared().map_err(CliError::setup)?;
    let mut setup = Setup::new(global, flags.get("--config"), None)?;
    if let Some(path) = flags.get("--log") {
        setup.log_to(path, "serve")?;
    }
    let guard_path = setup.guard_path()?;
    let max_body = setup.config.max_body_bytes;

    let mut filters = Vec::with_capacity(workers);
    for i in 0..workers {
        filters.push(setup.filter(i == 0)?);
    }
    let listener = std::net::TcpListener::bind(addr).map_err(|e| CliError::setup(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| CliError::setup(format!("cannot read the listening address: {e}")))?;
    listener.set_nonblocking(true).map_err(|e| CliError::setup(format!("cannot set up the listener: {e}")))?;

    let (tx, rx) = mpsc::channel::<Job>(workers * 4);
    let rx = Arc::new(Mutex::new(rx));
    for filter in filters {
        let rx = Arc::clone(&rx);
        std::thread::Builder::new()
            .name("parapet-vm".into())
            .spawn(move || worker(filter, &rx))
            .map_err(|e| CliError::setup(format!("cannot start a worker thread: {e}")))?;
    }
    // HTTP work is light next to the VMs', which have their own threads.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("parapet-http")
        .enable_all()
        .build()
        .map_err(|e| CliError::setup(format!("cannot start the HTTP runtime: {e}")))?;
    let posture_path = setup.config.posture_path();
    let shared = Arc::new(Shared { setup, guard_path, posture_path, max_body, jobs: tx, limits, score_threads });

    let info = shared.setup.runtime.info();
    println!(
        "parapet: listening on http://{local} (POST {}, GET {}, POST {}, GET /healthz; HTTP/1.1 and HTTP/2; {workers} workers; module {} loaded in {} ms{})",
        shared.guard_path,
        shared.posture_path.as_deref().unwrap_or("-"),
        parapet_filter::offload::SCORE_PATH,
        shared.setup.module_label,
        info.load_time.as_millis(),
        if info.cache_hit { " from cache" } else { "" }
    );
    std::io::stdout().flush().ok();

    let code = rt.block_on(serve(listener, shared))?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(code)
}

fn worker(mut filter: crate::proxywasm::Filter, rx: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(mut guard) => guard.blocking_recv(),
            Err(_) => return,
        };
        let Some(job) = job else { return };
        let resp = filter.request(&job.req);
        // The client may have gone away; nothing to do then.
        job.reply.send(resp).ok();
    }
}

fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(MAX_HEAD).unwrap_or(u32::MAX))
        .max_concurrent_streams(H2_MAX_STREAMS);
    b
}

/// Resolves with the name of the first stop signal.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            },
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}

async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>) -> CliResult<ExitCode> {
    let listener = TcpListener::from_std(listener).map_err(|e| CliError::setup(format!("cannot set up the listener: {e}")))?;
    let limits = shared.limits;
    let builder = http_builder(&limits);
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(REFUSE_AT_ONCE));
    let mut stop = std::pin::pin!(stop_signal());
    let signal = loop {
        tokio::select! {
            name = &mut stop => break name,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors and the like: do not spin.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                stream.set_nodelay(true).ok();
                match Arc::clone(&slots).try_acquire_owned() {
                    Ok(permit) => {
                        let state = Arc::new(ConnState::new());
                        let service = {
                            let (shared, state) = (Arc::clone(&shared), Arc::clone(&state));
                            service_fn(move |req| {
                                let (shared, guard) = (Arc::clone(&shared), InFlight::start(&state));
                                async move {
                                    let resp = handle(req, &shared).await;
                                    drop(guard);
                                    Ok::<_, Infallible>(resp)
                                }
                            })
                        };
                        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
                        tokio::spawn(async move {
                            tokio::select! {
                                _ = conn => {}
                                // Dropping the connection closes it.
                                () = watchdog(&state, &limits) => {}
                            }
                            drop(permit);
                        });
                    }
                    Err(_) => refuse(stream, &refusals),
                }
            }
        }
    };
    drop(listener);
    println!("parapet: {signal}: stopped listening; finishing requests in flight (at most {} s)", limits.drain_timeout.as_secs_f64());
    std::io::stdout().flush().ok();
    match tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await {
        Ok(()) => println!("parapet: stopped"),
        Err(_) => println!("parapet: stopped; connections still open after {} s were closed", limits.drain_timeout.as_secs_f64()),
    }
    std::io::stdout().flush().ok();
    Ok(ExitCode::SUCCESS)
}

/// A connection over the cap: one 503 JSON answer, then close.
fn refuse(stream: TcpStream, refusals: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(refusals).try_acquire_owned() else { return };
    tokio::spawn(async move {
        let service = service_fn(|req: Request<Incoming>| async move {
            let h1 = req.version() < Version::HTTP_2;
            let (status, headers, body) = error(503, "overloaded", "too many open connections");
            Ok::<_, Infallible>(response(status, &headers, body, true, h1))
        });
        let mut b = auto::Builder::new(TokioExecutor::new());
        b.http1().keep_alive(false).timer(TokioTimer::new()).header_read_timeout(REFUSE_TIME);
        tokio::time::timeout(REFUSE_TIME, b.serve_connection(TokioIo::new(stream), service)).await.ok();
        drop(permit);
    });
}

/// A connection's requests in flight and when it last had none.
struct ConnState {
    in_flight: AtomicUsize,
    served: AtomicBool,
    quiet_since: Mutex<Instant>,
}

impl ConnState {
    fn new() -> ConnState {
        ConnState { in_flight: AtomicUsize::new(0), served: AtomicBool::new(false), quiet_since: Mutex::new(Instant::now()) }
    }

    fn quiet_since(&self) -> Instant {
        self.quiet_since.lock().map_or_else(|p| *p.into_inner(), |g| *g)
    }
}

/// Marks a request in flight on its connection until dropped (also when hyper drops the
/// request's future because the client went away).
struct InFlight(Arc<ConnState>);

impl InFlight {
    fn start(state: &Arc<ConnState>) -> InFlight {
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(Arc::clone(state))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let now = Instant::now();
        match self.0.quiet_since.lock() {
            Ok(mut g) => *g = now,
            Err(p) => *p.into_inner() = now,
        }
        self.0.served.store(true, Ordering::SeqCst);
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Resolves when the connection has had no request in flight for the header timeout (before
/// its first request) or the idle timeout (after one). It counts requests, not bytes, so a
/// client that trickles a head (HTTP/1 or HTTP/2, where hyper has no header timer) or
/// nothing at all cannot hold the connection.
async fn watchdog(state: &ConnState, limits: &Limits) {
    loop {
        let limit = if state.served.load(Ordering::SeqCst) { limits.idle_timeout } else { limits.header_timeout };
        if state.in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(limit).await;
            continue;
        }
        let deadline = state.quiet_since() + limit;
        if Instant::now() >= deadline {
            if state.in_flight.load(Ordering::SeqCst) == 0 {
                return;
            }
            continue;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }
}

type Reply = (u16, Vec<(String, String)>, Vec<u8>);

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

fn error(status: u16, code: &'static str, message: impl Into<String>) -> Reply {
    (status, json_headers(), ApiError::new(status, code, message).to_json())
}

/// The hyper response for a reply. Hop-by-hop and malformed headers from the module are not
/// copied; `close` asks an HTTP/1 client to close (HTTP/2 resets an unread request stream).
fn response(status: u16, headers: &[(String, String)], body: Vec<u8>, close: bool, h1: bool) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = resp.headers_mut();
    for (k, v) in headers {
        let hop = ["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "proxy-connection"].iter().any(|h| k.eq_ignore_ascii_case(h));
        if hop || k.starts_with(':') {
            continue;
        }
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            map.append(name, value);
        }
    }
    if close && h1 {
        map.insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let h1 = req.version() < Version::HTTP_2;
    let ((status, headers, body), close) = exchange(req, shared).await;
    response(status, &headers, body, close, h1)
}

/// Reads at most `limit + 1` body bytes: `(data, complete)`, `complete` false when the client
/// sent more than `limit` (the rest is left unread).
async fn read_body(body: &mut Incoming, limit: usize) -> Result<(Vec<u8>, bool), String> {
    let mut data = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("cannot read the request body: {e}"))?;
        if let Ok(chunk) = frame.into_data() {
            let room = (limit + 1).saturating_sub(data.len());
            data.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if data.len() > limit {
                return Ok((data, false));
            }
        }
    }
    Ok((data, true))
}

/// Reads and drops what the client is still sending (bounded in bytes and time).
async fn drain(body: &mut Incoming) {
    let read = async {
        let mut total = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            total += frame.data_ref().map_or(0, Bytes::len);
            if total >= DRAIN_BYTES {
                break;
            }
        }
    };
    tokio::time::timeout(DRAIN_TIME, read).await.ok();
}

/// Answers one request. The flag says the connection must close (body left unread).
/// `POST /v1/parapet/score`: a proxy's model windows, scored by the native core in parallel.
async fn score_route(method: &str, body: &mut Incoming, has_body: bool, shared: &Shared) -> (Reply, bool) {
    if method != "POST" {
        let (s, mut h, b) = error(405, "method_not_allowed", format!("{} accepts POST only", parapet_filter::offload::SCORE_PATH));
        h.push(("allow".into(), "POST".into()));
        return ((s, h, b), has_body);
    }
    let data = match tokio::time::timeout(shared.limits.body_timeout, read_body(body, MAX_SCORE_BODY)).await {
        Err(_) => return (error(400, "bad_request", "the request body did not arrive in time"), true),
        Ok(Err(message)) => return (error(400, "bad_request", message), true),
        Ok(Ok((_, false))) => {
            drain(body).await;
            return (error(413, "body_too_large", format!("a score request is at most {MAX_SCORE_BODY} bytes")), true);
        }
        Ok(Ok((data, true))) => data,
    };
    let threads = shared.score_threads;
    match tokio::task::spawn_blocking(move || score(&data, threads)).await {
        Ok(Ok(bytes)) => ((200, json_headers(), bytes), false),
        Ok(Err(e)) => ((e.status, json_headers(), e.to_json()), false),
        Err(_) => (error(500, "model_failed", "a scoring thread failed"), false),
    }
}

/// Runs the windows of a score request on up to `threads` threads (each window is independent
/// and costs the same), in request order.
fn score(body: &[u8], threads: usize) -> Result<Vec<u8>, parapet_filter::ApiError> {
    use parapet_filter::ApiError;
    let windows = parapet_filter::offload::parse_request(body)?;
    let model = parapet_filter::model::shared().map_err(|e| ApiError::new(500, "model_unavailable", e))?;
    let mut logits = vec![[0f32; 7]; windows.len()];
    let per = windows.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let running: Vec<_> = windows
            .chunks(per)
            .zip(logits.chunks_mut(per))
            .map(|(ws, out)| {
                let model = &model;
                s.spawn(move || ws.iter().zip(out.iter_mut()).try_for_each(|(w, o)| model.infer(w).map(|l| *o = l)))
            })
            .collect();
        running.into_iter().try_for_each(|t| t.join().map_err(|_| "a scoring thread panicked".to_string())?)
    })
    .map_err(|e| ApiError::new(500, "model_failed", e))?;
    Ok(parapet_filter::offload::response_body(&logits))
}

async fn exchange(req: Request<Incoming>, shared: &Shared) -> (Reply, bool) {
    let (parts, mut body) = req.into_parts();
    let method = parts.method.as_str().to_string();
    let target = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string());
    let path = parts.uri.path().to_string();
    let has_body = !body.is_end_stream();

    let mut headers = Vec::with_capacity(parts.headers.len() + 1);
    // HTTP/2 carries the host as `:authority`; the module reads `host`.
    if !parts.headers.contains_key(hyper::header::HOST) {
        if let Some(a) = parts.uri.authority() {
            headers.push(("host".to_string(), a.as_str().to_string()));
        }
    }
    for (name, value) in &parts.headers {
        let Ok(v) = std::str::from_utf8(value.as_bytes()) else {
            return (error(400, "bad_request", format!("header {name} is not UTF-8")), has_body);
        };
        headers.push((name.as_str().to_string(), v.trim().to_string()));
    }
    let header = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());

    // Routes the host answers never read a body: close the connection if one was announced.
    if path == "/healthz" {
        if method == "GET" || method == "HEAD" {
            return ((200, json_headers(), br#"{"status":"ok"}"#.to_vec()), has_body);
        }
        let (s, mut h, b) = error(405, "method_not_allowed", "/healthz accepts GET only");
        h.push(("allow".into(), "GET, HEAD".into()));
        return ((s, h, b), has_body);
    }
    if path == parapet_filter::offload::SCORE_PATH {
        return score_route(&method, &mut body, has_body, shared).await;
    }
    let posture = shared.posture_path.as_deref() == Some(path.as_str());
    if path != shared.guard_path && path.strip_prefix(shared.guard_path.as_str()) != Some("/results") && !posture {
        let posture = shared.posture_path.as_deref().map(|p| format!(", GET {p}")).unwrap_or_default();
        let msg = format!(
            "no route for {path}; this server answers POST {0}, POST {0}/results{posture}, POST {1} and GET /healthz",
            shared.guard_path,
            parapet_filter::offload::SCORE_PATH
        );
        return (error(404, "not_found", msg), has_body);
    }
    if posture && has_body {
        return (error(400, "bad_request", format!("GET {path} takes no body")), true);
    }

    let expects_continue = header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
    let declared_too_large = body.size_hint().lower() > shared.max_body as u64;
    let (data, complete) = if declared_too_large {
        // Not read: the module sees the declared content-length and answers 413. A client
        // waiting for 100-continue has sent nothing; any other is sending, so drain a little.
        if !expects_continue {
            drain(&mut body).await;
        }
        (Vec::new(), false)
    } else {
        match tokio::time::timeout(shared.limits.body_timeout, read_body(&mut body, shared.max_body)).await {
            Err(_) => {
                let secs = shared.limits.body_timeout.as_secs_f64();
                return (error(400, "bad_request", format!("the request body did not arrive within {secs} s")), true);
            }
            Ok(Err(message)) => return (error(400, "bad_request", message), true),
            Ok(Ok((data, complete))) => {
                if !complete {
                    drain(&mut body).await;
                }
                (data, complete)
            }
        }
    };
    let req = HttpRequest { method: method.clone(), path: target.clone(), headers, body: data, body_complete: complete, upstream_response: None };
    let (tx, rx) = oneshot::channel();
    if shared.jobs.send(Job { req, reply: tx }).await.is_err() {
        return (error(503, "unavailable", "no filter worker is running"), true);
    }
    let Ok(resp) = rx.await else {
        return (error(503, "unavailable", "the filter worker stopped"), true);
    };
    shared.setup.print_logs(&resp.logs, Some(&format!("{method} {target}")));
    let reply = match &resp.disposition {
        Disposition::Local | Disposition::Failed { .. } => (resp.status, resp.headers.clone(), resp.body.clone()),
        Disposition::Paused if !complete => error(
            413,
            "body_too_large",
            format!("request body is larger than the limit of {} bytes", shared.max_body),
        ),
        Disposition::Forwarded if method != "POST" => {
            let (s, mut h, b) = error(405, "method_not_allowed", format!("{path} accepts POST only"));
            h.push(("allow".into(), "POST".into()));
            (s, h, b)
        }
        _ => {
            let (status, body) = super::reply_of(&resp);
            (status, json_headers(), body)
        }
    };
    (reply, !complete || resp.reset)
}
