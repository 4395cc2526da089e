"""Experiment: a sentence-level injection scorer on hashed n-grams, measured on the yardstick.

    python models/train/segments.py --data DATA/examples.jsonl.gz --work EVAL_WORK [--cases NAME]

A document is split into sentences; each sentence, and each pair of neighbouring sentences, is a
segment; a text scores the maximum of its segments. Positives are the instructions the training
data injects (`inj`, found in their documents) and short attack prompts; negatives every segment
of the benign training documents and prompts. Logistic regression on hashed character 4-grams
and word uni- and bigrams. Threshold-free table like the teacher's; with --cases NAME it also
reads EVAL_WORK/cases-NAME (another model's scores) and measures "either flags".
"""
import argparse
import gzip
import json
import os
import re
import zlib

import numpy as np
import torch

BITS = 20
MAXSEG = 400
SPLIT = re.compile(r"(?<=[.!?;:。！？；])\s+|\n+|(?<=[。！？])")


def sentences(text):
    """[(start, end)] of the sentences (char offsets), empty ones dropped."""
    out, pos = [], 0
    for m in SPLIT.finditer(text):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((pos, len(text)))
    return [(a, b) for a, b in out if text[a:b].strip()]


def segments(text):
    """[(start, end)]: each sentence, and each two neighbouring ones, cut to MAXSEG chars."""
    s = sentences(text)
    # a lone short line ("In your", a URL) says too little to score on its own: it is scored
    # with its neighbour only
    segs = [(a, min(b, a + MAXSEG)) for a, b in s if b - a >= 25 or len(s) == 1]
    segs += [(s[i][0], min(s[i + 1][1], s[i][0] + MAXSEG)) for i in range(len(s) - 1)]
    return segs


WORD = re.compile(r"\w+", re.UNICODE)


def feats(seg):
    t = " " + " ".join(seg.lower().split()) + " "
    f = [zlib.crc32(t[i:i + 4].encode()) for i in range(len(t) - 3)]
    w = WORD.findall(t)
    f += [zlib.crc32(b"w" + x.encode()) for x in w]
    f += [zlib.crc32(b"b" + (a + " " + b).encode()) for a, b in zip(w, w[1:])]
    m = (1 << BITS) - 1
    return [x & m for x in f] or [0]


POS_GROUPS = {"attack_direct_generated", "non_english_attacks", "written_injections", "attack_public"}
NEG_GROUPS = {"benign_prompts", "benign_docs", "docs_clean", "docs_clean_varied", "docs_real",
              "trigger_word_benign", "trigger_word_benign_varied", "non_english_benign",
              "written_benign_instructions", "harmful_not_attack"}
DOC_INJ = {"indirect_docs", "indirect_docs_real"}


def training_rows(path, split="train", max_neg_per_doc=60):
    rows = []
    for line in gzip.open(path, "rt", encoding="utf-8"):
        e = json.loads(line)
        if e.get("split") != split:
            continue
        g, text = e["group"], e["text"]
        if g in DOC_INJ and e.get("inj"):
            i = text.find(e["inj"])
            if i < 0:
                continue
            j = i + len(e["inj"])
            for a, b in segments(text):
                inside = a < j and i < b
                # a segment that holds most of the instruction is a positive; one that only
                # touches it is left out (neither label is right)
                cover = max(0, min(b, j) - max(a, i)) / max(1, j - i)
                if cover >= 0.6:
                    rows.append((text[a:b], 1))
                elif not inside:
                    rows.append((text[a:b], 0))
        elif g in POS_GROUPS and e["labels"][0] == 1 and len(text) <= 600:
            rows.append((text, 1))
        elif g in NEG_GROUPS and e["labels"][0] == 0:
            segs = segments(text)
            h = zlib.crc32(text.encode()) if len(segs) > max_neg_per_doc else 0
            step = max(1, len(segs) // max_neg_per_doc)
            for k, (a, b) in enumerate(segs):
                if (k + h) % step == 0:
                    rows.append((text[a:b], 0))
    return rows


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.EmbeddingBag(1 << BITS, 1, mode="sum")
        torch.nn.init.zeros_(self.emb.weight)
        self.b = torch.nn.Parameter(torch.zeros(1))

    def forward(self, idx, off):
        return self.emb(idx, off).squeeze(1) + self.b


def batches(F, y, bs, order):
    for s in range(0, len(order), bs):
        ks = order[s:s + bs]
        idx = np.concatenate([F[k] for k in ks])
        off = np.cumsum([0] + [len(F[k]) for k in ks[:-1]])
        yield torch.from_numpy(idx.astype(np.int64)), torch.from_numpy(off.astype(np.int64)), torch.tensor([y[k] for k in ks], dtype=torch.float32)


def train(rows, epochs=4, pos_weight=4.0):
    F = [np.array(feats(t), dtype=np.int64) for t, _ in rows]
    y = [l for _, l in rows]
    m = Model()
    opt = torch.optim.Adagrad(m.parameters(), lr=0.2)
    rng = np.random.default_rng(0)
    lossf = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pos_weight))
    for ep in range(epochs):
        order = rng.permutation(len(F))
        tot = 0.0
        for idx, off, yy in batches(F, y, 256, order):
            opt.zero_grad()
            loss = lossf(m(idx, off), yy)
            loss.backward()
            opt.step()
            tot += loss.item() * len(yy)
        print(f"[segments] epoch {ep}: loss {tot / len(F):.4f}", flush=True)
    return m


