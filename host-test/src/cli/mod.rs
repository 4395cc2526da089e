//! The `parapet` command line.
//!
//! Exit codes: 0 success; 1 the command ran and found a problem (`verify` mismatches or an
//! empty corpus, `eval` error answers, malformed log lines skipped by `logs export`, `report`
//! and `policy diff`, problems found by `policy lint`); 2 a setup or usage error (bad flag,
//! unreadable file, invalid config, module that does not load).

mod eval;
mod logs;
mod policy;
mod report;
mod s3;
mod screen;
mod serve;
mod verify;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::abi::LogLevel;
use crate::hostcalls::{Clock, LogRecord};
use crate::proxywasm::{ConfigRejected, Disposition, Filter, HostOptions, HostResponse, DEFAULT_FUEL, DEFAULT_MEMORY_LIMIT};
use crate::runtime::{self, Runtime, WASMTIME_VERSION};

const MAIN_HELP: &str = "\
parapet: Parapet's LLM guard, run from the same proxy-wasm module Envoy loads

Usage: parapet [GLOBAL OPTIONS] <COMMAND> [OPTIONS]

Commands:
  screen   Guard requests read from stdin (one JSON object per line) through the module
  serve    Serve POST /v2/guard over HTTP/1.1 and HTTP/2 from the module
  verify   Check that the module answers a corpus byte for byte like the native core
  eval     Measure TPR, FPR, precision, AUC and latency on a labelled JSONL file
  logs     Export screening logs into the SIEM layout: parapet logs export LOG... --out DIR
           (or --bucket s3://NAME/PREFIX)
  report   Render screening logs as one self-contained HTML page: parapet report LOGS...
           --out report.html
  policy   Review a policy change: parapet policy lint FILE, parapet policy diff OLD NEW
           --replay LOGS|CORPUS
  version  Print versions
  help     Print this help, or a command's: parapet help screen

Global options (also accepted after the command):
  --module FILE        Run this proxy-wasm module instead of the embedded one
  --no-cache           Do not use the compiled-module cache ($PARAPET_CACHE/wasmtime or
                       $HOME/.cache/parapet/wasmtime)
  --fuel N             Fuel per request, about one unit per wasm instruction
                       [default: 200000000000; the guard model on max_model_chars
                       of text uses under half of it]
  --memory-limit MIB   Linear memory per VM [default: 512, or 16 x max_body_bytes if larger]
  --log-level LEVEL    Module log lines at or above LEVEL go to stderr: trace, debug, info,
                       warn, error, critical [default: warn]
  -h, --help           Print help
  -V, --version        Print version

Exit status: 0 ok; 1 verify found mismatches or an empty corpus, eval got error answers,
logs export or report skipped malformed lines, policy lint found problems; 2 setup or usage
error.";

const SCREEN_HELP: &str = "\
Guard requests on stdin through the module, as POST <guard_path> (default /v2/guard).

Usage: parapet screen [--policy NAME | --project ID] [--config FILE] [--log FILE]

Each stdin line is one guard request body (Lakera-compatible JSON). Each stdout line is the
response body for the line at the same position: a verdict, or the error object the module
answers for that line (invalid JSON, unknown project, ...). Errors in a line never stop the
command; only setup errors exit non-zero.

Options:
  --config FILE   Parapet config (JSON) [default: {} = built-in policies]
  --project ID    Send ID in the configured project header (default x-parapet-project);
                  a line's own project_id still takes precedence
  --policy NAME   Screen under policy NAME: the effective config gets default_policy = NAME,
                  so lines without a project use NAME (a line's project_id still selects its
                  project's policy)
  --log FILE      Append one screening log record per line to FILE (JSON lines; the config's
                  `logging` section decides prompts and clean records; its sink becomes \"log\")
  -h, --help      Print help";

const SERVE_HELP: &str = "\
Serve the guard API over HTTP/1.1 and HTTP/2 (cleartext, prior knowledge) from the module.

Usage: parapet serve [--addr ADDR] [--config FILE] [--workers N] [--log FILE]
                     [--max-connections N] [--header-timeout S] [--idle-timeout S]
                     [--body-timeout S] [--drain-timeout S] [--score-threads N]

Routes: POST <guard_path> (default /v2/guard), POST <guard_path>/results (confidence
levels per detector, not logged) and GET /v2/posture (every project's threat posture; the
path is `posture` beside the guard path) answered by the module; POST /v1/parapet/score,
the scoring service for proxies that offload long bodies' model windows (config `offload`),
answered by the native core with the windows in parallel; GET /healthz; other
paths 404 JSON; other methods on the guard path 405 JSON. Request bodies may use
content-length or chunked encoding (HTTP/1.1) or DATA frames (HTTP/2); at most
max_body_bytes + 1 bytes are read, a larger body gets 413 JSON. A request head may have at
most 100 fields in 64 KiB. Prints the listening address on startup. SIGTERM or Ctrl-C stops
listening, lets requests in flight finish (at most --drain-timeout), then exits 0.

Options:
  --addr ADDR            Listen address [default: 127.0.0.1:8080; port 0 picks a free port]
  --config FILE          Parapet config (JSON) [default: {}]
  --workers N            Wasm VMs (one per worker thread) [default: number of CPUs, at most 8]
  --log FILE             Append one screening log record per line to FILE (as for screen)
  --max-connections N    Open connections at most; one more gets 503 JSON and is closed
                         [default: 256]
  --header-timeout S     A new connection must send a whole request head within S seconds
                         [default: 10]
  --idle-timeout S       A connection with no request in flight is closed after S seconds,
                         however slowly its client sends bytes [default: 15]
  --body-timeout S       A request body must arrive within S seconds, else 400 JSON
                         [default: 30]
  --drain-timeout S      On SIGTERM, requests in flight get S seconds to finish [default: 30]
  --score-threads N      Threads one score request runs its windows on [default: number of CPUs]
  -h, --help             Print help";

const VERIFY_HELP: &str = "\
Run a corpus through the native core and through the module, and compare.

Usage: parapet verify CORPUS.jsonl [--config FILE] [--project ID] [--show N]

Each line of CORPUS is one request body, byte for byte (malformed lines are cases too). Each
goes to the native core (Guard::guard_http) and to the module in wasmtime (POST /v2/guard);
status and response bytes must be equal. Prints the number of cases and mismatches and the
first mismatching lines with both outputs. Exits 1 on any mismatch or an empty corpus.

Options:
  --config FILE   Parapet config (JSON) [default: {}]
  --project ID    Send ID as the project (header for the module, context for the core)
  --show N        Print at most N mismatches [default: 5]
  -h, --help      Print help";

const EVAL_HELP: &str = "\
Measure how a policy (or one of its detectors) separates a labelled set, and its latency.

Usage: parapet eval FILE.jsonl [--policy NAME] [--detector TYPE] [--config FILE] [--cases OUT] [--json] [--native]

Each line of FILE is {\"text\": \"...\", \"label\": 0|1}, or a guard request (messages, ...) with the
expected \"flagged\": true|false. Every case goes through the module (POST <guard_path>, with
breakdown) and counts as positive when the verdict is flagged, or with --detector when that
detector detected. AUC ranks by the detector's model score (the highest model score without
--detector; rule detectors count 0 or 1). Latency is per request, as the host measures it.
A progress bar goes to stderr. Exits 1 if any case got an error answer.

Options:
  --policy NAME     Screen under policy NAME [default: the config's default_policy]
  --detector TYPE   Judge one detector (e.g. prompt_attack) instead of the verdict
  --config FILE     Parapet config (JSON) [default: {} = built-in policies]
  --cases OUT       Also write one JSON line per case to OUT: line, label, predicted, score,
                    level (with --detector), ms, windows (the guard model's windows)
  --json            Print one JSON object instead of the table
  --native          Run the native core instead of the wasm module
  -h, --help        Print help";

/// An error that ends the command with a message and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError { code: 2, message: message.into() }
    }

    pub fn setup(message: impl Into<String>) -> CliError {
        CliError { code: 2, message: message.into() }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::setup(format!("{e:#}"))
    }
}

type CliResult<T> = Result<T, CliError>;

/// Options valid for every command.
#[derive(Debug, Clone)]
pub struct Global {
    pub module: Option<PathBuf>,
    pub no_cache: bool,
    pub fuel: u64,
    pub memory_limit_mib: Option<usize>,
    pub log_level: LogLevel,
}

/// Parsed flags of one command: `--name value` pairs, switches and positionals.
#[derive(Debug, Default)]
struct Flags {
    values: Vec<(String, String)>,
    switches: Vec<String>,
    positionals: Vec<String>,
}

impl Flags {
    fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    fn has(&self, switch: &str) -> bool {
        self.switches.iter().any(|s| s == switch)
    }
}

const GLOBAL_VALUE_FLAGS: &[&str] = &["--module", "--fuel", "--memory-limit", "--log-level"];

fn command_flags(cmd: &str) -> (&'static [&'static str], &'static str) {
    match cmd {
        "screen" => (&["--policy", "--project", "--config", "--log"], SCREEN_HELP),
        "serve" => (
            &["--addr", "--config", "--workers", "--log", "--max-connections", "--header-timeout", "--idle-timeout", "--body-timeout", "--drain-timeout", "--score-threads"],
            SERVE_HELP,
        ),
        "verify" => (&["--config", "--project", "--show"], VERIFY_HELP),
        "eval" => (&["--policy", "--detector", "--config", "--cases"], EVAL_HELP),
        "logs" => (&["--out", "--bucket", "--endpoint", "--region", "--utc-offset"], logs::LOGS_HELP),
        "report" => (&["--out", "--title", "--utc-offset"], report::REPORT_HELP),
        "policy" => (&["--replay", "--show"], policy::POLICY_HELP),
        _ => (&[], MAIN_HELP),
    }
}

/// Flags of a command that take no value.
fn command_switches(cmd: &str) -> &'static [&'static str] {
    match cmd {
        "eval" => &["--json", "--native"],
        "logs" => &["--force"],
        "policy" => &["--json"],
        _ => &[],
    }
}

