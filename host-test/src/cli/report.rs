//! `parapet report`: screening log records into one self-contained HTML page (inline CSS, JS
//! and SVG; no external resources). The records are embedded as JSON and every number on the
//! page is computed from them in the browser, so the time filters recompute everything.

use std::io::Write as _;
use std::process::ExitCode;

use super::logs::{format_local, plural, read_logs, report_malformed, sort_by_time, UtcOffset};
use super::{CliError, CliResult, Flags};

/// The page; `/*PARAPET_REPORT_DATA*/` is replaced by the escaped JSON document.
const TEMPLATE: &str = include_str!("report.html");
const DATA_MARK: &str = "/*PARAPET_REPORT_DATA*/";
/// Replaced by the script's hash in the Content-Security-Policy.
const HASH_MARK: &str = "'PARAPET_SCRIPT_HASH'";

pub(crate) const REPORT_HELP: &str = "\
Render screening log records as a self-contained HTML report.

Usage: parapet report LOGS... --out report.html [--title TEXT] [--utc-offset +HH:MM]

The page needs no network: CSS, JavaScript and SVG charts are inline and the records are
embedded as JSON. It shows requests over time by action or by type (kind and direction),
flagged requests, detection rate, the latency distribution with p50/p95/p99, a per-project
table sortable by each column, and the flagged requests with a drill-down to each one's
detectors and masked messages. Time filters: the last 5 min, 15 min, 30 min, 1 h, 3 h or 6 h
before the newest record, or a start/end range. The URL fragment holds the view
(#window=15m&sort=rate&dir=desc&select=N&by=type&start=...&end=...) so a link reopens it.

Records and malformed lines as in `parapet logs export` (LOGS may be `-` for stdin).

Options:
  --out FILE           Write the report to FILE
  --title TEXT         Page title [default: Parapet screening report]
  --utc-offset +HH:MM  Show times at this offset [default: +00:00]
  -h, --help           Print help

Exit status: 0 every line shown; 1 written, but malformed lines were skipped; 2 usage or
setup error.";

/// JSON safe inside `<script type=\"application/json\">`: `<`, `>`, `&` and the two line
/// separators become `\\u` escapes, so record content such as `</script>` cannot end the
/// element. The escapes are valid JSON wherever they occur (only inside strings).
pub fn script_safe_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The Content-Security-Policy source for the page's one script: its SHA-256. Only that
/// script may run; inline event handlers or scripts in record content would be refused even
/// if they ever reached the DOM as markup.
fn script_hash(template: &str) -> Result<String, String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let start = template.rfind("<script>").ok_or("the report template has no script")? + "<script>".len();
    let len = template[start..].find("</script>").ok_or("the report template's script is not closed")?;
    let digest = sha2::Sha256::digest(&template.as_bytes()[start..start + len]);
    Ok(format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest)))
}

/// The whole page for a data document.
pub fn render(data: &serde_json::Value) -> Result<String, String> {
    let json = serde_json::to_string(data).map_err(|e| format!("cannot encode the records: {e}"))?;
    let template = TEMPLATE.replacen(HASH_MARK, &script_hash(TEMPLATE)?, 1);
    let (head, tail) = template.split_once(DATA_MARK).ok_or("the report template has no data mark")?;
    Ok(format!("{head}{}{tail}", script_safe_json(&json)))
}

pub fn run(flags: &Flags) -> CliResult<ExitCode> {
    let logs = &flags.positionals;
    if logs.is_empty() {
        return Err(CliError::usage("report needs at least one log file: parapet report LOGS... --out report.html"));
    }
    let out = flags.get("--out").ok_or_else(|| CliError::usage("report needs --out FILE: parapet report LOGS... --out report.html"))?;
    let offset = match flags.get("--utc-offset") {
        Some(v) => UtcOffset::parse(v).map_err(|e| CliError::usage(format!("--utc-offset: {e}")))?,
        None => UtcOffset(0),
    };
    let title = flags.get("--title").unwrap_or("Parapet screening report");
    let (mut records, bad) = read_logs(logs)?;
    report_malformed(&bad);
    // Posture transitions share the log with screenings but are not requests.
    records.retain(|r| r.value.get("kind").and_then(|k| k.as_str()) != Some("posture"));
    sort_by_time(&mut records);

    let flagged = records.iter().filter(|r| r.value.get("flagged") == Some(&serde_json::Value::Bool(true))).count();
    let projects: std::collections::BTreeSet<String> =
        records.iter().map(|r| r.value.get("project_id").and_then(|p| p.as_str()).unwrap_or("").to_string()).collect();
    let range = match (records.first(), records.last()) {
        (Some(a), Some(b)) => format!("{} .. {}", format_local(a.time_ms, offset), format_local(b.time_ms, offset)),
        _ => "no records".to_string(),
    };
    let data = serde_json::json!({
        "title": title,
        "generated_by": format!("parapet {}", env!("CARGO_PKG_VERSION")),
        "utc_offset_minutes": offset.0,
        "utc_offset": offset.label(),
        "files": logs,
        "malformed": bad.len(),
        "records": records.iter().map(|r| serde_json::json!([r.time_ms, r.value])).collect::<Vec<_>>(),
    });
    let page = render(&data).map_err(CliError::setup)?;
    std::fs::write(out, page.as_bytes()).map_err(|e| CliError::setup(format!("cannot write {out}: {e}")))?;

    let rate = if records.is_empty() { 0.0 } else { 100.0 * flagged as f64 / records.len() as f64 };
    let skipped = if bad.is_empty() { String::new() } else { format!("; {} malformed {} skipped", bad.len(), plural(bad.len(), "line", "lines")) };
    let _ = writeln!(
        std::io::stdout().lock(),
        "report: {} {} ({flagged} flagged, {rate:.2}%), {} {}, {range} -> {out} ({} KiB){skipped}",
        records.len(),
        plural(records.len(), "record", "records"),
        projects.len(),
        plural(projects.len(), "project", "projects"),
        page.len().div_ceil(1024),
    );
    Ok(if bad.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script_and_round_trips() {
        let content = "</script><script>alert(1)</script><!-- & \u{2028} -->";
        let data = serde_json::json!({"records": [[1, {"messages": [{"role": "user", "content": content}]}]]});
        let page = render(&data).unwrap();
        let start = page.find("id=\"data\">").unwrap() + "id=\"data\">".len();
        let end = start + page[start..].find("</script>").unwrap();
        let embedded = &page[start..end];
        assert!(!embedded.contains('<') && !embedded.contains('>') && !embedded.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(embedded).unwrap();
        assert_eq!(back, data);
        assert!(!page.contains(DATA_MARK) && !page.contains(HASH_MARK));
        assert!(page.contains("script-src 'sha256-"));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // The SVG namespace is a name, not something fetched.
        let lower = TEMPLATE.replace("\"http://www.w3.org/2000/svg\"", "SVGNS").to_ascii_lowercase();
        for needle in ["http://", "https://", "<link", "src=", "@import", "url("] {
            assert!(!lower.contains(needle), "{needle}");
        }
        assert!(!lower.contains("innerhtml") && !lower.contains("insertadjacenthtml") && !lower.contains("document.write"));
    }
}
