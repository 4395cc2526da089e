use super::*;

fn names(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    called_tools(&serde_json::from_str(body).unwrap(), &mut out);
    out
}

#[test]
fn strips_named_tools_in_every_api() {
    let chat = br#"{"model":"m","tools":[{"type":"function","function":{"name":"send_email"}},{"type":"function","function":{"name":"lookup"}}],"tool_choice":{"type":"function","function":{"name":"send_email"}},"messages":[]}"#;
    let (b, removed) = strip_tools(chat, &["send_email".into()]).unwrap();
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(removed, vec!["send_email"]);
    assert_eq!(v["tools"].as_array().unwrap().len(), 1);
    assert_eq!(v["tool_choice"], "auto");
    let anthropic = br#"{"model":"c","max_tokens":5,"tools":[{"name":"wire_money","input_schema":{}}],"tool_choice":{"type":"tool","name":"wire_money"},"messages":[]}"#;
    let (b, _) = strip_tools(anthropic, &["wire_money".into()]).unwrap();
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert!(v.get("tools").is_none() && v.get("tool_choice").is_none());
    let responses = br#"{"model":"m","tools":[{"type":"function","name":"delete_user"}],"input":"hi"}"#;
    assert!(strip_tools(responses, &["delete_user".into()]).is_some());
    assert!(strip_tools(responses, &["other".into()]).is_none());
    assert!(strip_tools(b"not json", &["x".into()]).is_none());
}

#[test]
fn finds_called_tools_in_responses_and_events() {
    assert_eq!(names(r#"{"choices":[{"message":{"tool_calls":[{"function":{"name":"send_email","arguments":"{}"}}]}}]}"#), vec!["send_email"]);
    assert_eq!(names(r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"name":"send_email"}}]}}]}"#), vec!["send_email"]);
    assert_eq!(names(r#"{"output":[{"type":"function_call","name":"pay","arguments":"{}"}]}"#), vec!["pay"]);
    assert_eq!(names(r#"{"type":"response.output_item.added","item":{"type":"function_call","name":"pay"}}"#), vec!["pay"]);
    assert_eq!(names(r#"{"content":[{"type":"tool_use","name":"rm","input":{}}]}"#), vec!["rm"]);
    assert_eq!(names(r#"{"type":"content_block_start","content_block":{"type":"tool_use","name":"rm"}}"#), vec!["rm"]);
    // A tool's *definition* or a text that names it is not a call.
    assert!(names(r#"{"choices":[{"message":{"content":"I could call send_email"}}]}"#).is_empty());
    assert_eq!(forbidden_call(r#"{"output":[{"type":"function_call","name":"pay"}]}"#, &["pay".into()]), Some("pay".into()));
    assert_eq!(forbidden_call("[DONE]", &["pay".into()]), None);
}

#[test]
fn replies_in_each_api_shape() {
    let (b, ct) = assistant_reply(Format::OpenaiChat, br#"{"model":"gpt-x","messages":[]}"#, "r1", 7, "Tell me more?");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!((ct, v["choices"][0]["message"]["content"].as_str(), v["model"].as_str()), ("application/json", Some("Tell me more?"), Some("gpt-x")));
    let (b, ct) = assistant_reply(Format::OpenaiChat, br#"{"stream":true,"messages":[]}"#, "r1", 7, "Q?");
    let s = String::from_utf8(b).unwrap();
    assert_eq!(ct, "text/event-stream");
    assert!(s.ends_with("data: [DONE]\n\n") && s.contains("\"content\":\"Q?\""));
    let (b, _) = assistant_reply(Format::AnthropicMessages, br#"{"messages":[]}"#, "r1", 7, "Q?");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["content"][0]["text"], "Q?");
    let (b, _) = assistant_reply(Format::AnthropicMessages, br#"{"stream":true}"#, "r1", 7, "Q?");
    assert!(String::from_utf8(b).unwrap().contains("event: message_stop"));
    let (b, _) = assistant_reply(Format::OpenaiResponses, br#"{"input":"x"}"#, "r1", 7, "Q?");
    let v: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["output"][0]["content"][0]["text"], "Q?");
}
