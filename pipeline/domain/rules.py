"""The domain layer: titles, organizations, venues, places and persons found by rules over tokens.

It plays the part of spaCy's ``entity_ruler`` beside the statistical model.  Everything it knows about
the genre comes from the data files (:mod:`pipeline.lexicons`); this module only holds the grammar:

- organizations: gazetteer names (longest match) and a head-noun grammar (سازمان، اداره کل، ستاد ...)
  whose modifiers continue over rare words and known organization words and stop at function words,
  verbs, punctuation, titles and names; a place name (province, county, «استان», «کشور») closes the
  name.  A head alone («موسسه») is an *elliptic* mention; a headless core with a place («بهزیستی
  استان») a *core* mention.  Resolution attaches both to the document's full name.
- titles: a role (مدیرکل، معاون ...) with its portfolio («معاون اداری، مالی و پشتیبانی»), then the
  organization that follows it.
- persons: a name next to an honorific, next to a title, or starting with a known first name; then
  (per document) every later use of a found surname or full name.
- venues («سالن شهید ماژانی») and names inside organizations are claimed first, so they never become
  persons.

All functions are pure: tokens in, :class:`Span` lists out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.core import LOC, ORG, PERSON, TITLE
from pipeline.lexicons import Lexicons, lexicons

VENUE = "VENUE"  # claimed, never emitted
MAX_ORG_TOKENS = 12
MAX_NAME_TOKENS = 4
_PUNCT = re.compile(r"^[^\w\u200c]+$|^\u0640+$")
_PRESENT_PREFIX = ("می\u200c", "نمی\u200c")
_NUMBER = re.compile(r"^[\d.,/٫:+-]+$")
_MARK = re.compile(r"^\((ره|عج|ع|س|ص|رض|قده)\)$")
_PLURAL = {"ها", "های", "هایی"}
_COORD = {"،", "و", ","}
_BLESSINGS = {"علیه‌السلام", "علیهاالسلام", "علیها‌السلام"}


@dataclass
class Span:
    start: int  # token index
    end: int  # exclusive
    label: str
    kind: str = ""  # ORG: full | elliptic | core ; TITLE: canonical role
    source: str = "rules"


class SentenceRules:
    """Applies the grammar to one sentence's tokens."""

    def __init__(self, tokens: list[str], lex: Lexicons | None = None):
        self.t = tokens
        self.n = len(tokens)
        self.lex = lex or lexicons()
        self.claimed: list[str | None] = [None] * self.n
        self.spans: list[Span] = []

    # ----- token classes -------------------------------------------------------------------
    def punct(self, i: int) -> bool:
        return bool(_PUNCT.match(self.t[i]))

    def number(self, i: int) -> bool:
        return bool(_NUMBER.match(self.t[i])) and any(c.isdigit() for c in self.t[i])

    def function(self, i: int) -> bool:
        return self.t[i] in self.lex.function_words

    def common(self, i: int) -> bool:
        return self.t[i] in self.lex.common_words

    def free(self, i: int, j: int | None = None) -> bool:
        # the hottest call of the grammar (millions per corpus): a label is a non-empty string, so
        # "no token claimed" is ``not any(...)`` over the slice, and a single token is one lookup
        if j is None:
            return 0 <= i < self.n and self.claimed[i] is None
        return 0 <= i and j <= self.n and not any(self.claimed[i:j])

    def place_len(self, i: int) -> int:
        """Length of a place expression at i: «استان [X]», «شهرستان [X]», «کل کشور», a province/county."""
        if i >= self.n:
            return 0
        t = self.t[i]
        if t in ("استان", "شهرستان"):
            return 1 + self.named_place_len(i + 1)
        if t == "کل" and i + 1 < self.n and self.t[i + 1] == "کشور":
            return 2
        if t == "کشور":
            return 1
        return self.named_place_len(i)

    def named_place_len(self, i: int) -> int:
        """A province or county name at i; an ambiguous one («مرکزی», «محلات») only after «استان/شهرستان»."""
        m = self.lex.provinces.match(self.t, i) or self.lex.counties.match(self.t, i)
        if not m:
            return 0
        if m[0] == 1 and self.t[i] in self.lex.ambiguous_places:
            if not (i > 0 and self.t[i - 1] in ("استان", "شهرستان", "شهر")):
                return 0
        return m[0]

    def head_len(self, i: int) -> tuple[int, str]:
        m = self.lex.org_heads.match(self.t, i)
        if not m:
            return 0, ""
        n, kind = m
        # plural («استانداری ها»), counted («118 موسسه») or adjectival use is not a name
        if i + n < self.n and self.t[i + n] in _PLURAL:
            return 0, ""
        if i > 0 and self.number(i - 1):
            return 0, ""
        return n, str(kind)

    def title_len(self, i: int) -> tuple[int, str]:
        m = self.lex.titles.match(self.t, i)
        if not m:
            return 0, ""
        n, role = m
        if i + n < self.n and self.t[i + n] in _PLURAL:
            return 0, ""
        if i > 0 and self.lex.title_blockers.match(self.t, i - 1):
            return 0, ""
        return n, str(role)

    def honorific_len(self, i: int) -> int:
        m = self.lex.honorific_table.match(self.t, i)
        return m[0] if m else 0

    def first_name_len(self, i: int, allow_ambiguous: bool = False) -> int:
        m = self.lex.first_names.match(self.t, i)
        if not m:
            return 0
        n, ambiguous = m
        ambiguous = ambiguous or (n == 1 and self.function(i))  # «ولی» is mostly «but»
        return n if (allow_ambiguous or not ambiguous) else 0

    def org_start(self, i: int) -> bool:
        return bool(
            self.head_len(i)[0] or self.lex.gazetteer.match(self.t, i) or self.t[i] in self.lex.cores
        )

    def hard_stop(self, i: int) -> bool:
        """Tokens that can be inside no name at all (a verb with «می‌/نمی‌» included)."""
        return (
            self.punct(i)
            or self.number(i)
            or self.function(i)
            or self.t[i].startswith(_PRESENT_PREFIX)
            or bool(self.lex.speech_verbs.match(self.t, i))
        )

    def name_token(self, i: int, strict: bool) -> bool:
        """Could tokens[i] be part of a person's name?  ``strict``: a frequent word is not."""
        if not self.free(i) or self.hard_stop(i):
            return False
        t = self.t[i]
        if self.title_len(i)[0] or self.head_len(i)[0] or self.honorific_len(i) or t in self.lex.venue_nouns:
            return False
        if t in self.lex.cores or self.place_len(i) or _MARK.match(t) or t in _PLURAL:
            return False
        if t in self.lex.name_parts or t in self.lex.surnames or self.first_name_len(i):
            return True
        return not (strict and self.common(i))

    def claim(self, start: int, end: int, label: str, kind: str = "", source: str = "rules") -> Span:
        span = Span(start, end, label, kind, source)
        for k in range(start, end):
            self.claimed[k] = label
        if label != VENUE:
            self.spans.append(span)
        return span

    # ----- organizations -------------------------------------------------------------------
    def org_modifiers(self, j: int, start: int, title_context: bool) -> int:
        """Extend an organization name from token j; return its end."""
        consumed = 0
        while j < self.n and j - start < MAX_ORG_TOKENS and self.free(j):
            t = self.t[j]
            if t in _PLURAL and consumed:
                j += 1
                continue
            if _MARK.match(t):
                j += 1
                continue
            if t in _BLESSINGS:
                j += 1
                continue
            if t == "علیه" and j + 1 < self.n and self.t[j + 1] == "السلام":
                j += 2
                continue
            place = self.place_len(j)
            if place:
                return j + place  # a place closes the name
            g = self.lex.gazetteer.match(self.t, j)
            if g:
                j += g[0]
                consumed += 1
                continue
            h, kind = self.head_len(j)
            if h and kind != "media":
                j += h
                consumed += 1
                continue
            if t in _COORD and consumed and self._coordinated_adjective(j):
                j += 1
                continue
            if self.hard_stop(j) or self.title_len(j)[0] or self.honorific_len(j) or t in self.lex.venue_nouns:
                break
            if self.first_name_len(j) and self.t[j - 1] not in ("حضرت", "امام", "شهید"):
                break
            if t in self.lex.org_words or t in self.lex.cores or not self.common(j) or title_context:
                j += 1
                consumed += 1
                continue
            break
        while j > start + 1 and self.t[j - 1] in _COORD:
            j -= 1
        return j

    def _distributed_head(self, start: int, end: int) -> None:
        """«بنیاد برکت و احسان»: a second name sharing the head is an organization of its own."""
        h, _kind = self.head_len(start)
        if not h or end + 1 >= self.n or self.t[end] != "و" or not self.free(end + 1):
            return
        head = list(self.t[start : start + h])
        g = self.lex.gazetteer.match(head + [self.t[end + 1]], 0)
        if g and g[0] == h + 1:
            self.claim(end + 1, end + 2, ORG, "head=" + " ".join(head), "gazetteer")

    def _has_proper_part(self, start: int, end: int) -> bool:
        return any(
            (not self.common(k) and not self.punct(k) and self.t[k] not in _PLURAL and self.t[k] not in self.lex.org_words)
            or self.place_len(k)
            for k in range(start, end)
        )

    def _coordinated_adjective(self, j: int) -> bool:
        """«فرهنگی، ورزشی و توانبخشی»: a comma or «و» between relational adjectives stays inside."""
        prev, nxt = self.t[j - 1], self.t[j + 1] if j + 1 < self.n else ""
        return (
            prev.endswith("ی")
            and nxt.endswith("ی")
            and j + 1 < self.n
            and not self.function(j + 1)
            and not self.org_start(j + 1)
            and not self.starts_person_name(j + 1)
        )

    def starts_person_name(self, i: int) -> bool:
        return bool(self.honorific_len(i) or self.first_name_len(i) or self.t[i] in self.lex.name_parts)

    def parse_org(self, i: int, title_context: bool = False) -> Span | None:
        """An organization starting at token i, claimed; None when there is none."""
        if not self.free(i):
            return None
        g = self.lex.gazetteer.match(self.t, i)
        if g:
            end = self.org_modifiers(i + g[0], i, False) if self.place_len(i + g[0]) else i + g[0]
            span = self.claim(i, end, ORG, "full", "gazetteer")
            self._distributed_head(i, end)
            return span
        h, kind = self.head_len(i)
        if h:
            if kind == "media":
                # «خبرگزاری قرارگاه تحول اجتماعی»: the outlet of another body is that body
                if i + h < self.n and self.org_start(i + h):
                    return self.parse_org(i + h, title_context)
            end = self.org_modifiers(i + h, i, title_context)
            weak = " ".join(self.t[i : i + h]) in self.lex.weak_heads
            if end == i + h:
                if kind in ("council", "media") or weak:
                    return None  # a bare «شورای», «خبرگزاری», «شرکت» names nothing
                return self.claim(i, end, ORG, "elliptic")
            if weak and not title_context and not self._has_proper_part(i + h, end):
                return None  # «شرکت در ضیافت», «دفتر مرکزی»: an everyday noun, not a name
            return self.claim(i, end, ORG, "full")
        if self.t[i] in self.lex.cores:
            end = i + 1
            place = self.place_len(end)
            if place:
                end += place
            return self.claim(i, end, ORG, "core")
        if title_context and not self.hard_stop(i) and not self.common(i) and self.name_token(i, True):
            if self.first_name_len(i) or self.t[i] in self.lex.surnames:
                return None
            end = self.org_modifiers(i + 1, i, False)
            return self.claim(i, end, ORG, "full")
        return None

    # ----- titles ----------------------------------------------------------------------------
    def portfolio_end(self, j: int) -> int:
        start = j
        while j < self.n and self.free(j):
            t = self.t[j]
            if self.org_start(j) or self.place_len(j) or self.starts_person_name(j):
                break
            if t in _PLURAL and j > start:
                j += 1
                continue
            if t in _COORD and j > start and j + 1 < self.n and self._portfolio_word(j + 1):
                j += 1
                continue
            if self._portfolio_word(j):
                j += 1
                continue
            break
        while j > start and self.t[j - 1] in _COORD:
            j -= 1
        return j

    def _portfolio_word(self, j: int) -> bool:
        if not self.free(j) or self.hard_stop(j) or self.org_start(j) or self.starts_person_name(j):
            return False
        t = self.t[j]
        if t in self.lex.portfolios or self.title_len(j)[0]:
            return True
        return t.endswith("ی") and self.common(j) and len(t) > 2

    def parse_titles(self, i: int) -> list[Span]:
        """Role(s) at i with portfolio, and the organization after them; claimed."""
        spans = []
        j = i
        while True:
            n, role = self.title_len(j)
            if not n or not self.free(j, j + n):
                break
            end = self.portfolio_end(j + n)
            spans.append(self.claim(j, end, TITLE, role))
            # «مدیرعامل و رئیس هیات مدیره ...»: coordinated roles share the person and the organization
            if end + 1 < self.n and self.t[end] == "و" and self.title_len(end + 1)[0]:
                j = end + 1
                continue
            j = end
            break
        if spans:
            k = j
            while k < self.n and self.t[k] in ("محترم", "محترمه", "وقت", "جدید", "سابق"):
                k += 1
            office = self.lex.title_offices.get(spans[-1].kind)
            m = self.lex.provinces.match(self.t, k) or self.lex.counties.match(self.t, k)
            head = office.split() if office else []
            g = self.lex.gazetteer.match(head + self.t[k:], 0) if office and not m else None
            if office and m and self.free(k, k + m[0]):
                # «استاندار فارس»: the place names the office («استانداری فارس»)
                self.claim(k, k + m[0], ORG, "head=" + office)
            elif g and g[0] > len(head) and self.free(k, k + g[0] - len(head)):
                # «وزیر تعاون، کار و رفاه اجتماعی»: the words after the title name the ministry
                self.claim(k, k + g[0] - len(head), ORG, "head=" + office)
            else:
                self.parse_org(k, title_context=True)
        return spans

    # ----- persons ---------------------------------------------------------------------------
    def name_right(self, i: int) -> int:
        """End of a name that starts at i (after an honorific or a title): [سید] names..."""
        j = i
        while j < self.n and j - i < MAX_NAME_TOKENS and self.t[j] in self.lex.name_parts:
            j += 1
        first = j
        while j < self.n and j - i < MAX_NAME_TOKENS:
            f = self.first_name_len(j, allow_ambiguous=True)
            if f and self.free(j, j + f):
                j += f
                continue
            # the first word after an honorific may be frequent («دکتر جوان»); later ones may not
            if self.name_token(j, strict=j > first):
                j += 1
                if not (j < self.n and (self.first_name_len(j) or (self.name_token(j, True)))):
                    break
                continue
            break
        return j

    def name_left(self, end: int) -> int:
        """Start of a name that ends just before token ``end`` (the title)."""
        j = end
        while j > 0 and end - j < MAX_NAME_TOKENS:
            k = j - 1
            f = 0
            for n in (2, 1):  # «فرج الله» read leftwards
                if k - n + 1 >= 0 and self.first_name_len(k - n + 1, True) == n and self.free(k - n + 1, k + 1):
                    f = n
                    break
            if f:
                j -= f
                continue
            if self.t[k] in self.lex.name_parts and self.free(k):
                j -= 1
                continue
            if j == end and self.name_token(k, strict=True):
                j -= 1
                continue
            if j < end and self.name_token(k, strict=True) and self._unknown_word(k):
                j -= 1
                continue
            break
        return j

    def _unknown_word(self, k: int) -> bool:
        return not self.common(k) and not self.function(k)

    def persons_from_honorifics(self) -> None:
        i = 0
        while i < self.n:
            h = self.honorific_len(i) if self.free(i) else 0
            if not h:
                i += 1
                continue
            j = i + h
            while j < self.n and self.honorific_len(j):
                j += self.honorific_len(j)
            end = self.name_right(j)
            if end > j and self._has_surname(j, end):
                self.claim(j, end, PERSON)
            i = max(end, i + 1)

    def _has_surname(self, start: int, end: int) -> bool:
        """A name needs at least one token that is not a first name or «سید»."""
        k = start
        while k < end:
            f = self.first_name_len(k, True)
            if f and k + f < end:
                k += f
                continue
            if self.t[k] in self.lex.name_parts:
                k += 1
                continue
            return True
        # a lone first name after an honorific («آقای محمد») is still a name; a lone «سید» is not
        return any(self.t[x] not in self.lex.name_parts for x in range(start, end))

    def persons_from_titles(self, titles: list[Span]) -> None:
        for span in titles:
            if span.start > 0 and self.claimed[span.start - 1] is None:
                left = span.start
                start = self.name_left(left)
                if start < left and self._has_surname(start, left):
                    if not (left - start == 1 and self.first_name_len(start, True)):
                        self.claim(start, left, PERSON)
                        continue
            # «مهران کریمیان ، مدیرکل»: a name before a comma needs a first name or a known surname
            if span.start > 1 and self.t[span.start - 1] in ("،", ",") and self.free(span.start - 2):
                left = span.start - 1
                start = self.name_left(left)
                if start < left and (self.first_name_len(start, True) or self.t[left - 1] in self.lex.surnames):
                    self.claim(start, left, PERSON)

    def persons_after_titles(self, titles: list[Span]) -> None:
        """«مدیرکل بهزیستی خوزستان، مهران کریمیان گفت»: a full name (first name + surname) after a title."""
        for span in titles:
            j = span.end
            while j < self.n and self.claimed[j] in (ORG, TITLE):
                j += 1
            if j < self.n and self.t[j] in ("،", ","):
                j += 1
            k = j  # «سید صالح باقرزاده»: «سید» opens the name
            while k < self.n and self.t[k] in self.lex.name_parts:
                k += 1
            # right after a title a first name that is also a word («صالح», «امید») is a name, if a
            # surname follows it
            f = self.first_name_len(k, allow_ambiguous=True) if k < self.n else 0
            if f and self.free(j, k + f):
                end = self.name_right(j)
                if end > k + f:
                    self.claim(j, end, PERSON)

    def persons_from_first_names(self) -> None:
        """A known first name (one or two) and the word after it: «ابراهیم نورمحمدی», «امیر حسین مدنی».

        The word after a first name is taken as the surname even when it is also an ordinary word
        («مدنی», «امینی»), unless it is a function word, a verb, a title, an organization or a place.
        """
        i = 0
        while i < self.n:
            if not self.free(i):
                i += 1
                continue
            start = i
            while i < self.n and self.t[i] in self.lex.name_parts and self.free(i):
                i += 1
            anchor = i  # the first name; the scan goes on after it whatever happens
            f = self.first_name_len(i)
            if not f or not self.free(i, i + f):
                i = anchor + 1
                continue
            # an ambiguous first name right before a clear one belongs to the name («امیر حسین»)
            if start == i and i > 0 and self.free(i - 1) and self.first_name_len(i - 1, True) == 1:
                start = i - 1
            j = i + f
            while j < self.n and self.first_name_len(j) and self.free(j, j + self.first_name_len(j)):
                j += self.first_name_len(j)
            if j < self.n and self.name_token(j, strict=False) and not self.number(j):
                end = j + 1
                self.claim(start, end, PERSON)
                i = end
            else:
                i = anchor + 1

    # ----- venues and places -------------------------------------------------------------
    def venues(self) -> None:
        for i in range(self.n):
            if self.t[i] in self.lex.venue_nouns and self.free(i):
                j = i + 1
                while j < self.n and self.t[j] in ("شهید", "امام", "حضرت", "آیت‌الله", "سردار") and self.free(j):
                    j += 1
                k = j
                while k < self.n and k - j < 2 and self.free(k) and not self.hard_stop(k) and not self.org_start(k):
                    if self.title_len(k)[0] or self.place_len(k):
                        break
                    k += 1
                if k > i + 1:
                    self.claim(i, k, VENUE)

    def places(self) -> None:
        i = 0
        while i < self.n:
            n = self.named_place_len(i)
            if n and self.free(i, i + n):
                self.claim(i, i + n, LOC, "", "gazetteer")
                i += n
            else:
                i += 1

    # ----- the whole sentence --------------------------------------------------------------
    def run(self) -> list[Span]:
        # 1. gazetteer names and venues first: nothing inside them is a person or a title
        for i in range(self.n):
            if self.free(i) and self.lex.gazetteer.match(self.t, i):
                # an office's head before the body's name belongs to the name («اداره کل» + «تعاون، کار ...»)
                for h in (2, 1):
                    j = i - h
                    if j >= 0 and self.free(j) and self.head_len(j) == (h, "office"):
                        self.parse_org(j)
                        break
                if self.free(i):
                    self.parse_org(i)
        self.venues()
        # 2. titles with their portfolio and the organization they govern
        titles: list[Span] = []
        for i in range(self.n):
            if self.free(i) and self.title_len(i)[0]:
                titles.extend(self.parse_titles(i))
        # 3. the remaining organizations
        for i in range(self.n):
            if self.free(i) and self.org_start(i):
                self.parse_org(i)
        # 4. persons, strongest evidence first
        self.persons_from_honorifics()
        self.persons_from_titles(titles)
        self.persons_after_titles(titles)
        self.persons_from_first_names()
        self.places()
        return sorted(self.spans, key=lambda s: (s.start, s.end))


