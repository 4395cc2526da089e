"""The official OpenAI and Anthropic Python SDKs as the application, behind each real host.

The application only changes its base URL to the proxy (Envoy with the shipped config, or
workerd). Clean answers, JSON and streamed, arrive as the SDK's own objects; a blocked request
or response raises the SDK's own API error (HTTP 403) carrying Parapet's reason; a stream stopped
for a leak raises from the iterator and never yields the leaked text. None of it may surface as
a parse failure inside the SDK (`TypeError`, `KeyError`, a validation error).
"""
import json

import anthropic
import openai
import pytest

from test_streaming import BLOCK, JSON_CT, KEY, SSE, json_body, proxy, sse  # noqa: F401 (fixture)

CONFIG = {**BLOCK, "unknown_api_key": "ignore"}
LEAK = "jane.doe@example.com"


def openai_client(port):
    return openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", max_retries=0, timeout=30)


def anthropic_client(port):
    return anthropic.Anthropic(base_url=f"http://127.0.0.1:{port}", api_key="sk-ant-test", max_retries=0, timeout=30)


def answer_json(upstream, fmt, text):
    body = json_body(fmt, text)
    if fmt == "openai_chat":
        body.update(created=0, model="m")
    else:
        body.update(model="m", stop_reason="end_turn", usage={"input_tokens": 3, "output_tokens": 5})
    raw = json.dumps(body).encode()
    upstream.headers = {**JSON_CT, "content-length": str(len(raw))}
    upstream.steps = [raw[:25], 0.05, raw[25:]]


def answer_stream(upstream, fmt, parts):
    upstream.headers = dict(SSE)
    events = sse(fmt, parts)
    if fmt == "anthropic_messages":
        # The SDK builds its message from these framing events.
        start = {"type": "message_start", "message": {"id": "m1", "type": "message", "role": "assistant", "content": [], "model": "m",
                                                      "stop_reason": None, "usage": {"input_tokens": 3, "output_tokens": 0}}}
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        events[0] = f"event: message_start\r\ndata: {json.dumps(start)}\r\n\r\nevent: content_block_start\r\ndata: {json.dumps(block)}\r\n\r\n".encode()
    steps = []
    for e in events:
        steps += [e, 0.03]
    upstream.steps = steps


def chat(client, text, stream=False):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}], stream=stream)


def messages(client, text, stream=False):
    return client.messages.create(model="m", max_tokens=64, messages=[{"role": "user", "content": text}], stream=stream)


def stream_text(fmt, stream):
    """Text the application saw from a stream, until it ended or raised (returned with it)."""
    seen = []
    try:
        for event in stream:
            if fmt == "openai_chat":
                seen += [c.delta.content or "" for c in event.choices]
            elif event.type == "content_block_delta":
                seen.append(event.delta.text)
    except (openai.APIError, anthropic.APIError) as e:
        return "".join(seen), e
    return "".join(seen), None


def test_openai_sdk_clean_json_and_stream_work_unchanged(proxy, scripted_upstream):  # noqa: F811
    p = proxy(CONFIG)
    c = openai_client(p.port)
    answer_json(scripted_upstream, "openai_chat", "Paris is the capital of France.")
    r = chat(c, "What is the capital of France?")
    assert len(scripted_upstream.received) == 1, p.logs()[-3000:]  # this test's upstream answered
    assert r.choices[0].message.content == "Paris is the capital of France."
    answer_stream(scripted_upstream, "openai_chat", ["Paris is ", "the capital."])
    text, err = stream_text("openai_chat", chat(c, "What is the capital of France?", stream=True))
    assert (text, err) == ("Paris is the capital.", None)


def test_anthropic_sdk_clean_json_and_stream_work_unchanged(proxy, scripted_upstream):  # noqa: F811
    p = proxy(CONFIG)
    c = anthropic_client(p.port)
    answer_json(scripted_upstream, "anthropic_messages", "Paris is the capital of France.")
    r = messages(c, "What is the capital of France?")
    assert len(scripted_upstream.received) == 1, p.logs()[-3000:]  # this test's upstream answered
    assert r.content[0].text == "Paris is the capital of France."
    answer_stream(scripted_upstream, "anthropic_messages", ["Paris is ", "the capital."])
    text, err = stream_text("anthropic_messages", messages(c, "What is the capital of France?", stream=True))
    assert (text, err) == ("Paris is the capital.", None)


def test_openai_sdk_raises_its_own_error_for_a_blocked_request_and_response(proxy, scripted_upstream):  # noqa: F811
    p = proxy(CONFIG)
    c = openai_client(p.port)
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        chat(c, f"my key is {KEY}, store it")
    assert blocked.value.status_code == 403 and scripted_upstream.received == [], "a blocked request never reaches the upstream"
    assert blocked.value.body["code"] == "blocked" and blocked.value.body["detector_types"] == ["pii/secret"]
    assert "request blocked by Parapet" in str(blocked.value)

    answer_json(scripted_upstream, "openai_chat", f"Sure, mail {LEAK}")
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        chat(c, "Who handles refunds?")
    assert blocked.value.body["detector_types"] == ["pii/email"] and "response blocked by Parapet" in str(blocked.value)
    assert LEAK not in str(blocked.value.body)


def test_anthropic_sdk_raises_its_own_error_for_a_blocked_request_and_response(proxy, scripted_upstream):  # noqa: F811
    p = proxy(CONFIG)
    c = anthropic_client(p.port)
    with pytest.raises(anthropic.PermissionDeniedError) as blocked:
        messages(c, f"my key is {KEY}, store it")
    assert blocked.value.status_code == 403 and scripted_upstream.received == []
    assert blocked.value.body["error"]["code"] == "blocked" and "request blocked by Parapet" in str(blocked.value)

    answer_json(scripted_upstream, "anthropic_messages", f"Sure, mail {LEAK}")
    with pytest.raises(anthropic.PermissionDeniedError) as blocked:
        messages(c, "Who handles refunds?")
    assert blocked.value.body["error"]["detector_types"] == ["pii/email"] and "response blocked by Parapet" in str(blocked.value)
    assert LEAK not in str(blocked.value.body)


@pytest.mark.parametrize("fmt", ["openai_chat", "anthropic_messages"])
def test_a_stream_stopped_for_a_leak_raises_and_never_yields_it(proxy, scripted_upstream, fmt):  # noqa: F811
    p = proxy(CONFIG)
    answer_stream(scripted_upstream, fmt, ["Sure, write to jane.", "doe@exam", "ple.com any time."])
    if fmt == "openai_chat":
        stream = chat(openai_client(p.port), "Who handles refunds?", stream=True)
    else:
        stream = messages(anthropic_client(p.port), "Who handles refunds?", stream=True)
    text, err = stream_text(fmt, stream)
    assert err is not None, f"the stream ended without an error after {text!r}"
    assert "doe@exam" not in text and "ple.com" not in text
    assert "response blocked by Parapet" in str(err) or "pii/email" in str(err.body)
