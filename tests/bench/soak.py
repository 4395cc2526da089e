#!/usr/bin/env python3
"""Bounded load and soak: steady load at several concurrency levels, errors and memory over time.

    ~/.cache/parapet/venv/bin/python tests/bench/soak.py [--minutes 10] [--levels 1,8,32]
        [--targets envoy,serve] [--out tests/bench/results/soak.json]

Targets (each started once and kept through all its levels, so memory carries over):
- envoy: Envoy (`--concurrency 1` unless --envoy-concurrency) with the shipped envoy.yaml and
  its plugin config, in front of upstream.mjs; load is the benign 1k chat request to
  /v1/chat/completions;
- serve: `parapet serve --workers 1` (unless --serve-workers) with the same config; load is
  the same text as a guard request to POST /v2/guard.

Each level runs load.mjs back to back in slices (--slice-seconds) for --minutes, which gives a
time series; the target's RSS (VmRSS of the process and its children) is sampled meanwhile.
Per level: requests, rps, exact latency percentiles over the whole level, and the errors:
- filter errors: any 5xx, a Parapet error JSON in any other answer but a 403, connection errors
  and timeouts;
- false positives: a 403 (blocked) or a flagged verdict on the benign body;
- RSS at the start and end of the level, its maximum, the slope of a least-squares line
  (MiB per minute) and the growth over the last 80% of the level, which decides "memory flat"
  (below the larger of --flat-mib and --flat-pct of the RSS there).
Prints markdown tables; writes the JSON, time series included, to --out.
"""
import argparse
import array
import datetime
import os
import pathlib
import shutil
import sys
import tempfile
import threading
import time

import harness as h
from bodies import ATTACK, CASES, chat, guard

BODY = "chat-1k"


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10, help="minutes per level [10]; 0.2 for a quick try")
    ap.add_argument("--levels", default="1,8,32", help="connections per level, comma-separated [1,8,32]")
    ap.add_argument("--targets", default="envoy,serve", help="envoy, serve or both [envoy,serve]")
    ap.add_argument("--slice-seconds", type=float, default=60, help="length of one load.mjs run in the time series [60]")
    ap.add_argument("--sample-seconds", type=float, default=5,
                    help="RSS sampling interval [5; at most a twelfth of a level, so short levels get enough samples]")
    ap.add_argument("--flat-mib", type=float, default=10, help="memory flat: growth over the last 80%% below this many MiB ... [10]")
    ap.add_argument("--flat-pct", type=float, default=5, help="... or below this percentage of the RSS there, whichever is larger [5]")
    ap.add_argument("--envoy-concurrency", type=int, default=1, help="Envoy --concurrency (worker threads) [1]")
    ap.add_argument("--serve-workers", type=int, default=1, help="parapet serve --workers (VM threads) [1]")
    ap.add_argument("--warmup", type=int, default=20, help="warm-up requests before the first level [20]")
    ap.add_argument("--out", default=str(h.HERE / "results" / "soak.json"), help="JSON results [tests/bench/results/soak.json]")
    a = ap.parse_args()
    try:
        a.levels = [int(x) for x in a.levels.split(",") if x.strip()]
    except ValueError:
        ap.error(f"--levels: expected comma-separated integers, got {a.levels!r}")
    a.targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    if not a.levels or min(a.levels) < 1:
        ap.error("--levels: at least one level, each at least 1 connection")
    if not a.targets or set(a.targets) - {"envoy", "serve"}:
        ap.error("--targets: envoy, serve or both")
    if a.minutes <= 0 or a.slice_seconds < 1 or a.sample_seconds <= 0 or a.envoy_concurrency < 1 or a.serve_workers < 1:
        ap.error("--minutes, --sample-seconds must be > 0, --slice-seconds >= 1, --envoy-concurrency and --serve-workers >= 1")
    return a


