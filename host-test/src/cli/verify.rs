//! `parapet verify`: the determinism harness. Every corpus line through the native core and
//! through the module; status and bytes must match.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Instant;

use parapet_filter::{Guard, RequestCtx};

use super::{reply_of, CliError, CliResult, Flags, Global, Setup};
use crate::proxywasm::HttpRequest;

const SHOW_BYTES: usize = 400;

fn shown(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.chars().count() <= SHOW_BYTES {
        return text.into_owned();
    }
    let cut: String = text.chars().take(SHOW_BYTES).collect();
    format!("{cut}... ({} bytes)", body.len())
}

/// Splits a corpus into cases: one per line, the final newline not starting an extra case.
pub fn cases(corpus: &[u8]) -> Vec<&[u8]> {
    if corpus.is_empty() {
        return Vec::new();
    }
    let body = corpus.strip_suffix(b"\n").unwrap_or(corpus);
    body.split(|b| *b == b'\n').collect()
}

pub fn run(global: &Global, flags: &Flags) -> CliResult<ExitCode> {
    let path = match flags.positionals.as_slice() {
        [p] => p.as_str(),
        [] => return Err(CliError::usage("verify needs a corpus file: parapet verify CORPUS.jsonl")),
        _ => return Err(CliError::usage("verify takes one corpus file")),
    };
    let show = match flags.get("--show") {
        Some(v) => v.parse::<usize>().map_err(|_| CliError::usage(format!("--show: expected a number, got {v:?}")))?,
        None => 5,
    };
    let project = flags.get("--project").filter(|p| !p.is_empty());
    let corpus = std::fs::read(path).map_err(|e| CliError::setup(format!("cannot read corpus {path}: {e}")))?;
    let setup = Setup::new(global, flags.get("--config"), None)?;
    let guard_path = setup.guard_path()?;
    let native = Guard::new(&setup.config_bytes).map_err(|e| CliError::setup(format!("config: {e}")))?;
    let mut filter = setup.filter(true)?;
    let header = setup.config.project_header.clone();
    let extra: Vec<(&str, &str)> = project.map(|p| vec![(header.as_str(), p)]).unwrap_or_default();

    let cases = cases(&corpus);
    if cases.is_empty() {
        eprintln!("parapet: verify: {path} is empty: no cases to compare");
        return Ok(ExitCode::from(1));
    }
    let started = Instant::now();
    let mut mismatches = 0usize;
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut fuel = 0u64;
    for (i, case) in cases.iter().enumerate() {
        let n = native.guard_http(case, &RequestCtx { project, request_id: None });
        let resp = filter.request(&HttpRequest::post_json(&guard_path, &extra, case));
        fuel += resp.fuel_used;
        setup.print_logs(&resp.logs, Some(&format!("line {}", i + 1)));
        let (status, body) = reply_of(&resp);
        *statuses.entry(n.status).or_default() += 1;
        if n.status != status || n.body != body {
            mismatches += 1;
            if mismatches <= show {
                println!("mismatch at line {}: {}", i + 1, shown(case));
                println!("  native {}: {}", n.status, shown(&n.body));
                println!("  wasm   {status}: {}", shown(&body));
            }
        }
    }
    let by_status: Vec<String> = statuses.iter().map(|(s, c)| format!("{s} x{c}")).collect();
    println!(
        "verify: {} cases, {mismatches} mismatches ({}; module {}, {} ms, {} fuel per case on average)",
        cases.len(),
        by_status.join(", "),
        setup.module_label,
        started.elapsed().as_millis(),
        fuel / cases.len() as u64
    );
    Ok(if mismatches == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::cases;

    #[test]
    fn lines_are_cases() {
        assert!(cases(b"").is_empty());
        assert_eq!(cases(b"a\nb\n"), vec![&b"a"[..], &b"b"[..]]);
        assert_eq!(cases(b"a\n\nb"), vec![&b"a"[..], &b""[..], &b"b"[..]]);
        assert_eq!(cases(b"\n"), vec![&b""[..]]);
    }
}
