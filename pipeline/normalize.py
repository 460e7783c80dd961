"""Persian text normalization: the one place where spelling variation is handled.

Every stage sees text only after :func:`normalize`; offsets in the outputs index into its result.
:func:`match_key` is the looser form used to *compare* names (gold scoring, resolution keys).

What hazm's Normalizer does not do and we add here:
- fold ؤ→و, أ/إ/ٱ→ا, ة→ه, ۀ→ه, Arabic ي/ى→ی and ك→ک before hazm sees the text;
- digits: Persian (۰-۹) and Arabic-Indic (٠-٩) become ASCII, so dates and counts parse the same way
  whatever the site used (hazm would turn everything into Persian digits instead);
- zero-width characters: ZWJ, bidi marks and BOM removed; doubled ZWNJ collapsed; ZWNJ next to a space
  or at a word edge dropped;
- spelling variants that carry «ئ» or a joined title (هیئت→هیات, رییس→رئیس, «مدیر کل»→«مدیرکل») from
  ``data/spelling.tsv``;
- «(ره)»-style marks always spaced from the preceding word: «امام(ره)» → «امام (ره)»;
- the compound suffixes «نژاد», «پور», «زاده» joined to their word when written spaced («خسروی نژاد»).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pipeline.lexicons import read_pairs

ZWNJ = "\u200c"

_CHAR_FOLD = str.maketrans(
    {
        "ي": "ی",
        "ى": "ی",
        "ك": "ک",
        "ؤ": "و",  # «ئ» is kept («رئیس» is standard); its word-level variants live in data/spelling.tsv
        "أ": "ا",
        "إ": "ا",
        "ٱ": "ا",
        "ة": "ه",
        "ۀ": "ه",
        "ھ": "ه",
        "ە": "ه",
        "ے": "ی",
        "ۍ": "ی",
        "ێ": "ی",
        "ڪ": "ک",
        "٬": "،",
        "٫": ".",
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u200a": " ",
        "\u3000": " ",
        "\t": " ",
        "\r": "\n",
        "\u2028": "\n",
        "\u2029": "\n",
        "\u0640": "",  # tatweel
    }
)
_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")

# Invisible characters that carry no meaning in our text: ZWJ, LRM/RLM, bidi embeddings/isolates, BOM,
# soft hyphen.  ZWNJ is meaningful (word-internal joiner) and handled separately.
_INVISIBLE = re.compile("[\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad\u200b]")
# C0/C1 control characters other than newline (XML 1.0 cannot hold them; they are never text).
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_DIACRITICS = re.compile("[\u064b-\u065f\u0670\u06d6-\u06ed]")
_MULTI_ZWNJ = re.compile(ZWNJ + "{2,}")
_ZWNJ_EDGE = re.compile(rf"(?:(?<=\s){ZWNJ}+|{ZWNJ}+(?=\s)|^{ZWNJ}+|{ZWNJ}+$|{ZWNJ}+(?=[^\w{ZWNJ}])|(?<=[^\w{ZWNJ}]){ZWNJ}+)")
_SPACES = re.compile(r"[ ]{2,}")
_MARK = re.compile(r"\s*\(\s*(ره|عج|ع|س|ص|رض|قده)\s*\)")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_ADDRESS = re.compile(r"(?:https?://|www\.)[^\s<>«»\"]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_PLACEHOLDER = re.compile(r"QQADDRESS([a-j]+)QQ")
_SPACE_AROUND_NEWLINE = re.compile(r" *\n *")
# compound suffixes written spaced when the site lost the ZWNJ: «خسروی نژاد» → «خسروی‌نژاد», «حسن پور»,
# «رضا زاده»: joined they are one word (surnames mostly), as the standard spelling has them
_SPACED_SUFFIX = re.compile(r"(?<=[\u0600-\u06ff]) (نژاد|پور|زاده)(?![\w\u200c])")


# hazm's modules that Peyvand uses (its normalizer and tokenizers), in the order hazm's own __init__
# imports them, and the names each puts on the package: they import one another through it
# (``from hazm import WordTokenizer``)
_HAZM_CORE = (
    ("hazm.utils", ("default_verbs", "default_words", "stopwords_list", "words_list", "maketrans",
                    "regex_replace", "NUMBERS", "informal_verbs", "informal_words", "abbreviations")),
    ("hazm.stemmer", ("Stemmer",)),
    ("hazm.word_tokenizer", ("WordTokenizer",)),
    ("hazm.lemmatizer", ("Conjugation", "Lemmatizer")),
    ("hazm.normalizer", ("Normalizer",)),
    ("hazm.sentence_tokenizer", ("SentenceTokenizer",)),
)
# imported by nltk (which hazm's tokenizers import) only for optional helpers, each behind
# ``try: ... except ImportError``: scikit-learn for its classifier wrapper and a parser, SciPy for
# two statistical tests and that parser
_NLTK_OPTIONAL = ("sklearn", "scipy")


def import_hazm():
    """hazm, with the tools Peyvand uses imported now and the rest on first use.

    ``import hazm`` imports every tool hazm has (taggers, chunker, gensim embeddings, corpus readers) and,
    through nltk, scikit-learn and SciPy: about 0.9 s in every process that normalizes text, most of
    a daily re-run's ingest.  Here the package is made without running its ``__init__``; the modules of
    the normalizer and tokenizers are imported in hazm's order and their names set on the package, as its
    ``__init__`` would.  Any other name (``hazm.POSTagger``) runs hazm's ``__init__`` in the package on
    first access, so code that later does ``import hazm`` gets the whole package.

    While nltk is imported, scikit-learn and SciPy are hidden (``None`` in ``sys.modules``, Python's way to
    block an import), so nltk takes them as not installed: in a process where this runs before they are
    imported, nltk's scikit-learn classifier wrapper, transition parser and SciPy-based tests are off.
    Import them first to keep them.  Nothing is changed when hazm is already imported."""
    import importlib
    import importlib.util
    import sys

    if "hazm" in sys.modules:
        return sys.modules["hazm"]
    spec = importlib.util.find_spec("hazm")
    if spec is None or spec.loader is None:
        raise ImportError("hazm is not installed: pip install hazm")
    package = importlib.util.module_from_spec(spec)

    def load_the_rest(name: str):
        if name.startswith("__"):  # probes (copy, pickle, inspect) are not a reason to load everything
            raise AttributeError(name)
        del package.__getattr__
        spec.loader.exec_module(package)  # hazm's own __init__: its core imports are done already
        return getattr(package, name)

    hidden = [name for name in _NLTK_OPTIONAL if name not in sys.modules]
    sys.modules["hazm"] = package
    try:
        for name in hidden:
            sys.modules[name] = None
        for module_name, names in _HAZM_CORE:
            module = importlib.import_module(module_name)
            for name in names:
                setattr(package, name, getattr(module, name))
    except BaseException:
        del sys.modules["hazm"]
        raise
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
    package.__getattr__ = load_the_rest
    return package


@lru_cache(maxsize=1)
def _hazm_normalizer():
    """hazm's Normalizer, from a snapshot in the user's cache folder when one exists: building it reads and
    conjugates hazm's word and verb lists (~1.5 s in every process and worker), loading the snapshot
    takes a tenth of that.  The snapshot is keyed by hazm's version and rebuilt when it cannot be read."""
    import sys
    from importlib.metadata import version

    from pipeline.lexicons import load_snapshot, save_snapshot

    hazm = import_hazm()

    name = f"hazm-{version('hazm')}-normalizer-py{sys.version_info[0]}{sys.version_info[1]}.pickle"
    state = load_snapshot(name)
    if isinstance(state, dict) and {"normalizer", "tokenizer"} <= set(state):
        return _restore(state)
    # persian_numbers=False: digits are folded to ASCII by us.  seperate_mi and correct_spacing fix
    # «می شود» and lost ZWNJ before suffixes («حوزههای» → «حوزه‌های»).
    # persian_style=False: it would turn decimal points into «٫» and spaces around them (not idempotent)
    normalizer = hazm.Normalizer(persian_numbers=False, persian_style=False)
    # the snapshot holds the objects' attributes, not the objects: hazm's WordTokenizer keeps two lambdas
    # (number and hashtag replacement, unused with our options) that cannot be pickled
    save_snapshot(name, {
        "normalizer": {k: v for k, v in vars(normalizer).items() if k != "tokenizer"},
        "tokenizer": {k: v for k, v in vars(normalizer.tokenizer).items() if not callable(v)},
    })
    return normalizer


