use super::*;

#[test]
fn tokens_per_detector() {
    assert_eq!(token("pii/email", &[]), "<EMAIL>");
    assert_eq!(token("pii/us_social_security_number", &[]), "<US_SOCIAL_SECURITY_NUMBER>");
    assert_eq!(token("pii/secret", &["aws_access_key_id".into()]), "<SECRET>");
    assert_eq!(token("pii/custom", &["employee-id".into()]), "<EMPLOYEE_ID>");
    assert_eq!(token("pii/custom", &[]), "<CUSTOM>");
}

#[test]
fn spans_merge_and_keep_code_points() {
    let t = "é a@b.io and c@d.io";
    assert_eq!(replace_spans(t, vec![(2, 8, "<EMAIL>".into()), (13, 19, "<EMAIL>".into())]), "é <EMAIL> and <EMAIL>");
    // Overlap: one token for the union, the first span's.
    assert_eq!(replace_spans("abcdef", vec![(1, 4, "<X>".into()), (2, 5, "<Y>".into())]), "a<X>f");
    assert_eq!(replace_spans("abc", vec![]), "abc");
}

#[test]
fn only_screened_strings_change_and_other_bytes_stay() {
    let body = br#"{ "model":"m", "temperature":0.70,
        "messages":[{"role":"system","content":"ops: x@y.io"},
                    {"role":"user","content":[{"type":"text","text":"x@y.io \u00e9"},{"type":"image_url","image_url":{"url":"x@y.io"}}]},
                    {"role":"assistant","content":null,"tool_calls":[{"id":"x@y.io","type":"function","function":{"name":"f","arguments":"{\"to\":\"x@y.io\"}"}}]}] }"#;
    let mut seen = Vec::new();
    let out = mask_body(Format::OpenaiChat, false, body, &mut |role, t| {
        seen.push((role, t.to_string()));
        Some(t.replace("x@y.io", "<EMAIL>"))
    })
    .unwrap()
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let expect = String::from_utf8(body.to_vec())
        .unwrap()
        .replacen(r#""x@y.io \u00e9""#, "\"<EMAIL> é\"", 1)
        .replacen(r#""{\"to\":\"x@y.io\"}""#, r#""{\"to\":\"<EMAIL>\"}""#, 1);
    assert_eq!(out, expect);
    assert_eq!(seen.iter().map(|s| s.0).collect::<Vec<_>>(), vec![Role::User, Role::Assistant]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["messages"][0]["content"], "ops: x@y.io");
    assert_eq!(v["temperature"], 0.70);
    assert!(mask_body(Format::OpenaiChat, false, body, &mut |_, _| None).unwrap().is_none());
}

#[test]
fn every_format_masks_its_text_fields() {
    let cases: &[(Format, bool, &str, &str)] = &[
        (Format::OpenaiChat, true, r#"{"choices":[{"message":{"role":"assistant","content":"hi x@y.io","refusal":"x@y.io"}}]}"#, "content"),
        (Format::OpenaiResponses, false, r#"{"instructions":"x@y.io","input":"mail x@y.io"}"#, "input"),
        (
            Format::OpenaiResponses,
            false,
            r#"{"input":[{"role":"user","content":[{"type":"input_text","text":"x@y.io"}]},{"type":"function_call_output","call_id":"c","output":"x@y.io"}]}"#,
            "input",
        ),
        (Format::OpenaiResponses, true, r#"{"output":[{"type":"message","role":"assistant","content":[{"type":"output_text","text":"x@y.io"}]}]}"#, "output"),
        (
            Format::AnthropicMessages,
            false,
            r#"{"system":"x@y.io","messages":[{"role":"user","content":[{"type":"text","text":"x@y.io"},{"type":"tool_result","tool_use_id":"t","content":"x@y.io"}]}]}"#,
            "messages",
        ),
        (Format::AnthropicMessages, true, r#"{"content":[{"type":"text","text":"x@y.io"},{"type":"tool_use","id":"t","name":"n","input":{"to":"x@y.io"}}]}"#, "content"),
    ];
    for (format, response, body, field) in cases {
        let out = mask_body(*format, *response, body.as_bytes(), &mut |_, t| Some(t.replace("x@y.io", "<EMAIL>"))).unwrap().unwrap();
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert!(!v[field].to_string().contains("x@y.io"), "{body} -> {v}");
        // Context (system prompts, instructions) is never rewritten.
        for ctx in ["system", "instructions"] {
            if let Some(s) = v.get(ctx) {
                assert_eq!(s, "x@y.io");
            }
        }
    }
}

#[test]
fn duplicate_keys_are_refused() {
    let body = br#"{"messages":[{"role":"user","content":"a@b.io","content":"x@y.io"}]}"#;
    let e = mask_body(Format::OpenaiChat, false, body, &mut |_, t| Some(t.replace("x@y.io", "<EMAIL>"))).unwrap_err();
    assert_eq!(e.code, "mask_failed");
}
