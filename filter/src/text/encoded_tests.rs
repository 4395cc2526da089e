use super::*;

#[test]
fn base64_and_hex_runs_decode_with_their_spans() {
    let b64 = "am9obi5zbWl0aEBleGFtcGxlLmNvbSwgY2FsbCBtZQ=="; // "john.smith@example.com, call me"
    let text = format!("é see {b64} and 6a616e652e726f65406578616d706c652e636f6d ok");
    let runs = encoded_runs(&text);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!((runs[0].encoding, runs[0].decoded.text.as_str()), ("base64", "john.smith@example.com, call me"));
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(chars[runs[0].start..runs[0].end].iter().collect::<String>(), b64);
    assert_eq!((runs[1].encoding, runs[1].decoded.text.as_str()), ("hex", "jane.roe@example.com"));
}

#[test]
fn words_binary_and_short_runs_are_not_decoded() {
    for t in [
        "internationalization and counterrevolutionaries",
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk",
        "aGVsbG8= short",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    ] {
        assert!(encoded_runs(t).is_empty(), "{t}: {:?}", encoded_runs(t));
    }
}
