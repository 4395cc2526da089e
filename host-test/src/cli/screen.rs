//! `parapet screen`: stdin lines in, one response line out per input line, same order.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use super::{one_line, reply_of, CliError, CliResult, Flags, Global, Setup};
use crate::proxywasm::HttpRequest;

pub fn run(global: &Global, flags: &Flags) -> CliResult<ExitCode> {
    if let Some(p) = flags.positionals.first() {
        return Err(CliError::usage(format!("screen reads stdin and takes no arguments (got {p:?}); see `parapet screen --help`")));
    }
    let policy = flags.get("--policy");
    let project = flags.get("--project");
    if policy.is_some() && project.is_some() {
        return Err(CliError::usage("--policy and --project are mutually exclusive"));
    }
    if project == Some("") {
        return Err(CliError::usage("--project needs a non-empty id"));
    }
    let setup = Setup::new(global, flags.get("--config"), policy)?;
    let guard_path = setup.guard_path()?;
    let mut filter = setup.filter(true)?;
    let header = setup.config.project_header.clone();
    let extra: Vec<(&str, &str)> = project.map(|p| vec![(header.as_str(), p)]).unwrap_or_default();

    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(CliError::setup(format!("cannot read stdin: {e}"))),
        }
        n += 1;
        if line.ends_with(b"\n") {
            line.pop();
            if line.ends_with(b"\r") {
                line.pop();
            }
        }
        let resp = filter.request(&HttpRequest::post_json(&guard_path, &extra, &line));
        setup.print_logs(&resp.logs, Some(&format!("line {n}")));
        let (_, body) = reply_of(&resp);
        let mut body = one_line(&body);
        body.push(b'\n');
        if let Err(e) = out.write_all(&body).and_then(|()| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(ExitCode::SUCCESS);
            }
            return Err(CliError::setup(format!("cannot write stdout: {e}")));
        }
    }
    Ok(ExitCode::SUCCESS)
}
