"""Calibration table and metrics from validation scores of the SHIPPED (int8-weight) model.

Sensitivity L1..L4 -> per-head threshold at a fixed false-positive rate on validation negatives
of that head (L1 = 0.1% FPR, least sensitive; L4 = 3% FPR, most sensitive).
Confidence level of a score (Lakera-style):
  score >= thr(L1) -> l1_confident, >= thr(L2) -> l2_very_likely, >= thr(L3) -> l3_likely,
  >= thr(L4) -> l4_less_likely, else l5_unlikely.
So a detector at sensitivity Lk flags exactly when level <= lk.
"""
import collections
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import DATA_DIR, HEADS, MODELS, STRIDE, WIN, WORK_DIR, load_examples, parse_confirm  # noqa: E402

FPRS = {"L1": 0.001, "L2": 0.005, "L3": 0.01, "L4": 0.03}
# Generated over-defense probe groups (held-out families of benign trigger-word prompts and clean documents)
# are REPORTED at the calibrated thresholds but do not set them: their size is arbitrary (a generator knob)
# and would otherwise decide the thresholds. Everything else in validation (public held-out sources,
# v1 generated groups, prompt attacks as moderation negatives) is the calibration set.
CALIB_EXCLUDE_GROUPS = {"docs_clean_varied", "trigger_word_benign_varied"}
# Documents are read with thresholds of their own (`tool_thresholds`; the runtime reads tool
# results with them): set at the same FPR targets on these groups' negatives alone (real documents,
# scored as the best of their windows), while the prompt thresholds are set on every other
# calibration negative. One threshold for both made prompts pay for the documents' many windows.
DOCUMENT_GROUPS = {"prompt_attack": ["docs_real", "indirect_docs_real"]}
# A benign document's best-window logit grows with its number of windows (the max of more draws):
# about 1.1 logits per e-fold on validation's real documents, and the same on held-out ones. The
# runtime subtracts `tool_window_penalty` x ln(windows) from a tool result's best logit (fitted
# here as that slope, by least squares on the benign documents), so a document's flag rate does
# not grow with its length; the tool thresholds are set on the adjusted scores.
# Prompts: the trigger-word and instruction-like benign groups of validation must also meet
# their own rates at each level. These groups are generated and in-distribution; on held-out
# trigger-word prompts the rate runs several times higher, so L2 holds them to 2%, below the
# 5% the default sensitivity is meant to keep on real ones.
TRIGGER_GROUPS = {"prompt_attack": ["trigger_word_benign", "trigger_word_benign_varied", "written_benign_instructions",
                                    "non_english_benign"]}
TRIGGER_FPRS = {"L1": 0.005, "L2": 0.02, "L3": 0.05, "L4": 0.10}
# PARAPET_CALIBRATION=single: version 2's rule, which the committed file was made with (train.sh's
# refit mode): one set of thresholds for every message, each level's the highest of the overall
# one and the real documents' one; no document fields, no trigger-word rule.
SINGLE = os.environ.get("PARAPET_CALIBRATION", "roles") == "single"
# PARAPET_CONFIRM=SHIFTS:AGREE:FROM (e.g. "-128,-64,64,128:2:0.5"): the runtime's `tool_confirm`.
# A document's window that scores at least FROM on a head with document thresholds is scored again
# with its start moved by each of SHIFTS tokens (kept inside the text), and that head's logit
# becomes the lower of its own and the AGREE-th highest moved one. The high windows of benign
# documents are often artefacts of where a window starts (a run of test code, a changelog line)
# and fall when it moves; an instruction a few dozen tokens long stays inside most moved windows.
# The documents' penalty and thresholds are then fitted on the confirmed scores.
CONFIRM = os.environ.get("PARAPET_CONFIRM", "")
LEVELS = ["l1_confident", "l2_very_likely", "l3_likely", "l4_less_likely", "l5_unlikely"]


