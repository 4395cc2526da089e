//! Just enough HTTP/1.1 for `parapet serve`: request heads, content-length and chunked bodies
//! read up to a limit, keep-alive, and plain responses. Bounded everywhere: head size, header
//! count, chunk-size lines, body bytes read.

use std::io::{self, BufRead, Read, Write};

/// Largest request head (request line + headers).
pub const MAX_HEAD: usize = 64 * 1024;
pub const MAX_HEADERS: usize = 100;

#[derive(Debug)]
pub struct Head {
    pub method: String,
    pub target: String,
    /// `true` for HTTP/1.1, `false` for HTTP/1.0.
    pub http11: bool,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this exchange.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").map(str::to_ascii_lowercase).unwrap_or_default();
        let tokens: Vec<&str> = conn.split(',').map(str::trim).collect();
        if self.http11 {
            !tokens.contains(&"close")
        } else {
            tokens.contains(&"keep-alive")
        }
    }
}

/// A request the server cannot parse: answer with this status and close.
#[derive(Debug)]
pub struct BadRequest {
    pub status: u16,
    pub message: String,
}

fn bad(status: u16, message: impl Into<String>) -> BadRequest {
    BadRequest { status, message: message.into() }
}

/// Reads one line (up to `\n`), at most `limit` bytes. `Ok(None)` at a clean end of stream.
fn read_line(r: &mut impl BufRead, limit: usize) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = r.take(limit as u64 + 1).read_until(b'\n', &mut line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.len() > limit || !line.ends_with(b"\n") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long or truncated"));
    }
    line.pop();
    if line.ends_with(b"\r") {
        line.pop();
    }
    Ok(Some(line))
}

