"""A name teacher: the pretrained MiniLM-L6 (the guard teacher's encoder, `models/train/teacher.py`)
with a token head, fine-tuned on the tagger's generated training text, then used to label real
unlabelled text for the small tagger (silver labels).

    python models/names/teacher.py train --out CKPT [--steps N | --minutes M] [--init CKPT] [--self-labels ARTIFACT]
    python models/names/teacher.py eval  --ckpt CKPT      # real.jsonl and generated dev, per threshold
    python models/names/teacher.py label --ckpt CKPT --out models/names/silver-labels.json.gz

`--data` (default ~/.cache/parapet/names-data) is what `generate.py` and `prepare.py` wrote; the
training text is the tagger's own (generated `train` split and Kubernetes paragraphs without
names), never the hand-checked set or the false-positive texts. `bash models/names/train.sh
--teacher` runs the whole stage; the artifact it writes is committed, so the tagger's pipeline
does not need it (or torch) again.

The encoder's WordPiece vocabulary is lower-cased, so a case embedding (none / lower / capitalised /
upper) is added to each piece's input; a word's probability is its pieces' highest.
"""
import argparse
import gzip
import json
import os
import random
import re
import sys
import time

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
# After models/train: that directory's `teacher` (the encoder) is the one imported, not this file.
sys.path.append(HERE)
from common import load_tokenizer, with_special  # noqa: E402
from distil import text_key  # noqa: E402
from prepare import scored_digest  # noqa: E402
from teacher import D, Teacher, load_pretrained  # noqa: E402

MAX = 128
# Words the teacher scores at most this are stored as nothing (p = 0 for the trainer).
SILVER_FLOOR = 0.1
WORD = re.compile(r"\w(?:[\w]|['\u2019\-\u2010](?=\w))*")


def case_of(s):
    letters = [c for c in s if c.isalpha()]
    if not letters or not any(c.isupper() or c.islower() for c in letters):
        return 0
    if all(c.islower() for c in letters if c.isupper() or c.islower()):
        return 1
    if letters[0].isupper() and not any(c.isupper() for c in letters[1:]):
        return 2
    return 3


