//! Tools in LLM API bodies, for the posture's `scoped` mode: removing tool definitions from a
//! request, finding the tools a response (or one streamed event) calls, and the replies the
//! posture answers with in each API's own format.

use serde_json::{json, Map, Value};

use crate::formats::Format;

/// The name a tool definition declares, in any of the three APIs: OpenAI chat nests it under
/// `function`, OpenAI Responses and Anthropic put it at the top.
fn definition_name(tool: &Value) -> Option<&str> {
    tool.get("function").and_then(|f| f.get("name")).or_else(|| tool.get("name")).and_then(Value::as_str)
}

/// `body` with the tools named in `remove` taken out of `tools` (and a `tool_choice` that forces
/// one of them reset to `auto`, or dropped when no tool is left). `None`: nothing to remove, or
/// not a JSON object (the screen has already judged such a body).
pub fn strip_tools(body: &[u8], remove: &[String]) -> Option<(Vec<u8>, Vec<String>)> {
    if remove.is_empty() {
        return None;
    }
    let mut obj: Map<String, Value> = serde_json::from_slice(body).ok()?;
    let tools = obj.get_mut("tools")?.as_array_mut()?;
    let mut removed = Vec::new();
    tools.retain(|t| match definition_name(t) {
        Some(n) if remove.iter().any(|r| r == n) => {
            removed.push(n.to_string());
            false
        }
        _ => true,
    });
    if removed.is_empty() {
        return None;
    }
    let empty = tools.is_empty();
    if empty {
        obj.remove("tools");
    }
    let forced = obj.get("tool_choice").and_then(|c| definition_name(c).or_else(|| c.get("tool").and_then(|t| t.get("name")).and_then(Value::as_str)));
    if forced.is_some_and(|n| removed.iter().any(|r| r == n)) || (empty && obj.contains_key("tool_choice")) {
        if empty {
            obj.remove("tool_choice");
        } else {
            // Anthropic's `{"type":"auto"}`; both OpenAI APIs take the string.
            let auto = if obj.get("tool_choice").is_some_and(Value::is_object) && obj.contains_key("max_tokens") { json!({"type": "auto"}) } else { json!("auto") };
            obj.insert("tool_choice".into(), auto);
        }
    }
    removed.sort();
    removed.dedup();
    serde_json::to_vec(&obj).ok().map(|b| (b, removed))
}

/// Tools a response body or one streamed event calls, in any of the three APIs: OpenAI chat
/// `tool_calls[].function.name` (message or delta), Responses items of type `function_call`,
/// Anthropic `tool_use` blocks (content or `content_block_start`).
pub fn called_tools(v: &Value, out: &mut Vec<String>) {
    called(v, out, 0);
}

/// Nesting depth searched: responses and events put calls a few levels down.
const MAX_DEPTH: usize = 8;

fn called(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(o) => {
            let kind = o.get("type").and_then(Value::as_str).unwrap_or("");
            if matches!(kind, "function_call" | "custom_tool_call" | "tool_use" | "server_tool_use") {
                if let Some(n) = o.get("name").and_then(Value::as_str) {
                    out.push(n.to_string());
                }
            }
            if let Some(calls) = o.get("tool_calls").and_then(Value::as_array) {
                for c in calls {
                    if let Some(n) = c.get("function").and_then(|f| f.get("name")).and_then(Value::as_str) {
                        out.push(n.to_string());
                    }
                }
            }
            for (k, child) in o {
                if k != "tool_calls" && (child.is_object() || child.is_array()) {
                    called(child, out, depth + 1);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|c| called(c, out, depth + 1)),
        _ => {}
    }
}

/// The first tool in `forbidden` that `body` (a JSON response or one event's data) calls.
pub fn forbidden_call(data: &str, forbidden: &[String]) -> Option<String> {
    if forbidden.is_empty() || !data.contains("\"name\"") {
        return None;
    }
    let v: Value = serde_json::from_str(data).ok()?;
    let mut names = Vec::new();
    called_tools(&v, &mut names);
    names.into_iter().find(|n| forbidden.iter().any(|f| f == n))
}

/// Whether a request asks for a streamed answer (`"stream": true`).
pub fn wants_stream(body: &[u8]) -> bool {
    serde_json::from_slice::<Map<String, Value>>(body).ok().and_then(|o| o.get("stream").and_then(Value::as_bool)).unwrap_or(false)
}

fn model_of(body: &[u8]) -> String {
    serde_json::from_slice::<Map<String, Value>>(body)
        .ok()
        .and_then(|o| o.get("model").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "parapet".into())
}

/// An assistant answer saying `text`, as the API of `format` would send it for this request:
/// a JSON body, or server-sent events when the request asked for a stream. `id` names the
/// answer; `created_s` is the host's clock. Returns the body and its content type.
pub fn assistant_reply(format: Format, request: &[u8], id: &str, created_s: u64, text: &str) -> (Vec<u8>, &'static str) {
    let model = model_of(request);
    let stream = wants_stream(request);
    let events: Vec<(Option<&str>, Value)> = match format {
        Format::OpenaiChat if stream => vec![
            (None, json!({"id": format!("chatcmpl-{id}"), "object": "chat.completion.chunk", "created": created_s, "model": model,
                "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": null}]})),
            (None, json!({"id": format!("chatcmpl-{id}"), "object": "chat.completion.chunk", "created": created_s, "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})),
        ],
        Format::OpenaiChat => {
            let body = json!({"id": format!("chatcmpl-{id}"), "object": "chat.completion", "created": created_s, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}});
            return (body.to_string().into_bytes(), "application/json");
        }
        Format::OpenaiResponses => {
            let item = json!({"type": "message", "id": format!("msg_{id}"), "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]});
            let response = json!({"id": format!("resp_{id}"), "object": "response", "created_at": created_s, "status": "completed",
                "model": model, "output": [item.clone()], "usage": {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}});
            if !stream {
                return (response.to_string().into_bytes(), "application/json");
            }
            vec![
                (Some("response.output_item.added"), json!({"type": "response.output_item.added", "output_index": 0, "item": item})),
                (Some("response.output_text.delta"), json!({"type": "response.output_text.delta", "output_index": 0, "content_index": 0, "delta": text})),
                (Some("response.completed"), json!({"type": "response.completed", "response": response})),
            ]
        }
        Format::AnthropicMessages => {
            let message = json!({"id": format!("msg_{id}"), "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0}});
            if !stream {
                return (message.to_string().into_bytes(), "application/json");
            }
            let mut start = message.clone();
            start["content"] = json!([]);
            vec![
                (Some("message_start"), json!({"type": "message_start", "message": start})),
                (Some("content_block_start"), json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
                (Some("content_block_delta"), json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})),
                (Some("content_block_stop"), json!({"type": "content_block_stop", "index": 0})),
                (Some("message_delta"), json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 0}})),
                (Some("message_stop"), json!({"type": "message_stop"})),
            ]
        }
    };
    let mut out = String::new();
    for (event, data) in events {
        crate::sse::write_event(&mut out, event, &data.to_string());
    }
    crate::sse::write_end(&mut out, format);
    (out.into_bytes(), "text/event-stream")
}

#[cfg(test)]
mod tests;
