#!/usr/bin/env python3
"""End-to-end latency and throughput of Parapet in its three runtimes, in one run.

    ~/.cache/parapet/venv/bin/python tests/bench/e2e.py [--out tests/bench/results/e2e.json]

Started once, all on 127.0.0.1: the local upstream (upstream.mjs); one Envoy
(`--concurrency 1`) with two listeners identical but for the Parapet filter (the shipped
envoy.yaml and its plugin config: mode block, fail closed); workerd running the edge worker in
front of the same upstream, and `parapet serve`, both with that same Parapet config.

Measured with load.mjs (autocannon; every latency kept, percentiles exact):
- latency at 1 connection for a fixed number of requests: a 1,000-character chat request, a
  chat request carrying a 30,000-character document, and a streamed chat request; Envoy with
  against without the filter, workerd against the upstream directly (the difference is the
  worker runtime plus Parapet), and the same texts as guard requests to `parapet serve`;
- saturation: requests per second for the 1k chat request with several connections, through
  Envoy + Parapet (one worker thread: per core), workerd and `parapet serve`, with the target's
  CPU use; the load generator and the upstream run on the same machine.

Before measuring, each path is checked: a prompt attack is refused (403) through Envoy's
filtered listener and workerd and forwarded (200) through the unfiltered listener and the
upstream; the guard flags it; every benign request answers 2xx during the warm-up.
Prints markdown tables; writes every figure as JSON to --out.
"""
import argparse
import datetime
import pathlib
import shutil
import sys
import tempfile

import harness as h
from bodies import ATTACK, CASES, chat, guard

