//! `unknown_links`: links whose domain is not on the allowlist.
//!
//! Finds scheme URLs (`https://`, `ftp://`, `wss://`, ...), `www.` hosts without a scheme, bare
//! domains followed by a path (`evil-site.xyz/login`) and script-capable pseudo-URLs
//! (`javascript:`, `vbscript:`, `data:`). A link is allowed when its host is an allowlist entry
//! or a subdomain of one: the built-in list (`data/domains.txt`, registrable domains of
//! well-known organisations) unless the policy turns it off, plus the policy's
//! `allowed_domains`. Each finding is labelled with the host's registrable domain (eTLD+1,
//! from a compact built-in list of multi-label public suffixes, else the last two labels), the
//! IP for IP hosts, or the pseudo-scheme (`javascript:`).
//!
//! Levels (lowest sensitivity that reports the link):
//! - `L1`: deceptive links whatever their form: raw IP hosts, punycode (`xn--`) or non-ASCII
//!   hosts (homoglyphs), percent-encoded hosts, `user@host` in web URLs
//!   (`https://google.com@evil.example`), `javascript:`/`vbscript:` URLs;
//! - `L2`: scheme URLs to an unknown domain; `data:` URLs that can run script (HTML, SVG);
//! - `L3`: `www.` links without a scheme; loopback hosts (`localhost`, `127.0.0.1`), which
//!   cannot phish anyone but still are not known sites;
//! - `L4`: bare domains with a path; other `data:` URLs.
//!
//! Not links: e-mail addresses, file names (`report.pdf`, `main.rs`), version and decimal
//! numbers, abbreviations (`e.g.`), attribute access (`os.path`, `console.log`). A bare domain
//! needs a path and a real top-level domain that is not also a common file extension.
//! Allowlisted URLs are searched for links nested in their path or query (open redirects such
//! as `https://www.google.com/url?q=https://evil.example/`).

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::{Detector, Finding};
use crate::policy::Level;
use crate::text::NormText;

const BUILTIN: &str = include_str!("data/domains.txt");

/// Nested-link searches inside allowlisted URLs per message: each rescans part of a URL, so
/// the cap keeps an adversarial chain of allowlisted URLs linear. Real open-redirect chains
/// are one or two deep.
const NESTED_BUDGET: usize = 4;

/// Multi-label public suffixes run by registries (ICANN section of the Public Suffix List): a
/// registrable domain is one label more. Policy entries may not be one of these.
const ICANN_SUFFIXES: &[&str] = &[
    "co.uk", "ac.uk", "gov.uk", "org.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk", "sch.uk", "nhs.uk", "police.uk",
    "com.au", "net.au", "org.au", "edu.au", "gov.au", "asn.au", "id.au",
    "co.nz", "net.nz", "org.nz", "ac.nz", "govt.nz", "school.nz",
    "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp", "gr.jp", "ed.jp", "lg.jp",
    "com.br", "net.br", "org.br", "gov.br", "edu.br",
    "co.in", "net.in", "org.in", "gov.in", "ac.in", "edu.in", "firm.in", "gen.in", "ind.in",
    "co.za", "org.za", "gov.za", "ac.za", "net.za", "web.za",
    "com.cn", "net.cn", "org.cn", "gov.cn", "edu.cn", "ac.cn",
    "com.hk", "org.hk", "gov.hk", "edu.hk", "net.hk",
    "com.sg", "gov.sg", "edu.sg", "org.sg", "net.sg",
    "com.tw", "org.tw", "gov.tw", "edu.tw", "net.tw",
    "co.kr", "or.kr", "go.kr", "ac.kr", "ne.kr", "re.kr",
    "com.mx", "gob.mx", "org.mx", "edu.mx", "net.mx",
    "com.ar", "gob.ar", "org.ar", "net.ar", "edu.ar",
    "com.tr", "gov.tr", "edu.tr", "org.tr", "net.tr",
    "co.il", "org.il", "gov.il", "ac.il", "net.il",
    "com.my", "gov.my", "edu.my", "org.my",
    "co.id", "go.id", "ac.id", "or.id", "web.id",
    "com.ph", "gov.ph", "edu.ph",
    "com.vn", "gov.vn", "edu.vn",
    "com.pk", "gov.pk", "edu.pk",
    "com.ng", "gov.ng", "edu.ng",
    "co.ke", "or.ke", "go.ke", "ac.ke",
    "com.eg", "gov.eg", "edu.eg",
    "com.sa", "gov.sa", "edu.sa",
    "com.ua", "gov.ua", "org.ua",
    "co.th", "go.th", "ac.th", "in.th",
    "com.pl", "net.pl", "org.pl", "gov.pl",
    "com.ru", "org.ru", "net.ru",
    "com.co", "gov.co", "edu.co",
    "com.pe", "gob.pe", "com.ve", "com.ec", "com.uy", "com.py", "com.bo",
    "gv.at", "co.at", "or.at", "ac.at",
    "gouv.fr", "asso.fr", "com.es", "gob.es", "org.es", "com.pt", "gov.pt", "com.gr", "gov.gr",
    "gc.ca", "gov.ie", "gov.it", "ac.be", "co.no", "gov.is",
];

