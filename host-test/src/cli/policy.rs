//! `parapet policy lint FILE...` and `parapet policy diff OLD NEW --replay FILE...`: reviewing
//! a policy change before it ships.
//!
//! A FILE is a whole Parapet config, or one policy on its own (a document with `sensitivity`
//! and `detectors`, like `policies/*.json`): a lone policy is checked as the default policy of
//! an otherwise empty config, and its errors name fields within the file.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use parapet_filter::replay::{self, Line, Outcome};
use parapet_filter::{ConfigError, Guard};
use serde_json::{json, Value};

use super::logs::plural;
use super::{CliError, CliResult, Flags};

pub(crate) const POLICY_HELP: &str = "\
Review a policy change: check it, and replay traffic to see which verdicts it changes.

Usage: parapet policy lint FILE... [--json]
       parapet policy diff OLD NEW --replay FILE [--replay FILE...] [--show N] [--json]

FILE, OLD and NEW are Parapet configs (JSON), or single policies (a JSON object with
`sensitivity` and `detectors`, like policies/*.json), checked as the default policy of an
otherwise empty config.

lint prints every problem of each file at once, one line each, naming the field
(`policies.support.detectors.pii/emial: unknown detector type`); exit 1 if any file has one.

diff screens every request of the replay files under OLD and under NEW (the native core, the
same code the module runs; `parapet verify` proves it) and reports the requests whose verdict
changes (action or detectors), by action, by detector and by project, then the first --show
of them. Replay lines are guard requests (`messages`, `project_id`), labelled texts (`text`,
as `parapet eval` reads) or screening log records with content (`logging.prompts`; their PII
is already masked, so changes of PII detectors show only in what masking left). Records
without content and posture records are skipped and counted. A request is screened as its
own project (a single-policy file screens everything under that policy). The posture is not
replayed and shadow policies take no part.

Options:
  --replay FILE   Requests to replay (repeatable; `-` for stdin)
  --show N        Print at most N changed requests [default: 20]
  --json          Print one JSON object instead of text
  -h, --help      Print help

Exit status: 0 done (diff: whether or not verdicts change); 1 lint found problems, or diff
skipped malformed replay lines; 2 usage or setup error (a config that does not compile).";

/// A config file as `policy` reads it.
struct Doc {
    path: String,
    /// The config JSON to compile (a lone policy wrapped into one).
    config: Vec<u8>,
    /// A lone policy: its name in the wrapping config (errors are reported without the prefix).
    policy: Option<String>,
}

/// Names a lone policy is given: the file stem, unless that is a built-in template's name.
fn policy_name(path: &str) -> String {
    let stem = Path::new(path).file_stem().and_then(|s| s.to_str()).filter(|s| !s.is_empty()).unwrap_or("policy");
    if parapet_filter::policy::TEMPLATES.iter().any(|(t, _)| *t == stem) {
        format!("{stem}-candidate")
    } else {
        stem.to_string()
    }
}

fn read_doc(path: &str) -> CliResult<Doc> {
    let bytes = std::fs::read(path).map_err(|e| CliError::setup(format!("cannot read {path}: {e}")))?;
    // A document that is not JSON is left to the config compiler, which says where it breaks.
    let lone = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.as_object().map(|o| o.contains_key("sensitivity") || o.contains_key("detectors")))
        .unwrap_or(false);
    if !lone {
        return Ok(Doc { path: path.to_string(), config: bytes, policy: None });
    }
    let name = policy_name(path);
    let policy: Value = serde_json::from_slice(&bytes).map_err(|e| CliError::setup(format!("{path}: {e}")))?;
    let config = json!({ "default_policy": name, "policies": { name.clone(): policy } });
    Ok(Doc { path: path.to_string(), config: config.to_string().into_bytes(), policy: Some(name) })
}

impl Doc {
    /// A config error as the author of this file sees it: fields of a lone policy without the
    /// wrapping `policies.NAME.`, and `default_policy` errors (which the wrapper caused) dropped.
    fn field(&self, e: &ConfigError) -> Option<String> {
        let Some(name) = &self.policy else { return Some(e.field.clone()) };
        let prefix = format!("policies.{name}");
        match e.field.strip_prefix(&prefix) {
            Some("") => Some(String::new()),
            Some(rest) => rest.strip_prefix('.').map(str::to_string).or_else(|| Some(rest.to_string())),
            None if e.field == "default_policy" => None,
            None => Some(e.field.clone()),
        }
    }

    fn errors(&self) -> Vec<(String, String)> {
        parapet_filter::Config::lint(&self.config).iter().filter_map(|e| self.field(e).map(|f| (f, e.message.clone()))).collect()
    }

    fn guard(&self) -> CliResult<Guard> {
        let errors = self.errors();
        if let Some((field, message)) = errors.first() {
            let more = if errors.len() > 1 { format!(" (and {} more; see `parapet policy lint {}`)", errors.len() - 1, self.path) } else { String::new() };
            let at = if field.is_empty() { String::new() } else { format!("`{field}`: ") };
            return Err(CliError::setup(format!("{}: {at}{message}{more}", self.path)));
        }
        Guard::new(&self.config).map_err(|e| CliError::setup(format!("{}: {e}", self.path)))
    }
}

pub fn run(flags: &Flags) -> CliResult<ExitCode> {
    match flags.positionals.first().map(String::as_str) {
        Some("lint") => lint(flags, &flags.positionals[1..]),
        Some("diff") => diff(flags, &flags.positionals[1..]),
        Some(other) => Err(CliError::usage(format!("unknown policy command {other:?}; expected `lint` or `diff` (see `parapet policy --help`)"))),
        None => Err(CliError::usage("policy needs a command: `parapet policy lint FILE` or `parapet policy diff OLD NEW --replay FILE`")),
    }
}

fn lint(flags: &Flags, files: &[String]) -> CliResult<ExitCode> {
    if files.is_empty() {
        return Err(CliError::usage("policy lint needs at least one file: parapet policy lint FILE..."));
    }
    let mut out = std::io::stdout().lock();
    let mut failed = false;
    let mut reports = Vec::new();
    for path in files {
        let doc = read_doc(path)?;
        let errors = doc.errors();
        failed |= !errors.is_empty();
        if flags.has("--json") {
            let list: Vec<Value> = errors.iter().map(|(f, m)| json!({ "field": f, "message": m })).collect();
            reports.push(json!({ "file": path, "ok": errors.is_empty(), "errors": list }));
            continue;
        }
        for (field, message) in &errors {
            let at = if field.is_empty() { String::new() } else { format!("{field}: ") };
            let _ = writeln!(out, "{path}: {at}{message}");
        }
        let what = if doc.policy.is_some() { "policy" } else { "config" };
        let verdict = if errors.is_empty() { "ok".to_string() } else { format!("{} {}", errors.len(), plural(errors.len(), "error", "errors")) };
        let _ = writeln!(out, "policy lint: {path} ({what}): {verdict}");
    }
    if flags.has("--json") {
        let _ = writeln!(out, "{}", json!({ "files": reports, "ok": !failed }));
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The policy a project is screened under: its id and version.
type Assigned = (String, String);

/// One replayed request whose verdict changed.
struct Change {
    at: String,
    project: Option<String>,
    old: Outcome,
    new: Outcome,
}

fn project_label(p: &Option<String>) -> String {
    p.clone().unwrap_or_else(|| "(none)".to_string())
}

fn diff(flags: &Flags, args: &[String]) -> CliResult<ExitCode> {
    let [old_path, new_path] = args else {
        return Err(CliError::usage("policy diff needs two files: parapet policy diff OLD NEW --replay FILE"));
    };
    let replays: Vec<&str> = flags.values.iter().filter(|(k, _)| k == "--replay").map(|(_, v)| v.as_str()).collect();
    if replays.is_empty() {
        return Err(CliError::usage("policy diff needs --replay FILE (guard requests, labelled texts or screening logs)"));
    }
    let show = match flags.get("--show") {
        Some(v) => v.parse::<usize>().map_err(|_| CliError::usage(format!("--show: expected a number, got {v:?}")))?,
        None => 20,
    };
    let (old_doc, new_doc) = (read_doc(old_path)?, read_doc(new_path)?);
    let (old, new) = (old_doc.guard()?, new_doc.guard()?);
    let max_messages = old.config().max_messages.max(new.config().max_messages);

    let mut total = 0usize;
    let mut skipped: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut malformed: Vec<String> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    for file in &replays {
        let data = if *file == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| CliError::setup(format!("cannot read stdin: {e}")))?;
            s
        } else {
            std::fs::read_to_string(file).map_err(|e| CliError::setup(format!("cannot read {file}: {e}")))?
        };
        for (i, raw) in data.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let at = format!("{file}:{}", i + 1);
            let case = match replay::parse_line(raw, max_messages) {
                Ok(Line::Case(c)) => c,
                Ok(Line::Skip(why)) => {
                    *skipped.entry(why).or_default() += 1;
                    continue;
                }
                Err(e) => {
                    malformed.push(format!("{at}: {e}"));
                    continue;
                }
            };
            total += 1;
            // A lone policy screens everything; a config screens each request as its project.
            let project = |doc: &Doc| if doc.policy.is_some() { None } else { case.project.clone() };
            let a = old.replay(&case, project(&old_doc).as_deref());
            let b = new.replay(&case, project(&new_doc).as_deref());
            if a.action != b.action || a.detected != b.detected {
                changes.push(Change { at, project: case.project.clone(), old: a, new: b });
            }
        }
    }
    for m in &malformed {
        eprintln!("parapet: skipped malformed replay line {m}");
    }

    // Policies whose version differs between the two configs (or that exist in one only).
    let versions = |g: &Guard| g.config().policies.iter().map(|(k, p)| (k.clone(), p.version.clone())).collect::<BTreeMap<_, _>>();
    let (va, vb) = (versions(&old), versions(&new));
    let mut changed_policies: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for name in va.keys().chain(vb.keys()).collect::<std::collections::BTreeSet<_>>() {
        let (a, b) = (va.get(name), vb.get(name));
        if a != b {
            changed_policies.push((name.clone(), a.cloned(), b.cloned()));
        }
    }

    // What each project (and requests without one) is screened under, where that changed.
    let assignment = |g: &Guard, doc: &Doc, project: Option<&str>| -> Option<Assigned> {
        let project = if doc.policy.is_some() { None } else { project };
        g.resolve(project).ok().map(|p| (p.id.clone(), p.version.clone()))
    };
    let mut project_ids: std::collections::BTreeSet<Option<String>> = std::iter::once(None).collect();
    project_ids.extend(old.config().projects.keys().chain(new.config().projects.keys()).map(|p| Some(p.clone())));
    let mut changed_projects: Vec<(Option<String>, Option<Assigned>, Option<Assigned>)> = Vec::new();
    for p in project_ids {
        let (a, b) = (assignment(&old, &old_doc, p.as_deref()), assignment(&new, &new_doc, p.as_deref()));
        if a != b {
            changed_projects.push((p, a, b));
        }
    }
    let assigned = |x: &Option<Assigned>| x.as_ref().map_or("(unknown project)".to_string(), |(id, v)| format!("{id} {v}"));

    let mut by_action: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut by_detector: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut by_project: BTreeMap<String, usize> = BTreeMap::new();
    for c in &changes {
        *by_action.entry((c.old.action, c.new.action)).or_default() += 1;
        *by_project.entry(project_label(&c.project)).or_default() += 1;
        for d in c.new.detected.iter().filter(|d| !c.old.detected.contains(d)) {
            by_detector.entry(d.clone()).or_default().0 += 1;
        }
        for d in c.old.detected.iter().filter(|d| !c.new.detected.contains(d)) {
            by_detector.entry(d.clone()).or_default().1 += 1;
        }
    }

    let mut out = std::io::stdout().lock();
    if flags.has("--json") {
        let doc = json!({
            "old": old_path,
            "new": new_path,
            "replayed": total,
            "skipped": skipped,
            "malformed": malformed.len(),
            "changed": changes.len(),
            "policies": changed_policies.iter().map(|(n, a, b)| json!({ "policy_id": n, "old_version": a, "new_version": b })).collect::<Vec<_>>(),
            "projects": changed_projects.iter().map(|(p, a, b)| json!({
                "project_id": p,
                "old_policy": a.as_ref().map(|x| &x.0), "old_version": a.as_ref().map(|x| &x.1),
                "new_policy": b.as_ref().map(|x| &x.0), "new_version": b.as_ref().map(|x| &x.1),
            })).collect::<Vec<_>>(),
            "by_action": by_action.iter().map(|((a, b), n)| json!({ "old": a, "new": b, "requests": n })).collect::<Vec<_>>(),
            "by_detector": by_detector.iter().map(|(d, (up, down))| json!({ "detector_type": d, "newly_detected": up, "no_longer_detected": down })).collect::<Vec<_>>(),
            "by_project": by_project.iter().map(|(p, n)| json!({ "project_id": p, "requests": n })).collect::<Vec<_>>(),
            "changes": changes.iter().take(show).map(|c| json!({ "at": c.at, "project_id": c.project, "old": c.old, "new": c.new })).collect::<Vec<_>>(),
        });
        let _ = writeln!(out, "{doc}");
    } else {
        let skipped_text = if skipped.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = skipped.iter().map(|(k, n)| format!("{} {n}", k.replace('_', " "))).collect();
            format!("; skipped: {}", parts.join(", "))
        };
        let malformed_text = if malformed.is_empty() { String::new() } else { format!("; {} malformed", malformed.len()) };
        let _ = writeln!(out, "policy diff: {old_path} -> {new_path}: {total} {} replayed from {}{skipped_text}{malformed_text}", plural(total, "request", "requests"), replays.join(", "));
        if changed_policies.is_empty() {
            let _ = writeln!(out, "policies changed: none");
        } else {
            let _ = writeln!(out, "policies changed:");
            for (n, a, b) in &changed_policies {
                let _ = writeln!(out, "  {n:<24} {} -> {}", a.as_deref().unwrap_or("(absent)"), b.as_deref().unwrap_or("(absent)"));
            }
        }
        if changed_projects.is_empty() {
            let _ = writeln!(out, "projects changed: none");
        } else {
            let _ = writeln!(out, "projects changed:");
            for (p, a, b) in &changed_projects {
                let _ = writeln!(out, "  {:<24} {} -> {}", project_label(p), assigned(a), assigned(b));
            }
        }
        let pct = if total == 0 { 0.0 } else { 100.0 * changes.len() as f64 / total as f64 };
        let _ = writeln!(out, "verdicts changed: {} of {total} ({pct:.2}%)", changes.len());
        if !changes.is_empty() {
            let _ = writeln!(out, "  by action:");
            for ((a, b), n) in &by_action {
                let _ = writeln!(out, "    {:<24} {n}", format!("{a} -> {b}"));
            }
            let _ = writeln!(out, "  by detector:              newly detected  no longer detected");
            for (d, (up, down)) in &by_detector {
                let _ = writeln!(out, "    {d:<24} {up:>14}  {down:>18}");
            }
            let _ = writeln!(out, "  by project:");
            for (p, n) in &by_project {
                let _ = writeln!(out, "    {p:<24} {n}");
            }
            let _ = writeln!(out, "changed requests (first {} of {}):", show.min(changes.len()), changes.len());
            for c in changes.iter().take(show) {
                let plus: Vec<String> = c.new.detected.iter().filter(|d| !c.old.detected.contains(d)).map(|d| format!("+{d}")).collect();
                let minus: Vec<String> = c.old.detected.iter().filter(|d| !c.new.detected.contains(d)).map(|d| format!("-{d}")).collect();
                let mut why = c.new.error.as_deref().or(c.old.error.as_deref()).map(|e| format!(" ({e})")).unwrap_or_default();
                if c.new.action != "clean" && !c.new.detected.is_empty() {
                    why.push_str(&format!(" (now: {})", c.new.detected.join(", ")));
                }
                let _ = writeln!(
                    out,
                    "  {}  {}  {} -> {}  {}{why}",
                    c.at,
                    project_label(&c.project),
                    c.old.action,
                    c.new.action,
                    plus.into_iter().chain(minus).collect::<Vec<_>>().join(" ")
                );
            }
        }
    }
    Ok(if malformed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_policy_reports_fields_within_its_file() {
        let dir = std::env::temp_dir().join(format!("parapet-policy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("default.json");
        std::fs::write(&f, br#"{"sensitivity":"L2","detectors":{"pii/emial":{}},"posture":{"half_life_s":-1}}"#).unwrap();
        let doc = read_doc(f.to_str().unwrap()).unwrap();
        assert_eq!(doc.policy.as_deref(), Some("default-candidate"), "a template's name is not reused");
        let fields: Vec<String> = doc.errors().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["detectors.pii/emial", "posture.half_life_s"]);
        std::fs::write(&f, br#"{"projects":{"a":"nope"}}"#).unwrap();
        let doc = read_doc(f.to_str().unwrap()).unwrap();
        assert!(doc.policy.is_none());
        assert_eq!(doc.errors()[0].0, "projects.a");
        std::fs::remove_dir_all(&dir).ok();
    }
}
