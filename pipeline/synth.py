"""A synthetic corpus of Persian provincial news with known truth, for measuring the pipeline at scale.

:func:`write_corpus` builds a *world* (public bodies and their provincial and county offices, the posts in
them, the people who held each post over four Jalali years) and writes articles about it in the genre of
the seeds: meetings, visits, statements, appointments, handover ceremonies and national news.  Each
article comes with its gold annotation in the project's gold format (``gold/<doc_id>.json``, see
``shared/gold/README.md``) and ``truth.json`` maps every gold entity to a global person or organization
id, so cross-document resolution can be scored too.

Vocabularies come from the project's lexicons (``pipeline/data``), never from the seed articles: first
names, common surnames plus surnames composed the way Persian ones are («حسن‌پور», «دزفولی»), provinces,
counties, the gazetteer's bodies and their office name templates, titles and portfolios.

The world deliberately contains the hard cases of cross-document resolution: the same surname borne by
different people in one province and across provinces (sometimes in one article, which then writes both
full names), one person holding two posts in turn, one office held by successive people, and articles that
name a person only by honorific + surname + title («دکتر رحیمی، رئیس سازمان بهزیستی کشور»).

Everything is drawn from one ``random.Random(seed)`` (defects from a second one derived from the seed),
iterating over lists only, so the same ``(docs, seed, defects)`` gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.dates import jalali_to_gregorian
from pipeline.lexicons import GazetteerEntry, lexicons, read_lines, read_rows
from pipeline.normalize import match_key

ZWNJ = "\u200c"

# ---------------------------------------------------------------------------------------------------------
# Calendar: day numbers from 1399-01-01 over five Jalali years.  Every year is taken as 365 days (Esfand
# 29 days) so that every generated date is valid whether or not the year is a leap year.

FIRST_YEAR = 1399
YEARS = 5
SPAN_DAYS = YEARS * 365
MIN_TENURE = 150  # days: nobody holds a post for less (except an interim cut short by a promotion)
MONTHS = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"]
WEEKDAYS = ["دوشنبه", "سه‌شنبه", "چهارشنبه", "پنج‌شنبه", "جمعه", "شنبه", "یکشنبه"]  # Python's weekday() order
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def fa(value: object) -> str:
    """Persian digits, as the articles write numbers."""
    return str(value).translate(_FA_DIGITS)


def jalali(day: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number."""
    year, doy = divmod(day, 365)
    if doy < 186:
        month, dom = divmod(doy, 31)
    else:
        month, dom = divmod(doy - 186, 30)
        month += 6
    return FIRST_YEAR + year, month + 1, dom + 1


def jalali_iso(day: int) -> str:
    y, m, d = jalali(day)
    return f"{y}-{m:02d}-{d:02d}"


def weekday(day: int) -> str:
    return WEEKDAYS[jalali_to_gregorian(*jalali(day)).weekday()]


def date_text(rng: random.Random, day: int) -> str:
    """A date as news sites write it: «۲۱ اسفند ۱۴۰۲», «۲۱ اسفندماه ۱۴۰۲», «۱۴۰۲/۱۲/۲۱»."""
    y, m, d = jalali(day)
    style = rng.random()
    if style < 0.5:
        return f"{fa(d)} {MONTHS[m - 1]} {fa(y)}"
    if style < 0.7:
        return f"{fa(d)} {MONTHS[m - 1]}ماه {fa(y)}"
    return fa(f"{y}/{m:02d}/{d:02d}") if rng.random() < 0.6 else fa(f"{y}/{m}/{d}")


# ---------------------------------------------------------------------------------------------------------
# Vocabularies

# Surnames of national political figures: an invented welfare official should not bear them, and «خمینی»
# would also collide with «کمیته امداد امام خمینی (ره)».
RESERVED_SURNAMES = {"خمینی", "خامنه‌ای", "رئیسی", "روحانی", "لاریجانی"}
# First names that are also honorifics or gender-ambiguous («رضوان» is given to both sexes).
EXCLUDED_FIRST_NAMES = {"شهید", "آیت‌الله", "رضوان"}
# The first female name of first_names.txt: the file lists male names, then female ones.
FIRST_FEMALE_NAME = "زهرا"
# Provinces whose bare name is an ordinary word: texts always write «استان مرکزی», never «بهزیستی مرکزی».
PROVINCES_NEEDING_OSTAN = {"مرکزی"}

# Real multi-word portfolios of Iranian administration (portfolios.txt holds their single words).
MULTIWORD_PORTFOLIOS = [
    "اداری، مالی و پشتیبانی", "مشارکت‌های مردمی", "توانبخشی", "امور اجتماعی", "پیشگیری", "حراست",
    "امور زنان و خانواده", "توسعه مدیریت و منابع",
]
# Words of portfolios.txt that occur only inside a longer portfolio («امور»، «توسعه»): never a portfolio alone.
PORTFOLIO_FRAGMENTS = {
    "امور", "مشارکت", "مشارکت‌های", "مشارکتهای", "زنان", "خانواده", "توسعه", "مدیریت", "منابع", "برنامه",
    "بودجه", "روابط", "سرمایه", "گذاری", "سرمایه‌گذاری", "دستیار", "حقوق", "بین‌الملل", "اقتصاد", "راهبردی",
    "اجرایی", "حراست", "پیگیری", "ارتباطات", "اطلاع‌رسانی", "آمار", "تبلیغات", "فناوری", "تحقیقات", "جوانان",
    "ورزش", "عمران", "نوسازی", "برنامه‌ریزی", "هماهنگی", "حمایت", "ارزیابی", "نظارت",
    "فرهنگ",  # the portfolio is «فرهنگی», an adjective
}
# Deputy portfolios by body, as their provincial offices name them.
DEPUTY_PORTFOLIOS = {
    "بهزیستی": ["توانبخشی", "امور اجتماعی", "پیشگیری", "مشارکت‌های مردمی", "اداری، مالی و پشتیبانی", "توسعه مدیریت و منابع"],
    "کمیته امداد": ["اشتغال و خودکفایی", "حمایت و سلامت خانواده", "مشارکت‌های مردمی", "توسعه مدیریت و منابع"],
    "بنیاد شهید": ["بهداشت و درمان", "امور زنان و خانواده", "توسعه مدیریت و منابع", "فرهنگی و آموزشی"],
}
GOVERNOR_DEPUTY_PORTFOLIO = "سیاسی، امنیتی و اجتماعی"

# Bodies of the gazetteer, found by a word of their canonical name.  Every province has the core welfare
# bodies; each gets a few of the others.
CORE_BODIES = ["بهزیستی", "کمیته امداد", "بنیاد شهید"]
OTHER_BODIES = ["تامین اجتماعی", "تعاون، کار", "ستاد اجرایی", "بنیاد مسکن", "هلال", "اوقاف"]
INTERIOR, PARLIAMENT, LABOUR = "وزارت کشور", "مجلس شورای اسلامی", "وزارت تعاون، کار"
# The head of a provincial office is a مدیرکل, except where the body calls it otherwise.
PROVINCE_HEAD_ROLE = {"هلال": "مدیرعامل"}

AGENCIES = ["ایرنا", "ایسنا", "ایلنا", "تسنیم", "دانا"]


# ---------------------------------------------------------------------------------------------------------
# The world


@dataclass
class Org:
    """An organization: a national body, or one of its provincial or county offices."""

    id: str
    name: str
    level: str  # "national" | "province" | "county"
    parent: str  # id of the parent org, "" for a national body
    body: str  # canonical name of the national body it belongs to
    province: str = ""
    county: str = ""
    short: str = ""  # the body named without head noun or place: «بهزیستی», «کمیته امداد»
    core: str = ""  # the one word that names the body alone («بهزیستی»), used when unambiguous
    keeps_head: bool = False  # «اداره کل ...»: a text may keep the head without «استان»: «اداره کل بهزیستی فارس»
    aliases: tuple[str, ...] = ()  # national bodies: the gazetteer's multi-word aliases («سازمان بهزیستی»)

    def forms(self) -> dict[str, str]:
        """Surface forms by kind.  ``anaphor`` and ``bare`` only after a first mention (the writer checks)."""
        out = {"full": self.name}
        if self.level == "national":
            for i, alias in enumerate(self.aliases):
                out[f"alias{i}"] = alias
        elif self.short:
            place = self.province if self.level == "province" else self.county
            unit = "استان" if self.level == "province" else "شهرستان"
            out["unit"] = f"{self.short} {unit} {place}"  # «بهزیستی استان فارس», «بهزیستی شهرستان دزفول»
            if place not in PROVINCES_NEEDING_OSTAN:
                out["place"] = f"{self.short} {place}"  # «بهزیستی فارس»
            if self.keeps_head and self.level == "province":
                out["head"] = f"اداره کل {self.short} {place}"  # «اداره کل بهزیستی فارس»
            out["anaphor"] = f"{self.short} {unit}"  # «بهزیستی استان»
        else:  # استانداری فارس، فرمانداری دزفول: named by their head alone once introduced
            out["anaphor"] = self.name.split()[0]
        if self.core:
            out["bare"] = self.core
        return {kind: form for kind, form in out.items() if kind == "full" or form != self.name}