/// Reads a request head. `Ok(None)`: the client closed the connection between requests.
pub fn read_head(r: &mut impl BufRead) -> Result<Option<Head>, BadRequest> {
    let mut budget = MAX_HEAD;
    // Tolerate empty lines before a request line (RFC 9112 §2.2).
    let line = loop {
        match read_line(r, budget) {
            Ok(None) => return Ok(None),
            Ok(Some(l)) if l.is_empty() => budget = budget.saturating_sub(2),
            Ok(Some(l)) => break l,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return Err(bad(431, "request line too long")),
            Err(_) => return Ok(None),
        }
    };
    budget = budget.saturating_sub(line.len() + 2);
    let line = String::from_utf8(line).map_err(|_| bad(400, "request line is not ASCII"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad(400, "malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_alphabetic()) || !target.starts_with('/') || !version.starts_with("HTTP/") {
        return Err(bad(400, "malformed request line"));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(bad(505, format!("unsupported protocol {version:?}"))),
    };
    let mut headers = Vec::new();
    loop {
        let l = match read_line(r, budget) {
            Ok(Some(l)) => l,
            Ok(None) => return Err(bad(400, "connection closed inside the request head")),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => return Err(bad(431, "request head too large")),
            Err(_) => return Err(bad(400, "cannot read the request head")),
        };
        budget = budget.saturating_sub(l.len() + 2);
        if l.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(bad(431, "too many headers"));
        }
        if l[0] == b' ' || l[0] == b'\t' {
            return Err(bad(400, "obsolete header line folding"));
        }
        let l = String::from_utf8(l).map_err(|_| bad(400, "header is not UTF-8"))?;
        let Some((name, value)) = l.split_once(':') else { return Err(bad(400, "header without ':'")) };
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
            return Err(bad(400, "malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Some(Head { method: method.to_string(), target: target.to_string(), http11, headers }))
}

/// How the body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    None,
    Length(u64),
    Chunked,
}

pub fn framing(head: &Head) -> Result<Framing, BadRequest> {
    if let Some(te) = head.header("transfer-encoding") {
        let last = te.rsplit(',').next().map(|s| s.trim().to_ascii_lowercase()).unwrap_or_default();
        if last != "chunked" {
            return Err(bad(501, format!("unsupported transfer-encoding {te:?}")));
        }
        if head.header("content-length").is_some() {
            return Err(bad(400, "both transfer-encoding and content-length"));
        }
        return Ok(Framing::Chunked);
    }
    let lengths: Vec<&str> = head.headers.iter().filter(|(k, _)| k == "content-length").map(|(_, v)| v.as_str()).collect();
    match lengths.as_slice() {
        [] => Ok(Framing::None),
        [first, rest @ ..] => {
            if rest.iter().any(|v| v != first) || !first.bytes().all(|b| b.is_ascii_digit()) || first.is_empty() {
                return Err(bad(400, "invalid content-length"));
            }
            first.parse().map(Framing::Length).map_err(|_| bad(400, "invalid content-length"))
        }
    }
}

/// The body as read: `complete` is false when the client sent more than `limit` bytes (then
/// `data` holds `limit + 1` bytes and the rest is left unread).
pub struct Body {
    pub data: Vec<u8>,
    pub complete: bool,
}

/// Reads a body, at most `limit + 1` bytes.
pub fn read_body(r: &mut impl BufRead, framing: Framing, limit: usize) -> Result<Body, BadRequest> {
    let cap = limit as u64 + 1;
    match framing {
        Framing::None => Ok(Body { data: Vec::new(), complete: true }),
        Framing::Length(n) => {
            let want = n.min(cap);
            let mut data = Vec::with_capacity(usize::try_from(want).unwrap_or(0).min(1 << 20));
            r.take(want).read_to_end(&mut data).map_err(|_| bad(400, "cannot read the request body"))?;
            if (data.len() as u64) < want {
                return Err(bad(400, "connection closed before the whole body arrived"));
            }
            Ok(Body { complete: n <= limit as u64, data })
        }
        Framing::Chunked => {
            let mut data = Vec::new();
            loop {
                let line = match read_line(r, 1024) {
                    Ok(Some(l)) => l,
                    _ => return Err(bad(400, "malformed chunk size line")),
                };
                let hex = line.split(|b| *b == b';').next().unwrap_or(&[]);
                let hex = std::str::from_utf8(hex).map_err(|_| bad(400, "malformed chunk size"))?.trim();
                let size = u64::from_str_radix(hex, 16).map_err(|_| bad(400, "malformed chunk size"))?;
                if size == 0 {
                    // Trailers, then the empty line.
                    loop {
                        match read_line(r, 8 * 1024) {
                            Ok(Some(l)) if l.is_empty() => return Ok(Body { data, complete: true }),
                            Ok(Some(_)) => continue,
                            _ => return Err(bad(400, "malformed chunked trailer")),
                        }
                    }
                }
                let room = cap - data.len() as u64;
                let take = size.min(room);
                let before = data.len();
                r.take(take).read_to_end(&mut data).map_err(|_| bad(400, "cannot read the request body"))?;
                if ((data.len() - before) as u64) < take {
                    return Err(bad(400, "connection closed inside a chunk"));
                }
                if data.len() as u64 >= cap {
                    return Ok(Body { data, complete: false });
                }
                match read_line(r, 2) {
                    Ok(Some(l)) if l.is_empty() => {}
                    _ => return Err(bad(400, "chunk not followed by CRLF")),
                }
            }
        }
    }
}

/// After answering without reading the whole request: stop writing, then read and discard
/// what the client is still sending (bounded in bytes and time), so closing does not reset the
/// connection before the client has read the response.
pub fn linger(stream: &std::net::TcpStream, reader: &mut impl Read) {
    stream.shutdown(std::net::Shutdown::Write).ok();
    stream.set_read_timeout(Some(std::time::Duration::from_millis(500))).ok();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0usize;
    while total < 8 << 20 && started.elapsed() < std::time::Duration::from_secs(2) {
        match reader.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => total += n,
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Writes a complete response with `content-length`.
pub fn write_response(w: &mut impl Write, status: u16, headers: &[(String, String)], body: &[u8], close: bool, head_only: bool) -> io::Result<()> {
    let mut out = Vec::with_capacity(256 + body.len());
    write!(out, "HTTP/1.1 {status} {}\r\n", reason(status))?;
    for (k, v) in headers {
        let skip = ["content-length", "transfer-encoding", "connection", "keep-alive"].iter().any(|h| k.eq_ignore_ascii_case(h));
        let unsafe_bytes = k.bytes().chain(v.bytes()).any(|b| b == b'\r' || b == b'\n');
        if !skip && !unsafe_bytes && !k.is_empty() && !k.starts_with(':') {
            write!(out, "{k}: {v}\r\n")?;
        }
    }
    write!(out, "content-length: {}\r\n", body.len())?;
    if close {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
    w.write_all(&out)?;
    w.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Head {
        read_head(&mut raw.as_bytes()).unwrap().unwrap()
    }

    #[test]
    fn heads_and_framing() {
        let h = head("POST /v2/guard?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
        assert_eq!((h.method.as_str(), h.target.as_str(), h.http11), ("POST", "/v2/guard?x=1", true));
        assert_eq!(framing(&h).unwrap(), Framing::Length(5));
        assert!(h.keep_alive());
        let h = head("GET / HTTP/1.0\r\n\r\n");
        assert!(!h.keep_alive());
        let h = head("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(framing(&h).unwrap(), Framing::Chunked);
        let h = head("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
        assert_eq!(framing(&h).unwrap_err().status, 400);
        assert!(read_head(&mut "BAD\r\n\r\n".as_bytes()).is_err());
        assert!(read_head(&mut "".as_bytes()).unwrap().is_none());
        let big = format!("GET / HTTP/1.1\r\nx: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(read_head(&mut big.as_bytes()).unwrap_err().status, 431);
    }

    #[test]
    fn bodies() {
        let mut r = "hello world".as_bytes();
        let b = read_body(&mut r, Framing::Length(11), 100).unwrap();
        assert!(b.complete && b.data == b"hello world");
        let mut r = "hello world".as_bytes();
        let b = read_body(&mut r, Framing::Length(11), 4).unwrap();
        assert!(!b.complete && b.data == b"hello");
        let mut r = "5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nT: v\r\n\r\nNEXT".as_bytes();
        let b = read_body(&mut r, Framing::Chunked, 100).unwrap();
        assert!(b.complete && b.data == b"hello world");
        assert_eq!(r, b"NEXT");
        let mut r = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n".as_bytes();
        let b = read_body(&mut r, Framing::Chunked, 7).unwrap();
        assert!(!b.complete && b.data == b"hello wo");
        assert!(read_body(&mut "zz\r\n".as_bytes(), Framing::Chunked, 7).is_err());
        assert!(read_body(&mut "abc".as_bytes(), Framing::Length(5), 7).is_err());
    }
}