class Sampler(threading.Thread):
    """RSS of `proc` every `interval` seconds, as (seconds since start, KiB)."""

    def __init__(self, proc, interval):
        super().__init__(daemon=True)
        self.proc, self.interval = proc, interval
        self.samples, self.halt = [], threading.Event()
        self.t0 = time.monotonic()

    def sample(self):
        self.samples.append((round(time.monotonic() - self.t0, 2), self.proc.rss_kib()))

    def run(self):
        self.sample()
        while not self.halt.wait(self.interval):
            self.sample()

    def stop(self):
        self.halt.set()
        self.join()
        self.sample()


def fit_slope(points):
    """Least-squares slope of (x, y) points; None for fewer than two distinct x."""
    n = len(points)
    if n < 2:
        return None
    mx, my = sum(x for x, _ in points) / n, sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def memory(samples, level_s, flat_mib, flat_pct):
    mib = [(t / 60, kib / 1024) for t, kib in samples]  # (minutes, MiB)
    window = [p for p in mib if p[0] * 60 >= 0.2 * level_s] or mib[-1:]
    growth = window[-1][1] - window[0][1]
    bound = max(flat_mib, flat_pct / 100 * window[0][1])
    slope = fit_slope(mib)
    return {"start_mib": round(mib[0][1], 1), "end_mib": round(mib[-1][1], 1), "max_mib": round(max(m for _, m in mib), 1),
            "slope_mib_per_min": None if slope is None else round(slope, 3), "growth_last80_mib": round(growth, 1),
            "flat_bound_mib": round(bound, 1), "flat": growth < bound, "samples": len(mib)}


def classify(status, marks, errors, timeouts):
    """Errors the filter caused versus false positives, from merged status and body counts."""
    def count(pred):
        return sum(n for c, n in status.items() if pred(int(c)))

    def marked(name, pred):
        return sum(n for c, n in marks.get(name, {}).items() if pred(int(c)))

    fives = count(lambda c: c >= 500)
    error_json_other = marked("error_json", lambda c: c < 500 and c != 403)
    false_pos = count(lambda c: c == 403) + marked("flagged", lambda c: 200 <= c < 300)
    # Non-2xx answers that are neither of the above (none expected from the local upstream).
    other = count(lambda c: not 200 <= c < 300 and c != 403 and c < 500) - marked("error_json", lambda c: not 200 <= c < 300 and c != 403 and c < 500)
    filter_errors = fives + error_json_other + errors + timeouts
    return {"filter_errors": filter_errors, "false_positives": false_pos, "other_non2xx": other,
            "errors_total": filter_errors + false_pos + other,
            "detail": {"5xx": fives, "error_json_not_403": error_json_other, "connection_errors": errors, "timeouts": timeouts}}


def merge(into, d):
    for k, v in d.items():
        if isinstance(v, dict):
            merge(into.setdefault(k, {}), v)
        else:
            into[k] = into.get(k, 0) + v


