//! S3 for `parapet logs export --bucket`: HEAD and PUT of objects through the `object_store`
//! crate (Apache Arrow), which signs every request with AWS Signature Version 4 in the
//! `Authorization` header, retries transient failures with backoff, and speaks HTTPS with
//! rustls. This module owns the flags (bucket URL, endpoint, region), the credentials from the
//! environment and the messages.
//!
//! Nothing secret is ever put in a message: errors name the endpoint, bucket and key; the
//! secret key only enters the signature, and no header is printed.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload, RetryConfig};

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

/// A bucket, an optional key prefix, and where and how to reach it.
pub struct Bucket {
    name: String,
    prefix: String,
    region: String,
    /// `http(s)://HOST[:PORT]` of an S3-compatible server (path-style requests), or `None`
    /// for AWS (virtual-hosted style).
    custom_endpoint: Option<String>,
    endpoint: String,
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
        let custom_endpoint = match endpoint {
            Some(e) => {
                let (scheme, authority) = parse_endpoint(e)?;
                Some(format!("{scheme}://{authority}"))
            }
            None => None,
        };
        let endpoint = custom_endpoint.clone().unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        Ok(Bucket { name, prefix, region, custom_endpoint, endpoint })
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

    /// The store for this bucket with these credentials: path-style requests to an explicit
    /// endpoint (plain HTTP allowed only there), virtual-hosted style to AWS; a few retries
    /// of transient failures, each request bounded.
    pub fn connect(&self, creds: &Credentials) -> Result<Store, String> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&self.name)
            .with_region(&self.region)
            .with_access_key_id(&creds.key)
            .with_secret_access_key(&creds.secret)
            .with_client_options(ClientOptions::new().with_timeout(TIMEOUT))
            .with_retry(RetryConfig { backoff: BackoffConfig::default(), max_retries: 3, retry_timeout: TIMEOUT });
        if let Some(t) = &creds.token {
            b = b.with_token(t);
        }
        b = match &self.custom_endpoint {
            Some(e) => b.with_endpoint(e).with_allow_http(e.starts_with("http://")).with_virtual_hosted_style_request(false),
            None => b.with_virtual_hosted_style_request(true),
        };
        // TLS through rustls with ring (the one provider built in); an error only says one is
        // already installed.
        rustls::crypto::ring::default_provider().install_default().ok();
        let store = b.build().map_err(|e| format!("cannot set up {}: {e}", self.describe()))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the S3 client: {e}"))?;
        Ok(Store { store: Arc::new(store), rt })
    }
}

/// A connected bucket: blocking calls for the command line.
pub struct Store {
    store: Arc<dyn ObjectStore>,
    rt: tokio::runtime::Runtime,
}

impl Store {
    /// Whether an object exists (HEAD: found yes, 404 no, anything else an error).
    pub fn exists(&self, bucket: &Bucket, key: &str) -> Result<bool, String> {
        let path = object_path(bucket, key)?;
        match self.rt.block_on(self.store.head(&path)) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(match status_of(&e) {
                Some(403) => format!(
                    "cannot check {} at {}: access denied (HTTP 403); check the credentials, --region and the bucket's policy",
                    bucket.url_of(key),
                    bucket.endpoint
                ),
                _ => format!("cannot check {} at {}: {}", bucket.url_of(key), bucket.endpoint, failure(&e)),
            }),
        }
    }

    /// Uploads one object (content type application/x-ndjson).
    pub fn put(&self, bucket: &Bucket, key: &str, body: Vec<u8>) -> Result<(), String> {
        let path = object_path(bucket, key)?;
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, "application/x-ndjson".into());
        let opts = PutOptions { attributes, ..PutOptions::default() };
        self.rt
            .block_on(self.store.put_opts(&path, PutPayload::from(body), opts))
            .map(|_| ())
            .map_err(|e| format!("cannot upload {} at {}: {}", bucket.url_of(key), bucket.endpoint, failure(&e)))
    }
}

fn object_path(bucket: &Bucket, key: &str) -> Result<Path, String> {
    Path::parse(key).map_err(|e| format!("{} is not a valid object key: {e}", bucket.url_of(key)))
}

/// The HTTP status of a failed request, from the error's kind or its text.
fn status_of(e: &object_store::Error) -> Option<u16> {
    match e {
        object_store::Error::NotFound { .. } => Some(404),
        object_store::Error::PermissionDenied { .. } => Some(403),
        object_store::Error::Unauthenticated { .. } => Some(401),
        object_store::Error::AlreadyExists { .. } => Some(409),
        object_store::Error::Precondition { .. } => Some(412),
        _ => {
            let text = e.to_string();
            let at = text.find("status code: ")? + "status code: ".len();
            text.get(at..at + 3)?.parse().ok()
        }
    }
}

/// `HTTP 403: Code: Message` for a server's answer; the transport error otherwise.
fn failure(e: &object_store::Error) -> String {
    match status_of(e) {
        Some(status) => format!("HTTP {status}{}", s3_error(&e.to_string())),
        None => {
            // The first line of the chain, without the request's URL (which names nothing secret,
            // but repeats the endpoint already in the message).
            let text = e.to_string();
            text.lines().next().unwrap_or("").chars().take(300).collect()
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
        assert_eq!(b.custom_endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        let aws = Bucket::from_flags("s3://logs", None, Some("eu-west-1")).unwrap();
        assert_eq!(aws.describe(), "s3://logs/ at https://s3.eu-west-1.amazonaws.com");
        assert!(aws.custom_endpoint.is_none());
        assert!(Bucket::from_flags("s3://logs", None, Some("eu west")).is_err());
        // Keys of the SIEM layout are valid object paths as they are.
        let key = "p/2026/11/22/03/2026-11-22T03:10:00+00:00.jsonl";
        assert_eq!(object_path(&b, key).unwrap().as_ref(), key);
        assert!(object_path(&b, "a//b").is_err());
    }

    #[test]
    fn statuses_and_failures() {
        let denied = object_store::Error::PermissionDenied { path: "k".into(), source: "Server returned non-2xx status code: 403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code><Message>bad</Message></Error>".into() };
        assert_eq!(status_of(&denied), Some(403));
        assert_eq!(failure(&denied), "HTTP 403: SignatureDoesNotMatch: bad");
        let generic = object_store::Error::Generic { store: "S3", source: "Server returned non-2xx status code: 500 Internal Server Error: oops".into() };
        assert_eq!((status_of(&generic), failure(&generic).as_str()), (Some(500), "HTTP 500"));
        let transport = object_store::Error::Generic { store: "S3", source: "error sending request\nsecond line".into() };
        assert_eq!(status_of(&transport), None);
        assert_eq!(failure(&transport), "Generic S3 error: error sending request");
    }

    #[test]
    fn error_bodies() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>";
        assert_eq!(s3_error(xml), ": NoSuchBucket: The specified bucket does not exist");
        assert_eq!(s3_error("oops"), "");
    }
}
