use super::*;

fn err(body: &str) -> ApiError {
    GuardRequest::parse(body.as_bytes(), 100).unwrap_err()
}

#[test]
fn parses_string_and_parts_content() {
    let r = GuardRequest::parse(
        br#"{"messages":[{"role":"system","content":"be nice"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],"project_id":"p1","payload":true}"#,
        100,
    )
    .unwrap();
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.messages[1].content, "a\nb");
    assert_eq!(r.project_id.as_deref(), Some("p1"));
    assert!(r.payload && !r.breakdown && !r.dev_info);
}

#[test]
fn errors_name_the_field() {
    assert_eq!(err(r#"{"messages":[{"role":"user","content":5}]}"#).param.as_deref(), Some("messages[0].content"));
    assert_eq!(err(r#"{"messages":[{"role":"robot","content":"x"}]}"#).param.as_deref(), Some("messages[0].role"));
    assert_eq!(err(r#"{"messages":[]}"#).param.as_deref(), Some("messages"));
    assert_eq!(err(r#"{}"#).code, "missing_field");
    assert_eq!(err(r#"{"messages":[{"role":"user","content":"x"}],"payload":"yes"}"#).param.as_deref(), Some("payload"));
    assert_eq!(
        err(r#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}"#).param.as_deref(),
        Some("messages[0].content[0].type")
    );
}

#[test]
fn body_level_errors() {
    assert_eq!(GuardRequest::parse(b"", 10).unwrap_err().code, "empty_body");
    assert_eq!(GuardRequest::parse(b"{\"messages\": [", 10).unwrap_err().code, "invalid_json");
    assert_eq!(GuardRequest::parse(b"[1]", 10).unwrap_err().code, "invalid_request");
    assert_eq!(GuardRequest::parse(b"{\"a\":\"\xff\"}", 10).unwrap_err().code, "invalid_utf8");
    assert_eq!(GuardRequest::parse(br#"{"messages":[{"role":"user","content":"\ud800"}]}"#, 10).unwrap_err().code, "invalid_json");
    let many = format!("{{\"messages\":[{}]}}", [r#"{"role":"user","content":"x"}"#; 11].join(","));
    let e = GuardRequest::parse(many.as_bytes(), 10).unwrap_err();
    assert_eq!((e.status, e.code), (413, "too_many_messages"));
}

#[test]
fn skip_non_text_parts_for_proxied_bodies() {
    let v: Value = serde_json::from_str(r#"[{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"hi"}]"#).unwrap();
    assert_eq!(parse_content(Some(&v), "c", Parts::SkipNonText).unwrap(), "hi");
    assert!(parse_content(Some(&v), "c", Parts::TextOnly).is_err());
}