@dataclass
class Office:
    """A post that one person at a time holds: role (+ portfolio) in an org."""

    id: str
    kind: str  # governor, governor_deputy, director, deputy, county_governor, county_head, mp, national_head, national_deputy, minister
    role: str
    portfolio: str
    org: Org
    province: str = ""
    county: str = ""
    posts: list[Post] = field(default_factory=list)  # successive tenures, in time order

    @property
    def title(self) -> str:
        return f"{self.role} {self.portfolio}".strip()

    def post_at(self, day: int) -> Post | None:
        return next((p for p in self.posts if p.start <= day <= p.end), None)


@dataclass
class Post:
    """One tenure of an office."""

    office: Office
    start: int
    end: int  # inclusive
    person: Person | None = None


@dataclass
class Person:
    id: str = ""
    first: str = ""  # with «سید»/«سیده» where the person bears it: part of the name
    surname: str = ""
    gender: str = "m"
    honorific: str = ""  # «دکتر», «مهندس», «حجت‌الاسلام» or ""
    posts: list[Post] = field(default_factory=list)

    @property
    def full(self) -> str:
        return f"{self.first} {self.surname}"

    @property
    def province(self) -> str:
        return self.posts[0].office.province

    def post_at(self, day: int) -> Post | None:
        return next((p for p in self.posts if p.start <= day <= p.end), None)


@dataclass
class World:
    provinces: list[str]
    counties: dict[str, list[str]]
    capitals: dict[str, str]
    orgs: list[Org]
    offices: list[Office]
    persons: list[Person]
    venue_names: list[str]  # surnames no person bears: «سالن شهید X»
    featured: dict[str, int] = field(default_factory=dict)  # person id → articles so far
    by_surname: dict[str, list[Person]] = field(default_factory=dict)
    _namesakes: list[tuple[Post, Post, int, int]] | None = None

    def __post_init__(self) -> None:
        for person in self.persons:
            self.by_surname.setdefault(person.surname, []).append(person)

    def namesake_posts(self) -> list[tuple[Post, Post, int, int]]:
        """(post, post, first day, last day): two people with one surname in office in one province at once."""
        if self._namesakes is None:
            self._namesakes = []
            for people in self.by_surname.values():
                for i, a in enumerate(people):
                    for b in people[i + 1 :]:
                        for pa in a.posts:
                            for pb in b.posts:
                                lo, hi = max(pa.start, pb.start), min(pa.end, pb.end)
                                if lo <= hi and pa.office.province and pa.office.province == pb.office.province:
                                    self._namesakes.append((pa, pb, lo, hi))
        return self._namesakes

    def posts_at(self, day: int, province: str | None = None, kinds: tuple[str, ...] = ()) -> list[Post]:
        out = []
        for office in self.offices:
            if (province is None or office.province == province) and (not kinds or office.kind in kinds):
                post = office.post_at(day)
                if post is not None:
                    out.append(post)
        return out

    def office_of(self, kind: str, body: str = "", province: str = "") -> Office | None:
        return next(
            (o for o in self.offices if o.kind == kind and (not body or o.org.body == body) and (not province or o.province == province)),
            None,
        )


def _join(stem: str, suffix: str) -> str:
    """Attach a suffix the way Persian writes it: after a letter that joins forward, with a ZWNJ."""
    return stem + suffix if stem[-1] in "ادذرزژو" else stem + ZWNJ + suffix


def first_names() -> tuple[list[str], list[str]]:
    """(male, female) first names of the lexicon («?» stripped)."""
    names = [line.rstrip("?").strip() for line in read_lines("first_names.txt")]
    if FIRST_FEMALE_NAME not in names:
        raise ValueError(f"first_names.txt: the female names are expected to start at «{FIRST_FEMALE_NAME}»")
    split = names.index(FIRST_FEMALE_NAME)
    male = [n for n in dict.fromkeys(names[:split]) if n not in EXCLUDED_FIRST_NAMES]
    female = [n for n in dict.fromkeys(names[split:]) if n not in EXCLUDED_FIRST_NAMES]
    return male, female


def surname_pools(male_names: list[str], counties: list[str]) -> tuple[list[str], list[str]]:
    """(common surnames of the lexicon, composed surnames): «حسن‌پور», «جعفری‌نژاد», «دزفولی» ..."""
    banned = RESERVED_SURNAMES
    common = [s for s in read_lines("surnames.txt") if s not in banned]
    composed: list[str] = []
    # simple first names only: compounds («محمدرضا», «حبیب‌الله») rarely make surnames
    stems = [
        n for n in male_names
        if ZWNJ not in n and " " not in n and len(n) <= 6 and not n.startswith(("محمد", "غلام", "عبد", "امیر", "پور"))
    ]
    for name in stems:
        if name[-1] not in "اویه":  # «حسنی», but not «مهدیی»
            composed.append(name + "ی")
        for suffix in ("پور", "زاده", "نژاد"):
            composed.append(_join(name, suffix))
    for surname in common:
        if surname.endswith("ی"):
            composed += [_join(surname, "نژاد"), _join(surname, "فر"), _join(surname, "پور")]
    for county in counties:
        if " " not in county and county[-1] not in "اویه":
            composed.append(county + "ی")  # «دزفولی»
    common_set = set(common)
    composed = [s for s in dict.fromkeys(composed) if s not in banned and s not in common_set and s not in male_names]
    return common, composed


def _tenures(rng: random.Random, holders: int) -> list[tuple[int, int]]:
    """Split the span into ``holders`` tenures of at least MIN_TENURE days."""
    for _ in range(50):
        cuts = sorted(rng.sample(range(MIN_TENURE, SPAN_DAYS - MIN_TENURE), holders - 1))
        bounds = [0, *cuts, SPAN_DAYS]
        if all(b - a >= MIN_TENURE for a, b in itertools.pairwise(bounds)):
            return [(a, b - 1) for a, b in itertools.pairwise(bounds)]
    return [(0, SPAN_DAYS - 1)]


