"""Train the Parapet guard student model.

- tokenizes examples with the teacher's WordPiece tokenizer
- initialises token/position embeddings from all-MiniLM-L6-v2 (PCA 384 -> d)
- trains on windows of <= 256 tokens (an injection inside a long document lands in the window),
  masked multi-label BCE over the 7 heads
- writes checkpoint + validation scores (max over windows, as the runtime does) to WORK_DIR
"""
import argparse
import collections
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (HEADS, MAX_LEN, SEED, WIN, WORK_DIR, eval_windows, load_examples, load_tokenizer,  # noqa: E402
                    seed_all, teacher_dir, with_special)
from model import Config, GuardModel  # noqa: E402

# sampling repeat factor per validation/reporting group (train side); fractional = stochastic
GROUP_REPEAT = {
    "trigger_word_benign": 4.0, "non_english_attacks": 5.0, "non_english_benign": 8.0, "mod_generated": 5.0,
    "attack_direct_generated": 1.5, "docs_clean": 4.0, "indirect_docs": 1.0, "attack_inthewild": 2.0,
    "attack_jailbreak_templates": 1.0, "benign_roleplay": 1.5, "harmful_not_attack": 1.5,
    "mod_hate": 0.7, "benign_docs": 0.6, "benign_prompts": 0.7, "mod_rtp": 2.0, "mod_pyrit_scored": 2.0,
    "trigger_word_benign_varied": 1.5, "docs_clean_varied": 1.5,
    "docs_real": 1.0, "indirect_docs_real": 1.0, "attack_public": 1.0,
    "written_injections": 3.0, "written_benign_instructions": 3.0,
    "hard_negatives": 1.0,
}
# PARAPET_GROUP_REPEAT="group=factor,...": overrides for one run (candidates in the model card).
for _kv in filter(None, os.environ.get("PARAPET_GROUP_REPEAT", "").split(",")):
    _g, _f = _kv.split("=")
    GROUP_REPEAT[_g.strip()] = float(_f)
RARE_HEADS = [HEADS.index(h) for h in ("sexual", "violence", "self_harm", "weapons")]


def sampling_weights(train):
    """Per example: its group's repeat factor (GROUP_REPEAT, PARAPET_GROUP_REPEAT), four times
    for a positive of a rare moderation head (head-balanced sampling)."""
    weights = []
    for e in train:
        w = GROUP_REPEAT.get(e["group"], 1.0)
        if any(e["labels"][h] == 1 for h in RARE_HEADS):
            w *= 4.0
        weights.append(w)
    return weights


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def tokenize_all(tok, examples, max_tokens=4096):
    texts = [e["text"] for e in examples]
    encs = tok.encode_batch(texts, add_special_tokens=False)
    for e, enc in zip(examples, encs):
        ids = enc.ids
        e["inj_tok"] = None
        if e.get("inj"):
            c = e["text"].find(e["inj"])
            if c >= 0:
                c_end = c + len(e["inj"])
                t0 = next((i for i, (a, b) in enumerate(enc.offsets) if b > c), None)
                t1 = next((i for i, (a, b) in enumerate(enc.offsets) if a >= c_end), len(ids))
                if t0 is not None:
                    e["inj_tok"] = (t0, t1)
        e["ids"] = ids[:max_tokens]


def pca_init(model, d):
    """Token and position embeddings: teacher 384-d embeddings projected to d by PCA."""
    from safetensors.numpy import load_file
    w = load_file(os.path.join(teacher_dir(), "model.safetensors"))
    key = lambda s: next(k for k in w if k.endswith(s))  # noqa: E731
    W = w[key("embeddings.word_embeddings.weight")].astype(np.float64)
    P = w[key("embeddings.position_embeddings.weight")].astype(np.float64)[:model.c.max_pos]
    T = w[key("embeddings.token_type_embeddings.weight")].astype(np.float64)[0]
    mu = W.mean(0)
    U, S, Vt = np.linalg.svd(W - mu, full_matrices=False)
    V = Vt[:d].T  # 384 x d
    tokp = (W - mu) @ V
    posp = (P + T - (P + T).mean(0)) @ V
    scale = 1.0 / tokp.std()
    var_kept = float((S[:d] ** 2).sum() / (S ** 2).sum())
    with torch.no_grad():
        model.tok.weight.copy_(torch.tensor(tokp * scale, dtype=torch.float32))
        model.pos.weight.copy_(torch.tensor(posp * scale, dtype=torch.float32))
    log(f"PCA init: {d} comps keep {var_kept:.3f} of teacher embedding variance")
    return var_kept


