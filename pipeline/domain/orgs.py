"""Organizations and their hierarchy: which public body a name belongs to, at which level, and its parent.

The gazetteer (``data/gazetteer.tsv``) lists national bodies with aliases, a core word («بهزیستی») and
name templates of their provincial and county offices.  :func:`office_of` reads an organization name
(tokens, normalized) and says which office it names:

- a national body by any of its names («سازمان بهزیستی», «بهزیستی کشور») → the body;
- the body's words plus a place («بهزیستی فارس», «اداره کل بهزیستی استان فارس», «استانداری فارس»,
  «اداره بهزیستی شهرستان مرودشت») → the provincial or county office, named by the template, whose parent
  is the provincial office (for a county office, when the body has one) or the national body;
- any other organization that names a body and a place («شورای اداری بهزیستی فارس») is not an office
  itself, but its parent is that office.

Pure functions over the cached lexicons; nothing here reads documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from pipeline.lexicons import GazetteerEntry, PhraseTable, lexicons

NATIONAL, PROVINCE, COUNTY = "national", "province", "county"
_PLACE_WORDS = {"استان", "شهرستان"}
_COMMA = {"،", ","}


@dataclass(frozen=True)
class OrgInfo:
    name: str  # canonical name (the template's or the gazetteer's); the input's text when unknown
    level: str = ""  # national | province | county | "" (not a known office)
    province: str = ""
    county: str = ""
    parent: str = ""  # canonical name of the parent organization, or ""


@dataclass(frozen=True)
class _BodyPhrase:
    entry: GazetteerEntry
    heads: tuple[tuple[str, ...], ...]  # words a template puts before the phrase («اداره کل»)


def _key(token: str) -> str:
    # «شهرداری‌های» and «شهرداریهای» are one word: body phrases compare without ZWNJ
    return token.replace("\u200c", "")


def _words(text: str) -> list[str]:
    """A name's words without commas: «وزارت تعاون، کار و رفاه اجتماعی» and its tokens compare alike."""
    return [w for w in text.replace("،", " ، ").replace(",", " , ").split() if w not in _COMMA]


def _template_tokens(template: str) -> list[str]:
    return _words(template)


@lru_cache(maxsize=1)
def _body_table() -> PhraseTable:
    """Every phrase naming a body, with the head words its office templates put before it."""
    lex = lexicons()
    table = PhraseTable()
    for entry in lex.gazetteer_entries:
        heads: list[tuple[str, ...]] = []
        fixed: list[tuple[str, ...]] = []
        for template in (entry.province_office, entry.county_office):
            if not template:
                continue
            words = [w for w in _template_tokens(template) if w not in ("{province}", "{county}") and w not in _PLACE_WORDS]
            fixed.append(tuple(words))
            # the same words without the template's head («اوقاف و امور خیریه» of «اداره کل اوقاف ...»)
            m = lex.org_heads.match(words, 0)
            if m and m[0] < len(words):
                fixed.append(tuple(words[m[0] :]))
                heads.append(tuple(_key(w) for w in words[: m[0]]))
            if entry.core:
                core = tuple(_words(entry.core))
                for k in range(len(words) - len(core) + 1):
                    if tuple(words[k : k + len(core)]) == core:
                        heads.append(tuple(_key(w) for w in words[:k]))
        phrases = [tuple(_words(entry.canonical)), *(tuple(_words(a)) for a in entry.aliases), *fixed]
        if entry.core:
            phrases.append(tuple(_words(entry.core)))
        for phrase in phrases:
            phrase = tuple(_key(t) for t in phrase)
            if phrase and phrase not in table:
                table.add(phrase, _BodyPhrase(entry, tuple(dict.fromkeys(heads))))
    return table


def _place_at(tokens: list[str], i: int) -> tuple[int, str, str] | None:
    """(length, province, county) of a province or county name at i."""
    lex = lexicons()
    m = lex.provinces.match(tokens, i)
    if m:
        return m[0], str(m[1]), ""
    m = lex.counties.match(tokens, i)
    if m:
        return m[0], str(m[1]), " ".join(tokens[i : i + m[0]])
    return None


def _fill(template: str, province: str, county: str) -> str:
    return template.replace("{province}", province).replace("{county}", county)