def _restore(state: dict):
    hazm = import_hazm()

    tokenizer = hazm.WordTokenizer.__new__(hazm.WordTokenizer)
    tokenizer.__dict__.update(state["tokenizer"])
    normalizer = hazm.Normalizer.__new__(hazm.Normalizer)
    normalizer.__dict__.update(state["normalizer"])
    normalizer.tokenizer = tokenizer
    return normalizer


def release_hazm() -> None:
    """Let hazm's normalizer and tokenizers go (~100 MB of word lists): a stage that has finished with
    raw text calls it, so `peyvand run` does not carry them through resolve and graph.  They are rebuilt
    from the snapshot if needed again.  They hold no reference cycles: they are freed here, without a
    garbage collection (which would walk every object of the process, 0.1 s of a daily re-run)."""
    from pipeline.segment import _sentence_tokenizer

    _hazm_normalizer.cache_clear()
    _sentence_tokenizer.cache_clear()


def hazm_word_tokenizer():
    """The Normalizer's own WordTokenizer (join_verb_parts=False): segmentation reuses it instead of
    reading hazm's word list a second time."""
    return _hazm_normalizer().tokenizer


@lru_cache(maxsize=1)
def _spelling() -> tuple[re.Pattern, dict[str, str]]:
    pairs = {}
    for variant, standard in read_pairs("spelling.tsv"):
        pairs[_fold_chars(variant)] = standard
    alternatives = sorted(pairs, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w" + ZWNJ + r"])(" + "|".join(re.escape(a) for a in alternatives) + r")(?![\w" + ZWNJ + r"])"
    )
    return pattern, pairs