class NameTeacher(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = Teacher()
        self.case = nn.Embedding(4, D)
        nn.init.zeros_(self.case.weight)
        self.head = nn.Linear(D, 1)

    def forward(self, ids, case, am):
        return self.head(self.enc.states(ids, am, self.case(case))).squeeze(-1)


def pieces(tok, text):
    """WordPiece ids, case classes and code-point offsets of `text` (no special tokens)."""
    enc = tok.encode(text, add_special_tokens=False)
    ids, offs = enc.ids, enc.offsets
    return ids, [case_of(text[a:b]) for a, b in offs], offs


def windows(n, size=MAX - 2, stride=96):
    if n <= size:
        return [(0, n)]
    out, s = [], 0
    while True:
        out.append((s, min(n, s + size)))
        if s + size >= n:
            return out
        s += stride


def batch(rows):
    L = max(len(r[0]) for r in rows) + 2
    ids = torch.zeros(len(rows), L, dtype=torch.long)
    case = torch.zeros(len(rows), L, dtype=torch.long)
    am = torch.zeros(len(rows), L, dtype=torch.long)
    y = torch.full((len(rows), L), -1.0)
    for r, row in enumerate(rows):
        i, c = row[0], row[1]
        n = len(i)
        ids[r, :n + 2] = torch.tensor(with_special(i))
        case[r, 1:n + 1] = torch.tensor(c)
        am[r, :n + 2] = 1
        if len(row) > 2:
            y[r, 1:n + 1] = torch.tensor(row[2], dtype=torch.float)
    return ids, case, am, y


def read(path, split=None):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            if split and d.get("split") != split:
                continue
            out.append(d)
    return out


def examples(tok, rows):
    ex = []
    for d in rows:
        ids, case, offs = pieces(tok, d["text"])
        if "words" in d:
            # The teacher's own labels of a real text: 0.5 or more a name, 0.1 or less (or not
            # listed) not, between left out (-1).
            def own(a, b):
                ps = [p for s, e, p in d["words"] if a < e and s < b]
                p = max(ps) if ps else 0.0
                return 1.0 if p >= 0.5 else (0.0 if p <= SILVER_FLOOR else -1.0)
            lab = [own(a, b) for a, b in offs]
        else:
            spans = d.get("spans", [])
            lab = [1.0 if any(a < e and s < b for s, e in spans) else 0.0 for a, b in offs]
        for s, e in windows(len(ids)):
            ex.append((ids[s:e], case[s:e], lab[s:e]))
    return ex


def train(args):
    torch.manual_seed(0)
    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", "2")))
    rng = random.Random(0)
    tok = load_tokenizer()
    gen = read(os.path.join(args.data, "names.jsonl"), "train")
    neg = read(os.path.join(args.data, "real-negatives.jsonl"))
    rng.shuffle(neg)
    ex = examples(tok, gen) + examples(tok, neg[:len(gen) // 5])
    if args.self_labels:
        # Self-training: the real texts with an earlier teacher's labels (`label`'s artifact).
        with gzip.open(args.self_labels, "rt", encoding="utf-8") as f:
            words = json.load(f)["words"]
        weak = read(os.path.join(args.data, "weak.jsonl"))
        ex += examples(tok, [{"text": d["text"], "words": words.get(text_key(d["text"]), [])} for d in weak])
    rng.shuffle(ex)
    print(f"{len(ex)} training windows", flush=True)
    model = NameTeacher()
    load_pretrained(model.enc)
    if args.init:
        model.load_state_dict(torch.load(args.init))
        rng.shuffle(ex)
    new = list(model.case.parameters()) + list(model.head.parameters())
    opt = torch.optim.AdamW([{"params": model.enc.parameters(), "lr": 5e-5}, {"params": new, "lr": 1e-3}], weight_decay=0.01)
    loss_f = nn.BCEWithLogitsLoss(reduction="none")
    t0, step, i, bs = time.time(), 0, 0, 32
    model.train()
    while (step < args.steps) if args.steps else (time.time() - t0 < args.minutes * 60):
        rows = ex[i:i + bs]
        i += bs
        if len(rows) < bs:
            rng.shuffle(ex)
            i = 0
            continue
        ids, case, am, y = batch(rows)
        z = model(ids, case, am)
        m = (y >= 0).float()
        loss = (loss_f(z, y.clamp(min=0)) * m).sum() / m.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 50 == 0:
            print(f"step {step} loss {loss.item():.4f} {step * bs / (time.time() - t0):.1f} windows/s", flush=True)
    torch.save(model.state_dict(), args.out)
    print(f"saved {args.out} after {step} steps ({(time.time() - t0) / 60:.1f} min)")


def load(ckpt):
    model = NameTeacher()
    model.load_state_dict(torch.load(ckpt))
    model.eval()
    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", "2")))
    return model


def word_probs(model, tok, texts):
    """Per text: [(start, end, p)] for each word (code points), p = its pieces' highest."""
    jobs = []
    per = []
    for t in texts:
        ids, case, offs = pieces(tok, t)
        probs = [0.0] * len(ids)
        per.append((t, offs, probs))
        for s, e in windows(len(ids)):
            jobs.append((ids[s:e], case[s:e], len(per) - 1, s))
    jobs.sort(key=lambda j: len(j[0]))
    with torch.no_grad():
        for k in range(0, len(jobs), 64):
            part = jobs[k:k + 64]
            ids, case, am, _ = batch([(j[0], j[1]) for j in part])
            p = torch.sigmoid(model(ids, case, am))
            for r, j in enumerate(part):
                probs = per[j[2]][2]
                for q in range(len(j[0])):
                    probs[j[3] + q] = max(probs[j[3] + q], float(p[r, q + 1]))
    out = []
    for t, offs, probs in per:
        words = []
        for m in WORD.finditer(t):
            end = m.end() - 2 if re.search(r"['\u2019][sS]$", m.group(0)) else m.end()
            ps = [p for (a, b), p in zip(offs, probs) if a < end and m.start() < b]
            words.append((m.start(), end, max(ps) if ps else 0.0))
        out.append(words)
    return out


def spans_at(text, words, th):
    out = []
    for s, e, p in words:
        if p < th:
            continue
        if out and text[out[-1][1]:s] in (" ", "-", ". ") and (text[out[-1][1]:s] != ". " or out[-1][1] - out[-1][0] <= 2):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def f1(rows, preds):
    g = p = ex = ov_p = ov_g = 0
    for d, pr in zip(rows, preds):
        gold = [tuple(s) for s in d["spans"]]
        g += len(gold)
        p += len(pr)
        ex += len(set(gold) & set(pr))
        ov_p += sum(any(a < e and s < b for s, e in gold) for a, b in pr)
        ov_g += sum(any(a < e and s < b for a, b in pr) for s, e in gold)
    P = ex / max(p, 1)
    R = ex / max(g, 1)
    return {"f1": round(2 * P * R / max(P + R, 1e-9), 3), "p": round(P, 3), "r": round(R, 3), "gold": g, "pred": p,
            "overlap_f1": round(2 * (ov_p / max(p, 1)) * (ov_g / max(g, 1)) / max(ov_p / max(p, 1) + ov_g / max(g, 1), 1e-9), 3)}


def evaluate(args):
    model, tok = load(args.ckpt), load_tokenizer()
    for name, rows in (("real", read(os.path.join(args.data, "real.jsonl"))),
                       ("generated dev", read(os.path.join(args.data, "names.jsonl"), "dev"))):
        words = word_probs(model, tok, [d["text"] for d in rows])
        for th in (0.5, 0.7, 0.85, 0.95):
            preds = [spans_at(d["text"], w, th) for d, w in zip(rows, words)]
            print(name, th, json.dumps(f1(rows, preds)))
            if name == "generated dev":
                en = [(d, pr) for d, pr in zip(rows, preds) if d.get("lang") == "en"]
                print("  en", json.dumps(f1([d for d, _ in en], [pr for _, pr in en])))
        if name == "real":
            kinds = sorted({d.get("kind", "") for d in rows})
            preds = [spans_at(d["text"], w, 0.85) for d, w in zip(rows, words)]
            for k in kinds:
                sel = [(d, pr) for d, pr in zip(rows, preds) if d.get("kind") == k]
                print("  ", k, json.dumps(f1([d for d, _ in sel], [pr for _, pr in sel])))


def label(args):
    """Scores every word of the unlabelled real texts and writes the compact artifact the
    pipeline commits: per text (`distil.text_key`, as the guard's committed artifacts), the
    words the teacher gives more than SILVER_FLOOR, as [start, end, p] in code points; every
    other word counts as p = 0."""
    model, tok = load(args.ckpt), load_tokenizer()
    rows = read(os.path.join(args.data, "weak.jsonl"))[::args.every]
    words = word_probs(model, tok, [d["text"] for d in rows])
    packed = {}
    for d, w in zip(rows, words):
        keep = [[s, e, round(p, 2)] for s, e, p in w if p > SILVER_FLOOR]
        if keep:
            packed[text_key(d["text"])] = keep
    with gzip.open(args.out, "wt", encoding="utf-8") as f:
        json.dump({"texts_scored": len(rows), "scored_digest": scored_digest([d["text"] for d in rows]), "floor": SILVER_FLOOR,
                   "words": dict(sorted(packed.items()))}, f,
                  separators=(",", ":"))
    print(f"{len(rows)} texts scored, {len(packed)} with a word over {SILVER_FLOOR}: {args.out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["train", "eval", "label"])
    ap.add_argument("--data", default=os.path.expanduser("~/.cache/parapet/names-data"))
    ap.add_argument("--ckpt")
    ap.add_argument("--init", help="train: go on from this checkpoint")
    ap.add_argument("--self-labels", help="train: also learn the real texts with these labels (an earlier teacher's)")
    ap.add_argument("--out")
    ap.add_argument("--minutes", type=float, default=15, help="train: time budget, unless --steps")
    ap.add_argument("--steps", type=int, default=0, help="train: number of batches of 32 windows")
    ap.add_argument("--every", type=int, default=1, help="label: every k-th text only (the pipeline refuses such labels)")
    args = ap.parse_args()
    {"train": lambda: train(args), "eval": lambda: evaluate(args), "label": lambda: label(args)}[args.cmd]()


if __name__ == "__main__":
    main()
