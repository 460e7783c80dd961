"""Cross-document person resolution: which in-document persons are the same human.

Input: one :class:`Profile` per person per document (the in-document clustering has already joined
«دکتر قادری», «قادری» and «وحید قادری» inside one article), with the evidence the article gives: the
full name or only the surname, the posts stated (role, portfolio, organization), the document's
province and date, and the entities mentioned with it.

Decisions, within blocks of equal normalized surname, in three explainable steps:

1. equal full names are one person (first names that differ are never merged);
2. profiles with only a surname are grouped when the evidence says they are one person (the same post,
   or the same organization in the same province ...), scored by :func:`score`;
3. each such group joins the one full-named person the evidence points to, when its score reaches the
   threshold and no other candidate comes within ``margin`` (two «محمدی» at the same office: ambiguous,
   left apart).

An aliases file forces merges or splits (:func:`parse_aliases`).  Every pair considered is reported as a
:class:`Decision` with its score and reasons, for ``resolution.csv``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from pipeline.normalize import match_key

# evidence weights: a post is (role, organization); see score()
W_SAME_POST = 0.6
W_SAME_ORG = 0.35
W_SAME_ROLE_PROVINCE = 0.2
W_SAME_PROVINCE = 0.15
W_OTHER_PROVINCE = -0.3
W_CONTEXT = 0.3
W_NEAR_IN_TIME = 0.05
W_FAR_IN_TIME = -0.15
NEAR_DAYS, FAR_DAYS = 365, 3 * 365


@dataclass(frozen=True)
class Profile:
    ref: str  # "name@doc_id": how resolution.csv and the aliases file name it
    doc_id: str
    name: str  # the fullest form in the document
    first: str  # match_key of the given name(s); "" when only the surname is written
    surname: str  # match_key of the surname
    posts: frozenset = frozenset()  # {(role, portfolio, org_key)}
    province: str = ""
    date: str = ""  # ISO date of the document, or ""
    context: frozenset = frozenset()  # keys of the organizations and full-named persons in the document
    # holds a post in a national body here: the article's province says where he went, not who he is
    national: bool = False

    @property
    def full_key(self) -> str:
        return f"{self.first} {self.surname}" if self.first else ""


@dataclass
class Unit:
    """Profiles taken to be one person so far, with their pooled evidence."""

    members: list[int]
    firsts: Counter = field(default_factory=Counter)
    posts: set = field(default_factory=set)  # {(role, org_key)}
    orgs: set = field(default_factory=set)
    roles: set = field(default_factory=set)
    provinces: set = field(default_factory=set)
    dates: list = field(default_factory=list)
    context: Counter = field(default_factory=Counter)
    name: str = ""

    def add(self, k: int, p: Profile) -> None:
        self.members.append(k)
        if p.first:
            self.firsts[p.first] += 1
        for role, _portfolio, org in p.posts:
            self.roles.add(role)
            if org:
                self.posts.add((role, org))
                self.orgs.add(org)
        if p.province and not p.national:
            self.provinces.add(p.province)
        if p.date:
            self.dates.append(p.date)
        self.context.update(p.context)
        if len(p.name.split()) > len(self.name.split()):
            self.name = p.name

    def absorb(self, other: "Unit") -> None:
        self.members += other.members
        self.firsts.update(other.firsts)
        self.posts |= other.posts
        self.orgs |= other.orgs
        self.roles |= other.roles
        self.provinces |= other.provinces
        self.dates += other.dates
        self.context.update(other.context)
        if len(other.name.split()) > len(self.name.split()):
            self.name = other.name


@dataclass
class Decision:
    left: str
    left_name: str
    right: str
    right_name: str
    surname: str
    score: float
    decision: str  # merge | no-merge | ambiguous | conflict | forced-merge | forced-split
    reasons: str


@dataclass(frozen=True)
class AliasRule:
    action: str  # merge | split
    a: str
    b: str
    line: int


def _days(iso: str) -> int | None:
    try:
        return date.fromisoformat(iso[:10]).toordinal()
    except (ValueError, TypeError):
        return None


def score(a: Unit, b: Unit) -> tuple[float, list[str]]:
    """Evidence that two units (same surname) are one person: (score, reasons).  -1 when impossible."""
    if a.firsts and b.firsts and not set(a.firsts) & set(b.firsts):
        return -1.0, [f"first names differ ({' / '.join(sorted(a.firsts))} vs {' / '.join(sorted(b.firsts))})"]
    total, reasons = 0.0, []
    shared_posts = a.posts & b.posts
    if shared_posts:
        total += W_SAME_POST
        role, org = sorted(shared_posts)[0]
        reasons.append(f"same post: {role} @ {org}")
    elif a.orgs & b.orgs:
        total += W_SAME_ORG
        reasons.append(f"same organization: {sorted(a.orgs & b.orgs)[0]}")
    elif a.roles & b.roles and a.provinces & b.provinces:
        total += W_SAME_ROLE_PROVINCE
        reasons.append(f"same role in the same province: {sorted(a.roles & b.roles)[0]}")
    if a.provinces and b.provinces:
        if a.provinces & b.provinces:
            total += W_SAME_PROVINCE
            reasons.append(f"same province: {sorted(a.provinces & b.provinces)[0]}")
        else:
            total += W_OTHER_PROVINCE
            reasons.append("different provinces")
    ctx_a, ctx_b = set(a.context), set(b.context)
    if ctx_a and ctx_b:
        shared = ctx_a & ctx_b
        overlap = len(shared) / min(len(ctx_a), len(ctx_b))
        if shared:
            total += W_CONTEXT * overlap
            reasons.append(f"co-mentioned entities overlap {overlap:.2f} ({len(shared)})")
    gap = _date_gap(a.dates, b.dates)
    if gap is not None:
        if gap <= NEAR_DAYS:
            total += W_NEAR_IN_TIME
            reasons.append("within a year")
        elif gap > FAR_DAYS:
            total += W_FAR_IN_TIME
            reasons.append(f"{gap // 365} years apart")
    return round(total, 3), reasons


def _date_gap(a: list[str], b: list[str]) -> int | None:
    da = [d for d in map(_days, a) if d is not None]
    db = [d for d in map(_days, b) if d is not None]
    if not da or not db:
        return None
    lo, hi = min(da), max(da)
    return min(0 if lo <= d <= hi else min(abs(d - lo), abs(d - hi)) for d in db)


def parse_aliases(text: str) -> tuple[list[AliasRule], list[str]]:
    """Rules of an aliases file, and the problems found.

    One rule per line, tab- or comma-separated: ``merge A B`` or ``split A B``, where A and B are a
    person's name («وحید قادری»: every document where that full name is written; «قادری»: every
    document naming only that surname) or ``name@doc_id`` (that person in that document, as written in
    ``resolution.csv``).  ``#`` starts a comment.
    """
    rules, problems = [], []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in (line.split("\t") if "\t" in line else line.split(","))]
        parts = [p for p in parts if p]
        if len(parts) != 3 or parts[0].lower() not in ("merge", "split"):
            problems.append(f"line {n}: expected 'merge|split<TAB>A<TAB>B', got {raw!r}")
            continue
        rules.append(AliasRule(parts[0].lower(), parts[1], parts[2], n))
    return rules, problems


def _refers(ref: str, p: Profile) -> bool:
    name, _, doc = ref.partition("@")
    if doc and doc.strip() != p.doc_id:
        return False
    key = match_key(name, True)
    if doc:
        return key in (match_key(p.name, True), p.full_key.replace(" ", ""), p.surname)
    if len(name.split()) >= 2:
        return p.full_key.replace(" ", "") == key
    return not p.first and p.surname == key


def link_persons(
    profiles: list[Profile], threshold: float = 0.5, margin: float = 0.15, aliases: list[AliasRule] | None = None
) -> tuple[list[int], list[Decision]]:
    """A cluster number per profile, and the decisions taken (see the module docstring)."""
    decisions: list[Decision] = []
    aliases = aliases or []
    # constraints from the aliases file, on profile indexes
    must: list[tuple[set[int], set[int], AliasRule]] = []
    cannot: set[tuple[int, int]] = set()
    for rule in aliases:
        left = {k for k, p in enumerate(profiles) if _refers(rule.a, p)}
        right = {k for k, p in enumerate(profiles) if _refers(rule.b, p)}
        if rule.action == "merge":
            must.append((left, right, rule))
        else:
            cannot |= {(min(i, j), max(i, j)) for i in left for j in right if i != j}

    def blocked(u: Unit, v: Unit) -> bool:
        if not cannot:  # no split rules: nothing is blocked (and no pair of members is looked at)
            return False
        return any((min(i, j), max(i, j)) in cannot for i in u.members for j in v.members)

    cluster_of = [-1] * len(profiles)
    # blocks by surname; a forced merge across surnames («قادری» / «قادری‌نژاد») joins their blocks
    block_of = {p.surname: p.surname for p in profiles}

    def find(s: str) -> str:
        while block_of[s] != s:
            s = block_of[s]
        return s

    for left, right, _rule in must:
        names = sorted({find(profiles[k].surname) for k in left | right})
        for other in names[1:]:
            block_of[other] = names[0]
    blocks: dict[str, list[int]] = {}
    for k, p in enumerate(profiles):
        blocks.setdefault(find(p.surname), []).append(k)

    units_all: list[Unit] = []
    for surname, members in sorted(blocks.items()):
        # 1. equal full names
        full: list[Unit] = []
        by_name: dict[str, list[Unit]] = {}
        singles: list[Unit] = []
        for k in members:
            p = profiles[k]
            one = Unit([])
            one.add(k, p)
            if not p.first:
                singles.append(one)
                continue
            for unit in by_name.get(p.full_key, []):
                if not blocked(unit, one):
                    unit.absorb(one)
                    break
            else:
                by_name.setdefault(p.full_key, []).append(one)
                full.append(one)
        for unit in full:
            if len({profiles[k].doc_id for k in unit.members}) > 1:
                decisions.append(
                    Decision(profiles[unit.members[0]].ref, unit.name, unit.name, unit.name, surname, 1.0, "merge",
                             f"same full name in {len({profiles[k].doc_id for k in unit.members})} documents")
                )
        # forced merges first: they pool the evidence the other steps use
        pool = full + singles
        for left, right, rule in must:
            involved = [u for u in pool if set(u.members) & (left | right)]
            if len(involved) > 1:
                head = involved[0]
                for other in involved[1:]:
                    head.absorb(other)
                    pool.remove(other)
                    if other in full:
                        full.remove(other)
                    if other in singles:
                        singles.remove(other)
                if head in singles and head.firsts:
                    singles.remove(head)
                    full.append(head)
                decisions.append(Decision(rule.a, rule.a, rule.b, rule.b, surname, 1.0, "forced-merge", f"aliases file line {rule.line}"))
        # 2. surname-only profiles that are one person
        groups: list[Unit] = []
        for one in singles:
            best, best_score, best_reasons = None, threshold, []  # the group this surname-only person joins
            for group in groups:
                s, reasons = score(group, one)
                if s >= best_score and not blocked(group, one):
                    best, best_score, best_reasons = group, s, reasons
            if best is not None:
                decisions.append(
                    Decision(profiles[one.members[0]].ref, one.name, profiles[best.members[0]].ref, best.name, surname,
                             best_score, "merge", "; ".join(best_reasons))
                )
                best.absorb(one)
            else:
                groups.append(one)
        # 3. a group joins the one full-named person the evidence points to
        for group in groups:
            ref = profiles[group.members[0]].ref
            scored = []
            for unit in full:
                s, reasons = score(unit, group)
                if blocked(unit, group):
                    decisions.append(Decision(ref, group.name, profiles[unit.members[0]].ref, unit.name, surname, s, "forced-split", "aliases file"))
                    continue
                scored.append((s, reasons, unit))
            scored.sort(key=lambda x: -x[0])
            top = scored[0] if scored else None
            ambiguous = bool(top and top[0] >= threshold and len(scored) > 1 and scored[1][0] > top[0] - margin)
            target = top[2] if top and top[0] >= threshold and not ambiguous else None
            for rank, (s, reasons, unit) in enumerate(scored[:3]):
                if s < 0:
                    verdict = "conflict"
                elif unit is target:
                    verdict = "merge"
                elif ambiguous and s > top[0] - margin:
                    verdict = "ambiguous"
                else:
                    verdict = "no-merge"
                why = "; ".join(reasons) or "no shared evidence"
                decisions.append(Decision(ref, group.name, profiles[unit.members[0]].ref, unit.name, surname, s, verdict, why))
            if target is not None:
                target.absorb(group)
            else:
                full.append(group)  # a person of its own, known by the surname only
        units_all += full
    for c, unit in enumerate(units_all):
        for k in unit.members:
            cluster_of[k] = c
    return cluster_of, decisions
