"""End-to-end tests of the Parapet edge worker in workerd (npm `workerd`, edge-worker/node_modules).

Each workerd runs `edge-worker/workerd.capnp` unchanged: its PARAPET_CONFIG and ORIGIN_URL
bindings come from the process environment (`fromEnvironment`), the socket is moved to
127.0.0.1 with `--socket-addr http=127.0.0.1:0`, and workerd reports the port it bound on
`--control-fd` once it listens (no port race, no polling). The origin is a local HTTP server that
records what it receives and answers a canned OpenAI chat completion.

Needs the artifacts of scripts/build.sh (edge-worker/pkg) and `npm ci` in edge-worker; fails,
not skips, without them. Everything listens on 127.0.0.1; every process started is stopped.
Fixtures live in this file (conftest.py belongs to the lead); they are prefixed `wd_`.
"""
import http.client
import json
import os
import pathlib
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import workerd_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
EDGE = ROOT / "edge-worker"
WORKERD = EDGE / "node_modules" / ".bin" / "workerd"
CAPNP = EDGE / "workerd.capnp"
ARTIFACTS = [EDGE / "pkg" / "parapet_edge.js", EDGE / "pkg" / "parapet_edge_bg.wasm", WORKERD, CAPNP]

CHAT_PATH = "/v1/chat/completions"
CANNED = {
    "id": "chatcmpl-parapet-test",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "test-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the origin."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
}

# Rule-only policy reachable through a project, to test project routing.
MAIL_POLICY = {"description": "e-mail only", "sensitivity": "L2", "detectors": {"pii/email": {}}}
MAIN_CONFIG = {"policies": {"mail": MAIL_POLICY}, "projects": {"proj-mail": "mail"}}
SMALL_LIMIT = 256


# ---------------------------------------------------------------------------------------------
# Origin: records requests, answers a canned chat completion.


class Origin:
    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                    out = bytearray()
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return bytes(out)
                        out += self.rfile.read(size)
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("content-length") or 0))

            def _handle(self):
                body = self._body()
                with origin.lock:
                    origin.requests.append(
                        {
                            "method": self.command,
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                        }
                    )
                if self.path.startswith("/status/"):
                    status, payload = int(self.path.split("/")[2]), b'{"origin":"status"}'
                elif self.path.split("?")[0].endswith(CHAT_PATH):
                    # Also under a route prefix (`/tenant-a/v1/chat/completions`): a real answer,
                    # which the worker screens as a chat completion.
                    status, payload = 200, json.dumps(CANNED).encode()
                else:
                    status, payload = 200, json.dumps({"origin": "other", "path": self.path}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("x-origin", "yes")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self):
        with self.lock:
            return len(self.requests)

    def since(self, n):
        with self.lock:
            return list(self.requests[n:])

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ---------------------------------------------------------------------------------------------
# workerd


class Workerd:
    def __init__(self, config, origin_url, tmpdir, scoring_url=None):
        self.log_path = pathlib.Path(tmpdir) / f"workerd-{id(self)}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("PARAPET_CONFIG", "ORIGIN_URL", "SCORING_URL")}
        env["PARAPET_CONFIG"] = config if isinstance(config, str) else json.dumps(config)
        if origin_url:
            env["ORIGIN_URL"] = origin_url
        if scoring_url:
            env["SCORING_URL"] = scoring_url
        rfd, wfd = os.pipe()
        self.log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(
                [str(WORKERD), "serve", str(CAPNP), "--socket-addr", "http=127.0.0.1:0", "--control-fd", str(wfd)],
                env=env,
                pass_fds=[wfd],
                stdout=self.log,
                stderr=subprocess.STDOUT,
                cwd=str(EDGE),
            )
        finally:
            os.close(wfd)
        try:
            self.port = self._wait_listen(rfd, 60.0)
        except BaseException:
            self.stop()
            raise
        finally:
            os.close(rfd)

    def _wait_listen(self, rfd, timeout):
        port = workerd_port(rfd, timeout, lambda: self.proc.poll() is not None)
        if port is not None:
            return port
        raise RuntimeError(f"workerd did not start (exit {self.proc.poll()}):\n{self.output()}")

    def output(self):
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


