"""resolve: mentions → entities, and person–title–organization affiliations.

requires: documents, mentions, mention_sentences     provides: resolved_mentions, entities, affiliations, resolution
Within a document: a surname alone or a name with an honorific joins the full name; an elliptic org
(«موسسه», «ستاد») joins the document's full name with that head; a headless core («بهزیستی استان»)
joins the document's organization with that core; a shorter form joins a longer one with the same head
(«موسسه ایثار» → «موسسه فرهنگی، ورزشی و توانبخشی ایثار»); a known office gets its gazetteer name and
parent (pipeline/domain/orgs.py).  Across documents: organizations share an id by their canonical name;
persons are linked on evidence within surname blocks (pipeline/domain/people.py), every decision kept in
the ``resolution`` table.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path

import pandas as pd

from pipeline.core import LOC, ORG, PERSON, TITLE, Affiliation, Entity, Mention, as_rows, columns
from pipeline.domain.orgs import OrgInfo, national_body, office_of
from pipeline.domain.people import Decision, Profile, link_persons, parse_aliases
from pipeline.domain.rules import person_keys
from pipeline.domain.titles import parse_title
from pipeline.io.workdir import OutOfOrder, TablesOutOfStep, by_document, digest, read_rows, schema_of, read_arrow, read_many, side_by_side, side_parts, table_parts
from pipeline.lexicons import lexicons, rules_version
from pipeline.normalize import match_key
from pipeline.stages import Context, Stage, StageError

log = logging.getLogger("peyvand")

_SKIP_BETWEEN = {"محترم", "محترمه", "وقت", "جدید", "سابق"}
_COMMA = {"،", ","}
_AS = {("به", "عنوان"), ("به", "سمت")}


def entity_id(kind: str, key: str) -> str:
    return f"{kind}_{hashlib.sha1(key.encode('utf-8')).hexdigest()[:12]}"


@dataclass
class Cluster:
    label: str
    forms: list[str] = field(default_factory=list)  # mention texts
    members: list[int] = field(default_factory=list)  # row indexes into the doc's mention frame
    tokens: tuple[str, ...] = ()  # tokens of the fullest form
    key: str = ""
    name: str = ""
    info: OrgInfo | None = None  # organizations: office, level, province, parent


def doc_province(org_tokens: list[list[str]], loc_texts: list[str], agency: str) -> str:
    lex = lexicons()
    counts: Counter[str] = Counter()
    for tokens in org_tokens + [t.split() for t in loc_texts] + [agency.split()]:
        for i in range(len(tokens)):
            m = lex.provinces.match(tokens, i)
            if m:
                counts[str(m[1])] += 1
    return counts.most_common(1)[0][0] if counts else ""


def place_of(tokens: tuple[str, ...], province: str) -> tuple[tuple[str, ...], str]:
    """(tokens with the place made explicit, place) — «... استان» → «... <province>»; «استان X» → «X»."""
    lex = lexicons()
    out = list(tokens)
    place = ""
    for i in range(len(out)):
        m = lex.provinces.match(out, i)
        if m:
            place = str(m[1])
            if i > 0 and out[i - 1] == "استان":
                out[i - 1] = ""
            break
    if not place and out and out[-1] == "استان" and province:
        out[-1] = province
        place = province
    if not place and "کشور" in out:
        place = "کشور"
    return tuple(t for t in out if t), place


def _names_place(tokens: tuple[str, ...]) -> bool:
    """Whether a name states its province or county («بهزیستی فارس»; not «بهزیستی استان»)."""
    lex = lexicons()
    return any(lex.provinces.match(list(tokens), i) or lex.counties.match(list(tokens), i) for i in range(len(tokens)))


def _subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    it = iter(long)
    return all(tok in it for tok in short)


def _content(tokens: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(t for t in tokens if t not in _COMMA and t != "و")


def resolve_orgs(rows: list[dict], province: str) -> list[Cluster]:
    """Cluster one document's ORG mentions."""
    lex = lexicons()
    fulls: dict[str, Cluster] = {}
    pending: list[int] = []
    for k, row in enumerate(rows):
        tokens = tuple(row["text"].split())
        if row["kind"] == "elliptic" or (row["kind"] == "core" and not _names_place(tokens)):
            pending.append(k)
            continue
        # a headless name with its place («بهزیستی شهرستان بانه», «بهزیستی فارس») names its office itself
        if row["kind"].startswith("head="):  # «بنیاد برکت و احسان»: «احسان» is «بنیاد احسان»
            tokens = tuple(row["kind"][5:].split()) + tokens
        info = office_of(tokens, province)
        explicit = tuple(info.name.split()) if info.level else place_of(tokens, province)[0]
        key = match_key(" ".join(explicit))
        cluster = fulls.setdefault(key, Cluster(ORG, tokens=explicit, key=key))
        cluster.forms.append(row["text"])
        cluster.members.append(k)
    # shorter forms join a longer one with the same head («موسسه ایثار» ⊂ «موسسه فرهنگی، ... ایثار»)
    ordered = sorted(fulls.values(), key=lambda c: len(_content(c.tokens)), reverse=True)
    office = {id(c): office_of(c.tokens, province) for c in ordered}  # once per cluster, not per pair
    merged: list[Cluster] = []
    for cluster in ordered:
        short = _content(cluster.tokens)
        target = None
        for big in merged:
            long = _content(big.tokens)
            if short and len(long) > len(short) and short[0] == long[0] and _subsequence(short, long):
                _, p_short = place_of(cluster.tokens, province)
                _, p_long = place_of(big.tokens, province)
                o_short, o_long = office[id(cluster)], office[id(big)]
                if o_short.level and o_long.level and o_short.name != o_long.name:
                    continue  # «بنیاد شهید و امور ایثارگران» is not its provincial office
                if not p_short or p_short == p_long:
                    target = big
                    break
        if target:
            target.forms += cluster.forms
            target.members += cluster.members
        else:
            merged.append(cluster)
    # elliptic heads and headless cores join the document's name with that head / core
    first_seen = {id(c): min(c.members) for c in merged}
    for k in pending:
        row = rows[k]
        word = row["text"].split()[0]
        if row["kind"] == "elliptic":
            candidates = [c for c in merged if c.tokens and c.tokens[0] == word]
        else:
            _, place = place_of(tuple(row["text"].split()), province)
            candidates = [
                c for c in merged
                if word in c.tokens and _org_kind(c.tokens) not in ("council", "media")
                and (not place or place_of(c.tokens, province)[1] == place)
            ]
            if not candidates:  # only a council or the body itself: the core alone names the body
                entry = lex.cores.get(word)
                if entry:
                    key = match_key(entry.canonical)
                    target = next((c for c in merged if c.key == key), None)
                    if target is None and place and place != "کشور":
                        target = Cluster(ORG, tokens=tuple(row["text"].split()), key=match_key(row["text"]))
                        merged.append(target)
                        first_seen[id(target)] = k
                    if target is None:
                        target = Cluster(ORG, tokens=tuple(entry.canonical.split()), key=key)
                        merged.append(target)
                        first_seen[id(target)] = k
                    candidates = [target]
        if not candidates:
            continue  # an elliptic form with nothing to refer to is dropped
        best = max(candidates, key=lambda c: (_kind_rank(c.tokens), len(c.members), -first_seen[id(c)]))
        best.forms.append(row["text"])
        best.members.append(k)
    for c in merged:
        c.name = _org_name(c)
        c.info = office_of(c.name.split(), province)
        if c.info.level:  # a known office: its canonical name («بهزیستی فارس» → «اداره کل بهزیستی استان فارس»)
            c.name = c.info.name
            explicit = tuple(c.name.split())
        else:
            explicit, _ = place_of(tuple(c.name.split()), province)
        c.key = match_key(" ".join(explicit))
    return _short_names_to_office(merged)


