"""Response screening in the real hosts: Envoy (proxy-wasm, V8) and workerd, in front of a local
upstream that speaks each LLM API's JSON and server-sent event formats.

Every test runs against both hosts. Both hold a JSON body in block mode before its headers
(Envoy with `hold_response_headers` and the plugin's `allow_on_headers_stop_iteration`, as the
shipped configs set them) and answer with the core's status (403 blocked, 502 unscreenable) and
the final length. Without the hold, Envoy has sent the headers when the verdict is known: the
upstream status stays, with the error body. A blocked stream ends with the API's own error event
in both.
"""
import json
import threading
import time

import pytest

from conftest import StreamingResponse, request
from test_workerd import ARTIFACTS, Workerd

HOLD = 64
POLICY = {"sensitivity": "L2", "detectors": {"pii/email": {}, "pii/secret": {}}}
BLOCK = {"mode": "block", "fail_mode": "closed", "policies": {"p": POLICY}, "default_policy": "p", "stream_hold_back": HOLD,
         "hold_response_headers": True}
MONITOR = {**BLOCK, "mode": "monitor"}
OPEN = {**BLOCK, "fail_mode": "open"}
SSE = {"content-type": "text/event-stream"}
JSON_CT = {"content-type": "application/json"}

PATHS = {"openai_chat": "/v1/chat/completions", "openai_responses": "/v1/responses", "anthropic_messages": "/v1/messages"}
REQUESTS = {
    "openai_chat": {"model": "m", "stream": True, "messages": [{"role": "user", "content": "Tell me a story"}]},
    "openai_responses": {"model": "m", "stream": True, "input": "Tell me a story"},
    "anthropic_messages": {"model": "m", "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "Tell me a story"}]},
}
KEY = "AKIAQ3EGUIXNP4SR7WDK"


def sse(fmt, parts):
    """`parts` streamed as text deltas in `fmt`, with the API's framing events."""
    out = []
    if fmt == "openai_chat":
        out += [f"data: {json.dumps({'choices': [{'index': 0, 'delta': {'content': p}}]})}\n\n" for p in parts]
        out.append("data: [DONE]\n\n")
    elif fmt == "openai_responses":
        out.append('event: response.created\ndata: {"type":"response.created"}\n\n')
        out += [f"event: response.output_text.delta\ndata: {json.dumps({'type': 'response.output_text.delta', 'delta': p})}\n\n" for p in parts]
        out.append('event: response.completed\ndata: {"type":"response.completed"}\n\n')
    else:
        out.append('event: message_start\r\ndata: {"type":"message_start"}\r\n\r\n')
        out += [f"event: content_block_delta\r\ndata: {json.dumps({'type': 'content_block_delta', 'index': 0, 'delta': {'type': 'text_delta', 'text': p}})}\r\n\r\n" for p in parts]
        out.append('event: message_stop\r\ndata: {"type":"message_stop"}\r\n\r\n')
    return [e.encode() for e in out]


def cut(body: bytes, points):
    """`body` as chunks cut at `points`, with a pause between them so the proxy reads them apart."""
    steps, prev = [], 0
    for p in sorted(set(points)) + [len(body)]:
        if p > prev:
            steps += [body[prev:p], 0.05]
            prev = p
    return steps


def json_body(fmt, text):
    if fmt == "openai_chat":
        return {"id": "c1", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
    if fmt == "openai_responses":
        return {"id": "r1", "object": "response", "output": [{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text}]}]}
    return {"id": "m1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": text}]}


class Proxy:
    def __init__(self, host, port, envoy=None, workerd=None):
        self.host, self.port, self.envoy, self.workerd = host, port, envoy, workerd

    def stats(self):
        """Envoy's response counters (after the log/stats flush); `{}` for workerd."""
        if self.envoy is None:
            return {}
        time.sleep(0.2)
        return {k.removeprefix("wasmcustom.parapet."): v for k, v in self.envoy.stats().items()}

    def logs(self):
        return self.envoy.logs() if self.envoy else self.workerd.output()


