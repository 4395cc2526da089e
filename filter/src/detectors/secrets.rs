//! `pii/secret`: credentials pasted into prompts or produced by the model.
//!
//! Each finding is labelled with its kind: `aws_access_key_id`, `aws_secret_access_key`,
//! `google_api_key`, `google_oauth_client_secret`, `openai_api_key`, `anthropic_api_key`,
//! `github_token`, `slack_token`, `slack_webhook`, `stripe_secret_key`, `private_key`, `jwt`,
//! `connection_string`, `bearer_token`, `basic_auth`, `password_assignment` and
//! `generic_secret`.
//!
//! Levels (the lowest sensitivity that reports the finding):
//! - `L1`: vendor-prefixed tokens with the vendor's length and alphabet, PEM private-key blocks
//!   with a body, JWTs whose header decodes to a JSON object with `alg`, connection strings with
//!   a real password, AWS secret keys right after an AWS secret key name;
//! - `L2`: vendor prefixes with an unusual length, unsigned JWTs, AWS-looking secrets only near
//!   an access key id, `Bearer`/`Basic` credentials, connection strings to localhost or an
//!   `example` host or whose password is the user name, unknown `sk-` keys;
//! - `L3`: Stripe test keys, `password = "value"`-style assignments, key blocks without a body;
//! - `L4`: weak assignments (a bare lowercase word), "my token is X" phrasing, and the
//!   documented example credentials AWS and jwt.io publish (AKIAIOSFODNN7EXAMPLE, ...): they are
//!   public, so only a paranoid policy flags them, but a guard demo pasting them still sees a hit.
//!
//! Placeholders are not secrets: `sk-...`, `YOUR_API_KEY`, `<token>`, `********`, all-`X`
//! bodies, `${VAR}`, `changeme` and the like are dropped, as are public keys, certificates,
//! git SHAs and UUIDs (nothing matches them without a key name).
//!
//! Overlaps: the more certain finding wins (lower level), then the longer one, so a JWT used
//! as a connection-string password is reported once as the connection string, and an OpenAI key
//! in `api_key = "sk-..."` once as `openai_api_key`.

use std::collections::{BTreeMap, BTreeSet};

use regex::{Captures, Regex};

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

/// Scan window after a PEM header without an END line: longer than any real key block.
const KEY_BODY_WINDOW: usize = 16 * 1024;
/// How far (bytes) an AWS secret key may sit from an access key id to count as paired.
const AWS_PAIR_DISTANCE: usize = 300;

#[derive(Debug, Clone, Copy)]
enum Vendor {
    AwsKeyId,
    Google,
    GoogleOauth,
    OpenAi,
    Anthropic,
    GitHub,
    GitHubPat,
    Slack,
    SlackWebhook,
    Stripe,
}

struct VendorRule {
    vendor: Vendor,
    re: Regex,
    /// Bytes that continue the token: if one follows the match, the token is something longer.
    body: fn(u8) -> bool,
}

pub struct Secrets {
    vendors: Vec<VendorRule>,
    aws_secret_ctx: Regex,
    b64_run: Regex,
    pem_begin: Regex,
    jwt: Regex,
    conn_url: Regex,
    conn_ado: Regex,
    conn_libpq: Regex,
    assign: Regex,
    phrase: Regex,
    auth: Regex,
}

#[derive(Debug, Clone)]
struct Cand {
    start: usize,
    end: usize,
    level: Level,
    kind: &'static str,
}