/// Hosting platforms where every subdomain belongs to a different customer (private section
/// of the Public Suffix List): `evil.github.io` must not inherit anything from `github.io`.
const PLATFORM_SUFFIXES: &[&str] = &[
    "github.io", "githubusercontent.com", "gitlab.io", "herokuapp.com", "vercel.app", "netlify.app", "pages.dev",
    "workers.dev", "web.app", "firebaseapp.com", "appspot.com", "azurewebsites.net", "cloudapp.net", "cloudfront.net",
    "blogspot.com", "wordpress.com", "s3.amazonaws.com", "elasticbeanstalk.com", "ngrok.io", "ngrok-free.app",
    "ngrok.app", "glitch.me", "repl.co", "replit.app", "onrender.com", "fly.dev", "railway.app", "surge.sh",
    "readthedocs.io", "now.sh", "azurestaticapps.net", "r2.dev", "duckdns.org", "no-ip.org", "ddns.net",
    "trycloudflare.com", "myshopify.com", "wixsite.com", "weebly.com", "000webhostapp.com", "translate.goog",
];

/// Generic top-level domains accepted for bare domains (`name.tld/path`); any TLD is accepted
/// after a scheme or `www.`.
const GENERIC_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "pro", "mobi", "asia", "tel", "travel", "jobs", "aero",
    "coop", "museum", "xyz", "app", "dev", "online", "site", "store", "shop", "top", "club", "live", "tech", "space",
    "website", "icu", "vip", "link", "click", "win", "bid", "loan", "work", "cloud", "page", "blog", "news", "email",
    "today", "world", "life", "one", "art", "fun", "ink", "lol", "zip", "mov", "rest", "bar", "wiki", "design", "agency",
    "digital", "network", "systems", "solutions", "services", "support", "host", "press", "media", "studio", "social",
    "group", "company", "center", "zone", "global", "money", "finance", "bank", "insurance", "legal", "health",
    "academy", "school", "university", "education", "chat", "download", "review", "stream", "games", "casino", "bet",
    "poker", "porn", "sex", "xxx", "adult", "sexy", "dating", "date", "love", "men", "buzz", "guru", "ninja", "rocks",
    "country", "kim", "party", "science", "racing", "faith", "trade", "accountant", "cricket", "webcam", "gq", "cam",
    "quest", "sbs", "cfd", "help", "support", "city", "land", "run", "wtf", "gdn", "biz", "cyou", "monster", "best",
    "ltd", "inc", "llc", "foundation", "institute", "events", "tips", "tools", "software", "codes", "build", "technology",
    "google", "amazon", "microsoft", "apple",
];

