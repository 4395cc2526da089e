"""Tables from criterion's estimates (host-test/benches/detectors.rs) for docs/benchmarks.md.

Reads <target>/criterion/**/new/{benchmark,estimates}.json and prints, per runtime, the median
latency and throughput of each detector at each size, and the growth exponent k of
time ~ size^k fitted over 10 KB and up (k = 1 is linear; fixed per-request costs dominate the
small sizes, so they are left out of the fit). `--json FILE` also writes the numbers.
"""
import argparse
import json
import math
import os
import pathlib
import sys

SIZES = [100, 1_000, 10_000, 100_000, 1_000_000]


def label(n: int) -> str:
    return {100: "100 B", 1_000: "1 KB", 10_000: "10 KB", 100_000: "100 KB", 1_000_000: "1 MB"}.get(n, str(n))


def fmt_time(ns: float) -> str:
    if ns >= 1e9:
        return f"{ns / 1e9:.2f} s"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    return f"{ns / 1e3:.1f} µs"


def load(root: pathlib.Path) -> dict:
    out: dict = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        runtime, _, detector = meta["group_id"].partition("/")
        size = int(meta["value_str"])
        out.setdefault(runtime, {}).setdefault(detector, {})[size] = est["median"]["point_estimate"]
    return out


def exponent(points: dict) -> float | None:
    xs = [(math.log(s), math.log(t)) for s, t in sorted(points.items()) if s >= 10_000]
    if len(xs) < 2:
        return None
    mx = sum(x for x, _ in xs) / len(xs)
    my = sum(y for _, y in xs) / len(xs)
    return sum((x - mx) * (y - my) for x, y in xs) / sum((x - mx) ** 2 for x, _ in xs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path.home() / ".cache/parapet/target"))
    ap.add_argument("--dir", type=pathlib.Path, default=target / "criterion")
    ap.add_argument("--json", type=pathlib.Path)
    a = ap.parse_args()
    data = load(a.dir)
    if not data:
        print(f"no criterion results under {a.dir}", file=sys.stderr)
        return 1
    rows_json = []
    for runtime in sorted(data):
        print(f"\n#### {runtime}: median latency per `/v2/guard` call (throughput in MB/s of text)\n")
        print("| detector | " + " | ".join(label(s) for s in SIZES) + " | growth k (time ~ size^k, ≥ 10 KB) |")
        print("|---|" + "---|" * (len(SIZES) + 1))
        order = sorted(data[runtime], key=lambda d: (d == "default_policy", d))
        for det in order:
            pts = data[runtime][det]
            cells = []
            for s in SIZES:
                t = pts.get(s)
                cells.append("-" if t is None else f"{fmt_time(t)} ({s / (t / 1e9) / 1e6:.1f})")
            k = exponent(pts)
            print(f"| `{det}` | " + " | ".join(cells) + f" | {'-' if k is None else f'{k:.2f}'} |")
            rows_json.append({"runtime": runtime, "detector": det, "median_ns": {str(s): t for s, t in sorted(pts.items())}, "growth_exponent": k})
    mem_file = a.dir / "memory.json"
    memory = json.loads(mem_file.read_text()) if mem_file.exists() else {}
    if memory:
        print("\n#### wasm: linear memory of the VM after its largest request (high-water mark)\n")
        print("| detector | largest request | linear memory |")
        print("|---|---|---|")
        for det in sorted(memory, key=lambda d: (d == "default_policy", d)):
            largest = max(data.get("wasm", {}).get(det, {0: 0}))
            print(f"| `{det}` | {label(largest)} | {memory[det] / 2**20:.1f} MiB |")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"benches": rows_json, "wasm_memory_bytes": memory}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