# Row labels (markdown) by key.
PATHS = {
    "envoy_baseline": "Envoy, no Parapet",
    "envoy_parapet": "Envoy + Parapet",
    "upstream_direct": "upstream direct",
    "workerd_parapet": "workerd + Parapet",
    "serve_guard": "parapet serve /v2/guard",
}
PAIRS = [("envoy", "envoy_baseline", "envoy_parapet", "added by Parapet in Envoy"),
         ("workerd", "upstream_direct", "workerd_parapet", "added by workerd + Parapet")]


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count-1k", type=int, default=200, help="requests per path for the 1k chat request [200]")
    ap.add_argument("--count-30k", type=int, default=30, help="requests per path for the 30k document [30]")
    ap.add_argument("--count-stream", type=int, default=200, help="requests per path for the streamed request [200]")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up requests per path and body (30k: a quarter, at least 2) [20]")
    ap.add_argument("--saturate-seconds", type=float, default=10, help="seconds per saturation run [10]")
    ap.add_argument("--saturate-connections", type=int, default=8, help="connections for the saturation runs [8]")
    ap.add_argument("--serve-workers", type=int, default=1, help="parapet serve --workers (VM threads) [1: per core]")
    ap.add_argument("--envoy-log-level", default="info",
                    help="Envoy -l; at info (Envoy's default) each screening record is logged, as shipped [info]")
    ap.add_argument("--out", default=str(h.HERE / "results" / "e2e.json"), help="JSON results [tests/bench/results/e2e.json]")
    a = ap.parse_args()
    for name in ("count_1k", "count_30k", "count_stream", "saturate_connections", "serve_workers"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")
    if a.warmup < 0 or a.saturate_seconds <= 0:
        ap.error("--warmup must be >= 0 and --saturate-seconds > 0")
    return a


def added(base, with_parapet):
    """Per percentile, with minus without (None where a run got no answers)."""
    a, b = with_parapet["latency_ms"], base["latency_ms"]
    return {k: None if a[k] is None or b[k] is None else round(a[k] - b[k], 3) for k in ("p50", "p95", "p99", "mean")}


class Run:
    def __init__(self, args, tmp):
        self.args = args
        self.checks, self.warnings = [], []
        self.files = {}
        for name, (chat_body, guard_body, _) in CASES.items():
            for kind, body in (("chat", chat_body), ("guard", guard_body)):
                path = tmp / f"{name}.{kind}.json"
                path.write_bytes(body)
                self.files[name, kind] = path

    @staticmethod
    def urls(ports):
        return {k: f"http://127.0.0.1:{ports[k]}{h.GUARD if k == 'serve_guard' else h.CHAT}" for k in PATHS}

    def check(self, what, ok, detail):
        self.checks.append({"check": what, "ok": bool(ok), "detail": detail})
        if not ok:
            raise h.BenchError(f"check failed: {what}: {detail}")

    def screening_checks(self, ports):
        """The filter screens, the baselines do not: otherwise the figures are of a wrong setup."""
        attack, benign = chat(ATTACK), CASES["chat-1k"][0]
        for key, expect in (("envoy_parapet", 403), ("envoy_baseline", 200), ("workerd_parapet", 403), ("upstream_direct", 200)):
            r = h.request(ports[key], "POST", h.CHAT, attack)
            self.check(f"prompt attack through {PATHS[key]} answers {expect}", r.status == expect, f"{r.status} {r.body[:200]!r}")
        for key in ("envoy_parapet", "workerd_parapet"):
            r = h.request(ports[key], "POST", h.CHAT, benign)
            self.check(f"benign 1k chat request through {PATHS[key]} reaches the upstream",
                       r.status == 200 and b'"chat.completion"' in r.body, f"{r.status} {r.body[:200]!r}")
            r = h.request(ports[key], "POST", h.CHAT, CASES["stream"][0])
            self.check(f"streamed answer through {PATHS[key]} arrives whole",
                       r.status == 200 and r.body.rstrip().endswith(b"data: [DONE]"), f"{r.status} {r.body[-200:]!r}")
        r = h.request(ports["serve_guard"], "POST", h.GUARD, guard(ATTACK))
        self.check("parapet serve flags the prompt attack", r.status == 200 and r.json().get("flagged") is True, f"{r.status} {r.body[:200]!r}")
        for name in CASES:
            r = h.request(ports["serve_guard"], "POST", h.GUARD, CASES[name][1])
            self.check(f"parapet serve passes the benign {name} text", r.status == 200 and r.json().get("flagged") is False,
                       f"{r.status} {r.body[:200]!r}")

    def warm(self, urls):
        if not self.args.warmup:
            return
        for name in CASES:
            n = self.args.warmup if name != "doc-30k" else max(2, self.args.warmup // 4)
            for key, url in urls.items():
                r = h.load(url, self.files[name, "guard" if key == "serve_guard" else "chat"], amount=n)
                bad = h.problems(r)
                self.check(f"warm-up: {n} x {name} via {PATHS[key]} all 2xx", not bad, bad or "ok")

    def measure(self, urls, key, name, amount=None, **kw):
        """One load run of body `name` on path `key`; what went wrong is reported, not hidden."""
        r = h.load(urls[key], self.files[name, "guard" if key == "serve_guard" else "chat"], amount=amount, **kw)
        bad = h.problems(r)
        if bad:
            self.warnings.append(f"{name} via {PATHS[key]}" + (f" ({kw['connections']} connections)" if "connections" in kw else "") + f": {bad}")
        return r


def latency_rows(lat):
    rows = []
    for name, res in lat.items():
        for pair, base, with_p, label in PAIRS:
            for key in (base, with_p):
                r = res[key]
                rows.append([PATHS[key], name, r["requests"], *(h.fmt(r["latency_ms"][k]) for k in ("p50", "p95", "p99", "max", "mean")),
                             "yes" if h.problems(r) else "-"])
            d = res[f"{pair}_added_ms"]
            rows.append([f"**{label}**", name, "", *(f"**{h.fmt(d[k], sign=True)}**" for k in ("p50", "p95", "p99")), "",
                         f"**{h.fmt(d['mean'], sign=True)}**", ""])
    return rows


def main():
    args = parse_args()
    h.stop_on_sigterm()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    report = {"benchmark": "e2e", "started": started, "machine": h.machine_facts(), "loadavg_start": h.loadavg(), "args": vars(args)}
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="parapet-bench-e2e-"))
    ok = False
    try:
        h.require_load_tools()
        report["versions"] = h.versions(envoy=True, workerd=True, serve=True)
        config = h.shipped_plugin_config()
        report["setup"] = {
            "plugin_config": config,
            "envoy": f"one process, --concurrency 1, -l {args.envoy_log_level}; listeners identical but for the Parapet filter",
            "serve": f"parapet serve --workers {args.serve_workers}: {args.serve_workers} VM thread(s), plus an accept thread and an "
                     "I/O thread per connection",
            "workerd": "edge-worker/workerd.capnp, ORIGIN_URL = the upstream",
            "bodies": {name: {"what": what, "chat_request_bytes": len(c), "guard_request_bytes": len(g)}
                       for name, (c, g, what) in CASES.items()},
        }
        run = Run(args, tmp)
        with h.Stack() as stack:
            upstream, ports = h.start_upstream(stack, tmp), {}
            ports["upstream_direct"] = upstream.port
            envoy, eports = h.start_envoy(stack, tmp, upstream.port, concurrency=1, baseline=True, log_level=args.envoy_log_level)
            ports.update(envoy_parapet=eports["filtered"], envoy_baseline=eports["baseline"])
            workerd, ports["workerd_parapet"] = h.start_workerd(stack, tmp, config, f"http://127.0.0.1:{upstream.port}")
            serve, ports["serve_guard"] = h.start_serve(stack, tmp, config, args.serve_workers)
            procs = {"envoy_parapet": envoy, "envoy_baseline": envoy, "workerd_parapet": workerd, "serve_guard": serve,
                     "upstream_direct": upstream}
            urls = run.urls(ports)
            print("started: " + ", ".join(f"{PATHS[k]} :{p}" for k, p in ports.items()), file=sys.stderr)

            run.screening_checks(ports)
            run.warm(urls)
            stack.check()

            counts = {"chat-1k": args.count_1k, "doc-30k": args.count_30k, "stream": args.count_stream}
            lat = {}
            for name, count in counts.items():
                print(f"latency: {name}, {count} requests per path", file=sys.stderr)
                res = {key: run.measure(urls, key, name, amount=count) for key in PATHS}
                for pair, base, with_p, _ in PAIRS:
                    res[f"{pair}_added_ms"] = added(res[base], res[with_p])
                lat[name] = res
                stack.check()
            report["latency"] = lat

            sat = {}
            secs, conns = args.saturate_seconds, args.saturate_connections
            for key in ("envoy_parapet", "workerd_parapet", "serve_guard", "envoy_baseline", "upstream_direct"):
                print(f"saturation: {PATHS[key]}, {conns} connections, {secs:g} s", file=sys.stderr)
                proc = procs[key]
                cpu0 = proc.cpu_seconds()
                r = run.measure(urls, key, "chat-1k", connections=conns, duration=secs)
                cpu = proc.cpu_seconds() - cpu0
                r["target_cpu_percent"] = round(100 * cpu / max(r["elapsed_s"], 1e-9), 1)
                r["requests_per_cpu_second"] = round(r["requests"] / cpu, 1) if cpu > 0 else None
                r["target"] = proc.name
                sat[key] = r
                stack.check()
            report["saturation"] = {"connections": conns, "seconds": secs, "body": "chat-1k", "results": sat}
            report["envoy_stats"] = envoy_stats(eports["admin"])
            report["rss_mib_end"] = {p.name: round(p.rss_kib() / 1024, 1) for p in stack.procs}
        report["checks"], report["warnings"] = run.checks, run.warnings
        report["loadavg_end"] = h.loadavg()
        h.write_json(args.out, report)
        print(markdown(report))
        print(f"\nJSON: {args.out}", file=sys.stderr)
        ok = True
    except h.BenchError as e:
        print(f"e2e.py: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("e2e.py: interrupted", file=sys.stderr)
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"e2e.py: stopped every process; logs kept in {tmp}", file=sys.stderr)
    return 0 if ok else 1


