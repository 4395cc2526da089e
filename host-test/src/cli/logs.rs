//! `parapet logs export`: screening log records (docs/observability.md) into the SIEM layout
//! `YYYY/MM/DD/hh/YYYY-MM-DDThh:mm:ss+ZONE.jsonl`, under a directory or in an S3 bucket.
//!
//! Also the pieces `parapet report` shares: reading log files (malformed lines counted and
//! reported with their line numbers), RFC 3339 parsing and the UTC-offset calendar math.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{s3, CliError, CliResult, Flags};

const MS_PER_MINUTE: i64 = 60_000;
const MS_PER_HOUR: i64 = 3_600_000;
const MS_PER_DAY: i64 = 86_400_000;

/// Malformed lines listed one by one on stderr; the rest are only counted.
const SHOW_MALFORMED: usize = 20;

// ---------------------------------------------------------------------------------------------
// Time: RFC 3339 timestamps, UTC offsets, civil dates (proleptic Gregorian, no leap seconds).

/// A fixed UTC offset in minutes east of UTC, as written in `--utc-offset +HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcOffset(pub i32);

impl UtcOffset {
    /// Parses `+HH:MM` or `-HH:MM` (hours 00..23, minutes 00..59); `Z` is `+00:00`.
    pub fn parse(s: &str) -> Result<UtcOffset, String> {
        let bad = || format!("expected a UTC offset like +00:00, +05:30 or -08:00, got {s:?}");
        if s == "Z" || s == "z" {
            return Ok(UtcOffset(0));
        }
        let b = s.as_bytes();
        if b.len() != 6 || b[3] != b':' {
            return Err(bad());
        }
        let sign = match b[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(bad()),
        };
        let h = digits(&b[1..3]).filter(|h| *h < 24).ok_or_else(bad)?;
        let m = digits(&b[4..6]).filter(|m| *m < 60).ok_or_else(bad)?;
        Ok(UtcOffset(sign * (h as i32 * 60 + m as i32)))
    }

    fn ms(self) -> i64 {
        i64::from(self.0) * MS_PER_MINUTE
    }

