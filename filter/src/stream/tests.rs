use super::*;

const CFG: &str = r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{}}}},"default_policy":"p","stream_hold_back":64}"#;

fn chat_event(text: &str) -> String {
    format!("data: {}\n\n", json!({"choices": [{"index": 0, "delta": {"content": text}}]}))
}

fn stream(parts: &[&str]) -> Vec<u8> {
    let mut s: String = parts.iter().map(|p| chat_event(p)).collect();
    s.push_str("data: [DONE]\n\n");
    s.into_bytes()
}

/// Runs `body` split into `chunks`; returns what the client got and whether it was blocked.
fn run(guard: &Guard, body: &[u8], cuts: &[usize]) -> (Vec<u8>, bool) {
    let mut s = StreamScreen::new(Format::OpenaiChat, None);
    let mut client = Vec::new();
    let mut bounds: Vec<usize> = cuts.to_vec();
    bounds.push(body.len());
    let mut prev = 0;
    for (i, &b) in bounds.iter().enumerate() {
        let end = i + 1 == bounds.len();
        match s.feed(guard, &body[prev..b], end) {
            StreamStep::Release(r) => client.extend(r),
            StreamStep::Block { release, error, .. } => {
                client.extend(release);
                client.extend(error);
                return (client, true);
            }
        }
        prev = b;
    }
    (client, false)
}

#[test]
fn clean_stream_passes_unchanged_at_every_split() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let body = stream(&["Hello ", "there, ", "how can I help?"]);
    for i in 0..=body.len() {
        assert_eq!(run(&g, &body, &[i]), (body.clone(), false), "split at {i}");
    }
}

#[test]
fn a_match_split_across_chunks_never_reaches_the_client() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let body = stream(&["Sure. Write to jane.d", "oe@example.com for ", "details."]);
    for i in 0..=body.len() {
        let (client, blocked) = run(&g, &body, &[i]);
        assert!(blocked, "split at {i}");
        let seen = String::from_utf8_lossy(&client);
        assert!(!seen.contains("jane.d"), "first half leaked at split {i}: {seen}");
        assert!(seen.contains("\"code\":\"blocked\"") && seen.ends_with("data: [DONE]\n\n"));
    }
}

#[test]
fn old_text_is_released_while_the_tail_is_held() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let long = "x".repeat(100);
    let mut s = StreamScreen::new(Format::OpenaiChat, None);
    let first = chat_event(&long);
    let StreamStep::Release(r) = s.feed(&g, first.as_bytes(), false) else { panic!("blocked") };
    assert!(r.is_empty(), "the only event holds the last 64 bytes of text");
    let second = chat_event(&long);
    let StreamStep::Release(r) = s.feed(&g, second.as_bytes(), false) else { panic!("blocked") };
    assert_eq!(r, first.as_bytes());
}

#[test]
fn monitor_mode_never_holds_and_records() {
    let g = Guard::new(CFG.replace("\"default_policy\"", "\"mode\":\"monitor\",\"default_policy\"").as_bytes()).unwrap();
    let body = stream(&["mail jane.doe@example.com"]);
    let mut s = StreamScreen::new(Format::OpenaiChat, None);
    let StreamStep::Release(r) = s.feed(&g, &body[..10], false) else { panic!("blocked") };
    assert_eq!(r, &body[..10]);
    let StreamStep::Release(r) = s.feed(&g, &body[10..], true) else { panic!("blocked") };
    assert_eq!(r, &body[10..]);
    assert_eq!(s.flagged().map(|v| v.detected.clone()), Some(vec!["pii/email".to_string()]));
}

#[test]
fn policy_and_output_modes_govern_the_stream() {
    // Global block, but the policy monitors its outputs: nothing is held, nothing blocked.
    let monitored = r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{}},"output":{"mode":"monitor"}}},"default_policy":"p"}"#;
    let g = Guard::new(monitored.as_bytes()).unwrap();
    let body = stream(&["mail jane.doe@example.com"]);
    let (client, blocked) = run(&g, &body, &[10]);
    assert!(!blocked);
    assert_eq!(client, body);
    // One monitored detector beside an enforced one: only the enforced one stops the stream.
    let mixed = r#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{"mode":"monitor"},"pii/secret":{}}}},"default_policy":"p","stream_hold_back":64}"#;
    let g = Guard::new(mixed.as_bytes()).unwrap();
    let (client, blocked) = run(&g, &body, &[10]);
    assert!(!blocked, "a monitored detection does not stop the stream");
    assert_eq!(client, body);
    let secret = stream(&["key AKIAQ3EGUIXNP4SR7WDK"]);
    let (client, blocked) = run(&g, &secret, &[12]);
    assert!(blocked);
    assert!(!String::from_utf8_lossy(&client).contains("AKIAQ3EGUIXNP4SR7WDK"));
}

#[test]
fn truncated_stream_is_still_screened() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let body = b"data: {\"choices\":[{\"delta\":{\"content\":\"bob@example.com\"}}]}";
    assert!(run(&g, body, &[]).1);
}

#[test]
fn a_frame_that_never_ends_is_not_held_without_bound() {
    let g = Guard::new(CFG.replace("\"stream_hold_back\"", "\"max_response_bytes\":1000,\"stream_hold_back\"").as_bytes()).unwrap();
    let mut s = StreamScreen::new(Format::OpenaiChat, None);
    let line = format!("data: {}\n", "x".repeat(100));
    let mut blocked = false;
    for _ in 0..20 {
        match s.feed(&g, line.as_bytes(), false) {
            StreamStep::Release(r) => assert!(r.is_empty(), "nothing of an open frame is released"),
            StreamStep::Block { error, status, .. } => {
                assert_eq!(status, 502);
                assert!(String::from_utf8_lossy(&error).contains("body_too_large"));
                blocked = true;
                break;
            }
        }
    }
    assert!(blocked);
    assert_eq!(s.take_outcome().map(|o| o.0), Some(Outcome::Rejected));
}

#[test]
fn error_events_per_format() {
    let d = vec!["pii/email".to_string()];
    let a = String::from_utf8(error_event(Format::AnthropicMessages, "blocked", "m", &d)).unwrap();
    assert!(a.starts_with("event: error\ndata: {") && a.contains("\"type\":\"error\""));
    let r = String::from_utf8(error_event(Format::OpenaiResponses, "blocked", "m", &d)).unwrap();
    assert!(r.starts_with("event: error\n") && r.contains("\"code\":\"blocked\""));
}
