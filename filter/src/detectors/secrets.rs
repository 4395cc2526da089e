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
mod tests;