@pytest.fixture(params=["envoy", "workerd"])
def proxy(request, start_envoy, scripted_upstream, tmp_path):
    started = []

    def start(config):
        if request.param == "envoy":
            e = start_envoy(config, scripted_upstream.port)
            return Proxy("envoy", e.port, envoy=e)
        for a in ARTIFACTS:
            if not a.exists():
                pytest.fail(f"{a} is missing: run scripts/build.sh and npm ci in edge-worker")
        w = Workerd(config, f"http://127.0.0.1:{scripted_upstream.port}", tmp_path)
        started.append(w)
        return Proxy("workerd", w.port, workerd=w)

    yield start
    for w in started:
        w.stop()


def error_of(fmt, body: bytes):
    """The in-stream error event that ends `body`, parsed."""
    text = body.decode()
    frames = [f for f in text.replace("\r\n", "\n").split("\n\n") if f.strip()]
    if fmt == "openai_chat":
        assert frames[-1] == "data: [DONE]", text
        frames = frames[:-1]
    last = frames[-1]
    if fmt != "openai_chat":
        assert last.startswith("event: error\n"), text
    return json.loads(last.split("data: ", 1)[1])


@pytest.mark.parametrize("fmt", list(PATHS))
def test_clean_stream_arrives_byte_exact_at_every_tested_split(proxy, scripted_upstream, fmt):
    p = proxy(BLOCK)
    events = sse(fmt, ["Once upon a time ", "there was a lighthouse keeper ", "who wrote letters ", "to the sea. ", "The end."])
    body = b"".join(events)
    bounds = [sum(len(e) for e in events[:i]) for i in range(1, len(events))]
    for points in [[], bounds, [1], [len(body) // 3, len(body) // 2], list(range(7, len(body), 23)), [len(body) - 1]]:
        scripted_upstream.headers, scripted_upstream.steps = SSE, cut(body, points)
        r = request(p.port, "POST", PATHS[fmt], REQUESTS[fmt])
        assert r.status == 200 and r.body == body, (points, r.body)
        assert r.headers["content-type"] == "text/event-stream"
    if p.envoy:
        assert p.stats().get("response.clean") == 6


@pytest.mark.parametrize("fmt", list(PATHS))
def test_secret_split_across_chunks_is_stopped_before_its_second_half(proxy, scripted_upstream, fmt):
    p = proxy(BLOCK)
    prefix = "The deployment notes say the following about access keys for the staging account. "
    events = sse(fmt, [prefix, "Use ", KEY[:9], KEY[9:], " for the bucket.", " Bye."])
    body = b"".join(events)
    first = body.index(KEY[:9].encode())
    second = body.index(KEY[9:].encode())
    bounds = [sum(len(e) for e in events[:i]) for i in range(1, len(events))]
    for points in [bounds, [first + 4, second + 5], [second + 2], list(range(5, len(body), 31))]:
        scripted_upstream.headers, scripted_upstream.steps = SSE, cut(body, points)
        r = request(p.port, "POST", PATHS[fmt], REQUESTS[fmt])
        assert r.status == 200
        seen = r.body
        for frag in (KEY[:4], KEY[4:9], KEY[9:14], KEY[14:]):
            assert frag.encode() not in seen, (points, seen)
        err = error_of(fmt, seen)
        assert "pii/secret" in json.dumps(err), err
        assert body.startswith(seen[: seen.rindex(b"event: error") if fmt != "openai_chat" else seen.rindex(b"data: {\"error\"")])
    if p.envoy:
        s = p.stats()
        assert s.get("response.blocked") == 4 and s.get("response.detected.pii.secret") == 4


def test_block_mode_stream_flows_while_the_upstream_is_still_generating(proxy, scripted_upstream):
    p = proxy(BLOCK)
    gate = threading.Event()
    e1, e2, e3, done = sse("openai_chat", ["a" * 100, "b" * 100, "c" * 10])
    scripted_upstream.headers, scripted_upstream.steps = SSE, [e1, 0.05, e2, gate, e3, done]
    s = StreamingResponse(p.port, PATHS["openai_chat"], REQUESTS["openai_chat"])
    assert s.read_until(b"a" * 100).startswith(e1), "text older than the hold-back window is released"
    gate.set()
    assert s.read_all() == e1 + e2 + e3 + done
    assert scripted_upstream.gates == [True]


def test_monitor_mode_adds_no_buffering_and_records(proxy, scripted_upstream):
    p = proxy(MONITOR)
    gate = threading.Event()
    events = sse("anthropic_messages", ["Write to jane.doe@example.com", " today."])
    scripted_upstream.headers, scripted_upstream.steps = SSE, [events[0], events[1], gate, events[2], events[3]]
    s = StreamingResponse(p.port, PATHS["anthropic_messages"], REQUESTS["anthropic_messages"])
    # The first event, flagged text included, arrives while the upstream holds the stream open.
    s.read_until(b"jane.doe@example.com")
    gate.set()
    assert s.read_all() == b"".join(events)
    assert scripted_upstream.gates == [True], "the client had the first event before the upstream finished"
    if p.envoy:
        st = p.stats()
        assert st.get("response.flagged") == 1 and st.get("response.detected.pii.email") == 1
    else:
        time.sleep(0.3)
        assert "response outcome=flagged" in p.logs()


@pytest.mark.parametrize("fmt", list(PATHS))
def test_json_response_blocked_clean_and_monitored(proxy, scripted_upstream, fmt):
    p = proxy(BLOCK)
    flagged = json.dumps(json_body(fmt, "Sure, mail jane.doe@example.com")).encode()
    clean = json.dumps(json_body(fmt, "Sure, mail the front desk")).encode()
    scripted_upstream.headers = {**JSON_CT, "content-length": str(len(flagged))}
    scripted_upstream.steps = [flagged[:20], 0.05, flagged[20:]]
    r = request(p.port, "POST", PATHS[fmt], {**REQUESTS[fmt], "stream": False})
    # Both hosts still hold the headers when the verdict is known: 403, with the error's length.
    assert r.status == 403
    assert r.headers["content-type"] == "application/json"
    if p.envoy:
        assert r.headers["content-length"] == str(len(r.body))
    err = r.json()["error"]
    assert err["code"] == "blocked" and err["detector_types"] == ["pii/email"] and err["message"].startswith("response blocked")
    assert b"jane.doe" not in r.body

    scripted_upstream.headers = {**JSON_CT, "content-length": str(len(clean))}
    scripted_upstream.steps = [clean]
    r = request(p.port, "POST", PATHS[fmt], {**REQUESTS[fmt], "stream": False})
    assert r.status == 200 and r.body == clean
    if p.envoy:
        s = p.stats()
        assert s.get("response.blocked") == 1 and s.get("response.clean") == 1 and s.get("responses") == 2


def test_envoy_without_the_header_hold_keeps_the_upstream_status(start_envoy, scripted_upstream):
    e = start_envoy({**BLOCK, "hold_response_headers": False}, scripted_upstream.port)
    flagged = json.dumps(json_body("openai_chat", "Sure, mail jane.doe@example.com")).encode()
    scripted_upstream.headers = {**JSON_CT, "content-length": str(len(flagged))}
    scripted_upstream.steps = [flagged[:20], 0.05, flagged[20:]]
    r = request(e.port, "POST", PATHS["openai_chat"], {**REQUESTS["openai_chat"], "stream": False})
    # The headers left with the upstream's status before the body was screened.
    assert r.status == 200 and "content-length" not in r.headers
    assert r.json()["error"]["code"] == "blocked" and b"jane.doe" not in r.body


def test_held_response_masked_and_clean_keep_a_correct_length(start_envoy, scripted_upstream):
    policy = {"sensitivity": "L2", "detectors": {"pii/email": {}}, "output": {"mode": "mask"}}
    e = start_envoy({**BLOCK, "policies": {"p": policy}}, scripted_upstream.port)
    body = json.dumps(json_body("openai_chat", "Sure, mail jane.doe@example.com")).encode()
    scripted_upstream.headers = {**JSON_CT, "content-length": str(len(body)), "x-upstream": "kept"}
    scripted_upstream.steps = [body[:30], 0.05, body[30:]]
    r = request(e.port, "POST", PATHS["openai_chat"], {**REQUESTS["openai_chat"], "stream": False})
    assert r.status == 200 and r.headers["x-upstream"] == "kept"
    assert r.json()["choices"][0]["message"]["content"] == "Sure, mail <EMAIL>"
    assert r.headers["content-length"] == str(len(r.body)) != str(len(body))


def test_monitor_mode_json_response_passes_unchanged_and_is_counted(proxy, scripted_upstream):
    p = proxy(MONITOR)
    flagged = json.dumps(json_body("openai_chat", "key " + KEY)).encode()
    scripted_upstream.headers = {**JSON_CT, "content-length": str(len(flagged))}
    scripted_upstream.steps = [flagged]
    r = request(p.port, "POST", PATHS["openai_chat"], {**REQUESTS["openai_chat"], "stream": False})
    assert r.status == 200 and r.body == flagged
    if p.envoy:
        assert r.headers.get("content-length") == str(len(flagged)), "monitor mode does not rewrite"
    if p.envoy:
        assert p.stats().get("response.flagged") == 1


BAD = b"<html><body>upstream proxy error</body></html>"


def test_unparseable_response_fails_closed(proxy, scripted_upstream):
    p = proxy(BLOCK)
    scripted_upstream.headers = {"content-type": "text/html", "content-length": str(len(BAD))}
    scripted_upstream.steps = [BAD]
    r = request(p.port, "POST", PATHS["openai_chat"], REQUESTS["openai_chat"])
    assert r.status == 502
    assert r.json()["error"]["code"] == "invalid_json" and r.json()["error"]["type"] == "parapet_error"
    if p.envoy:
        assert p.stats().get("response.rejected") == 1


def test_unparseable_response_fails_open(proxy, scripted_upstream):
    p = proxy(OPEN)
    scripted_upstream.headers = {"content-type": "text/html", "content-length": str(len(BAD))}
    scripted_upstream.steps = [BAD]
    r = request(p.port, "POST", PATHS["openai_chat"], REQUESTS["openai_chat"])
    assert r.status == 200 and r.body == BAD
    if p.envoy:
        assert p.stats().get("response.failed_open") == 1
    else:
        time.sleep(0.3)
        assert "response outcome=failed_open" in p.logs() and "cause=invalid_json" in p.logs()


def test_upstream_errors_pass_unscreened(proxy, scripted_upstream):
    p = proxy(BLOCK)
    err = b'{"error":{"message":"Rate limit reached for jane.doe@example.com","type":"rate_limit"}}'
    scripted_upstream.status = 429
    scripted_upstream.headers = {**JSON_CT, "content-length": str(len(err))}
    scripted_upstream.steps = [err]
    r = request(p.port, "POST", PATHS["openai_chat"], REQUESTS["openai_chat"])
    assert r.status == 429 and r.body == err


def test_envoy_refuses_a_compressed_response_it_cannot_screen(start_envoy, scripted_upstream):
    e = start_envoy(BLOCK, scripted_upstream.port)
    scripted_upstream.headers = {**SSE, "content-encoding": "gzip"}
    scripted_upstream.steps = [b"\x1f\x8b\x08\x00garbage"]
    r = request(e.port, "POST", PATHS["openai_chat"], REQUESTS["openai_chat"])
    assert scripted_upstream.received[0]["headers"].get("accept-encoding") == "identity"
    assert "content-encoding" not in r.headers
    assert error_of("openai_chat", r.body)["error"]["code"] == "response_encoded"