fn re(p: &str) -> Result<Regex, String> {
    Regex::new(p).map_err(|e| e.to_string())
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn alnum_us_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn alnum_us(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn alnum_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}
fn url_path(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/')
}

impl Secrets {
    pub fn new() -> Result<Self, String> {
        let v = |vendor, p: &str, body: fn(u8) -> bool| -> Result<VendorRule, String> { Ok(VendorRule { vendor, re: re(p)?, body }) };
        let vendors = vec![
            v(Vendor::AwsKeyId, r"(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}", alnum)?,
            v(Vendor::Google, r"AIza[0-9A-Za-z_\-]{30,}", alnum_us_dash)?,
            v(Vendor::GoogleOauth, r"GOCSPX-[0-9A-Za-z_\-]{20,}", alnum_us_dash)?,
            v(Vendor::OpenAi, r"sk-[A-Za-z0-9_\-]{20,}", alnum_us_dash)?,
            v(Vendor::Anthropic, r"sk-ant-[a-z]+[0-9]*-[A-Za-z0-9_\-]{20,}", alnum_us_dash)?,
            v(Vendor::GitHub, r"gh[pousr]_[A-Za-z0-9]{30,}", alnum_us)?,
            v(Vendor::GitHubPat, r"github_pat_[A-Za-z0-9_]{22,}", alnum_us)?,
            v(Vendor::Slack, r"(?:xox[abposr]|xapp)-[A-Za-z0-9\-]{10,}", alnum_dash)?,
            v(Vendor::SlackWebhook, r"(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}", url_path)?,
            v(Vendor::Stripe, r"[sr]k_(?:live|test)_[A-Za-z0-9]{10,}", alnum)?,
        ];
        Ok(Secrets {
            vendors,
            aws_secret_ctx: re(r"(?i)aws.{0,20}secret|secret[_\- ]?access[_\- ]?key")?,
            b64_run: re(r"[A-Za-z0-9/+]{40}")?,
            pem_begin: re(r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?)-----")?,
            jwt: re(r"eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{2,}\.[A-Za-z0-9_\-]*")?,
            // Scheme URLs with a userinfo or password parameter; JDBC wraps any sub-protocol.
            conn_url: re(
                r#"(?i)(?:jdbc:[a-z][a-z0-9]*(?::[a-z0-9]+)*:|(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle|cockroachdb|clickhouse)://)[\x21-\x7E&&[^"'<>`]]+"#,
            )?,
            // ADO.NET / ODBC: `key=value;` pairs with at least two well-known keys.
            conn_ado: re(
                r#"(?i)(?:(?-u:\b)(?:server|data source|host|hostname|address|addr|network address|database|initial catalog|user id|userid|uid|user|username|port|password|pwd|integrated security|trusted_connection|encrypt|ssl ?mode|provider|driver|dsn|timeout|connect(?:ion)? timeout|application name|multipleactiveresultsets|trustservercertificate|persist security info|charset|pooling|defaultendpointsprotocol|accountname|accountkey|endpointsuffix|endpoint|sharedaccesskeyname|sharedaccesskey|entitypath)[ \t]*=[ \t]*(?:\{[^}\r\n]*\}|[^;\r\n"'`]*);?[ \t]*){2,}"#,
            )?,
            // libpq keyword DSN: `host=... user=... password=...`, space-separated.
            conn_libpq: re(r"(?i)(?-u:\b)(?:host|hostaddr|port|dbname|user|password|sslmode|connect_timeout)=[^\s'`]+(?:[ \t]+(?:host|hostaddr|port|dbname|user|password|sslmode|connect_timeout)=[^\s'`]+)+")?,
            assign: re(
                r#"(?i)(?-u:\b)(?P<key>[a-z0-9_.\-]{0,40}?(?:password|passwd|passphrase|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|auth[_\-]?key|private[_\-]?key|secret[_\-]?key(?:[_\-]?base)?|(?:signing|encryption|master|account|shared[_\-]?access)[_\-]?key|client[_\-]?secret|credentials?))["']?[ \t]*(?::=|=>|==|:|=)[ \t]*(?:"(?P<dq>[^"\r\n]{1,300})"|'(?P<sq>[^'\r\n]{1,300})'|(?P<bare>[^\s"'`,;&]{1,300}))"#,
            )?,
            phrase: re(
                r#"(?i)(?-u:\b)(?P<key>api[ _\-]?key|access[ _\-]?token|auth[ _\-]?token|secret[ _\-]?key|token|secret|password|passphrase)[ \t]+(?:is|was)[ \t]*:?[ \t]+["'`]?(?P<val>[^\s"'`]{8,200})"#,
            )?,
            auth: re(r"(?i)(?-u:\b)(?P<scheme>bearer|basic)[ \t]+(?P<val>[A-Za-z0-9\-._~+/]{16,}=*)")?,
        })
    }

    fn vendor_tokens(&self, t: &str, out: &mut Vec<Cand>) {
        for rule in &self.vendors {
            for m in rule.re.find_iter(t) {
                if !left_ok(t, m.start()) || next_byte(t, m.end()).is_some_and(rule.body) {
                    continue;
                }
                if let Some((kind, level)) = classify_vendor(rule.vendor, m.as_str()) {
                    out.push(Cand { start: m.start(), end: m.end(), level, kind });
                }
            }
        }
    }

    /// 40-char base64 runs right after an AWS secret key name (L1) or near an access key id (L2).
    fn aws_secrets(&self, t: &str, key_ids: &[(usize, usize)], out: &mut Vec<Cand>) {
        if key_ids.is_empty() && !self.aws_secret_ctx.is_match(t) {
            return;
        }
        let ctx_ends: Vec<usize> = self.aws_secret_ctx.find_iter(t).map(|m| m.end()).collect();
        for m in self.b64_run.find_iter(t) {
            let (s, e) = (m.start(), m.end());
            let is_b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
            if prev_byte(t, s).is_some_and(is_b64) || next_byte(t, e).is_some_and(|b| is_b64(b) || b == b'=') {
                continue;
            }
            let v = m.as_str();
            // Random base64 of 40 chars has both cases and a digit; hex SHAs and words do not.
            if !(v.bytes().any(|b| b.is_ascii_uppercase()) && v.bytes().any(|b| b.is_ascii_lowercase()) && v.bytes().any(|b| b.is_ascii_digit())) {
                continue;
            }
            // Both lists are sorted: only the nearest name / key id on each side matters.
            let ci = ctx_ends.partition_point(|&c| c <= s);
            let named = ci > 0 && ctx_ends.get(ci - 1).is_some_and(|&c| s - c <= 60 && !t.get(c..s).unwrap_or("\n").contains('\n'));
            let before = key_ids.partition_point(|k| k.1 <= s);
            let after = key_ids.partition_point(|k| k.0 < e);
            let paired = (before > 0 && key_ids.get(before - 1).is_some_and(|k| s - k.1 <= AWS_PAIR_DISTANCE))
                || key_ids.get(after).is_some_and(|k| k.0 >= e && k.0 - e <= AWS_PAIR_DISTANCE);
            let level = if v.contains("EXAMPLE") {
                Level::L4
            } else if named {
                Level::L1
            } else if paired {
                Level::L2
            } else {
                continue;
            };
            out.push(Cand { start: s, end: e, level, kind: "aws_secret_access_key" });
        }
    }

    fn private_keys(&self, t: &str, out: &mut Vec<Cand>) {
        if !t.contains("-----BEGIN ") {
            return;
        }
        let heads: Vec<(usize, usize, String)> = self
            .pem_begin
            .captures_iter(t)
            .filter_map(|c| {
                let m = c.get(0)?;
                Some((m.start(), m.end(), c.get(1)?.as_str().to_string()))
            })
            .collect();
        let mut covered = 0usize;
        // Labels with no END line after some position: a later search cannot find one either.
        let mut no_end: BTreeSet<String> = BTreeSet::new();
        for (i, (start, hend, label)) in heads.iter().enumerate() {
            if *start < covered {
                continue;
            }
            let next_begin = heads.get(i + 1).map_or(t.len(), |h| h.0);
            let marker = format!("-----END {label}-----");
            let end_at = if no_end.contains(label) {
                None
            } else {
                let r = t.get(*hend..).and_then(|rest| rest.find(&marker)).map(|p| hend + p);
                if r.is_none() {
                    no_end.insert(label.clone());
                }
                r
            };
            let (span_end, body_chars) = match end_at {
                Some(p) => (p + marker.len(), key_body_chars(t.get(*hend..p).unwrap_or(""))),
                None => {
                    let lim = floor_char(t, next_begin.min(hend.saturating_add(KEY_BODY_WINDOW)));
                    let n = key_body_chars(t.get(*hend..lim).unwrap_or(""));
                    // A truncated paste: the key runs to the end of the text.
                    let stop = if n >= 64 { t.len() } else { lim };
                    (hend + t.get(*hend..stop).unwrap_or("").trim_end().len(), n)
                }
            };
            let (end, level) = match body_chars {
                0 => (*hend, Level::L4),
                1..=63 => (span_end, Level::L3),
                _ => (span_end, Level::L1),
            };
            covered = end;
            out.push(Cand { start: *start, end, level, kind: "private_key" });
        }
    }

    fn jwts(&self, t: &str, out: &mut Vec<Cand>) {
        if !t.contains("eyJ") {
            return;
        }
        for m in self.jwt.find_iter(t) {
            if !left_ok(t, m.start()) {
                continue;
            }
            let mut parts = m.as_str().split('.');
            let (Some(h), Some(p), Some(sig)) = (parts.next(), parts.next(), parts.next()) else { continue };
            if h.len() > 4096 || !b64_json_object(h).is_some_and(|o| o.get("alg").is_some_and(|a| a.is_string())) {
                continue;
            }
            let payload_json = p.len() <= 65536 && b64_json_object(p).is_some();
            // jwt.io's sample token, signed with "your-256-bit-secret": public.
            let level = if sig == "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c" {
                Level::L4
            } else if payload_json && sig.len() >= 16 {
                Level::L1
            } else {
                Level::L2
            };
            out.push(Cand { start: m.start(), end: m.end(), level, kind: "jwt" });
        }
    }

    fn connection_strings(&self, t: &str, out: &mut Vec<Cand>) {
        if t.contains("://") || t.contains("jdbc:") || t.contains("JDBC:") {
            for m in self.conn_url.find_iter(t) {
                if prev_byte(t, m.start()).is_some_and(|b| alnum(b) || b == b'+' || b == b'.') {
                    continue;
                }
                let s = trim_url_end(m.as_str());
                if let Some(level) = url_conn_level(s) {
                    out.push(Cand { start: m.start(), end: m.start() + s.len(), level, kind: "connection_string" });
                }
            }
        }
        if !t.contains('=') {
            return;
        }
        for m in self.conn_ado.find_iter(t) {
            let s = m.as_str().trim_end();
            let pairs = s.split(';').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.trim(), v.trim().trim_start_matches('{').trim_end_matches('}')));
            if let Some(level) = kv_conn_level(pairs) {
                out.push(Cand { start: m.start(), end: m.start() + s.len(), level, kind: "connection_string" });
            }
        }
        for m in self.conn_libpq.find_iter(t) {
            let pairs = m.as_str().split_whitespace().filter_map(|p| p.split_once('='));
            if let Some(level) = kv_conn_level(pairs) {
                out.push(Cand { start: m.start(), end: m.end(), level, kind: "connection_string" });
            }
        }
    }

    fn assignments(&self, t: &str, lower: &str, out: &mut Vec<Cand>) {
        const KEYS: [&str; 9] = ["pass", "pwd", "secret", "token", "key", "credential", "bearer", "basic", "auth"];
        if !KEYS.iter().any(|k| lower.contains(k)) {
            return;
        }
        for c in self.assign.captures_iter(t) {
            if let Some(cand) = assignment(&c) {
                out.push(cand);
            }
        }
        for c in self.phrase.captures_iter(t) {
            let (Some(k), Some(v)) = (c.name("key"), c.name("val")) else { continue };
            let val = trim_value_end(v.as_str());
            let key = k.as_str().to_ascii_lowercase();
            let password = key.starts_with("pass");
            if is_placeholder(val) || looks_like_code(val) {
                continue;
            }
            let ok = if password {
                val.len() >= 8 && classes(val) >= 2 && val.bytes().any(|b| !b.is_ascii_alphabetic())
            } else {
                val.len() >= 16 && classes(val) >= 2 && val.bytes().any(|b| b.is_ascii_digit()) && entropy(val) >= 3.0
            };
            if ok {
                let kind = if password { "password_assignment" } else { "generic_secret" };
                out.push(Cand { start: v.start(), end: v.start() + val.len(), level: Level::L4, kind });
            }
        }
        for c in self.auth.captures_iter(t) {
            let (Some(sch), Some(v)) = (c.name("scheme"), c.name("val")) else { continue };
            let val = v.as_str();
            if is_placeholder(val) {
                continue;
            }
            let basic = sch.as_str().eq_ignore_ascii_case("basic");
            let ok = if basic {
                // Basic credentials are base64("user:password").
                b64_decode(val).and_then(|d| String::from_utf8(d).ok()).is_some_and(|s| s.split_once(':').is_some_and(|(u, p)| !u.is_empty() && !p.is_empty() && !s.chars().any(char::is_control)))
            } else {
                val.len() >= 20 && classes(val) >= 2 && entropy(val) >= 3.0
            };
            if ok {
                let kind = if basic { "basic_auth" } else { "bearer_token" };
                out.push(Cand { start: v.start(), end: v.end(), level: Level::L2, kind });
            }
        }
    }
}

