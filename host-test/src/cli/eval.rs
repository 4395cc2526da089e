//! `parapet eval`: how well a policy (or one detector of it) separates a labelled set, and how
//! long each request takes, measured on the shipped module (or the native core with `--native`).

use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::Instant;

use parapet_filter::{Guard, RequestCtx};
use serde_json::{json, Value};

use super::{reply_of, CliError, CliResult, Flags, Global, Setup};
use crate::proxywasm::HttpRequest;

/// One labelled case, as the guard request to send and the expected answer.
struct Case {
    line: usize,
    body: Vec<u8>,
    positive: bool,
}

/// The guard model's windows over every message content of a request: what the request costs
/// the model, so `--cases` can report latency per window.
fn windows_of_request(body: &[u8]) -> Option<usize> {
    let model = parapet_filter::model::shared().ok()?;
    let v: Value = serde_json::from_slice(body).ok()?;
    let messages = v.get("messages")?.as_array()?;
    Some(
        messages
            .iter()
            .filter_map(|m| m.get("content").and_then(Value::as_str))
            .map(|c| model.windows_of(c, None).len())
            .sum(),
    )
}

/// Reads `{"text": ..., "label": 0|1}` lines, or guard requests (`messages`, ...) carrying the
/// expected `"flagged": true|false` (or `"label"`), which is removed before sending.
fn parse_cases(data: &str) -> CliResult<Vec<Case>> {
    let mut out = Vec::new();
    for (i, raw) in data.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let bad = |m: &str| CliError::setup(format!("line {line}: {m}"));
        let mut v: Value = serde_json::from_str(raw).map_err(|e| bad(&format!("not JSON: {e}")))?;
        let obj = v.as_object_mut().ok_or_else(|| bad("expected a JSON object"))?;
        let label = obj.remove("flagged").or_else(|| obj.remove("label")).ok_or_else(|| bad("needs \"label\" (0 or 1) or \"flagged\" (true or false)"))?;
        let positive = match label {
            Value::Bool(b) => b,
            Value::Number(n) if n.as_u64() == Some(1) => true,
            Value::Number(n) if n.as_u64() == Some(0) => false,
            other => return Err(bad(&format!("label must be 0, 1, true or false, got {other}"))),
        };
        let request = if let Some(text) = obj.remove("text") {
            let text = text.as_str().ok_or_else(|| bad("\"text\" must be a string"))?.to_string();
            if !obj.is_empty() {
                let keys: Vec<&String> = obj.keys().collect();
                return Err(bad(&format!("unexpected fields beside text/label: {keys:?}")));
            }
            json!({"messages": [{"role": "user", "content": text}], "breakdown": true})
        } else if obj.contains_key("messages") {
            obj.insert("breakdown".into(), Value::Bool(true));
            v
        } else {
            return Err(bad("needs \"text\" or \"messages\""));
        };
        let body = serde_json::to_vec(&request).map_err(|e| bad(&e.to_string()))?;
        out.push(Case { line, body, positive });
    }
    Ok(out)
}

/// What one answer says: the decision, the score used for AUC, and with `--detector` that
/// detector's confidence level (`l1_confident`..`l5_unlikely`; model detectors only).
struct Outcome {
    predicted: bool,
    score: f64,
    level: Option<String>,
}

fn outcome(body: &[u8], detector: Option<&str>) -> Result<Outcome, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
    let none = Vec::new();
    let breakdown = v.get("breakdown").and_then(Value::as_array).unwrap_or(&none);
    let entries: Vec<&Value> = match detector {
        Some(d) => breakdown.iter().filter(|b| b.get("detector_type").and_then(Value::as_str) == Some(d)).collect(),
        None => breakdown.iter().collect(),
    };
    if let Some(d) = detector {
        if entries.is_empty() {
            return Err(format!("the policy does not run detector {d:?}"));
        }
    }
    let predicted = match detector {
        Some(_) => entries.iter().any(|b| b.get("detected").and_then(Value::as_bool) == Some(true)),
        None => v.get("flagged").and_then(Value::as_bool).ok_or("response has no \"flagged\"")?,
    };
    // Model detectors carry a score; rule detectors are 0 or 1.
    let score = entries
        .iter()
        .map(|b| match b.get("score").and_then(Value::as_f64) {
            Some(s) => s,
            None if b.get("detected").and_then(Value::as_bool) == Some(true) => 1.0,
            None => 0.0,
        })
        .fold(0.0, f64::max);
    // The most confident level among the entries (`l1_..` sorts before `l5_..`).
    let level = entries.iter().filter_map(|b| b.get("level").and_then(Value::as_str)).min().map(str::to_string);
    Ok(Outcome { predicted, score, level })
}

