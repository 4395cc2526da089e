"""Detection retention per evasion technique: runs tests/evasion/corpus.jsonl through the wasm
module (`parapet screen`, default config, breakdown on) and prints, per technique and kind, the
share of base cases detected in plain form that are still detected by the expected detector.

    python tests/evasion/retention.py [--json]
"""
import collections
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path.home() / ".cache" / "parapet" / "target"))
PARAPET = TARGET / "host" / "parapet"


def run(cases):
    lines = "\n".join(json.dumps({"messages": c["messages"], "breakdown": True}) for c in cases) + "\n"
    r = subprocess.run([str(PARAPET), "--log-level", "error", "screen"], input=lines, capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        sys.exit(r.stderr)
    return [json.loads(x) for x in r.stdout.splitlines()]


def detected(resp, det):
    return any(b["detector_type"] == det and b["detected"] for b in resp.get("breakdown", []))


def main():
    cases = [json.loads(x) for x in (ROOT / "tests" / "evasion" / "corpus.jsonl").read_text().splitlines()]
    answers = run(cases)
    hit = {c["id"]: detected(a, c["expect"]) for c, a in zip(cases, answers)}
    plain_ok = {c["base"] for c in cases if c["technique"] == "plain" and hit[c["id"]]}
    table = collections.defaultdict(lambda: [0, 0])
    for c in cases:
        if c["technique"] == "plain" or c["base"] not in plain_ok:
            continue
        k = (c["technique"], c["kind"])
        table[k][1] += 1
        table[k][0] += hit[c["id"]]
    rows = sorted(table.items())
    result = {"plain_detected": {k: sum(1 for c in cases if c["technique"] == "plain" and c["kind"] == k and hit[c["id"]]) for k in ("attack", "pii")},
              "plain_total": {k: sum(1 for c in cases if c["technique"] == "plain" and c["kind"] == k) for k in ("attack", "pii")},
              "retention": {f"{t}/{k}": {"kept": v[0], "of": v[1]} for (t, k), v in rows},
              "missed": sorted(c["id"] for c in cases if c["base"] in plain_ok and c["technique"] != "plain" and not hit[c["id"]])}
    if "--json" in sys.argv:
        print(json.dumps(result, indent=1))
        return
    print(f"plain detected: attacks {result['plain_detected']['attack']}/{result['plain_total']['attack']}, "
          f"PII {result['plain_detected']['pii']}/{result['plain_total']['pii']}")
    print(f"{'technique':16s} {'attacks kept':>14s} {'PII kept':>10s}")
    for t in sorted({t for t, _ in table}):
        a, p = table.get((t, "attack")), table.get((t, "pii"))
        fa = f"{a[0]}/{a[1]}" if a else "-"
        fp = f"{p[0]}/{p[1]}" if p else "-"
        print(f"{t:16s} {fa:>14s} {fp:>10s}")
    print("missed:", " ".join(result["missed"]))


if __name__ == "__main__":
    main()