impl Detector for Secrets {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = text.text.as_str();
        if t.len() < 8 {
            return;
        }
        let lower = t.to_ascii_lowercase();
        let mut c = Vec::new();
        self.vendor_tokens(t, &mut c);
        let key_ids: Vec<(usize, usize)> = c.iter().filter(|x| x.kind == "aws_access_key_id").map(|x| (x.start, x.end)).collect();
        self.aws_secrets(t, &key_ids, &mut c);
        self.private_keys(t, &mut c);
        self.jwts(t, &mut c);
        self.connection_strings(t, &mut c);
        self.assignments(t, &lower, &mut c);
        for k in resolve(c) {
            out.push(Finding { start: k.start, end: k.end, level: k.level, labels: vec![k.kind.to_string()] });
        }
    }
}

/// Keeps non-overlapping candidates: most certain first, then longest, then leftmost.
fn resolve(mut c: Vec<Cand>) -> Vec<Cand> {
    c.sort_by(|a, b| {
        a.level
            .cmp(&b.level)
            .then(b.end.saturating_sub(b.start).cmp(&a.end.saturating_sub(a.start)))
            .then(a.start.cmp(&b.start))
            .then(a.kind.cmp(b.kind))
    });
    // Kept spans are disjoint, so only the one starting last before `end` can overlap.
    let mut kept: BTreeMap<usize, Cand> = BTreeMap::new();
    for x in c {
        if x.end <= x.start {
            continue;
        }
        let clash = kept.range(..x.end).next_back().is_some_and(|(_, k)| k.end > x.start);
        if !clash {
            kept.insert(x.start, x);
        }
    }
    kept.into_values().collect()
}

fn prev_byte(t: &str, i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| t.as_bytes().get(j).copied())
}

fn next_byte(t: &str, i: usize) -> Option<u8> {
    t.as_bytes().get(i).copied()
}

/// A token must not continue something longer on its left (base64 blobs, identifiers, paths).
fn left_ok(t: &str, start: usize) -> bool {
    !prev_byte(t, start).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/'))
}

