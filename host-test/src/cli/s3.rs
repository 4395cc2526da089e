//! A minimal S3 client for `parapet logs export --bucket`: HEAD and PUT of objects, signed
//! with AWS Signature Version 4 in the `Authorization` header (HMAC-SHA256 from the RustCrypto
//! `hmac` and `sha2` crates) and sent with `ureq` (TLS: rustls).
//!
//! Nothing secret is ever put in a message: errors name the endpoint, bucket and key; the
//! secret key only enters the HMAC, and no header is printed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use super::logs::civil_from_days;

const TIMEOUT: Duration = Duration::from_secs(120);

/// Credentials from the environment.
pub struct Credentials {
    key: String,
    secret: String,
    token: Option<String>,
}

impl Credentials {
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (required), AWS_SESSION_TOKEN (optional).
    pub fn from_env() -> Result<Credentials, String> {
        let get = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let (Some(key), Some(secret)) = (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) else {
            return Err("--bucket needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_string());
        };
        Ok(Credentials { key, secret, token: get("AWS_SESSION_TOKEN") })
    }
}

// ---------------------------------------------------------------------------------------------
// Signature Version 4 (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html)

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length; the error arm cannot happen.
    match <Hmac<Sha256>>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data.as_bytes());
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// S3's URI encoding of an object path: every byte except `A-Z a-z 0-9 - _ . ~` and `/`
/// becomes `%XX` (so a key's `:` and `+` are `%3A` and `%2B`). The request path and the
/// canonical URI are the same string (S3 does not encode twice).
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() * 2);
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` of a time since the epoch.
pub fn amz_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!("{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z", r / 3600, r % 3600 / 60, r % 60)
}

/// The `Authorization` header value for a request. `headers` are the signed headers, names in
/// lower case, sorted; `query` the canonical query string (empty here).
#[allow(clippy::too_many_arguments)]
pub fn authorization(
    method: &str,
    canonical_uri: &str,
    query: &str,
    headers: &[(&str, &str)],
    payload_hash: &str,
    date: &str,
    region: &str,
    key: &str,
    secret: &str,
) -> String {
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{}\n", v.trim())).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
    let signed = signed.join(";");
    let canonical_request = format!("{method}\n{canonical_uri}\n{query}\n{canonical_headers}\n{signed}\n{payload_hash}");
    let day = &date[..8.min(date.len())];
    let scope = format!("{day}/{region}/s3/aws4_request");
    let string_to_sign = format!("AWS4-HMAC-SHA256\n{date}\n{scope}\n{}", sha256_hex(canonical_request.as_bytes()));
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), day);
    let k_region = hmac(&k_date, region);
    let k_service = hmac(&k_region, "s3");
    let k_signing = hmac(&k_service, "aws4_request");
    let signature = hex(&hmac(&k_signing, &string_to_sign));
    format!("AWS4-HMAC-SHA256 Credential={key}/{scope}, SignedHeaders={signed}, Signature={signature}")
}

// ---------------------------------------------------------------------------------------------
// Buckets and objects.

/// Splits `s3://NAME` or `s3://NAME/PREFIX` into the name and the prefix without slashes at
/// its ends (`s3://logs/siem/parapet/` has the prefix `siem/parapet`).
pub fn parse_bucket_url(url: &str) -> Result<(String, String), String> {
    let rest = url.strip_prefix("s3://").ok_or_else(|| format!("--bucket: expected s3://NAME or s3://NAME/PREFIX, got {url:?}"))?;
    let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let valid_name = (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric());
    if !valid_name {
        return Err(format!("--bucket: {name:?} is not a valid bucket name (3 to 63 lower-case letters, digits, '-' or '.')"));
    }
    let prefix = prefix.trim_matches('/');
    if !prefix.is_empty() && prefix.split('/').any(str::is_empty) {
        return Err(format!("--bucket: the prefix {prefix:?} has an empty path segment"));
    }
    Ok((name.to_string(), prefix.to_string()))
}

/// The object key of a layout path under a prefix.
pub fn object_key(prefix: &str, path: &str) -> String {
    if prefix.is_empty() {
        path.to_string()
    } else {
        format!("{prefix}/{path}")
    }
}