enum Parsed {
    Run { cmd: String, global: Global, flags: Flags },
    Print(String),
}

fn parse(args: &[String]) -> CliResult<Parsed> {
    let mut global = Global { module: None, no_cache: false, fuel: DEFAULT_FUEL, memory_limit_mib: None, log_level: LogLevel::Warn };
    let mut cmd: Option<String> = None;
    let mut flags = Flags::default();
    let mut help = false;
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            flags.positionals.extend(args[i..].iter().cloned());
            break;
        }
        if arg == "-h" || arg == "--help" {
            help = true;
            continue;
        }
        if arg == "-V" || arg == "--version" {
            return Ok(Parsed::Print(version_text()));
        }
        if arg == "--no-cache" {
            global.no_cache = true;
            continue;
        }
        if cmd.as_deref().is_some_and(|c| command_switches(c).contains(&arg.as_str())) {
            flags.switches.push(arg.clone());
            continue;
        }
        if arg.starts_with('-') && arg.len() > 1 {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            let is_global = GLOBAL_VALUE_FLAGS.contains(&name.as_str());
            let allowed = cmd.as_deref().map(|c| command_flags(c).0).unwrap_or(&[]);
            if !is_global && !allowed.contains(&name.as_str()) {
                let hint = match &cmd {
                    Some(c) => format!("see `parapet {c} --help`"),
                    None => "see `parapet --help`".to_string(),
                };
                return Err(CliError::usage(format!("unknown option {name}; {hint}")));
            }
            let value = match inline {
                Some(v) => v,
                None => {
                    let v = args.get(i).cloned().ok_or_else(|| CliError::usage(format!("{name} needs a value")))?;
                    i += 1;
                    v
                }
            };
            match name.as_str() {
                "--module" => global.module = Some(PathBuf::from(value)),
                "--fuel" => {
                    global.fuel = value.parse().ok().filter(|n| *n > 0).ok_or_else(|| CliError::usage(format!("--fuel: expected a positive integer, got {value:?}")))?
                }
                "--memory-limit" => {
                    let mib: usize = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=4096).contains(n))
                        .ok_or_else(|| CliError::usage(format!("--memory-limit: expected MiB between 1 and 4096, got {value:?}")))?;
                    global.memory_limit_mib = Some(mib);
                }
                "--log-level" => {
                    global.log_level = LogLevel::parse(&value).ok_or_else(|| CliError::usage(format!("--log-level: unknown level {value:?}")))?
                }
                _ => flags.values.push((name, value)),
            }
            continue;
        }
        if cmd.is_none() {
            cmd = Some(arg.clone());
        } else {
            flags.positionals.push(arg.clone());
        }
    }
    let Some(cmd) = cmd else {
        return Ok(Parsed::Print(MAIN_HELP.to_string()));
    };
    match cmd.as_str() {
        "help" => {
            let topic = flags.positionals.first().map(String::as_str).unwrap_or("");
            return Ok(Parsed::Print(help_text(topic, &flags.positionals[flags.positionals.len().min(1)..]).to_string()));
        }
        "version" => return Ok(Parsed::Print(version_text())),
        "screen" | "serve" | "verify" | "eval" | "logs" | "report" | "policy" => {}
        other => return Err(CliError::usage(format!("unknown command {other:?}; see `parapet --help`"))),
    }
    if help {
        return Ok(Parsed::Print(help_text(&cmd, &flags.positionals).to_string()));
    }
    Ok(Parsed::Run { cmd, global, flags })
}

