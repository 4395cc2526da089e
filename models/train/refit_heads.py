"""Cheaper retraining path: keep an existing encoder (every int8-stored weight stays bit-identical)
and refit only the output layer (Linear 256 -> 7, f32, not int8-stored) on frozen pooled features
with the current labels.

  refit_heads.py --base CKPT [--heads hate,sexual,...]   writes WORK_DIR/model.pt

Rows of heads not listed keep the base model's weights exactly (default: the six moderation heads
are refit, prompt_attack is kept). Features: the model's pooled [mean, max] vector (256-d) of one
training window per example (the window the trainer would use); loss: masked BCE weighted like
train.py (GROUP_REPEAT, rare heads x4), plus an L2 penalty on the refit rows (towards zero; with
--anchor, rows start from the base rows and the penalty pulls towards them). Fixed seed.
"""
import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HEADS, SEED, WORK_DIR, load_examples, load_tokenizer, seed_all  # noqa: E402
from model import Config, GuardModel  # noqa: E402
import train as T  # noqa: E402


@torch.no_grad()
def pooled(model, ids, am):
    """GuardModel features before the output layer (the model must be in eval mode)."""
    return model.pooled(ids, am)


def load_onnx_checkpoint(path):
    """Rebuild a model.pt-style checkpoint from a shipped (int8-weight) ONNX file: constant DequantizeLinear /
    Mul chains are evaluated, MatMul weights are matched to blocks.{i}.{qkv,proj,fc1,fc2} in graph order and
    transposed back to torch's [out, in] layout."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    vals = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    matmuls = []
    for n in m.graph.node:
        if n.op_type == "Constant":
            vals[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
        elif n.op_type == "DequantizeLinear" and all(i in vals for i in n.input):
            x, sc = vals[n.input[0]].astype(np.float32), vals[n.input[1]].astype(np.float32)
            zp = vals[n.input[2]].astype(np.float32) if len(n.input) > 2 else 0.0
            vals[n.output[0]] = ((x - zp) * sc).astype(np.float32)
        elif n.op_type == "Mul" and all(i in vals for i in n.input):
            vals[n.output[0]] = (vals[n.input[0]] * vals[n.input[1]]).astype(np.float32)
        elif n.op_type == "MatMul" and n.input[1] in vals and vals[n.input[1]].ndim == 2:
            matmuls.append(vals[n.input[1]])
    cfg = Config()
    model = GuardModel(cfg)
    sd = model.state_dict()
    names = [f"blocks.{b}.{k}.weight" for b in range(cfg.layers) for k in ("qkv", "proj", "fc1", "fc2")]
    assert len(matmuls) == len(names), (len(matmuls), len(names))
    new = {}
    for k in sd:
        if k in names:
            new[k] = torch.tensor(matmuls[names.index(k)].T.copy())
        else:
            new[k] = torch.tensor(vals[k])
        assert new[k].shape == sd[k].shape, (k, new[k].shape, sd[k].shape)
    return {"state_dict": new, "config": cfg.to_dict()}


def features(model, windows, bs=64):
    order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
    out = np.zeros((len(windows), 2 * model.c.d), dtype=np.float32)
    for j in range(0, len(order), bs):
        idx = order[j:j + bs]
        ids, am, _ = T.collate([(windows[i], [-1] * len(HEADS)) for i in idx])
        out[idx] = pooled(model, ids, am).numpy()
        if j % (bs * 200) == 0:
            T.log(f"  features {j}/{len(order)}")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="checkpoint whose encoder is kept (model.pt format, already int8-snapped)")
    ap.add_argument("--heads", default=",".join(HEADS[1:]), help="heads whose output row is refit")
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--l2", type=float, default=1e-4, help="L2 penalty on the refit rows")
    ap.add_argument("--anchor", type=float, default=0.0,
                    help="> 0: refit rows start from the base rows and this L2 penalty pulls them back towards them "
                         "(a small correction of a trained row instead of a new one); 0: rows start from zero")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", 1)))
    seed_all(SEED + 11)
    rng = random.Random(SEED + 11)
    t0 = time.time()
    ck = load_onnx_checkpoint(args.base) if args.base.endswith(".onnx") else torch.load(args.base, map_location="cpu")
    model = GuardModel(Config(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    refit = [HEADS.index(h) for h in args.heads.split(",") if h]
    T.log("refitting rows", [HEADS[i] for i in refit], "on frozen features of", args.base)

    ex = load_examples()
    T.tokenize_all(load_tokenizer(), ex)
    train = [e for e in ex if e["split"] == "train"]
    val = [e for e in ex if e["split"] == "val"]
    windows = [T.train_window(e, rng) for e in train]
    cache = os.path.join(WORK_DIR, "refit_features.npz")
    if os.path.exists(cache) and np.load(cache)["base"] == args.base:
        c = np.load(cache)
        Xn, Vf, Vi = c["X"], c["V"], c["Vi"]
        T.log("features from cache", cache)
    else:
        Xn = features(model, windows)
        vw, Vi = [], []
        from common import eval_windows
        for i, e in enumerate(val):
            for win in eval_windows(e["ids"]):
                vw.append(win)
                Vi.append(i)
        Vf, Vi = features(model, vw), np.array(Vi)
        np.savez(cache, X=Xn, V=Vf, Vi=Vi, base=args.base)
    X = torch.tensor(Xn)
    Y = torch.tensor([e["labels"] for e in train], dtype=torch.float32)
    w = torch.tensor([T.GROUP_REPEAT.get(e["group"], 1.0) * (4.0 if any(e["labels"][h] == 1 for h in T.RARE_HEADS) else 1.0)
                      for e in train])
    T.log(f"train features {tuple(X.shape)} in {(time.time() - t0) / 60:.1f} min")

    W0 = model.head.weight.detach().clone()
    b0 = model.head.bias.detach().clone()
    # without --anchor, refit rows start from zero (not from the base rows), so the result depends only on
    # the encoder, the data and the seed: refitting from the v1 file or from the refit file gives the same heads
    Wi, bi = W0.clone(), b0.clone()
    if args.anchor <= 0:
        Wi[refit] = 0.0
        bi[refit] = 0.0
    W = torch.nn.Parameter(Wi)
    b = torch.nn.Parameter(bi)
    # an anchored row starts trained: a smaller step keeps it a correction
    opt = torch.optim.Adam([W, b], lr=1e-3 if args.anchor > 0 else 3e-3)
    rows = torch.zeros(len(HEADS), 1)
    rows[refit] = 1.0
    g = torch.Generator().manual_seed(SEED)
    for ep in range(args.epochs):
        perm = torch.randperm(len(X), generator=g)
        tot = 0.0
        for j in range(0, len(X), 1024):
            idx = perm[j:j + 1024]
            logits = X[idx] @ W.t() + b
            y = Y[idx]
            mask = (y >= 0).float() * w[idx].unsqueeze(1) * rows.t()
            loss = (F.binary_cross_entropy_with_logits(logits, y.clamp(min=0), reduction="none") * mask).sum() / mask.sum().clamp(min=1)
            if args.anchor > 0:
                loss = loss + args.anchor * ((W - W0) * rows).pow(2).sum()
            else:
                loss = loss + args.l2 * (W * rows).pow(2).sum()
            opt.zero_grad()
            loss.backward()
            W.grad *= rows
            b.grad *= rows.squeeze(1)
            opt.step()
            tot += loss.item() * len(idx)
        if ep % 10 == 0 or ep == args.epochs - 1:
            T.log(f"epoch {ep} loss {tot / len(X):.4f}")
    with torch.no_grad():
        model.head.weight.copy_(W.detach())
        model.head.bias.copy_(b.detach())
    # validation scores (max over windows), torch, for a quick look; export.py scores the shipped file
    with torch.no_grad():
        pv = torch.sigmoid(torch.tensor(Vf) @ W.t() + b).numpy()
    vs = np.zeros((len(val), len(HEADS)), dtype=np.float32)
    np.maximum.at(vs, Vi, pv)
    np.save(os.path.join(WORK_DIR, "val_scores.npy"), vs)
    T.log("val (full, torch): " + T.quick_report(vs, val))
    keep = [i for i in range(len(HEADS)) if i not in refit]
    assert torch.equal(model.head.weight[keep], W0[keep]) and torch.equal(model.head.bias[keep], b0[keep])
    torch.save({"state_dict": model.state_dict(), "config": ck["config"], "snapped": ck.get("snapped"),
                "refit_heads": [HEADS[i] for i in refit], "base": args.base}, os.path.join(WORK_DIR, "model.pt"))
    with open(os.path.join(WORK_DIR, "train_info.json"), "w") as f:
        json.dump({"mode": "refit_heads", "base_checkpoint": os.path.basename(args.base), "refit_heads": [HEADS[i] for i in refit],
                   "params": sum(p.numel() for p in model.parameters()), "config": ck["config"], "epochs": args.epochs,
                   "l2": args.l2, "anchor_to_base": args.anchor, "train_examples": len(train), "train_seconds": time.time() - t0, "seed": SEED + 11,
                   "threads": torch.get_num_threads()}, f, indent=1)
    T.log(f"refit done in {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
