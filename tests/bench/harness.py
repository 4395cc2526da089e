"""Processes, load and reporting shared by the end-to-end benchmarks (e2e.py, soak.py).

Targets are the built artifacts (scripts/build.sh) started the way tests/e2e starts them, all
on 127.0.0.1: Envoy with the shipped envoy.yaml, workerd with edge-worker/workerd.capnp, and
`parapet serve`. Load comes from load.mjs (autocannon), the upstream from upstream.mjs.
Every process is registered with a `Stack`, which stops them all on exit, also on error.
"""
import array
import json
import math
import os
import pathlib
import platform
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
from conftest import ENVOY_WASM, PARAPET_BIN, ROOT, envoy_binary, envoy_yaml, free_port, request, wait_port, workerd_port  # noqa: E402,F401

EDGE = ROOT / "edge-worker"
WORKERD = EDGE / "node_modules" / ".bin" / "workerd"
CAPNP = EDGE / "workerd.capnp"
EDGE_PKG = [EDGE / "pkg" / "parapet_edge.js", EDGE / "pkg" / "parapet_edge_bg.wasm"]
LOAD = HERE / "load.mjs"
UPSTREAM = HERE / "upstream.mjs"
AUTOCANNON = HERE / "node_modules" / "autocannon" / "package.json"
CHAT = "/v1/chat/completions"
GUARD = "/v2/guard"

# Body markers load.mjs counts: Parapet's error JSON (`{"error":{"message":...,"type":...}}`,
# which the local upstream never sends) and a guard verdict that flags the text.
MARKS = {"error_json": '{"error":{', "flagged": '"flagged":true'}


class BenchError(Exception):
    """A target that did not start or answered wrongly: the run stops, naming it."""


def node() -> str:
    path = shutil.which("node")
    if not path:
        raise BenchError("node is not on PATH (node 20 runs load.mjs and upstream.mjs)")
    return path


def require(paths, hint):
    missing = [str(p) for p in paths if not pathlib.Path(p).exists()]
    if missing:
        raise BenchError(f"missing {', '.join(missing)}: {hint}")


def require_load_tools():
    require([AUTOCANNON], "run scripts/setup.sh (npm install in tests/bench)")
    node()


def stop_on_sigterm():
    """SIGTERM unwinds like Ctrl-C, so `finally` blocks stop every started process."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


# ---------------------------------------------------------------------------------------------
# Processes


class Proc:
    """A started target: its output goes to a log file, shown when it fails."""

    def __init__(self, name, argv, log, cwd=None, env=None, pass_fds=(), own_log=None):
        # `own_log`: a log file the process writes itself (Envoy's --log-path); `log` then
        # holds only what it prints before that file opens.
        self.name, self.log = name, pathlib.Path(own_log or log)
        self._stdout = pathlib.Path(log)
        self._out = open(self._stdout, "wb")
        self.proc = subprocess.Popen(argv, stdout=self._out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=cwd, env=env, pass_fds=pass_fds)
        self.pid = self.proc.pid

    def tail(self, n=3000) -> str:
        text = ""
        for path in dict.fromkeys([self._stdout, self.log]):
            try:
                text += path.read_text(errors="replace")
            except OSError:
                pass
        return text[-n:]

    def check(self):
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited with status {self.proc.returncode}; its log ({self.log}):\n{self.tail()}")

    def wait_line(self, pattern, timeout):
        """The first match of `pattern` in the log, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.tail(1 << 16), re.M)
            if m:
                return m
            self.check()
            time.sleep(0.05)
        raise BenchError(f"{self.name} did not start within {timeout:.0f} s; its log ({self.log}):\n{self.tail()}")

    def wait_port(self, port, timeout):
        try:
            wait_port(port, timeout=timeout, proc=self.proc)
        except (RuntimeError, TimeoutError) as e:
            raise BenchError(f"{self.name} did not listen on 127.0.0.1:{port} ({e}); its log ({self.log}):\n{self.tail()}")

    def rss_kib(self) -> int:
        """VmRSS of the process and its descendants (0 once it has exited)."""
        return tree_rss_kib(self.pid)

    def cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.pid)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self._out.close()


def tree_rss_kib(pid) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in pathlib.Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in pathlib.Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue  # exited meanwhile
    return total


def tree_cpu_seconds(pid) -> float:
    """User + system CPU time of the process and its descendants (threads included)."""
    total, todo, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = pathlib.Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            for task in pathlib.Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError, IndexError):
            continue
    return total


class Stack:
    """Started processes, stopped in reverse order when the `with` block ends (also on error)."""

    def __init__(self):
        self.procs = []

    def add(self, proc):
        self.procs.append(proc)
        return proc

    def check(self):
        for p in self.procs:
            p.check()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as e:  # keep stopping the others
                print(f"warning: stopping {p.name}: {e}", file=sys.stderr)
        return False


def shipped_plugin_config() -> str:
    """The Parapet config of the shipped envoy.yaml (mode block, fail closed), as JSON text."""
    text = (ROOT / "envoy" / "envoy.yaml").read_text()
    m = re.search(r"value: '(\{.*\})'", text)
    if not m:
        raise BenchError("plugin configuration line not found in envoy/envoy.yaml")
    cfg = m.group(1).replace("''", "'")
    json.loads(cfg)
    return cfg