def _short_names_to_office(clusters: list[Cluster]) -> list[Cluster]:
    """In an article about one office of a body, the body's short names («ستاد فرمان امام (ره)»,
    «کمیته امداد») are elliptic: they refer to that office, as «بهزیستی» does (the contract's rule).  The
    body's full canonical name, or a name saying «کشور», keeps the national body."""
    offices = [c for c in clusters if c.info is not None and c.info.level in ("province", "county")]
    out = []
    for c in clusters:
        info = c.info
        if info is not None and info.level == "national" and all(
            match_key(f) != match_key(info.name) and "کشور" not in f.split() for f in c.forms
        ):
            same_body = [o for o in offices if national_body(o.info) == info.name]
            if len(same_body) == 1:
                same_body[0].forms += c.forms
                same_body[0].members += c.members
                continue
        out.append(c)
    return out


def _org_kind(tokens: tuple[str, ...]) -> str:
    m = lexicons().org_heads.match(list(tokens), 0)
    return str(m[1]) if m else ""


def _kind_rank(tokens: tuple[str, ...]) -> int:
    return {"office": 3, "body": 2, "council": 1}.get(_org_kind(tokens), 0)


def _org_name(c: Cluster) -> str:
    lex = lexicons()
    for form in c.forms:
        g = lex.gazetteer.match(form.split(), 0)
        if g and g[0] == len(form.split()):
            return g[1].canonical
    if not c.forms:
        return " ".join(c.tokens)
    if len(c.tokens) > max(len(f.split()) for f in c.forms):  # rebuilt from a distributed head
        return " ".join(c.tokens)
    # the fullest form; one naming its province beats one saying «استان»
    return max(c.forms, key=lambda f: (len(_content(tuple(f.split()))), not f.endswith("استان"), -c.forms.index(f)))