def auc(pos, neg):
    if len(pos) == 0 or len(neg) == 0:
        return None
    s = np.concatenate([pos, neg])
    r = s.argsort(kind="mergesort").argsort().astype(np.float64) + 1
    # average ranks for ties
    order = np.argsort(s, kind="mergesort")
    ss = s[order]
    ranks = np.empty_like(r)
    i = 0
    while i < len(ss):
        j = i
        while j + 1 < len(ss) and ss[j + 1] == ss[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def threshold_at_fpr(neg, fpr):
    """Smallest threshold t with mean(neg >= t) <= fpr (flag = score >= t)."""
    neg = np.sort(neg)[::-1]
    k = int(np.floor(fpr * len(neg)))  # number of negatives allowed at/above threshold
    if k >= len(neg):
        return float(neg[-1])
    # threshold strictly above the (k+1)-th highest negative
    return float(np.nextafter(neg[k], np.float32(np.inf)))


def logit(p):
    p = np.clip(p.astype(np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def runtime_windows(n):
    """Starts of the windows the runtime reads in a text of `n` content tokens: all of them
    (filter/src/model/mod.rs `windows`), where validation's `eval_windows` stops at 16."""
    return [0] if n <= WIN else [i * STRIDE for i in range(1 + -(-(n - WIN) // STRIDE))]


def document_scores(ex, rows, heads, spec):
    """Scores and window counts of the documents `ex[rows]` as the runtime reads a tool result,
    with the shipped int8 file: every window to the text's end, and under `tool_confirm` (`spec`,
    see CONFIRM; none if empty) each window's heads in `heads` at or over `from` confirmed at
    moved starts; the best window per head."""
    from common import confirmed_logits, load_tokenizer
    from export import SHIPPED, ort_session, run_ort
    shifts, agree, frm = parse_confirm(spec) if spec else ([], 1, 1.0)
    sess = ort_session(SHIPPED)
    score = lambda w: run_ort(sess, w).astype(np.float64)  # noqa: E731
    out = np.zeros((len(rows), len(HEADS)), dtype=np.float32)
    counts = np.zeros(len(rows), dtype=np.float64)
    lowered = 0
    encs = load_tokenizer().encode_batch([ex[i]["text"] for i in rows], add_special_tokens=False)
    for k, enc in enumerate(encs):
        ids = enc.ids
        starts = runtime_windows(len(ids))
        best = np.full(len(HEADS), -np.inf)
        for st in starts:
            lg = score(ids[st:st + WIN])
            if spec:
                c = np.array(confirmed_logits(lg, ids, st, score, heads, shifts, agree, float(np.log(frm / (1 - frm)))))
                lowered += int((c != lg).any())
                lg = c
            best = np.maximum(best, lg)
        out[k], counts[k] = sigmoid(best), len(starts)
    print(f"{len(rows)} validation documents read to their end: {int(counts.sum())} windows"
          + (f", confirmation lowered {lowered} ({spec})" if spec else ""))
    return out, counts


def read_with(calib, head, group):
    """Which of a head's threshold sets a validation group is read with, as the runtime would."""
    documents = group in DOCUMENT_GROUPS.get(head, ()) and "tool_thresholds" in calib["per_head"][head]
    return "tool_thresholds" if documents else "thresholds"


def main():
    ex = [e for e in load_examples() if e["split"] == "val"]
    scores = np.load(os.path.join(WORK_DIR, "val_scores_int8.npy"))
    assert len(scores) == len(ex)
    Y = np.array([e["labels"] for e in ex])
    cal = np.array([e["group"] not in CALIB_EXCLUDE_GROUPS for e in ex])

    calib = {"heads": HEADS, "fpr_targets": FPRS, "levels": LEVELS,
             "level_rule": "level = l1_confident if score >= thresholds.L1, l2_very_likely if >= L2, "
                           "l3_likely if >= L3, l4_less_likely if >= L4, else l5_unlikely; sensitivity Lk flags when score >= thresholds.Lk",
             "score": "sigmoid(logit) of the head; for long texts the max over windows of <= 256 tokens",
             "per_head": {}}
    if not SINGLE:
        calib["tool_window_penalty"] = ("a tool result's best-window logit minus this times ln(its windows) is its score; "
                                        "fitted on validation's benign real documents")
        calib["tool_thresholds"] = ("where a head has them, messages of role tool (tool results, retrieved documents) are read "
                                    "with them instead of thresholds: set at the same FPR targets on real documents (validation "
                                    "groups " + ", ".join(DOCUMENT_GROUPS["prompt_attack"]) + "), the thresholds on every other negative")
    metrics = {"calibration_set": "validation split without the generated over-defense probe groups " + ", ".join(sorted(CALIB_EXCLUDE_GROUPS)),
               "per_head": {}, "per_group": {}, "per_language": {}}
    def at_fprs(neg, also=None, also_fprs=FPRS):
        """Each level's threshold at its FPR on `neg`, raised to hold `also` to `also_fprs`."""
        thr, prev = {}, 1.0
        for L, f in FPRS.items():
            t = threshold_at_fpr(neg, f)
            if also is not None and len(also):
                t = max(t, threshold_at_fpr(also, also_fprs[L]))
            t = min(t, prev)  # monotone: L1 >= L2 >= L3 >= L4
            thr[L] = round(float(t), 6)
            prev = t
        return thr

    if not SINGLE:
        # Documents are read as the runtime reads tool results: every window (export.py scored
        # validation on the first 16), and under PARAPET_CONFIRM with the runtime's confirmation.
        # Only the documents' window counts are read (their penalty).
        windows = np.ones(len(ex))
        heads = [h for h, name in enumerate(HEADS) if name in DOCUMENT_GROUPS]
        rows = np.where([any(e["group"] in DOCUMENT_GROUPS[HEADS[h]] for h in heads) for e in ex])[0]
        doc_scores, windows[rows] = document_scores(ex, rows, heads, CONFIRM)
        for h in heads:
            scores[rows, h] = doc_scores[:, h]
        if CONFIRM:
            shifts, agree, frm = parse_confirm(CONFIRM)
            calib["tool_confirm"] = {"shifts": shifts, "agree": agree, "from": frm,
                                     "rule": "a window of a multi-window tool result scoring at least `from` on a head with "
                                             "tool_thresholds is scored again with its start moved by each of `shifts` tokens; "
                                             "the head's logit becomes the lower of its own and the agree-th highest moved one"}
    for h, name in enumerate(HEADS):
        docs = np.array([e["group"] in DOCUMENT_GROUPS.get(name, ()) for e in ex])
        trig = np.array([e["group"] in TRIGGER_GROUPS.get(name, ()) for e in ex])
        pos, neg = scores[cal & (Y[:, h] == 1), h], scores[cal & (Y[:, h] == 0), h]
        if SINGLE:
            thr = at_fprs(neg, scores[cal & docs & (Y[:, h] == 0), h])
        else:
            thr = at_fprs(scores[cal & ~docs & (Y[:, h] == 0), h], scores[trig & (Y[:, h] == 0), h], TRIGGER_FPRS)
        calib["per_head"][name] = {
            "thresholds": thr,
            "level_boundaries": {"l1_confident": thr["L1"], "l2_very_likely": thr["L2"], "l3_likely": thr["L3"],
                                 "l4_less_likely": thr["L4"], "l5_unlikely": 0.0},
            "validation_negatives": int(len(neg)), "validation_positives": int(len(pos)),
        }
        if docs.any() and not SINGLE:
            dsel = cal & docs & (Y[:, h] == 0)
            n, lg = windows[dsel], logit(scores[dsel, h])
            slope = float(np.polyfit(np.log(n), lg, 1)[0])
            pen = round(max(slope, 0.0), 3)
            adjusted = sigmoid(lg - pen * np.log(n))
            calib["per_head"][name]["tool_thresholds"] = at_fprs(adjusted)
            calib["per_head"][name]["tool_window_penalty"] = pen
            calib["per_head"][name]["tool_validation_negatives"] = int(dsel.sum())
            # the documents read as the runtime reads them, for the metrics below
            doc_rows = np.where(docs)[0]
            scores[doc_rows, h] = sigmoid(logit(scores[doc_rows, h]) - pen * np.log(windows[doc_rows]))
        hm = {"auc": auc(pos, neg), "n_pos": int(len(pos)), "n_neg": int(len(neg)), "at": {}}
        for L in FPRS:
            t = thr[L]
            hm["at"][L] = {"threshold": thr[L], "tpr": float((pos >= t).mean()) if len(pos) else None,
                           "fpr": float((neg >= t).mean()) if len(neg) else None}
        metrics["per_head"][name] = hm

    # per validation group / family
    groups = collections.defaultdict(list)
    for i, e in enumerate(ex):
        groups[e["group"]].append(i)
    for g, idx in sorted(groups.items()):
        idx = np.array(idx)
        gm = {"n": int(len(idx)), "sources": dict(collections.Counter(ex[i]["source"] for i in idx)), "heads": {}}
        for h, name in enumerate(HEADS):
            y = Y[idx, h]
            s = scores[idx, h]
            pos, neg = s[y == 1], s[y == 0]
            if len(pos) == 0 and name != "prompt_attack":
                continue
            if len(pos) == 0 and len(neg) == 0:
                continue
            allneg = scores[Y[:, h] == 0, h]
            reading = read_with(calib, name, g)
            d = {"n_pos": int(len(pos)), "n_neg": int(len(neg)), "read_with": reading}
            if len(pos) and len(neg):
                d["auc_within_group"] = auc(pos, neg)
            if len(pos):
                d["auc_vs_all_val_negatives"] = auc(pos, allneg)
            for L in FPRS:
                t = calib["per_head"][name][reading][L]
                if len(pos):
                    d[f"tpr@{L}"] = float((pos >= t).mean())
                if len(neg):
                    d[f"fpr@{L}"] = float((neg >= t).mean())
            gm["heads"][name] = d
        metrics["per_group"][g] = gm
    # non-English attacks by language
    langs = collections.defaultdict(list)
    for i, e in enumerate(ex):
        if e["group"] in ("non_english_attacks", "non_english_benign"):
            langs[e["lang"]].append(i)
    for lang, idx in sorted(langs.items()):
        idx = np.array(idx)
        y, s = Y[idx, 0], scores[idx, 0]
        d = {"n_pos": int((y == 1).sum()), "n_neg": int((y == 0).sum())}
        for L in FPRS:
            t = calib["per_head"]["prompt_attack"]["thresholds"][L]
            if (y == 1).any():
                d[f"tpr@{L}"] = float((s[y == 1] >= t).mean())
            if (y == 0).any():
                d[f"fpr@{L}"] = float((s[y == 0] >= t).mean())
        metrics["per_language"][lang] = d
    # per source family of prompt_attack positives (coarse families)
    fam = collections.defaultdict(list)
    for i, e in enumerate(ex):
        if e["labels"][0] == 1:
            fam[e["family"].split(":")[0] + ":" + (e["family"].split(":")[1] if e["family"].startswith("gen:") else "")].append(i)
    # moderation heads on prompt attacks whose labels say "no such content" (attack goal is the system
    # prompt, a link, PWNED, a tool call, exfiltration, ...; see README): FPR at the calibrated thresholds
    mo = {"note": "validation prompt attacks (prompt_attack=1) labelled 0 for the head; FPR = share flagged by the "
                  "moderation head at its calibrated threshold", "all": {}, "by_group": {}}
    att = np.array([e["labels"][0] == 1 for e in ex])
    for gname, gsel in [("all", att)] + [(g, att & np.array([e["group"] == g for e in ex])) for g in sorted({e["group"] for e in ex})]:
        if not gsel.any():
            continue
        gd = {}
        for h, name in enumerate(HEADS):
            if name == "prompt_attack":
                continue
            sel = gsel & (Y[:, h] == 0)
            if not sel.any():
                continue
            s_ = scores[sel, h]
            gd[name] = {"n": int(sel.sum()), "mean_score": float(s_.mean()),
                        **{f"fpr@{L}": float((s_ >= calib["per_head"][name]["thresholds"][L]).mean()) for L in FPRS}}
        # any moderation head flagged (among attacks negative for all six heads)
        sel = gsel & np.all(Y[:, 1:] == 0, axis=1)
        if sel.any():
            anyf = np.zeros(int(sel.sum()), dtype=bool)
            for h, name in enumerate(HEADS[1:], start=1):
                anyf |= scores[sel, h] >= calib["per_head"][name]["thresholds"]["L3"]
            gd["any_head_at_L3_all_six_negative"] = {"n": int(sel.sum()), "rate": float(anyf.mean())}
        if gname == "all":
            mo["all"] = gd
        else:
            mo["by_group"][gname] = gd
    metrics["moderation_on_prompt_attacks"] = mo
    # prompt_attack FPR per source of negatives (e.g. BIPIA clean contexts vs generated documents)
    src = collections.defaultdict(list)
    for i, e in enumerate(ex):
        if e["labels"][0] == 0:
            src[e["group"] + "/" + e["source"]].append(i)
    def pa_thr(group, L):
        return calib["per_head"]["prompt_attack"][read_with(calib, "prompt_attack", group)][L]
    metrics["prompt_attack_negatives_by_group_source"] = {
        k: {"n": len(v), **{f"fpr@{L}": float((scores[np.array(v), 0] >= pa_thr(k.split("/")[0], L)).mean()) for L in FPRS}}
        for k, v in sorted(src.items())}
    metrics["prompt_attack_by_family"] = {}
    for f, idx in sorted(fam.items()):
        s = scores[np.array(idx), 0]
        metrics["prompt_attack_by_family"][f] = {"n": len(idx), **{f"tpr@{L}": float((s >= np.array([pa_thr(ex[i]["group"], L) for i in idx])).mean()) for L in FPRS}}

    with open(os.path.join(MODELS, "calibration.json"), "w") as f:
        json.dump(calib, f, indent=1)

    info = {}
    for name in ("train_info.json", "export_info.json"):
        p = os.path.join(WORK_DIR, name)
        if os.path.exists(p):
            with open(p) as f:
                info[name[:-5]] = json.load(f)
    with open(os.path.join(DATA_DIR, "composition.json")) as f:
        comp = json.load(f)
    timing_p = os.path.join(WORK_DIR, "pipeline_timing.json")
    timing = json.load(open(timing_p)) if os.path.exists(timing_p) else {}
    out = {
        "model": "parapet-guard-v1.int8.onnx",
        "note": "All numbers are on the family-held-out validation split, scored with the shipped int8-weight model via onnxruntime; "
                "thresholds are chosen on the same validation negatives (so FPR at L* is exact by construction, TPR is the honest part). "
                "Moderation labels for harmful requests come from a keyword labeller (see README); weapons/crime positives are mostly generated.",
        "parameters": info.get("train_info", {}).get("params"),
        "architecture": info.get("train_info", {}).get("config"),
        "training": {k: v for k, v in info.get("train_info", {}).items() if k not in ("config",)},
        "export": info.get("export_info"),
        "pipeline_timing": timing,
        "data_composition": comp,
        **metrics,
    }
    with open(os.path.join(MODELS, "metrics.json"), "w") as f:
        json.dump(out, f, indent=1)
    update_card(out, calib)
    # short console summary
    print("head          AUC    TPR@L1  TPR@L2  TPR@L3  TPR@L4   thr L1..L4")
    for name in HEADS:
        hm = metrics["per_head"][name]
        a = hm["auc"]
        print(f"{name:12s} {a if a is None else round(a, 3)!s:6s} " + " ".join(f"{hm['at'][L]['tpr'] if hm['at'][L]['tpr'] is None else round(hm['at'][L]['tpr'], 3)!s:7s}" for L in FPRS)
              + "  " + " ".join(f"{calib['per_head'][name]['thresholds'][L]:.4f}" for L in FPRS))
    print("prompt_attack per group (tpr/fpr at L3 = 1% FPR):")
    for g, gm in metrics["per_group"].items():
        d = gm["heads"].get("prompt_attack", {})
        print(f"  {g:36s} n={gm['n']:5d} pos={d.get('n_pos', 0):4d} tpr@L3={d.get('tpr@L3', float('nan')):.3f} fpr@L3={d.get('fpr@L3', float('nan')):.3f}")


def _f(x, nd=3):
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{nd}f}"


def update_card(m, calib):
    """Rewrite the generated tables in models/README.md between the METRICS markers."""
    card = os.path.join(MODELS, "README.md")
    if not os.path.exists(card):
        return
    L = []
    L.append("### Per head (calibration set = validation without the over-defense probe groups)\n")
    L.append("| head | val pos | val neg | AUC | TPR @L1 (0.1% FPR) | TPR @L2 (0.5%) | TPR @L3 (1%) | TPR @L4 (3%) |")
    L.append("|---|---|---|---|---|---|---|---|")
    for h in HEADS:
        hm = m["per_head"][h]
        L.append(f"| {h} | {hm['n_pos']} | {hm['n_neg']} | {_f(hm['auc'])} | " + " | ".join(_f(hm['at'][k]['tpr']) for k in FPRS) + " |")
    L.append("\n### Calibration table (thresholds on sigmoid score; level boundaries are the same numbers)\n")
    L.append("| head | L1 / l1_confident | L2 / l2_very_likely | L3 / l3_likely | L4 / l4_less_likely |")
    L.append("|---|---|---|---|---|")
    for h in HEADS:
        t = calib["per_head"][h]["thresholds"]
        L.append(f"| {h} | " + " | ".join(f"{t[k]:.4f}" for k in FPRS) + " |")
        if "tool_thresholds" in calib["per_head"][h]:
            t = calib["per_head"][h]["tool_thresholds"]
            L.append(f"| {h}, tool results | " + " | ".join(f"{t[k]:.4f}" for k in FPRS) + " |")
    L.append("\nBelow the L4 threshold the level is `l5_unlikely`."
             + (" Tool results (documents) are read with thresholds set on real documents alone (`tool_thresholds`), "
                "the other messages with those set on the rest.\n" if "tool_thresholds" in calib else "\n"))
    L.append("### prompt_attack per validation group\n")
    L.append("| group | n | pos | neg | AUC vs all val negatives | TPR @L3 (1% FPR) | TPR @L4 | FPR @L3 | FPR @L4 |")
    L.append("|---|---|---|---|---|---|---|---|---|")
    for g, gm in m["per_group"].items():
        d = gm["heads"].get("prompt_attack")
        if not d:
            continue
        L.append(f"| {g} | {gm['n']} | {d['n_pos']} | {d['n_neg']} | {_f(d.get('auc_vs_all_val_negatives'))} | "
                 f"{_f(d.get('tpr@L3'))} | {_f(d.get('tpr@L4'))} | {_f(d.get('fpr@L3'))} | {_f(d.get('fpr@L4'))} |")
    mo = m.get("moderation_on_prompt_attacks")
    if mo:
        L.append("\n### Moderation heads on prompt attacks without harmful content (FPR at the head's L3 / L4 threshold)\n")
        L.append("Validation prompt attacks labelled 0 for the head (goals such as the system prompt, a link, \"PWNED\", a tool call, "
                 "exfiltration; see label mapping). n = attacks negative for that head.\n")
        L.append("| head | n | FPR @L3 | FPR @L4 | mean score |")
        L.append("|---|---|---|---|---|")
        for h in HEADS[1:]:
            d = mo["all"].get(h)
            if d:
                L.append(f"| {h} | {d['n']} | {_f(d['fpr@L3'])} | {_f(d['fpr@L4'])} | {_f(d['mean_score'])} |")
        a = mo["all"].get("any_head_at_L3_all_six_negative")
        if a:
            L.append(f"\nAny of the six moderation heads flags at L3: {_f(a['rate'])} of {a['n']} attacks negative for all six.\n")
        L.append("| attack group | n (all six negative) | any head @L3 | " + " | ".join(f"{h} @L3" for h in HEADS[1:]) + " |")
        L.append("|---|---|---|" + "---|" * len(HEADS[1:]))
        for g, gd in mo["by_group"].items():
            a = gd.get("any_head_at_L3_all_six_negative", {})
            L.append(f"| {g} | {a.get('n', 0)} | {_f(a.get('rate'))} | " + " | ".join(_f(gd.get(h, {}).get('fpr@L3')) for h in HEADS[1:]) + " |")
    pb = m.get("export", {}) or {}
    if pb.get("probes"):
        L.append("\n### Probe texts (shipped file, sigmoid scores)\n")
        L.append("| text | " + " | ".join(HEADS) + " |")
        L.append("|---|" + "---|" * len(HEADS))
        for t, sc in pb["probes"].items():
            L.append(f"| {t} | " + " | ".join(f"{x:.3f}" for x in sc) + " |")
    L.append("\n### prompt_attack positives by family (TPR at L3 / L4)\n")
    L.append("| family | n | TPR @L3 | TPR @L4 |")
    L.append("|---|---|---|---|")
    for f, d in m["prompt_attack_by_family"].items():
        L.append(f"| {f} | {d['n']} | {_f(d['tpr@L3'])} | {_f(d['tpr@L4'])} |")
    L.append("\n### Non-English (prompt_attack)\n")
    L.append("| lang | attacks | benign | TPR @L3 | TPR @L4 | FPR @L3 |")
    L.append("|---|---|---|---|---|---|")
    for lang, d in m["per_language"].items():
        L.append(f"| {lang} | {d['n_pos']} | {d['n_neg']} | {_f(d.get('tpr@L3'))} | {_f(d.get('tpr@L4'))} | {_f(d.get('fpr@L3'))} |")
    L.append("\n### Moderation heads per validation group (AUC of group positives vs all val negatives of the head; TPR @L3)\n")
    L.append("| group | head | pos | AUC | TPR @L3 | TPR @L4 |")
    L.append("|---|---|---|---|---|---|")
    for g, gm in m["per_group"].items():
        for h, d in gm["heads"].items():
            if h == "prompt_attack" or not d.get("n_pos"):
                continue
            L.append(f"| {g} | {h} | {d['n_pos']} | {_f(d.get('auc_vs_all_val_negatives'))} | {_f(d.get('tpr@L3'))} | {_f(d.get('tpr@L4'))} |")
    text = open(card).read()
    a, b = "<!-- METRICS:BEGIN (generated by models/train/calibrate.py) -->", "<!-- METRICS:END -->"
    if a in text and b in text:
        text = text[:text.index(a) + len(a)] + "\n" + "\n".join(L) + "\n" + text[text.index(b):]
        with open(card, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
