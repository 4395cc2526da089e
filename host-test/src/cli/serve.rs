//! `parapet serve`: the guard API over HTTP/1.1, answered by the module.
//!
//! Threads: the main thread accepts; each connection gets a thread that parses requests
//! (bounded head, body read up to `max_body_bytes + 1`); requests for the guard path go over a
//! channel to a fixed pool of workers, each owning one VM. The VMs share one shared-data store
//! (as Envoy's worker VMs do), which holds each project's threat posture.

use std::io::{BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parapet_filter::ApiError;

use super::http::{self, Framing};
use super::{CliError, CliResult, Flags, Global, Setup};
use crate::proxywasm::{Disposition, HostResponse, HttpRequest};

const MAX_CONNECTIONS: usize = 256;
const IDLE_TIMEOUT: Duration = Duration::from_secs(15);
const IO_TIMEOUT: Duration = Duration::from_secs(30);

struct Job {
    req: HttpRequest,
    reply: SyncSender<HostResponse>,
}

struct Shared {
    setup: Setup,
    guard_path: String,
    /// `GET` here: every project's posture, answered by the module.
    posture_path: Option<String>,
    max_body: usize,
    jobs: SyncSender<Job>,
    connections: AtomicUsize,
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
    let listener = TcpListener::bind(addr).map_err(|e| CliError::setup(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr().map_err(|e| CliError::setup(format!("cannot read the listening address: {e}")))?;

    let (tx, rx) = mpsc::sync_channel::<Job>(workers * 4);
    let rx = Arc::new(Mutex::new(rx));
    for filter in filters {
        let rx = Arc::clone(&rx);
        std::thread::Builder::new()
            .name("parapet-vm".into())
            .spawn(move || worker(filter, &rx))
            .map_err(|e| CliError::setup(format!("cannot start a worker thread: {e}")))?;
    }
    let posture_path = setup.config.posture_path();
    let shared = Arc::new(Shared { setup, guard_path, posture_path, max_body, jobs: tx, connections: AtomicUsize::new(0) });

    let info = shared.setup.runtime.info();
    println!(
        "parapet: listening on http://{local} (POST {}, GET {}, GET /healthz; {workers} workers; module {} loaded in {} ms{})",
        shared.guard_path,
        shared.posture_path.as_deref().unwrap_or("-"),
        shared.setup.module_label,
        info.load_time.as_millis(),
        if info.cache_hit { " from cache" } else { "" }
    );
    std::io::stdout().flush().ok();

    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors and the like: do not spin.
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        if shared.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
            let body = ApiError::new(503, "overloaded", "too many open connections").to_json();
            let mut s = stream;
            http::write_response(&mut s, 503, &json_headers(), &body, true, false).ok();
            continue;
        }
        let shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new().name("parapet-conn".into()).spawn(move || {
            connection(stream, &shared);
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            eprintln!("parapet: cannot start a connection thread");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn worker(mut filter: crate::proxywasm::Filter, rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let resp = filter.request(&job.req);
        // The connection may have gone away; nothing to do then.
        job.reply.send(resp).ok();
    }
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".into(), "application/json".into())]
}

fn error(status: u16, code: &'static str, message: impl Into<String>) -> (u16, Vec<(String, String)>, Vec<u8>) {
    (status, json_headers(), ApiError::new(status, code, message).to_json())
}

fn connection(stream: TcpStream, shared: &Shared) {
    stream.set_write_timeout(Some(IO_TIMEOUT)).ok();
    stream.set_nodelay(true).ok();
    let Ok(read_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        writer.set_read_timeout(Some(IDLE_TIMEOUT)).ok();
        let head = match http::read_head(&mut reader) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(bad) => {
                let (s, h, b) = error(bad.status, "bad_request", bad.message);
                if http::write_response(&mut writer, s, &h, &b, true, false).is_ok() {
                    http::linger(&writer, &mut reader);
                }
                return;
            }
        };
        writer.set_read_timeout(Some(IO_TIMEOUT)).ok();
        let (response, close) = exchange(&head, &mut reader, &mut writer, shared);
        let close = close || !head.keep_alive();
        let (status, headers, body) = response;
        if http::write_response(&mut writer, status, &headers, &body, close, head.method == "HEAD").is_err() {
            return;
        }
        if close {
            http::linger(&writer, &mut reader);
            return;
        }
    }
}

type Reply = (u16, Vec<(String, String)>, Vec<u8>);

/// Answers one request. The flag says the connection must close (body left unread, or the
/// stream is out of sync).
fn exchange(head: &http::Head, reader: &mut BufReader<TcpStream>, writer: &mut TcpStream, shared: &Shared) -> (Reply, bool) {
    let path = head.target.split('?').next().unwrap_or(&head.target);
    let framing = match http::framing(head) {
        Ok(f) => f,
        Err(bad) => return (error(bad.status, "bad_request", bad.message), true),
    };
    // Routes the host answers never read a body: close the connection if one was announced.
    let unread_body = framing != Framing::None && framing != Framing::Length(0);
    if path == "/healthz" {
        if head.method == "GET" || head.method == "HEAD" {
            return ((200, json_headers(), br#"{"status":"ok"}"#.to_vec()), unread_body);
        }
        let (s, mut h, b) = error(405, "method_not_allowed", "/healthz accepts GET only");
        h.push(("allow".into(), "GET, HEAD".into()));
        return ((s, h, b), unread_body);
    }
    let posture = shared.posture_path.as_deref() == Some(path);
    if path != shared.guard_path && path.strip_prefix(shared.guard_path.as_str()) != Some("/results") && !posture {
        let posture = shared.posture_path.as_deref().map(|p| format!(", GET {p}")).unwrap_or_default();
        let msg = format!("no route for {path}; this server answers POST {0}, POST {0}/results{posture} and GET /healthz", shared.guard_path);
        return (error(404, "not_found", msg), unread_body);
    }
    if posture && unread_body {
        return (error(400, "bad_request", format!("GET {path} takes no body")), true);
    }

    let declared_too_large = matches!(framing, Framing::Length(n) if n > shared.max_body as u64);
    let body = if declared_too_large {
        // Not read at all: the module sees the declared content-length and answers 413.
        http::Body { data: Vec::new(), complete: false }
    } else {
        let expects_continue = head.header("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
        if expects_continue && writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").and_then(|()| writer.flush()).is_err() {
            return (error(400, "bad_request", "connection lost"), true);
        }
        match http::read_body(reader, framing, shared.max_body) {
            Ok(b) => b,
            Err(bad) => return (error(bad.status, "bad_request", bad.message), true),
        }
    };
    let complete = body.complete;
    let req = HttpRequest {
        method: head.method.clone(),
        path: head.target.clone(),
        headers: head.headers.clone(),
        body: body.data,
        body_complete: complete,
        upstream_response: None,
    };
    let (tx, rx) = mpsc::sync_channel(1);
    if shared.jobs.send(Job { req, reply: tx }).is_err() {
        return (error(503, "unavailable", "no filter worker is running"), true);
    }
    let Ok(resp) = rx.recv() else {
        return (error(503, "unavailable", "the filter worker stopped"), true);
    };
    shared.setup.print_logs(&resp.logs, Some(&format!("{} {}", head.method, head.target)));
    let reply = match &resp.disposition {
        Disposition::Local | Disposition::Failed { .. } => (resp.status, resp.headers.clone(), resp.body.clone()),
        Disposition::Paused if !complete => error(
            413,
            "body_too_large",
            format!("request body is larger than the limit of {} bytes", shared.max_body),
        ),
        Disposition::Forwarded if head.method != "POST" => {
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
