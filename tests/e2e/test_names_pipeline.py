"""The name tagger's pipeline joins the committed teacher labels to the texts they were made from
(`models/names/prepare.py`), and refuses labels made from other texts."""
import gzip
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "models" / "names"))
import prepare  # noqa: E402

TEXTS = ["Ask Carla about the invoice.", "nothing to see here", "Meet Ana Silva at noon."]


def write(tmp_path, texts, words, digest_of=None):
    (tmp_path / "weak.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    art = tmp_path / "silver-labels.json.gz"
    with gzip.open(art, "wt", encoding="utf-8") as f:
        json.dump({"texts_scored": len(texts), "scored_digest": prepare.scored_digest(digest_of or texts),
                   "floor": 0.1, "words": words}, f)
    return art


def test_teacher_words_join_their_texts(tmp_path, monkeypatch):
    words = {prepare.text_key(TEXTS[0]): [[4, 9, 0.97]], prepare.text_key(TEXTS[2]): [[5, 8, 0.91], [9, 14, 0.88]]}
    monkeypatch.setattr(prepare, "SILVER", write(tmp_path, TEXTS, words))
    assert prepare.silver(tmp_path) == 3
    rows = [json.loads(line) for line in (tmp_path / "silver.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["text"] for r in rows] == TEXTS
    assert rows[0]["words"] == [[4, 9, 0.97]] and TEXTS[0][4:9] == "Carla"
    # A text the teacher found nothing in is kept, every word at p = 0 to the trainer.
    assert rows[1]["words"] == []
    assert [TEXTS[2][a:b] for a, b, _ in rows[2]["words"]] == ["Ana", "Silva"]


def test_labels_of_other_texts_are_refused(tmp_path, monkeypatch):
    (tmp_path / "silver.jsonl").write_text("left by an earlier run\n", encoding="utf-8")
    monkeypatch.setattr(prepare, "SILVER", write(tmp_path, TEXTS, {}, digest_of=TEXTS[:2]))
    with pytest.raises(SystemExit, match="other texts than weak.jsonl"):
        prepare.silver(tmp_path)
    assert not (tmp_path / "silver.jsonl").exists()


def test_no_artifact_no_silver(tmp_path, monkeypatch):
    (tmp_path / "weak.jsonl").write_text(json.dumps({"text": TEXTS[0]}) + "\n", encoding="utf-8")
    (tmp_path / "silver.jsonl").write_text("left by an earlier run\n", encoding="utf-8")
    monkeypatch.setattr(prepare, "SILVER", tmp_path / "missing.json.gz")
    assert prepare.silver(tmp_path) == 0
    assert not (tmp_path / "silver.jsonl").exists()
