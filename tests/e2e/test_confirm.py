"""The calibration's reading of a document's high windows (`tool_confirm`) is the runtime's:
`common.confirmed_logits`, which `calibrate.py` fits the document thresholds with, lowers a
window's head to the agree-th highest of its moved windows, keeps moved windows inside the text,
leaves heads without document thresholds and one-window texts alone (the same cases as
filter/src/model/tests.rs, `a_documents_high_windows_are_confirmed_at_moved_starts`)."""
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "models" / "train"))
from common import WIN, confirmed_logits  # noqa: E402

SHIFTS = [-128, -64, 64, 128]


def scorer(calls):
    """A window's logits: head 0 is its first token id, head 1 ten more; records each window."""
    def score(w):
        calls.append((w[0], len(w)))
        return [float(w[0]), float(w[0]) + 10.0]
    return score


def test_a_high_window_takes_the_agree_th_highest_moved_window():
    ids = list(range(1000))
    calls = []
    # The window at 384; moved windows start at 256, 320, 448, 512: their head-0 logits.
    out = confirmed_logits([900.0, 900.0], ids, 384, scorer(calls), [0], SHIFTS, 2, 0.0)
    assert calls == [(256, WIN), (320, WIN), (448, WIN), (512, WIN)]
    assert out == [448.0, 900.0]  # second highest of 256/320/448/512; head 1 has no document thresholds
    assert confirmed_logits([900.0, 0.0], ids, 384, scorer([]), [0], SHIFTS, 1, 0.0)[0] == 512.0
    # A window already below its moved ones keeps its own logit.
    assert confirmed_logits([100.0, 0.0], ids, 384, scorer([]), [0], SHIFTS, 2, 0.0)[0] == 100.0


def test_moved_windows_stay_inside_the_text():
    ids = list(range(600))  # last start 600 - 254 = 346
    calls = []
    confirmed_logits([900.0, 0.0], ids, 0, scorer(calls), [0], SHIFTS, 2, 0.0)
    assert [c[0] for c in calls] == [0, 0, 64, 128]
    calls.clear()
    confirmed_logits([900.0, 0.0], ids, 384, scorer(calls), [0], SHIFTS, 2, 0.0)  # the short last window
    assert [c[0] for c in calls] == [256, 320, 346, 346] and all(n == WIN for _, n in calls)


def test_only_windows_at_or_over_from_and_only_long_texts_are_confirmed():
    ids = list(range(1000))
    calls = []
    assert confirmed_logits([5.0, 5.0], ids, 384, scorer(calls), [0], SHIFTS, 2, 6.0) == [5.0, 5.0]
    assert calls == []  # nothing due: no extra window is run
    short = list(range(WIN))
    assert confirmed_logits([900.0, 0.0], short, 0, scorer(calls), [0], SHIFTS, 2, 0.0) == [900.0, 0.0]
    assert calls == []


def test_a_teachers_window_size_moves_windows_of_that_size():
    ids = list(range(400))
    calls = []
    confirmed_logits([900.0, 0.0], ids, 192, scorer(calls), [0], [-64, 64], 1, 0.0, win=126)
    assert calls == [(128, 126), (256, 126)]
