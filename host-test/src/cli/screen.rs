//! `parapet screen`: stdin lines in, one response line out per input line, same order.

use std::io::{BufRead, Read as _, Write};
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
    let mut setup = Setup::new(global, flags.get("--config"), policy)?;
    if let Some(path) = flags.get("--log") {
        setup.log_to(path, "screen")?;
    }
    let guard_path = setup.guard_path()?;
    let mut filter = setup.filter(true)?;
    let header = setup.config.project_header.clone();
    let extra: Vec<(&str, &str)> = project.map(|p| vec![(header.as_str(), p)]).unwrap_or_default();

    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A line longer than the body limit is not held in memory: its first limit + 1 bytes go to
    // the module with the line's real length as content-length, and the module answers 413.
    let cap = setup.config.max_body_bytes.saturating_add(1);
    let mut n = 0usize;
    while let Some(line) = read_line(&mut input, cap).map_err(|e| CliError::setup(format!("cannot read stdin: {e}")))? {
        n += 1;
        let mut req = HttpRequest::post_json(&guard_path, &extra, &line.data);
        if let Some(total) = line.truncated_len {
            for (k, v) in req.headers.iter_mut() {
                if k == "content-length" {
                    *v = total.to_string();
                }
            }
            req.body_complete = false;
        }
        let resp = filter.request(&req);
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

/// One input line without its `\n` (and a `\r` before it).
struct Line {
    data: Vec<u8>,
    /// `Some(length)`: the line was longer than the cap; `data` holds its first `cap` bytes.
    truncated_len: Option<usize>,
}

fn read_line(r: &mut impl BufRead, cap: usize) -> std::io::Result<Option<Line>> {
    let mut data = Vec::new();
    let n = r.by_ref().take(cap as u64).read_until(b'\n', &mut data)?;
    if n == 0 {
        return Ok(None);
    }
    if data.ends_with(b"\n") {
        data.pop();
        if data.ends_with(b"\r") {
            data.pop();
        }
        return Ok(Some(Line { data, truncated_len: None }));
    }
    if data.len() < cap {
        // The last line, without a final newline.
        return Ok(Some(Line { data, truncated_len: None }));
    }
    // Too long: count the rest of the line without keeping it.
    let mut total = data.len();
    let mut last = data.last().copied();
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        match buf.iter().position(|b| *b == b'\n') {
            Some(i) => {
                if i > 0 {
                    last = Some(buf[i - 1]);
                }
                total += i;
                r.consume(i + 1);
                if last == Some(b'\r') {
                    total -= 1;
                }
                break;
            }
            None => {
                total += buf.len();
                last = buf.last().copied();
                let len = buf.len();
                r.consume(len);
            }
        }
    }
    if total <= data.len() {
        // The whole line fit after all (it ended right at the cap, maybe with a `\r`).
        data.truncate(total);
        return Ok(Some(Line { data, truncated_len: None }));
    }
    Ok(Some(Line { data, truncated_len: Some(total) }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::read_line;

    #[test]
    fn lines_are_capped_and_counted() {
        let mut r = &b"short\r\n0123456789abc\r\nlast"[..];
        let a = read_line(&mut r, 8).unwrap().unwrap();
        assert_eq!((a.data.as_slice(), a.truncated_len), (&b"short"[..], None));
        let b = read_line(&mut r, 8).unwrap().unwrap();
        assert_eq!((b.data.as_slice(), b.truncated_len), (&b"01234567"[..], Some(13)));
        let c = read_line(&mut r, 8).unwrap().unwrap();
        assert_eq!((c.data.as_slice(), c.truncated_len), (&b"last"[..], None));
        assert!(read_line(&mut r, 8).unwrap().is_none());
        let mut r = &b"0123456\r\n01234567\nx"[..];
        let a = read_line(&mut r, 8).unwrap().unwrap();
        assert_eq!((a.data.as_slice(), a.truncated_len), (&b"0123456"[..], None));
        let b = read_line(&mut r, 8).unwrap().unwrap();
        assert_eq!((b.data.as_slice(), b.truncated_len), (&b"01234567"[..], None));
    }
}
