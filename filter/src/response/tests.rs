use super::*;

const CFG: &str = r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{},"pii/secret":{}}}},"default_policy":"p","stream_hold_back":64,"max_body_bytes":64,"max_response_bytes":4096}"#;

fn guard(extra: &str) -> Guard {
    Guard::new(CFG.replacen('{', &format!("{{{extra}"), 1).as_bytes()).unwrap()
}

/// Text deltas as a stream in `format`, with each API's framing events.
fn sse(format: Format, parts: &[&str]) -> Vec<u8> {
    let mut s = String::new();
    match format {
        Format::OpenaiChat => {
            for p in parts {
                s += &format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": p}}]}));
            }
            s += "data: [DONE]\n\n";
        }
        Format::OpenaiResponses => {
            s += "event: response.created\ndata: {\"type\":\"response.created\"}\n\n";
            for p in parts {
                s += &format!("event: response.output_text.delta\ndata: {}\n\n", json!({"type": "response.output_text.delta", "delta": p}));
            }
            s += "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n";
        }
        Format::AnthropicMessages => {
            s += "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n";
            for p in parts {
                s += &format!("event: content_block_delta\r\ndata: {}\r\n\r\n", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}}));
            }
            s += "event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
        }
    }
    s.into_bytes()
}

fn start(g: &Guard, format: Format, ct: &str) -> ResponseScreen {
    g.start_response(format, 200, Some(ct), None, None, true).unwrap()
}

/// Feeds `body` cut at `cuts`; returns (client bytes, blocked status, outcome).
fn run(g: &Guard, format: Format, ct: &str, body: &[u8], cuts: &[usize]) -> (Vec<u8>, Option<u16>, (Outcome, Vec<String>)) {
    let mut s = start(g, format, ct);
    let mut client = Vec::new();
    let mut status = None;
    let mut bounds = cuts.to_vec();
    bounds.push(body.len());
    let mut prev = 0;
    for (i, &b) in bounds.iter().enumerate() {
        match s.feed(g, &body[prev..b], i + 1 == bounds.len()) {
            StreamStep::Release(r) => client.extend(r),
            StreamStep::Block { release, error, status: st, .. } => {
                client.extend(release);
                client.extend(error);
                status = Some(st);
            }
        }
        prev = b;
    }
    (client, status, s.take_outcome().expect("an outcome once the body ended"))
}

const FORMATS: [Format; 3] = [Format::OpenaiChat, Format::OpenaiResponses, Format::AnthropicMessages];

#[test]
fn every_split_gives_the_whole_body_verdict_in_every_format() {
    for mode in ["", "\"mode\":\"monitor\","] {
        let g = guard(mode);
        for f in FORMATS {
            for parts in [&["Hello ", "there, how ", "can I help?"][..], &["Key: AKIAQ3EGU", "IXNP4SR7WDK ok"], &["mail jane@exa", "mple.com"]] {
                let body = sse(f, parts);
                let whole = run(&g, f, "text/event-stream", &body, &[]);
                for i in 0..=body.len() {
                    let split = run(&g, f, "text/event-stream; charset=utf-8", &body, &[i]);
                    assert_eq!(split.1, whole.1, "{f:?} {parts:?} mode {mode:?} split {i}");
                    assert_eq!(split.2, whole.2, "{f:?} {parts:?} mode {mode:?} split {i}");
                    if whole.1.is_none() {
                        assert_eq!(split.0, whole.0, "{f:?} {parts:?} mode {mode:?} split {i}");
                    } else {
                        // How much of the clean prefix went out depends on the cuts; the
                        // error event that ends the stream does not.
                        let error = error_event(f, "blocked", &format!("response blocked by Parapet policy \"p\": {}", whole.2 .1.join(", ")), &whole.2 .1);
                        assert!(whole.0.ends_with(&error) && split.0.ends_with(&error), "{f:?} {parts:?} split {i}");
                        assert!(body.starts_with(&split.0[..split.0.len() - error.len()]), "{f:?} {parts:?} split {i}");
                    }
                }
                if mode.is_empty() && parts[0].starts_with("Hello") {
                    assert_eq!(whole, (body.clone(), None, (Outcome::Clean, vec![])));
                }
                if !mode.is_empty() {
                    assert_eq!(whole.0, body, "monitor forwards every byte");
                }
            }
        }
    }
}

