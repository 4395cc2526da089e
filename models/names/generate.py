#!/usr/bin/env python3
"""Generates labelled text for the `pii/name` tagger.

Sentences come from templates with name placeholders: the presidio-evaluator templates (English,
read from ../shared/datasets/raw/presidio_evaluator) and the project's own templates in nine
languages (models/names/templates/<lang>.txt: intros, greetings, signatures, attendee lists,
forwarded headers, chat turns, prose, lower-case chat and name-free hard negatives). Names and the
other fillers come from the PyPI `faker` package in the template's locale (and, for English
text, from many locales: names in English text come from everywhere).

Two splits, held out on both axes so the dev figures say something about unseen text:
- templates: a stable hash of the template text sends about a quarter of each language's
  templates to `dev`; a dev template is never trained on;
- names: training text draws faker's names (40 locales; English text also draws from the other
  locales), dev text draws from another source, the FakeNameGenerator sample shipped with
  presidio-evaluator, by name set; Russian (romanised there) keeps a fifth of faker's names,
  by hash, out of training and out of the gazetteers instead.

Output (JSON lines): {"lang", "split", "cat", "text", "spans": [[start, end], ...]} with
code-point offsets of each person name (honorifics and possessive 's outside the span), plus
`first-names-train.txt` and `last-names-train.txt` (the training names: the tagger's lexicons).

    python generate.py --out DIR [--train-per-template 60] [--dev-per-template 6]
"""

import argparse
import csv
import hashlib
import json
import random
import re
from pathlib import Path
import datetime as _dt