def resolve_persons(rows: list[dict]) -> list[Cluster]:
    lex = lexicons()
    full: list[Cluster] = []
    singles: list[int] = []
    for k, row in enumerate(rows):
        core, _surname = person_keys(row["text"].split(), lex)
        if len(core) >= 2:
            target = next((c for c in full if c.tokens == core or c.tokens[-len(core):] == core or core[-len(c.tokens):] == c.tokens), None)
            if target is None:
                target = Cluster(PERSON, tokens=core)
                full.append(target)
            elif len(core) > len(target.tokens):
                target.tokens = core
            target.forms.append(row["text"])
            target.members.append(k)
        else:
            singles.append(k)
    alone: dict[str, Cluster] = {}
    for k in singles:
        core, surname = person_keys(rows[k]["text"].split(), lex)
        if not surname:
            continue
        owners = [c for c in full if c.tokens[-1] == surname]
        if owners:
            # several full names share the surname: the nearest one mentioned before
            target = max(owners, key=lambda c: max([m for m in c.members if m < k], default=-1))
        else:
            target = alone.setdefault(surname, Cluster(PERSON, tokens=(surname,)))
        target.forms.append(rows[k]["text"])
        target.members.append(k)
    clusters = full + list(alone.values())
    for c in clusters:
        c.name = max(c.forms, key=lambda f: (len(f.split()), -c.forms.index(f)))
    return clusters


def find_affiliations(sentence_tokens: list[str], mentions: list[dict]) -> tuple[list[tuple[dict, dict, dict | None]], list[tuple[dict, dict | None]]]:
    """(person, title, org) triples in one sentence from the genre's patterns, and unattached titles.

    «X، مدیرکل Y» / «X مدیرکل Y» / «مدیرکل Y، X» / «X مدیرعامل و رئیس هیات مدیره Y» /
    «X به عنوان سرپرست Y».
    """
    persons = {m["tok_end"]: m for m in mentions if m["label"] == PERSON}
    persons_start = {m["tok_start"]: m for m in mentions if m["label"] == PERSON}
    orgs = {m["tok_start"]: m for m in mentions if m["label"] == ORG}
    titles = sorted((m for m in mentions if m["label"] == TITLE), key=lambda m: m["tok_start"])
    t = sentence_tokens

    places = {k for m in mentions if m["label"] == LOC for k in range(m["tok_start"], m["tok_end"])}

    def org_after(pos: int):
        while pos < len(t) and t[pos] in _SKIP_BETWEEN:
            pos += 1
        return orgs.get(pos)

    def parliament_after(pos: int):
        """«نماینده مردم آمل و بابل در مجلس شورای اسلامی»: the places represented, then the house."""
        if pos >= len(t) or t[pos] != "مردم":
            return None
        pos += 1
        while pos < len(t) and (pos in places or t[pos] in ("و", "،", ",")):
            pos += 1
        return orgs.get(pos + 1) if pos < len(t) and t[pos] == "در" else None

    # coordinated titles share person and organization
    groups: list[list[dict]] = []
    for m in titles:
        if groups and groups[-1][-1]["tok_end"] + 1 == m["tok_start"] and t[groups[-1][-1]["tok_end"]] == "و":
            groups[-1].append(m)
        else:
            groups.append([m])
    found, unattached = [], []
    for group in groups:
        first, last = group[0], group[-1]
        org = org_after(last["tok_end"]) or parliament_after(last["tok_end"])
        person = persons.get(first["tok_start"])
        if person is None and first["tok_start"] >= 1 and t[first["tok_start"] - 1] in _COMMA:
            person = persons.get(first["tok_start"] - 1)
        if person is None and tuple(t[max(0, first["tok_start"] - 2) : first["tok_start"]]) in _AS:
            person = persons.get(first["tok_start"] - 2)  # «X به عنوان سرپرست Y منصوب شد»
        if person is None:
            after = org["tok_end"] if org else last["tok_end"]
            person = persons_start.get(after) or (
                persons_start.get(after + 1) if after < len(t) and t[after] in _COMMA else None
            )
        for title in group:
            own_org = org_after(title["tok_end"]) or parliament_after(title["tok_end"]) or org
            if person is not None:
                found.append((person, title, own_org))
            else:
                unattached.append((title, own_org))
    return found, unattached


@dataclass
class DocResolution:
    """One document after in-document resolution: clusters and affiliations, before global ids."""

    doc_id: str
    rows: list[dict]
    province: str
    date: str
    person_rows: list[dict]
    person_clusters: list[Cluster]
    person_of_row: dict[int, Cluster]
    org_of_row: dict[int, Cluster]
    affiliations: list[tuple[int, dict, dict, dict | None]]  # (sentence, person row, title row, org row)
    ids: dict[int, str] = field(default_factory=dict)  # id(row) → entity id


