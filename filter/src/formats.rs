//! LLM API bodies: which text in a proxied request or response gets screened, and as what role.
//!
//! Three formats, each with request and (non-streaming) response extraction:
//! - `openai_chat`: OpenAI chat completions (`messages`, `tool_calls`, `tool` results);
//! - `openai_responses`: the OpenAI Responses API (`instructions`, `input` items,
//!   `function_call` / `function_call_output`, `output` items);
//! - `anthropic_messages`: Anthropic Messages (`system`, content blocks, `tool_use` /
//!   `tool_result`).
//!
//! Tool results come back as `tool` messages, so they are screened as possible indirect
//! injection. Tool-call arguments the model produced are `assistant` text. Instructions and tool
//! definitions the application wrote are context (`system`). Images, audio and files carry no
//! text for these detectors and pass unscreened. A body that is not the expected shape is an
//! error, which the caller turns into the configured fail mode, never a silent pass.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::api::{parse_messages, parse_object, type_name, Message, Parts, Role};
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    OpenaiChat,
    OpenaiResponses,
    AnthropicMessages,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::OpenaiChat => "openai_chat",
            Format::OpenaiResponses => "openai_responses",
            Format::AnthropicMessages => "anthropic_messages",
        }
    }
}

/// Collects messages while enforcing the message limit.
struct Out {
    messages: Vec<Message>,
    max: usize,
}

impl Out {
    fn push(&mut self, role: Role, content: String) -> Result<(), ApiError> {
        if self.messages.len() >= self.max {
            return Err(ApiError::new(413, "too_many_messages", format!("the body has more than {} messages; the limit is {}", self.max, self.max)));
        }
        self.messages.push(Message { role, content });
        Ok(())
    }
}

fn invalid(field: &str, want: &str, got: &Value) -> ApiError {
    ApiError::invalid("invalid_type", field, format!("`{field}` must be {want}, got {}", type_name(got)))
}

fn as_array<'a>(v: &'a Value, field: &str) -> Result<&'a Vec<Value>, ApiError> {
    v.as_array().ok_or_else(|| invalid(field, "an array", v))
}

fn as_object<'a>(v: &'a Value, field: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| invalid(field, "an object", v))
}

/// Tool arguments and inputs are JSON: screen their text as written (strings unescaped).
fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The messages of a proxied request body.
pub fn parse_request(format: Format, body: &[u8], max: usize) -> Result<Vec<Message>, ApiError> {
    let obj = parse_object(body)?;
    let mut out = Out { messages: Vec::new(), max };
    match format {
        Format::OpenaiChat => openai_chat_request(&obj, &mut out)?,
        Format::OpenaiResponses => responses_request(&obj, &mut out)?,
        Format::AnthropicMessages => anthropic_request(&obj, &mut out)?,
    }
    Ok(out.messages)
}

/// The messages of a non-streaming response body (what the model said and which tools it called).
pub fn parse_response(format: Format, body: &[u8], max: usize) -> Result<Vec<Message>, ApiError> {
    let obj = parse_object(body)?;
    let mut out = Out { messages: Vec::new(), max };
    match format {
        Format::OpenaiChat => openai_chat_response(&obj, &mut out)?,
        Format::OpenaiResponses => responses_output(obj.get("output"), "output", &mut out)?,
        Format::AnthropicMessages => anthropic_content(Role::Assistant, obj.get("content"), "content", &mut out)?,
    }
    Ok(out.messages)
}

fn tools_context(obj: &Map<String, Value>, out: &mut Out) -> Result<(), ApiError> {
    // Tool definitions are the application's: context, like a system prompt.
    if let Some(tools) = obj.get("tools") {
        let tools = as_array(tools, "tools")?;
        if !tools.is_empty() {
            out.push(Role::System, Value::Array(tools.clone()).to_string())?;
        }
    }
    Ok(())
}

fn openai_tool_calls(msg: &Map<String, Value>, field: &str, out: &mut Out) -> Result<(), ApiError> {
    let Some(calls) = msg.get("tool_calls") else { return Ok(()) };
    if calls.is_null() {
        return Ok(());
    }
    for (i, call) in as_array(calls, &format!("{field}.tool_calls"))?.iter().enumerate() {
        let cf = format!("{field}.tool_calls[{i}]");
        let call = as_object(call, &cf)?;
        if let Some(f) = call.get("function") {
            let f = as_object(f, &format!("{cf}.function"))?;
            let name = f.get("name").and_then(Value::as_str).unwrap_or("");
            let args = f.get("arguments").map(json_text).unwrap_or_default();
            out.push(Role::Assistant, format!("{name} {args}"))?;
        }
    }
    Ok(())
}