def train_window(e, rng):
    ids = e["ids"]
    if len(ids) <= WIN:
        return ids
    if e.get("inj_tok"):
        t0, t1 = e["inj_tok"]
        span = t1 - t0
        if span >= WIN:
            s = t0
        else:
            lo, hi = max(0, t1 - WIN), min(t0, len(ids) - WIN)
            s = rng.randint(lo, max(lo, hi))
        return ids[s:s + WIN]
    if e["labels"][0] == 1 and rng.random() < 0.5:
        return ids[:WIN]
    s = rng.randint(0, len(ids) - WIN)
    return ids[s:s + WIN]


SPLICE_PREFIXES = ["", "", "", "IMPORTANT: ", "Note: ", "NOTE: ", "Attention: ", "Update: ", "P.S. ", "Reminder: ", "N.B. ",
                   "Important! ", "Warning: ", "[!] "]


def splice_pools(train, tok):
    """Short texts to splice into benign document windows (PARAPET_SPLICE): attacks (positives) and
    benign imperatives and trigger-word prompts (negatives), as content token ids with their labels."""
    pos_g = {"attack_direct_generated", "non_english_attacks", "written_injections", "attack_public"}
    neg_g = {"written_benign_instructions", "trigger_word_benign", "trigger_word_benign_varied", "non_english_benign"}
    pos, neg = [], []
    for e in train:
        if len(e["ids"]) > 120:
            continue
        if e["group"] in pos_g and e["labels"][0] == 1:
            pos.append((e["ids"], e["labels"]))
        elif e["group"] in neg_g and e["labels"][0] == 0:
            neg.append((e["ids"], e["labels"]))
    hosts = [e["ids"] for e in train if e["group"] == "docs_real" and len(e["ids"]) >= 64]
    prefixes = [tok.encode(p, add_special_tokens=False).ids for p in SPLICE_PREFIXES]
    return pos, neg, hosts, prefixes


def splice(host, text, prefixes, rng):
    """A window of a benign document with `text` (a prefix before it at times) inserted at a
    sentence end, cut to WIN tokens so the inserted text may sit anywhere in the window: after
    a long stretch of ordinary text, at the start, or at the end. Returns (ids, inserted span)."""
    s = rng.randint(0, max(0, len(host) - WIN))
    h = host[s:s + WIN]
    ins = rng.choice(prefixes) + list(text)
    p = rng.randint(0, len(h))
    dots = [i + 1 for i, t in enumerate(h) if t in (1012, 999, 1029)]  # . ! ?
    if dots:
        p = min(dots, key=lambda i: abs(i - p))
    w = h[:p] + ins + h[p:]
    lo, hi = max(0, p + len(ins) - WIN), min(p, max(0, len(w) - WIN))
    a = rng.randint(lo, max(lo, hi))
    return w[a:a + WIN], (p - a, min(WIN, p + len(ins) - a))


def make_batches(items, bs, rng):
    """Length-bucketed batches: shuffle, sort within chunks of 50 batches, shuffle batches."""
    rng.shuffle(items)
    batches = []
    chunk = bs * 50
    for i in range(0, len(items), chunk):
        c = sorted(items[i:i + chunk], key=lambda x: len(x[0]))
        batches += [c[j:j + bs] for j in range(0, len(c), bs)]
    rng.shuffle(batches)
    return batches


def collate(batch):
    L = max(len(x[0]) for x in batch) + 2
    ids = torch.zeros(len(batch), L, dtype=torch.long)
    am = torch.zeros(len(batch), L, dtype=torch.long)
    y = torch.full((len(batch), len(HEADS)), -1.0)
    for i, item in enumerate(batch):
        w, lab = item[0], item[1]
        s = with_special(w)
        ids[i, :len(s)] = torch.tensor(s)
        am[i, :len(s)] = 1
        y[i] = torch.tensor(lab, dtype=torch.float32)
    return ids, am, y


