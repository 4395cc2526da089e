"""`parapet serve` as an HTTP server (hyper): HTTP/2 with prior knowledge from real clients
(curl with nghttp2, and httpx, the client the OpenAI and Anthropic Python SDKs are built on),
200 concurrent clients, the connection cap, slow and silent clients cut off by the header and
idle timeouts, and a graceful stop on SIGTERM that completes the request in flight.
Everything listens on 127.0.0.1."""
import json
import signal
import socket
import subprocess
import threading
import time

import httpx
import pytest

from conftest import PARAPET_BIN, free_port, request, require, wait_port

PII = {"messages": [{"role": "user", "content": "Mail jane.doe@example.com, card 4111 1111 1111 1111"}], "payload": True}
CLEAN = {"messages": [{"role": "user", "content": "What should I pack for Lisbon?"}]}


class Serve:
    """A `parapet serve` child on a free port, stopped (SIGKILL if need be) by `stop()`."""

    def __init__(self, tmp_path, *flags, config=None):
        require(PARAPET_BIN)
        self.port = free_port()
        args = [str(PARAPET_BIN), "serve", "--addr", f"127.0.0.1:{self.port}", "--workers", "2", *flags]
        if config is not None:
            path = tmp_path / "serve-config.json"
            path.write_text(json.dumps(config))
            args += ["--config", str(path)]
        self.out = open(tmp_path / f"serve-{self.port}.log", "w+")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        wait_port(self.port, timeout=120, proc=self.proc)

    def log(self) -> str:
        self.out.flush()
        self.out.seek(0)
        return self.out.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=20)
        self.out.close()