fn floor_char(t: &str, mut i: usize) -> usize {
    if i >= t.len() {
        return t.len();
    }
    while i > 0 && !t.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn classify_vendor(v: Vendor, tok: &str) -> Option<(&'static str, Level)> {
    let body_after = |p: &str| tok.get(p.len()..).unwrap_or("");
    match v {
        Vendor::AwsKeyId => {
            let body = tok.get(4..).unwrap_or("");
            if tok.contains("EXAMPLE") {
                return Some(("aws_access_key_id", Level::L4));
            }
            if looks_fake(body) {
                return None;
            }
            // Real ids are base32: ~96% contain a digit. All letters may be an upper-case word.
            let level = if body.bytes().any(|b| b.is_ascii_digit()) { Level::L1 } else { Level::L2 };
            Some(("aws_access_key_id", level))
        }
        Vendor::Google => {
            let body = body_after("AIza");
            (body.len() == 35 && !looks_fake(body)).then_some(("google_api_key", Level::L1))
        }
        Vendor::GoogleOauth => {
            let body = body_after("GOCSPX-");
            if looks_fake(body) {
                return None;
            }
            Some(("google_oauth_client_secret", if body.len() == 28 { Level::L1 } else { Level::L2 }))
        }
        Vendor::OpenAi => {
            if tok.starts_with("sk-ant-") {
                return None;
            }
            let rest = body_after("sk-");
            for p in ["proj-", "svcacct-", "admin-"] {
                if let Some(body) = rest.strip_prefix(p) {
                    if looks_fake(body) {
                        return None;
                    }
                    return Some(("openai_api_key", if body.len() >= 40 { Level::L1 } else { Level::L2 }));
                }
            }
            if looks_fake(rest) {
                return None;
            }
            if rest.contains("T3BlbkFJ") {
                return Some(("openai_api_key", Level::L1));
            }
            let alnum_only = rest.bytes().all(|b| b.is_ascii_alphanumeric());
            if alnum_only && rest.len() == 48 && classes(rest) == 3 {
                return Some(("openai_api_key", Level::L1));
            }
            // Other `sk-` keys (DeepSeek, OpenRouter, ...): random enough to be a key.
            (rest.len() >= 32 && rest.bytes().any(|b| b.is_ascii_digit()) && entropy(rest) >= 3.5).then_some(("generic_secret", Level::L2))
        }
        Vendor::Anthropic => {
            let (kind, rest) = tok.get(7..).and_then(|r| r.split_once('-')).unwrap_or(("", ""));
            if looks_fake(rest) {
                return None;
            }
            let level = if matches!(kind, "api03" | "admin01") && rest.len() >= 80 { Level::L1 } else { Level::L2 };
            Some(("anthropic_api_key", level))
        }
        Vendor::GitHub => {
            let body = tok.get(4..).unwrap_or("");
            (body.len() >= 36 && !looks_fake(body)).then_some(("github_token", Level::L1))
        }
        Vendor::GitHubPat => {
            let body = body_after("github_pat_");
            if looks_fake(body) {
                return None;
            }
            match body.len() {
                82 => Some(("github_token", Level::L1)),
                40.. => Some(("github_token", Level::L2)),
                _ => None,
            }
        }
        Vendor::Slack => {
            let (pre, rest) = tok.split_once('-')?;
            if looks_fake(rest) {
                return None;
            }
            let segs: Vec<&str> = rest.split('-').collect();
            let numeric = segs.iter().filter(|s| s.len() >= 8 && s.bytes().all(|b| b.is_ascii_digit())).count();
            let last = segs.last().map_or(0, |s| s.len());
            let level = if pre == "xapp" {
                if segs.len() >= 4 && last >= 32 {
                    Level::L1
                } else {
                    Level::L2
                }
            } else if numeric >= 2 && last >= 16 {
                Level::L1
            } else if rest.len() >= 20 && classes(rest) >= 2 {
                Level::L2
            } else {
                return None;
            };
            Some(("slack_token", level))
        }
        Vendor::SlackWebhook => {
            let path = tok.split("hooks.slack.com/").nth(1)?;
            let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let secret = segs.last()?;
            if segs.len() < 3 || secret.len() < 16 || looks_fake(secret) {
                return None;
            }
            Some(("slack_webhook", Level::L1))
        }
        Vendor::Stripe => {
            let body = tok.get(8..).unwrap_or("");
            if looks_fake(body) {
                return None;
            }
            let level = if tok.get(3..7) == Some("test") {
                Level::L3
            } else if body.len() >= 20 {
                Level::L1
            } else {
                Level::L2
            };
            Some(("stripe_secret_key", level))
        }
    }
}

/// Placeholder bodies of vendor tokens: `ghp_XXXX...`, `sk-your-key-here`, `abcdef123456`.
fn looks_fake(body: &str) -> bool {
    let l = body.to_ascii_lowercase();
    const WORDS: [&str; 12] = ["xxxx", "your", "example", "placeholder", "redacted", "dummy", "fake", "sample", "here", "abcdef", "123456", "..."];
    if WORDS.iter().any(|w| l.contains(w)) || max_run(&l) >= 6 {
        return true;
    }
    let distinct = l.bytes().collect::<BTreeSet<u8>>().len();
    l.len() >= 16 && distinct < 8
}

fn max_run(s: &str) -> usize {
    let mut best = 0;
    let mut run = 0;
    let mut prev = None;
    for c in s.chars() {
        run = if Some(c) == prev { run + 1 } else { 1 };
        prev = Some(c);
        best = best.max(run);
    }
    best
}

/// Values that stand for a secret instead of being one.
fn is_placeholder(v: &str) -> bool {
    let l = v.trim().to_ascii_lowercase();
    const EXACT: [&str; 27] = [
        "tiger", "password", "passwd", "pass", "secret", "token", "changeme", "changeit", "none", "null", "nil", "undefined", "true", "false",
        "example", "test", "testing", "redacted", "hidden", "masked", "required", "optional", "string", "str", "your_password",
        "yourpassword", "empty",
    ];
    const STARTS: [&str; 14] = ["<", "{", "[", "$", "%", "(", "#{", "process.env", "os.environ", "os.getenv", "env.", "env(", "getenv", "secrets."];
    const HAS: [&str; 22] = [
        "...", "\u{2026}", "xxx", "***", "\u{2022}\u{2022}", "your", "example", "placeholder", "redacted", "dummy", "changeme", "change_me", "change-me",
        "insert", "replace", "{{", "}}", "<", ">", "here", "todo", "not_real",
    ];
    if l.is_empty() || EXACT.contains(&l.as_str()) || STARTS.iter().any(|s| l.starts_with(s)) || HAS.iter().any(|s| l.contains(s)) {
        return true;
    }
    let mut cs = l.chars();
    let first = cs.next();
    cs.all(|c| Some(c) == first)
}

/// Unquoted values that are code, not literals: calls, indexing, attribute paths, identifiers.
fn looks_like_code(v: &str) -> bool {
    if v.contains(['(', ')', '[', ']']) {
        return true;
    }
    let ident = |s: &str| {
        let mut b = s.bytes();
        b.next().is_some_and(|c| c.is_ascii_alphabetic() || c == b'_' || c == b'$') && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'$')
    };
    if v.contains('.') && v.split('.').all(ident) {
        return true;
    }
    let bytes = v.bytes();
    let all_lower_snake = v.contains('_') && bytes.clone().all(|c| c.is_ascii_lowercase() || c == b'_');
    let all_upper_snake = v.contains('_') && bytes.clone().all(|c| c.is_ascii_uppercase() || c == b'_' || c.is_ascii_digit());
    let camel = v.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
        && v.bytes().any(|c| c.is_ascii_uppercase())
        && v.bytes().all(|c| c.is_ascii_alphabetic());
    all_lower_snake || all_upper_snake || camel
}

