#!/usr/bin/env python3
"""Mixed traffic on one Envoy worker: short chat requests while 30k-character documents are
screened beside them.

    ~/.cache/parapet/venv/bin/python tests/bench/mixed.py [--wasm OTHER.wasm] [--out tests/bench/results/mixed.json]

One local upstream (upstream.mjs) behind one Envoy (`--concurrency 1`, the shipped envoy.yaml
and plugin config). Measured with load.mjs, every latency kept:
- `alone`: the 1,000-character chat request, one connection, nothing else running; then the
  30k-character document request alone;
- `mixed`: the same short requests while `--doc-connections` connections send the document
  back to back for the whole run, and the documents' own latency meanwhile.
`--wasm` runs another build of the Envoy module (an older commit's, for a before/after).
Prints a markdown table; writes every figure as JSON to --out.
"""
import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading

import harness as h
from bodies import CASES






def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--short-count", type=int, default=200, help="short requests per phase [200]")
    ap.add_argument("--doc-count", type=int, default=20, help="documents alone [20]")
    ap.add_argument("--doc-connections", type=int, default=2, help="connections sending documents during the mixed phase [2]")
    ap.add_argument("--wasm", help="another Envoy module build to run instead of the built one")
    ap.add_argument("--label", default="", help="a name for this build in the table")
    ap.add_argument("--out", default=str(h.HERE / "results" / "mixed.json"))
    a = ap.parse_args()
    h.stop_on_sigterm()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="parapet-bench-mixed-"))
    report = {"benchmark": "mixed", "machine": h.machine_facts(), "loadavg_start": h.loadavg(), "args": vars(a)}
    try:
        h.require_load_tools()
        files = {}
        for name in ("chat-1k", "doc-30k"):
            files[name] = tmp / f"{name}.json"
            files[name].write_bytes(CASES[name][0])
        with h.Stack() as stack:
            up = h.start_upstream(stack, tmp)
            port, admin = h.free_port(), h.free_port()
            text = h.envoy_yaml(None, port, admin, up.port)
            if a.wasm:
                text = text.replace(f"filename: {h.ENVOY_WASM}", f"filename: {pathlib.Path(a.wasm).resolve()}")
            h.start_envoy_text(stack, tmp, "mixed", text, port)
            url = f"http://127.0.0.1:{port}{h.CHAT}"

            def run(name, out, **kw):
                r = h.load(url, files[name], latencies_out=out, **kw)
                bad = h.problems(r)
                if bad:
                    raise h.BenchError(f"{name}: {bad}")
                return h.read_latencies(out)

            run("chat-1k", tmp / "warm.bin", amount=20)
            run("doc-30k", tmp / "warm-doc.bin", amount=3)
            res = {"short_alone": h.exact_percentiles(run("chat-1k", tmp / "short-alone.bin", amount=a.short_count)),
                   "doc_alone": h.exact_percentiles(run("doc-30k", tmp / "doc-alone.bin", amount=a.doc_count))}
            stack.check()
            # Documents back to back for as long as the short requests run.
            stop = threading.Event()
            docs = []

            def documents():
                i = 0
                while not stop.is_set():
                    out = tmp / f"doc-mixed-{i}.bin"
                    docs.extend(run("doc-30k", out, connections=a.doc_connections, amount=a.doc_connections * 2))
                    i += 1

            bg = threading.Thread(target=documents, daemon=True)
            bg.start()
            try:
                res["short_mixed"] = h.exact_percentiles(run("chat-1k", tmp / "short-mixed.bin", amount=a.short_count))
            finally:
                stop.set()
                bg.join(timeout=300)
            res["doc_mixed"] = h.exact_percentiles(docs)
            stack.check()
        report["results"] = res
        report["loadavg_end"] = h.loadavg()
        h.write_json(a.out, report)
    except (h.BenchError, subprocess.SubprocessError) as e:
        print(f"mixed.py: {e}; logs kept in {tmp}", file=sys.stderr)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    label = a.label or ("--wasm " + pathlib.Path(a.wasm).name if a.wasm else "this build")
    print(f"| build | what | n | p50 ms | p95 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|")
    names = {"short_alone": "chat-1k alone", "short_mixed": f"chat-1k beside documents ({a.doc_connections} conns)",
             "doc_alone": "doc-30k alone", "doc_mixed": "doc-30k in the mix"}
    for k, p in res.items():
        print(f"| {label} | {names[k]} | {p['n']} | {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | {p['max']:.1f} |")
    ratio = res["short_mixed"]["p99"] / max(res["short_alone"]["p99"], 1e-9)
    print(f"\nshort p99 beside documents / alone: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