/// A command's help; `logs export` has its own.
fn help_text(cmd: &str, rest: &[String]) -> &'static str {
    match (cmd, rest.first().map(String::as_str)) {
        ("logs", Some("export")) => logs::EXPORT_HELP,
        _ => command_flags(cmd).1,
    }
}

fn version_text() -> String {
    format!(
        "parapet {} (parapet-filter {}, wasmtime {WASMTIME_VERSION}, proxy-wasm ABI 0.2.1)\nembedded module: {} ({} bytes)",
        env!("CARGO_PKG_VERSION"),
        parapet_filter::VERSION,
        crate::EMBEDDED_ENVOY_WASM_PATH,
        crate::EMBEDDED_ENVOY_WASM.len()
    )
}

/// Entry point of the `parapet` binary.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse(&args).and_then(|p| match p {
        Parsed::Print(text) => {
            println!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Parsed::Run { cmd, global, flags } => match cmd.as_str() {
            "screen" => screen::run(&global, &flags),
            "serve" => serve::run(&global, &flags),
            "eval" => eval::run(&global, &flags),
            "logs" => logs::run(&flags),
            "report" => report::run(&flags),
            "policy" => policy::run(&flags),
            _ => verify::run(&global, &flags),
        },
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("parapet: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Everything a command needs: the checked config, the compiled module, VM options.
pub(crate) struct Setup {
    pub config_bytes: Vec<u8>,
    pub config: parapet_filter::Config,
    pub runtime: Arc<Runtime>,
    pub opts: HostOptions,
    pub log_level: LogLevel,
    pub module_label: String,
    /// `--log FILE`: screening records go here (appended, one per line), not to stderr.
    pub log_file: Option<std::sync::Mutex<std::fs::File>>,
}

/// The prefix of a screening record in the module's log (see `envoy/src/lib.rs`).
const RECORD_PREFIX: &str = "parapet.screening ";

impl Setup {
    /// Reads and checks the config natively (precise errors naming the field), optionally
    /// derives the `--policy` config, and loads the module.
    pub fn new(global: &Global, config_path: Option<&str>, policy: Option<&str>) -> CliResult<Setup> {
        let (mut config_bytes, label) = match config_path {
            Some(p) => (std::fs::read(p).map_err(|e| CliError::setup(format!("cannot read config {p}: {e}")))?, p.to_string()),
            None => (b"{}".to_vec(), "the default config".to_string()),
        };
        let mut config = parapet_filter::Config::compile(&config_bytes).map_err(|e| CliError::setup(format!("{label}: {e}")))?;
        if let Some(name) = policy {
            config_bytes = with_default_policy(&config_bytes, name).map_err(|e| CliError::setup(format!("{label}: {e}")))?;
            config = parapet_filter::Config::compile(&config_bytes).map_err(|e| {
                if e.field == "default_policy" {
                    let known: Vec<&str> = config.policies.keys().map(String::as_str).collect();
                    CliError::setup(format!("--policy {name}: no such policy in {label}; known policies: {}", known.join(", ")))
                } else {
                    CliError::setup(format!("{label} with --policy {name}: {e}"))
                }
            })?;
        }
        let (wasm, module_label) = match &global.module {
            Some(p) => (std::fs::read(p).map_err(|e| CliError::setup(format!("cannot read module {}: {e}", p.display())))?, p.display().to_string()),
            None => (crate::EMBEDDED_ENVOY_WASM.to_vec(), "embedded parapet_envoy.wasm".to_string()),
        };
        let cache = if global.no_cache { None } else { runtime::default_cache_dir() };
        let runtime = Runtime::new(&wasm, cache.as_deref()).map_err(|e| CliError::setup(format!("module {module_label}: {e:#}")))?;
        let default_mib = (DEFAULT_MEMORY_LIMIT >> 20).max(config.max_body_bytes.saturating_mul(16) >> 20).min(4096);
        let opts = HostOptions {
            fuel: global.fuel,
            memory_limit: global.memory_limit_mib.unwrap_or(default_mib) << 20,
            log_level: LogLevel::Info.min(global.log_level),
            clock: Clock::System,
            ..HostOptions::default()
        };
        Ok(Setup { config_bytes, config, runtime: Arc::new(runtime), opts, log_level: global.log_level, module_label, log_file: None })
    }

    /// `--log FILE`: the module logs every screening (the config's `logging.sink` becomes
    /// `log`), names this host `host`, and its records are appended to `path`.
    pub fn log_to(&mut self, path: &str, host: &str) -> CliResult<()> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| CliError::setup(format!("cannot open log {path}: {e}")))?;
        self.config_bytes = with_log_sink(&self.config_bytes).map_err(|e| CliError::setup(format!("--log: {e}")))?;
        self.config = parapet_filter::Config::compile(&self.config_bytes).map_err(|e| CliError::setup(format!("--log: {e}")))?;
        self.opts.host_name = Some(host.to_string());
        self.log_file = Some(std::sync::Mutex::new(file));
        Ok(())
    }

    /// Starts one VM. `print_startup_logs`: show its start-up log lines (once per command).
    pub fn filter(&self, print_startup_logs: bool) -> CliResult<Filter> {
        let mut f = Filter::with_runtime(self.runtime.clone(), &self.config_bytes, self.opts.clone()).map_err(|e| {
            match e.downcast_ref::<ConfigRejected>() {
                Some(r) => CliError::setup(format!("module {}: {r}", self.module_label)),
                None => CliError::setup(format!("module {}: {e:#}", self.module_label)),
            }
        })?;
        let logs = f.take_startup_logs();
        if print_startup_logs {
            self.print_logs(&logs, None);
        }
        Ok(f)
    }

    /// Prints the module's log lines at or above `--log-level` to stderr; with `--log FILE`,
    /// screening records go to the file instead (whole lines, so concurrent VMs never interleave).
    pub fn print_logs(&self, logs: &[LogRecord], prefix: Option<&str>) {
        if let Some(file) = &self.log_file {
            let mut lines = String::new();
            for r in logs.iter().filter(|r| !r.from_host) {
                if let Some(rec) = r.message.strip_prefix(RECORD_PREFIX) {
                    lines.push_str(rec);
                    lines.push('\n');
                }
            }
            if !lines.is_empty() {
                let written = file.lock().map_err(|_| std::io::Error::other("log file lock poisoned")).and_then(|mut f| f.write_all(lines.as_bytes()));
                if let Err(e) = written {
                    eprintln!("parapet: cannot write the screening log: {e}");
                }
            }
        }
        let mut err = std::io::stderr().lock();
        let is_record = |r: &&LogRecord| self.log_file.is_some() && !r.from_host && r.message.starts_with(RECORD_PREFIX);
        for r in logs.iter().filter(|r| r.level >= self.log_level).filter(|r| !is_record(r)) {
            let who = if r.from_host { "host" } else { "module" };
            let _ = match prefix {
                Some(p) => writeln!(err, "parapet: {p}: {who} [{}] {}", r.level.as_str(), r.message),
                None => writeln!(err, "parapet: {who} [{}] {}", r.level.as_str(), r.message),
            };
        }
    }

    /// The guard endpoint path; an error if the config disables it.
    pub fn guard_path(&self) -> CliResult<String> {
        self.config.guard_path.clone().ok_or_else(|| CliError::setup("the config disables the guard endpoint (guard_path is null)"))
    }
}