class _WorldBuilder:
    def __init__(self, rng: random.Random, docs: int):
        self.rng = rng
        self.docs = docs
        self.orgs: list[Org] = []
        self.offices: list[Office] = []
        self.entries = {e.canonical: e for e in lexicons().gazetteer_entries}

    def entry(self, word: str) -> GazetteerEntry | None:
        return next((e for e in self.entries.values() if word in e.canonical), None)

    # -- organizations ------------------------------------------------------------------------------------
    def add_org(self, **kw) -> Org:
        org = Org(id=f"O{len(self.orgs) + 1:04d}", **kw)
        self.orgs.append(org)
        return org

    def national(self, entry: GazetteerEntry) -> Org:
        existing = next((o for o in self.orgs if o.level == "national" and o.body == entry.canonical), None)
        if existing:
            return existing
        # multi-word aliases that are more than a spelling variant («سازمان بهزیستی», «بنیاد شهید»)
        aliases = tuple(a for a in entry.aliases if len(a.split()) >= 2 and match_key(a) != match_key(entry.canonical))
        return self.add_org(
            name=entry.canonical, level="national", parent="", body=entry.canonical,
            short=_short_name(entry), core=entry.core, aliases=aliases[:2],
        )

    def provincial(self, entry: GazetteerEntry, province: str) -> Org:
        national = self.national(entry)
        template = entry.province_office
        return self.add_org(
            name=template.format(province=province), level="province", parent=national.id, body=entry.canonical,
            province=province, short=_short_name(entry), core=entry.core, keeps_head=template.startswith("اداره کل "),
        )

    def county(self, entry: GazetteerEntry, province: str, county: str) -> Org:
        national = self.national(entry)
        parent = next((o for o in self.orgs if o.body == entry.canonical and o.level == "province" and o.province == province), national)
        return self.add_org(
            name=entry.county_office.format(county=county), level="county", parent=parent.id, body=entry.canonical,
            province=province, county=county, short=_short_name(entry), core=entry.core,
        )

    def add_office(self, kind: str, role: str, org: Org, portfolio: str = "", province: str = "", county: str = "") -> Office:
        office = Office(f"F{len(self.offices) + 1:04d}", kind, role, portfolio, org, province or org.province, county or org.county)
        self.offices.append(office)
        return office

    # -- the whole world ------------------------------------------------------------------------------------
    def build(self) -> World:
        rng, docs = self.rng, self.docs
        lex_places = {p for p in read_lines("ambiguous_places.txt")}
        province_rows = read_rows("provinces.tsv", 3)
        province_names = {name for name, _v, _c in province_rows}
        counties_by_province: dict[str, list[str]] = {}
        for county, province in read_rows("counties.tsv", 2):
            # a county named like a province («اصفهان») would make «بهزیستی اصفهان» ambiguous; an ambiguous
            # place («نور») is a place only after «شهرستان»: both left out
            if province and county not in province_names and county not in lex_places:
                counties_by_province.setdefault(province, []).append(county)
        candidates = [(name, capital) for name, _v, capital in province_rows if len(counties_by_province.get(name, [])) >= 2]
        # about docs/4 persons: a province with its counties brings some 25 offices, 40 holders in five years
        n_provinces = max(3, min(len(candidates), round(docs / 160)))
        small = docs < 1000
        chosen = sorted(rng.sample(range(len(candidates)), n_provinces))
        provinces = [candidates[i][0] for i in chosen]
        capitals = {candidates[i][0]: candidates[i][1] for i in chosen}
        counties: dict[str, list[str]] = {}
        for province in provinces:
            pool = counties_by_province[province]
            n = min(len(pool), 2 + rng.randint(0, 1) + (not small) + docs // 2500)
            counties[province] = rng.sample(pool, n)

        interior, parliament, labour = self.entry(INTERIOR), self.entry(PARLIAMENT), self.entry(LABOUR)
        core_bodies = [e for e in (self.entry(w) for w in CORE_BODIES) if e]
        other_bodies = [e for e in (self.entry(w) for w in OTHER_BODIES) if e and e.province_office]

        # national offices: heads of the welfare bodies, some of their deputies, two ministers
        for entry in core_bodies:
            org = self.national(entry)
            self.add_office("national_head", "رئیس", org)
        welfare = self.national(core_bodies[0])
        for portfolio in rng.sample(DEPUTY_PORTFOLIOS.get(welfare.short, MULTIWORD_PORTFOLIOS)[:4], 2):
            self.add_office("national_deputy", "معاون", welfare, portfolio)
        self.add_office("national_deputy", "مدیرکل", welfare, "حراست")
        if labour:
            self.add_office("minister", "وزیر", self.national(labour))
        if interior:
            self.add_office("minister", "وزیر", self.national(interior))
        insurance = self.entry("تامین اجتماعی")
        if insurance:
            self.add_office("national_head", "مدیرعامل", self.national(insurance))
        parliament_org = self.national(parliament) if parliament else None

        generic_portfolios = MULTIWORD_PORTFOLIOS + [w for w in read_lines("portfolios.txt") if w not in PORTFOLIO_FRAGMENTS]
        for province in provinces:
            if interior:
                governorate = self.provincial(interior, province)
                self.add_office("governor", "استاندار", governorate)
                self.add_office("governor_deputy", "معاون", governorate, GOVERNOR_DEPUTY_PORTFOLIO)
            n_other = 1 if small else rng.randint(2, 3)
            bodies = core_bodies + rng.sample(other_bodies, min(len(other_bodies), n_other))
            for entry in bodies:
                org = self.provincial(entry, province)
                role = next((r for w, r in PROVINCE_HEAD_ROLE.items() if w in entry.canonical), "مدیرکل")
                self.add_office("director", role, org)
                portfolios = DEPUTY_PORTFOLIOS.get(org.short, generic_portfolios)
                rank = core_bodies.index(entry) if entry in core_bodies else len(core_bodies)
                if rank == 0:  # بهزیستی, the body the genre is mostly about
                    n_deputies = 2 if small else 3
                elif rank == 1 or (rank == 2 and not small):
                    n_deputies = 1
                else:
                    n_deputies = int(rng.random() < 0.4)
                for portfolio in rng.sample(portfolios, min(n_deputies, len(portfolios))):
                    self.add_office("deputy", "معاون", org, portfolio)
            for county in counties[province]:
                if interior:
                    self.add_office("county_governor", "فرماندار", self.county(interior, province, county))
                for i, entry in enumerate(core_bodies):
                    if entry.county_office and rng.random() < (1.0, 0.6, 0.3)[min(i, 2)]:
                        self.add_office("county_head", "رئیس", self.county(entry, province, county))
                if parliament_org and rng.random() < 0.5:
                    self.add_office("mp", "نماینده", parliament_org, province=province, county=county)

        self.hire(rng)
        persons = self.people(rng, [c for cs in counties.values() for c in cs])
        used = {p.surname for p in persons}
        venue_names = [s for s in self.composed if s not in used]  # «سالن شهید X» must not name a person of the world
        return World(provinces, counties, capitals, self.orgs, self.offices, persons, venue_names)

    # -- tenures and careers ---------------------------------------------------------------------------------
    def hire(self, rng: random.Random) -> None:
        """Tenures for every office, then promotions and transfers (one person, two posts in turn)."""
        for office in self.offices:
            weights = (0.55, 0.35, 0.10) if office.kind.startswith(("national", "minister")) else (0.45, 0.38, 0.17)
            holders = rng.choices((1, 2, 3), weights)[0]
            office.posts = [Post(office, a, b) for a, b in _tenures(rng, holders)]
        moves, wanted = 0, max(4, len(self.offices) // 10)
        targets = [o for o in self.offices if len(o.posts) >= 2 and self.feeders(o)]
        for _ in range(wanted * 20):
            if moves >= wanted or not targets:
                break
            target = rng.choice(targets)
            post = target.posts[rng.randrange(1, len(target.posts))]
            if post.person is not None:
                continue
            day = post.start
            feeder = rng.choice(self.feeders(target))
            source = feeder.post_at(day - 1)
            if source is None or source.start > day - MIN_TENURE or (day <= source.end < day + 30):
                continue  # not in the feeder post long enough, or it would leave a successor a few days
            person = source.person or Person()
            if person.posts and person.posts[-1] is not source:
                continue  # already moved on from this post
            if source.person is None:
                source.person = person
                person.posts.append(source)
            if source.end >= day:  # the rest of the source tenure goes to a successor
                rest = Post(feeder, day, source.end)
                feeder.posts.insert(feeder.posts.index(source) + 1, rest)
                source.end = day - 1
            post.person = person
            person.posts.append(post)
            moves += 1

    def feeders(self, office: Office) -> list[Office]:
        """Offices whose holder may be promoted or transferred to ``office``."""
        same_body = [o for o in self.offices if o.org.body == office.org.body and o is not office]
        if office.kind == "director":
            return [o for o in same_body if (o.kind == "deputy" and o.org is office.org) or (o.kind == "county_head" and o.province == office.province) or o.kind == "director"]
        if office.kind == "deputy":
            return [o for o in same_body if o.kind == "county_head" and o.province == office.province]
        if office.kind in ("national_head", "national_deputy"):
            return [o for o in same_body if o.kind == "director"]
        if office.kind == "governor":
            return [o for o in self.offices if o.kind == "governor_deputy" and o.province != office.province]
        if office.kind == "governor_deputy":
            return [o for o in self.offices if o.kind == "county_governor" and o.province == office.province]
        if office.kind == "county_head":
            return [o for o in same_body if o.kind == "county_head" and o.province == office.province]
        return []

    def people(self, rng: random.Random, world_counties: list[str]) -> list[Person]:
        """A person for every tenure without one; names for everybody, in order of first appearance."""
        posts = sorted((p for o in self.offices for p in o.posts), key=lambda p: (p.start, p.office.id))
        persons: list[Person] = []
        seen: set[int] = set()
        for post in posts:
            if post.person is None:
                post.person = Person(posts=[post])
            if id(post.person) not in seen:
                seen.add(id(post.person))
                persons.append(post.person)
        male, female = first_names()
        common, composed = surname_pools(male, world_counties)
        self.composed = composed
        common_weights = [1 / (rank + 3) for rank in range(len(common))]  # a few surnames very frequent
        full_names: set[str] = set()
        for n, person in enumerate(persons, 1):
            person.id = f"P{n:04d}"
            person.gender = "f" if rng.random() < 0.17 else "m"
            r = rng.random()
            person.honorific = "دکتر" if r < 0.3 else "مهندس" if r < 0.38 else ("حجت‌الاسلام" if r < 0.42 and person.gender == "m" else "")
            for _ in range(50):
                if person.gender == "m":
                    seyyed = 0.6 if person.honorific == "حجت‌الاسلام" else 0.14
                    first = ("سید " if rng.random() < seyyed else "") + rng.choice(male)
                else:
                    first = ("سیده " if rng.random() < 0.05 else "") + rng.choice(female)
                surname = self.surname(rng, person, persons[: n - 1], common, common_weights, composed)
                # full names are unique up to «سید»/«سیده», which articles often leave out: two people called
                # «سید بهنام محمدی» and «بهنام محمدی» could not be told apart by any reader
                plain = f"{first.removeprefix('سیده ').removeprefix('سید ')} {surname}"
                if plain not in full_names and surname not in first.split():
                    break
            person.first, person.surname = first, surname
            full_names.add(plain)
        return persons

    @staticmethod
    def surname(rng, person: Person, named: list[Person], common, common_weights, composed) -> str:
        r = rng.random()
        if r < 0.08:
            # a namesake in the same province at the same time: the hardest case for resolution
            overlapping = [
                p for p in named
                if p.province == person.province and p.province
                and any(a.start <= b.end and b.start <= a.end for a in p.posts for b in person.posts)
            ]
            if overlapping:
                return rng.choice(overlapping).surname
        if r < 0.5:
            return rng.choices(common, common_weights)[0]
        return rng.choice(composed)


def _short_name(entry: GazetteerEntry) -> str:
    """How a text names the body before a place: «بهزیستی», «کمیته امداد», «تعاون، کار و رفاه اجتماعی»."""
    template = entry.province_office
    if template.startswith("اداره کل ") and " استان {province}" in template:
        return template[len("اداره کل "): template.index(" استان {province}")]
    if entry.core:
        return entry.core
    multiword = sorted((a for a in entry.aliases if len(a.split()) >= 2 and "(" not in a), key=len)
    if template and not template.startswith(entry.canonical.split()[0]):
        return ""  # استانداری، فرمانداری: named only in full
    return multiword[0] if multiword else ""


def build_world(rng: random.Random, docs: int) -> World:
    """Orgs, offices, tenures and persons for a corpus of ``docs`` articles (about docs/5 to docs/3 persons)."""
    return _WorldBuilder(rng, docs).build()


# ---------------------------------------------------------------------------------------------------------
# Text material (written for this generator in the register of provincial news; no seed sentence reused)

QUOTES = {
    "بهزیستی": [
        "در سال جاری {n1} واحد مسکونی برای مددجویان دارای دو فرزند معلول و بیشتر ساخته و تحویل شده است",
        "بیش از {n2} هزار نفر از افراد دارای معلولیت در {place} از خدمات توانبخشی بهره‌مند هستند",
        "پرداخت حق پرستاری به افراد دارای معلولیت شدید و ضایعه نخاعی با جدیت دنبال می‌شود",
        "اورژانس اجتماعی با شماره ۱۲۳ به صورت شبانه‌روزی آماده خدمت‌رسانی به شهروندان است",
        "نظارت بر مراکز غیردولتی به‌ویژه مراکز شبانه‌روزی نگهداری سالمندان باید دقیق‌تر انجام شود",
        "غربالگری بینایی {n2} هزار کودک سه تا شش ساله در سال جاری انجام شده است",
        "طرح غربالگری شنوایی نوزادان در {n1} مرکز در حال اجراست",
        "بیمه رایگان مددجویان و پرداخت مستمری ماهانه آنان به موقع انجام می‌شود",
        "توسعه مراکز مشاوره و مداخله در بحران از برنامه‌های اولویت‌دار ماست",
        "برای توانمندسازی زنان سرپرست خانوار {n1} فرصت شغلی در سال جاری ایجاد شده است",
    ],
    "کمیته امداد": [
        "در سال جاری {n1} هزار خانوار تحت حمایت در {place} مستمری ماهانه دریافت کرده‌اند",
        "طرح اکرام ایتام و محسنین با همراهی مردم نیکوکار در حال گسترش است",
        "{n2} میلیارد ریال وام قرض‌الحسنه اشتغال به مددجویان پرداخت شده است",
        "جشن نیکوکاری فرصتی برای همدلی مردم با خانواده‌های نیازمند است",
        "ساخت {n1} واحد مسکن برای مددجویان فاقد مسکن در دستور کار قرار دارد",
        "توانمندسازی و خودکفایی مددجویان مهم‌ترین هدف این نهاد است",
        "کمک‌های مردمی نسبت به سال گذشته {n3} درصد افزایش یافته است",
        "بسته‌های معیشتی در آستانه ماه مبارک رمضان میان خانواده‌های نیازمند توزیع می‌شود",
    ],
    "بنیاد شهید": [
        "خدمت‌رسانی به خانواده‌های معظم شهدا و ایثارگران وظیفه‌ای همگانی است",
        "پرونده درمانی {n1} نفر از جانبازان در ماه‌های اخیر بررسی و تعیین تکلیف شده است",
        "دیدار با خانواده‌های شهدا و جانبازان در سراسر {place} ادامه دارد",
        "اشتغال فرزندان شاهد و ایثارگر از اولویت‌های این نهاد است",
        "{n2} میلیارد ریال برای تامین مسکن ایثارگران هزینه شده است",
        "ترویج فرهنگ ایثار و شهادت در میان نسل جوان باید جدی گرفته شود",
    ],
    "governance": [
        "دستگاه‌های اجرایی باید با هماهنگی کامل برای رفع مشکلات مردم تلاش کنند",
        "حمایت از اقشار آسیب‌پذیر در {place} از اولویت‌های دولت است",
        "پیگیری مطالبات مردم و تسریع در اجرای طرح‌های نیمه‌تمام باید در دستور کار مدیران باشد",
        "اعتبارات تخصیص یافته به {place} نسبت به سال گذشته {n3} درصد افزایش داشته است",
        "مسئولان باید با حضور میدانی در میان مردم از نزدیک در جریان مشکلات قرار گیرند",
        "نهادهای حمایتی نقش مهمی در کاهش آسیب‌های اجتماعی دارند",
        "تامین زمین برای ساخت مسکن مددجویان با همکاری دستگاه‌های مرتبط انجام می‌شود",
    ],
    "generic": [
        "ارائه خدمات مطلوب به جامعه هدف از مهم‌ترین وظایف ماست",
        "استفاده از ظرفیت خیرین و سازمان‌های مردم‌نهاد می‌تواند بخش مهمی از مشکلات را برطرف کند",
        "کاهش بوروکراسی اداری و تکریم ارباب رجوع باید سرلوحه کار همکاران باشد",
        "در سال جاری {n1} طرح اشتغال‌زایی با اعتبار {n2} میلیارد ریال اجرا شده است",
        "همکاران ما در شهرستان‌ها با کمترین امکانات بیشترین خدمات را ارائه می‌دهند",
        "هوشمندسازی خدمات و کاهش مراجعات حضوری در دستور کار قرار دارد",
        "جذب کامل اعتبارات تا پایان سال یکی از شاخص‌های ارزیابی مدیران است",
    ],
}
HEADLINE_QUOTES = [  # {where}: « در شهرستان دزفول», « در فارس» or nothing
    "{n1} واحد مسکن مددجویی{where} تحویل شد", "خدمت به مددجویان اولویت ماست",
    "{n2} میلیارد ریال تسهیلات اشتغال{where} پرداخت شد", "مشارکت خیرین{where} {n3} درصد افزایش یافت",
    "نظارت بر مراکز غیردولتی{where} تشدید می‌شود", "حمایت از خانواده‌های نیازمند{where} ادامه دارد",
    "{n1} فرصت شغلی برای مددجویان{where} ایجاد شد", "رفع مشکلات مردم با هماهنگی دستگاه‌ها ممکن است",
    "غربالگری بینایی {n2} هزار کودک{where} انجام شد",
]
PROJECTS = [
    "طرح غربالگری بینایی کودکان", "طرح توانمندسازی زنان سرپرست خانوار", "ساخت واحدهای مسکن مددجویی",
    "طرح اشتغال‌زایی مددجویان", "پویش کمک به خانواده‌های نیازمند", "طرح بیمه رایگان مددجویان",
    "توزیع بسته‌های معیشتی", "طرح همیاری خیرین",
]
TOPICS = [
    "عملکرد سال گذشته", "برنامه‌های ماه مبارک رمضان", "مشکلات مددجویان", "اهمیت مشارکت‌های مردمی",
    "وضعیت اشتغال مددجویان", "برنامه‌های پایان سال", "ظرفیت‌های استان", "طرح‌های در دست اجرا",
    "برنامه‌های دهه فجر", "وضعیت مسکن خانواده‌های کم‌برخوردار", "لزوم جذب اعتبارات",
]
REPORTS = [
    "گزارشی از عملکرد حوزه تحت مسئولیت خود ارائه کرد",
    "به بیان مشکلات و کمبودهای موجود پرداخت",
    "پیشنهادهایی برای بهبود خدمات ارائه داد",
    "بر ضرورت هماهنگی بیشتر دستگاه‌ها تاکید کرد",
    "از پیشرفت طرح‌های در دست اجرا خبر داد",
]
SPEECH_VERBS = ["گفت", "اظهار کرد", "تصریح کرد", "تاکید کرد", "بیان کرد", "اظهار داشت", "عنوان کرد"]  # a first statement
LATER_VERBS = ["افزود", "ادامه داد", "تصریح کرد", "خاطرنشان کرد", "یادآور شد", "تاکید کرد"]
OCCASIONS = [
    "در گفت‌وگو با خبرنگاران", "در نشست خبری", "در آیین افتتاح یک مرکز مشاوره", "در جمع خبرنگاران",
    "در حاشیه بازدید از مراکز تحت نظارت", "در دیدار با خانواده‌های مددجو", "در همایش خیرین",
]
CENTERS = [
    "یک مرکز نگهداری سالمندان", "کارگاه‌های اشتغال مددجویان", "واحدهای مسکونی در حال ساخت مددجویان",
    "یک مرکز توانبخشی روزانه", "یک مهدکودک تحت نظارت", "خانه‌های ایثارگران", "یک مرکز مشاوره",
]
TAG_WORDS = ["مددجویان", "اشتغال", "مسکن", "خیرین", "توانبخشی", "سالمندان", "معلولان"]


# ---------------------------------------------------------------------------------------------------------
# An article being written, with what it mentions


@dataclass
class _PersonUse:
    person: Person
    forms: list[str] = field(default_factory=list)  # surface forms in order of use
    titles: list[tuple[str, str]] = field(default_factory=list)  # (title as written, org id)
    full_used: bool = False


class Article:
    """Writes the lines of one article and records every person and organization form it uses.

    ``cast`` is planned before any line is written, so the article knows which surnames it shares between
    two people (both are then always written in full) and which bodies it names more than one office of
    (their one-word form «بهزیستی» would be ambiguous and is not used).
    """

    def __init__(self, world: World, rng: random.Random, day: int, cast: list[Post], province: str = ""):
        self.world, self.rng, self.day = world, rng, day
        self.province = province or next((p.office.province for p in cast if p.office.province), "")
        self.lines: list[str] = []
        self.people: dict[str, _PersonUse] = {}
        self.org_forms: dict[str, list[str]] = {}  # org id → forms in order of use
        self.optional: list[str] = []
        # offices a title implies without naming them («استاندار فارس» → «استانداری فارس»): the contract's
        # affiliations give an org that is "stated or inferable", so the gold title has it, as optional org
        self.implied: dict[str, str] = {}
        self.last_speaker = ""  # «وی» refers to the person who spoke last
        self.quotes_used: set[str] = set()
        cast_persons = list({p.person.id: p.person for p in cast}.values())
        counts = Counter(p.surname for p in cast_persons)
        self.full_only = {p.id for p in cast_persons if counts[p.surname] > 1}  # case (c)
        body_offices = Counter(body for body, _ in dict.fromkeys((p.office.org.body, p.office.org.id) for p in cast))
        self.ambiguous_bodies = {body for body, n in body_offices.items() if n > 1}
        self.surname_only = {p.id for p in cast_persons if p.id not in self.full_only and self._may_omit_first_name(p)}

    # -- persons -------------------------------------------------------------------------------------------
    def _may_omit_first_name(self, person: Person) -> bool:
        """Case (f), drawn at random where a reader could still tell who it is: no other person with that
        surname holds the same role, or any post in the same province, at the article's date."""
        post = person.post_at(self.day)
        if post is None:
            return False
        for other in self.world.by_surname[person.surname]:
            other_post = other.post_at(self.day) if other is not person else None
            if other_post and (other_post.office.role == post.office.role or other_post.office.province == post.office.province):
                return False
        national = post.office.kind in NATIONAL_KINDS
        return self.rng.random() < (0.3 if national else 0.07)

    def _use(self, person: Person) -> _PersonUse:
        if person.id not in self.people:
            self.people[person.id] = _PersonUse(person)
            self.world.featured[person.id] = self.world.featured.get(person.id, 0) + 1
        return self.people[person.id]

    def _form(self, person: Person, form: str) -> str:
        use = self._use(person)
        if form not in use.forms:
            use.forms.append(form)
        use.full_used |= person.full in form
        return form

    def _honorific(self, person: Person, p_own: float, p_polite: float) -> str:
        """The person's own honorific («دکتر») at times, a polite «آقای»/«خانم» for others, or ""."""
        if person.honorific:
            return person.honorific if self.rng.random() < p_own else ""
        if self.rng.random() < p_polite:
            return "آقای" if person.gender == "m" else "خانم"
        return ""

    def name(self, person: Person, polite: float = 0.08) -> str:
        """The name as at a first mention: full (with an honorific at times), or honorific + surname (case f)."""
        if person.id in self.surname_only:
            return self._form(person, f"{self._honorific(person, 1.0, 1.0)} {person.surname}")
        return self._form(person, f"{self._honorific(person, 0.55, polite)} {person.full}".strip())

    def ref(self, person: Person) -> str:
        """A later mention: surname or honorific + surname; the full name where the surname is shared."""
        if person.id in self.full_only:
            return self._form(person, person.full)
        if person.id in self.surname_only and self.rng.random() < 0.6:
            return self._form(person, f"{self._honorific(person, 1.0, 1.0)} {person.surname}")
        if person.honorific and self.rng.random() < 0.3:
            return self._form(person, f"{person.honorific} {person.surname}")
        return self._form(person, person.surname)

    def mention(self, post: Post, style: str = "") -> str:
        """A person with title the first time («مهران رحیمی، مدیرکل بهزیستی استان فارس»), later by reference."""
        person = post.person
        if person.id in self.people:
            return self.ref(person)
        style = style or self.rng.choices(["name_title", "title_name"], [0.55, 0.45])[0]
        if person.id in self.surname_only or style == "name_title":
            name = self.name(person)
            return f"{name}، {self.title(post)}"
        if style == "title_name":
            title = self.title(post)
            return f"{title}، {self.name(person)}"
        name = self.name(person)
        return f"{name} {self.title(post)}"  # in lists: «با حضور علی رضایی استاندار فارس، ...»

    # -- organizations -------------------------------------------------------------------------------------
    def org(self, org: Org, weights: dict[str, float] | None = None) -> str:
        """A form of ``org`` drawn by weight among the kinds available at this point of the article:
        ``anaphor`` («بهزیستی استان») and ``bare`` («بهزیستی») only after a first mention."""
        forms = org.forms()
        mentioned = org.id in self.org_forms
        available: list[tuple[str, float]] = []
        for kind, weight in (weights or {"full": 1}).items():
            for k in [k for k in forms if k.startswith("alias")] if kind == "alias" else [kind] if kind in forms else []:
                if k in ("anaphor", "bare") and not mentioned:
                    continue
                if (k == "bare" or k.startswith("alias")) and org.body in self.ambiguous_bodies:
                    # with two offices of a body in the article, a short name («بنیاد شهید») would refer
                    # to the one the article is about (the contract's elliptic forms): not written
                    continue
                if weight > 0:
                    available.append((k, weight))
        kind = self.rng.choices([k for k, _ in available], [w for _, w in available])[0] if available else "full"
        forms_used = self.org_forms.setdefault(org.id, [])
        if forms[kind] not in forms_used:
            forms_used.append(forms[kind])
        return forms[kind]

    def org_after_noun(self, org: Org) -> str:
        """The org after a noun such as «جلسه شورای اداری»: «بهزیستی استان فارس», «کمیته امداد ... استان فارس»."""
        return self.org(org, {"full": 0 if org.keeps_head else 2, "unit": 3, "place": 2, "anaphor": 1})

    def title(self, post: Post, qualifier: str = "", record: bool = True) -> str:
        """The title phrase of a post («مدیرکل بهزیستی استان فارس», «استاندار فارس»), with an optional
        «سابق»/«جدید» after the role.  ``record``: the person is tied to it in the gold (not in headlines,
        where a title names nobody)."""
        office, org = post.office, post.office.org
        head = f"{office.title} {qualifier}".strip()
        kind = office.kind
        if kind == "governor":
            phrase = f"{head} {office.province}"
            self.implied[org.id] = org.name
        elif kind == "county_governor":
            phrase = f"{head} {office.county}"
            self.implied[org.id] = org.name
        elif kind == "mp":
            phrase = f"{head} مردم {office.county} در {self.org(org)}"
        elif kind == "minister":
            phrase = f"{head} {org.name.removeprefix('وزارت ')}"
            self.implied[org.id] = org.name  # «وزیر کشور» → «وزارت کشور»
        elif org.level == "national":
            phrase = f"{head} {self.org(org, {'full': 3, 'alias': 2, 'bare': 1})}"
        elif kind == "governor_deputy":
            phrase = f"{head} {self.org(org, {'full': 3, 'anaphor': 1})}"
        elif kind == "county_head":
            phrase = f"{head} {self.org(org, {'full': 3, 'unit': 3, 'place': 3, 'anaphor': 1, 'bare': 1})}"
        else:  # director or deputy of a provincial office; «مدیرکل اداره کل ...» is not written
            full = 0 if org.keeps_head and kind == "director" else 1
            phrase = f"{head} {self.org(org, {'full': full, 'unit': 4, 'place': 3, 'anaphor': 3, 'bare': 1})}"
        if record:
            use = self._use(post.person)
            if (head, org.id) not in use.titles:
                # the gold org of the title is the post's org where the article names it (decided at the end):
                # «استاندار فارس» alone does not name «استانداری فارس»
                use.titles.append((head, org.id))
        return phrase

    # -- sentences -----------------------------------------------------------------------------------------
    def quote(self, office: Office) -> str:
        if office.kind in ("governor", "governor_deputy", "county_governor", "mp", "minister"):
            pool = QUOTES["governance"]
        else:
            pool = QUOTES.get(office.org.short, []) + QUOTES["generic"]
        place = "این شهرستان" if office.county else "استان" if office.province else "کشور"
        fresh = [q for q in pool if q not in self.quotes_used] or pool  # no sentence said twice
        chosen = self.rng.choice(fresh)
        self.quotes_used.add(chosen)
        return chosen.format(
            n1=fa(self.rng.randint(12, 480)), n2=fa(self.rng.randint(3, 95)), n3=fa(self.rng.randint(5, 40)), place=place
        )

    def speech(self, post: Post) -> str:
        """A sentence of reported speech by the holder of ``post`` (introduced first if need be)."""
        rng = self.rng
        if post.person.id not in self.people:
            who, verbs = self.mention(post), SPEECH_VERBS
        elif self.last_speaker == post.person.id and rng.random() < 0.35:
            who, verbs = "وی", LATER_VERBS
        else:
            who, verbs = self.ref(post.person), LATER_VERBS
        self.last_speaker = post.person.id
        verb = rng.choice(verbs)
        frame = rng.random()
        if frame < 0.5:
            return f"{who} {verb}: {self.quote(post.office)}."
        if frame < 0.75:
            return f"{who} با اشاره به {rng.choice(TOPICS)} {verb}: {self.quote(post.office)}."
        return f"{who} با بیان اینکه {self.quote(post.office)}، {verb}: {self.quote(post.office)}."

    def time_phrase(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return self.rng.choice(["صبح امروز", "عصر امروز", "امروز"])
        if r < 0.6:
            return f"{self.rng.choice(['صبح', 'عصر', ''])} روز {weekday(self.day)}".strip()
        return f"{self.rng.choice(['صبح', 'عصر'])} {weekday(self.day)} {date_text(self.rng, self.day)}"

    def lead(self, org: Org | None) -> str:
        """«به گزارش روابط عمومی ...،» (the org's full name, as public relations write it) or a news agency."""
        if org is not None and self.rng.random() < 0.7:
            verb = self.rng.choice(["به گزارش", "به گزارش", "به نقل از"])
            return f"{verb} روابط عمومی {self.org(org, {'full': 5, 'head': 1})}،"
        agency = f"خبرگزاری {self.rng.choice(AGENCIES)}"
        self.optional.append(agency)
        capital = self.world.capitals.get(self.province, "")
        return f"به گزارش {agency}{' از ' + capital if capital and self.rng.random() < 0.5 else ''}،"

    def venue(self) -> str:
        if self.rng.random() < 0.5:
            return ""
        name = f"سالن شهید {self.rng.choice(self.world.venue_names)}"
        self.optional.append(name)
        return f" در {name}"

    # -- layout --------------------------------------------------------------------------------------------
    def open(self, headline: str) -> None:
        """Headline, page furniture, sometimes a date line."""
        rng = self.rng
        self.lines.append(headline)
        if rng.random() < 0.15:
            self.lines.append(f"• امروز : {weekday(self.day)} - {date_text(rng, self.day)}")
        if rng.random() < 0.25:
            self.lines.append(f"کد خبر: {fa(rng.randint(10000, 999999))}")
        if rng.random() < 0.35:
            clock = f" - {fa(rng.randint(7, 21))}:{fa(rng.randint(10, 59))}" if rng.random() < 0.5 else ""
            self.lines.append(f"{weekday(self.day)} {date_text(rng, self.day)}{clock}")

    def close(self) -> None:
        rng = self.rng
        if rng.random() < 0.25:
            tags = ([self.province] if self.province else []) + rng.sample(TAG_WORDS, 2)
            self.lines.append("برچسب ها: " + "، ".join(tags))
        if rng.random() < 0.2:
            self.lines.append(f"تعداد بازدید: {fa(rng.randint(3, 900))}")
        if rng.random() < 0.2:
            self.lines.append("اشتراک گذاری")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"

    # -- gold ----------------------------------------------------------------------------------------------
    def gold(self, doc_id: str) -> tuple[dict, list[dict]]:
        """(gold annotation, truth mention rows) of the article."""
        org_names = {oid: max(forms, key=lambda f: (len(f.split()), len(f))) for oid, forms in self.org_forms.items()}
        persons, organizations, mentions = [], [], []
        for pid, use in self.people.items():
            name = use.person.full if use.full_used else use.person.surname
            titles = []
            for title, oid in use.titles:
                org_name = org_names.get(oid)
                if org_name is None and oid in self.implied:
                    org_name = self.implied[oid]
                    self.optional.append(org_name)
                titles.append({"title": title, "org": org_name})
            persons.append({"name": name, "aliases": [f for f in use.forms if f != name], "titles": titles})
            mentions.append({"doc": doc_id, "type": "PERSON", "name": name, "id": pid})
        for oid, forms in self.org_forms.items():
            name = org_names[oid]
            organizations.append({"name": name, "aliases": [f for f in forms if f != name]})
            mentions.append({"doc": doc_id, "type": "ORG", "name": name, "id": oid})
        gold = {"doc": doc_id, "persons": persons, "organizations": organizations, "optional": list(dict.fromkeys(self.optional))}
        return gold, mentions


# ---------------------------------------------------------------------------------------------------------
# Article types

PROVINCIAL_KINDS = ("governor", "governor_deputy", "director", "deputy", "county_governor", "county_head", "mp")
NATIONAL_KINDS = ("national_head", "national_deputy", "minister")
TYPE_WEIGHTS = {
    "meeting": 0.25, "statement": 0.19, "visit": 0.12, "county": 0.12, "national": 0.12,
    "appointment": 0.08, "ceremony": 0.07, "namesakes": 0.05,
}
FOCUS_KINDS = {
    "meeting": ("director",),
    "statement": ("director", "deputy", "governor", "governor_deputy", "county_governor", "mp"),
    "visit": ("governor", "director", "national_head", "national_deputy", "county_governor", "mp"),
    "county": ("county_head",),
    "national": NATIONAL_KINDS,
    "appointment": ("director", "deputy", "county_head", "governor", "county_governor", "national_head", "national_deputy"),
    "ceremony": ("director", "deputy", "county_head", "governor", "county_governor", "national_head"),
}


def _pick_focus(rng: random.Random, world: World, kinds: tuple[str, ...], successors_only: bool = False) -> Post | None:
    """A post to write about: persons featured less so far are more likely, so that everybody recurs;
    national figures are written about more often."""
    candidates = [
        post for office in world.offices if office.kind in kinds
        for i, post in enumerate(office.posts) if i > 0 or not successors_only
    ]
    if not candidates:
        return None
    weights = [(3.0 if p.office.kind in NATIONAL_KINDS else 1.0) / (1 + world.featured.get(p.person.id, 0)) ** 2 for p in candidates]
    return rng.choices(candidates, weights)[0]


def _companions(rng: random.Random, world: World, focus: Post, day: int, n: int) -> list[Post]:
    """Up to ``n`` other posts held at ``day`` in the focus's province, those of the same body first."""
    others = [p for p in world.posts_at(day, focus.office.province, PROVINCIAL_KINDS) if p.person is not focus.person]
    same_body = [p for p in others if p.office.org.body == focus.office.org.body]
    rest = [p for p in others if p.office.org.body != focus.office.org.body]
    rng.shuffle(same_body)
    rng.shuffle(rest)
    chosen: list[Post] = []
    for post in same_body[:2] + rest:
        if len(chosen) < n and all(post.person is not c.person for c in chosen):
            chosen.append(post)
    return chosen


def _headline_quote(rng: random.Random, where: str = "") -> str:
    return rng.choice(HEADLINE_QUOTES).format(
        n1=fa(rng.randint(12, 480)), n2=fa(rng.randint(3, 95)), n3=fa(rng.randint(5, 40)), where=f" در {where}" if where else ""
    )


def _workday(day: int, first: int) -> int:
    """Meetings and appointments fall on working days: a Friday moves to the Thursday (within the post)."""
    return day - 1 if weekday(day) == "جمعه" and day > first else day


def _meeting(rng: random.Random, world: World, focus: Post, day: int, cast: list[Post] | None = None) -> Article:
    """A council or meeting of a provincial office, chaired by its head, with a few others present."""
    cast = cast or [focus] + _companions(rng, world, focus, day, rng.randint(1, 3))
    org = focus.office.org
    art = Article(world, rng, day, cast)
    council = rng.choice(["شورای اداری", "شورای معاونین", ""])  # "": a meeting of managers, not a council
    style = rng.random()
    if style < 0.35 and council:
        headline = f"جلسه {council} {art.org_after_noun(org)} برگزار شد"
    elif style < 0.65:
        headline = f"نشست مدیران {art.org_after_noun(org)} با محوریت {rng.choice(TOPICS)} برگزار شد"
    else:
        headline = f"{art.title(focus, record=False)}: {_headline_quote(rng)}"
    art.open(headline)
    others = cast[1:]
    where = art.org_after_noun(org)
    first = f"{art.time_phrase()}، {'جلسه ' + council if council else 'نشست هم‌اندیشی مدیران'} {where}"
    if others[:2]:
        first += f" با حضور {'، '.join(art.mention(p, 'list') for p in others[:2])} و جمعی از مدیران"
    art.lines.append(f"{first}{art.venue()} برگزار شد.")
    art.lines.append(" ".join([f"{art.lead(org)} {art.speech(focus)}"] + [art.speech(focus) for _ in range(rng.randint(1, 3))]))
    for post in others[2:] + others[:2]:
        if post.person.id not in art.people or rng.random() < 0.6:
            art.lines.append(f"در ادامه این جلسه {art.mention(post)} نیز {rng.choice(REPORTS)}.")
            if rng.random() < 0.5:
                art.lines.append(art.speech(post))
    if rng.random() < 0.4:
        art.lines.append(f"در پایان این نشست، مصوباتی درباره {rng.choice(TOPICS)} به تصویب رسید.")
    art.close()
    if council:  # «شورای اداری بهزیستی فارس» is a council: optional, as in the seeds' gold
        art.optional += [f"{council} {form}" for form in art.org_forms[org.id] if f"{council} {form}" in art.text()]
    return art


def _statement(rng: random.Random, world: World, focus: Post, day: int) -> Article:
    """One official speaking: to reporters, at a ceremony, in an interview."""
    cast = [focus] + _companions(rng, world, focus, day, rng.choice([0, 0, 1]))
    art = Article(world, rng, day, cast)
    where = f"استان {focus.office.province}" if focus.office.province and rng.random() < 0.5 else ""
    art.open(f"{art.title(focus, record=False)}: {_headline_quote(rng)}" if rng.random() < 0.5 else _headline_quote(rng, where))
    lead_org = focus.office.org if focus.office.kind in ("director", "deputy", "county_head", "governor_deputy") else None
    lead = art.lead(lead_org)
    art.lines.append(f"{lead} {art.mention(focus)} {rng.choice(OCCASIONS)} {rng.choice(SPEECH_VERBS)}: {art.quote(focus.office)}.")
    art.lines.append(" ".join(art.speech(focus) for _ in range(rng.randint(1, 3))))
    for other in cast[1:]:
        art.lines.append(f"{art.ref(focus.person)} با قدردانی از همکاری {art.mention(other, 'list')} {rng.choice(LATER_VERBS)}: {art.quote(focus.office)}.")
    if rng.random() < 0.5:
        art.lines.append(art.speech(focus))
    art.close()
    return art


def _visit(rng: random.Random, world: World, focus: Post, day: int) -> Article:
    """An official visits centres in a county, received by the local heads."""
    province = focus.office.province or rng.choice(world.provinces)
    county = focus.office.county or rng.choice(world.counties[province])
    body = focus.office.org.body
    hosts = [
        p for p in world.posts_at(day, province, ("county_head", "county_governor", "director"))
        if p.person is not focus.person and p.office.county in ("", county)
        and (p.office.org.body == body or p.office.kind == "county_governor" or focus.office.kind in ("governor", "county_governor", "mp"))
    ]
    rng.shuffle(hosts)
    cast = [focus] + hosts[: rng.randint(1, 2)]
    lead_org = next((p.office.org for p in cast if p.office.org.body == body and p.office.org.level != "national"), None)
    art = Article(world, rng, day, cast, province=province)
    center = rng.choice(CENTERS)
    art.open(f"بازدید {art.title(focus, record=False)} از {center} در شهرستان {county}")
    art.lines.append(f"{art.mention(focus)} {art.time_phrase()} با سفر به شهرستان {county} از {center} بازدید کرد.")
    if len(cast) > 1:
        present = " و ".join(art.mention(p, "list") for p in cast[1:])
        art.lines.append(f"{art.lead(lead_org)} در این بازدید که {present} نیز حضور داشتند، {art.speech(focus)}")
    else:
        art.lines.append(f"{art.lead(None)} {art.speech(focus)}")
    art.lines += [art.speech(focus) for _ in range(rng.randint(1, 2))]
    art.close()
    return art


def _county(rng: random.Random, world: World, focus: Post, day: int) -> Article:
    """News of a county office, sometimes with the county's governor or member of parliament."""
    county = focus.office.county
    local = [p for p in world.posts_at(day, focus.office.province, ("county_governor", "mp")) if p.office.county == county]
    cast = [focus] + ([rng.choice(local)] if local and rng.random() < 0.6 else [])
    art = Article(world, rng, day, cast)
    art.open(_headline_quote(rng, f"شهرستان {county}") if rng.random() < 0.5 else f"{art.title(focus, record=False)}: {_headline_quote(rng)}")
    lead = art.lead(focus.office.org)
    art.lines.append(f"{lead} {art.mention(focus)} از {rng.choice(['اجرای', 'آغاز', 'تکمیل'])} {rng.choice(PROJECTS)} در این شهرستان خبر داد.")
    art.lines.append(" ".join(art.speech(focus) for _ in range(rng.randint(1, 2))))
    if len(cast) > 1:
        art.lines.append(f"{rng.choice(['در ادامه', 'همچنین'])} {art.mention(cast[1])} نیز {rng.choice(REPORTS)}.")
        art.lines.append(art.speech(cast[1]))
    art.close()
    return art


def _national(rng: random.Random, world: World, focus: Post, day: int) -> Article:
    """A national figure speaking, sometimes with a provincial director of the same body."""
    provincial = [p for p in world.posts_at(day, None, ("director",)) if p.office.org.body == focus.office.org.body]
    cast = [focus] + ([rng.choice(provincial)] if provincial and rng.random() < 0.4 else [])
    art = Article(world, rng, day, cast)
    art.open(f"{art.title(focus, record=False)}: {_headline_quote(rng)}" if rng.random() < 0.6 else _headline_quote(rng))
    lead = art.lead(focus.office.org)
    art.lines.append(f"{lead} {art.mention(focus)} {rng.choice(OCCASIONS)} {rng.choice(SPEECH_VERBS)}: {art.quote(focus.office)}.")
    art.lines.append(" ".join(art.speech(focus) for _ in range(rng.randint(1, 3))))
    if len(cast) > 1:
        art.lines.append(f"{rng.choice(['در ادامه', 'همچنین'])} {art.mention(cast[1])} نیز {rng.choice(REPORTS)}.")
    art.close()
    return art


def _appointer(world: World, office: Office, day: int) -> Post | None:
    """The post whose holder signs the appointment to ``office`` (if the world has it)."""
    if office.kind in ("director", "national_deputy"):
        superior = world.office_of("national_head", office.org.body)
    elif office.kind in ("deputy", "county_head"):
        superior = world.office_of("director", office.org.body, office.province)
    elif office.kind == "governor":
        superior = world.office_of("minister", office.org.body)
    elif office.kind == "county_governor":  # appointed by the minister, presented by the governor
        superior = world.office_of("governor", office.org.body, office.province)
    else:
        superior = None
    return superior.post_at(day) if superior else None


def _appointment(rng: random.Random, world: World, focus: Post, day: int) -> Article:
    """«طی حکمی از سوی ...، ... به عنوان ... منصوب شد»: the first days of a new holder."""
    day = _workday(min(focus.end, focus.start + rng.randint(0, 6)), focus.start)
    signer = _appointer(world, focus.office, day)
    cast = [focus] + ([signer] if signer and signer.person is not focus.person else [])
    art = Article(world, rng, day, cast)
    named_in_headline = rng.random() < 0.5
    if named_in_headline:
        art.open(f"{art.name(focus.person, polite=0.0)} {art.title(focus)} شد")
    else:
        art.open(f"{art.title(focus, 'جدید', record=False)} منصوب شد")
    lead = art.lead(focus.office.org if focus.office.kind in ("director", "deputy", "county_head") else None)
    by = f"طی حکمی از سوی {art.mention(cast[1], 'list')}، " if len(cast) > 1 else "طی حکمی، "
    who = art.ref(focus.person) if named_in_headline else art.name(focus.person)
    art.lines.append(f"{lead} {by}{who} به عنوان {art.title(focus)} منصوب شد.")
    if len(cast) > 1:
        art.lines.append(f"در این حکم خطاب به {art.ref(focus.person)} آمده است: امید است با توکل به خداوند و بهره‌گیری از تجارب خود در {rng.choice(TOPICS)} موفق باشید.")
    if len(cast) == 1 or rng.random() < 0.5:
        art.lines.append(art.speech(focus))
    art.close()
    return art


def _ceremony(rng: random.Random, world: World, focus: Post, day: int) -> Article:
    """«آیین تکریم و معارفه»: the outgoing and the incoming holder of an office in one article."""
    office = focus.office
    previous = office.posts[office.posts.index(focus) - 1]
    day = _workday(min(focus.end, focus.start + rng.randint(2, 20)), focus.start)
    signer = _appointer(world, office, day)
    cast = [focus, previous] + ([signer] if signer and signer.person not in (focus.person, previous.person) else [])
    art = Article(world, rng, day, cast)
    if office.kind in ("governor", "county_governor"):
        unit = office.province if office.kind == "governor" else office.county
    else:
        unit = art.org(office.org, {"unit": 3, "place": 2, "full": 0 if office.org.keeps_head else 1})
    art.open(f"آیین تکریم و معارفه {office.title} {unit} برگزار شد")
    present = f" با حضور {art.mention(signer, 'list')}" if len(cast) > 2 else ""
    art.lines.append(f"{art.time_phrase()}، آیین تکریم و معارفه {office.title} {unit}{present}{art.venue()} برگزار شد.")
    outgoing = f"{art.name(previous.person)}، {art.title(previous, 'سابق')}"
    now = previous.person.post_at(day)
    if now is not None:  # moved on to another post, which the article names (case d)
        outgoing += f" که به تازگی به عنوان {art.title(now)} منصوب شده است"
    lead = art.lead(office.org if office.kind not in ("governor", "county_governor") else None)
    art.lines.append(f"{lead} در این آیین از خدمات {outgoing} تقدیر و {art.name(focus.person)} به عنوان {art.title(focus)} معرفی شد.")
    if len(cast) > 2:
        art.lines.append(art.speech(cast[2]))
    art.lines.append(art.speech(focus))
    art.close()
    return art


def _namesakes(rng: random.Random, world: World) -> Article | None:
    """A provincial meeting in which two people with the same surname take part (case c)."""
    pairs = world.namesake_posts()
    if not pairs:
        return None
    first, second, lo, hi = rng.choice(pairs)
    day = _workday(rng.randint(lo, hi), lo)
    # chaired by a provincial director, of the body of one of them where possible; both in the room
    directors = world.posts_at(day, first.office.province, ("director",))
    bodies = (first.office.org.body, second.office.org.body)
    chair = next((p for p in directors if p.office.org.body in bodies), directors[0] if directors else None)
    if chair is None:
        return None
    cast = [chair] + [p for p in (first, second) if p.person is not chair.person]
    return _meeting(rng, world, chair, day, cast)


WRITERS = {
    "meeting": _meeting, "statement": _statement, "visit": _visit, "county": _county, "national": _national,
    "appointment": _appointment, "ceremony": _ceremony,
}


def make_article(rng: random.Random, world: World, k: int) -> Article:
    """The ``k``-th article of the corpus (``k`` only numbers it; everything comes from ``rng``)."""
    for _ in range(20):
        kind = rng.choices(list(TYPE_WEIGHTS), list(TYPE_WEIGHTS.values()))[0]
        if kind == "namesakes":
            art = _namesakes(rng, world)
            if art is not None:
                return art
            continue
        successors = kind in ("appointment", "ceremony")
        focus = _pick_focus(rng, world, FOCUS_KINDS[kind], successors_only=successors)
        if focus is None:
            continue
        day = _workday(rng.randint(focus.start, focus.end), focus.start)
        return WRITERS[kind](rng, world, focus, day)
    raise RuntimeError("no article could be written: the world has no posts")


# ---------------------------------------------------------------------------------------------------------
# Defects of real web text, applied after the gold is fixed

_ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك"})
_ARABIC_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩")


def apply_defects(rng: random.Random, text: str) -> str:
    """One to three defects of scraped Persian text; every one of them is invisible to ``match_key``."""
    original = text
    kinds = rng.sample(["zwnj", "arabic", "comma", "digits", "spaces"], rng.randint(1, 3))
    if "zwnj" in kinds:  # «شهرداری‌ها» → «شهرداریها» / «شهرداری ها»
        mode = rng.random()
        text = re.sub(ZWNJ, lambda m: ("" if mode < 0.6 else " ") if rng.random() < 0.8 else ZWNJ, text)
    if "arabic" in kinds:  # sites typing with an Arabic keyboard layout
        text = text.translate(_ARABIC_LETTERS)
    if "comma" in kinds:
        text = re.sub(r"([،.]) (?=\S)", lambda m: m.group(1) if rng.random() < 0.5 else m.group(0), text)
    if "digits" in kinds:
        text = text.translate(_ARABIC_DIGITS)
    if "spaces" in kinds:
        text = re.sub(r"(?<=\S) (?=\S)", lambda m: "  " if rng.random() < 0.05 else " ", text)
    if text == original:  # a short text the drawn defects missed: the Arabic keyboard, which always shows
        text = text.translate(_ARABIC_LETTERS)
    return text


# ---------------------------------------------------------------------------------------------------------
# The corpus


def _truth_person(person: Person) -> dict:
    return {
        "name": person.full,
        "gender": person.gender,
        "posts": [
            {"role": p.office.role, "portfolio": p.office.portfolio, "org": p.office.org.id, "from": jalali_iso(p.start), "to": jalali_iso(p.end)}
            | ({"county": p.office.county} if p.office.kind == "mp" else {})
            for p in person.posts
        ],
    }


def _truth_org(org: Org) -> dict:
    return {"name": org.name, "parent": org.parent, "province": org.province, "county": org.county, "level": org.level}


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1) + "\n"


def write_corpus(out_dir: Path, docs: int, seed: int = 0, defects: float = 0.15) -> dict:
    """Writes out_dir/articles/<doc_id>.txt, out_dir/gold/<doc_id>.json, out_dir/truth.json; returns a summary
    dict (docs, persons, organizations, and counts of each hard case).

    Files a previous run left in articles/ and gold/ are removed first, so the folder holds one corpus.
    """
    out_dir = Path(out_dir)
    articles_dir, gold_dir = out_dir / "articles", out_dir / "gold"
    for folder, pattern in ((articles_dir, "*.txt"), (gold_dir, "*.json")):
        folder.mkdir(parents=True, exist_ok=True)
        for old in sorted(folder.glob(pattern)):
            old.unlink()
    rng = random.Random(seed)
    defect_rng = random.Random(f"defects/{seed}")  # the same articles whatever the defect rate
    world = build_world(rng, docs)
    mentions: list[dict] = []
    defective = 0
    surname_clash_docs = 0
    for k in range(docs):
        article = make_article(rng, world, k)
        text = article.text()
        if defect_rng.random() < defects:
            text = apply_defects(defect_rng, text)
            defective += 1
        doc_id = f"{k:05d}_{hashlib.sha1(text.encode('utf-8')).hexdigest()[:16]}"
        gold, rows = article.gold(doc_id)
        (articles_dir / f"{doc_id}.txt").write_text(text, encoding="utf-8")
        (gold_dir / f"{doc_id}.json").write_text(_dump(gold), encoding="utf-8")
        mentions += rows
        surnames = [article.people[pid].person.surname for pid in article.people]
        surname_clash_docs += len(surnames) != len(set(surnames))

    persons = {p.id: _truth_person(p) for p in world.persons}
    organizations = {o.id: _truth_org(o) for o in world.orgs}
    truth = {"seed": seed, "docs": docs, "persons": persons, "organizations": organizations, "mentions": mentions}
    (out_dir / "truth.json").write_text(_dump(truth), encoding="utf-8")
    return summarize(truth) | {"defective_docs": defective, "same_surname_same_article": surname_clash_docs}


def summarize(truth: dict) -> dict:
    """Sizes and hard-case counts of a corpus, from its truth (persons and orgs counted where mentioned)."""
    persons, orgs = truth["persons"], truth["organizations"]
    mentioned_p = [pid for pid in dict.fromkeys(m["id"] for m in truth["mentions"] if m["type"] == "PERSON")]
    mentioned_o = {m["id"] for m in truth["mentions"] if m["type"] == "ORG"}
    provinces_of: dict[str, list[str]] = {}
    for pid in mentioned_p:
        surname = persons[pid]["name"].split()[-1]
        province = next((orgs[p["org"]]["province"] for p in persons[pid]["posts"] if orgs[p["org"]]["province"]), "")
        provinces_of.setdefault(surname, []).append(province)
    # surnames borne by two people of one province / by people of different provinces (national posts: "")
    same_province = sum(1 for ps in provinces_of.values() if any(n > 1 for p, n in Counter(ps).items() if p))
    other_province = sum(1 for ps in provinces_of.values() if len(set(ps) - {""}) > 1)
    holders: dict[tuple, set[str]] = {}
    for pid, person in persons.items():
        for post in person["posts"]:
            holders.setdefault((post["org"], post["role"], post["portfolio"], post.get("county", "")), set()).add(pid)
    surname_only = sum(
        1 for m in truth["mentions"] if m["type"] == "PERSON" and len(m["name"].split()) == 1 and len(persons[m["id"]]["name"].split()) > 1
    )
    return {
        "docs": truth["docs"],
        "persons": len(mentioned_p),
        "organizations": len(mentioned_o),
        "person_mentions": sum(1 for m in truth["mentions"] if m["type"] == "PERSON"),
        "org_mentions": sum(1 for m in truth["mentions"] if m["type"] == "ORG"),
        "same_surname_same_province": same_province,
        "same_surname_other_province": other_province,
        "two_posts": sum(1 for pid in mentioned_p if len(persons[pid]["posts"]) > 1),
        "successive_holders": sum(1 for ids in holders.values() if len(ids) > 1),
        "surname_only_mentions": surname_only,
    }