fn openai_chat_request(obj: &Map<String, Value>, out: &mut Out) -> Result<(), ApiError> {
    tools_context(obj, out)?;
    let remaining = out.max.saturating_sub(out.messages.len()).max(1);
    let messages = parse_messages(obj.get("messages"), "messages", remaining, Parts::SkipNonText)?;
    let raw = obj.get("messages").and_then(Value::as_array);
    for (i, m) in messages.into_iter().enumerate() {
        out.push(m.role, m.content)?;
        if let Some(Value::Object(msg)) = raw.and_then(|r| r.get(i)) {
            openai_tool_calls(msg, &format!("messages[{i}]"), out)?;
        }
    }
    Ok(())
}

fn openai_chat_response(obj: &Map<String, Value>, out: &mut Out) -> Result<(), ApiError> {
    let choices = obj.get("choices").ok_or_else(|| ApiError::invalid("missing_field", "choices", "`choices` is required"))?;
    for (i, choice) in as_array(choices, "choices")?.iter().enumerate() {
        let cf = format!("choices[{i}]");
        let choice = as_object(choice, &cf)?;
        let Some(msg) = choice.get("message") else { continue };
        let msg = as_object(msg, &format!("{cf}.message"))?;
        let text = crate::api::parse_content(msg.get("content"), &format!("{cf}.message.content"), Parts::SkipNonText)?;
        out.push(Role::Assistant, text)?;
        if let Some(Value::String(r)) = msg.get("refusal") {
            out.push(Role::Assistant, r.clone())?;
        }
        openai_tool_calls(msg, &format!("{cf}.message"), out)?;
    }
    Ok(())
}

/// Text of Responses-API content: a string or parts of `input_text` / `output_text` / `text`.
fn responses_text(v: Option<&Value>, field: &str) -> Result<String, ApiError> {
    crate::api::parse_content(v, field, Parts::SkipNonText)
}

fn responses_item(item: &Value, field: &str, out: &mut Out) -> Result<(), ApiError> {
    let obj = as_object(item, field)?;
    let kind = obj.get("type").and_then(Value::as_str).unwrap_or("message");
    match kind {
        "message" => {
            let role = match obj.get("role").and_then(Value::as_str) {
                Some(r) => Role::parse(r).ok_or_else(|| {
                    ApiError::invalid("invalid_value", format!("{field}.role"), format!("`{field}.role` is not a known role: {r:?}"))
                })?,
                None => return Err(ApiError::invalid("missing_field", format!("{field}.role"), format!("`{field}.role` is required"))),
            };
            out.push(role, responses_text(obj.get("content"), &format!("{field}.content"))?)
        }
        "function_call" | "custom_tool_call" => {
            let name = obj.get("name").and_then(Value::as_str).unwrap_or("");
            let args = obj.get("arguments").or_else(|| obj.get("input")).map(json_text).unwrap_or_default();
            out.push(Role::Assistant, format!("{name} {args}"))
        }
        "function_call_output" | "custom_tool_call_output" => out.push(Role::Tool, obj.get("output").map(json_text).unwrap_or_default()),
        "reasoning" => {
            // Summaries are model output; encrypted reasoning is opaque.
            let mut texts = Vec::new();
            if let Some(Value::Array(parts)) = obj.get("summary") {
                texts.extend(parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)));
            }
            if texts.is_empty() {
                return Ok(());
            }
            out.push(Role::Assistant, texts.join("\n"))
        }
        // Built-in tool calls (web search, file search, …) carry queries and results as text.
        _ => out.push(if kind.ends_with("_output") { Role::Tool } else { Role::Assistant }, Value::Object(obj.clone()).to_string()),
    }
}