class Resp:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def call(port, method, path, body=None, headers=None, chunked=False):
    """One request with exact bytes; `body` may be bytes, str or a JSON-able object."""
    if body is not None and not isinstance(body, (bytes, bytearray)):
        body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        hdrs = {"content-type": "application/json", **(headers or {})}
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in hdrs.items():
            conn.putheader(k, v)
        if chunked:
            conn.putheader("transfer-encoding", "chunked")
            conn.endheaders()
            try:
                for i in range(0, len(body or b""), 100):
                    part = body[i:i + 100]
                    conn.send(b"%x\r\n%s\r\n" % (len(part), part))
                conn.send(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered early (413) and closed
        else:
            if body is not None:
                conn.putheader("content-length", str(len(body)))
            conn.endheaders()
            if body:
                try:
                    conn.send(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
        r = conn.getresponse()
        return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def chat(content, **extra):
    return {"model": "test-model", "messages": [{"role": "user", "content": content}], **extra}


def assert_error(r, status, code, param=None):
    assert r.status == status, (r.status, r.body)
    assert r.headers.get("content-type", "").startswith("application/json")
    err = r.json()["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    expected_type = "parapet_blocked" if code == "blocked" else "invalid_request_error" if status < 500 else "parapet_error"
    assert err["type"] == expected_type, err
    if param is not None:
        assert err["param"] == param, err
    return err


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def wd_artifacts():
    missing = [str(p) for p in ARTIFACTS if not p.exists()]
    if missing:
        pytest.fail("built artifacts missing (run scripts/build.sh and `npm ci` in edge-worker): " + ", ".join(missing))


@pytest.fixture(scope="module")
def wd_tmp():
    with tempfile.TemporaryDirectory(prefix="parapet-workerd-") as d:
        yield d


@pytest.fixture(scope="module")
def wd_origin():
    o = Origin()
    yield o
    o.stop()


@pytest.fixture(scope="module")
def wd_start(wd_artifacts, wd_tmp, request):
    """Factory: start a workerd with a config and an origin; all are stopped at module end."""
    started = []

    def start(config, origin_url=None):
        w = Workerd(config, origin_url, wd_tmp)
        started.append(w)
        return w

    def stop_all():
        for w in started:
            w.stop()

    request.addfinalizer(stop_all)
    return start


@pytest.fixture(scope="module")
def wd_main(wd_start, wd_origin):
    return wd_start(MAIN_CONFIG, wd_origin.url)


@pytest.fixture(scope="module")
def wd_monitor(wd_start, wd_origin):
    return wd_start({"mode": "monitor"}, wd_origin.url)


@pytest.fixture(scope="module")
def wd_small(wd_start, wd_origin):
    return wd_start({"max_body_bytes": SMALL_LIMIT}, wd_origin.url)


@pytest.fixture(scope="module")
def wd_open(wd_start, wd_origin):
    return wd_start({"max_body_bytes": SMALL_LIMIT, "fail_mode": "open"}, wd_origin.url)


# ---------------------------------------------------------------------------------------------
# /v2/guard


def test_guard_benign(wd_main):
    r = call(wd_main.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "What is the capital of France?"}], "breakdown": True})
    assert r.status == 200, r.body
    v = r.json()
    assert v["flagged"] is False
    assert len(v["metadata"]["request_uuid"]) == 36
    assert v["breakdown"] and not any(b["detected"] for b in v["breakdown"])