#[test]
fn a_secret_split_across_chunks_is_stopped_before_its_second_half() {
    let g = guard("");
    for f in FORMATS {
        let body = sse(f, &["Here it is: AKIAQ3EGU", "IXNP4SR7WDK", " done"]);
        for i in 0..=body.len() {
            for j in i..=body.len() {
                let (client, status, outcome) = run(&g, f, "text/event-stream", &body, &[i, j]);
                let seen = String::from_utf8_lossy(&client);
                assert_eq!((status, &outcome.0), (Some(403), &Outcome::Blocked), "{f:?} cuts {i},{j}");
                assert!(!seen.contains("AKIAQ3EGU") && !seen.contains("IXNP4SR7WDK"), "{f:?} cuts {i},{j}: {seen}");
                assert!(seen.contains("pii/secret"), "the error event names the detector: {seen}");
            }
        }
    }
}

#[test]
fn json_response_block_monitor_and_fail_modes() {
    let flagged = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"write to bob@corp-mail.com"}}]}"#;
    let clean = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"hi"}}]}"#;
    let g = guard("");
    let s = start(&g, Format::OpenaiChat, "application/json");
    assert_eq!(s.header_edits().remove, vec!["content-length"]);
    let (client, status, outcome) = run(&g, Format::OpenaiChat, "application/json", flagged, &[10, 40]);
    assert_eq!((status, outcome), (Some(403), (Outcome::Blocked, vec!["pii/email".to_string()])));
    let v: serde_json::Value = serde_json::from_slice(&client).unwrap();
    assert_eq!(v["error"]["code"], "blocked");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("response blocked"));
    assert!(v["error"]["policy_version"].as_str().unwrap().starts_with("pv-"), "a blocked response names the policy version");
    // Block mode holds the body until the end; then sends it unchanged.
    let mut s = start(&g, Format::OpenaiChat, "application/json");
    assert_eq!(s.feed(&g, &clean[..5], false), StreamStep::Release(vec![]));
    assert_eq!(s.feed(&g, &clean[5..], true), StreamStep::Release(clean.to_vec()));
    assert_eq!(s.take_outcome(), Some((Outcome::Clean, vec![])));

    let m = guard("\"mode\":\"monitor\",");
    let mut s = start(&m, Format::OpenaiChat, "application/json");
    assert!(s.header_edits().remove.is_empty(), "monitor never rewrites");
    assert_eq!(s.feed(&m, &flagged[..5], false), StreamStep::Release(flagged[..5].to_vec()));
    assert_eq!(s.feed(&m, &flagged[5..], true), StreamStep::Release(flagged[5..].to_vec()));
    assert_eq!(s.take_outcome(), Some((Outcome::Flagged, vec!["pii/email".to_string()])));

    let (client, status, outcome) = run(&g, Format::OpenaiChat, "application/json", b"<html>oops", &[3]);
    assert_eq!((status, outcome.0), (Some(502), Outcome::Rejected));
    let v: serde_json::Value = serde_json::from_slice(&client).unwrap();
    assert_eq!(v["error"]["code"], "invalid_json");
    let o = guard("\"fail_mode\":\"open\",");
    let (client, status, outcome) = run(&o, Format::OpenaiChat, "application/json", b"<html>oops", &[3]);
    assert_eq!((client.as_slice(), status, outcome.0), (&b"<html>oops"[..], None, Outcome::FailedOpen));
    let (client, _, outcome) = run(&m, Format::OpenaiChat, "application/json", b"<html>oops", &[3]);
    assert_eq!((client.as_slice(), outcome.0), (&b"<html>oops"[..], Outcome::FailedOpen), "monitor cannot refuse");
}