@pytest.fixture
def serve(tmp_path):
    started = []

    def start(*flags, config=None):
        s = Serve(tmp_path, *flags, config=config)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the peer closes `sock` within `seconds` (reads and drops what arrives)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def test_http2_prior_knowledge_with_curl_and_httpx(serve):
    s = serve()
    h1 = request(s.port, "POST", "/v2/guard", PII, headers={"x-request-id": "r-h2"})
    assert h1.status == 200 and h1.json()["flagged"] is True

    # curl with nghttp2: the same bytes over HTTP/2.
    out = subprocess.run(
        ["curl", "-s", "--http2-prior-knowledge", "-o", "-", "-w", "\n%{http_version} %{http_code}",
         "-H", "content-type: application/json", "-H", "x-request-id: r-h2",
         "--data-binary", json.dumps(PII), f"http://127.0.0.1:{s.port}/v2/guard"],
        capture_output=True, timeout=60, check=True).stdout
    body, _, tail = out.rpartition(b"\n")
    assert tail == b"2 200", out
    assert body == h1.body

    # httpx over one HTTP/2 connection, requests multiplexed from several threads.
    with httpx.Client(http1=False, http2=True, base_url=f"http://127.0.0.1:{s.port}", timeout=60) as c:
        results = [None] * 12

        def one(i):
            r = c.post("/v2/guard", json=PII if i % 2 == 0 else CLEAN, headers={"x-request-id": f"r-{i}"})
            results[i] = (r.http_version, r.status_code, r.json())

        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for i, (version, status, v) in enumerate(results):
            assert (version, status) == ("HTTP/2", 200), results[i]
            assert v["flagged"] is (i % 2 == 0) and v["metadata"]["request_uuid"] == f"r-{i}"
        # The host's own routes and error bodies are the same over HTTP/2.
        r = c.get("/healthz")
        assert (r.status_code, r.json()) == (200, {"status": "ok"})
        r = c.post("/nowhere", json={})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found")
        r = c.get("/v2/guard")
        assert (r.status_code, r.json()["error"]["code"]) == (405, "method_not_allowed")
        r = c.post("/v2/guard", content=b'{"messages": [', headers={"content-type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_json")


def raw_exchange(port, data: bytes) -> bytes:
    """Sends raw bytes and reads until the server closes."""
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(data)
    c.settimeout(10)
    got = b""
    try:
        while chunk := c.recv(65536):
            got += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    c.close()
    return got


@pytest.mark.parametrize("name,data,status", [
    ("not HTTP", b"NOT A REQUEST\r\n\r\n", b"400"),
    ("head over 64 KiB", b"GET /healthz HTTP/1.1\r\nx: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    ("101 header fields", b"GET /healthz HTTP/1.1\r\n" + b"".join(b"x%d: y\r\n" % i for i in range(101)) + b"\r\n", b"431"),
    ("transfer-encoding gzip", b"POST /v2/guard HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", b"400"),
])
def test_malformed_requests_get_an_answer_and_a_close(serve, name, data, status):
    s = serve()
    got = raw_exchange(s.port, data)
    assert got.startswith(b"HTTP/1.1 " + status) and b"connection: close" in got.lower(), got[:300]
    assert request(s.port, "GET", "/healthz").status == 200


def test_no_request_smuggling_behind_content_length_and_chunked(serve):
    s = serve()
    # Read as chunked (an empty body), answered, closed: the request behind it is never served.
    got = raw_exchange(s.port, b"POST /v2/guard HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert got.count(b"HTTP/1.1 ") == 1, got
    assert got.startswith(b"HTTP/1.1 400") and b'"empty_body"' in got, got


def test_body_limit_over_http2(serve):
    s = serve(config={"max_body_bytes": 2048})
    big = {"messages": [{"role": "user", "content": "a" * 5000}]}
    with httpx.Client(http1=False, http2=True, base_url=f"http://127.0.0.1:{s.port}", timeout=60) as c:
        r = c.post("/v2/guard", json=big)
        assert (r.http_version, r.status_code, r.json()["error"]["code"]) == ("HTTP/2", 413, "body_too_large")
        # The connection stays usable: the oversized stream alone was reset.
        r = c.post("/v2/guard", json=CLEAN)
        assert (r.status_code, r.json()["flagged"]) == (200, False)


def test_200_concurrent_clients(serve):
    s = serve()
    expected = {True: request(s.port, "POST", "/v2/guard", PII, headers={"x-request-id": "same"}).body,
                False: request(s.port, "POST", "/v2/guard", CLEAN, headers={"x-request-id": "same"}).body}
    n = 200
    barrier = threading.Barrier(n)
    results = [None] * n

    def client(i):
        # Each client has its own keep-alive connection and sends two requests on it.
        with httpx.Client(base_url=f"http://127.0.0.1:{s.port}", timeout=120) as c:
            barrier.wait(30)
            got = []
            for j in range(2):
                flagged = (i + j) % 2 == 0
                r = c.post("/v2/guard", json=PII if flagged else CLEAN, headers={"x-request-id": "same"})
                got.append(r.status_code == 200 and r.content == expected[flagged])
            results[i] = got

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert all(r == [True, True] for r in results), [i for i, r in enumerate(results) if r != [True, True]][:10]


def test_connection_cap_answers_503(serve):
    s = serve("--max-connections", "3")
    held = []
    try:
        # Three keep-alive connections, each answered once, so each surely holds a slot.
        for _ in range(3):
            h = socket.create_connection(("127.0.0.1", s.port))
            held.append(h)
            h.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            h.settimeout(10)
            assert h.recv(4096).startswith(b"HTTP/1.1 200")
        r = request(s.port, "POST", "/v2/guard", CLEAN)
        assert r.status == 503 and r.json()["error"]["code"] == "overloaded", r.body
        held.pop().close()
        time.sleep(0.3)
        r = request(s.port, "POST", "/v2/guard", CLEAN)
        assert r.status == 200
    finally:
        for h in held:
            h.close()


def test_slow_and_silent_clients_are_cut_off(serve):
    s = serve("--header-timeout", "1", "--idle-timeout", "2")
    # A head trickled a byte at a time (slowloris) is cut off by the header timeout, though bytes
    # keep arriving.
    slow = socket.create_connection(("127.0.0.1", s.port))
    slow.sendall(b"POST /v2/guard HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    cut = False
    for b in b"x-slow: " + b"a" * 200:
        try:
            slow.sendall(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            cut = True
            break
        slow.settimeout(0.25)
        try:
            if slow.recv(4096) == b"":
                cut = True
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            cut = True
            break
        if time.monotonic() - started > 8:
            break
    took = time.monotonic() - started
    assert cut and took < 4, f"slow client still connected after {took:.1f} s"
    slow.close()

    # A connection that never sends anything, one that sends only the HTTP/2 preface, and a
    # keep-alive connection gone idle after one answer are closed too.
    silent = socket.create_connection(("127.0.0.1", s.port))
    preface = socket.create_connection(("127.0.0.1", s.port))
    preface.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
    idle = socket.create_connection(("127.0.0.1", s.port))
    body = json.dumps(CLEAN).encode()
    idle.sendall(b"POST /v2/guard HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    assert closed_within(silent, 4), "a silent connection was kept open"
    assert closed_within(preface, 4), "an HTTP/2 connection without requests was kept open"
    assert closed_within(idle, 5), "an idle keep-alive connection was kept open"
    for c in (silent, preface, idle):
        c.close()
    # Meanwhile the server kept answering.
    assert request(s.port, "GET", "/healthz").status == 200


def test_sigterm_completes_the_request_in_flight(serve):
    s = serve()
    body = json.dumps(PII).encode()
    expected = request(s.port, "POST", "/v2/guard", body, headers={"x-request-id": "drain"}).body
    c = socket.create_connection(("127.0.0.1", s.port))
    c.sendall(b"POST /v2/guard HTTP/1.1\r\nHost: x\r\nx-request-id: drain\r\nContent-Length: %d\r\n\r\n" % len(body))
    c.sendall(body[:10])
    idle = socket.create_connection(("127.0.0.1", s.port))  # open, no request: closed at once
    time.sleep(0.5)
    s.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    # Stopped listening, still running: the request in flight is being waited for.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=2)
    assert s.proc.poll() is None, s.log()
    assert closed_within(idle, 3), "an idle connection was kept open after SIGTERM"
    c.sendall(body[10:])
    c.settimeout(30)
    got = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        got += chunk
    head, _, answer = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), got
    assert answer == expected
    assert s.proc.wait(timeout=30) == 0
    log = s.log()
    assert "SIGTERM: stopped listening" in log and "parapet: stopped" in log, log