/// Area under the ROC curve by the rank statistic (ties count one half).
fn auc(pos: &[f64], neg: &[f64]) -> Option<f64> {
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = pos.iter().map(|s| (*s, true)).chain(neg.iter().map(|s| (*s, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += avg_rank * all[i..j].iter().filter(|x| x.1).count() as f64;
        i = j;
    }
    let (np, nn) = (pos.len() as f64, neg.len() as f64);
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * nn))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

struct Progress {
    total: usize,
    tty: bool,
    shown: usize,
}

impl Progress {
    fn tick(&mut self, done: usize) {
        let step = (self.total / 20).max(1);
        if !(self.tty || done == self.total || done % step == 0) || done == self.shown {
            return;
        }
        self.shown = done;
        let width = 30;
        let filled = width * done / self.total.max(1);
        let bar = format!("[{}{}] {done}/{}", "#".repeat(filled), " ".repeat(width - filled), self.total);
        let mut err = std::io::stderr().lock();
        let _ = if self.tty { write!(err, "\r{bar}") } else { writeln!(err, "{bar}") };
        if self.tty && done == self.total {
            let _ = writeln!(err);
        }
    }
}

pub fn run(global: &Global, flags: &Flags) -> CliResult<ExitCode> {
    let path = match flags.positionals.as_slice() {
        [p] => p.as_str(),
        [] => return Err(CliError::usage("eval needs a labelled file: parapet eval FILE.jsonl")),
        _ => return Err(CliError::usage("eval takes one file")),
    };
    let detector = flags.get("--detector");
    let policy = flags.get("--policy");
    let as_json = flags.has("--json");
    let native_core = flags.has("--native");
    let mut cases_out = match flags.get("--cases") {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).map_err(|e| CliError::setup(format!("--cases {p}: {e}")))?,
        )),
        None => None,
    };
    let data = std::fs::read_to_string(path).map_err(|e| CliError::setup(format!("cannot read {path}: {e}")))?;
    let cases = parse_cases(&data)?;
    if cases.is_empty() {
        eprintln!("parapet: eval: {path} has no cases");
        return Ok(ExitCode::from(1));
    }
    let setup = Setup::new(global, flags.get("--config"), policy)?;
    let guard_path = setup.guard_path()?;
    if let Some(d) = detector {
        let p = setup.config.policies.get(&setup.config.default_policy);
        if !p.is_some_and(|p| p.detectors.iter().any(|x| x.detector_type == d)) {
            return Err(CliError::usage(format!("--detector {d}: policy {:?} does not run it", setup.config.default_policy)));
        }
    }
    let native = if native_core { Some(Guard::new(&setup.config_bytes).map_err(|e| CliError::setup(format!("config: {e}")))?) } else { None };
    let mut filter = if native_core { None } else { Some(setup.filter(true)?) };

    let mut progress = Progress { total: cases.len(), tty: std::io::stderr().is_terminal(), shown: 0 };
    let (mut tp, mut fp, mut tn, mut fn_) = (0usize, 0usize, 0usize, 0usize);
    let (mut pos_scores, mut neg_scores) = (Vec::new(), Vec::new());
    let mut latencies = Vec::with_capacity(cases.len());
    let mut errors: Vec<String> = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let started = Instant::now();
        let (status, body) = match (&native, &mut filter) {
            (Some(g), _) => {
                let r = g.guard_http(&case.body, &RequestCtx::default());
                (r.status, r.body)
            }
            (None, Some(f)) => {
                let resp = f.request(&HttpRequest::post_json(&guard_path, &[], &case.body));
                setup.print_logs(&resp.logs, Some(&format!("line {}", case.line)));
                reply_of(&resp)
            }
            (None, None) => return Err(CliError::setup("no runtime")),
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        latencies.push(ms);
        progress.tick(i + 1);
        if status != 200 {
            errors.push(format!("line {}: status {status}: {}", case.line, String::from_utf8_lossy(&body)));
            continue;
        }
        match outcome(&body, detector) {
            Ok(o) => {
                if let Some(w) = cases_out.as_mut() {
                    let row = json!({
                        "line": case.line, "label": u8::from(case.positive), "predicted": o.predicted,
                        "score": o.score, "level": o.level, "ms": ms, "windows": windows_of_request(&case.body),
                    });
                    writeln!(w, "{row}").map_err(|e| CliError::setup(format!("--cases: {e}")))?;
                }
                match (case.positive, o.predicted) {
                    (true, true) => tp += 1,
                    (true, false) => fn_ += 1,
                    (false, true) => fp += 1,
                    (false, false) => tn += 1,
                }
                if case.positive { pos_scores.push(o.score) } else { neg_scores.push(o.score) }
            }
            Err(e) => errors.push(format!("line {}: {e}", case.line)),
        }
    }
    if let Some(mut w) = cases_out {
        w.flush().map_err(|e| CliError::setup(format!("--cases: {e}")))?;
    }
    latencies.sort_by(f64::total_cmp);
    let ratio = |a: usize, b: usize| if b == 0 { None } else { Some(a as f64 / b as f64) };
    let tpr = ratio(tp, tp + fn_);
    let fpr = ratio(fp, fp + tn);
    let precision = ratio(tp, tp + fp);
    let auc = auc(&pos_scores, &neg_scores);
    let lat = json!({
        "p50": percentile(&latencies, 50.0), "p90": percentile(&latencies, 90.0),
        "p99": percentile(&latencies, 99.0), "max": latencies.last().copied().unwrap_or(0.0),
    });
    let report = json!({
        "file": path,
        "cases": cases.len(),
        "positives": tp + fn_,
        "negatives": fp + tn,
        "policy": setup.config.default_policy,
        "detector": detector,
        "runtime": if native_core { "native".to_string() } else { setup.module_label.clone() },
        "tp": tp, "fp": fp, "tn": tn, "fn": fn_,
        "tpr": tpr, "fpr": fpr, "precision": precision, "auc": auc,
        "latency_ms": lat,
        "errors": errors.len(),
    });
    if as_json {
        println!("{report}");
    } else {
        let f = |x: Option<f64>| x.map_or("n/a".to_string(), |v| format!("{v:.4}"));
        println!(
            "eval: {path}: {} cases ({} positive, {} negative); policy {}, {}; {}",
            cases.len(),
            tp + fn_,
            fp + tn,
            setup.config.default_policy,
            detector.map_or("verdict `flagged`".to_string(), |d| format!("detector {d}")),
            if native_core { "native core".to_string() } else { format!("module {}", setup.module_label) }
        );
        println!("  TPR (recall)  {}  ({tp}/{})", f(tpr), tp + fn_);
        println!("  FPR           {}  ({fp}/{})", f(fpr), fp + tn);
        println!("  precision     {}", f(precision));
        println!("  AUC           {}  (from model scores; rule detectors count 0/1)", f(auc));
        println!(
            "  latency ms    p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  (per request, incl. parsing)",
            percentile(&latencies, 50.0),
            percentile(&latencies, 90.0),
            percentile(&latencies, 99.0),
            latencies.last().copied().unwrap_or(0.0)
        );
        println!("  errors        {}", errors.len());
    }
    for e in errors.iter().take(5) {
        eprintln!("parapet: eval: {e}");
    }
    Ok(if errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_ranks() {
        assert_eq!(auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auc(&[0.1], &[0.9]), Some(0.0));
        assert_eq!(auc(&[0.5], &[0.5]), Some(0.5));
        assert_eq!(auc(&[0.5], &[]), None);
    }

    #[test]
    fn both_line_shapes_parse() {
        let cases = parse_cases(
            "{\"text\":\"hi\",\"label\":0}\n\n{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"flagged\":true}\n",
        )
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert!(!cases[0].positive && cases[1].positive);
        let sent: Value = serde_json::from_slice(&cases[1].body).unwrap();
        assert!(sent.get("flagged").is_none());
        assert_eq!(sent["breakdown"], true);
        assert!(parse_cases("{\"text\":\"hi\"}").is_err());
        assert!(parse_cases("{\"text\":\"hi\",\"label\":2}").is_err());
        assert!(parse_cases("[1]").is_err());
    }

    #[test]
    fn detector_outcome_uses_its_score() {
        let body = br#"{"flagged":true,"breakdown":[{"detector_type":"prompt_attack","detected":true,"score":0.97},{"detector_type":"pii/email","detected":false}]}"#;
        let o = outcome(body, Some("prompt_attack")).unwrap();
        assert!(o.predicted && o.score == 0.97);
        let o = outcome(body, Some("pii/email")).unwrap();
        assert!(!o.predicted && o.score == 0.0);
        assert!(outcome(body, Some("unknown_links")).is_err());
    }
}
