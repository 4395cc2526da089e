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
from common import DATA_DIR, HEADS, MODELS, WORK_DIR, load_examples  # noqa: E402

FPRS = {"L1": 0.001, "L2": 0.005, "L3": 0.01, "L4": 0.03}
# Generated over-defense probe groups (held-out families of benign trigger-word prompts and clean documents)
# are REPORTED at the calibrated thresholds but do not set them: their size is arbitrary (a generator knob)
# and would otherwise decide the thresholds. Everything else in validation (public held-out sources,
# v1 generated groups, prompt attacks as moderation negatives) is the calibration set.
CALIB_EXCLUDE_GROUPS = {"docs_clean_varied", "trigger_word_benign_varied"}
# Groups whose negatives must each meet the FPR targets on their own (version 3): real documents
# are a small share of validation, so a threshold at the overall FPR would still flag many of them;
# each level's threshold is the highest of the overall one and these groups' ones.
PER_GROUP_FPR = {"prompt_attack": ["docs_real"]}
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
    metrics = {"calibration_set": "validation split without the generated over-defense probe groups " + ", ".join(sorted(CALIB_EXCLUDE_GROUPS)),
               "per_head": {}, "per_group": {}, "per_language": {}}
    for h, name in enumerate(HEADS):
        pos, neg = scores[cal & (Y[:, h] == 1), h], scores[cal & (Y[:, h] == 0), h]
        thr, prev = {}, 1.0
        groups = [cal & (Y[:, h] == 0) & np.array([e["group"] == g for e in ex]) for g in PER_GROUP_FPR.get(name, [])]
        for L, f in FPRS.items():
            t = max([threshold_at_fpr(neg, f)] + [threshold_at_fpr(scores[g, h], f) for g in groups if g.any()])
            t = min(t, prev)  # monotone: L1 >= L2 >= L3 >= L4
            thr[L] = round(float(t), 6)
            prev = t
        calib["per_head"][name] = {
            "thresholds": thr,
            "level_boundaries": {"l1_confident": thr["L1"], "l2_very_likely": thr["L2"], "l3_likely": thr["L3"],
                                 "l4_less_likely": thr["L4"], "l5_unlikely": 0.0},
            "validation_negatives": int(len(neg)), "validation_positives": int(len(pos)),
        }
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
            d = {"n_pos": int(len(pos)), "n_neg": int(len(neg))}
            if len(pos) and len(neg):
                d["auc_within_group"] = auc(pos, neg)
            if len(pos):
                d["auc_vs_all_val_negatives"] = auc(pos, allneg)
            for L in FPRS:
                t = calib["per_head"][name]["thresholds"][L]
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
    metrics["prompt_attack_negatives_by_group_source"] = {
        k: {"n": len(v), **{f"fpr@{L}": float((scores[np.array(v), 0] >= calib["per_head"]["prompt_attack"]["thresholds"][L]).mean()) for L in FPRS}}
        for k, v in sorted(src.items())}
    metrics["prompt_attack_by_family"] = {}
    for f, idx in sorted(fam.items()):
        s = scores[np.array(idx), 0]
        metrics["prompt_attack_by_family"][f] = {"n": len(idx), **{f"tpr@{L}": float((s >= calib["per_head"]["prompt_attack"]["thresholds"][L]).mean()) for L in FPRS}}

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
    L.append("\nBelow the L4 threshold the level is `l5_unlikely`.\n")
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
