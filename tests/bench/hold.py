#!/usr/bin/env python3
"""What holding a JSON response's headers costs in Envoy (`hold_response_headers`).

    ~/.cache/parapet/venv/bin/python tests/bench/hold.py [--count 300] [--out tests/bench/results/hold.json]

One local upstream (upstream.mjs: a small non-streamed chat completion) behind two Envoys with
the shipped envoy.yaml, identical but for `hold_response_headers` (true as shipped, false). Each
body is sent `--count` times at one connection to each, alternating in rounds so drift in the
machine's load hits both alike; latency is client-side, the whole response. The response is
screened in both (block mode holds its body either way); what the hold adds is Envoy keeping
the headers and buffering the body in its own buffer until the verdict, then one header rewrite.
Prints a markdown table; writes every figure as JSON to --out.
"""
import argparse
import json
import pathlib
import shutil
import sys
import tempfile

import harness as h
from bodies import CASES, chat

BODIES = {"chat-short": chat("What time does the library open on Thursdays?"), "chat-1k": CASES["chat-1k"][0]}






def start(stack, tmp, upstream_port, name, config):
    port, admin = h.free_port(), h.free_port()
    h.start_envoy_text(stack, tmp, name, h.envoy_yaml(config, port, admin, upstream_port), port)
    return port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=300, help="requests per body and Envoy [300]")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds the count is split into [3]")
    ap.add_argument("--out", default=str(h.HERE / "results" / "hold.json"))
    a = ap.parse_args()
    h.stop_on_sigterm()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="parapet-bench-hold-"))
    shipped = json.loads(h.shipped_plugin_config())
    if shipped.get("hold_response_headers") is not True:
        print("hold.py: the shipped envoy.yaml no longer holds response headers", file=sys.stderr)
        return 1
    report = {"benchmark": "hold", "machine": h.machine_facts(), "loadavg_start": h.loadavg(), "args": vars(a), "results": {}}
    try:
        h.require_load_tools()
        with h.Stack() as stack:
            up = h.start_upstream(stack, tmp)
            ports = {"hold": start(stack, tmp, up.port, "hold", shipped),
                     "no_hold": start(stack, tmp, up.port, "no-hold", {**shipped, "hold_response_headers": False})}
            files = {}
            for name, body in BODIES.items():
                files[name] = tmp / f"{name}.json"
                files[name].write_bytes(body)
            for name in BODIES:
                lat = {k: [] for k in ports}
                for k, port in ports.items():
                    h.load(f"http://127.0.0.1:{port}{h.CHAT}", files[name], amount=20)  # warm-up
                for _ in range(a.rounds):
                    for k, port in ports.items():
                        out = tmp / f"lat-{name}-{k}.json"
                        r = h.load(f"http://127.0.0.1:{port}{h.CHAT}", files[name], amount=max(1, a.count // a.rounds), latencies_out=out)
                        bad = h.problems(r)
                        if bad:
                            raise h.BenchError(f"{name} via {k}: {bad}")
                        lat[k] += h.read_latencies(out)
                        stack.check()
                report["results"][name] = {k: h.exact_percentiles(v) for k, v in lat.items()}
        report["loadavg_end"] = h.loadavg()
        h.write_json(a.out, report)
    except h.BenchError as e:
        print(f"hold.py: {e}; logs kept in {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("| body | Envoy | n | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|")
    for name, res in report["results"].items():
        for k, p in res.items():
            print(f"| {name} | {'headers held' if k == 'hold' else 'headers sent first'} | {p['n']} | {p['p50']:.2f} | {p['p95']:.2f} | {p['p99']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