# str.translate walks every character in Python-level lookups (deletions force its slow path); the
# characters to fold are rare, so a regex finds them ten times faster
_FOLD_TABLE = {chr(k): (v if isinstance(v, str) else chr(v) if v is not None else "") for k, v in {**_CHAR_FOLD, **_DIGITS}.items()}
_FOLD = re.compile("[" + "".join(re.escape(c) for c in _FOLD_TABLE) + "]")
_DIGIT_CHARS = re.compile("[۰-۹٠-٩]")


def _fold_chars(text: str) -> str:
    return _FOLD.sub(lambda m: _FOLD_TABLE[m.group()], text)


def _normalize_line(line: str) -> str:
    """Our corrections after hazm, per line (hazm has already run over the whole text)."""
    if not line.strip():
        return ""
    # hazm may reintroduce Persian digits in some paths and leaves «(ره)» unspaced after some words.
    if _DIGIT_CHARS.search(line):
        line = line.translate(_DIGITS)
    line = _MARK.sub(lambda m: f" ({m.group(1)})", line)
    # ZWNJ clean-up before the word-level variants («0 ‌مدیر کل»: hazm spaced a digit off a ZWNJ)
    line = _SPACES.sub(" ", _ZWNJ_EDGE.sub("", _MULTI_ZWNJ.sub(ZWNJ, line)))
    pattern, pairs = _spelling()
    line = pattern.sub(lambda m: pairs[m.group(1)], line)
    line = _SPACED_SUFFIX.sub(ZWNJ + r"\1", line)
    line = _ZWNJ_EDGE.sub("", _MULTI_ZWNJ.sub(ZWNJ, line))
    return _SPACES.sub(" ", line).strip()


