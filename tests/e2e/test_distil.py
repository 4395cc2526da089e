"""The teacher's soft labels (models/train/distil.py) reach the student windows they were scored
for: windows are fixed per example (an injected instruction inside its window), keys do not
depend on order, logits survive the one-byte encoding, and the committed artifact is whole."""
import json
import math
import random
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "models" / "train"))
import distil  # noqa: E402
from common import STRIDE  # noqa: E402


def example(n, inj=None, text="doc"):
    return {"ids": list(range(1000, 1000 + n)), "inj_tok": inj, "text": text}


def test_short_text_is_one_whole_window():
    e = example(40)
    assert distil.student_windows(e) == [(0, e["ids"])]


def test_long_text_window_covers_the_injection_and_stays_inside():
    win = distil.WIN
    for t0 in (0, 300, 1500, 1990):
        e = example(2000, inj=(t0, t0 + 10))
        [(s, w)] = distil.student_windows(e)
        assert len(w) == win and 0 <= s <= 2000 - win
        assert s <= t0 and t0 + 10 <= s + win, (t0, s)


def test_long_text_without_injection_is_deterministic_per_text():
    a = distil.student_windows(example(3000, text="alpha"))
    assert a == distil.student_windows(example(3000, text="alpha"))
    starts = {distil.student_windows(example(3000, text=f"doc {i}"))[0][0] for i in range(20)}
    assert len(starts) > 10  # spread over the text, not always its start


def test_window_around_holds_the_spliced_span():
    rng = random.Random(3)
    w = list(range(254))
    starts = set()
    for span in ((0, 20), (100, 130), (230, 254), (10, 200)):
        for _ in range(30):
            c = distil.window_around(w, span, 126, rng)
            assert len(c) == 126 and c == w[c[0]:c[0] + 126]
            if span[1] - span[0] <= 126:
                assert c[0] <= span[0] and span[1] <= c[0] + 126, (span, c[0])
            else:
                assert c[0] == span[0]
            starts.add(c[0])
    assert len(starts) > 20  # the span sits anywhere in the window, not always at one place
    assert distil.window_around(w[:100], (5, 10), 126, rng) == w[:100]


def test_pack_round_trip(tmp_path):
    by_key = {distil.window_key([1, 2, 3]): [0.5, 0.999, 0.001, 1.0, 0.0, 0.2, 0.8],
              distil.window_key([3, 2, 1]): [0.1] * 7}
    path = str(tmp_path / "scores")
    distil.pack(path, by_key, {"teacher_step": 1})
    got = distil.unpack(path)
    assert set(got) == set(by_key)
    for k, probs in by_key.items():
        for p, logit in zip(probs, got[k]):
            want = max(-12.7, min(12.7, math.log(max(1e-7, min(1 - 1e-7, p)) / (1 - max(1e-7, min(1 - 1e-7, p))))))
            assert abs(logit - want) <= 0.051, (p, logit)
    assert json.loads((tmp_path / "scores.json").read_text())["records"] == 2


@pytest.mark.skipif(not (ROOT / "models" / "train" / "teacher-scores.bin.gz").exists(), reason="no committed teacher scores")
def test_committed_teacher_scores_are_whole():
    base = str(ROOT / "models" / "train" / "teacher-scores")
    info = json.loads((ROOT / "models" / "train" / "teacher-scores.json").read_text())
    got = distil.unpack(base)
    assert len(got) == info["records"] == info["student_windows"]
    assert info["heads"][0] == "prompt_attack" and len(info["heads"]) == 7
    # A teacher worth distilling from says both things: some windows attack, most do not.
    pa = [v[0] for v in got.values()]
    assert 0.02 < sum(x > 0 for x in pa) / len(pa) < 0.5


def test_text_key_is_sixteen_hex_digits_of_the_text():
    k = distil.text_key("Ünïcode document")
    assert len(k) == 16 and int(k, 16) >= 0
    assert k == distil.text_key("Ünïcode document") != distil.text_key("Ünïcode document.")


def test_committed_hard_negatives_point_at_windows():
    """train.py finds each window by its document's text_key and first token; mine.py's rounds
    account for every window, each kept once."""
    spec = json.loads((ROOT / "models" / "train" / "hard-negatives.json").read_text())
    wins = spec["windows"]
    assert wins and len({tuple(w) for w in wins}) == len(wins)
    for key, start in wins:
        assert len(key) == 16 and int(key, 16) >= 0
        assert isinstance(start, int) and start >= 0 and start % STRIDE == 0  # a runtime window
    assert sum(r["new"] for r in spec["rounds"]) == len(wins)
    assert all(r["new"] <= r["kept"] <= r["windows_scored"] for r in spec["rounds"])