def score_text(m, text):
    segs = segments(text) or [(0, len(text))]
    F = [np.array(feats(text[a:b]), dtype=np.int64) for a, b in segs]
    with torch.no_grad():
        idx = torch.from_numpy(np.concatenate(F))
        off = torch.from_numpy(np.cumsum([0] + [len(f) for f in F[:-1]]).astype(np.int64))
        s = torch.sigmoid(m(idx, off)).numpy()
    k = int(np.argmax(s))
    return float(s[k]), text[segs[k][0]:segs[k][1]]


def case_text(case):
    return "\n\n".join(x["content"] if isinstance(x["content"], str) else "" for x in case["messages"])


BENIGN_DOCS = ["docs_k8s_tasks", "docs_llm_topics", "docs_packages", "code", "prose"]
PROMPTS = ["chat_banking77", "chat_gpteacher", "trigger_gpteacher", "trigger_llm_docs", "trigger_non_english"]
ATTACKS = ["attack_hijack", "attack_jailbreak", "attack_extraction", "attack_indirect_public", "docs_injected", "attack_non_english"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cases", default=None)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--show", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(2)
    rows = training_rows(a.data)
    print(f"[segments] {len(rows)} rows, {sum(l for _, l in rows)} positive", flush=True)
    m = train(rows, a.epochs)
    sets = os.path.join(a.work, "sets")
    S, top = {}, {}
    for g in BENIGN_DOCS + PROMPTS + ATTACKS:
        cases = [json.loads(x) for x in open(os.path.join(sets, g + ".jsonl"), encoding="utf-8")]
        meta = [json.loads(x) for x in open(os.path.join(sets, g + ".meta.jsonl"), encoding="utf-8")]
        r = [score_text(m, case_text(c)) for c in cases]
        S[g] = (np.array([x[0] for x in r]), meta)
        top[g] = r
        print(f"[segments] scored {g}", flush=True)
    other = None
    if a.cases:
        other = {}
        for g in S:
            p = os.path.join(a.work, "cases-" + a.cases, g + ".jsonl")
            other[g] = np.array([json.loads(x)["score"] for x in open(p, encoding="utf-8")])
    docs = np.concatenate([S[g][0] for g in BENIGN_DOCS])
    for name, comb in [("segments", None)] + ([("either (other model at its own 1%)", "or")] if other else []):
        print(f"\n{name}")
        print("| benign docs flagged | threshold | " + " | ".join(PROMPTS) + " | " + " | ".join(ATTACKS) + " |")
        for q in [0.01, 0.02, 0.05, 0.10]:
            if comb:
                od = np.concatenate([other[g] for g in BENIGN_DOCS])
                t2 = float(np.quantile(od, 1 - q / 2))
                # segment threshold so that the union flags q of the benign documents
                cands = np.unique(docs)[::-1]
                t = cands[0]
                for c in cands:
                    if np.mean((docs >= c) | (od >= t2)) > q:
                        break
                    t = c
                flag = {g: (S[g][0] >= t) | (other[g] >= t2) for g in S}
            else:
                t = float(np.quantile(docs, 1 - q))
                flag = {g: S[g][0] > t for g in S}
            alld = np.concatenate([flag[g] for g in BENIGN_DOCS])
            print(f"| {100 * alld.mean():.1f}% | {t:.4f} | " + " | ".join(f"{100 * flag[g].mean():.1f}%" for g in PROMPTS + ATTACKS) + " |")
            if q == 0.02:
                by = {}
                for g in BENIGN_DOCS + ["docs_injected"]:
                    for f, mt in zip(flag[g], S[g][1]):
                        by.setdefault((g == "docs_injected", mt.get("bucket")), []).append(f)
                print("   by length (benign / injected): " + ", ".join(
                    f"{b}: {100 * np.mean(by.get((False, b), [0])):.1f} / {100 * np.mean(by.get((True, b), [0])):.1f}%" for b in [1000, 3000, 10000, 30000]))
                inj = {}
                for f, mt in zip(flag["docs_injected"], S["docs_injected"][1]):
                    inj.setdefault(mt.get("origin", "?").split("_")[0] + ("_en" if mt.get("origin", "").endswith("_en") else ""), []).append(f)
                print("   injected by origin: " + ", ".join(f"{k} {100 * np.mean(v):.1f}% ({len(v)})" for k, v in sorted(inj.items())))
    if a.show:
        t = float(np.quantile(docs, 0.98))
        for g in BENIGN_DOCS:
            for (s, seg), _ in sorted(zip(top[g], range(10**9)), key=lambda x: -x[0][0])[: a.show]:
                print(f"FP {g} {s:.4f} {seg[:200]!r}")
        for g in ["docs_injected", "attack_indirect_public"]:
            miss = [(s, seg) for s, seg in top[g] if s <= t][: a.show]
            for s, seg in miss:
                print(f"MISS {g} {s:.4f} {seg[:200]!r}")


if __name__ == "__main__":
    main()
