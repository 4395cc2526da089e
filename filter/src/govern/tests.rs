use super::*;
use crate::posture::LocalStore;

const CFG: &str = r#"{
    "projects": {"bank": "guarded", "plain": "p"},
    "policies": {
        "p": {"sensitivity": "L2", "detectors": {"pii/email": {}}},
        "cand": {"sensitivity": "L2", "detectors": {"pii/email": {}, "pii/phone_number": {}}},
        "guarded": {"sensitivity": "L2", "mode": "monitor", "detectors": {"pii/email": {}},
            "posture": {"half_life_s": 1e6, "rate_lookahead_s": 0, "surge_min": 1e6,
                "thresholds": {"scoped": 1, "inquiry": 2, "deferral": 3, "refusal": 4},
                "irreversible_tools": ["send_email"]}}
    },
    "shadow": {"projects": {"plain": "cand"}}
}"#;

fn chat(text: &str) -> Vec<u8> {
    json!({"model": "m", "tools": [{"type": "function", "function": {"name": "send_email"}}, {"type": "function", "function": {"name": "lookup"}}],
        "messages": [{"role": "user", "content": text}]})
    .to_string()
    .into_bytes()
}

#[test]
fn modes_walk_and_each_acts_as_defined() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let store = LocalStore::default();
    let pc = PostureCtx { store: &store, now_ms: 1_000 };
    let ctx = RequestCtx { project: Some("bank"), request_id: Some("rid-1") };
    // Monitor mode: flagged requests are forwarded, each adds 1 to the pressure.
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let d = g.decide_request_governed(Format::OpenaiChat, &chat("write to a@b.io"), &ctx, Some(&pc));
        let note = d.posture.clone().unwrap();
        outcomes.push((note.mode, d.outcome, d.reply.as_ref().map(|r| r.status)));
        if note.mode == PostureMode::Scoped {
            let body: Value = serde_json::from_slice(d.body.as_ref().unwrap()).unwrap();
            assert_eq!(body["tools"].as_array().unwrap().len(), 1, "send_email removed");
            assert_eq!(d.forbidden_tools, vec!["send_email"]);
        }
        if note.mode == PostureMode::Inquiry {
            let r: Value = serde_json::from_slice(&d.reply.as_ref().unwrap().body).unwrap();
            assert_eq!(r["object"], "chat.completion");
        }
        if note.mode == PostureMode::Refusal {
            let r: Value = serde_json::from_slice(&d.reply.as_ref().unwrap().body).unwrap();
            assert_eq!((r["error"]["code"].as_str(), r["error"]["type"].as_str()), (Some("posture_refusal"), Some("parapet_blocked")));
        }
    }
    assert_eq!(
        outcomes,
        vec![
            (PostureMode::Scoped, Outcome::Flagged, None),
            (PostureMode::Inquiry, Outcome::Inquiry, Some(200)),
            (PostureMode::Deferral, Outcome::Deferred, Some(202)),
            (PostureMode::Refusal, Outcome::Refused, Some(403)),
            (PostureMode::Refusal, Outcome::Refused, Some(403)),
        ]
    );
    // Another project is not affected.
    let other = g.decide_request_governed(Format::OpenaiChat, &chat("hello"), &RequestCtx { project: Some("plain"), request_id: None }, Some(&pc));
    assert_eq!(other.outcome, Outcome::Clean);
    assert!(other.posture.is_none());
    let st: Value = serde_json::from_slice(&g.posture_http(&store, 2_000).body).unwrap();
    let bank = st["projects"].as_array().unwrap().iter().find(|p| p["project_id"] == "bank").unwrap().clone();
    assert_eq!((bank["mode"].as_str(), bank["screenings"].as_u64(), bank["enabled"].as_bool()), (Some("refusal"), Some(5), Some(true)));
    assert_eq!(bank["drivers"][0]["source"], "pii/email");
}

#[test]
fn transitions_are_records_naming_their_drivers() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let store = LocalStore::default();
    let pc = PostureCtx { store: &store, now_ms: 5_000 };
    let ctx = RequestCtx { project: Some("bank"), request_id: None };
    let d = g.decide_request_governed(Format::OpenaiChat, &chat("a@b.io"), &ctx, Some(&pc));
    let note = d.posture.unwrap();
    let rec: Value = serde_json::from_str(&g.transition_record(&note, 5_000, "test", Some("r")).unwrap()).unwrap();
    assert_eq!((rec["from"].as_str(), rec["to"].as_str(), rec["kind"].as_str()), (Some("full"), Some("scoped"), Some("posture")));
    assert_eq!(rec["drivers"][0]["source"], "pii/email");
    assert!(rec["policy_version"].as_str().unwrap().starts_with("pv-"));
}