def resolve_document(doc_id: str, rows: list[dict], tokens_of: dict, agency: str, doc_date: str) -> DocResolution:
    """Organizations, persons and affiliations of one document (pure: rows in, clusters out)."""
    org_rows = [r for r in rows if r["label"] == ORG]
    province = doc_province(
        [r["text"].split() for r in org_rows], [r["text"] for r in rows if r["label"] == LOC], agency
    )
    internal = {id(r) for r in internal_councils(org_rows, province)}
    org_rows = [r for r in org_rows if id(r) not in internal]
    rows = [r for r in rows if id(r) not in internal]
    person_rows = [r for r in rows if r["label"] == PERSON]
    ids: dict[int, str] = {}
    org_of_row: dict[int, Cluster] = {}
    for cluster in resolve_orgs(org_rows, province):
        eid = entity_id("org", cluster.key)
        for k in cluster.members:
            ids[id(org_rows[k])] = eid
            org_of_row[id(org_rows[k])] = cluster
    person_clusters = resolve_persons(person_rows)
    person_of_row = {id(person_rows[k]): c for c in person_clusters for k in c.members}
    by_sentence: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        by_sentence[int(r["sentence_id"])].append(r)
    raw_affiliations = []
    unattached_titles = []
    for sid, srows in sorted(by_sentence.items()):
        found, loose = find_affiliations(tokens_of[(doc_id, sid)], srows)
        raw_affiliations += [(sid, p, t, o) for p, t, o in found]
        unattached_titles += [(sid, t, o, srows) for t, o in loose]
    # the headline speaker: «مدیرکل ستاد ... گفت» in the lead, named only later
    affiliated = {id(person_of_row[id(p)]) for _, p, _, _ in raw_affiliations if id(p) in person_of_row}
    bare = [c for c in person_clusters if id(c) not in affiliated]
    if len(bare) == 1:
        cluster = bare[0]
        first_sid = min(int(person_rows[k]["sentence_id"]) for k in cluster.members)
        for sid, title, org, srows in unattached_titles:
            if org is not None and not any(r["label"] == PERSON for r in srows) and 0 <= first_sid - sid <= 3:
                raw_affiliations.append((sid, person_rows[cluster.members[0]], title, org))
                break
    for r in rows:
        if r["label"] == LOC:
            ids[id(r)] = entity_id("loc", match_key(r["text"]))
    return DocResolution(
        doc_id, rows, province, doc_date, person_rows, person_clusters, person_of_row, org_of_row, raw_affiliations, ids
    )


def internal_councils(org_rows: list[dict], province: str = "") -> list[dict]:
    """Councils and committees inside an office («شورای معاونین بهزیستی استان», «شورای اداری» right before
    «بهزیستی استان کردستان»): meetings of that office, not institutions of their own.  A council with a
    name of its own («شورای شهر تهران», «مجلس شورای اسلامی») stays."""
    lex = lexicons()
    starts = {(r["sentence_id"], r["tok_start"]) for r in org_rows}
    out = []
    for r in org_rows:
        tokens = r["text"].split()
        if _org_kind(tuple(tokens)) != "council" or lex.gazetteer.match(tokens, 0):
            continue
        info = office_of(tokens, province)
        if (info.parent and not info.level and office_of(info.parent.split()).level) or (r["sentence_id"], r["tok_end"]) in starts:
            out.append(r)
    return out


def person_profiles(doc: DocResolution) -> list[Profile]:
    """The cross-document evidence of each person of a document (see pipeline/domain/people.py)."""
    posts: dict[int, set] = defaultdict(set)
    national: set[int] = set()
    for _sid, p, t, o in doc.affiliations:
        c = doc.person_of_row.get(id(p))
        if c is None:
            continue
        role, portfolio = parse_title(t["text"])
        org = doc.org_of_row.get(id(o)) if o is not None else None
        posts[id(c)].add((match_key(role), match_key(portfolio), org.key if org else ""))
        if org is not None and org.info is not None and org.info.level == "national":
            national.add(id(c))
    org_context = {"org|" + c.key for c in doc.org_of_row.values()}
    full_names = {id(c): "per|" + match_key(" ".join(c.tokens)) for c in doc.person_clusters if len(c.tokens) >= 2}
    out = []
    for c in doc.person_clusters:
        first = match_key(" ".join(c.tokens[:-1])) if len(c.tokens) >= 2 else ""
        context = org_context | {key for cid, key in full_names.items() if cid != id(c)}
        out.append(
            Profile(
                f"{c.name}@{doc.doc_id}", doc.doc_id, c.name, first, match_key(c.tokens[-1]),
                frozenset(posts.get(id(c), ())), doc.province, doc.date, frozenset(context), id(c) in national,
            )
        )
    return out