/// Country-code TLDs.
const COUNTRY_TLDS: &[&str] = &[
    "ac", "ad", "ae", "af", "ag", "ai", "al", "am", "ao", "aq", "ar", "as", "at", "au", "aw", "ax", "az", "ba", "bb", "bd",
    "be", "bf", "bg", "bh", "bi", "bj", "bm", "bn", "bo", "br", "bs", "bt", "bw", "by", "bz", "ca", "cc", "cd", "cf", "cg",
    "ch", "ci", "ck", "cl", "cm", "cn", "co", "cr", "cu", "cv", "cw", "cx", "cy", "cz", "de", "dj", "dk", "dm", "do", "dz",
    "ec", "ee", "eg", "er", "es", "et", "eu", "fi", "fj", "fk", "fm", "fo", "fr", "ga", "gd", "ge", "gf", "gg", "gh", "gi",
    "gl", "gm", "gn", "gp", "gq", "gr", "gs", "gt", "gu", "gw", "gy", "hk", "hm", "hn", "hr", "ht", "hu", "id", "ie", "il",
    "im", "in", "io", "iq", "ir", "is", "it", "je", "jm", "jo", "jp", "ke", "kg", "kh", "ki", "km", "kn", "kp", "kr", "kw",
    "ky", "kz", "la", "lb", "lc", "li", "lk", "lr", "ls", "lt", "lu", "lv", "ly", "ma", "mc", "md", "me", "mg", "mh", "mk",
    "ml", "mm", "mn", "mo", "mp", "mq", "mr", "ms", "mt", "mu", "mv", "mw", "mx", "my", "mz", "na", "nc", "ne", "nf", "ng",
    "ni", "nl", "no", "np", "nr", "nu", "nz", "om", "pa", "pe", "pf", "pg", "ph", "pk", "pl", "pm", "pn", "pr", "ps", "pt",
    "pw", "py", "qa", "re", "ro", "rs", "ru", "rw", "sa", "sb", "sc", "sd", "se", "sg", "sh", "si", "sk", "sl", "sm", "sn",
    "so", "sr", "ss", "st", "sv", "sx", "sy", "sz", "tc", "td", "tf", "tg", "th", "tj", "tk", "tl", "tm", "tn", "to", "tr",
    "tt", "tv", "tw", "tz", "ua", "ug", "uk", "us", "uy", "uz", "va", "vc", "ve", "vg", "vi", "vn", "vu", "wf", "ws", "ye",
    "yt", "za", "zm", "zw",
];

/// Country codes that are mostly file extensions in chat text (`main.rs/`, `setup.py/`).
const FILE_LIKE_TLDS: &[&str] = &["py", "rs", "md", "sh", "pl", "ps", "ml", "mk", "cc", "so", "pm", "tf", "sc", "cs"];

/// Characters of a URL: RFC 3986 plus non-ASCII letters, digits and marks (IRIs).
const URL_CHARS: &str = r"[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%\p{L}\p{N}\p{M}]";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Scheme,
    Www,
    Bare,
}

pub struct UnknownLinks {
    allowed: BTreeSet<String>,
    suffixes: BTreeSet<&'static str>,
    bare_tlds: BTreeSet<&'static str>,
    scheme: Regex,
    pseudo: Regex,
    www: Regex,
    bare: Regex,
}