/// `http(s)://HOST[:PORT]` without a path, query or credentials; the default port dropped
/// (the Host header, which is signed, carries none either). Returns (scheme, authority).
fn parse_endpoint(endpoint: &str) -> Result<(String, String), String> {
    let bad = || format!("--endpoint: expected http://HOST[:PORT] or https://HOST[:PORT], got {endpoint:?}");
    let (scheme, rest) = endpoint.split_once("://").ok_or_else(bad)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, rest) = v6.split_once(']').ok_or_else(bad)?;
            (format!("[{addr}]"), if rest.is_empty() { None } else { Some(rest.strip_prefix(':').ok_or_else(bad)?) })
        }
        None => match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        },
    };
    if host.is_empty() || host == "[]" {
        return Err(bad());
    }
    let authority = match port {
        None => host,
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().is_err() => return Err(bad()),
        Some(p) if (scheme == "http" && p == "80") || (scheme == "https" && p == "443") => host,
        Some(p) => format!("{host}:{p}"),
    };
    Ok((scheme, authority.to_ascii_lowercase()))
}

/// A bucket, an optional key prefix, where and how to reach it, and an HTTP agent.
pub struct Bucket {
    name: String,
    prefix: String,
    region: String,
    scheme: String,
    /// The Host header: the endpoint's authority, or NAME.s3.REGION.amazonaws.com.
    host: String,
    /// Path-style requests (`/NAME/KEY`) for an explicit endpoint, virtual-hosted (`/KEY`) for AWS.
    path_style: bool,
    endpoint: String,
    agent: ureq::Agent,
}

impl Bucket {
    /// `--bucket`, `--endpoint` (path-style requests; default: AWS, virtual-hosted style) and
    /// the region used for signing.
    pub fn from_flags(bucket_url: &str, endpoint: Option<&str>, region: Option<&str>) -> Result<Bucket, String> {
        let (name, prefix) = parse_bucket_url(bucket_url)?;
        let region = region.unwrap_or("us-east-1").to_string();
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("--region: {region:?} is not a region name"));
        }
        let (scheme, host, path_style) = match endpoint {
            Some(e) => {
                let (scheme, authority) = parse_endpoint(e)?;
                (scheme, authority, true)
            }
            None => ("https".to_string(), format!("{name}.s3.{region}.amazonaws.com"), false),
        };
        let endpoint = if path_style { format!("{scheme}://{host}") } else { format!("https://s3.{region}.amazonaws.com") };
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(TIMEOUT)).build().into();
        Ok(Bucket { name, prefix, region, scheme, host, path_style, endpoint, agent })
    }

    pub fn key(&self, path: &str) -> String {
        object_key(&self.prefix, path)
    }

    /// `s3://NAME/KEY`, for messages.
    pub fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    /// `s3://NAME/PREFIX/ at ENDPOINT`, for messages.
    pub fn describe(&self) -> String {
        let prefix = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        format!("s3://{}/{prefix} at {}", self.name, self.endpoint)
    }

    fn object_path(&self, key: &str) -> String {
        if self.path_style {
            encode_path(&format!("/{}/{key}", self.name))
        } else {
            encode_path(&format!("/{key}"))
        }
    }

    /// Sends one signed request; returns the status and (for errors) the body.
    fn send(&self, creds: &Credentials, method: &str, key: &str, body: &[u8]) -> Result<(u16, String), String> {
        let path = self.object_path(key);
        let url = format!("{}://{}{path}", self.scheme, self.host);
        let payload = sha256_hex(body);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let date = amz_date(now);
        let mut signed: Vec<(&str, &str)> = vec![("host", &self.host), ("x-amz-content-sha256", &payload), ("x-amz-date", &date)];
        if let Some(t) = &creds.token {
            signed.push(("x-amz-security-token", t));
        }
        let auth = authorization(method, &path, "", &signed, &payload, &date, &self.region, &creds.key, &creds.secret);
        let failed = |e: ureq::Error| format!("cannot reach {} for {}: {e}", self.endpoint, self.url_of(key));
        let mut resp = if method == "PUT" {
            let mut req = self.agent.put(&url).header("content-type", "application/x-ndjson");
            for (k, v) in signed.iter().filter(|(k, _)| *k != "host") {
                req = req.header(*k, *v);
            }
            req.header("authorization", &auth).send(body).map_err(failed)?
        } else {
            let mut req = self.agent.head(&url);
            for (k, v) in signed.iter().filter(|(k, _)| *k != "host") {
                req = req.header(*k, *v);
            }
            req.header("authorization", &auth).call().map_err(failed)?
        };
        let status = resp.status().as_u16();
        let text = if (200..300).contains(&status) || method == "HEAD" {
            String::new()
        } else {
            resp.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default()
        };
        Ok((status, text))
    }

    /// Whether an object exists (HEAD: 200 yes, 404 no, anything else an error).
    pub fn exists(&self, creds: &Credentials, key: &str) -> Result<bool, String> {
        match self.send(creds, "HEAD", key, b"")? {
            (200, _) => Ok(true),
            (404, _) => Ok(false),
            (403, _) => Err(format!(
                "cannot check {} at {}: access denied (HTTP 403); check the credentials, --region and the bucket's policy",
                self.url_of(key),
                self.endpoint
            )),
            (s, _) => Err(format!("cannot check {} at {}: HTTP {s}", self.url_of(key), self.endpoint)),
        }
    }

    /// Uploads one object (content type application/x-ndjson).
    pub fn put(&self, creds: &Credentials, key: &str, body: &[u8]) -> Result<(), String> {
        match self.send(creds, "PUT", key, body)? {
            (200..=299, _) => Ok(()),
            (s, text) => Err(format!("cannot upload {} at {}: HTTP {s}{}", self.url_of(key), self.endpoint, s3_error(&text))),
        }
    }
}

