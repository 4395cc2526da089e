#!/usr/bin/env python3
"""A 30k-character document's latency through Envoy: screened in-process (a slice per tick) and
offloaded to `parapet serve`'s scoring service with 1, 2, ... threads.

    ~/.cache/parapet/venv/bin/python tests/bench/offload.py [--count 30] [--threads 1,2] [--out tests/bench/results/offload.json]

One local upstream (upstream.mjs); Envoy (`--concurrency 1`) with the shipped envoy.yaml and,
beside it, a listener without the Parapet filter (the baseline: what Envoy and the upstream
cost alone); Envoy with `envoy/examples/offload.yaml` in front of one `parapet serve
--score-threads N` per N. Each document request is sent --count times at one connection after
a warm-up; latency is client-side, the whole response; "added" is the latency minus the
baseline's p50. Prints a markdown table; writes every figure as JSON to --out.
"""
import argparse
import pathlib
import shutil
import sys
import tempfile

import harness as h
from bodies import CASES








def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=30, help="document requests per path [30]")
    ap.add_argument("--threads", default="1,2", help="parapet serve --score-threads values [1,2]")
    ap.add_argument("--out", default=str(h.HERE / "results" / "offload.json"))
    a = ap.parse_args()
    threads = [int(t) for t in a.threads.split(",") if t.strip()]
    h.stop_on_sigterm()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="parapet-bench-offload-"))
    report = {"benchmark": "offload", "machine": h.machine_facts(), "loadavg_start": h.loadavg(), "args": vars(a), "results": {}}
    doc = tmp / "doc-30k.json"
    doc.write_bytes(CASES["doc-30k"][0])
    try:
        h.require_load_tools()
        h.require([h.PARAPET_BIN], "run scripts/build.sh")
        res = report["results"]
        with h.Stack() as stack:
            up = h.start_upstream(stack, tmp)

            def measure(name, port):
                url = f"http://127.0.0.1:{port}{h.CHAT}"
                h.load(url, doc, amount=3)
                out = tmp / f"{name}.bin"
                r = h.load(url, doc, amount=a.count, latencies_out=out)
                bad = h.problems(r)
                if bad:
                    raise h.BenchError(f"{name}: {bad}")
                res[name] = h.exact_percentiles(h.read_latencies(out))
                stack.check()

            ports = {"filtered": h.free_port(), "admin": h.free_port(), "baseline": h.free_port()}
            h.start_envoy_text(stack, tmp, "in-process", h.envoy_config(ports["filtered"], ports["admin"], up.port, ports["baseline"]), ports["filtered"])
            measure("baseline", ports["baseline"])
            measure("in_process", ports["filtered"])
            for n in threads:
                sport = h.free_port()
                serve = stack.add(h.Proc(f"parapet serve --score-threads {n}",
                                         [str(h.PARAPET_BIN), "serve", "--addr", f"127.0.0.1:{sport}", "--workers", "1", "--score-threads", str(n)],
                                         tmp / f"serve-{n}.log"))
                serve.wait_port(sport, timeout=120)
                port, admin = h.free_port(), h.free_port()
                text = h.envoy_yaml(None, port, admin, up.port, shipped="examples/offload.yaml", replace={"port_value: 8090": f"port_value: {sport}"})
                h.start_envoy_text(stack, tmp, f"offload-{n}", text, port)
                measure(f"offload_{n}", port)
        base = res["baseline"]["p50"]
        for k, p in res.items():
            p["added_p50"], p["added_p95"] = p["p50"] - base, p["p95"] - base
        report["loadavg_end"] = h.loadavg()
        h.write_json(a.out, report)
    except h.BenchError as e:
        print(f"offload.py: {e}; logs kept in {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    names = {"baseline": "Envoy without Parapet (baseline)", "in_process": "in-process, a slice per tick"}
    print("| doc-30k through | n | p50 ms | p95 ms | p99 ms | added p50 | added p95 |\n|---|---|---|---|---|---|---|")
    for k, p in res.items():
        label = names.get(k) or f"offloaded, parapet serve --score-threads {k.split('_')[1]}"
        print(f"| {label} | {p['n']} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | {p['added_p50']:.1f} | {p['added_p95']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
