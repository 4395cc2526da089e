#!/usr/bin/env python3
"""Check real-labels.jsonl against the source texts and print every excerpt with its
names marked [[like this]] for a human reviewer.

Standard library only.  The texts are read from DATA_DIR (default
../shared/datasets beside the checkout); nothing from them is stored in the repository.

Checks: required fields and kinds; the row exists; 0 <= start < end <= len(text);
40 <= excerpt length <= 1200 code points; name spans are inside the excerpt, sorted,
non-overlapping, non-empty and have no leading/trailing whitespace or punctuation;
no duplicate excerpts.  Exit status 1 if any check fails.

Usage: python3 check_real.py [--data DIR] [--labels FILE] [--quiet] [--only FILE_SUBSTR]
"""
import argparse
import collections
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from build_real import DEFAULT_DATA, load_rows as load_texts  # noqa: E402  (one reader for both scripts)
KINDS = {"chat", "email", "notes", "prompt", "prose", "doc", "code"}
EDGE_BAD = set(" \t\r\n.,;:!?\"'()[]{}<>«»“”‘’`")
EDGE_OK_END = {"."}  # an initial may end a span ("M. C. Escher" ends in a letter, but "Gomez, Aidan N." ends in '.')


def mark(ex, spans):
    out, pos = [], 0
    for s, e in spans:
        out.append(ex[pos:s])
        out.append("[[" + ex[s:e] + "]]")
        pos = e
    out.append(ex[pos:])
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--labels", default=os.path.join(HERE, "real-labels.jsonl"))
    ap.add_argument("--quiet", action="store_true", help="only print problems and the summary")
    ap.add_argument("--only", default=None, help="print only items whose file contains this")
    args = ap.parse_args()

    problems = []
    seen = set()
    by_file = collections.Counter()
    by_kind = collections.Counter()
    by_lang = collections.Counter()
    pos_by_kind = collections.Counter()
    n_names = 0
    n_pos = 0
    with open(args.labels, encoding="utf-8") as fh:
        lines = [l for l in fh if l.strip()]
    for i, line in enumerate(lines, 1):
        try:
            o = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append("line %d: bad JSON: %s" % (i, err))
            continue
        missing = [k for k in ("file", "row", "start", "end", "kind", "lang", "names") if k not in o]
        if missing:
            problems.append("line %d: missing %s" % (i, missing))
            continue
        where = "line %d (%s row %s)" % (i, o["file"], o["row"])
        if o["kind"] not in KINDS:
            problems.append("%s: unknown kind %r" % (where, o["kind"]))
        try:
            texts = load_texts(args.data, o["file"])
        except OSError as err:
            problems.append("%s: cannot read source: %s" % (where, err))
            continue
        if not (isinstance(o["row"], int) and 0 <= o["row"] < len(texts)):
            problems.append("%s: row out of range (file has %d rows)" % (where, len(texts)))
            continue
        text = texts[o["row"]]
        s, e = o["start"], o["end"]
        if not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)):
            problems.append("%s: excerpt [%r, %r) out of range (text has %d code points)"
                            % (where, s, e, len(text)))
            continue
        ex = text[s:e]
        if not 40 <= len(ex) <= 1200:
            problems.append("%s: excerpt length %d not in 40..1200" % (where, len(ex)))
        key = (o["file"], o["row"], s, e)
        if key in seen:
            problems.append("%s: duplicate excerpt" % where)
        seen.add(key)
        spans = []
        prev_end = 0
        for sp in o["names"]:
            if not (isinstance(sp, list) and len(sp) == 2 and all(isinstance(x, int) for x in sp)):
                problems.append("%s: bad span %r" % (where, sp))
                continue
            a, b = sp
            if not (0 <= a < b <= len(ex)):
                problems.append("%s: span %r outside excerpt of length %d" % (where, sp, len(ex)))
                continue
            if a < prev_end:
                problems.append("%s: span %r overlaps or is out of order" % (where, sp))
            if ex[a] in EDGE_BAD or (ex[b - 1] in EDGE_BAD and ex[b - 1] not in EDGE_OK_END):
                problems.append("%s: span %r = %r has whitespace/punctuation at an edge" % (where, sp, ex[a:b]))
            prev_end = b
            spans.append((a, b))
        by_file[o["file"]] += 1
        by_kind[o["kind"]] += 1
        by_lang[o["lang"]] += 1
        n_names += len(spans)
        if spans:
            n_pos += 1
            pos_by_kind[o["kind"]] += 1
        if not args.quiet and (args.only is None or args.only in o["file"]):
            print("=" * 78)
            print("#%d %s row %d [%d:%d] kind=%s lang=%s names=%d"
                  % (i, o["file"], o["row"], s, e, o["kind"], o["lang"], len(spans)))
            print(mark(ex, spans))
            if spans:
                print("  -> " + " | ".join(ex[a:b] for a, b in spans))

    total = sum(by_file.values())
    print("=" * 78)
    print("excerpts: %d  with names: %d (%.0f%%)  without: %d  name spans: %d"
          % (total, n_pos, 100.0 * n_pos / max(total, 1), total - n_pos, n_names))
    print("by file: " + ", ".join("%s %d" % kv for kv in sorted(by_file.items())))
    print("by kind: " + ", ".join("%s %d (%d with names)" % (k, v, pos_by_kind[k])
                                  for k, v in sorted(by_kind.items())))
    print("by lang: " + ", ".join("%s %d" % kv for kv in sorted(by_lang.items())))
    if problems:
        print("PROBLEMS (%d):" % len(problems))
        for p in problems:
            print("  " + p)
        sys.exit(1)
    print("OK: all offsets in range")


if __name__ == "__main__":
    main()