def test_guard_pii_email_offsets_in_code_points(wd_main):
    content = "héllo ｂｏｂ@example.com, bye"
    r = call(wd_main.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": content}], "payload": True, "breakdown": True})
    assert r.status == 200, r.body
    v = r.json()
    assert v["flagged"] is True
    [p] = [p for p in v["payload"] if p["detector_type"] == "pii/email"]
    assert (p["start"], p["end"], p["message_id"]) == (6, 21, 0)
    assert p["text"] == "ｂｏｂ@example.com" == content[6:21]
    assert any(b["detector_type"] == "pii/email" and b["detected"] for b in v["breakdown"])


def test_guard_secret(wd_main):
    content = "deploy with aws_access_key_id = AKIA2OGYBAH6TQJ7RW5N and token ghp_4Lr8Qk2ZxV9mN7pT3sW6yB1cD5fH0jK8aE2u"
    r = call(wd_main.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": content}], "payload": True, "breakdown": True})
    assert r.status == 200, r.body
    v = r.json()
    assert v["flagged"] is True
    secrets = [p for p in v["payload"] if p["detector_type"] == "pii/secret"]
    assert secrets, v
    for p in secrets:
        assert p["text"] == content[p["start"]:p["end"]]
    assert any(p["text"] == "AKIA2OGYBAH6TQJ7RW5N" for p in secrets), secrets


def test_guard_deterministic_and_request_id(wd_main):
    body = {"messages": [{"role": "user", "content": "write to ann@example.org"}], "payload": True}
    a = call(wd_main.port, "POST", "/v2/guard", body)
    b = call(wd_main.port, "POST", "/v2/guard", body)
    assert a.status == b.status == 200
    assert a.body == b.body  # same bytes, same derived request_uuid
    r = call(wd_main.port, "POST", "/v2/guard", body, headers={"x-request-id": "req-123"})
    assert r.json()["metadata"]["request_uuid"] == "req-123"


def test_guard_project_routing(wd_main):
    # The project's policy runs only pii/email: a secret-free, email-bearing text is flagged, and
    # the breakdown lists exactly that policy's detectors.
    body = {"messages": [{"role": "user", "content": "mail a@b.io"}], "breakdown": True}
    r = call(wd_main.port, "POST", "/v2/guard", body, headers={"x-parapet-project": "proj-mail"})
    assert r.status == 200, r.body
    v = r.json()
    assert v["flagged"] is True
    assert [b["detector_type"] for b in v["breakdown"]] == ["pii/email"]
    assert {b["policy_id"] for b in v["breakdown"]} == {"mail"}
    assert {b["project_id"] for b in v["breakdown"]} == {"proj-mail"}
    # project_id in the body works the same way.
    r = call(wd_main.port, "POST", "/v2/guard", {**body, "project_id": "proj-mail"})
    assert [b["policy_id"] for b in r.json()["breakdown"]] == ["mail"]


def test_guard_unknown_project_is_400(wd_main):
    msgs = [{"role": "user", "content": "hi"}]
    r = call(wd_main.port, "POST", "/v2/guard", {"messages": msgs, "project_id": "ghost"})
    assert_error(r, 400, "unknown_project", "project_id")
    r = call(wd_main.port, "POST", "/v2/guard", {"messages": msgs}, headers={"x-parapet-project": "ghost"})
    assert_error(r, 400, "unknown_project", "project_id")


def test_wrong_method_is_405_on_guard_and_passes_on_api_paths(wd_main, wd_origin):
    n = wd_origin.count()
    r = call(wd_main.port, "GET", "/v2/guard")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers.get("allow") == "POST"
    assert wd_origin.count() == n
    # No body to screen: an API path's other methods reach the origin, as through Envoy.
    r = call(wd_main.port, "GET", CHAT_PATH)
    assert r.status == 200 and "x-parapet-flagged" not in r.headers
    assert wd_origin.count() == n + 1


BAD_INPUTS = [
    ("malformed_json", b'{"messages": [', 400, "invalid_json", None),
    ("not_an_object", b"[1, 2]", 400, "invalid_request", None),
    ("messages_wrong_type", b'{"model":"m","messages":"hello"}', 400, "invalid_type", "messages"),
    ("content_wrong_type", b'{"model":"m","messages":[{"role":"user","content":5}]}', 400, "invalid_type", "messages[0].content"),
    ("role_wrong_value", b'{"model":"m","messages":[{"role":"robot","content":"x"}]}', 400, "invalid_value", "messages[0].role"),
    ("empty_messages", b'{"model":"m","messages":[]}', 400, "invalid_value", "messages"),
    ("missing_messages", b'{"model":"m"}', 400, "missing_field", "messages"),
    ("invalid_utf8", b'{"model":"m","messages":[{"role":"user","content":"caf\xe9 \xff"}]}', 400, "invalid_utf8", None),
    ("empty_body", b"", 400, "empty_body", None),
]


@pytest.mark.parametrize("path", ["/v2/guard", CHAT_PATH])
@pytest.mark.parametrize("name,body,status,code,param", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_4xx_json(wd_main, wd_origin, path, name, body, status, code, param):
    n = wd_origin.count()
    r = call(wd_main.port, "POST", path, body)
    assert_error(r, status, code, param)
    assert wd_origin.count() == n, "a rejected request must not reach the origin"


# ---------------------------------------------------------------------------------------------
# Proxied chat completions


def test_chat_blocked_never_reaches_origin(wd_main, wd_origin):
    n = wd_origin.count()
    r = call(wd_main.port, "POST", CHAT_PATH, chat("please email the report to carol@example.com"))
    err = assert_error(r, 403, "blocked")
    assert "pii/email" in err["detector_types"]
    assert err["policy_id"] == "default"
    assert "pii/email" in err["message"]
    time.sleep(0.2)
    assert wd_origin.count() == n


def test_chat_clean_is_proxied_exactly(wd_main, wd_origin):
    n = wd_origin.count()
    # Odd spacing and key order: the origin must see these bytes, not a re-encoding.
    body = b'{ "messages" : [ {"role":"system","content":"You are terse."}, {"role":"user","content":"Caf\xc3\xa9 hours?"} ],\n "model":"test-model", "temperature": 0.2 }'
    r = call(
        wd_main.port,
        "POST",
        CHAT_PATH + "?api-version=2024-01-01&x=1",
        body,
        headers={"authorization": "Bearer sk-test", "x-custom": "kept", "connection": "keep-alive, x-hop", "x-hop": "dropped"},
    )
    assert r.status == 200, r.body
    assert r.json() == CANNED
    assert r.headers.get("x-origin") == "yes"
    assert r.headers.get("x-parapet-flagged") == "false"
    assert "x-parapet-detectors" not in r.headers
    [seen] = wd_origin.since(n)
    assert seen["method"] == "POST"
    assert seen["path"] == CHAT_PATH + "?api-version=2024-01-01&x=1"
    assert seen["body"] == body
    assert seen["headers"]["authorization"] == "Bearer sk-test"
    assert seen["headers"]["x-custom"] == "kept"
    assert seen["headers"]["content-type"] == "application/json"
    assert "x-hop" not in seen["headers"]  # named in Connection: hop-by-hop


def test_chat_origin_status_passes_through(wd_start, wd_origin):
    # The origin's own status and headers come back unchanged (plus Parapet's headers).
    w = wd_start({"api_paths": {"/status/429": "openai_chat"}}, wd_origin.url)
    r = call(w.port, "POST", "/status/429", chat("hello"))
    assert r.status == 429
    assert r.json() == {"origin": "status"}
    assert r.headers.get("x-parapet-flagged") == "false"


def test_other_paths_are_forwarded_unscreened(wd_main, wd_origin):
    n = wd_origin.count()
    r = call(wd_main.port, "GET", "/v1/models?limit=2")
    assert r.status == 200
    assert r.json() == {"origin": "other", "path": "/v1/models?limit=2"}
    assert "x-parapet-flagged" not in r.headers
    body = b'{"input":"mail dave@example.com"}'
    r = call(wd_main.port, "POST", "/v1/embeddings", body)
    assert r.status == 200
    seen = wd_origin.since(n)
    assert [s["path"] for s in seen] == ["/v1/models?limit=2", "/v1/embeddings"]
    assert seen[1]["body"] == body


def test_monitor_mode_forwards_and_flags(wd_monitor, wd_origin):
    n = wd_origin.count()
    body = json.dumps(chat("email carol@example.com the plan")).encode()
    r = call(wd_monitor.port, "POST", CHAT_PATH, body)
    assert r.status == 200, r.body
    assert r.json() == CANNED
    assert r.headers.get("x-parapet-flagged") == "true"
    assert "pii/email" in r.headers.get("x-parapet-detectors", "").split(",")
    [seen] = wd_origin.since(n)
    assert seen["body"] == body
    # Clean traffic in monitor mode: flagged false.
    r = call(wd_monitor.port, "POST", CHAT_PATH, chat("hello there"))
    assert r.status == 200 and r.headers.get("x-parapet-flagged") == "false"
    # Unscreenable bodies are still refused (fail_mode closed is the default).
    r = call(wd_monitor.port, "POST", CHAT_PATH, b"{oops")
    assert_error(r, 400, "invalid_json")


def test_chat_unknown_project_is_400(wd_main, wd_origin):
    n = wd_origin.count()
    r = call(wd_main.port, "POST", CHAT_PATH, chat("hi"), headers={"x-parapet-project": "ghost"})
    assert_error(r, 400, "unknown_project")
    assert wd_origin.count() == n


# ---------------------------------------------------------------------------------------------
# Body size cap


def padded(n):
    """A valid chat body of exactly n bytes."""
    base = json.dumps(chat("")).encode()
    body = json.dumps(chat("a" * (n - len(base)))).encode()
    assert len(body) == n
    return body


@pytest.mark.parametrize("path", ["/v2/guard", CHAT_PATH])
@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
def test_body_over_limit_is_413(wd_small, wd_origin, path, chunked):
    n = wd_origin.count()
    r = call(wd_small.port, "POST", path, padded(SMALL_LIMIT), chunked=chunked)
    assert r.status == 200, r.body  # exactly at the limit: screened
    r = call(wd_small.port, "POST", path, padded(SMALL_LIMIT + 1), chunked=chunked)
    err = assert_error(r, 413, "body_too_large")
    assert str(SMALL_LIMIT) in err["message"]
    big = padded(4 * 1024 * 1024)
    r = call(wd_small.port, "POST", path, big, chunked=chunked)
    assert_error(r, 413, "body_too_large")
    if not chunked:
        assert str(len(big)) in r.json()["error"]["message"]  # Content-Length is reported
    forwarded = wd_origin.since(n)
    assert len(forwarded) == (1 if path == CHAT_PATH else 0)


@pytest.mark.parametrize("chunked", [False, True], ids=["content_length", "chunked"])
def test_fail_open_forwards_oversized_body_whole(wd_open, wd_origin, chunked):
    n = wd_origin.count()
    body = padded(SMALL_LIMIT * 40)
    r = call(wd_open.port, "POST", CHAT_PATH, body, chunked=chunked)
    assert r.status == 200, r.body
    assert r.headers.get("x-parapet-failed-open") == "body_too_large"
    [seen] = wd_origin.since(n)
    assert seen["body"] == body
    # Malformed JSON under fail-open: forwarded and marked with the core's code.
    r = call(wd_open.port, "POST", CHAT_PATH, b"{oops")
    assert r.status == 200 and r.headers.get("x-parapet-failed-open") == "invalid_json"
    assert wd_origin.since(n)[-1]["body"] == b"{oops"
    # The guard endpoint has no fail-open: it answers the error.
    assert_error(call(wd_open.port, "POST", "/v2/guard", body, chunked=chunked), 413, "body_too_large")


# ---------------------------------------------------------------------------------------------
# Configuration


@pytest.mark.parametrize(
    "config,field",
    [
        ({"mode": "panic"}, "mode"),
        ({"policies": {"p": {"sensitivity": "L2", "detectors": {"pii/emial": {}}}}}, "policies.p.detectors.pii/emial"),
        ({"max_body_bytes": 0}, "max_body_bytes"),
        ("{not json", ""),
    ],
    ids=["mode", "detector_name", "max_body_bytes", "not_json"],
)
def test_bad_config_is_500_naming_the_field(wd_start, wd_origin, config, field):
    w = wd_start(config, wd_origin.url)
    n = wd_origin.count()
    for method, path in (("POST", "/v2/guard"), ("POST", CHAT_PATH), ("GET", "/v1/models")):
        r = call(w.port, method, path, chat("hi") if method == "POST" else None)
        err = assert_error(r, 500, "invalid_config")
        assert err["message"].startswith("invalid config")
        if field:
            assert f"`{field}`" in err["message"], err
    assert wd_origin.count() == n, "a misconfigured worker must not forward anything"
    deadline = time.monotonic() + 5
    while "invalid config" not in w.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "invalid config" in w.output()


def test_empty_config_is_default_and_no_origin(wd_start):
    w = wd_start("", None)
    r = call(w.port, "POST", "/v2/guard", {"messages": [{"role": "user", "content": "hi"}], "dev_info": True})
    assert r.status == 200, r.body
    assert r.json()["dev_info"]["policy_id"] == "default"
    assert_error(call(w.port, "GET", "/elsewhere"), 404, "not_found")
    assert_error(call(w.port, "POST", CHAT_PATH, chat("hello")), 502, "no_origin")
    assert_error(call(w.port, "POST", CHAT_PATH, chat("mail x@example.com")), 403, "blocked")