fn trim_value_end(v: &str) -> &str {
    v.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}'])
}

const VENDOR_PREFIXES: [&str; 17] = [
    "AKIA", "ASIA", "AIza", "GOCSPX-", "sk-", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "xapp-", "sk_live_", "sk_test_",
    "rk_live_", "rk_test_",
];

fn assignment(c: &Captures) -> Option<Cand> {
    let key = c.name("key")?.as_str().to_ascii_lowercase();
    let (m, bare) = match (c.name("dq"), c.name("sq"), c.name("bare")) {
        (Some(m), _, _) | (_, Some(m), _) => (m, false),
        (_, _, Some(m)) => (m, true),
        _ => return None,
    };
    let val = if bare { trim_value_end(m.as_str()) } else { m.as_str() };
    if val.chars().count() < 8 || is_placeholder(val) || (bare && looks_like_code(val)) {
        return None;
    }
    // Vendor-prefixed values are judged by the vendor rules alone (`sk-proj-abc` is a stub).
    if VENDOR_PREFIXES.iter().any(|p| val.starts_with(p)) {
        return None;
    }
    // `PWD=/home/me` is the working directory.
    if key.ends_with("pwd") && (val.starts_with('/') || val.starts_with('~')) {
        return None;
    }
    let weak = bare && val.bytes().all(|b| b.is_ascii_lowercase());
    let level = if weak { Level::L4 } else { Level::L3 };
    Some(Cand { start: m.start(), end: m.start() + val.len(), level, kind: "password_assignment" })
}

/// Strips trailing punctuation that ends a sentence rather than the URL, and closing brackets
/// that have no opening partner inside it. One pass each way: linear in the URL.
fn trim_url_end(s: &str) -> &str {
    let surplus = |o: char, c: char| s.chars().fold(0i64, |n, x| n + i64::from(x == c) - i64::from(x == o));
    let (mut paren, mut brack, mut brace) = (surplus('(', ')'), surplus('[', ']'), surplus('{', '}'));
    let mut end = s.len();
    for (i, ch) in s.char_indices().rev() {
        let dec = |n: &mut i64| {
            let t = *n > 0;
            *n -= i64::from(t);
            t
        };
        let trim = match ch {
            '.' | ',' | '!' | '?' | ':' => true,
            ')' => dec(&mut paren),
            ']' => dec(&mut brack),
            '}' => dec(&mut brace),
            _ => false,
        };
        if !trim {
            break;
        }
        end = i;
    }
    s.get(..end).unwrap_or(s)
}

fn is_local_host(h: &str) -> bool {
    let h = h.trim_start_matches('[').to_ascii_lowercase();
    h == "localhost"
        || h.starts_with("127.")
        || h.starts_with("::1")
        || h.starts_with("0.0.0.0")
        || h.ends_with(".local")
        || h.ends_with(".localhost")
        || h.contains("example")
        || h.is_empty()
}

fn password_level(user: &str, pass: &str, host: &str) -> Option<Level> {
    let pass = pass.trim();
    if pass.is_empty() || is_placeholder(pass) {
        return None;
    }
    if pass.len() < 4 {
        return Some(Level::L3);
    }
    if is_local_host(host) || pass.eq_ignore_ascii_case(user.trim()) {
        return Some(Level::L2);
    }
    Some(Level::L1)
}

/// `scheme://user:pass@host/...`, Oracle's `user/pass@host` or a `password=` parameter.
fn url_conn_level(s: &str) -> Option<Level> {
    let rest = match s.find("://") {
        Some(i) => s.get(i + 3..)?,
        // jdbc:oracle:thin:scott/tiger@//host:1521/svc
        None => s.splitn(4, ':').nth(3).unwrap_or(""),
    };
    let q = rest.find(['?', '#', ';']).unwrap_or(rest.len());
    let auth_part = rest.get(..q).unwrap_or("");
    if let Some(at) = auth_part.rfind('@') {
        let userinfo = auth_part.get(..at).unwrap_or("");
        let host = auth_part.get(at + 1..).unwrap_or("").trim_start_matches('/').split(['/', ':', ',']).next().unwrap_or("");
        if let Some((user, pass)) = userinfo.split_once(':') {
            return password_level(user, pass, host);
        }
        if let Some((user, pass)) = userinfo.split_once('/') {
            return password_level(user, pass, host);
        }
    }
    // Password as a parameter: ?user=x&password=y or ;user=x;password=y
    let host = auth_part.split(['/', ':', ',', '@']).next().unwrap_or("");
    let mut user = "";
    let mut pass = None;
    for p in s.split(['?', '&', ';']).skip(1) {
        if let Some((k, v)) = p.split_once('=') {
            match k.trim().to_ascii_lowercase().as_str() {
                "user" | "username" | "uid" | "user id" => user = v,
                "password" | "pwd" | "pass" => pass = Some(v),
                _ => {}
            }
        }
    }
    password_level(user, pass?, host)
}