/// Sets `logging.sink` to `log` in a config document, keeping the other `logging` fields.
fn with_log_sink(config: &[u8]) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(config).map_err(|_| "config is not UTF-8".to_string())?;
    let mut doc: serde_json::Value = if text.trim().is_empty() { serde_json::json!({}) } else { serde_json::from_str(text).map_err(|e| e.to_string())? };
    let obj = doc.as_object_mut().ok_or_else(|| "config must be a JSON object".to_string())?;
    let logging = obj.entry("logging").or_insert_with(|| serde_json::json!({}));
    let l = logging.as_object_mut().ok_or_else(|| "logging must be a JSON object".to_string())?;
    l.insert("sink".into(), serde_json::Value::String("log".into()));
    serde_json::to_vec(&doc).map_err(|e| e.to_string())
}

/// Sets `default_policy` in a config document (an empty document counts as `{}`).
fn with_default_policy(config: &[u8], policy: &str) -> Result<Vec<u8>, String> {
    let text = std::str::from_utf8(config).map_err(|_| "config is not UTF-8".to_string())?;
    let mut doc: serde_json::Value = if text.trim().is_empty() { serde_json::json!({}) } else { serde_json::from_str(text).map_err(|e| e.to_string())? };
    let obj = doc.as_object_mut().ok_or_else(|| "config must be a JSON object".to_string())?;
    obj.insert("default_policy".into(), serde_json::Value::String(policy.to_string()));
    serde_json::to_vec(&doc).map_err(|e| e.to_string())
}