impl UnknownLinks {
    /// `Err` names the offending entry (`allowed_domains[i]: ...`) for the config error.
    pub fn new(allowed: &[String], builtin: bool) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        if builtin {
            for (n, line) in BUILTIN.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let d = normalise_entry(line, false).map_err(|why| format!("built-in domain list line {}: {why}", n + 1))?;
                set.insert(d);
            }
        }
        for (i, e) in allowed.iter().enumerate() {
            set.insert(normalise_entry(e, true).map_err(|why| format!("allowed_domains[{i}]: {why}"))?);
        }
        let re = |p: &str| Regex::new(p).map_err(|e| e.to_string());
        let u = URL_CHARS;
        Ok(UnknownLinks {
            allowed: set,
            suffixes: ICANN_SUFFIXES.iter().chain(PLATFORM_SUFFIXES).copied().collect(),
            bare_tlds: GENERIC_TLDS.iter().chain(COUNTRY_TLDS).filter(|t| !FILE_LIKE_TLDS.contains(t)).copied().collect(),
            scheme: re(&format!(r"(?i)(?:https?|ftps?|sftp|wss?|ssh|git|telnet|smb|irc|rtsp)://{u}+"))?,
            pseudo: re(r#"(?i)(?:javascript|vbscript):[^\s"'<>`]+|data:[a-z]+/[a-z0-9.+\-]+[;,][^\s"'<>`]*"#)?,
            www: re(&format!(r"(?i)www\d{{0,3}}\.{u}+"))?,
            bare: re(&format!(r"(?i)(?:[a-z0-9](?:[a-z0-9\-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,24}}(?::\d{{1,5}})?/{u}*"))?,
        })
    }

    fn is_allowed(&self, host: &str) -> bool {
        if is_ip(host) {
            return self.allowed.contains(host.trim_start_matches('[').trim_end_matches(']'));
        }
        let mut h = host;
        loop {
            if self.allowed.contains(h) {
                return true;
            }
            match h.split_once('.') {
                Some((_, rest)) => h = rest,
                None => return false,
            }
        }
    }

    /// eTLD+1: the longest known multi-label suffix plus one label, else the last two labels.
    fn registrable(&self, host: &str) -> String {
        if is_ip(host) {
            return host.trim_start_matches('[').trim_end_matches(']').to_string();
        }
        let labels: Vec<&str> = host.split('.').collect();
        let n = labels.len();
        let mut keep = 2;
        for k in [3usize, 2] {
            if n >= k {
                let sfx = labels.get(n - k..).map(|l| l.join(".")).unwrap_or_default();
                if self.suffixes.contains(sfx.as_str()) {
                    keep = k + 1;
                    break;
                }
            }
        }
        labels.get(n.saturating_sub(keep)..).map(|l| l.join(".")).unwrap_or_else(|| host.to_string())
    }

    /// The finding for one link, or `None` when it is allowed or not a usable link.
    fn judge(&self, url: &str, host_start: usize, form: Form, scheme: &str) -> Judged {
        let Some(a) = parse_authority(url, host_start) else { return Judged::Skip };
        let host = a.host.trim_end_matches('.').to_lowercase();
        if host.is_empty() {
            return Judged::Skip;
        }
        if self.is_allowed(&host) {
            return Judged::Allowed { authority_end: a.end };
        }
        let loopback = host == "localhost" || host.ends_with(".localhost") || host.starts_with("127.") || host == "[::1]";
        let web = matches!(scheme, "http" | "https") || form != Form::Scheme;
        let deceptive = (is_ip(&host) && !loopback)
            || !host.is_ascii()
            || host.split('.').any(|l| l.starts_with("xn--"))
            || host.contains('%')
            || (a.userinfo && web);
        let level = if deceptive {
            Level::L1
        } else if loopback {
            Level::L3
        } else {
            match form {
                Form::Scheme => Level::L2,
                Form::Www => Level::L3,
                Form::Bare => Level::L4,
            }
        };
        Judged::Report(level, self.registrable(&host))
    }
}

enum Judged {
    Skip,
    Allowed { authority_end: usize },
    Report(Level, String),
}

struct Authority<'a> {
    host: &'a str,
    userinfo: bool,
    /// Byte offset in the URL where the authority ends.
    end: usize,
}

fn parse_authority(url: &str, host_start: usize) -> Option<Authority<'_>> {
    let rest = url.get(host_start..)?;
    let len = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let auth = rest.get(..len)?;
    let (userinfo, hostport) = match auth.rfind('@') {
        Some(i) => (true, auth.get(i + 1..)?),
        None => (false, auth),
    };
    let host = if hostport.starts_with('[') {
        hostport.get(..hostport.find(']').map_or(hostport.len(), |i| i + 1))?
    } else {
        hostport.split(':').next().unwrap_or("")
    };
    Some(Authority { host, userinfo, end: host_start + len })
}

