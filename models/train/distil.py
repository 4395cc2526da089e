"""The teacher's soft labels as a committed artifact, and the student windows they belong to.

`student_windows(e)` fixes, per training example, the windows of the shipped model's size that
distillation trains on: the whole text when it fits, otherwise the window that covers an injected
instruction (centred on it) or, without one, one window at an offset taken from a hash of the
text. Both the scoring stage (`teacher.py --score-train`) and the student read windows through
this function, and find a window's scores by `window_key` (a hash of its token ids), so the
artifact does not depend on example order or on the rest of the data build.

File format (`<name>.bin.gz`): gzip of records sorted by key, each 8 bytes of key and one signed
byte per head: the teacher's logit x 10, rounded and clipped to +-12.7 (a probability's resolution
near 0 and 1 is what distillation needs); `<name>.json` beside it says which teacher made them.
"""
import gzip
import hashlib
import json
import math
import struct

from common import HEADS, WIN

REC = struct.Struct("<8s%db" % len(HEADS))


def window_key(ids):
    return hashlib.sha1(struct.pack("<%di" % len(ids), *ids)).digest()[:8]


def text_key(text):
    """An example's key in mine.py's hard-negative file: the first 16 hex digits of its text's SHA-1."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def student_windows(e, win=WIN):
    """[(start, ids)] of one example's distillation windows (content tokens, no specials)."""
    ids = e["ids"]
    if len(ids) <= win:
        return [(0, ids)]
    if e.get("inj_tok"):
        t0, t1 = e["inj_tok"]
        s = max(0, min(len(ids) - win, (t0 + t1) // 2 - win // 2))
    else:
        h = int.from_bytes(hashlib.sha1(e["text"].encode("utf-8")).digest()[:4], "little")
        s = h % (len(ids) - win + 1)
    return [(s, ids[s:s + win])]


def window_around(w, span, win, rng):
    """A window of at most `win` tokens of `w` that holds the token span `span` (its first `win`
    tokens if longer), at a random offset: the teacher's window of a spliced instruction."""
    if len(w) <= win:
        return w
    lo, hi = max(0, min(span[1], span[0] + win) - win), min(span[0], len(w) - win)
    s = rng.randint(lo, max(lo, hi))
    return w[s:s + win]


def to_byte(p):
    p = min(1 - 1e-7, max(1e-7, p))
    return max(-127, min(127, round(10 * math.log(p / (1 - p)))))


def pack(path, by_key, info):
    with gzip.GzipFile(path + ".bin.gz", "wb", mtime=0) as f:
        for k in sorted(by_key):
            f.write(REC.pack(k, *(to_byte(p) for p in by_key[k])))
    with open(path + ".json", "w") as f:
        json.dump(dict(info, records=len(by_key), format="sha1(window ids as int32 LE)[:8] + int8 logit x 10 per head"), f, indent=1)
        f.write("\n")


def unpack(path):
    """{key: [teacher logits per head]}"""
    with gzip.open(path + ".bin.gz", "rb") as f:
        data = f.read()
    return {r[0]: [x / 10 for x in r[1:]] for r in REC.iter_unpack(data)}