def start_upstream(stack, tmp) -> Proc:
    """upstream.mjs on a free port (`.port`)."""
    p = stack.add(Proc("upstream (upstream.mjs)", [node(), str(UPSTREAM), "0"], tmp / "upstream.log"))
    p.port = int(p.wait_line(r"^(\d+)$", 30).group(1))
    return p


def envoy_config(filtered_port, admin_port, upstream_port, baseline_port=None) -> str:
    """The shipped envoy.yaml with the built module and local ports; with `baseline_port`, a
    second listener identical to the first but without the Parapet filter (the buffer filter
    and everything else stay, so the only difference between the two is Parapet)."""
    text = envoy_yaml(None, filtered_port, admin_port, upstream_port)
    if baseline_port is None:
        return text
    start, end = text.find("  - name: llm_ingress\n"), text.find("\n  clusters:\n")
    listener = text[start:end]
    wasm, buffer = listener.find("          - name: envoy.filters.http.wasm\n"), listener.find("          - name: envoy.filters.http.buffer\n")
    if min(start, end, wasm, buffer) < 0 or not wasm < buffer:
        raise BenchError("envoy/envoy.yaml no longer has the listener layout this benchmark copies "
                         "(llm_ingress with the wasm filter, then the buffer filter, before clusters)")
    # From the wasm filter up to the buffer filter: the wasm filter and the buffer filter's comment.
    baseline = listener[:wasm] + listener[buffer:]
    for old, new in [("name: llm_ingress\n", "name: llm_ingress_baseline\n"),
                     ("stat_prefix: llm_ingress\n", "stat_prefix: llm_ingress_baseline\n"),
                     (f"port_value: {filtered_port} ", f"port_value: {baseline_port} ")]:
        if baseline.count(old) != 1:
            raise BenchError(f"envoy/envoy.yaml: expected one {old.strip()!r} in the listener")
        baseline = baseline.replace(old, new)
    return text[:end] + "\n" + baseline + text[end:]


def start_envoy(stack, tmp, upstream_port, concurrency=1, baseline=False, log_level="info"):
    """Envoy with the shipped config; returns (proc, ports) with ports filtered/baseline/admin."""
    require([ENVOY_WASM], "run scripts/build.sh")
    ports = {"filtered": free_port(), "admin": free_port()}
    if baseline:
        ports["baseline"] = free_port()
    cfg = tmp / "envoy.yaml"
    cfg.write_text(envoy_config(ports["filtered"], ports["admin"], upstream_port, ports.get("baseline")))
    log = tmp / "envoy.log"
    # The screening records go to Envoy's log at info (the shipped setup's log sink).
    p = stack.add(Proc(f"Envoy (--concurrency {concurrency})",
                       [str(envoy_binary()), "-c", str(cfg), "--concurrency", str(concurrency), "--use-dynamic-base-id",
                        "-l", log_level, "--log-path", str(log)],
                       tmp / "envoy.stdout", cwd=tmp, own_log=log))
    p.wait_port(ports["filtered"], timeout=300)
    if baseline:
        p.wait_port(ports["baseline"], timeout=60)
    return p, ports


def start_envoy_text(stack, tmp, name, text, port, log_level="warn"):
    """Envoy (`--concurrency 1`) with the config `text`, registered with `stack`; waits for `port`."""
    cfg = tmp / f"envoy-{name}.yaml"
    cfg.write_text(text)
    log = tmp / f"envoy-{name}.log"
    p = stack.add(Proc(f"Envoy ({name})", [str(envoy_binary()), "-c", str(cfg), "--concurrency", "1", "--use-dynamic-base-id",
                                            "-l", log_level, "--log-path", str(log)], tmp / f"envoy-{name}.stdout", cwd=tmp, own_log=log))
    p.wait_port(port, timeout=300)
    return p


def read_latencies(path) -> list:
    """The latencies load.mjs wrote with --latencies-out (ms, little-endian float64)."""
    a = array.array("d")
    a.frombytes(path.read_bytes())
    if sys.byteorder != "little":
        a.byteswap()
    return list(a)


def exact_percentiles(values) -> dict:
    """Nearest-rank percentiles of every latency (ms)."""
    v = sorted(values)
    rank = lambda q: v[max(0, math.ceil(q / 100 * len(v)) - 1)]  # noqa: E731
    return {"n": len(v), "p50": rank(50), "p95": rank(95), "p99": rank(99), "max": v[-1]}