def normalize(text: str) -> str:
    """Return the canonical form of ``text``.  Idempotent; keeps line breaks (paragraphs)."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub(" ", text.replace("\r\n", "\n"))
    text = _DIACRITICS.sub("", _fold_chars(text))
    # a ZWNJ that joins nothing (next to a space or a punctuation mark) goes before hazm sees the text:
    # removed after it, it could leave «، ،» that a second pass would close up (not idempotent)
    text = _ZWNJ_EDGE.sub("", _MULTI_ZWNJ.sub(ZWNJ, text))
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    if text.strip():
        # hazm's spacing rules would break addresses («behzisti.ir» → «behzisti. ir»): set them aside
        kept: list[str] = []

        def hide(m: re.Match) -> str:
            kept.append(m.group(0))
            # letters only: hazm would space digits away from letters
            return "QQADDRESS" + "".join(chr(97 + int(d)) for d in str(len(kept) - 1)) + "QQ"

        text = _ADDRESS.sub(hide, text)
        # one hazm call for the whole text: hazm keeps line breaks, and each call rebuilds its tables
        text = _hazm_normalizer().normalize(text)
        if kept:
            def restore(m: re.Match) -> str:
                index = int("".join(str(ord(c) - 97) for c in m.group(1)))
                return kept[index] if index < len(kept) else m.group(0)

            text = _PLACEHOLDER.sub(restore, text)
    lines = [_normalize_line(line) for line in text.split("\n")]
    text = "\n".join(lines)
    return _MANY_NEWLINES.sub("\n\n", text).strip()


_KEY_DROP = re.compile(r"[\s" + ZWNJ + r"\u200d\W_]+")
_KEY_MARK = re.compile(r"\((?:ره|عج|ع|س|ص|رض|قده|ه)\)|علیه السلام")


def normalize_many(items: list[str], batch: int = 2000) -> list[str]:
    """``[normalize(x) for x in items]``, a batch of items per hazm call (hazm rebuilds its tables on every
    call, which dominates the cost for short strings such as lexicon entries and tokens)."""
    out: list[str] = []
    for lo in range(0, len(items), batch):
        chunk = [x.replace("\n", " ") for x in items[lo : lo + batch]]
        lines = normalize("\n".join(chunk)).split("\n") if chunk else []
        if len(lines) != len(chunk) or any(not line for line in lines):
            # an entry normalized to nothing shifted the lines: this batch one by one
            lines = [normalize(x) for x in chunk]
        out.extend(lines)
    return out


def match_key(text: str, strip_honorifics: bool = False) -> str:
    """A comparison key: folded letters, no diacritics, ZWNJ, spaces, punctuation or «(ره)» marks.

    ``strip_honorifics`` removes leading forms of address (دکتر، آقای ...) for person names.
    """
    text = unicodedata.normalize("NFKC", text or "")
    text = _DIACRITICS.sub("", _fold_chars(text)).replace("ئ", "ی")
    pattern, pairs = _spelling()
    text = pattern.sub(lambda m: pairs[m.group(1)], text.replace(ZWNJ, " "))
    text = _KEY_MARK.sub(" ", text)
    if strip_honorifics:
        text = strip_leading_honorifics(text)
    return _KEY_DROP.sub("", text).replace("ئ", "ی")


def strip_leading_honorifics(name: str) -> str:
    from pipeline.lexicons import lexicons

    tokens = name.split()
    honorifics = lexicons().honorifics
    i = 0
    while i < len(tokens):
        for n in (3, 2, 1):
            if " ".join(tokens[i : i + n]) in honorifics:
                i += n
                break
        else:
            break
    return " ".join(tokens[i:])