/// IPv4 in any notation browsers accept (dotted, decimal, hex, octal) or a bracketed IPv6.
fn is_ip(host: &str) -> bool {
    if host.starts_with('[') {
        return true;
    }
    let h = host.trim_end_matches('.');
    if h.is_empty() {
        return false;
    }
    let digits = h.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let hex = h.starts_with("0x") && h.bytes().all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b'x');
    digits || hex
}

/// Validates and normalises an allowlist entry; `policy` entries may not be public suffixes.
fn normalise_entry(raw: &str, policy: bool) -> Result<String, String> {
    let e = raw.trim().to_ascii_lowercase();
    let e = e.strip_prefix("*.").unwrap_or(&e);
    if e.contains("://") {
        return Err(format!("{raw:?} must be a bare domain such as example.com, without a scheme"));
    }
    if e.contains('/') {
        return Err(format!("{raw:?} must be a bare domain such as example.com, without a path"));
    }
    if e.contains(':') {
        return Err(format!("{raw:?} must be a bare domain such as example.com, without a port"));
    }
    if e.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = e.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.')) {
        return Err(format!("{raw:?} contains {c:?}: only letters, digits, hyphens and dots are allowed (an optional leading \"*.\"; IDNs in punycode)"));
    }
    if e.len() > 253 {
        return Err(format!("{raw:?} is longer than 253 characters"));
    }
    for l in e.split('.') {
        if l.is_empty() {
            return Err(format!("{raw:?} has an empty label"));
        }
        if l.len() > 63 || l.starts_with('-') || l.ends_with('-') {
            return Err(format!("{raw:?} has an invalid label {l:?}"));
        }
    }
    if policy {
        let single_tld = !e.contains('.') && (GENERIC_TLDS.contains(&e) || COUNTRY_TLDS.contains(&e));
        if single_tld || ICANN_SUFFIXES.contains(&e) {
            return Err(format!("{raw:?} is a public suffix and would allow every site under it; list a registrable domain such as example.{e}"));
        }
    }
    Ok(e.to_string())
}

/// Strips punctuation that ends the sentence rather than the URL, and closing brackets with
/// no opening partner inside it (`[text](https://x.example/a)`). Linear in the URL.
fn trim_url(s: &str) -> &str {
    let surplus = |o: char, c: char| s.chars().fold(0i64, |n, x| n + i64::from(x == c) - i64::from(x == o));
    let (mut paren, mut brack) = (surplus('(', ')'), surplus('[', ']'));
    let mut end = s.len();
    for (i, ch) in s.char_indices().rev() {
        let dec = |n: &mut i64| {
            let t = *n > 0;
            *n -= i64::from(t);
            t
        };
        let trim = match ch {
            '.' | ',' | ';' | ':' | '!' | '?' | '*' | '_' => true,
            ')' => dec(&mut paren),
            ']' => dec(&mut brack),
            _ => false,
        };
        if !trim {
            break;
        }
        end = i;
    }
    s.get(..end).unwrap_or(s)
}

fn prev_char(t: &str, i: usize) -> Option<char> {
    t.get(..i).and_then(|p| p.chars().next_back())
}

/// Disjoint spans, keyed by start.
#[derive(Default)]
struct Spans(BTreeMap<usize, usize>);

impl Spans {
    fn overlaps(&self, s: usize, e: usize) -> bool {
        self.0.range(..e.max(s + 1)).next_back().is_some_and(|(_, &end)| end > s)
    }
    fn add(&mut self, s: usize, e: usize) {
        self.0.insert(s, e);
    }
}

