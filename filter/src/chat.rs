//! Proxied LLM request bodies. OpenAI chat completions for now: `{"model", "messages", …}`.
//!
//! Only the text is screened: image, audio and file parts carry no text for these detectors and
//! are passed on (documented in `docs/config.md`). Every other field is the upstream's business.

use crate::api::{parse_messages, parse_object, Message, Parts};
use crate::error::ApiError;

pub fn parse_chat_request(body: &[u8], max_messages: usize) -> Result<Vec<Message>, ApiError> {
    let obj = parse_object(body)?;
    parse_messages(obj.get("messages"), "messages", max_messages, Parts::SkipNonText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_body_with_tools_and_images() {
        let m = parse_chat_request(
            br#"{"model":"gpt","stream":true,"messages":[
                {"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:,"}}]},
                {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
                {"role":"tool","tool_call_id":"c1","content":"42"}]}"#,
            10,
        )
        .unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].content, "what is this?");
        assert_eq!(m[1].content, "");
        assert_eq!(m[2].content, "42");
        assert_eq!(parse_chat_request(br#"{"model":"gpt"}"#, 10).unwrap_err().param.as_deref(), Some("messages"));
    }
}
