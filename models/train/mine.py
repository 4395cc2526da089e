"""Hard negatives: the benign windows of the training documents that a student checkpoint scores
highest for prompt_attack.

The threshold that flags 2% of benign documents is set by a tail of odd benign windows (badge
blocks, unit tests, mixed scripts, quoted example prompts; model card, "The second teacher"),
and distillation trains on one fixed window per document, so most windows of the training
documents are never seen. This stage scores every runtime window of every training-split real
document (`docs_real`) with a student checkpoint and keeps the highest-scoring ones. `train.py`
adds them back as extra training items with their hard labels (`PARAPET_HARD_NEGATIVES`), never
with the teacher's soft labels: the teacher's own tail is among them.

The output is a compact pointer file, not text: per window the SHA-1 of its example's text
(first 16 hex digits, `distil.text_key`) and the window's first token, so the shared data stays
where it is. Rounds accumulate: with `--merge`, an earlier file's windows come first and this
round adds the ones it does not have; `rounds` says what each round scored and kept.

    python models/train/mine.py --checkpoint $PARAPET_WORK_DIR/model.pt --out FILE [--top 4000] [--merge EARLIER]
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HEADS, WIN, eval_windows, load_examples, load_tokenizer  # noqa: E402
from distil import text_key  # noqa: E402
from model import Config, GuardModel  # noqa: E402
from train import collate, log, tokenize_all  # noqa: E402


def window_starts(n):
    """First tokens of the runtime's windows over n tokens (common.eval_windows)."""
    return [w[0] for w in eval_windows(list(range(n)))] if n else [0]


def merged(earlier, info, windows):
    """`earlier`'s windows (None: none) followed by this round's new ones, with every round's info."""
    have = [list(w) for w in earlier["windows"]] if earlier else []
    seen = {tuple(w) for w in have}
    new = [w for w in windows if tuple(w) not in seen]
    rounds = (earlier["rounds"] if earlier else []) + [dict(info, new=len(new))]
    return {"rounds": rounds, "windows": have + new}


@torch.no_grad()
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--top", type=int, default=4000, help="how many windows to keep")
    ap.add_argument("--merge", help="an earlier round's file: its windows first, then this round's new ones")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", "1")))
    t0 = time.time()
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = GuardModel(Config(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    model.eval()
    docs = [e for e in load_examples() if e["split"] == "train" and e["group"] == "docs_real"]
    tokenize_all(load_tokenizer(), docs)
    wins = [(i, s) for i, e in enumerate(docs) for s in window_starts(len(e["ids"]))]
    wins.sort(key=lambda x: min(WIN, len(docs[x[0]]["ids"]) - x[1]))
    log(f"{len(docs)} training documents, {len(wins)} windows")
    scored = []
    for j in range(0, len(wins), 64):
        chunk = wins[j:j + 64]
        ids, am, _ = collate([(docs[i]["ids"][s:s + WIN], [-1] * len(HEADS)) for i, s in chunk])
        p = torch.sigmoid(model(ids, am))[:, 0].tolist()
        scored += [(pi, i, s) for (i, s), pi in zip(chunk, p)]
    # Highest first; ties broken by key and start so the file is the same on every run.
    scored.sort(key=lambda x: (-x[0], text_key(docs[x[1]]["text"]), x[2]))
    keep = scored[:a.top]
    kinds = {}
    for _, i, _ in keep:
        kinds[docs[i]["kind"]] = kinds.get(docs[i]["kind"], 0) + 1
    info = {"checkpoint": os.path.basename(os.path.dirname(os.path.abspath(a.checkpoint))),
            "windows_scored": len(scored), "kept": len(keep), "lowest_kept_score": round(keep[-1][0], 5) if keep else None,
            "by_kind": dict(sorted(kinds.items()))}
    earlier = None
    if a.merge:
        with open(a.merge) as f:
            earlier = json.load(f)
    out = merged(earlier, info, [[text_key(docs[i]["text"]), s] for _, i, s in keep])
    with open(a.out, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    log(f"kept {len(keep)} of {len(scored)} windows (score >= {info['lowest_kept_score']}, {out['rounds'][-1]['new']} new), "
        f"by kind {info['by_kind']}; {(time.time() - t0) / 60:.1f} min")


if __name__ == "__main__":
    main()