def run_level(target, conns, args, tmp):
    level_s = args.minutes * 60
    sampler = Sampler(target["proc"], min(args.sample_seconds, max(0.5, level_s / 12)))
    sampler.start()
    slices, status, marks, errors, timeouts, kinds, lat_files, samples = [], {}, {}, 0, 0, {}, [], []
    try:
        t0 = time.monotonic()
        while (left := level_s - (time.monotonic() - t0)) >= 1:
            secs = min(args.slice_seconds, left)
            lf = tmp / f"lat-{target['key']}-{conns}-{len(slices)}.f64"
            start = time.monotonic() - t0
            r = h.load(target["url"], target["body"], connections=conns, duration=round(secs, 2), latencies_out=lf)
            lat_files.append(lf)
            target["proc"].check()
            if target.get("truncate_log"):
                # Envoy logs a screening record per request: keep the disk use of a long soak
                # bounded (Envoy appends, so it carries on at the new end).
                os.truncate(target["truncate_log"], 0)
            merge(status, r["status"])
            merge(marks, r["marks"])
            merge(kinds, r["error_kinds"])
            errors += r["errors"]
            timeouts += r["timeouts"]
            samples += r["samples"][: 5 - len(samples)]
            rss = sampler.samples[-1][1] / 1024 if sampler.samples else None
            lm = r["latency_ms"]
            slices.append({"t_s": round(start, 1), "seconds": r["elapsed_s"], "requests": r["requests"], "rps": r["rps"],
                           "p50_ms": lm["p50"], "p99_ms": lm["p99"], "max_ms": lm["max"], "non2xx": r["non2xx"],
                           "errors": r["errors"] + r["timeouts"], "rss_mib": None if rss is None else round(rss, 1)})
            bad = h.problems(r)
            print(f"  {target['label']}, {conns} conn, t={start:5.0f}s: {r['requests']} req, {h.fmt(r['rps'], 1)} rps, "
                  f"p99 {h.fmt(lm['p99'], 1)} ms, RSS {h.fmt(rss, 1)} MiB{'; ' + bad if bad else ''}", file=sys.stderr)
        elapsed = time.monotonic() - t0
    finally:
        sampler.stop()
    lat = array.array("d")
    for lf in lat_files:
        lat.frombytes(lf.read_bytes())
        lf.unlink()
    ordered = sorted(lat)
    pct = {f"p{p}": h.percentile(ordered, p) for p in (50, 95, 99)}
    pct["max"] = ordered[-1] if ordered else None
    pct["mean"] = sum(ordered) / len(ordered) if ordered else None
    return {
        "connections": conns, "seconds": round(elapsed, 1), "requests": len(ordered),
        "rps": round(len(ordered) / sum(s["seconds"] for s in slices), 1) if slices and sum(s["seconds"] for s in slices) else None,
        "latency_ms": {k: None if v is None else round(v, 3) for k, v in pct.items()},
        "status": status, "non2xx": sum(n for c, n in status.items() if not 200 <= int(c) < 300),
        "error_kinds": kinds, "marks": marks, "samples": samples,
        **classify(status, marks, errors, timeouts),
        "memory": memory(sampler.samples, elapsed, args.flat_mib, args.flat_pct),
        "rss_samples": [[t, round(kib / 1024, 1)] for t, kib in sampler.samples],
        "slices": slices,
    }


def start_target(key, stack, tmp, args, config):
    body_name = "guard" if key == "serve" else "chat"
    body = tmp / f"{BODY}.{body_name}.json"
    body.write_bytes(CASES[BODY][1] if key == "serve" else CASES[BODY][0])
    if key == "envoy":
        upstream = h.start_upstream(stack, tmp)
        proc, ports = h.start_envoy(stack, tmp, upstream.port, concurrency=args.envoy_concurrency)
        r = h.request(ports["filtered"], "POST", h.CHAT, chat(ATTACK))
        if r.status != 403:
            raise h.BenchError(f"Envoy + Parapet answered {r.status} to a prompt attack (expected 403): {r.body[:200]!r}")
        return {"key": key, "label": f"Envoy + Parapet (--concurrency {args.envoy_concurrency})", "proc": proc, "body": body,
                "url": f"http://127.0.0.1:{ports['filtered']}{h.CHAT}", "truncate_log": proc.log,
                "what": f"{CASES[BODY][2]} as a chat request to /v1/chat/completions"}
    proc, port = h.start_serve(stack, tmp, config, args.serve_workers)
    r = h.request(port, "POST", h.GUARD, guard(ATTACK))
    if r.status != 200 or r.json().get("flagged") is not True:
        raise h.BenchError(f"parapet serve did not flag a prompt attack: {r.status} {r.body[:200]!r}")
    return {"key": key, "label": f"parapet serve (--workers {args.serve_workers})", "proc": proc, "body": body,
            "url": f"http://127.0.0.1:{port}{h.GUARD}", "what": f"{CASES[BODY][2]} as a guard request to POST /v2/guard"}


def soak_target(key, args, tmp, config):
    with h.Stack() as stack:
        t = start_target(key, stack, tmp, args, config)
        if args.warmup:
            r = h.load(t["url"], t["body"], amount=args.warmup)
            bad = h.problems(r)
            if bad:
                raise h.BenchError(f"{t['label']}: the warm-up with the benign body was not all 2xx: {bad}")
        print(f"{t['label']}: {len(args.levels)} levels of {args.minutes:g} min", file=sys.stderr)
        levels = [run_level(t, c, args, tmp) for c in args.levels]
        flat = all(lv["memory"]["flat"] for lv in levels)
        return {"label": t["label"], "load": t["what"], "url_path": t["url"].split("/", 3)[3], "levels": levels,
                "memory_flat": flat, "rss_first_mib": levels[0]["memory"]["start_mib"], "rss_last_mib": levels[-1]["memory"]["end_mib"]}