def start_workerd(stack, tmp, config_text, origin_url):
    """workerd with edge-worker/workerd.capnp unchanged; its bound port comes on --control-fd."""
    require([WORKERD, CAPNP, *EDGE_PKG], "run scripts/build.sh and scripts/setup.sh")
    env = {k: v for k, v in os.environ.items() if k not in ("PARAPET_CONFIG", "ORIGIN_URL")}
    env.update(PARAPET_CONFIG=config_text, ORIGIN_URL=origin_url)
    rfd, wfd = os.pipe()
    try:
        p = stack.add(Proc("workerd", [str(WORKERD), "serve", str(CAPNP), "--socket-addr", "http=127.0.0.1:0",
                                       "--control-fd", str(wfd)], tmp / "workerd.log", cwd=EDGE, env=env, pass_fds=[wfd]))
    finally:
        os.close(wfd)
    try:
        port = workerd_port(rfd, 120, lambda: p.proc.poll() is not None)
        if port is not None:
            return p, port
        p.check()
        raise BenchError(f"workerd did not report its port; its log ({p.log}):\n{p.tail()}")
    finally:
        os.close(rfd)


def start_serve(stack, tmp, config_text, workers):
    require([PARAPET_BIN], "run scripts/build.sh")
    cfg = tmp / "parapet.json"
    cfg.write_text(config_text)
    p = stack.add(Proc(f"parapet serve (--workers {workers})",
                       [str(PARAPET_BIN), "serve", "--addr", "127.0.0.1:0", "--config", str(cfg), "--workers", str(workers)],
                       tmp / "serve.log"))
    return p, int(p.wait_line(r"listening on http://127\.0\.0\.1:(\d+)", 300).group(1))


# ---------------------------------------------------------------------------------------------
# Load


def load(url, body_file=None, connections=1, amount=None, duration=None, headers=(), marks=MARKS,
         timeout=30, latencies_out=None):
    """One load.mjs run; returns its JSON result."""
    argv = [node(), str(LOAD), url, "--connections", str(connections), "--timeout", str(timeout)]
    if body_file is not None:
        argv += ["--body", str(body_file), "--method", "POST"]
    if amount is not None:
        # Bounds a run whose target stopped answering: generous, so only a hang reaches it.
        argv += ["--amount", str(amount), "--max-seconds", str(max(120, amount * 5))]
    else:
        argv += ["--duration", str(duration)]
    for h in headers:
        argv += ["--header", h]
    for name, needle in marks.items():
        argv += ["--mark", f"{name}={needle}"]
    if latencies_out is not None:
        argv += ["--latencies-out", str(latencies_out)]
    limit = (max(120, amount * 5) if amount is not None else duration) + 120
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        raise BenchError(f"load.mjs against {url} did not finish within {limit:.0f} s")
    if out.returncode != 0:
        raise BenchError(f"load.mjs failed ({out.returncode}) against {url}: {out.stderr.strip()}")
    try:
        return json.loads(out.stdout)
    except ValueError:
        raise BenchError(f"load.mjs against {url} printed no JSON: {out.stdout[:300]!r} {out.stderr[:300]!r}")


def problems(result) -> str:
    """What in a load result is not a clean 2xx answer, or '' when everything was."""
    parts = []
    if result["non2xx"]:
        codes = ", ".join(f"{n} x {c}" for c, n in sorted(result["status"].items()) if not 200 <= int(c) < 300)
        parts.append(f"non-2xx: {codes}")
    if result["errors"]:
        parts.append(f"connection errors: {result['errors']} {result['error_kinds']}")
    if result["timeouts"]:
        parts.append(f"timeouts: {result['timeouts']}")
    for name, by_status in result["marks"].items():
        if by_status:
            parts.append(f"{name} bodies: {by_status}")
    if result["stopped_early"]:
        parts.append("stopped early (target stopped answering)")
    if parts and result["samples"]:
        s = result["samples"][0]
        parts.append(f"e.g. {s['status']} {s['body'][:200]!r}")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# Facts and reporting


def machine_facts() -> dict:
    cpu = ""
    try:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        mem = next((l.split(":", 1)[1].strip() for l in open("/proc/meminfo") if l.startswith("MemTotal")), "")
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": cpu, "mem_total": mem,
            "kernel": platform.release(), "python": platform.python_version()}


def loadavg() -> list:
    return [round(x, 2) for x in os.getloadavg()]


def _first_line(argv) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        return (out.stdout.strip() or out.stderr.strip()).splitlines()[0].strip()
    except (OSError, IndexError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"


def versions(envoy=False, workerd=False, serve=False) -> dict:
    out = {"node": _first_line([node(), "--version"])}
    try:
        out["autocannon"] = json.loads(AUTOCANNON.read_text())["version"]
    except (OSError, ValueError, KeyError):
        out["autocannon"] = "unknown"
    if envoy:
        m = re.search(r"version: \S+/([\d.]+)/", _first_line([str(envoy_binary()), "--version"]) + "/")
        out["envoy"] = m.group(1) if m else _first_line([str(envoy_binary()), "--version"])
        out["envoy_module_bytes"] = ENVOY_WASM.stat().st_size
    if workerd:
        out["workerd"] = _first_line([str(WORKERD), "--version"])
    if serve:
        out["parapet"] = _first_line([str(PARAPET_BIN), "version"])
    return out


def percentile(sorted_values, p):
    """Nearest rank, as load.mjs computes it."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def fmt(v, digits=2, sign=False):
    if v is None:
        return "-"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def table(headers, rows) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def write_json(path, data):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