/// The status and body a guard request ends with. A module that did not answer gets a host
/// error in the same JSON shape as the core's errors.
pub(crate) fn reply_of(resp: &HostResponse) -> (u16, Vec<u8>) {
    match &resp.disposition {
        Disposition::Local | Disposition::Failed { .. } => (resp.status, resp.body.clone()),
        Disposition::Forwarded => (
            502,
            parapet_filter::ApiError::new(502, "module_did_not_answer", "the filter module let the guard request through instead of answering it").to_json(),
        ),
        Disposition::Paused => {
            (504, parapet_filter::ApiError::new(504, "module_paused", "the filter module paused the guard request and never answered").to_json())
        }
    }
}

/// Guard responses are compact JSON; keep each on one line whatever the module returns.
pub(crate) fn one_line(body: &[u8]) -> Vec<u8> {
    if !body.contains(&b'\n') {
        return body.to_vec();
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => serde_json::to_vec(&v).unwrap_or_else(|_| body.iter().map(|b| if *b == b'\n' { b' ' } else { *b }).collect()),
        Err(_) => body.iter().map(|b| if *b == b'\n' { b' ' } else { *b }).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn flags_anywhere_and_errors() {
        let Ok(Parsed::Run { cmd, global, flags }) = parse(&args("--no-cache screen --policy public-facing --module m.wasm")) else { panic!() };
        assert_eq!(cmd, "screen");
        assert!(global.no_cache);
        assert_eq!(global.module, Some(PathBuf::from("m.wasm")));
        assert_eq!(flags.get("--policy"), Some("public-facing"));
        assert!(parse(&args("screen --addr x")).is_err());
        assert!(parse(&args("nope")).is_err());
        assert!(parse(&args("verify --show")).is_err());
        assert!(matches!(parse(&args("serve --help")), Ok(Parsed::Print(t)) if t.contains("--addr")));
        assert!(matches!(parse(&args("help verify")), Ok(Parsed::Print(t)) if t.contains("CORPUS")));
        assert!(matches!(parse(&args("logs export --help")), Ok(Parsed::Print(t)) if t.contains("--bucket")));
        assert!(matches!(parse(&args("help logs export")), Ok(Parsed::Print(t)) if t.contains("--utc-offset")));
        assert!(matches!(parse(&args("report -h")), Ok(Parsed::Print(t)) if t.contains("--title")));
        let Ok(Parsed::Run { cmd, flags, .. }) = parse(&args("logs export a.jsonl b.jsonl --out d --force --utc-offset=+05:30")) else { panic!() };
        assert_eq!(cmd, "logs");
        assert_eq!(flags.positionals, vec!["export", "a.jsonl", "b.jsonl"]);
        assert!(flags.has("--force"));
        assert_eq!(flags.get("--utc-offset"), Some("+05:30"));
        assert!(parse(&args("report a.jsonl --force")).is_err());
        let Ok(Parsed::Run { flags, .. }) = parse(&args("verify c.jsonl --config=x.json")) else { panic!() };
        assert_eq!(flags.positionals, vec!["c.jsonl"]);
        assert_eq!(flags.get("--config"), Some("x.json"));
    }

    #[test]
    fn policy_is_the_default_policy() {
        let out = with_default_policy(b"", "strict").unwrap();
        assert_eq!(out, br#"{"default_policy":"strict"}"#);
        let out = with_default_policy(br#"{"mode":"monitor","default_policy":"a"}"#, "b").unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["default_policy"], "b");
        assert_eq!(v["mode"], "monitor");
        assert!(with_default_policy(b"[1]", "b").is_err());
    }
}