#[test]
fn the_shadow_policy_is_logged_never_enforced() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let ctx = RequestCtx { project: Some("plain"), request_id: None };
    let d = g.decide_request_governed(Format::OpenaiChat, &chat("call +44 20 7946 0958"), &ctx, None);
    assert_eq!(d.outcome, Outcome::Clean, "the active policy runs no phone detector");
    let sh = d.shadow.unwrap();
    assert_eq!((sh.policy_id.as_str(), sh.action, sh.differs), ("cand", "blocked", true));
    assert_eq!(sh.detected, vec!["pii/phone_number"]);
}

#[test]
fn guard_calls_carry_the_posture_and_refusal_flags() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let store = LocalStore::default();
    let pc = PostureCtx { store: &store, now_ms: 1 };
    let body = br#"{"project_id":"bank","messages":[{"role":"user","content":"mail a@b.io"}]}"#;
    let mut last = Value::Null;
    for _ in 0..4 {
        let (r, s, note) = g.guard_exchange_governed(body, &RequestCtx::default(), false, Some(&pc));
        assert_eq!(r.status, 200);
        assert!(note.is_some() && s.posture.is_some());
        last = serde_json::from_slice(&r.body).unwrap();
    }
    assert_eq!(last["metadata"]["posture"]["mode"], "refusal");
    let clean = br#"{"project_id":"bank","messages":[{"role":"user","content":"hello"}]}"#;
    let (r, _, _) = g.guard_exchange_governed(clean, &RequestCtx::default(), false, Some(&pc));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["flagged"], true, "refusal flags every request");
    assert!(v["metadata"]["policy_version"].as_str().unwrap().starts_with("pv-"));
}

#[test]
fn a_forbidden_tool_call_ends_the_response_in_any_mode() {
    // Monitor mode: the detectors would forward everything, a forbidden call still stops.
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let call = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"send_email","arguments":"{}"}}]}}]}"#;
    let mut screen = g.start_response(Format::OpenaiChat, 200, Some("application/json"), None, Some("bank"), true).unwrap();
    screen.forbid_tools(&["send_email".to_string()]);
    assert!(screen.header_edits().remove.contains(&"content-length"), "the body is held and may change");
    assert_eq!(screen.feed(&g, &call[..20], false), crate::StreamStep::Release(Vec::new()));
    let crate::StreamStep::Block { error, status, .. } = screen.feed(&g, &call[20..], true) else { panic!("not stopped") };
    let e: Value = serde_json::from_slice(&error).unwrap();
    assert_eq!((status, e["error"]["code"].as_str()), (403, Some("tool_forbidden")));
    // A call to another tool passes.
    let other = String::from_utf8_lossy(call).replace("send_email", "lookup").into_bytes();
    let mut screen = g.start_response(Format::OpenaiChat, 200, Some("application/json"), None, Some("bank"), true).unwrap();
    screen.forbid_tools(&["send_email".to_string()]);
    assert_eq!(screen.feed(&g, &other, true), crate::StreamStep::Release(other.clone()));
    // A stream: the text before the call goes out, the call's event never does.
    let sse = concat!(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Sure, sending it now.\"}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"name\":\"send_email\",\"arguments\":\"\"}}]}}]}\n\n",
        "data: [DONE]\n\n"
    );
    let mut screen = g.start_response(Format::OpenaiChat, 200, Some("text/event-stream"), None, Some("bank"), true).unwrap();
    screen.forbid_tools(&["send_email".to_string()]);
    let mut out = Vec::new();
    for chunk in sse.as_bytes().chunks(17) {
        match screen.feed(&g, chunk, false) {
            crate::StreamStep::Release(b) => out.extend(b),
            crate::StreamStep::Block { release, error, .. } => {
                out.extend(release);
                out.extend(error);
                break;
            }
        }
    }
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("tool_forbidden") && !out.contains("\"name\":\"send_email\""), "{out}");
}

#[test]
fn a_flagged_response_raises_the_posture_too() {
    let g = Guard::new(CFG.as_bytes()).unwrap();
    let store = LocalStore::default();
    let pc = PostureCtx { store: &store, now_ms: 10 };
    let leak = br#"{"choices":[{"index":0,"message":{"role":"assistant","content":"write to a@b.io"}}]}"#;
    let mut screen = g.start_response(Format::OpenaiChat, 200, Some("application/json"), None, Some("bank"), true).unwrap();
    screen.feed(&g, leak, true);
    let (s, _) = screen.take_screening().unwrap();
    let note = g.posture_after_response(&s, Some(&pc)).unwrap();
    assert_eq!((note.mode, note.state.screenings), (PostureMode::Scoped, 1));
    assert!(g.posture_after_response(&s, None).is_none(), "no store, no posture");
}