@torch.no_grad()
def score_examples(model, examples, bs=64):
    """Max-over-windows sigmoid scores per example (what the runtime reports)."""
    model.eval()
    wins = []
    for i, e in enumerate(examples):
        for w in eval_windows(e["ids"]):
            wins.append((i, w))
    wins.sort(key=lambda x: len(x[1]))
    out = np.zeros((len(examples), len(HEADS)), dtype=np.float32)
    for j in range(0, len(wins), bs):
        chunk = wins[j:j + bs]
        ids, am, _ = collate([(w, [-1] * len(HEADS)) for _, w in chunk])
        p = torch.sigmoid(model(ids, am)).numpy()
        for (i, _), pi in zip(chunk, p):
            out[i] = np.maximum(out[i], pi)
    model.train()
    return out


def auc(pos, neg):
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    s = np.concatenate([pos, neg])
    r = s.argsort().argsort().astype(np.float64) + 1
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def quick_report(scores, val):
    Y = np.array([e["labels"] for e in val])
    parts = []
    for h, name in enumerate(HEADS):
        pos, neg = scores[Y[:, h] == 1, h], scores[Y[:, h] == 0, h]
        if len(pos) == 0:
            continue
        thr = np.quantile(neg, 0.99) if len(neg) else 1.0
        parts.append(f"{name}: auc={auc(pos, neg):.3f} tpr@1%={float((pos > thr).mean()):.3f}")
    return " | ".join(parts)


def load_hard_negatives(train, path):
    """mine.py's pointer file resolved against the (tokenized) training examples: the listed
    runtime windows of training documents, each with its document's labels, and how many the
    file lists."""
    from distil import text_key
    by_key = {}
    for e in train:
        if e["group"] == "docs_real":
            by_key.setdefault(text_key(e["text"]), e)
    with open(path) as f:
        spec = json.load(f)
    hard = []
    for key, start in spec["windows"]:
        e = by_key.get(key)
        if e is not None and start < len(e["ids"]):
            hard.append((e["ids"][start:start + WIN], e["labels"]))
    return hard, len(spec["windows"])


