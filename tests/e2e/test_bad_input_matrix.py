"""The bad-input matrix (docs/robustness.md, "Bad input"): every case goes to the guard endpoint of
Envoy, workerd and `parapet serve`, and to the chat completions path of Envoy and workerd (which
proxy it), all with the default config (`fail_mode: closed`). Each must answer the documented
status and error code, and nothing may reach the upstream. The table in the docs is checked
against the cases here, so it lists what every runtime answered.
"""
import json
import re
import subprocess

import pytest

from conftest import PARAPET_BIN, ROOT, Upstream, free_port, request, require, wait_port
from test_workerd import Origin, Workerd

DEEP = b'{"messages":[{"role":"user","content":"hi"}],"metadata":' + b"[" * 5000 + b"]" * 5000 + b"}"
HUGE_STRING = json.dumps({"messages": [{"role": "user", "content": "lorem ipsum " * 30000}]}).encode()
HUGE_ARRAY = json.dumps({"messages": [{"role": "user", "content": "hi"}] * 5000}).encode()
MANY_OK = json.dumps({"messages": [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(999)]}).encode()
OVER_LIMIT = json.dumps({"messages": [{"role": "user", "content": "a" * (1 << 20)}]}).encode()
GZIP_MAGIC = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 20

# name, body, extra headers, chunked, (status, code)
CASES = [
    ("malformed JSON", b'{"messages": [', {}, False, (400, "invalid_json")),
    ("truncated JSON", b'{"messages":[{"role":"user","content":"hi"', {}, False, (400, "invalid_json")),
    ("empty body", b"", {}, False, (400, "empty_body")),
    ("not an object", b"[1,2]", {}, False, (400, "invalid_request")),
    ("wrong type (content 42)", b'{"messages":[{"role":"user","content":42}]}', {}, False, (400, "invalid_type")),
    ("no messages", b'{"messages":[]}', {}, False, (400, "invalid_value")),
    ("nested 5,000 deep", DEEP, {}, False, (400, "invalid_json")),
    ("invalid UTF-8", b'{"messages":[{"role":"user","content":"caf\xe9"}]}', {}, False, (400, "invalid_utf8")),
    ("lone surrogate escape", b'{"messages":[{"role":"user","content":"\\ud800"}]}', {}, False, (400, "invalid_json")),
    ("content-encoding: gzip", GZIP_MAGIC, {"content-encoding": "gzip"}, False, (415, "unsupported_encoding")),
    ("unknown content-encoding", b'{"messages":[{"role":"user","content":"hi"}]}', {"content-encoding": "x-custom"}, False, (415, "unsupported_encoding")),
    ("string of 360,000 characters", HUGE_STRING, {}, False, (413, "model_input_too_large")),
    ("5,000 messages", HUGE_ARRAY, {}, False, (413, "too_many_messages")),
    ("body over max_body_bytes", OVER_LIMIT, {}, False, (413, "body_too_large")),
    ("body over max_body_bytes, chunked", OVER_LIMIT, {}, True, (413, "body_too_large")),
    ("999 messages, chunked", MANY_OK, {}, True, (200, None)),
]
IDS = [c[0] for c in CASES]


def chat_body(body):
    """The same bad input as an OpenAI chat request: a JSON object gains a model (and its nesting
    moves to a field the chat format ignores); anything else is sent as it is."""
    if body is DEEP:
        return body.replace(b'"metadata"', b'"user"')
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body
    return json.dumps({"model": "m", **doc}).encode() if isinstance(doc, dict) else body


def check(r, expected, where, upstream_count=None):
    status, code = expected
    assert r.status == status, f"{where}: {r.status} {r.body[:300]!r}"
    if code is not None:
        assert r.headers.get("content-type", "").startswith("application/json"), where
        assert r.json()["error"]["code"] == code, f"{where}: {r.body[:300]!r}"


@pytest.fixture(scope="module")
def runtimes(tmp_path_factory):
    """Envoy, workerd and parapet serve with the default config; stopped at module end."""
    from conftest import Envoy
    tmp = tmp_path_factory.mktemp("matrix")
    up = Upstream()
    origin = Origin()
    env = Envoy(tmp, {}, up.port)
    wd = Workerd({}, origin.url, str(tmp))
    require(PARAPET_BIN)
    port = free_port()
    serve = subprocess.Popen([str(PARAPET_BIN), "serve", "--addr", f"127.0.0.1:{port}", "--workers", "1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, timeout=120, proc=serve)
    yield {"envoy": env, "workerd": wd, "serve": port, "upstream": up, "origin": origin}
    serve.terminate()
    serve.wait(timeout=20)
    wd.stop()
    env.stop()
    origin.stop()
    up.stop()


@pytest.mark.parametrize("name,body,headers,chunked,expected", CASES, ids=IDS)
def test_guard_endpoint_in_every_runtime(runtimes, name, body, headers, chunked, expected):
    for rt, port in (("envoy", runtimes["envoy"].port), ("workerd", runtimes["workerd"].port), ("parapet serve", runtimes["serve"])):
        r = request(port, "POST", "/v2/guard", body, headers, chunked=chunked)
        check(r, expected, f"{rt} /v2/guard, {name}")


@pytest.mark.parametrize("name,body,headers,chunked,expected", CASES, ids=IDS)
def test_chat_path_in_the_proxies(runtimes, name, body, headers, chunked, expected):
    sent = chat_body(body)
    for rt, port, count in (("envoy", runtimes["envoy"].port, lambda: len(runtimes["upstream"].received)),
                            ("workerd", runtimes["workerd"].port, runtimes["origin"].count)):
        before = count()
        r = request(port, "POST", "/v1/chat/completions", sent, headers, chunked=chunked)
        if expected[0] == 200:
            assert r.status == 200, f"{rt}: {r.status} {r.body[:200]!r}"
            assert count() == before + 1, f"{rt}: a clean request must reach the upstream"
        else:
            check(r, expected, f"{rt} /v1/chat/completions, {name}")
            assert count() == before, f"{rt}: {name} reached the upstream"


def test_docs_table_lists_every_case():
    text = (ROOT / "docs" / "robustness.md").read_text()
    section = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| (.+?) \| (\d{3})(?: `([a-z0-9_]+)`)? \|", line)
        if m:
            rows[m.group(1)] = (int(m.group(2)), m.group(3))
    assert rows == {c[0]: c[4] for c in CASES}, "docs/robustness.md's bad-input table differs from the tested cases"
