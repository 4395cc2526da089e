"""Quantization-aware finish: snap every weight that quantize_weights.py stores as int8 to its
int8 grid (per-row scale = max|row| / 127, identical to the export), freeze those weights, and
fine-tune the remaining f32 parameters (biases, LayerNorms, output head) for a few hundred steps.

Afterwards the int8-weight ONNX file reproduces the torch model up to float rounding instead of
carrying the int8 rounding error of the 30522x128 embedding table (~0.1-0.2 logits before).
"""
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import SEED, WORK_DIR, load_examples, load_tokenizer, seed_all  # noqa: E402
from model import Config, GuardModel  # noqa: E402
import train as T  # noqa: E402

STEPS = int(os.environ.get("PARAPET_SNAP_STEPS", 400))
# 1: the targets are the pre-snap model's own scores (self-distillation: reproduce the trained model
# on the int8 grid) instead of the hard labels, which re-train the output layer on their own
DISTIL = os.environ.get("PARAPET_SNAP_DISTIL", "0") == "1"
MIN_ELEMS = 4096  # same rule as quantize_weights.py


def snap_(w):
    """In-place per-row symmetric int8 snap of a 2-D tensor (rows = embedding rows / Linear outputs)."""
    with torch.no_grad():
        amax = w.abs().amax(dim=1, keepdim=True)
        scale = torch.where(amax > 0, amax / 127.0, torch.ones_like(amax))
        w.copy_(torch.clamp(torch.round(w / scale), -127, 127) * scale)


def main():
    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", 1)))
    seed_all(SEED + 7)
    rng = random.Random(SEED + 7)
    path = os.path.join(WORK_DIR, "model.pt")
    ck = torch.load(path, map_location="cpu")
    torch.save(ck, os.path.join(WORK_DIR, "model_presnap.pt"))
    model = GuardModel(Config(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    ref = None
    if DISTIL:
        ref = GuardModel(Config(**ck["config"]))
        ref.load_state_dict(ck["state_dict"])
        ref.eval()
    snapped = []
    for name, p in model.named_parameters():
        if p.dim() == 2 and p.numel() >= MIN_ELEMS:
            snap_(p)
            p.requires_grad_(False)
            snapped.append(name)
    T.log("snapped + frozen:", snapped, "; targets:", "pre-snap model scores" if DISTIL else "hard labels")
    train = [e for e in load_examples() if e["split"] == "train"]
    T.tokenize_all(load_tokenizer(), train)
    weights = [T.GROUP_REPEAT.get(e["group"], 1.0) * (4.0 if any(e["labels"][h] == 1 for h in T.RARE_HEADS) else 1.0)
               for e in train]
    items = []
    for e, w in zip(train, weights):
        k = int(w) + (1 if rng.random() < w - int(w) else 0)
        items += [(T.train_window(e, rng), e["labels"])] * k
    batches = T.make_batches(items, 32, rng)[:STEPS]
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4, weight_decay=0.0)
    model.train()
    t0, run = time.time(), []
    for i, b in enumerate(batches):
        ids, am, y = T.collate(b)
        logits = model(ids, am)
        if ref is not None:
            with torch.no_grad():
                target = torch.sigmoid(ref(ids, am))
            loss = F.binary_cross_entropy_with_logits(logits, target)
        else:
            mask = (y >= 0).float()
            loss = (F.binary_cross_entropy_with_logits(logits, y.clamp(min=0), reduction="none") * mask).sum() / mask.sum().clamp(min=1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.append(loss.item())
        if i % 100 == 0:
            T.log(f"snap fine-tune step {i}/{len(batches)} loss {np.mean(run[-100:]):.4f}")
    torch.save({"state_dict": model.state_dict(), "config": ck["config"], "snapped": snapped}, path)
    T.log(f"snap fine-tune done in {(time.time() - t0) / 60:.1f} min, " + (f"final loss {np.mean(run[-100:]):.4f}" if run else "no steps (snap only)"))


if __name__ == "__main__":
    main()
