"""Domain knowledge loaded from the data files in ``pipeline/data`` (titles, org heads, gazetteer,
places, name lexicons).  Files are plain text/TSV so a user can edit them; every entry is normalized on
load with the pipeline's own normalizer, so an entry typed with Arabic ي or a lost ZWNJ still matches.

:func:`lexicons` returns one cached :class:`Lexicons`; :func:`rules_version` hashes the files so a
changed rule marks the ``ner`` stage (and everything after it) stale.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

DATA_DIR_ENV = "PEYVAND_DATA_DIR"


def data_dir() -> Path:
    """The folder holding the lexicons (override with $PEYVAND_DATA_DIR to use an edited copy)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("pipeline") / "data"))


def read_lines(name: str) -> list[str]:
    """Non-empty, non-comment lines of a data file."""
    path = data_dir() / name
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.rstrip()
        if line.strip() and not line.lstrip().startswith("#"):
            out.append(line)
    return out


def read_pairs(name: str) -> list[tuple[str, str]]:
    return [tuple((line.split("\t") + [""])[:2]) for line in read_lines(name)]  # type: ignore[misc]


def read_rows(name: str, width: int) -> list[list[str]]:
    return [(line.split("\t") + [""] * width)[:width] for line in read_lines(name)]


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of the package's own code: a new Peyvand (or an edited rule in code) invalidates the cache."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def rules_version() -> str:
    """A hash of every data file and of the code: part of the cache key of the rule-based stages."""
    digest = hashlib.sha256(code_version().encode())
    for path in sorted(data_dir().glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


Phrase = tuple[str, ...]


class PhraseTable:
    """Token-sequence lookup: longest entry starting at a position."""

    def __init__(self, entries: dict[Phrase, object] | None = None):
        self._by_first: dict[str, list[tuple[Phrase, object]]] = {}
        self.entries: dict[Phrase, object] = {}
        for phrase, value in (entries or {}).items():
            self.add(phrase, value)

    def add(self, phrase: Phrase, value: object = True) -> None:
        if not phrase:
            return
        self.entries[phrase] = value
        bucket = self._by_first.setdefault(phrase[0], [])
        bucket.append((phrase, value))
        bucket.sort(key=lambda item: len(item[0]), reverse=True)

    def match(self, tokens: list[str], i: int) -> tuple[int, object] | None:
        """(length, value) of the longest entry that starts at ``tokens[i]``, or None."""
        if i >= len(tokens):
            return None
        bucket = self._by_first.get(tokens[i])
        if bucket is None:  # most tokens start no entry: one dict lookup
            return None
        for phrase, value in bucket:  # longest first; the first token is equal by construction
            n = len(phrase)
            if n == 1 or tuple(tokens[i : i + n]) == phrase:
                return n, value
        return None

    def __contains__(self, phrase: object) -> bool:
        return phrase in self.entries


@dataclass
class GazetteerEntry:
    canonical: str
    aliases: list[str]
    core: str = ""
    province_office: str = ""  # name template of its provincial office: «اداره کل بهزیستی استان {province}»
    county_office: str = ""  # ... and of its county office: «اداره بهزیستی شهرستان {county}»


@dataclass
class Lexicons:
    titles: PhraseTable
    title_offices: dict[str, str]  # role → head of the office a bare place after it names
    honorifics: set[str]
    honorific_table: PhraseTable
    name_parts: set[str]
    venue_nouns: set[str]
    speech_verbs: PhraseTable
    org_heads: PhraseTable  # value: kind
    gazetteer: PhraseTable  # value: GazetteerEntry
    gazetteer_entries: list[GazetteerEntry]
    cores: dict[str, GazetteerEntry]
    provinces: PhraseTable  # value: canonical province name
    counties: PhraseTable  # value: province
    first_names: PhraseTable  # value: True when ambiguous (also a common word)
    surnames: set[str]
    function_words: set[str]
    org_words: set[str]
    portfolios: set[str]
    ambiguous_places: set[str]
    weak_heads: set[str]
    title_blockers: PhraseTable
    common_words: set[str] = field(default_factory=set)


def _tok(text: str) -> Phrase:
    """An entry's tokens as the segmenter gives them: the comma of «وزارت تعاون، کار و ...» is a token."""
    from pipeline.normalize import normalize

    return tuple(normalize(text).replace("،", " ، ").replace(",", " , ").split()) if text else ()


def _template(text: str) -> str:
    """A name template normalized around its {province}/{county} placeholders."""
    from pipeline.normalize import normalize

    if not text.strip():
        return ""
    # placeholders out of the normalizer's way (Latin survives it), then back
    text = text.replace("{province}", " qqprovinceqq ").replace("{county}", " qqcountyqq ")
    return normalize(text).replace("qqprovinceqq", "{province}").replace("qqcountyqq", "{county}")


def _name_variants(name: str) -> list[str]:
    """«حجت‌الله» is written joined, with ZWNJ, spaced, or as «اله»."""
    out = {name}
    for sep_form in ("‌الله", "الله"):
        if name.endswith(sep_form) and len(name) > len(sep_form):
            stem = name[: -len(sep_form)]
            out |= {stem + "الله", stem + "‌الله", stem + " الله", stem + " اله", stem + "‌اله", stem + "اله"}
    if name.startswith("عبدال") and len(name) > 5:
        out.add("عبد ال" + name[5:])
    if name.startswith("محمد") and len(name) > 5 and name not in ("محمدی",):
        out.add("محمد " + name[4:])
    if name.startswith("غلام") and len(name) > 5:
        out.add("غلام " + name[4:])
    if name.startswith("علی") and len(name) > 4 and name[3] != "ی":
        out.add("علی " + name[3:].lstrip("‌"))
    return sorted(out)


def user_cache_dir() -> Path:
    """Where Peyvand keeps what it can rebuild (snapshots of hazm's normalizer and of the lexicons):
    $PEYVAND_CACHE_DIR, else $XDG_CACHE_HOME/peyvand, else ~/.cache/peyvand."""
    root = os.environ.get("PEYVAND_CACHE_DIR")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "peyvand"


# Snapshots: objects that take seconds to build, pickled into the user's own cache folder by Peyvand
# itself and read only from there; any failure to read or write one means building it as before.
def load_snapshot(name: str):
    import pickle

    try:
        with open(user_cache_dir() / name, "rb") as handle:
            return pickle.load(handle)
    except Exception:  # absent, damaged or from another version
        return None


def save_snapshot(name: str, value, stale_glob: str = "") -> None:
    """Write atomically; ``stale_glob`` names older snapshots of the same kind to drop after a week unused."""
    import pickle
    import tempfile
    import time

    path = user_cache_dir() / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(value, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        for old in path.parent.glob(stale_glob) if stale_glob else ():
            if old != path and old.stat().st_mtime < time.time() - 7 * 86400:
                old.unlink(missing_ok=True)
    except (OSError, pickle.PicklingError):  # a read-only home: build in every process, as before
        pass


@lru_cache(maxsize=1)
def lexicons() -> Lexicons:
    """The lexicons, from a snapshot keyed by :func:`rules_version` when one exists: building them
    normalizes every entry with hazm (~2 s with its import), which a stage whose input is already
    normalized (ner, resolve) would pay in every process for nothing.  An edited data file changes the
    key, so the snapshot is rebuilt."""
    name = f"lexicons-{rules_version()}.pickle"
    found = load_snapshot(name)
    if isinstance(found, Lexicons):
        return found
    built = build_lexicons()
    save_snapshot(name, built, stale_glob="lexicons-*.pickle")  # snapshots of edited rules go after a week
    return built


def build_lexicons() -> Lexicons:
    from pipeline.normalize import normalize, normalize_many

    title_rows = read_rows("titles.tsv", 3)
    titles = PhraseTable({_tok(s): normalize(role) for s, role, _office in title_rows})
    title_offices = {normalize(role): normalize(office) for _s, role, office in title_rows if office.strip()}
    honorifics = {normalize(x) for x in read_lines("honorifics.txt")}
    honorific_table = PhraseTable({_tok(x): True for x in honorifics})
    org_heads = PhraseTable({_tok(h): kind.strip() or "body" for h, kind, _weak in read_rows("org_heads.tsv", 3)})

    gazetteer = PhraseTable()
    entries = []
    cores: dict[str, GazetteerEntry] = {}
    for canonical, aliases, core, province_office, county_office in read_rows("gazetteer.tsv", 5):
        entry = GazetteerEntry(
            normalize(canonical),
            [normalize(a) for a in aliases.split("|") if a.strip()],
            normalize(core),
            _template(province_office),
            _template(county_office),
        )
        entries.append(entry)
        for form in [entry.canonical, *entry.aliases]:
            gazetteer.add(_tok(form), entry)
        # the words an office's name shares with its body, without head and place («تعاون، کار و رفاه
        # اجتماعی» of «اداره کل تعاون، کار و رفاه اجتماعی استان {province}»): a name reading on past its
        # commas and «و» must know them
        for template in (entry.province_office, entry.county_office):
            words = [w for w in _tok(template.replace("{province}", "").replace("{county}", "")) if w not in ("استان", "شهرستان")]
            m = org_heads.match(list(words), 0)
            body = tuple(words[m[0] :] if m else words)
            if len(body) > 1 and body not in gazetteer:
                gazetteer.add(body, entry)
        if entry.core:
            cores[entry.core] = entry

    provinces = PhraseTable()
    for name, variants, _capital in read_rows("provinces.tsv", 3):
        for form in [name, *variants.split("|")]:
            if form.strip():
                provinces.add(_tok(form), normalize(name))
    counties = PhraseTable({_tok(name): normalize(prov) for name, prov in read_pairs("counties.tsv")})

    first_names = PhraseTable()
    for line in read_lines("first_names.txt"):
        ambiguous = line.endswith("?")
        for variant in _name_variants(normalize(line.rstrip("?"))):
            first_names.add(_tok(variant), ambiguous)

    common: set[str] = set()
    for name in ("common_words.txt", "genre_words.txt"):
        if (data_dir() / name).exists():
            common |= set(normalize_many(read_lines(name)))

    return Lexicons(
        titles=titles,
        title_offices=title_offices,
        honorifics=honorifics,
        honorific_table=honorific_table,
        name_parts={normalize(x) for x in read_lines("name_parts.txt")},
        venue_nouns={normalize(x) for x in read_lines("venue_nouns.txt")},
        speech_verbs=PhraseTable({_tok(x): True for x in read_lines("speech_verbs.txt")}),
        org_heads=org_heads,
        gazetteer=gazetteer,
        gazetteer_entries=entries,
        cores=cores,
        provinces=provinces,
        counties=counties,
        first_names=first_names,
        surnames={normalize(x) for x in read_lines("surnames.txt")},
        function_words=set(normalize_many(read_lines("function_words.txt"))),
        org_words=set(normalize_many(read_lines("org_words.txt"))),
        portfolios={normalize(x) for x in read_lines("portfolios.txt")},
        ambiguous_places={normalize(x) for x in read_lines("ambiguous_places.txt")},
        weak_heads={normalize(h) for h, _kind, weak in read_rows("org_heads.tsv", 3) if weak.strip() == "weak"},
        title_blockers=PhraseTable({_tok(x): True for x in read_lines("title_blockers.txt")}),
        common_words=common,
    )