def verdict(res, args) -> str:
    if res["memory_flat"]:
        return (f"**{res['label']}: memory flat** (RSS growth over the last 80% of every level below max({args.flat_mib:g} MiB, "
                f"{args.flat_pct:g}%); {res['rss_first_mib']} MiB at the start, {res['rss_last_mib']} MiB at the end)")
    grew = [f"{lv['connections']} connections +{lv['memory']['growth_last80_mib']} MiB (bound {lv['memory']['flat_bound_mib']})"
            for lv in res["levels"] if not lv["memory"]["flat"]]
    return f"**{res['label']}: memory NOT flat**: {', '.join(grew)}; {res['rss_first_mib']} MiB at the start, {res['rss_last_mib']} MiB at the end"


def markdown(rep, args) -> str:
    m = rep["machine"]
    lines = ["# Parapet load and soak", "",
             f"{rep['started']}; {m['nproc']} CPUs ({m['cpu_model']}); load average {rep['loadavg_start'][0]} at start, "
             f"{rep['loadavg_end'][0]} at end; {args.minutes:g} min per level in slices of at most {args.slice_seconds:g} s. "
             f"Load generator (autocannon {rep['versions']['autocannon']}) and upstream on the same machine.", ""]
    for res in rep["targets"].values():
        rows = []
        for lv in res["levels"]:
            lm, mem = lv["latency_ms"], lv["memory"]
            rows.append([lv["connections"], lv["requests"], h.fmt(lv["rps"], 1), h.fmt(lm["p50"]), h.fmt(lm["p95"]), h.fmt(lm["p99"]),
                         h.fmt(lm["max"]), lv["non2xx"], lv["filter_errors"], lv["false_positives"], mem["start_mib"], mem["end_mib"],
                         mem["max_mib"], h.fmt(mem["slope_mib_per_min"], 2, sign=True), h.fmt(mem["growth_last80_mib"], 1, sign=True),
                         "yes" if mem["flat"] else "**no**"])
        lines += [f"## {res['label']}: {res['load']}", "",
                  h.table(["conns", "requests", "rps", "p50 ms", "p95 ms", "p99 ms", "max ms", "non-2xx", "filter errors",
                           "false pos.", "RSS start MiB", "end", "max", "slope MiB/min", "growth last 80%", "flat"], rows), "",
                  verdict(res, args), ""]
        for lv in res["levels"]:
            if lv["errors_total"]:
                lines.append(f"- {lv['connections']} connections: {lv['errors_total']} errors {lv['detail']}, status {lv['status']}, "
                             f"e.g. {lv['samples'][:1]}")
    return "\n".join(lines).rstrip()


def main():
    args = parse_args()
    h.stop_on_sigterm()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    report = {"benchmark": "soak", "started": started, "machine": h.machine_facts(), "loadavg_start": h.loadavg(),
              "args": vars(args)}
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="parapet-bench-soak-"))
    ok = False
    try:
        h.require_load_tools()
        report["versions"] = h.versions(envoy="envoy" in args.targets, serve="serve" in args.targets)
        config = h.shipped_plugin_config()
        report["plugin_config"] = config
        report["targets"] = {}
        for key in args.targets:
            (tmp / key).mkdir()
            report["targets"][key] = soak_target(key, args, tmp / key, config)
        report["loadavg_end"] = h.loadavg()
        h.write_json(args.out, report)
        print(markdown(report, args))
        print(f"\nJSON: {args.out}", file=sys.stderr)
        ok = True
    except h.BenchError as e:
        print(f"soak.py: {e}", file=sys.stderr)
    except KeyboardInterrupt:
        print("soak.py: interrupted", file=sys.stderr)
    finally:
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"soak.py: stopped every process; logs kept in {tmp}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