/// ADO.NET / ODBC / libpq pairs: needs a server key and a real password.
fn kv_conn_level<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Option<Level> {
    let (mut host, mut user, mut pass, mut has_server) = ("", "", None, false);
    for (k, v) in pairs {
        match k.trim().to_ascii_lowercase().as_str() {
            "server" | "data source" | "host" | "hostname" | "hostaddr" | "address" | "addr" | "network address" | "accountname" | "endpoint" => {
                host = v;
                has_server = true;
            }
            "dsn" | "driver" | "provider" | "dbname" => has_server = true,
            "user id" | "userid" | "uid" | "user" | "username" | "sharedaccesskeyname" => user = v,
            // Azure Storage / Service Bus keys play the password's part.
            "password" | "pwd" | "accountkey" | "sharedaccesskey" => pass = Some(v),
            _ => {}
        }
    }
    if !has_server {
        return None;
    }
    let host = host.trim().trim_start_matches("tcp:").split([',', '\\', ':']).next().unwrap_or("");
    password_level(user, pass?.trim_matches(['"', '\'']), host)
}

/// Base64 (standard or URL alphabet, padding optional).
fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1u32 << bits) - 1;
        }
    }
    Some(out)
}

fn b64_json_object(seg: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = b64_decode(seg)?;
    match serde_json::from_slice::<serde_json::Value>(&bytes).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Characters of base64 body lines in a PEM block (PEM headers like `Proc-Type:` don't count).
/// Lines may be real newlines or the `\n` escapes of a JSON string.
fn key_body_chars(body: &str) -> usize {
    body.split('\n')
        .flat_map(|l| l.split("\\n"))
        .map(|l| l.trim().trim_matches(['"', ',', '\\', 'r']).trim().trim_end_matches(['.', '\u{2026}']))
        .filter(|l| l.len() >= 16 && l.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=')))
        .map(str::len)
        .sum()
}

/// Character classes present: lower, upper, digit, other.
fn classes(v: &str) -> usize {
    let b = v.as_bytes();
    [
        b.iter().any(u8::is_ascii_lowercase),
        b.iter().any(u8::is_ascii_uppercase),
        b.iter().any(u8::is_ascii_digit),
        b.iter().any(|c| !c.is_ascii_alphanumeric()),
    ]
    .iter()
    .filter(|x| **x)
    .count()
}

/// Shannon entropy in bits per byte.
fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let n = v.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    counts.iter().filter(|&&c| c > 0).map(|&c| {
        let p = f64::from(c) / n;
        -p * p.log2()
    }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testing::{assert_none, assert_scan_invariants, findings, joined, only, scan_str, MIXED_FRAGMENTS};

    static D: std::sync::OnceLock<Result<Secrets, String>> = std::sync::OnceLock::new();

    fn d() -> &'static Secrets {
        D.get_or_init(Secrets::new).as_ref().unwrap()
    }

    /// Findings as (text, level, kind).
    fn hits(s: &str) -> Vec<(String, Level, String)> {
        scan_str(d(), s).into_iter().map(joined).collect()
    }

    #[test]
    fn compiles() {
        assert_eq!(D.get_or_init(Secrets::new).as_ref().err(), None);
    }

    /// The single finding in `s`: (text, level, kind).
    fn one(s: &str) -> (String, Level, String) {
        joined(only(d(), s))
    }

    fn none(s: &str) {
        assert_none(d(), s);
    }

    // Built at run time so the test source holds no literal that secret scanners flag.
    fn rnd(n: usize, seed: u64) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                A[(x % A.len() as u64) as usize] as char
            })
            .collect()
    }

    fn b64url(s: &str) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for ch in b.chunks(3) {
            let n = (u32::from(ch[0]) << 16) | (u32::from(*ch.get(1).unwrap_or(&0)) << 8) | u32::from(*ch.get(2).unwrap_or(&0));
            for i in 0..=ch.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    fn jwt(header: &str, payload: &str, sig: &str) -> String {
        format!("{}.{}.{}", b64url(header), b64url(payload), sig)
    }

    #[test]
    fn aws_access_key_id() {
        let k = format!("AKIA{}", "Q3ZP7XW2M5RT4KD6");
        assert_eq!(one(&format!("aws_access_key_id = {k}")), (k.clone(), Level::L1, "aws_access_key_id".into()));
        let k2 = format!("ASIA{}", "Z5Y2X7W4V3U6T2S5");
        assert_eq!(one(&format!("creds: {k2}.")).1, Level::L1);
        // Documented example: public, only paranoid policies flag it.
        assert_eq!(one("key AKIAIOSFODNN7EXAMPLE here").1, Level::L4);
        none(&format!("x{k}"));
        none(&format!("{k}Z"));
        none("AKIAXXXXXXXXXXXXXXXX");
    }

    #[test]
    fn aws_secret_access_key() {
        let id = format!("AKIA{}", "Q3ZP7XW2M5RT4KD6");
        let secret = format!("{}/{}+{}", rnd(20, 1), rnd(10, 2), rnd(8, 3));
        assert_eq!(secret.len(), 40);
        let h = hits(&format!("aws_secret_access_key = {secret}"));
        assert_eq!(h, vec![(secret.clone(), Level::L1, "aws_secret_access_key".into())]);
        let h = hits(&format!("id {id}\nsecret {secret}"));
        assert_eq!(h.len(), 2);
        assert_eq!(h[1], (secret.clone(), Level::L2, "aws_secret_access_key".into()));
        // Alone: a 40-char base64 run is not enough.
        none(&format!("blob {secret} end"));
        // A git SHA near an AWS secret name is not a secret key.
        let h = hits("AWS_SECRET_ACCESS_KEY commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3");
        assert!(h.iter().all(|x| x.2 != "aws_secret_access_key"), "{h:?}");
        assert_eq!(one("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").1, Level::L4);
    }

    #[test]
    fn google() {
        let k = format!("AIza{}", rnd(35, 4));
        assert_eq!(one(&format!("key={k}&q=1")), (k.clone(), Level::L1, "google_api_key".into()));
        none(&format!("AIza{}", rnd(20, 4)));
        let s = format!("GOCSPX-{}", rnd(28, 5));
        assert_eq!(one(&format!("client_secret: {s}")), (s, Level::L1, "google_oauth_client_secret".into()));
    }

    #[test]
    fn openai() {
        let k = format!("sk-proj-{}T3BlbkFJ{}", rnd(60, 6), rnd(60, 7));
        assert_eq!(one(&format!("OPENAI_API_KEY={k}")), (k.clone(), Level::L1, "openai_api_key".into()));
        let k = format!("sk-svcacct-{}", rnd(80, 8));
        assert_eq!(one(&k).1, Level::L1);
        let k = format!("sk-admin-{}", rnd(80, 9));
        assert_eq!(one(&k).2, "openai_api_key");
        let legacy = format!("sk-{}", rnd(48, 10));
        assert_eq!(one(&format!("\"{legacy}\"")), (legacy, Level::L1, "openai_api_key".into()));
        // Assignment with a vendor key: reported once, as the vendor key.
        let k = format!("sk-proj-{}", rnd(100, 11));
        assert_eq!(one(&format!("api_key = \"{k}\"")), (k, Level::L1, "openai_api_key".into()));
        none("export OPENAI_API_KEY=sk-...");
        none("use sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx as key");
        none("api_key = \"sk-your-api-key-goes-here-please\"");
        none("the scikit-learn-compatible estimator");
    }

    #[test]
    fn anthropic() {
        let k = format!("sk-ant-api03-{}AA", rnd(93, 12));
        assert_eq!(one(&format!("ANTHROPIC_API_KEY='{k}'")), (k, Level::L1, "anthropic_api_key".into()));
        let k = format!("sk-ant-admin01-{}", rnd(93, 13));
        assert_eq!(one(&k).2, "anthropic_api_key");
        none("sk-ant-api03-...");
    }

    #[test]
    fn github() {
        for p in ["ghp", "gho", "ghu", "ghs", "ghr"] {
            let k = format!("{p}_{}", rnd(36, 14));
            assert_eq!(one(&format!("token {k}")), (k, Level::L1, "github_token".into()));
        }
        let pat = format!("github_pat_{}_{}", rnd(22, 15), rnd(59, 16));
        assert_eq!(one(&pat), (pat.clone(), Level::L1, "github_token".into()));
        none("ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX");
        none("ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        none("ghp_short");
    }

    #[test]
    fn slack() {
        let t = format!("xoxb-{}-{}-{}", "7305918264", "4419027385563", rnd(24, 17));
        assert_eq!(one(&format!("SLACK_BOT_TOKEN={t}")), (t, Level::L1, "slack_token".into()));
        let t = format!("xoxp-{}-{}-{}-{}", "7305918264", "5519027385", "8846103927561", rnd(32, 18).to_lowercase());
        assert_eq!(one(&t).1, Level::L1);
        let t = format!("xapp-1-A{}-{}-{}", "07QK3M9ZP", "6619027385563", rnd(64, 19).to_lowercase());
        assert_eq!(one(&t), (t.clone(), Level::L1, "slack_token".into()));
        none("xoxb-your-token");
        let w = format!("https://hooks.slack.com/services/T0{}/B0{}/{}", "4KQ7Z2M9", "5RW3X8N1", rnd(24, 20));
        assert_eq!(one(&format!("post to {w}.")), (w, Level::L1, "slack_webhook".into()));
        none("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX");
    }

    #[test]
    fn stripe() {
        let live = format!("sk_{}_{}", "live", rnd(24, 21));
        assert_eq!(one(&live), (live.clone(), Level::L1, "stripe_secret_key".into()));
        let rk = format!("rk_{}_{}", "live", rnd(24, 22));
        assert_eq!(one(&rk).1, Level::L1);
        let test = format!("sk_{}_{}", "test", rnd(24, 23));
        assert_eq!(one(&test).1, Level::L3);
        none("pk_live_51H8publishablekeyisnotsecret");
        none("sk_live_xxxxxxxxxxxxxxxxxxxxxxxx");
    }

    fn pem_body() -> String {
        (0..8).map(|i| rnd(64, 100 + i)).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn private_keys() {
        for label in ["", "RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED "] {
            let k = format!("-----BEGIN {label}PRIVATE KEY-----\n{}\n-----END {label}PRIVATE KEY-----", pem_body());
            assert_eq!(one(&format!("here:\n{k}\nthanks")), (k, Level::L1, "private_key".into()));
        }
        let pgp = format!("-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG\n\n{}\n-----END PGP PRIVATE KEY BLOCK-----", pem_body());
        assert_eq!(one(&pgp).1, Level::L1);
        // Truncated paste: through the end of the text.
        let trunc = format!("-----BEGIN RSA PRIVATE KEY-----\n{}\n", pem_body());
        let h = one(&format!("key: {trunc}"));
        assert_eq!((h.0.as_str(), h.1), (trunc.trim_end(), Level::L1));
        // JSON-escaped (service-account files).
        let json = format!("{{\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}}", pem_body().replace('\n', "\\n"));
        let h = one(&json);
        assert_eq!((h.1, h.2.as_str()), (Level::L1, "private_key"));
        // Docs stubs.
        assert_eq!(one("-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----").1, Level::L3);
        assert_eq!(one("files start with -----BEGIN PRIVATE KEY----- and then").1, Level::L4);
        // Public material.
        none(&format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----", pem_body()));
        none(&format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----", pem_body()));
        none(&format!("ssh-rsa AAAAB3NzaC1yc2E{} user@host", rnd(300, 7)));
    }

    #[test]
    fn many_headers_stay_linear() {
        let s = "-----BEGIN PRIVATE KEY-----\n".repeat(20_000);
        let h = hits(&s);
        assert_eq!(h.len(), 20_000);
        assert!(h.iter().all(|x| x.1 == Level::L4));
    }

    #[test]
    fn jwts() {
        let sig = rnd(43, 30);
        let t = jwt(r#"{"alg":"HS256","typ":"JWT"}"#, r#"{"sub":"42","exp":1900000000}"#, &sig);
        assert_eq!(one(&format!("Authorization: Bearer {t}")), (t.clone(), Level::L1, "jwt".into()));
        let unsigned = jwt(r#"{"alg":"none"}"#, r#"{"sub":"42"}"#, "");
        assert_eq!(one(&format!("{unsigned} ok")).1, Level::L2);
        // Header without alg, or not JSON: not a JWT.
        none(&format!("{} x", jwt(r#"{"typ":"JWT","kid":"1"}"#, r#"{"sub":"42"}"#, &sig)));
        none("eyJhbGciOiJIUzI1NiJ9garbage.eyJzdWIiOiIxIn0.abc");
        let sample = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        assert_eq!(one(sample).1, Level::L4);
    }

    #[test]
    fn connection_strings() {
        let pw = rnd(16, 40);
        for scheme in ["postgres", "postgresql", "mysql", "mariadb", "mongodb", "mongodb+srv", "redis", "rediss", "amqp", "amqps", "mssql", "sqlserver"] {
            let c = format!("{scheme}://app:{pw}@db.prod.internal:5432/app");
            assert_eq!(one(&format!("DATABASE_URL={c}.")), (c, Level::L1, "connection_string".into()), "{scheme}");
        }
        let c = format!("redis://:{pw}@cache.internal:6379/0");
        assert_eq!(one(&c).1, Level::L1);
        let c = format!("jdbc:postgresql://db.internal:5432/app?user=app&password={pw}");
        assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
        let c = format!("jdbc:sqlserver://db.internal:1433;databaseName=app;user=sa;password={pw};");
        assert_eq!(one(&c).1, Level::L1);
        let c = format!("jdbc:mysql://app:{pw}@db.internal/app");
        assert_eq!(one(&c).1, Level::L1);
        let c = format!("Server=tcp:db.internal,1433;Initial Catalog=app;User Id=app;Password={pw};Encrypt=True;");
        assert_eq!(one(&format!("\"{c}\"")), (c.clone(), Level::L1, "connection_string".into()));
        let c = format!("Driver={{ODBC Driver 18 for SQL Server}};Server=db.internal;Uid=app;Pwd={{{pw}}};");
        assert_eq!(one(&c).1, Level::L1);
        let c = format!("DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={}==;EndpointSuffix=core.windows.net", rnd(86, 42));
        assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
        let c = format!("host=db.internal port=5432 dbname=app user=app password={pw}");
        assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
        // Development credentials: weaker.
        assert_eq!(one("postgres://postgres:postgres@localhost:5432/db").1, Level::L2);
        assert_eq!(one(&format!("mysql://root:{pw}@127.0.0.1/test")).1, Level::L2);
        // A JWT as the password: reported once, as the connection string.
        let t = jwt(r#"{"alg":"HS256"}"#, r#"{"sub":"1"}"#, &rnd(43, 41));
        let c = format!("mongodb://svc:{t}@mongo.internal/app");
        assert_eq!(one(&c), (c.clone(), Level::L1, "connection_string".into()));
        // No password, or a placeholder: not a secret.
        none("postgres://db.internal:5432/app");
        none("mongodb://app@mongo.internal/app");
        none("postgresql://user:password@localhost/mydb");
        none("postgres://user:<password>@host/db and mysql://u:${DB_PASS}@h/db");
        none("Server=db.internal;Database=app;Trusted_Connection=True;");
        none("Server=db.internal;Database=app;User Id=app;Password=;");
    }

    #[test]
    fn assignments() {
        assert_eq!(one("password = \"Tr0ub4dor&3x\""), ("Tr0ub4dor&3x".into(), Level::L3, "password_assignment".into()));
        assert_eq!(one("DB_PASSWORD=hunter2hunter2").1, Level::L3);
        assert_eq!(one("{\"client_secret\": \"q8Zp-2fLk_9w\"}").0, "q8Zp-2fLk_9w");
        assert_eq!(one("pwd: s3cr3t!pass").0, "s3cr3t!pass");
        assert_eq!(one("SECRET_KEY=django-insecure-8f$k2l#x9q!z@m4n7p").0, "django-insecure-8f$k2l#x9q!z@m4n7p");
        assert_eq!(one("secret_key_base: 3b7cd727ee24e8444053437c36cc66c4").1, Level::L3);
        assert_eq!(one("?token=Zx8pQ2mN5vB7&user=bob").0, "Zx8pQ2mN5vB7");
        assert_eq!(one("secret: correcthorse").1, Level::L4);
        let v = rnd(32, 50);
        assert_eq!(one(&format!("api_key: {v}")), (v.clone(), Level::L3, "password_assignment".into()));
        assert_eq!(one(&format!("my api key is {v}")), (v, Level::L4, "generic_secret".into()));
        assert_eq!(one("the password is Summer2024!").1, Level::L4);
        // Placeholders, code and prose.
        for s in [
            "password = \"YOUR_API_KEY\"",
            "api_key=<token>",
            "password: ********",
            "password = \"changeme\"",
            "token = '${GITHUB_TOKEN}'",
            "api_key = os.environ[\"OPENAI_API_KEY\"]",
            "password = getpass.getpass()",
            "token = self.access_token",
            "secret = client_secret_value",
            "token = nextPageToken",
            "PWD=/home/alice/projects",
            "Please reset your password by clicking the link.",
            "the token limit is 4096",
            "max_tokens: 4096",
            "password: short",
            "Enter your password: and press enter",
            "the password is incorrect",
            "if password == expected_password:",
            "OPENAI_API_KEY=sk-proj-abc",
            "token=undefined&password=null",
        ] {
            none(s);
        }
    }

    #[test]
    fn authorization_headers() {
        let tok = rnd(40, 60);
        assert_eq!(one(&format!("-H 'Authorization: Bearer {tok}'")), (tok, Level::L2, "bearer_token".into()));
        // base64("admin:s3cretpw")
        assert_eq!(one("Authorization: Basic YWRtaW46czNjcmV0cHc=").2, "basic_auth");
        none("Authorization: Bearer $TOKEN");
        none("Authorization: Bearer <token>");
        none("a basic understanding of bearer bonds");
    }

    #[test]
    fn hard_negatives() {
        none("commit a94a8fe5ccb19ba61c4c0873d391e987982fbbd3 fixes it");
        none("id 123e4567-e89b-12d3-a456-426614174000");
        none(&format!("<img src=\"data:image/png;base64,iVBORw0KGgo{}AIza{}sk-{}ghp_{}\">", rnd(200, 70), rnd(35, 71), rnd(48, 72), rnd(36, 73)));
        none("We use passwords and tokens to authenticate; keep your secret key safe.");
        none("token usage: 1234 tokens");
        none("");
        none("short");
    }

    #[test]
    fn non_ascii_surroundings() {
        let k = format!("ghp_{}", rnd(36, 80));
        assert_eq!(one(&format!("令牌：{k}。谢谢")).0, k);
        let c = format!("postgres://app:{}@db.internal/app", rnd(12, 81));
        assert_eq!(one(&format!("Verbindung «{c}» öffnen")).0, c);
        assert_eq!(one("密码password=Zürich2024!x").0, "Zürich2024!x");
        none("ünïcödé ✓ 🔑 ключ пароль");
    }

    #[test]
    fn findings_are_sorted_and_disjoint() {
        let s = format!("a ghp_{} b password=\"Xy7$abcQ9\" c -----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY----- d", rnd(36, 90), pem_body());
        let (_, out) = findings(d(), &s);
        assert_eq!(out.len(), 3);
        assert!(out.windows(2).all(|w| w[0].end <= w[1].start));
    }

    /// Deterministic mixes of tricky fragments keep the scan invariants (see the helper).
    #[test]
    fn mixed_inputs_do_not_panic() {
        assert_scan_invariants(d(), MIXED_FRAGMENTS, 1500, 40);
    }
}