def sentence_spans(tokens: list[str]) -> list[Span]:
    return SentenceRules(tokens).run()


def person_keys(name_tokens: list[str], lex: Lexicons | None = None) -> tuple[tuple[str, ...], str]:
    """(full name without «سید», surname) of a person's tokens, for propagation and resolution."""
    lex = lex or lexicons()
    core = tuple(t for t in name_tokens if t not in lex.name_parts and t not in lex.honorifics)
    return core, (core[-1] if core else "")


def propagate(sentences_tokens: list[list[str]], claimed: list[list[bool]], names: list[list[str]]) -> list[tuple[int, int, int]]:
    """Later uses of found names in a document: full names and surnames alone.

    ``claimed[s][k]`` marks tokens already inside a mention.  Returns (sentence, start, end) spans.
    A surname is propagated only when it is not a frequent word or a first name («امانی» yes,
    «امید» no).
    """
    lex = lexicons()
    full: set[tuple[str, ...]] = set()
    surnames: set[str] = set()
    for tokens in names:
        core, surname = person_keys(tokens, lex)
        if len(core) >= 2:
            full.add(core)
        if surname and len(surname) > 2 and surname not in lex.common_words and not lex.first_names.match([surname], 0):
            surnames.add(surname)
    out = []
    longest = sorted(full, key=len, reverse=True)
    for s, tokens in enumerate(sentences_tokens):
        k = 0
        while k < len(tokens):
            if claimed[s][k]:
                k += 1
                continue
            hit = 0
            for phrase in longest:
                n = len(phrase)
                if tuple(tokens[k : k + n]) == phrase and not any(claimed[s][k : k + n]):
                    hit = n
                    break
            if not hit and tokens[k] in surnames:
                hit = 1
            if hit:
                start = k
                while start > 0 and tokens[start - 1] in lex.name_parts and not claimed[s][start - 1]:
                    start -= 1
                out.append((s, start, k + hit))
                k += hit
            else:
                k += 1
    return out