class _Real(type):
    """isinstance() and issubclass() answer for the real class, so faker's type checks still
    accept the dates that arithmetic returns."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, cls.__mro__[1])

    def __subclasscheck__(cls, sub):
        return issubclass(sub, cls.__mro__[1])


class _FixedNow(_dt.datetime, metaclass=_Real):
    """faker draws dates up to "now" (weekdays, birth dates, years in its sentences), which made
    the generated text change with the day the pipeline ran: its clock is fixed instead."""

    @classmethod
    def now(cls, tz=None):
        t = cls(2025, 12, 31, 12, 0, 0, tzinfo=_dt.timezone.utc)
        return t.replace(tzinfo=None) if tz is None else t.astimezone(tz)

    @classmethod
    def today(cls):
        return cls(2025, 12, 31, 12, 0, 0)

    @classmethod
    def utcnow(cls):
        return cls(2025, 12, 31, 12, 0, 0)


class _FixedToday(_dt.date, metaclass=_Real):
    @classmethod
    def today(cls):
        return cls(2025, 12, 31)


# Before faker is imported: its modules bind these names at import.
_dt.datetime, _dt.date = _FixedNow, _FixedToday

from faker import Faker  # noqa: E402

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent.parent / "shared" / "datasets"
PRESIDIO = SHARED / "raw/presidio_evaluator/presidio_evaluator/data_generator/raw_data/templates.txt"

LOCALES = {
    "en": ["en_US", "en_GB"],
    "de": ["de_DE", "de_AT"],
    "fr": ["fr_FR"],
    "es": ["es_ES", "es_MX"],
    "it": ["it_IT"],
    "nl": ["nl_NL"],
    "pt": ["pt_BR", "pt_PT"],
    "pl": ["pl_PL"],
    "ru": ["ru_RU"],
}
# Names in English business text come from everywhere.
EXTRA_EN = ["de_DE", "fr_FR", "es_MX", "it_IT", "nl_NL", "pl_PL", "pt_BR", "tr_TR", "sv_SE", "cs_CZ",
            "hu_HU", "fi_FI", "en_IN", "en_IE", "da_DK", "ro_RO", "hr_HR", "id_ID", "en_AU", "en_CA",
            "no_NO", "sk_SK", "sl_SI", "lt_LT", "lv_LV", "et_EE", "de_CH", "fr_CA", "es_AR", "es_CO",
            "uk_UA", "el_GR", "bg_BG", "is_IS", "fil_PH", "en_NZ"]
HONORIFICS = {
    "en": ["Mr.", "Mrs.", "Ms.", "Dr.", "Mr", "Ms", "Prof."],
    "de": ["Herr", "Frau", "Dr.", "Herrn", "Prof."],
    "fr": ["M.", "Mme", "Madame", "Monsieur", "Dr"],
    "es": ["Sr.", "Sra.", "Don", "Doña", "Dr."],
    "it": ["Sig.", "Sig.ra", "Dott.", "Dott.ssa", "Ing."],
    "nl": ["Dhr.", "Mevr.", "mevrouw", "meneer", "Dr."],
    "pt": ["Sr.", "Sra.", "Dr.", "Dra.", "Dona"],
    "pl": ["Pan", "Pani", "dr", "mgr"],
    "ru": ["г-н", "г-жа", "господин", "доктор"],
}
PRODUCTS = ["Excel", "Kubernetes", "PostgreSQL", "Windows 11", "iPhone 15", "Slack", "Jira", "Outlook",
            "Salesforce", "Docker", "Android", "MacBook Pro", "Teams", "Zoom", "Photoshop", "Chrome",
            "Firefox", "Terraform", "GitHub", "Confluence", "SAP", "Azure", "BigQuery", "Redis", "Kafka",
            "Notion", "Figma", "Tableau", "Word", "PowerPoint", "Gmail", "Dropbox", "Python", "React"]
NAME_KEYS = ("first_name", "last_name", "name", "person", "first_name_lower", "name_lower",
             "name_male", "name_female", "first_name_male", "first_name_female",
             "first_name_nonbinary", "last_name_male", "last_name_female")


def h(s):
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


def is_dev(s, k):
    return h(s) % k == 0


def clean(s):
    return s.strip().replace("\u00a0", " ")


FAKE_NAME_GENERATOR = PRESIDIO.parent / "FakeNameGenerator.com_3000.csv"
# FakeNameGenerator's name sets that serve as each language's held-out names.
DEV_NAME_SETS = {
    "en": {"American", "English", "Australian", "Scottish"},
    "de": {"German"}, "fr": {"French"}, "es": {"Spanish"}, "it": {"Italian"}, "nl": {"Dutch"},
    "pt": {"Brazil"}, "pl": {"Polish"},
}


class Names:
    """First and last names to draw from, per split.

    `train`: names faker generates for the locale. `dev`: another source, the FakeNameGenerator
    sample shipped with presidio-evaluator, by name set; for Russian (whose sample there is
    romanised) the faker names whose hash puts them in the dev fifth, which the training text
    and the gazetteers then never contain."""

    def __init__(self, locale, rng, lang=None):
        self.fake = Faker(locale)
        self.fake.seed_instance(h(locale))
        firsts, lasts = set(), set()
        for _ in range(3000):
            firsts.add(clean(self.fake.first_name()))
            lasts.add(clean(self.fake.last_name()))
        held = lang == "ru"
        self.first = {"train": sorted(n for n in firsts if not (held and is_dev(n, 5)))}
        self.last = {"train": sorted(n for n in lasts if not (held and is_dev(n, 5)))}
        if held:
            self.first["dev"] = sorted(n for n in firsts if is_dev(n, 5))
            self.last["dev"] = sorted(n for n in lasts if is_dev(n, 5))
        elif lang in DEV_NAME_SETS:
            with open(FAKE_NAME_GENERATOR, encoding="utf-8-sig") as f:
                people = [r for r in csv.DictReader(f) if r["NameSet"] in DEV_NAME_SETS[lang]]
            self.first["dev"] = sorted({clean(r["GivenName"]) for r in people})
            self.last["dev"] = sorted({clean(r["Surname"]) for r in people})
        self.rng = rng

    def pick(self, split):
        f = self.rng.choice(self.first.get(split) or self.first["train"])
        l = self.rng.choice(self.last.get(split) or self.last["train"])
        return f, l


def load_templates():
    """(lang, cat, template) for every template, presidio's included (lang en, cat presidio)."""
    out = []
    for line in PRESIDIO.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line:
            continue
        cat = "presidio" if any("{{%s}}" % k in line for k in NAME_KEYS) else "presidio_negative"
        # presidio writes line breaks inside a template as a backslash and an "n".
        out.append(("en", cat, line.replace("\\n", "\n")))
    for path in sorted((HERE / "templates").glob("*.txt")):
        lang = path.stem
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#") or "\t" not in line:
                continue
            cat, text = line.split("\t", 1)
            out.append((lang, cat.strip(), text.replace("\\n", "\n")))
    return out


PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def fill(template, lang, split, names, fakes, rng):
    """The template filled in, and the code-point spans of the names."""
    text, spans = [], []
    at = 0
    pos = 0
    fake = fakes[lang]
    for m in PLACEHOLDER.finditer(template):
        lit = template[pos:m.start()]
        text.append(lit)
        at += len(lit)
        key = m.group(1)
        pos = m.end()
        if key in NAME_KEYS:
            pool = names[lang]
            if lang == "en" and split == "train" and rng.random() < 0.35:
                pool = rng.choice(names["_extra"])
            f, l = pool.pick(split)
            if key.startswith("first_name"):
                parts = [f]
            elif key.startswith("last_name"):
                parts = [l]
            else:
                parts = [f, l]
                r = rng.random()
                if r < 0.06:
                    # A middle initial in the name's own script.
                    letters = "АБВГДЕИКЛМНОПРСТФ" if lang == "ru" else "ABCDEFGHJKLMNPRSTW"
                    parts = [f, f"{rng.choice(letters)}.", l]
                elif r < 0.09 and lang != "ru":
                    parts = [f"{f[0]}.", l]
            value = " ".join(parts)
            if key.endswith("_lower"):
                value = value.lower()
            text.append(value)
            # "{{first_name}} {{last_name}}" is one person: one span, as the detector reports it.
            if spans and spans[-1][1] == at - 1 and lit == " ":
                spans[-1][1] = at + len(value)
            else:
                spans.append([at, at + len(value)])
            at += len(value)
            continue
        value = filler(key, lang, fake, rng)
        text.append(value)
        at += len(value)
    text.append(template[pos:])
    return "".join(text), spans


def filler(key, lang, fake, rng):
    try:
        if key in ("prefix", "prefix_male", "prefix_female"):
            return rng.choice(HONORIFICS[lang])
        if key == "product":
            return rng.choice(PRODUCTS)
        if key == "number":
            return str(rng.randint(2, 9999))
        if key == "day" or key == "day_of_week":
            return fake.day_of_week()
        if key == "date" or key == "date_time":
            return fake.date()
        if key == "phone" or key == "phone_number":
            return fake.phone_number()
        if key == "credit_card_number":
            return fake.credit_card_number()
        if key == "age":
            return str(rng.randint(18, 90))
        if key in ("nation_woman", "nation_plural", "nation_man"):
            return fake.country()
        if key == "us_driver_license":
            return fake.bothify("?#######").upper()
        if key == "state_abbr":
            return fake.state_abbr() if hasattr(fake, "state_abbr") else "CA"
        if key == "zipcode":
            return fake.postcode()
        if key == "ip_address":
            return fake.ipv4()
        if key == "organization":
            return fake.company()
        if key == "nationality":
            return fake.country()
        return clean(str(getattr(fake, key)()))
    except AttributeError:
        return fake.word()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--train-per-template", type=int, default=60)
    ap.add_argument("--dev-per-template", type=int, default=6)
    ap.add_argument("--seed", type=int, default=7, help="re-rolls the training texts (the dev texts stay)")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    names = {lang: Names(locs[0], rng, lang) for lang, locs in LOCALES.items()}
    extra = [names[lang] for lang in LOCALES if lang not in ("en", "ru")] + [Names(loc, rng) for loc in EXTRA_EN]
    extra += [Names(loc, rng) for loc in LOCALES["en"][1:]]
    names["_extra"] = extra
    fakes = {lang: Faker(locs[0]) for lang, locs in LOCALES.items()}
    for lang, f in fakes.items():
        f.seed_instance(h("fill" + lang))
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    templates = load_templates()
    counts = {}
    with open(out / "names.jsonl", "w", encoding="utf-8") as w:
        for lang, cat, t in templates:
            split = "dev" if is_dev(lang + "\x00" + t, 4) else "train"
            n = a.dev_per_template if split == "dev" else a.train_per_template
            if "negative" in cat:
                n = max(1, n // 2)
            # Each template draws from its own stream: adding or editing one leaves the others'
            # texts as they were, and --seed re-rolls the training texts only (dev stays put).
            s = a.seed if split == "train" else 7
            rng.seed(h(f"{s}\x00{lang}\x00{t}"))
            fakes[lang].seed_instance(h(f"fill\x00{s}\x00{lang}\x00{t}"))
            for _ in range(n):
                text, spans = fill(t, lang, split, names, fakes, rng)
                w.write(json.dumps({"lang": lang, "split": split, "cat": cat, "text": text, "spans": spans},
                                   ensure_ascii=False) + "\n")
                counts[(lang, split)] = counts.get((lang, split), 0) + 1
    # Gazetteers: the training names (faker's), never a dev name.
    firsts, lasts = set(), set()
    for pool in [names[lang] for lang in LOCALES] + extra:
        firsts.update(pool.first["train"])
        lasts.update(pool.last["train"])
    (out / "first-names-train.txt").write_text("\n".join(sorted(firsts)) + "\n", encoding="utf-8")
    (out / "last-names-train.txt").write_text("\n".join(sorted(lasts)) + "\n", encoding="utf-8")
    for (lang, split), n in sorted(counts.items()):
        print(f"{lang} {split} {n}")
    print(f"gazetteers: {len(firsts)} first names, {len(lasts)} last names (train split)")


if __name__ == "__main__":
    main()
