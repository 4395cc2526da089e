//! Criterion benchmarks of the detector core: each detector alone and the full default policy,
//! on benign texts of 100 B .. 1 MB, natively (the core called directly) and as the shipped
//! Envoy module in wasmtime (the same `/v2/guard` call through the proxy-wasm host, fuel
//! metering on, as `parapet serve` runs it).
//!
//! `scripts/bench.sh` runs this and `tests/bench/criterion_table.py` turns criterion's estimates
//! into the tables of `docs/benchmarks.md` (latency, MB/s, growth exponent).
//!
//! Run one part: `cargo bench --profile host -p parapet-host --bench detectors -- 'native/pii_email'`.

// A bench that cannot set up should stop loudly: these run on a developer's machine, not in a proxy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput};
use parapet_filter::{Guard, RequestCtx};
use parapet_host::{Filter, HostOptions, Runtime, EMBEDDED_ENVOY_WASM};

const SIZES: [usize; 5] = [100, 1_000, 10_000, 100_000, 1_000_000];
/// The guard model costs about 35 ms per window in wasm: 1 MB (about 1,200 windows) would take
/// minutes per sample, and is past the default `max_model_chars` (100,000) anyway.
const MODEL_MAX: usize = 100_000;

/// (name in the report, detector types, uses the guard model)
const DETECTORS: &[(&str, &[&str], bool)] = &[
    ("prompt_attack", &["prompt_attack"], true),
    ("moderated_content", &["moderated_content/hate", "moderated_content/sexual", "moderated_content/violence", "moderated_content/self_harm", "moderated_content/weapons", "moderated_content/crime"], true),
    ("profanity", &["moderated_content/profanity"], false),
    ("pii_email", &["pii/email"], false),
    ("pii_phone_number", &["pii/phone_number"], false),
    ("pii_credit_card", &["pii/credit_card"], false),
    ("pii_iban_code", &["pii/iban_code"], false),
    ("pii_us_ssn", &["pii/us_social_security_number"], false),
    ("pii_ip_address", &["pii/ip_address"], false),
    ("pii_address", &["pii/address"], false),
    ("pii_name", &["pii/name"], false),
    ("pii_secret", &["pii/secret"], false),
    ("pii_custom", &["pii/custom"], false),
    ("unknown_links", &["unknown_links"], false),
];

/// Benign prose with what real prompts carry now and then (an address, a link, numbers), so the
/// rule detectors do their full work: candidates found, checksums run, most rejected.
const SENTENCES: &[&str] = &[
    "The quarterly report shows steady growth in the northern region, driven by new contracts.",
    "Please summarise the meeting notes below and list the decisions with their owners.",
    "Our onboarding guide explains how to request access to the staging environment.",
    "Customer feedback was mostly positive, although delivery times were a common complaint.",
    "The invoice for order 48213 was sent on 12 March and paid within thirty days.",
    "For questions, write to the team at help@example.com or see https://docs.example.com/faq.",
    "The recipe needs 250 grams of flour, two eggs and a pinch of salt; bake for 25 minutes.",
    "Version 3.2 fixes the login timeout and improves search ranking for long queries.",
    "Remember that the office at 221 Baker Street is closed on public holidays.",
    "A histogram of response times helps to spot outliers before they become incidents.",
    "The committee will review the proposal again after the budget figures are confirmed.",
    "Translate the following paragraph into French, keeping the technical terms in English.",
];

fn text_of(len: usize) -> String {
    let mut s = String::with_capacity(len + 128);
    let mut i = 0usize;
    while s.len() < len {
        s.push_str(SENTENCES[i % SENTENCES.len()]);
        s.push(if i % 7 == 6 { '\n' } else { ' ' });
        i += 1;
    }
    s.truncate(len);
    s
}

fn guard_body(text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"messages": [{"role": "user", "content": text}]})).unwrap_or_default()
}