fn responses_request(obj: &Map<String, Value>, out: &mut Out) -> Result<(), ApiError> {
    if let Some(instr) = obj.get("instructions") {
        if !instr.is_null() {
            out.push(Role::System, responses_text(Some(instr), "instructions")?)?;
        }
    }
    tools_context(obj, out)?;
    match obj.get("input") {
        Some(Value::String(s)) => out.push(Role::User, s.clone()),
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                responses_item(item, &format!("input[{i}]"), out)?;
            }
            Ok(())
        }
        Some(other) => Err(invalid("input", "a string or an array of input items", other)),
        None => Err(ApiError::invalid("missing_field", "input", "`input` is required")),
    }
}

fn responses_output(v: Option<&Value>, field: &str, out: &mut Out) -> Result<(), ApiError> {
    let Some(v) = v else { return Err(ApiError::invalid("missing_field", field, format!("`{field}` is required"))) };
    for (i, item) in as_array(v, field)?.iter().enumerate() {
        responses_item(item, &format!("{field}[{i}]"), out)?;
    }
    Ok(())
}

/// Anthropic content: a string or blocks. `tool_result` blocks become `tool` messages.
fn anthropic_content(role: Role, v: Option<&Value>, field: &str, out: &mut Out) -> Result<(), ApiError> {
    let blocks = match v {
        Some(Value::String(s)) => return out.push(role, s.clone()),
        Some(Value::Array(b)) => b,
        None | Some(Value::Null) => return out.push(role, String::new()),
        Some(other) => return Err(invalid(field, "a string or an array of content blocks", other)),
    };
    let mut text: Vec<String> = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let bf = format!("{field}[{i}]");
        let b = as_object(block, &bf)?;
        match b.get("type").and_then(Value::as_str).unwrap_or("") {
            "text" => match b.get("text") {
                Some(Value::String(t)) => text.push(t.clone()),
                Some(other) => return Err(invalid(&format!("{bf}.text"), "a string", other)),
                None => return Err(ApiError::invalid("missing_field", format!("{bf}.text"), format!("`{bf}.text` is required"))),
            },
            "tool_use" | "server_tool_use" => {
                let name = b.get("name").and_then(Value::as_str).unwrap_or("");
                let input = b.get("input").map(json_text).unwrap_or_default();
                text.push(format!("{name} {input}"));
            }
            "tool_result" | "web_search_tool_result" => {
                let mut sub = Out { messages: Vec::new(), max: out.max };
                anthropic_content(Role::Tool, b.get("content"), &format!("{bf}.content"), &mut sub)?;
                for m in sub.messages {
                    out.push(Role::Tool, m.content)?;
                }
            }
            // Plain-text documents are retrieved content: screen them like tool output.
            "document" => {
                if let Some(Value::String(data)) = b.get("source").and_then(|s| s.get("data")) {
                    if b.get("source").and_then(|s| s.get("type")).and_then(Value::as_str) == Some("text") {
                        out.push(Role::Tool, data.clone())?;
                    }
                }
            }
            "thinking" => {
                if let Some(Value::String(t)) = b.get("thinking") {
                    text.push(t.clone());
                }
            }
            // image, redacted_thinking, …: nothing to screen as text.
            _ => {}
        }
    }
    out.push(role, text.join("\n"))
}

fn anthropic_request(obj: &Map<String, Value>, out: &mut Out) -> Result<(), ApiError> {
    if let Some(system) = obj.get("system") {
        if !system.is_null() {
            anthropic_content(Role::System, Some(system), "system", out)?;
        }
    }
    tools_context(obj, out)?;
    let msgs = obj.get("messages").ok_or_else(|| ApiError::invalid("missing_field", "messages", "`messages` is required"))?;
    let msgs = as_array(msgs, "messages")?;
    if msgs.is_empty() {
        return Err(ApiError::invalid("invalid_value", "messages", "`messages` must contain at least one message"));
    }
    for (i, m) in msgs.iter().enumerate() {
        let f = format!("messages[{i}]");
        let m = as_object(m, &f)?;
        let role = match m.get("role").and_then(Value::as_str) {
            Some("user") => Role::User,
            Some("assistant") => Role::Assistant,
            Some(r) => return Err(ApiError::invalid("invalid_value", format!("{f}.role"), format!("`{f}.role` must be user or assistant; got {r:?}"))),
            None => return Err(ApiError::invalid("missing_field", format!("{f}.role"), format!("`{f}.role` is required"))),
        };
        anthropic_content(role, m.get("content"), &format!("{f}.content"), out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
