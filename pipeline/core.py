"""The small core of data types every stage shares.

Stages exchange these records through the work folder as tables (one row per record); the
``columns`` of each type are the order in which they are stored.  Offsets (``start``/``end``) are
character offsets into the document's *normalized* text; ``tok_start``/``tok_end`` index the
sentence's tokens (end exclusive).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

PERSON, ORG, TITLE, LOC = "PERSON", "ORG", "TITLE", "LOC"
LABELS = (PERSON, ORG, TITLE, LOC)


def columns(cls) -> list[str]:
    return [f.name for f in fields(cls)]


def as_rows(records) -> list[dict]:
    """Records as dicts, shallow (dataclasses.asdict deep-copies every token list: slow)."""
    out = []
    for r in records:
        names = columns(type(r))
        out.append({name: getattr(r, name) for name in names})
    return out


@dataclass
class Sentence:
    doc_id: str
    sentence_id: int
    start: int
    end: int
    tokens: list[str]
    token_starts: list[int]
    paragraph: int = 0  # the line of the text it is on (the «paragraph» co-occurrence window)

    def token_span(self, tok_start: int, tok_end: int) -> tuple[int, int]:
        """Character span of tokens [tok_start, tok_end)."""
        last = tok_end - 1
        return self.token_starts[tok_start], self.token_starts[last] + len(self.tokens[last])


@dataclass
class MentionSentence:
    """A sentence that holds at least one mention, with its text: what resolve reads of the corpus."""

    doc_id: str
    sentence_id: int
    text: str
    tokens: list[str]


@dataclass
class Document:
    doc_id: str
    source_path: str
    text: str = ""  # normalized text, furniture removed
    title: str = ""
    date: str = ""  # ISO (Gregorian) date found in the text, else ""
    agency: str = ""
    n_sentences: int = 0
    status: str = "ok"  # ok | error
    error: str = ""
    sentences: list[Sentence] = field(default_factory=list, repr=False)


@dataclass
class Mention:
    doc_id: str
    sentence_id: int
    start: int
    end: int
    text: str
    label: str  # PERSON | ORG | TITLE | LOC
    source: str  # rules | gazetteer | stanza | rules+stanza
    tok_start: int
    tok_end: int
    entity_id: str = ""
    # For ORG: the role of the form («full»; «elliptic»: a head alone; «core»: a headless name such as
    # «بهزیستی استان»; «head=<noun>»: a name whose head noun is implied, «احسان» in «بنیاد برکت و احسان»,
    # «فارس» in «استاندار فارس»); for TITLE: the canonical role (ریاست → رئیس).
    kind: str = ""


@dataclass
class Entity:
    entity_id: str
    type: str
    name: str
    aliases: list[str]
    mentions: int
    documents: int
    # organizations: the body it belongs to (a provincial office → the national body, a county office →
    # the provincial one), its province, and its level (national | province | county | "")
    parent_id: str = ""
    province: str = ""
    level: str = ""


@dataclass
class Affiliation:
    doc_id: str
    sentence_id: int
    person_id: str
    person: str
    title: str
    org_id: str
    org: str
    evidence: str
    role: str = ""  # the title's canonical role («مدیر کل حراست» → «مدیرکل»)
    portfolio: str = ""  # what follows the role («حراست»)
    date: str = ""  # the article's date (ISO), when found


@dataclass
class ErrorRecord:
    doc_id: str  # doc_id, or the path when no id could be given
    stage: str
    error: str