/// One policy with just these detectors (or the shipped default policy), limits raised so 1 MB
/// bodies are screened rather than refused.
fn config(detectors: Option<&[&str]>) -> Vec<u8> {
    let limits = serde_json::json!({"max_body_bytes": 4 << 20, "max_model_chars": 1_100_000});
    let mut cfg = limits.as_object().cloned().unwrap_or_default();
    if let Some(types) = detectors {
        let map: serde_json::Map<String, serde_json::Value> = types.iter().map(|t| (t.to_string(), serde_json::json!({}))).collect();
        let mut policy = serde_json::json!({"sensitivity": "L2", "detectors": map});
        if types.contains(&"pii/custom") {
            policy["custom_patterns"] = serde_json::json!([{"name": "employee_id", "pattern": "EMP-[0-9]{6}"}, {"name": "ticket", "pattern": "(?i)ticket #[0-9]{4,8}"}]);
        }
        cfg.insert("default_policy".into(), "bench".into());
        cfg.insert("policies".into(), serde_json::json!({"bench": policy}));
    }
    serde_json::to_vec(&cfg).unwrap_or_default()
}

fn cases() -> Vec<(&'static str, Option<&'static [&'static str]>, bool)> {
    let mut v: Vec<_> = DETECTORS.iter().map(|(n, d, m)| (*n, Some(*d), *m)).collect();
    v.push(("default_policy", None, true));
    v
}

fn tune(group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, size: usize) {
    group.throughput(Throughput::Bytes(size as u64));
    // Large inputs: one iteration per sample, ten samples.
    group.sampling_mode(if size >= 100_000 { SamplingMode::Flat } else { SamplingMode::Auto });
}

fn native(c: &mut Criterion) {
    let ctx = RequestCtx::default();
    for (name, detectors, model) in cases() {
        let guard = Guard::new(&config(detectors)).unwrap_or_else(|e| panic!("bench config for {name}: {e}"));
        let mut group = c.benchmark_group(format!("native/{name}"));
        for size in SIZES.into_iter().filter(|s| !model || *s <= MODEL_MAX) {
            let body = guard_body(&text_of(size));
            let check = guard.guard_http(&body, &ctx);
            assert_eq!(check.status, 200, "{name} at {size} B: {}", String::from_utf8_lossy(&check.body));
            tune(&mut group, size);
            group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| b.iter(|| guard.guard_http(body, &ctx)));
        }
        group.finish();
    }
}

/// Linear memory of each VM after its largest request, written beside criterion's estimates
/// (`criterion/memory.json`) for `criterion_table.py`.
fn write_memory(report: &serde_json::Map<String, serde_json::Value>) {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from).unwrap_or_else(|| std::path::PathBuf::from("target")).join("criterion");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("memory.json"), serde_json::to_vec_pretty(report).unwrap_or_default());
}

fn wasm(c: &mut Criterion) {
    let rt = Arc::new(Runtime::new(EMBEDDED_ENVOY_WASM, parapet_host::runtime::default_cache_dir().as_deref()).unwrap_or_else(|e| panic!("module: {e:#}")));
    let headers = [("content-type", "application/json")];
    let mut memory = serde_json::Map::new();
    for (name, detectors, model) in cases() {
        let mut filter = Filter::with_runtime(Arc::clone(&rt), &config(detectors), HostOptions::default()).unwrap_or_else(|e| panic!("bench config for {name}: {e:#}"));
        let mut group = c.benchmark_group(format!("wasm/{name}"));
        for size in SIZES.into_iter().filter(|s| !model || *s <= MODEL_MAX) {
            let body = guard_body(&text_of(size));
            let check = filter.http_request("POST", "/v2/guard", &headers, &body);
            assert_eq!(check.status, 200, "{name} at {size} B: {}", String::from_utf8_lossy(&check.body));
            tune(&mut group, size);
            group.bench_with_input(BenchmarkId::from_parameter(size), &body, |b, body| b.iter(|| filter.http_request("POST", "/v2/guard", &headers, body)));
        }
        group.finish();
        memory.insert(name.to_string(), filter.memory_bytes().into());
    }
    write_memory(&memory);
}

fn settings() -> Criterion {
    Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).without_plots()
}

criterion_group! { name = benches; config = settings(); targets = native, wasm }
criterion_main!(benches);
