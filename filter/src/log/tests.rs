use super::*;
use crate::engine::RequestCtx;

/// One raw value per masked detector type, each one that detector finds, and its token.
const RAW: &[(&str, &str, &str)] = &[
    ("pii/address", "123 Main Street, Springfield, IL 62704", "<ADDRESS>"),
    ("pii/credit_card", "4111 1111 1111 1111", "<CREDIT_CARD>"),
    ("pii/email", "jane.roe@example.com", "<EMAIL>"),
    ("pii/iban_code", "DE89 3704 0044 0532 0130 00", "<IBAN_CODE>"),
    ("pii/ip_address", "203.0.113.77", "<IP_ADDRESS>"),
    ("pii/name", "Margarethe Lindqvist", "<NAME>"),
    ("pii/phone_number", "+1 415-555-0134", "<PHONE_NUMBER>"),
    ("pii/secret", "AKIAQ3EGUIXNP4SR7WDK", "<SECRET>"),
    ("pii/us_social_security_number", "536-22-4187", "<US_SOCIAL_SECURITY_NUMBER>"),
    ("pii/custom", "EMP-123456", "<EMPLOYEE_ID>"),
];

/// A policy that runs none of the PII detectors: logs must be masked anyway.
fn guard(prompts: bool) -> Guard {
    let cfg = format!(
        r#"{{"policies":{{"links":{{"sensitivity":"L2","detectors":{{"unknown_links":{{}},"pii/custom":{{"mode":"monitor"}}}},
            "custom_patterns":[{{"name":"employee_id","pattern":"EMP-[0-9]{{6}}"}}]}}}},
           "default_policy":"links","logging":{{"sink":"log","prompts":{prompts}}}}}"#
    );
    Guard::new(cfg.as_bytes()).unwrap()
}

const FACTS: HostFacts<'static> = HostFacts { time_ms: 1_700_000_000_250, host: "test", latency_us: 1500, request_id: Some("rid-7") };

fn all_raw() -> String {
    RAW.iter().map(|r| r.1).collect::<Vec<_>>().join(" ; ")
}

fn assert_masked(line: &str) {
    for (t, raw, token) in RAW {
        assert!(!line.contains(raw), "{t}: raw {raw:?} in the log: {line}");
        // A name masked in part still names the person ("Margarethe <NAME>"): every part must go.
        if *t == "pii/name" {
            for part in raw.split_whitespace() {
                assert!(!line.contains(part), "{t}: {part:?} of {raw:?} in the log: {line}");
            }
        }
        assert!(line.contains(token), "{t}: no {token} in the log: {line}");
    }
}

#[test]
fn every_detector_type_is_masked_in_a_guard_log() {
    let g = guard(true);
    for (t, raw, _) in RAW {
        let found = g.mask_for_log(raw, g.resolve(None).unwrap().detectors.iter().find(|d| d.detector_type == "pii/custom").and_then(|d| d.imp.as_deref()));
        assert!(!found.contains(raw), "{t} does not find {raw:?}: {found}");
        if *t == "pii/name" {
            assert_eq!(found, "<NAME>", "the whole name is masked, first name included");
        }
    }
    let body = serde_json::json!({
        "messages": [
            {"role": "system", "content": format!("secret config: {}", all_raw())},
            {"role": "user", "content": format!("hello {}", all_raw())},
            {"role": "tool", "content": format!("{{\"rows\": \"{}\"}}", all_raw())}
        ],
        "metadata": {"user_email": "jane.roe@example.com", "notes": [all_raw()], "jane.roe@example.com": 1}
    })
    .to_string();
    let (reply, s) = g.guard_exchange(body.as_bytes(), &RequestCtx::default(), false);
    assert_eq!(reply.status, 200);
    let line = g.log_record(&s, Content::Body(body.as_bytes()), &FACTS);
    assert_masked(&line);
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["messages"].as_array().unwrap().len(), 3);
    assert_eq!(v["metadata"]["user_email"], "<EMAIL>");
    assert!(v["metadata"].get("<EMAIL>").is_some());
}

#[test]
fn api_request_and_response_logs_are_masked() {
    let g = guard(true);
    let body = serde_json::json!({"model": "m", "messages": [{"role": "user", "content": all_raw()}]}).to_string();
    let d = g.decide_request(Format::OpenaiChat, body.as_bytes(), &RequestCtx::default());
    let line = g.log_record(&d.screening(Format::OpenaiChat, Direction::Input, None), Content::Body(body.as_bytes()), &FACTS);
    assert_masked(&line);
    let resp = serde_json::json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": all_raw()}}]}).to_string();
    let mut r = g.start_response(Format::OpenaiChat, 200, Some("application/json"), None, None, true).unwrap();
    r.feed(&g, resp.as_bytes(), true);
    let (s, messages) = r.take_screening().unwrap();
    assert_eq!(s.direction, Direction::Output);
    let line = g.log_record(&s, Content::Messages(&messages), &FACTS);
    assert_masked(&line);
    assert!(line.contains("\"direction\":\"output\""), "{line}");
}