    /// `+HH:MM` / `-HH:MM`.
    pub fn label(self) -> String {
        let sign = if self.0 < 0 { '-' } else { '+' };
        let m = self.0.unsigned_abs();
        format!("{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp: `YYYY-MM-DDThh:mm:ss`, an
/// optional fraction (digits after the third are truncated), then `Z` or `+hh:mm`/`-hh:mm`.
/// `t` and a space are accepted for `T`, `z` for `Z`. Anything else is `None`.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let y = i64::from(digits(&b[0..4])?);
    let mo = digits(&b[5..7])?;
    let d = digits(&b[8..10])?;
    let h = digits(&b[11..13])?;
    let mi = digits(&b[14..16])?;
    let sec = digits(&b[17..19])?;
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if b[i] == b'.' {
        let start = i + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        if end == start {
            return None;
        }
        let frac = &b[start..end.min(start + 3)];
        ms = i64::from(digits(frac)?) * 10i64.pow(3 - frac.len() as u32);
        i = end;
    }
    let offset = match &b[i..] {
        [b'Z' | b'z'] => UtcOffset(0),
        rest => UtcOffset::parse(std::str::from_utf8(rest).ok()?).ok()?,
    };
    let days = days_from_civil(y, mo, d);
    let local = days * MS_PER_DAY + i64::from(h) * MS_PER_HOUR + i64::from(mi) * MS_PER_MINUTE + i64::from(sec) * 1000 + ms;
    Some(local - offset.ms())
}

/// Local calendar fields of an instant at an offset: (year, month, day, hour, minute, second).
fn local_fields(ms: i64, offset: UtcOffset) -> (i64, u32, u32, u32, u32, u32) {
    let local = ms + offset.ms();
    let (y, m, d) = civil_from_days(local.div_euclid(MS_PER_DAY));
    let rem = local.rem_euclid(MS_PER_DAY);
    let h = (rem / MS_PER_HOUR) as u32;
    let mi = ((rem % MS_PER_HOUR) / MS_PER_MINUTE) as u32;
    let s = ((rem % MS_PER_MINUTE) / 1000) as u32;
    (y, m, d, h, mi, s)
}

/// `YYYY-MM-DDThh:mm:ss+HH:MM`: the instant in the offset's local time, to the second
/// (milliseconds truncated).
pub fn format_local(ms: i64, offset: UtcOffset) -> String {
    let (y, m, d, h, mi, s) = local_fields(ms, offset);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}{}", offset.label())
}

/// The hour an instant falls in, in the offset's local time, as an hour count since the epoch.
pub fn local_hour(ms: i64, offset: UtcOffset) -> i64 {
    (ms + offset.ms()).div_euclid(MS_PER_HOUR)
}

/// The SIEM path of an hour's file: `YYYY/MM/DD/hh/<first record's local time>.jsonl`.
pub fn siem_path(first_ms: i64, offset: UtcOffset) -> String {
    let (y, m, d, h, _, _) = local_fields(first_ms, offset);
    format!("{y:04}/{m:02}/{d:02}/{h:02}/{}.jsonl", format_local(first_ms, offset))
}

// ---------------------------------------------------------------------------------------------
// Reading log files.

/// One valid record: where it came from, its instant, its line and its parsed value.
#[derive(Debug, Clone)]
pub struct Record {
    pub time_ms: i64,
    pub line: String,
    pub value: serde_json::Value,
}

/// A line that is not a screening record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

/// Parses one line; `None` for a blank line (skipped silently, e.g. a trailing newline).
pub fn parse_line(line: &str) -> Option<Result<Record, String>> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.trim().is_empty() {
        return None;
    }
    let value: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Some(Err(format!("not JSON: {e}"))),
    };
    let time_ms = match value.as_object().map(|o| o.get("time")) {
        None => return Some(Err("not a JSON object".to_string())),
        Some(None) => return Some(Err("no `time` field".to_string())),
        Some(Some(serde_json::Value::String(t))) => match parse_rfc3339_ms(t) {
            Some(ms) => ms,
            None => return Some(Err(format!("`time` is not an RFC 3339 timestamp: {}", clip(t)))),
        },
        Some(Some(_)) => return Some(Err("`time` is not a string".to_string())),
    };
    Some(Ok(Record { time_ms, line: line.to_string(), value }))
}

fn clip(s: &str) -> String {
    let cut: String = s.chars().take(40).collect();
    if cut.len() < s.len() {
        format!("{cut:?}...")
    } else {
        format!("{cut:?}")
    }
}

/// Splits a file's bytes into records and malformed lines (numbered from 1).
pub fn parse_log(name: &str, bytes: &[u8]) -> (Vec<Record>, Vec<Malformed>) {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if body.is_empty() {
        return (records, bad);
    }
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let parsed = match std::str::from_utf8(raw) {
            Ok(line) => parse_line(line),
            Err(_) => Some(Err("not UTF-8".to_string())),
        };
        match parsed {
            None => {}
            Some(Ok(r)) => records.push(r),
            Some(Err(reason)) => bad.push(Malformed { file: name.to_string(), line: i + 1, reason }),
        }
    }
    (records, bad)
}

/// Reads every LOG argument (`-` is stdin) in order. Unreadable files are a setup error.
pub fn read_logs(paths: &[String]) -> CliResult<(Vec<Record>, Vec<Malformed>)> {
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for p in paths {
        let bytes = if p == "-" {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| CliError::setup(format!("cannot read stdin: {e}")))?;
            buf
        } else {
            std::fs::read(p).map_err(|e| CliError::setup(format!("cannot read log {p}: {e}")))?
        };
        let (r, b) = parse_log(p, &bytes);
        records.extend(r);
        bad.extend(b);
    }
    Ok((records, bad))
}

/// Lists malformed lines on stderr (the first [`SHOW_MALFORMED`], then a count).
pub fn report_malformed(bad: &[Malformed]) {
    if bad.is_empty() {
        return;
    }
    let mut err = std::io::stderr().lock();
    for m in bad.iter().take(SHOW_MALFORMED) {
        let _ = writeln!(err, "parapet: {}:{}: skipped: {}", m.file, m.line, m.reason);
    }
    if bad.len() > SHOW_MALFORMED {
        let _ = writeln!(err, "parapet: ... and {} more malformed lines", bad.len() - SHOW_MALFORMED);
    }
    let files = bad.iter().map(|m| m.file.as_str()).collect::<std::collections::BTreeSet<_>>().len();
    let _ = writeln!(err, "parapet: skipped {} malformed {} in {} {}", bad.len(), plural(bad.len(), "line", "lines"), files, plural(files, "file", "files"));
}

pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Stable sort by time: records with equal times keep their input order.
pub fn sort_by_time(records: &mut [Record]) {
    records.sort_by_key(|r| r.time_ms);
}

// ---------------------------------------------------------------------------------------------
// The SIEM layout.

/// One output file: its path relative to the output root, and its records' indices in time
/// order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourFile {
    pub path: String,
    pub records: Vec<usize>,
}

/// Groups instants by their local hour. Each hour gets one file named after its earliest
/// record; within a file records are in time order, ties in input order. Files come in time
/// order.
pub fn plan(times: &[i64], offset: UtcOffset) -> Vec<HourFile> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| times[i]);
    let mut hours: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for i in order {
        hours.entry(local_hour(times[i], offset)).or_default().push(i);
    }
    hours.into_values().filter_map(|records| Some(HourFile { path: siem_path(times[*records.first()?], offset), records })).collect()
}

/// The bytes of one output file: each record's original line, newline-terminated.
fn file_body(records: &[Record], file: &HourFile) -> Vec<u8> {
    let mut out = Vec::new();
    for &i in &file.records {
        out.extend_from_slice(records[i].line.as_bytes());
        out.push(b'\n');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The command.

pub(crate) const LOGS_HELP: &str = "\
Work with screening log files (one JSON record per line; docs/observability.md).

Usage: parapet logs export LOG... (--out DIR | --bucket s3://NAME/PREFIX) [OPTIONS]

Commands:
  export   Write the records into the SIEM layout YYYY/MM/DD/hh/YYYY-MM-DDThh:mm:ss+ZONE.jsonl

See `parapet logs export --help`.";

pub(crate) const EXPORT_HELP: &str = "\
Write screening log records into the SIEM layout, under a directory or in an S3 bucket.

Usage: parapet logs export LOG... --out DIR [--utc-offset +HH:MM] [--force]
       parapet logs export LOG... --bucket s3://NAME/PREFIX [--endpoint URL] [--region R]
                                  [--utc-offset +HH:MM] [--force]

Records (from every LOG, `-` = stdin) are grouped by the hour of their `time` in the chosen
offset: one file per hour, YYYY/MM/DD/hh/YYYY-MM-DDThh:mm:ss+ZONE.jsonl, named after the
hour's earliest record; each file holds the records' original lines sorted by time (ties keep
input order). Blank lines are ignored. A line that is not a JSON object with an RFC 3339
`time` is skipped and reported on stderr with its file and line number.

If a target file or object already exists, nothing is written and the command fails, unless
--force (then it is replaced). Files are written to a temporary name and renamed.

Options:
  --out DIR            Write under DIR (created if missing)
  --bucket URL         Write to an S3-compatible bucket: s3://NAME or s3://NAME/PREFIX
  --endpoint URL       S3 endpoint, path-style requests (e.g. http://127.0.0.1:9000)
                       [default: https://s3.<region>.amazonaws.com, virtual-hosted style]
  --region R           S3 region for request signing [default: $AWS_REGION, else us-east-1]
  --utc-offset +HH:MM  Offset for the hour directories and file names [default: +00:00]
  --force              Replace files or objects that already exist
  -h, --help           Print help

Credentials for --bucket: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN if
set) from the environment; they are never printed.

Exit status: 0 every line exported; 1 exported, but malformed lines were skipped;
2 usage or setup error (nothing readable, existing targets without --force, write or
upload failure).";

enum Target {
    Dir(PathBuf),
    Bucket(s3::Bucket),
}

pub fn run(flags: &Flags) -> CliResult<ExitCode> {
    match flags.positionals.first().map(String::as_str) {
        Some("export") => export(flags, &flags.positionals[1..]),
        Some(other) => Err(CliError::usage(format!("unknown logs command {other:?}; see `parapet logs --help`"))),
        None => Err(CliError::usage("logs needs a command: parapet logs export LOG... --out DIR")),
    }
}

fn export(flags: &Flags, logs: &[String]) -> CliResult<ExitCode> {
    if logs.is_empty() {
        return Err(CliError::usage("logs export needs at least one log file: parapet logs export LOG... --out DIR"));
    }
    let offset = match flags.get("--utc-offset") {
        Some(v) => UtcOffset::parse(v).map_err(|e| CliError::usage(format!("--utc-offset: {e}")))?,
        None => UtcOffset(0),
    };
    let force = flags.has("--force");
    let target = match (flags.get("--out"), flags.get("--bucket")) {
        (Some(_), Some(_)) => return Err(CliError::usage("logs export takes --out DIR or --bucket s3://NAME/PREFIX, not both")),
        (None, None) => return Err(CliError::usage("logs export needs --out DIR or --bucket s3://NAME/PREFIX")),
        (Some(dir), None) => {
            if flags.get("--endpoint").is_some() || flags.get("--region").is_some() {
                return Err(CliError::usage("--endpoint and --region go with --bucket"));
            }
            Target::Dir(PathBuf::from(dir))
        }
        (None, Some(url)) => {
            let region = flags.get("--region").map(str::to_string).or_else(|| std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()));
            Target::Bucket(s3::Bucket::from_flags(url, flags.get("--endpoint"), region.as_deref()).map_err(CliError::usage)?)
        }
    };
    let (records, bad) = read_logs(logs)?;
    report_malformed(&bad);
    let times: Vec<i64> = records.iter().map(|r| r.time_ms).collect();
    let files = plan(&times, offset);

    let (written, place) = match &target {
        Target::Dir(dir) => (write_dir(dir, &records, &files, force)?, format!("under {}", dir.display())),
        Target::Bucket(bucket) => (write_bucket(bucket, &records, &files, force)?, format!("in {}", bucket.describe())),
    };
    let mut out = std::io::stdout().lock();
    for (path, n) in &written {
        let _ = writeln!(out, "export: {path} ({n} {})", plural(*n, "record", "records"));
    }
    let skipped = if bad.is_empty() { String::new() } else { format!("; {} malformed {} skipped", bad.len(), plural(bad.len(), "line", "lines")) };
    let _ = writeln!(
        out,
        "export: {} {} from {} {} into {} {} {place}{skipped}",
        records.len(),
        plural(records.len(), "record", "records"),
        logs.len(),
        plural(logs.len(), "log", "logs"),
        files.len(),
        match &target {
            Target::Dir(_) => plural(files.len(), "file", "files"),
            Target::Bucket(_) => plural(files.len(), "object", "objects"),
        },
    );
    Ok(if bad.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn conflict_error(existing: &[String], what: &str) -> CliError {
    let shown: Vec<&str> = existing.iter().take(5).map(String::as_str).collect();
    let more = if existing.len() > 5 { format!(" and {} more", existing.len() - 5) } else { String::new() };
    CliError::setup(format!(
        "{} {what} already {}: {}{more}; nothing was written (--force replaces them)",
        existing.len(),
        plural(existing.len(), "exists", "exist"),
        shown.join(", ")
    ))
}

/// Writes every file under `dir`, each through a temporary name and a rename. Without
/// `force`, any existing target stops the export before anything is written.
fn write_dir(dir: &Path, records: &[Record], files: &[HourFile], force: bool) -> CliResult<Vec<(String, usize)>> {
    if !force {
        let existing: Vec<String> = files.iter().map(|f| dir.join(&f.path)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
        if !existing.is_empty() {
            return Err(conflict_error(&existing, "files"));
        }
    }
    let mut written = Vec::new();
    for f in files {
        let path = dir.join(&f.path);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| CliError::setup(format!("cannot create {}: {e}", parent.display())))?;
        let tmp = parent.join(format!(".{}.tmp-{}", f.path.rsplit('/').next().unwrap_or("export"), std::process::id()));
        std::fs::write(&tmp, file_body(records, f)).map_err(|e| CliError::setup(format!("cannot write {}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::setup(format!("cannot rename {} to {}: {e}", tmp.display(), path.display()))
        })?;
        written.push((path.display().to_string(), f.records.len()));
    }
    Ok(written)
}

/// Uploads every file as an object under the bucket's prefix. Without `force`, every key is
/// checked first (HEAD) and any existing one stops the export before anything is uploaded.
fn write_bucket(bucket: &s3::Bucket, records: &[Record], files: &[HourFile], force: bool) -> CliResult<Vec<(String, usize)>> {
    let creds = s3::Credentials::from_env().map_err(CliError::setup)?;
    let store = bucket.connect(&creds).map_err(CliError::setup)?;
    if !force {
        let mut existing = Vec::new();
        for f in files {
            let key = bucket.key(&f.path);
            if store.exists(bucket, &key).map_err(CliError::setup)? {
                existing.push(bucket.url_of(&key));
            }
        }
        if !existing.is_empty() {
            return Err(conflict_error(&existing, "objects"));
        }
    }
    let mut written = Vec::new();
    for f in files {
        let key = bucket.key(&f.path);
        store.put(bucket, &key, file_body(records, f)).map_err(CliError::setup)?;
        written.push((bucket.url_of(&key), f.records.len()));
    }
    Ok(written)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    const T0: &str = "2026-11-22T03:10:00.123Z";

    #[test]
    fn civil_round_trip_and_known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        for z in [-800_000i64, -1, 0, 59, 60, 11_016, 11_017, 20_779, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z, "{z} -> {y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(days_from_civil(2028, 2, 29)), (2028, 2, 29));
    }

    #[test]
    fn rfc3339_parsing() {
        // 2026-11-22T03:10:00.123Z, checked against `date -u -d ... +%s%3N`.
        assert_eq!(parse_rfc3339_ms(T0), Some(1_795_317_000_123));
        assert_eq!(parse_rfc3339_ms("2026-11-22T03:10:00Z"), Some(1_795_317_000_000));
        assert_eq!(parse_rfc3339_ms("2026-11-22t03:10:00.1z"), Some(1_795_317_000_100));
        assert_eq!(parse_rfc3339_ms("2026-11-22 03:10:00.123456789Z"), Some(1_795_317_000_123));
        assert_eq!(parse_rfc3339_ms("2026-11-22T08:40:00.123+05:30"), Some(1_795_317_000_123));
        assert_eq!(parse_rfc3339_ms("2026-11-21T19:10:00.123-08:00"), Some(1_795_317_000_123));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert!(parse_rfc3339_ms("2028-02-29T00:00:00Z").is_some());
        for bad in [
            "", "2026-11-22", "2026-11-22T03:10:00", "2026-11-22T03:10:00.Z", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
            "2026-11-22T24:00:00Z", "2026-11-22T03:60:00Z", "2026-11-22T03:10:00+5:30", "2026-11-22T03:10:00+0530",
            "2026-11-22T03:10:00.123ZZ", "2026-11-22X03:10:00Z", "+026-11-22T03:10:00Z", "2026-11-22T03:10:00 UTC",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(UtcOffset::parse("+00:00"), Ok(UtcOffset(0)));
        assert_eq!(UtcOffset::parse("+05:30"), Ok(UtcOffset(330)));
        assert_eq!(UtcOffset::parse("-08:00"), Ok(UtcOffset(-480)));
        assert_eq!(UtcOffset::parse("Z"), Ok(UtcOffset(0)));
        for bad in ["", "0", "+5:30", "+0530", "05:30", "+24:00", "+01:60", "+01:0a", "UTC"] {
            assert!(UtcOffset::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(UtcOffset(-570).label(), "-09:30");
        assert_eq!(UtcOffset(0).label(), "+00:00");
    }

    #[test]
    fn local_time_and_paths_in_an_offset() {
        let t = parse_rfc3339_ms(T0).unwrap();
        assert_eq!(format_local(t, UtcOffset(0)), "2026-11-22T03:10:00+00:00");
        assert_eq!(siem_path(t, UtcOffset(0)), "2026/11/22/03/2026-11-22T03:10:00+00:00.jsonl");
        assert_eq!(siem_path(t, UtcOffset(330)), "2026/11/22/08/2026-11-22T08:40:00+05:30.jsonl");
        // West of UTC the local date is the previous day; month and year roll back too.
        assert_eq!(siem_path(t, UtcOffset(-480)), "2026/11/21/19/2026-11-21T19:10:00-08:00.jsonl");
        let new_year = parse_rfc3339_ms("2027-01-01T00:30:59.999Z").unwrap();
        assert_eq!(siem_path(new_year, UtcOffset(-60)), "2026/12/31/23/2026-12-31T23:30:59-01:00.jsonl");
        assert_eq!(siem_path(new_year, UtcOffset(14 * 60)), "2027/01/01/14/2027-01-01T14:30:59+14:00.jsonl");
        // Before the epoch the arithmetic still floors.
        let early = parse_rfc3339_ms("1969-12-31T23:59:59.500Z").unwrap();
        assert_eq!(early, -500);
        assert_eq!(format_local(early, UtcOffset(0)), "1969-12-31T23:59:59+00:00");
        assert_eq!(local_hour(early, UtcOffset(0)), -1);
    }

    #[test]
    fn plan_groups_by_local_hour_sorted_and_stable() {
        let ts = |s: &str| parse_rfc3339_ms(s).unwrap();
        let times = vec![
            ts("2026-11-22T04:05:00Z"),     // 0
            ts("2026-11-22T03:59:59.999Z"), // 1
            ts("2026-11-22T03:10:00Z"),     // 2
            ts("2026-11-22T04:05:00Z"),     // 3: same instant as 0, after it in input
            ts("2026-11-22T03:10:00Z"),     // 4: same instant as 2
            ts("2026-11-22T04:00:00Z"),     // 5
        ];
        let files = plan(&times, UtcOffset(0));
        assert_eq!(
            files,
            vec![
                HourFile { path: "2026/11/22/03/2026-11-22T03:10:00+00:00.jsonl".into(), records: vec![2, 4, 1] },
                HourFile { path: "2026/11/22/04/2026-11-22T04:00:00+00:00.jsonl".into(), records: vec![5, 0, 3] },
            ]
        );
        // At +05:30 the local hours are 08:40..09:39 and 09:40..: the same instants split
        // differently (03:59:59.999Z is 09:29 local, 04:05Z is 09:35, 04:00Z is 09:30).
        let files = plan(&times, UtcOffset(330));
        assert_eq!(
            files,
            vec![
                HourFile { path: "2026/11/22/08/2026-11-22T08:40:00+05:30.jsonl".into(), records: vec![2, 4] },
                HourFile { path: "2026/11/22/09/2026-11-22T09:29:59+05:30.jsonl".into(), records: vec![1, 5, 0, 3] },
            ]
        );
        assert!(plan(&[], UtcOffset(0)).is_empty());
    }

    #[test]
    fn lines_are_records_blank_or_malformed() {
        let log = format!(
            "{{\"time\":\"{T0}\",\"action\":\"clean\"}}\r\n\n   \nnot json\n[1,2]\n{{\"action\":\"x\"}}\n{{\"time\":42}}\n{{\"time\":\"yesterday\"}}\n\u{ff}\n{{\"time\":\"{T0}\"}}\n"
        );
        let mut bytes = log.into_bytes();
        let pos = bytes.iter().position(|b| *b == 0xc3).unwrap();
        bytes[pos] = 0xff; // an invalid UTF-8 byte on line 9
        bytes[pos + 1] = b' ';
        let (records, bad) = parse_log("a.jsonl", &bytes);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].line, format!("{{\"time\":\"{T0}\",\"action\":\"clean\"}}"), "the \\r is dropped");
        let lines: Vec<usize> = bad.iter().map(|m| m.line).collect();
        assert_eq!(lines, vec![4, 5, 6, 7, 8, 9]);
        assert!(bad[0].reason.starts_with("not JSON"));
        assert_eq!(bad[1].reason, "not a JSON object");
        assert_eq!(bad[2].reason, "no `time` field");
        assert_eq!(bad[3].reason, "`time` is not a string");
        assert_eq!(bad[4].reason, "`time` is not an RFC 3339 timestamp: \"yesterday\"");
        assert_eq!(bad[5].reason, "not UTF-8");
        let (records, bad) = parse_log("e", b"");
        assert!(records.is_empty() && bad.is_empty());
    }
}