def person_entity_keys(profiles: list[Profile], cluster_of: list[int]) -> list[str]:
    """A stable key per profile's cluster: its most frequent full name, else its post, else its first document."""
    members: dict[int, list[int]] = defaultdict(list)
    for k, c in enumerate(cluster_of):
        members[c].append(k)
    keys = [""] * len(profiles)
    used: set[str] = set()
    for c in sorted(members, key=lambda c: min(profiles[k].ref for k in members[c])):
        group = [profiles[k] for k in members[c]]
        fulls = Counter(p.full_key.replace(" ", "") for p in group if p.first)
        posts = Counter((role, org) for p in group for role, _pf, org in p.posts if org)
        surname = group[0].surname
        if fulls:
            key = "full|" + sorted(fulls.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        elif posts:
            role, org = sorted(posts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            key = f"post|{surname}|{role}|{org}"
        else:
            key = f"doc|{surname}|{min(p.doc_id for p in group)}"
        if key in used:  # a forced split of one name: the second person keeps its own id
            key += "|" + min(p.ref for p in group)
        used.add(key)
        for k in members[c]:
            keys[k] = key
    return keys


RESOLUTION_COLUMNS = [
    "left", "left_name", "right", "right_name", "surname", "score", "decision", "reasons", "left_entity", "right_entity",
]


class ResolveStage(Stage):
    name = "resolve"
    requires = ("documents", "mentions", "mention_sentences")
    provides = ("resolved_mentions", "entities", "affiliations", "resolution")
    settings_used = ("person_link_threshold", "person_link_margin", "aliases")
    reads_back = ("local_mentions", "local_entities", "local_affiliations", "profiles")  # linking reads them whole

    def version(self) -> str:
        return rules_version()

    def state(self, ctx: Context) -> dict:
        state = super().state(ctx)
        aliases = ctx.settings.aliases
        if aliases:  # the file's content, not only its name, decides whether resolve is stale
            path = Path(aliases)
            state["settings"]["aliases_digest"] = digest(path.read_bytes()) if path.exists() else "missing"
        return state

    def stale_reasons(self, ctx: Context, check_settings: bool = False) -> list[str]:
        reasons = super().stale_reasons(ctx, check_settings)
        recorded = ctx.work.manifest().get(self.name, {}).get("settings", {})
        if recorded.get("aliases"):  # the aliases file it ran with was edited since
            path = Path(recorded["aliases"])
            now = digest(path.read_bytes()) if path.exists() else "missing"
            if now != recorded.get("aliases_digest"):
                reasons.append("aliases file changed")
        return reasons

    def _aliases(self, ctx: Context) -> list:
        if not ctx.settings.aliases:
            return []
        path = Path(ctx.settings.aliases)
        if not path.exists():
            raise StageError(f"aliases file {path} not found")
        rules, problems = parse_aliases(path.read_text(encoding="utf-8-sig"))
        for problem in problems:
            log.warning("aliases file %s: %s (ignored)", path, problem)
        return rules

    def run(self, ctx: Context) -> dict:
        aliases = self._aliases(ctx)
        docs = ctx.work.read("documents", ["doc_id", "agency", "date"])
        groups, rebuilt = self._resolve_documents(ctx, dict(zip(docs["doc_id"], docs["agency"])), dict(zip(docs["doc_id"], docs["date"])))
        return {**self._link_and_write(ctx, list(docs["doc_id"]), aliases), "groups": groups, "groups_rebuilt": rebuilt}

    def _resolve_documents(self, ctx: Context, agencies: dict, dates: dict) -> tuple[int, int]:
        """1. Each document on its own, a group of documents at a time, into the ``local_*`` and ``profiles``
        tables.  A group whose ner result and rules are unchanged is copied from the previous tables: a
        re-run resolves only the documents of the changed groups (then links the whole corpus, below)."""
        version = self.version()
        try:
            groups = side_parts(ctx.work, ["mentions", "mention_sentences"])
        except TablesOutOfStep as exc:
            raise StageError(f"{exc}: run `peyvand ner` again") from None
        rebuilt = 0
        with ctx.work.grouped(LOCAL_SCHEMAS) as tables:
            for position, (ner_gid, parts) in enumerate(groups):
                gid = digest("resolve", ner_gid, version) if ner_gid else ""
                if gid and tables.previous(gid) is not None:
                    tables.copy(gid)
                    continue
                rebuilt += 1
                out: dict[str, list[dict]] = {name: [] for name in LOCAL_SCHEMAS}
                mentions = read_rows(parts["mentions"])
                sentences = read_rows(parts["mention_sentences"])
                try:
                    for (doc_id, rows), sents in side_by_side(by_document(mentions), sentences, key=lambda g: g[0]):
                        tokens_of = {(doc_id, row["sentence_id"]): row["tokens"] for row in sents}
                        sent_text = {(doc_id, row["sentence_id"]): row["text"] for row in sents}
                        doc = resolve_document(doc_id, rows, tokens_of, agencies.get(doc_id, ""), dates.get(doc_id, "") or "")
                        for name, rows_ in local_rows(doc, sent_text, len(out["profiles"])).items():
                            out[name] += rows_
                except OutOfOrder:
                    raise StageError("mentions and mention_sentences are not in the same order: run `peyvand ner` again") from None
                tables.write(gid or digest("resolve", position, len(mentions)), out, {"profiles": len(out["profiles"])})
        return len(groups), rebuilt

    def _link_and_write(self, ctx: Context, doc_order: list[str], aliases: list) -> dict:
        """2. Persons across documents, then 3. the corpus tables: resolved mentions, entities, affiliations
        and the linking decisions, from the compact local tables (columns, not row objects)."""
        work = ctx.work
        local = {name: _read_with_profile_offsets(work.table_path(name)) for name in LOCAL_SCHEMAS if name != "profiles"}
        columns_ = profile_columns(work.table_path("profiles"))
        threshold, margin = ctx.settings.person_link_threshold, ctx.settings.person_link_margin
        memo_context = digest(threshold, margin, self.version())
        # the last run's (in place, or the finished run's when `peyvand run` writes into a staging folder)
        memo = work.read_json(LINK_MEMO) or (work.previous.read_json(LINK_MEMO) if work.previous is not None else {})
        memo = memo.get("blocks", {}) if memo.get("context") == memo_context else {}
        person_ids, decisions, memo, relinked = link_corpus(columns_, threshold, margin, aliases, memo)

        def with_person_ids(table) -> pd.DataFrame:
            frame = table.to_pandas()
            index = frame.pop("profile").to_numpy()
            person = index >= 0
            if person.any():
                column = "entity_id" if "entity_id" in frame.columns else "person_id"
                frame.loc[person, column] = [person_ids[k] for k in index[person]]
            return frame

        mentions = with_person_ids(local["local_mentions"])
        ents = with_person_ids(local["local_entities"])
        affiliations = with_person_ids(local["local_affiliations"])
        org_info: dict[str, OrgInfo] = {}
        infos = ents[ents["info"]]  # an office's description: the first one, or the last that knows its level
        for eid, name, level, province, county, parent in zip(
            infos["entity_id"], infos["info_name"], infos["level"], infos["province"], infos["county"], infos["parent"]
        ):
            if eid not in org_info or level:
                org_info[eid] = OrgInfo(name, level, province, county, parent)
        named = mentions[mentions["entity_id"] != ""]
        counts = named.groupby("entity_id", sort=False).agg(mentions=("doc_id", "size"), documents=("doc_id", "nunique"))
        counts = dict(zip(counts.index, zip(counts["mentions"].tolist(), counts["documents"].tolist())))
        # every form of an entity in the order the corpus first shows it: per document, its clusters' names
        # (candidates for the canonical name even if never written so), then its mentions
        doc_order = pd.Index(doc_order)
        forms = pd.concat([
            pd.DataFrame({"doc": doc_order.get_indexer(ents["doc_id"]), "step": 0, "entity_id": ents["entity_id"],
                          "form": ents["name"], "n": 0}),
            pd.DataFrame({"doc": doc_order.get_indexer(named["doc_id"]), "step": 1, "entity_id": named["entity_id"],
                          "form": named["text"], "n": 1}),
        ], ignore_index=True)
        forms["at"] = range(len(forms))
        forms = forms.sort_values(["doc", "step", "at"], kind="stable")
        first_seen = forms.drop_duplicates(["entity_id", "form"])
        written = forms.groupby(["entity_id", "form"], sort=False)["n"].sum()
        written = dict(zip(written.index, written.to_numpy().tolist()))
        entity_forms: dict[str, Counter] = {}
        for eid, form in zip(first_seen["entity_id"], first_seen["form"]):
            entity_forms.setdefault(eid, Counter())[form] = written[(eid, form)]
        entities = []
        for eid, forms_ in entity_forms.items():
            if eid not in counts:
                continue  # named by a cluster whose mentions all went elsewhere
            kind = _TYPE_OF_PREFIX[eid.split("_", 1)[0]]
            info = org_info.get(eid)
            name = info.name if info is not None and info.level else _canonical(forms_, kind)
            aliases_ = sorted({f for f in forms_ if f != name and forms_[f] > 0})
            n_mentions, n_documents = counts[eid]
            entities.append(
                Entity(eid, kind, name, aliases_, int(n_mentions), int(n_documents),
                       "", info.province if info else "", info.level if info else "")
            )
        entities += org_hierarchy(entities, org_info)
        # an affiliation stated twice in a sentence is one; the canonical name shown is the entity's
        affiliations = affiliations.drop_duplicates(["doc_id", "sentence_id", "person_id", "title", "org_id"]).reset_index(drop=True)
        names = {e.entity_id: e.name for e in entities}
        affiliations["person"] = [names.get(pid, name) for pid, name in zip(affiliations["person_id"], affiliations["person"])]
        affiliations["org"] = [names.get(oid, org) if oid else "" for oid, org in zip(affiliations["org_id"], affiliations["org"])]
        final_of_ref = dict(zip(columns_["ref"], person_ids))
        resolution = pd.DataFrame(
            [
                {**{k: getattr(d, k) for k in RESOLUTION_COLUMNS[:8]},
                 "left_entity": final_of_ref.get(d.left, ""), "right_entity": final_of_ref.get(d.right, "")}
                for d in decisions
            ],
            columns=RESOLUTION_COLUMNS,
        )
        ent_frame = pd.DataFrame(as_rows(entities), columns=columns(Entity))
        work.write_arrow("resolved_mentions", mentions[columns(Mention)], schema_of(Mention))
        work.write("entities", ent_frame)
        work.write("affiliations", affiliations[columns(Affiliation)])
        work.write("resolution", resolution)
        work.write_json(LINK_MEMO, {"context": memo_context, "blocks": memo})
        counts = ent_frame["type"].value_counts().to_dict() if len(ent_frame) else {}
        merged = int((resolution["decision"].isin(["merge", "forced-merge"])).sum()) if len(resolution) else 0
        return {"entities": len(ent_frame), "affiliations": len(affiliations), "person_links": merged,
                "surname_blocks": len(set(columns_["surname"])), "surname_blocks_linked": relinked,
                **{k: int(v) for k, v in counts.items()}}


_TYPE_OF_PREFIX = {"org": ORG, "per": PERSON, "loc": LOC}
LINK_MEMO = "person_links.json"  # each surname block's linking, by the digest of its profiles
# a profile's posts and context are stored as one string each (lists of strings cost 30 µs a row to read back)
_POST_SEP, _LIST_SEP = "\x1f", "\x1e"


def local_rows(doc: DocResolution, sent_text: dict, first_profile: int) -> dict[str, list[dict]]:
    """One document's resolution as rows of the local tables.  Persons are not linked yet: their rows carry
    ``profile``, the index of their cluster's profile in the group (``first_profile`` + cluster number);
    the other rows carry their entity id (organizations and places are named by their key)."""
    profiles = person_profiles(doc)
    profile_of = {id(doc.person_rows[k]): first_profile + n for n, c in enumerate(doc.person_clusters) for k in c.members}
    entities = []
    for cluster in {id(c): c for c in doc.org_of_row.values()}.values():
        info = cluster.info
        entities.append({"doc_id": doc.doc_id, "entity_id": entity_id("org", cluster.key), "profile": -1, "name": cluster.name,
                         "info": info is not None, "info_name": info.name if info else "", "level": info.level if info else "",
                         "province": info.province if info else "", "county": info.county if info else "",
                         "parent": info.parent if info else ""})
    for n, cluster in enumerate(doc.person_clusters):
        entities.append({"doc_id": doc.doc_id, "entity_id": "", "profile": first_profile + n, "name": cluster.name, "info": False,
                         "info_name": "", "level": "", "province": "", "county": "", "parent": ""})
    mentions = []
    for r in doc.rows:
        eid, profile = doc.ids.get(id(r), ""), profile_of.get(id(r), -1)
        if r["label"] != TITLE and not eid and profile < 0:
            continue  # an elliptic form that referred to nothing
        mentions.append({**r, "entity_id": eid, "profile": profile})
    affiliations = []
    for sid, p, t, o in doc.affiliations:
        profile = profile_of.get(id(p), -1)
        if profile < 0:
            continue
        oid = doc.ids.get(id(o), "") if o is not None else ""
        org_name = doc.org_of_row[id(o)].name if o is not None and id(o) in doc.org_of_row else ""
        role, portfolio = parse_title(t["text"])
        affiliations.append({"doc_id": doc.doc_id, "sentence_id": sid, "person_id": "", "person": doc.person_of_row[id(p)].name,
                             "title": t["text"], "org_id": oid, "org": org_name, "evidence": sent_text[(doc.doc_id, sid)],
                             "role": role, "portfolio": portfolio, "date": doc.date, "profile": profile})
    return {
        "local_mentions": mentions, "local_entities": entities, "local_affiliations": affiliations,
        "profiles": [_profile_row(p) for p in profiles],
    }


def _profile_row(p: Profile) -> dict:
    row = {"ref": p.ref, "doc_id": p.doc_id, "name": p.name, "first": p.first, "surname": p.surname,
           "posts": _LIST_SEP.join(sorted(_POST_SEP.join(post) for post in p.posts)), "province": p.province,
           "date": p.date, "context": _LIST_SEP.join(sorted(p.context)), "national": p.national}
    row["digest"] = digest(*row.values())  # what linking reads of it: a block of unchanged digests is not relinked
    return row


_PROFILE_FIELDS = ("ref", "doc_id", "name", "first", "surname", "posts", "province", "date", "context", "national")


def profile_columns(path: Path) -> dict[str, list]:
    """The profiles table as lists, column by column through numpy (``to_pylist`` makes a scalar object per
    value: 6× slower here)."""
    table = read_arrow(path)
    return {name: table.column(name).to_numpy(zero_copy_only=False).tolist() for name in table.column_names}


def make_profile(columns: dict[str, list], k: int) -> Profile:
    ref, doc_id, name, first, surname, posts, province, date, context, national = (columns[f][k] for f in _PROFILE_FIELDS)
    return Profile(ref, doc_id, name, first, surname,
                   frozenset(tuple(post.split(_POST_SEP)) for post in posts.split(_LIST_SEP)) if posts else frozenset(),
                   province, date, frozenset(context.split(_LIST_SEP)) if context else frozenset(), national)


def link_corpus(columns: dict[str, list], threshold: float, margin: float, aliases: list, memo: dict) -> tuple[list[str], list, dict, int]:
    """(person entity id per profile, the decisions, the memo for the next run, the blocks linked anew).  Persons are linked within
    surname blocks (pipeline/domain/people.py), so each block is linked on its own and its result (clusters,
    entity keys, decisions) remembered under the digest of its profiles: a re-run relinks only the blocks
    the new or changed articles touch.  The result is the one linking the whole corpus at once gives
    (cluster order, ids, decision order: tested).  An aliases file can join blocks: then all is linked at once."""
    n = len(columns["ref"])
    if aliases:
        profiles = [make_profile(columns, k) for k in range(n)]
        cluster_of, decisions = link_persons(profiles, threshold, margin, aliases)
        keys = person_entity_keys(profiles, cluster_of)
        return [entity_id("per", key) for key in keys], decisions, {}, len(set(columns["surname"]))
    blocks: dict[str, list[int]] = defaultdict(list)
    for k, surname in enumerate(columns["surname"]):
        blocks[surname].append(k)
    digests = columns["digest"]
    person_ids = [""] * n
    decisions: list[Decision] = []
    kept: dict[str, dict] = {}
    relinked = 0
    for surname in sorted(blocks):
        members = blocks[surname]
        key = digest(surname, [digests[k] for k in members])
        found = memo.get(key)
        if found is None:
            relinked += 1
            profiles = [make_profile(columns, k) for k in members]
            cluster_of, block_decisions = link_persons(profiles, threshold, margin)
            found = {"keys": person_entity_keys(profiles, cluster_of),
                     "decisions": [[getattr(d, f.name) for f in fields(Decision)] for d in block_decisions]}
        kept[key] = found
        for k, person_key in zip(members, found["keys"]):
            person_ids[k] = entity_id("per", person_key)
        decisions += [Decision(*d) for d in found["decisions"]]
    return person_ids, decisions, kept, relinked


def _read_with_profile_offsets(path: Path):
    """A local table with its ``profile`` indexes made corpus-wide (each group counts its own from 0)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = table_parts(path)
    parts, offset = [], 0
    for part, (_file, _gid, info) in zip(read_many([file for file, _gid, _info in found]), found):
        column = part.column("profile")
        shifted = pc.if_else(pc.greater_equal(column, 0), pc.add(column, offset), column)
        parts.append(part.set_column(part.schema.get_field_index("profile"), "profile", shifted))
        offset += info.get("profiles", 0)
    return pa.concat_tables(parts)


def _local_schemas() -> dict:
    import pyarrow as pa

    text = pa.string()
    return {
        "local_mentions": schema_of(Mention).append(pa.field("profile", pa.int64())),
        "local_entities": pa.schema([("doc_id", text), ("entity_id", text), ("profile", pa.int64()), ("name", text),
                                     ("info", pa.bool_()), ("info_name", text), ("level", text), ("province", text),
                                     ("county", text), ("parent", text)]),
        "local_affiliations": schema_of(Affiliation).append(pa.field("profile", pa.int64())),
        "profiles": pa.schema([("ref", text), ("doc_id", text), ("name", text), ("first", text), ("surname", text),
                               ("posts", text), ("province", text), ("date", text), ("context", text),
                               ("national", pa.bool_()), ("digest", text)]),
    }


LOCAL_SCHEMAS = _local_schemas()


def org_hierarchy(entities: list[Entity], org_info: dict[str, "OrgInfo"]) -> list[Entity]:
    """Set each organization's ``parent_id``; return the parents never mentioned, as entities of their own
    (mentions 0) so that the hierarchy reaches the national body."""
    by_id = {e.entity_id: e for e in entities}
    added: list[Entity] = []
    queue = [e for e in entities if e.type == ORG]
    while queue:
        e = queue.pop()
        info = org_info.get(e.entity_id)
        if info is None or not info.parent:
            continue
        parent_info = office_of(info.parent.split())
        pid = entity_id("org", match_key(parent_info.name if parent_info.level else info.parent))
        e.parent_id = pid
        if pid not in by_id:
            parent = Entity(pid, ORG, parent_info.name if parent_info.level else info.parent, [], 0, 0, "",
                            parent_info.province, parent_info.level)
            by_id[pid] = parent
            org_info[pid] = parent_info
            added.append(parent)
            queue.append(parent)
    return added


def _canonical(forms: Counter, label: str) -> str:
    """The fullest form: most tokens (persons: without honorifics), then most frequent."""
    lex = lexicons()
    if label == ORG:
        gaz = [f for f in forms if (g := lex.gazetteer.match(f.split(), 0)) and g[1].canonical == f]
        if gaz:
            return gaz[0]
    return max(forms, key=lambda f: (len(_content(tuple(f.split()))), not f.endswith("استان"), forms[f], f))