#[test]
fn without_prompt_logging_there_is_no_content() {
    let g = guard(false);
    let body = format!(r#"{{"messages":[{{"role":"user","content":"{}"}}],"metadata":{{"a":"b"}}}}"#, all_raw());
    let (_, s) = g.guard_exchange(body.as_bytes(), &RequestCtx::default(), false);
    let line = g.log_record(&s, Content::Body(body.as_bytes()), &FACTS);
    let v: Value = serde_json::from_str(&line).unwrap();
    assert!(v.get("messages").is_none() && v.get("metadata").is_none(), "{line}");
    for (_, raw, _) in RAW {
        assert!(!line.contains(raw));
    }
}

#[test]
fn record_fields() {
    let g = guard(false);
    let body = br#"{"messages":[{"role":"user","content":"see http://evil-login.xyz/reset and EMP-123456"}]}"#;
    let (_, s) = g.guard_exchange(body, &RequestCtx::default(), false);
    let v: Value = serde_json::from_str(&g.log_record(&s, Content::Body(body), &FACTS)).unwrap();
    assert_eq!(v["time"], "2023-11-14T22:13:20.250Z");
    assert_eq!(v["request_id"], "rid-7");
    assert_eq!(v["host"], "test");
    assert_eq!((v["kind"].as_str(), v["direction"].as_str(), v["format"].as_str()), (Some("guard"), Some("input"), Some("guard")));
    assert_eq!(v["project_id"], Value::Null);
    assert_eq!(v["policy_id"], "links");
    assert_eq!(v["mode"], "block");
    assert_eq!(v["action"], "flagged");
    assert_eq!(v["flagged"], true);
    assert_eq!(v["detected"], serde_json::json!(["pii/custom", "unknown_links"]));
    assert_eq!(v["would_block"], serde_json::json!(["pii/custom"]));
    assert_eq!(v["latency_ms"], 1.5);
    assert_eq!(v["detectors"].as_array().unwrap().len(), 2);
    assert_eq!(v["detectors"][1]["detector_type"], "unknown_links");
    assert_eq!(v["detectors"][1]["detected"], true);

    // An error: no verdict, the error named, rejected.
    let (_, s) = g.guard_exchange(b"{not json", &RequestCtx::default(), false);
    let v: Value = serde_json::from_str(&g.log_record(&s, Content::Body(b"{not json"), &FACTS)).unwrap();
    assert_eq!(v["action"], "rejected");
    assert_eq!(v["error"]["code"], "invalid_json");
    assert_eq!(v["detectors"], serde_json::json!([]));

    // An unknown project: no policy.
    let (_, s) = g.guard_exchange(br#"{"messages":[{"role":"user","content":"hi"}],"project_id":"nope"}"#, &RequestCtx::default(), false);
    let v: Value = serde_json::from_str(&g.log_record(&s, Content::None, &FACTS)).unwrap();
    assert_eq!((v["project_id"].as_str(), v["policy_id"].as_str(), v["error"]["code"].as_str()), (Some("nope"), None, Some("unknown_project")));
}

#[test]
fn clean_screenings_follow_the_clean_switch() {
    let g = Guard::new(br#"{"logging":{"sink":"log","clean":false}}"#).unwrap();
    let s = |outcome| Screening { kind: Kind::Api, direction: Direction::Input, format: Some(Format::OpenaiChat), project: None, outcome, detected: vec![], verdict: None, error: None, posture: None, shadow: None };
    assert!(!g.log_wanted(&s(Outcome::Clean)));
    assert!(g.log_wanted(&s(Outcome::Blocked)));
    assert!(!Guard::new(b"{}").unwrap().log_wanted(&s(Outcome::Blocked)), "no sink, no records");
}

#[test]
fn logging_config_errors_name_the_field() {
    let field = |c: &str| Guard::new(c.as_bytes()).err().unwrap().field;
    assert_eq!(field(r#"{"logging":{"sink":"http"}}"#), "logging.cluster");
    assert_eq!(field(r#"{"logging":{"sink":"log","path":"x"}}"#), "logging.path");
    assert_eq!(field(r#"{"logging":{"sink":"log","timeout_ms":0}}"#), "logging.timeout_ms");
    assert_eq!(field(r#"{"logging":{"sink":"file"}}"#), "logging.sink");
    assert_eq!(field(r#"{"logging":{"prompt":true}}"#), "logging.prompt");
}

#[test]
fn masking_repeats_until_nothing_is_found() {
    // Found by fuzzing (fuzz/corpus/guard_api): one pass left `::1111`, an IPv6 address.
    let g = guard(true);
    let once = g.mask_for_log("ipv602001:db8::$ff00:42:8329 and 2606:470014700::1111", None);
    assert_eq!(g.mask_for_log(&once, None), once);
    assert!(!once.contains("::1111"), "{once}");
}

#[test]
fn pii_in_base64_is_masked_in_logs() {
    let g = guard(true);
    // base64 of "write to jane.roe@example.com"
    let masked = g.mask_for_log("see d3JpdGUgdG8gamFuZS5yb2VAZXhhbXBsZS5jb20= here", None);
    assert_eq!(masked, "see <EMAIL> here");
}

#[test]
fn rfc3339_dates() {
    assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(rfc3339_ms(4_102_444_799_999), "2099-12-31T23:59:59.999Z");
}