def office_name(entry: GazetteerEntry, level: str, province: str, county: str = "") -> str:
    if level == NATIONAL:
        return entry.canonical
    template = entry.province_office if level == PROVINCE else entry.county_office
    return _fill(template, province, county) if template else ""


def parent_of(entry: GazetteerEntry, level: str, province: str) -> str:
    if level == COUNTY and entry.province_office and province:
        return office_name(entry, PROVINCE, province)
    if level in (COUNTY, PROVINCE):
        return entry.canonical
    return ""


def office_of(tokens: list[str] | tuple[str, ...], province_hint: str = "") -> OrgInfo:
    """Which office an organization name (normalized tokens) names; see the module docstring.

    ``province_hint`` (the document's province) stands for a bare «استان» at the end of the name.
    """
    # a mention's text may carry its commas attached («تعاون، کار»): tokens as the segmenter makes them
    raw = " ".join(tokens).replace("،", " ، ").replace(",", " , ").split()
    tokens = [t for t in raw if t not in _COMMA]
    text = " ".join(tokens)
    if not tokens:
        return OrgInfo(text)
    lex = lexicons()
    whole = lex.gazetteer.match(raw, 0)
    if whole and whole[0] == len(raw):
        entry = whole[1]
        return OrgInfo(entry.canonical, NATIONAL)
    table = _body_table()
    keys = [_key(t) for t in tokens]
    # the body phrase: the longest one, leftmost
    body: tuple[int, int, _BodyPhrase] | None = None
    for i in range(len(tokens)):
        m = table.match(keys, i)
        if m:
            body = (i, m[0], m[1])
            break
    # the place: a province or county name, or a bare «استان» standing for the document's province
    province = county = ""
    place_start = None
    for i in range(len(tokens)):
        p = _place_at(tokens, i)
        if p:
            _n, province, county = p
            place_start = i - 1 if i > 0 and tokens[i - 1] in _PLACE_WORDS else i
            break
    if not province and tokens[-1] == "استان" and province_hint:
        province, place_start = province_hint, len(tokens) - 1
    if not province and "کشور" in tokens and body:
        # «بهزیستی کشور» is the national body
        start, n, phrase = body
        rest = [t for k, t in enumerate(tokens) if not start <= k < start + n and t not in ("کل", "کشور")]
        return OrgInfo(phrase.entry.canonical, NATIONAL) if not rest else OrgInfo(text, "", parent=phrase.entry.canonical)
    if body is None:
        return OrgInfo(text, "", province, county)
    start, n, phrase = body
    entry = phrase.entry
    level = COUNTY if county else PROVINCE if province else ""
    if level == PROVINCE and not entry.province_office and entry.county_office and place_start is not None:
        # «شهرداری تهران»: a province's name is also its capital county's
        i = place_start + (tokens[place_start] in _PLACE_WORDS)
        m = lexicons().counties.match(tokens, i)
        if m:
            level, county = COUNTY, " ".join(tokens[i : i + m[0]])
    if level == COUNTY and not entry.county_office:
        level = ""  # a county the body has no office in: not an office of ours
    if not level:
        return OrgInfo(text, "", province, county, entry.canonical if province else "")
    # an office only if nothing but the template's head words precede the body phrase and nothing but
    # the place follows it; otherwise a unit of that office («شورای اداری بهزیستی فارس»)
    before = tuple(keys[:start])
    after = [t for t in tokens[start + n : place_start if place_start is not None else len(tokens)]]
    head_ok = not before or before in phrase.heads or lex.org_heads.match(list(before), 0) == (len(before), "office")
    name = office_name(entry, level, province, county)
    if head_ok and not after and (place_start is None or place_start >= start + n) and name:
        return OrgInfo(name, level, province, county, parent_of(entry, level, province))
    return OrgInfo(text, "", province, county, name or entry.canonical)


def national_body(info: OrgInfo) -> str:
    """The national body an office belongs to, following parents («اداره بهزیستی شهرستان دزفول» →
    «سازمان بهزیستی کشور»); "" for other organizations."""
    seen: set[str] = set()
    while info.level in (PROVINCE, COUNTY) and info.parent and info.parent not in seen:
        seen.add(info.parent)
        info = office_of(_words(info.parent))
    return info.name if info.level == NATIONAL else ""