def grow_layers(model, state, n_old):
    """Load a shallower checkpoint into a deeper model: its blocks first, then new pre-LN blocks
    whose output projections (attention and FFN) are zero, so each adds nothing to its residual
    stream and the grown model starts with the checkpoint's exact outputs."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("blocks.") and int(k.split(".")[1]) >= n_old for k in missing), (missing, unexpected)
    with torch.no_grad():
        for b in list(model.blocks)[n_old:]:
            for lin in (b.proj, b.fc2):
                lin.weight.zero_()
                lin.bias.zero_()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=int(os.environ.get("PARAPET_EPOCHS", 4)))
    ap.add_argument("--bs", type=int, default=32)
    ap.add_argument("--lr", type=float, default=float(os.environ["PARAPET_LR"]) if os.environ.get("PARAPET_LR") else None,
                    help="peak LR (default 1e-3; 3e-4 for a warm start)")
    ap.add_argument("--d", type=int, default=int(os.environ.get("PARAPET_D", 128)))
    ap.add_argument("--layers", type=int, default=int(os.environ.get("PARAPET_LAYERS", 2)),
                    help="encoder blocks; more than a warm start's checkpoint grows it (grow_layers)")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=int(os.environ.get("PARAPET_FFN", 512)))
    ap.add_argument("--teacher", default=os.environ.get("PARAPET_TEACHER", ""),
                    help="distil: an int8/f32 ONNX guard model whose sigmoid scores are soft targets for every head")
    ap.add_argument("--teacher-scores", default=os.environ.get("PARAPET_TEACHER_SCORES", ""),
                    help="distil from a committed artifact of teacher logits (teacher.py --score-train; path without "
                    ".bin.gz): every example trains on its fixed window (distil.student_windows) with the stored soft "
                    "targets; a window without a stored score learns from its hard labels only")
    ap.add_argument("--kd", type=float, default=float(os.environ.get("PARAPET_KD", 0.5)),
                    help="weight of the soft (teacher) loss; the hard-label loss gets 1 - kd")
    ap.add_argument("--hard-negatives", default=os.environ.get("PARAPET_HARD_NEGATIVES", ""),
                    help="mine.py's file: extra benign windows of training documents, trained with hard labels only")
    ap.add_argument("--limit", type=int, default=0, help="debug: use only N train examples")
    ap.add_argument("--init", default=os.environ.get("PARAPET_INIT_CHECKPOINT", ""),
                    help="warm start: continue from this checkpoint (model.pt format) instead of PCA init")
    ap.add_argument("--steps", type=int, default=int(os.environ.get("PARAPET_FT_STEPS", 0)),
                    help="stop after this many optimizer steps (cosine schedule over them); 0 = full epochs")
    args = ap.parse_args()
    if args.lr is None:
        args.lr = 3e-4 if args.init else 1e-3

    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", 1)))
    seed_all(SEED)
    rng = random.Random(SEED)
    os.makedirs(WORK_DIR, exist_ok=True)
    t_start = time.time()

    log("loading examples")
    ex = load_examples()
    tok = load_tokenizer()
    log(f"tokenizing {len(ex)} examples")
    tokenize_all(tok, ex)
    train = [e for e in ex if e["split"] == "train"]
    val = [e for e in ex if e["split"] == "val"]
    drop = {g for g in os.environ.get("PARAPET_DROP_GROUPS", "").split(",") if g}
    if drop:
        train = [e for e in train if e["group"] not in drop]
        log(f"training without groups {sorted(drop)}")
    kd_skip = {g for g in os.environ.get("PARAPET_KD_SKIP_GROUPS", "").split(",") if g}
    if args.limit:
        rng.shuffle(train)
        train = train[:args.limit]
    log(f"train {len(train)} val {len(val)}")

    cfg = Config(d=args.d, layers=args.layers, heads=args.heads, ffn=args.ffn, max_pos=MAX_LEN)
    model = GuardModel(cfg)
    if args.init:
        if args.init.endswith(".onnx"):
            from refit_heads import load_onnx_checkpoint  # the shipped file: int8-snapped weights
            ck0 = load_onnx_checkpoint(args.init)
        else:
            ck0 = torch.load(args.init, map_location="cpu")
        c0 = Config(**ck0["config"]).to_dict()
        if c0 == cfg.to_dict():
            model.load_state_dict(ck0["state_dict"])
        else:
            assert {k: v for k, v in c0.items() if k != "layers"} == {k: v for k, v in cfg.to_dict().items() if k != "layers"} \
                and c0["layers"] < cfg.layers, "warm start needs the same architecture, or the same with fewer layers"
            grow_layers(model, ck0["state_dict"], c0["layers"])
            log(f"grown from {c0['layers']} to {cfg.layers} layers (the new blocks start as identities)")
        var_kept = None
        log(f"warm start from {args.init}")
    else:
        var_kept = pca_init(model, args.d)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model params {n_params:,}")

    weights = sampling_weights(train)

    stored = {}
    if args.teacher_scores:
        from distil import student_windows, unpack, window_key
        table = unpack(args.teacher_scores)
        for i, e in enumerate(train):
            w = student_windows(e)[0][1]
            lg = table.get(window_key(w))
            if lg is not None:
                stored[i] = (w, torch.sigmoid(torch.tensor(lg)))
        log(f"teacher scores {args.teacher_scores}: {len(stored)} of {len(train)} training windows (kd weight {args.kd})")

    # Hard negatives (mine.py): benign windows of training documents, with their document's hard
    # labels and never the teacher's soft ones (the teacher's own false alarms are among them).
    hard = []
    if args.hard_negatives:
        hard, listed = load_hard_negatives(train, args.hard_negatives)
        log(f"hard negatives {args.hard_negatives}: {len(hard)} of {listed} windows found "
            f"(repeat {GROUP_REPEAT['hard_negatives']})")

    n_splice = int(os.environ.get("PARAPET_SPLICE", 0))
    n_compose = int(os.environ.get("PARAPET_COMPOSE", 0))
    compose_mode = os.environ.get("PARAPET_COMPOSE_MODE", "parts")
    n_extract = int(os.environ.get("PARAPET_COMPOSE_EXTRACT", 0))
    if n_splice or n_compose or n_extract:
        sp_pos, sp_neg, sp_hosts, sp_pre = splice_pools(train, tok)
    if n_splice:
        log(f"splice: {n_splice} attacks and {n_splice} benign imperatives a epoch into windows of "
            f"{len(sp_hosts)} documents (pools {len(sp_pos)} / {len(sp_neg)})")

    # Composed instructions (compose.py): N attacks and N benign twins a epoch, spliced like the above.
    if n_compose:
        import compose
        assert compose_mode in ("parts", "fixed"), f"PARAPET_COMPOSE_MODE must be parts or fixed, not {compose_mode!r}"
        log(f"compose: {n_compose} composed attacks and {n_compose} benign twins a epoch ({compose_mode})")
    # Composed extraction requests (compose.extraction) and their twins: N of each a epoch, every
    # other one as a message of its own (as a user sends it), the rest spliced into a document window.
    if n_extract:
        import compose
        log(f"compose: {n_extract} extraction requests and {n_extract} twins a epoch, half alone, half spliced")

    # Extra windows with the teacher's scores (a pickle of (ids, labels, teacher probabilities)),
    # e.g. spliced injections the teacher scored once: distilled like the stored windows.
    extra = []
    if os.environ.get("PARAPET_EXTRA_WINDOWS"):
        import pickle
        with open(os.environ["PARAPET_EXTRA_WINDOWS"], "rb") as f:
            extra = [(w, lab, torch.tensor(p, dtype=torch.float32)) for w, lab, p in pickle.load(f)]
        log(f"extra teacher-scored windows {os.environ['PARAPET_EXTRA_WINDOWS']}: {len(extra)}")

    # Which extra windows learn the teacher's scores: `positives` (spliced windows: the teacher
    # flags 29% of the spliced benign imperatives) or `all` (real text, teacher.py --score-doc-windows).
    extra_kd = os.environ.get("PARAPET_EXTRA_KD", "positives")
    assert extra_kd in ("positives", "all"), f"PARAPET_EXTRA_KD must be positives or all, not {extra_kd!r}"
    extra_kd_all = extra_kd == "all"

    def epoch_items():
        items = [(w, lab, extra_kd_all or lab[0] == 1, p) for w, lab, p in extra]
        for _ in range(n_splice):
            for ids, lab in (rng.choice(sp_pos), rng.choice(sp_neg)):
                # hard labels only: the committed teacher scores hold no spliced window
                items.append((splice(rng.choice(sp_hosts), ids, sp_pre, rng)[0], lab, False, None))
        for _ in range(n_compose):
            for text, lab in ((compose.attack(rng, compose_mode), [1] + [-1] * (len(HEADS) - 1)),
                              (compose.benign(rng, compose_mode), [0] * len(HEADS))):
                ids = tok.encode(text, add_special_tokens=False).ids
                items.append((splice(rng.choice(sp_hosts), ids, sp_pre, rng)[0], lab, False, None))
        for j in range(n_extract):
            for text, lab in ((compose.extraction(rng), [1] + [-1] * (len(HEADS) - 1)),
                              (compose.extraction_benign(rng), [0] * len(HEADS))):
                ids = tok.encode(text, add_special_tokens=False).ids
                items.append((ids if j % 2 else splice(rng.choice(sp_hosts), ids, sp_pre, rng)[0], lab, False, None))
        for i, (e, w) in enumerate(zip(train, weights)):
            k = int(w) + (1 if rng.random() < w - int(w) else 0)
            for _ in range(k):
                if i in stored:
                    items.append((stored[i][0], e["labels"], e["group"] not in kd_skip, stored[i][1]))
                else:
                    items.append((train_window(e, rng), e["labels"], False if stored else e["group"] not in kd_skip, None))
        hw = GROUP_REPEAT["hard_negatives"]
        for w, lab in hard:
            for _ in range(int(hw) + (1 if rng.random() < hw - int(hw) else 0)):
                items.append((w, lab, False, None))
        return items

    val_sub = random.Random(SEED + 1).sample(val, min(4000, len(val)))  # per-epoch progress only
    n_per_epoch = len(epoch_items())
    steps_total = args.epochs * math.ceil(n_per_epoch / args.bs)
    if args.steps:
        steps_total = args.steps
        args.epochs = math.ceil(args.steps / math.ceil(n_per_epoch / args.bs))
    warm = max(1, min(500, steps_total // 20))  # at least one step: fewer than 20 steps divided by zero
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.05, 0.5 * (1 + math.cos(math.pi * min(1.0, s / steps_total)))))
    log(f"{n_per_epoch} samples/epoch, {steps_total} steps total")

    teacher = None
    if args.teacher:
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        teacher = ort.InferenceSession(args.teacher, so, providers=["CPUExecutionProvider"])
        log(f"distilling from {args.teacher} (kd weight {args.kd})")

    def teacher_probs(batch):
        """Teacher sigmoid scores per window (the exported graph has batch size 1)."""
        out = torch.zeros(len(batch), len(HEADS))
        for i, item in enumerate(batch):
            ids = np.array([with_special(item[0])], dtype=np.int64)
            lg = teacher.run(["logits"], {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
            out[i] = torch.sigmoid(torch.tensor(lg))
        return out

    history = []
    step = 0
    model.train()
    for ep in range(args.epochs):
        batches = make_batches(epoch_items(), args.bs, rng)
        t0 = time.time()
        run = collections.deque(maxlen=200)
        for bi, b in enumerate(batches):
            ids, am, y = collate(b)
            logits = model(ids, am)
            mask = (y >= 0).float()
            loss = (F.binary_cross_entropy_with_logits(logits, y.clamp(min=0), reduction="none") * mask).sum() / mask.sum().clamp(min=1)
            if teacher is not None or stored:
                # groups in PARAPET_KD_SKIP_GROUPS learn from their hard labels only (where the teacher is wrong)
                kd_on = torch.tensor([float(x[2]) for x in b]).unsqueeze(1)
                target = (torch.stack([x[3] if x[3] is not None else torch.zeros(len(HEADS)) for x in b]) if stored
                          else teacher_probs(b))
                soft = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * kd_on).sum() / (kd_on.sum() * len(HEADS)).clamp(min=1)
                loss = (1.0 - args.kd) * loss + args.kd * soft
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            run.append(loss.item())
            if args.steps and step % 250 == 0:
                torch.save({"state_dict": model.state_dict(), "config": cfg.to_dict()}, os.path.join(WORK_DIR, "model.pt"))
            if args.steps and step >= steps_total:
                break
            if bi % 200 == 0:
                el = time.time() - t0
                eta = el / (bi + 1) * (len(batches) - bi - 1)
                log(f"epoch {ep + 1}/{args.epochs} batch {bi}/{len(batches)} loss {np.mean(run):.4f} "
                    f"lr {sched.get_last_lr()[0]:.2e} epoch-eta {eta / 60:.1f} min")
        log(f"epoch {ep + 1} done in {(time.time() - t0) / 60:.1f} min; evaluating")
        last = ep == args.epochs - 1
        sub = val if (last and not args.steps) else val_sub  # warm start: the full val set is scored by export.py
        scores = score_examples(model, sub)
        rep = quick_report(scores, sub)
        log(("val (full): " if sub is val else "val (4k subset): ") + rep)
        history.append({"epoch": ep + 1, "loss": float(np.mean(run)), "val": rep})
        torch.save({"state_dict": model.state_dict(), "config": cfg.to_dict()}, os.path.join(WORK_DIR, "model.pt"))

    np.save(os.path.join(WORK_DIR, "val_scores.npy"), scores)
    with open(os.path.join(WORK_DIR, "train_info.json"), "w") as f:
        json.dump({"params": n_params, "config": cfg.to_dict(), "epochs": args.epochs, "batch_size": args.bs, "lr": args.lr,
                   "samples_per_epoch": n_per_epoch, "steps": step, "pca_variance_kept": var_kept,
                   "train_examples": len(train), "val_examples": len(val), "train_seconds": time.time() - t_start,
                   "history": history, "seed": SEED, "threads": torch.get_num_threads(),
                   "warm_start_from": args.init or None, "teacher": args.teacher or args.teacher_scores or None, "kd": args.kd if (args.teacher or stored) else None,
                   "drop_groups": sorted(drop), "kd_skip_groups": sorted(kd_skip) if (args.teacher or stored) else [],
                   "max_len": MAX_LEN, "max_steps": args.steps or None,
                   "splice": n_splice or None, "compose": n_compose or None, "compose_mode": compose_mode if n_compose else None,
                   "compose_extract": n_extract or None}, f, indent=1)
    log(f"training done in {(time.time() - t_start) / 60:.1f} min")


if __name__ == "__main__":
    main()