/// `: Code: Message` from an S3 XML error body, or nothing.
fn s3_error(xml: &str) -> String {
    let tag = |name: &str| -> Option<String> {
        let open = format!("<{name}>");
        let start = xml.find(&open)? + open.len();
        let len = xml[start..].find(&format!("</{name}>"))?;
        Some(xml[start..start + len].chars().take(300).collect())
    };
    match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => format!(": {c}: {m}"),
        (Some(c), None) => format!(": {c}"),
        _ => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn bucket_urls() {
        assert_eq!(parse_bucket_url("s3://logs").unwrap(), ("logs".into(), "".into()));
        assert_eq!(parse_bucket_url("s3://logs/").unwrap(), ("logs".into(), "".into()));
        assert_eq!(parse_bucket_url("s3://my.logs-1/siem/parapet/").unwrap(), ("my.logs-1".into(), "siem/parapet".into()));
        for bad in ["logs", "s3://", "s3://ab", "s3://Logs", "s3://-logs", "s3://logs_x/p", "s3://logs/a//b", "https://logs/p"] {
            assert!(parse_bucket_url(bad).is_err(), "{bad:?}");
        }
        assert_eq!(object_key("", "2026/11/22/03/x.jsonl"), "2026/11/22/03/x.jsonl");
        assert_eq!(object_key("siem/parapet", "2026/11/22/03/x.jsonl"), "siem/parapet/2026/11/22/03/x.jsonl");
    }

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoint("http://127.0.0.1:9000/").unwrap(), ("http".into(), "127.0.0.1:9000".into()));
        assert_eq!(parse_endpoint("HTTPS://Minio.Example:443").unwrap(), ("https".into(), "minio.example".into()));
        assert_eq!(parse_endpoint("http://[::1]:9000").unwrap(), ("http".into(), "[::1]:9000".into()));
        for bad in ["ftp://h", "127.0.0.1:9000", "http://", "http://h/path", "http://u:p@h", "http://h:x", "http://h:70000", "http://h?x"] {
            assert!(parse_endpoint(bad).is_err(), "{bad:?}");
        }
        let b = Bucket::from_flags("s3://logs/p/", Some("http://127.0.0.1:9000/"), Some("eu-west-1")).unwrap();
        assert_eq!(b.key("a/b.jsonl"), "p/a/b.jsonl");
        assert_eq!(b.describe(), "s3://logs/p/ at http://127.0.0.1:9000");
        assert_eq!(b.object_path("p/2026/11/22/03/2026-11-22T03:10:00+00:00.jsonl"), "/logs/p/2026/11/22/03/2026-11-22T03%3A10%3A00%2B00%3A00.jsonl");
        let aws = Bucket::from_flags("s3://logs", None, Some("eu-west-1")).unwrap();
        assert_eq!(aws.describe(), "s3://logs/ at https://s3.eu-west-1.amazonaws.com");
        assert_eq!((aws.host.as_str(), aws.object_path("a b")), ("logs.s3.eu-west-1.amazonaws.com", "/a%20b".to_string()));
        assert!(Bucket::from_flags("s3://logs", None, Some("eu west")).is_err());
    }

    #[test]
    fn signature_v4_matches_the_aws_example() {
        // "Example: GET Object" of the S3 SigV4 header-based authentication documentation.
        let empty = sha256_hex(b"");
        assert_eq!(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let auth = authorization(
            "GET",
            "/test.txt",
            "",
            &[("host", "examplebucket.s3.amazonaws.com"), ("range", "bytes=0-9"), ("x-amz-content-sha256", &empty), ("x-amz-date", "20130524T000000Z")],
            &empty,
            "20130524T000000Z",
            "us-east-1",
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
        assert_eq!(amz_date(1_369_353_600), "20130524T000000Z");
        assert_eq!(encode_path("/a:b+c d~_.-/é"), "/a%3Ab%2Bc%20d~_.-/%C3%A9");
    }

    #[test]
    fn error_bodies() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        assert_eq!(s3_error(xml), ": NoSuchBucket: The specified bucket does not exist");
        assert_eq!(s3_error("oops"), "");
    }
}
