use super::*;

#[test]
fn reads_every_line_shape() {
    let case = |l: &str| match parse_line(l, 100).unwrap() {
        Line::Case(c) => c,
        Line::Skip(why) => panic!("skipped: {why}"),
    };
    assert_eq!(case(r#"{"messages":[{"role":"user","content":"hi"}],"project_id":"p"}"#).project.as_deref(), Some("p"));
    assert_eq!(case(r#"{"text":"hello","label":0}"#).messages[0].content, "hello");
    let rec = r#"{"time":"2026-01-01T00:00:00.000Z","kind":"api","request_id":"r","project_id":"bot","messages":[{"role":"user","content":"mail <EMAIL>"}]}"#;
    assert_eq!(case(rec).project.as_deref(), Some("bot"));
    assert!(matches!(parse_line(r#"{"kind":"guard","request_id":"r","flagged":false}"#, 100), Ok(Line::Skip("no_content"))));
    assert!(matches!(parse_line(r#"{"kind":"posture","request_id":"r","from":"full"}"#, 100), Ok(Line::Skip("posture_record"))));
    assert!(parse_line("[1]", 100).is_err());
    assert!(parse_line(r#"{"other":1}"#, 100).is_err());
}

#[test]
fn a_stricter_policy_changes_the_verdict() {
    let old = Guard::new(br#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{}}}},"default_policy":"p"}"#).unwrap();
    let new = Guard::new(br#"{"policies":{"p":{"sensitivity":"L2","detectors":{"pii/email":{},"pii/phone_number":{}}}},"default_policy":"p"}"#).unwrap();
    let Line::Case(c) = parse_line(r#"{"text":"call +44 20 7946 0958"}"#, 10).unwrap() else { panic!() };
    let (a, b) = (old.replay(&c, None), new.replay(&c, None));
    assert_eq!((a.action, b.action), ("clean", "blocked"));
    assert_eq!(b.detected, vec!["pii/phone_number"]);
    assert_ne!(a.policy_version, b.policy_version, "a changed policy is a new version");
    let unknown = old.replay(&c, Some("nope"));
    assert_eq!((unknown.action, unknown.error.as_deref()), ("rejected", Some("unknown_project")));
}
