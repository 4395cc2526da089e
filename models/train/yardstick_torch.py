"""A student checkpoint (train.py's `model.pt`) on the yardstick, before it is exported: the
threshold-free separation tables `teacher.py --yardstick` prints, with the runtime's windows
(254 tokens every 192, a case's score its highest window). For choosing between candidates
quickly; the figures of a shipped model come from `bash models/eval/run.sh` (the runtime itself,
with its calibration).

    python models/train/yardstick_torch.py --checkpoint $PARAPET_WORK_DIR/model.pt --work ~/.cache/parapet/eval-work
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import STRIDE, WIN, load_tokenizer, parse_confirm  # noqa: E402
from model import Config, GuardModel  # noqa: E402
from teacher import yardstick  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--work", required=True, help="the yardstick's work directory (sets/ from models/eval/build_sets.py)")
    ap.add_argument("--cases", default="cases-student", help="where under --work the scored cases go")
    ap.add_argument("--window", type=int, default=WIN, help="content tokens per window (the runtime's by default)")
    ap.add_argument("--stride", type=int, default=STRIDE, help="tokens between window starts")
    ap.add_argument("--confirm", default="", help="SHIFTS:AGREE:FROM (e.g. -128,-64,64,128:2:0.5): tool messages read with "
                    "the runtime's tool_confirm (calibrate.py PARAPET_CONFIRM)")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("PARAPET_THREADS", "1")))
    ck = torch.load(a.checkpoint, map_location="cpu")
    model = GuardModel(Config(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    yardstick(model, load_tokenizer(), a.work, a.window, a.stride, a.cases, parse_confirm(a.confirm) if a.confirm else None)


if __name__ == "__main__":
    main()