def envoy_stats(admin_port) -> dict:
    """Parapet's counters from Envoy's admin, to show what the filter screened."""
    r = h.request(admin_port, "GET", "/stats?filter=wasmcustom.parapet")
    out = {}
    for line in r.body.decode(errors="replace").splitlines():
        k, _, v = line.partition(": ")
        if v.strip().isdigit() and int(v) and "latency" not in k:
            out[k] = int(v)
    return out


def markdown(rep) -> str:
    m, v = rep["machine"], rep["versions"]
    lines = [
        "# Parapet end-to-end benchmark",
        "",
        f"{rep['started']}; {m['nproc']} CPUs ({m['cpu_model']}); load average {rep['loadavg_start'][0]} at start, "
        f"{rep['loadavg_end'][0]} at end. Envoy {v['envoy']} (`--concurrency 1`), {v['workerd']}, {v['parapet'].split(' (')[0]}; "
        f"load generator autocannon {v['autocannon']} (node {v['node']}) and the upstream on the same machine.",
        f"Parapet config (all runtimes): `{rep['setup']['plugin_config']}`.",
        "",
        "## Latency at 1 connection (ms, client-side, whole response)",
        "",
        h.table(["path", "request", "n", "p50", "p95", "p99", "max", "mean", "problems"], latency_rows(rep["latency"])),
        "",
        "## parapet serve, POST /v2/guard, 1 connection",
        "",
        rep["setup"]["serve"] + ".",
        "",
        h.table(["request (same text as above)", "n", "p50", "p95", "p99", "max", "mean", "problems"],
                [[name, r["requests"], *(h.fmt(r["latency_ms"][k]) for k in ("p50", "p95", "p99", "max", "mean")),
                  "yes" if h.problems(r) else "-"] for name, r in ((n, res["serve_guard"]) for n, res in rep["latency"].items())]),
        "",
    ]
    s = rep["saturation"]
    lines += [
        f"## Saturation: chat-1k, {s['connections']} connections, {s['seconds']:g} s each",
        "",
        "Target CPU: the target process's CPU time over the run (100% = one core busy); requests per CPU-second "
        "divides it out, which makes it the figure least moved by other load on the machine. Envoy runs one worker "
        "thread, `parapet serve` " + f"{rep['args']['serve_workers']} VM thread(s), workerd one isolate.",
        "",
        h.table(["target", "requests", "rps", "target CPU", "requests per CPU-s", "p50 ms", "p99 ms", "non-2xx", "errors"],
                [[PATHS[k] + (" (reference)" if k in ("envoy_baseline", "upstream_direct") else ""), r["requests"], h.fmt(r["rps"], 0),
                  f"{r['target_cpu_percent']:.0f}%", h.fmt(r["requests_per_cpu_second"], 0), h.fmt(r["latency_ms"]["p50"]),
                  h.fmt(r["latency_ms"]["p99"]), r["non2xx"], r["errors"] + r["timeouts"]] for k, r in s["results"].items()]),
    ]
    lines += ["", f"Checked before measuring ({len(rep['checks'])} checks): the prompt attack is refused through Envoy + Parapet and "
              "workerd and forwarded by the baselines, `parapet serve` flags it, and every benign request answers 2xx in the warm-up."]
    if rep["warnings"]:
        lines += ["", "**Problems during measurement:**", ""] + [f"- {w}" for w in rep["warnings"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