impl Detector for UnknownLinks {
    fn scan(&self, text: &NormText, out: &mut Vec<Finding>) {
        let t = text.text.as_str();
        if !t.contains(['.', ':']) {
            return;
        }
        let mut found: Vec<Finding> = Vec::new();
        let mut taken = Spans::default();
        let push = |found: &mut Vec<Finding>, taken: &mut Spans, s: usize, e: usize, level: Level, label: String| {
            taken.add(s, e);
            found.push(Finding { start: s, end: e, level, labels: vec![label] });
        };

        // Scheme URLs, with nested links inside allowlisted ones.
        if t.contains("://") {
            let mut pos = 0;
            let mut budget = NESTED_BUDGET;
            while let Some(m) = self.scheme.find_at(t, pos) {
                let s = m.start();
                let url = trim_url(m.as_str());
                let e = s + url.len();
                pos = m.end();
                if prev_char(t, s).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')) || taken.overlaps(s, e) {
                    continue;
                }
                let Some(sep) = url.find("://") else { continue };
                let scheme = url.get(..sep).unwrap_or("").to_ascii_lowercase();
                match self.judge(url, sep + 3, Form::Scheme, &scheme) {
                    Judged::Report(level, label) => {
                        push(&mut found, &mut taken, s, e, level, label);
                        pos = e;
                    }
                    Judged::Allowed { authority_end } => {
                        // Only the authority is "taken": the path may carry another link.
                        taken.add(s, s + authority_end);
                        if budget > 0 && url.get(authority_end..).is_some_and(|rest| rest.contains("://")) {
                            budget -= 1;
                            pos = s + authority_end;
                        }
                    }
                    Judged::Skip => {}
                }
            }
        }

        if t.contains(':') {
            for m in self.pseudo.find_iter(t) {
                let (s, url) = (m.start(), trim_url(m.as_str()));
                let e = s + url.len();
                if prev_char(t, s).is_some_and(|c| c.is_ascii_alphanumeric()) || taken.overlaps(s, e) {
                    continue;
                }
                let lower = url.to_ascii_lowercase();
                let (level, label) = if let Some(body) = lower.strip_prefix("javascript:") {
                    // The no-op placeholder of `href` attributes.
                    if matches!(body.trim_end_matches(';'), "" | "void(0)" | "void 0") {
                        continue;
                    }
                    (Level::L1, "javascript:")
                } else if lower.starts_with("vbscript:") {
                    (Level::L1, "vbscript:")
                } else {
                    let scriptable = ["data:text/html", "data:application/xhtml", "data:image/svg", "data:text/javascript", "data:application/javascript"];
                    (if scriptable.iter().any(|p| lower.starts_with(p)) { Level::L2 } else { Level::L4 }, "data:")
                };
                push(&mut found, &mut taken, s, e, level, label.to_string());
            }
        }

        let lower = t.to_ascii_lowercase();
        if lower.contains("www") {
            for m in self.www.find_iter(t) {
                let (s, url) = (m.start(), trim_url(m.as_str()));
                let e = s + url.len();
                if prev_char(t, s).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '/' | '-' | '_')) || taken.overlaps(s, e) {
                    continue;
                }
                // `www.name.tld` as written, before any `@` that would hand over to another host.
                let written = url.split(['/', '?', '#', ':', '@', '\\']).next().unwrap_or("");
                let labels: Vec<&str> = written.split('.').collect();
                if labels.len() < 3 || !labels.last().is_some_and(|l| l.len() >= 2 && l.chars().all(char::is_alphabetic)) {
                    continue;
                }
                if let Judged::Report(level, label) = self.judge(url, 0, Form::Www, "") {
                    push(&mut found, &mut taken, s, e, level, label);
                }
            }
        }

        if t.contains('/') {
            for m in self.bare.find_iter(t) {
                let (s, url) = (m.start(), trim_url(m.as_str()));
                let e = s + url.len();
                if prev_char(t, s).is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '/' | '\\' | '-' | '_' | '$' | '%' | ':' | '~')) || taken.overlaps(s, e) {
                    continue;
                }
                let Some(a) = parse_authority(url, 0) else { continue };
                let tld = a.host.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
                if !self.bare_tlds.contains(tld.as_str()) {
                    continue;
                }
                if let Judged::Report(level, label) = self.judge(url, 0, Form::Bare, "") {
                    push(&mut found, &mut taken, s, e, level, label);
                }
            }
        }

        found.sort_by_key(|f| (f.start, f.end));
        out.extend(found);
    }
}

#[cfg(test)]
mod tests;