#[test]
fn json_response_under_an_output_mask_is_rewritten() {
    let g = Guard::new(
        br#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{},"pii/secret":{}},"output":{"mode":"mask"}}},"default_policy":"p"}"#,
    )
    .unwrap();
    let body = br#"{"id":"c1","choices":[{"index":0,"message":{"role":"assistant","content":"write to bob@corp-mail.com"}}]}"#;
    let (client, status, outcome) = run(&g, Format::OpenaiChat, "application/json", body, &[20]);
    assert_eq!((status, outcome), (None, (Outcome::Masked, vec!["pii/email".to_string()])));
    let v: serde_json::Value = serde_json::from_slice(&client).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "write to <EMAIL>");
    assert_eq!(v["id"], "c1");
    // A stream cannot be rewritten: an output mask stops it like a block.
    let stream = sse(Format::OpenaiChat, &["write to bob@", "corp-mail.com"]);
    let (client, status, _) = run(&g, Format::OpenaiChat, "text/event-stream", &stream, &[30]);
    assert_eq!(status, Some(403));
    assert!(!String::from_utf8_lossy(&client).contains("corp-mail.com"));
}

#[test]
fn oversized_and_encoded_responses_follow_the_fail_mode() {
    let g = guard("");
    let big = format!("{{\"choices\":[{{\"message\":{{\"content\":\"{}\"}}}}]}}", "a".repeat(5000));
    let (client, status, outcome) = run(&g, Format::OpenaiChat, "application/json", big.as_bytes(), &[100, 4000]);
    assert_eq!((status, outcome.0), (Some(502), Outcome::Rejected));
    assert!(String::from_utf8_lossy(&client).contains("body_too_large"));
    let o = guard("\"fail_mode\":\"open\",");
    let (client, _, outcome) = run(&o, Format::OpenaiChat, "application/json", big.as_bytes(), &[100, 4000]);
    assert_eq!((client, outcome.0), (big.clone().into_bytes(), Outcome::FailedOpen));

    let mut s = g.start_response(Format::OpenaiChat, 200, Some("text/event-stream"), Some("gzip"), None, true).unwrap();
    assert_eq!(s.header_edits().remove, vec!["content-length", "content-encoding"]);
    let StreamStep::Block { error, .. } = s.feed(&g, b"\x1f\x8b", false) else { panic!("not refused") };
    assert!(String::from_utf8_lossy(&error).contains("response_encoded"));
    assert_eq!(s.feed(&g, b"more", true), StreamStep::Release(vec![]), "nothing after a refusal");
    let mut s = o.start_response(Format::OpenaiChat, 200, Some("application/json"), Some("br"), None, true).unwrap();
    assert_eq!(s.header_edits().set, vec![(HEADER_RESPONSE_FAILED_OPEN, "response_encoded".to_string())]);
    assert_eq!(s.feed(&o, b"x", true), StreamStep::Release(b"x".to_vec()));
    assert_eq!(s.take_outcome(), Some((Outcome::FailedOpen, vec![])));
}

#[test]
fn only_successful_responses_with_a_body_are_screened() {
    let g = guard("");
    assert!(g.start_response(Format::OpenaiChat, 429, Some("application/json"), None, None, true).is_none());
    assert!(g.start_response(Format::OpenaiChat, 204, None, None, None, true).is_none());
    assert!(g.start_response(Format::OpenaiChat, 200, Some("application/json"), None, None, false).is_none());
    assert!(g.start_response(Format::OpenaiChat, 200, Some("Text/Event-Stream"), None, None, true).unwrap().is_stream());
}

#[test]
fn a_body_is_held_whole_only_where_the_status_may_still_change() {
    let g = guard("");
    assert!(start(&g, Format::OpenaiChat, "application/json").holds_body(), "block mode holds a JSON body");
    assert!(!start(&g, Format::OpenaiChat, "text/event-stream").holds_body(), "a stream flows behind its hold-back window");
    let m = guard("\"mode\":\"monitor\",");
    assert!(!start(&m, Format::OpenaiChat, "application/json").holds_body(), "monitor never holds");
    let mut s = start(&m, Format::OpenaiChat, "application/json");
    s.forbid_tools(&["wire_money".to_string()]);
    assert!(s.holds_body(), "a tool ban holds the body in any mode");
    let refused = g.start_response(Format::OpenaiChat, 200, Some("application/json"), Some("gzip"), None, true).unwrap();
    assert!(refused.holds_body(), "refused at its first chunk: nothing is sent before the error");
    let o = guard("\"fail_mode\":\"open\",");
    assert!(!o.start_response(Format::OpenaiChat, 200, Some("application/json"), Some("gzip"), None, true).unwrap().holds_body());
}
