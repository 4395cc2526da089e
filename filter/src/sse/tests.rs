use super::*;

fn parse_chunks(chunks: &[&[u8]]) -> Vec<Event> {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c, &mut out).unwrap();
    }
    p.finish(&mut out);
    out
}

const STREAM: &[u8] = b"\xef\xbb\xbf: keep-alive\r\nevent: message\r\ndata: {\"a\":1}\r\n\r\ndata: line one\ndata: line two\n\nid: 7\nretry: 10\ndata:no-space\r\rdata: caf\xc3\xa9 \xe2\x82\xac\n\ndata: [DONE]\n\ndata: unterminated";

#[test]
fn whole_stream() {
    let ev = parse_chunks(&[STREAM]);
    let data: Vec<&str> = ev.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, vec!["{\"a\":1}", "line one\nline two", "no-space", "café €", "[DONE]", "unterminated"]);
    assert_eq!(ev[0].event, "message");
    assert_eq!(ev[1].event, "");
}

#[test]
fn every_split_point_gives_the_same_events() {
    let whole = parse_chunks(&[STREAM]);
    for i in 0..=STREAM.len() {
        for j in i..=STREAM.len() {
            let got = parse_chunks(&[&STREAM[..i], &STREAM[i..j], &STREAM[j..]]);
            assert_eq!(got, whole, "split at {i}, {j}");
        }
    }
    let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
    assert_eq!(parse_chunks(&bytes), whole);
}

#[test]
fn an_endless_line_is_refused() {
    let mut p = SseParser::new();
    let mut out = Vec::new();
    let big = vec![b'x'; MAX_LINE + 1];
    assert_eq!(p.feed(&big, &mut out), Err(SseError::LineTooLong));
}

#[test]
fn text_per_format() {
    let ev = |d: &str| Event { event: String::new(), data: d.into() };
    assert_eq!(stream_text(Format::OpenaiChat, &ev(r#"{"choices":[{"index":0,"delta":{"content":"Hel"}}]}"#)), "Hel");
    assert_eq!(
        stream_text(Format::OpenaiChat, &ev(r#"{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"to\":"}}]}}]}"#)),
        "{\"to\":"
    );
    assert_eq!(stream_text(Format::OpenaiChat, &ev("[DONE]")), "");
    assert_eq!(stream_text(Format::OpenaiResponses, &ev(r#"{"type":"response.output_text.delta","delta":"lo"}"#)), "lo");
    assert_eq!(stream_text(Format::OpenaiResponses, &ev(r#"{"type":"response.completed","response":{}}"#)), "");
    assert_eq!(
        stream_text(Format::AnthropicMessages, &ev(r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#)),
        "Hi"
    );
    assert_eq!(stream_text(Format::AnthropicMessages, &ev(r#"{"type":"message_stop"}"#)), "");
}
