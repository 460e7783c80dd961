"""resolve: mentions → entities, and person–title–organization affiliations.

requires: documents, sentences, mentions          provides: resolved_mentions, entities, affiliations
Within a document: a surname alone or a name with an honorific joins the full name; an elliptic org
(«موسسه», «ستاد») joins the document's full name with that head; a headless core («بهزیستی استان»)
joins the document's organization with that core; a shorter form joins a longer one with the same head
(«موسسه ایثار» → «موسسه فرهنگی، ورزشی و توانبخشی ایثار»).  Across documents: equal normalized full
names merge; a surname alone merges only with the same surname, title and organization.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pandas as pd

from pipeline.core import LOC, ORG, PERSON, TITLE, Affiliation, Entity, as_rows, columns
from pipeline.domain.rules import person_keys
from pipeline.lexicons import lexicons
from pipeline.normalize import match_key
from pipeline.stages import Context, Stage

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
        if row["kind"] in ("elliptic", "core"):
            pending.append(k)
            continue
        if row["kind"].startswith("head="):  # «بنیاد برکت و احسان»: «احسان» is «بنیاد احسان»
            tokens = tuple(row["kind"][5:].split()) + tokens
        g = lex.gazetteer.match(list(tokens), 0)
        explicit, _place = place_of(tokens, province)
        if g and g[0] == len(tokens):
            explicit = tuple(g[1].canonical.split())
        key = match_key(" ".join(explicit))
        cluster = fulls.setdefault(key, Cluster(ORG, tokens=explicit, key=key))
        cluster.forms.append(row["text"])
        cluster.members.append(k)
    # shorter forms join a longer one with the same head («موسسه ایثار» ⊂ «موسسه فرهنگی، ... ایثار»)
    ordered = sorted(fulls.values(), key=lambda c: len(_content(c.tokens)), reverse=True)
    merged: list[Cluster] = []
    for cluster in ordered:
        short = _content(cluster.tokens)
        target = None
        for big in merged:
            long = _content(big.tokens)
            if short and len(long) > len(short) and short[0] == long[0] and _subsequence(short, long):
                _, p_short = place_of(cluster.tokens, province)
                _, p_long = place_of(big.tokens, province)
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
        explicit, _ = place_of(tuple(c.name.split()), province)
        c.key = match_key(" ".join(explicit))
    return merged


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

    def org_after(pos: int):
        while pos < len(t) and t[pos] in _SKIP_BETWEEN:
            pos += 1
        return orgs.get(pos)

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
        org = org_after(last["tok_end"])
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
            own_org = org_after(title["tok_end"]) or org
            if person is not None:
                found.append((person, title, own_org))
            else:
                unattached.append((title, own_org))
    return found, unattached


class ResolveStage(Stage):
    name = "resolve"
    requires = ("documents", "sentences", "mentions")
    provides = ("resolved_mentions", "entities", "affiliations")

    def run(self, ctx: Context) -> dict:
        docs = ctx.work.read("documents")
        sentences = ctx.work.read("sentences")
        mentions = ctx.work.read("mentions")
        tokens_of = {(r.doc_id, int(r.sentence_id)): list(r.tokens) for r in sentences.itertuples(index=False)}
        texts = dict(zip(docs["doc_id"], docs["text"]))
        agencies = dict(zip(docs["doc_id"], docs["agency"]))
        sent_text = {
            (r.doc_id, int(r.sentence_id)): texts[r.doc_id][int(r.start) : int(r.end)] for r in sentences.itertuples(index=False)
        }
        out_rows: list[dict] = []
        affiliations: list[Affiliation] = []
        entity_forms: dict[str, Counter] = defaultdict(Counter)
        entity_type: dict[str, str] = {}
        entity_docs: dict[str, set] = defaultdict(set)
        entity_mentions: Counter = Counter()

        for doc_id, frame in mentions.groupby("doc_id", sort=False):
            rows = frame.to_dict("records")
            org_rows = [r for r in rows if r["label"] == ORG]
            person_rows = [r for r in rows if r["label"] == PERSON]
            province = doc_province(
                [r["text"].split() for r in org_rows], [r["text"] for r in rows if r["label"] == LOC], agencies.get(doc_id, "")
            )
            ids: dict[int, str] = {}  # id(row) → entity id
            org_of_row: dict[int, Cluster] = {}
            for cluster in resolve_orgs(org_rows, province):
                eid = entity_id("org", cluster.key)
                for k in cluster.members:
                    ids[id(org_rows[k])] = eid
                    org_of_row[id(org_rows[k])] = cluster
                entity_forms[eid][cluster.name] += 0  # the canonical name is a candidate even if never written so
                entity_type[eid] = ORG
            person_clusters = resolve_persons(person_rows)
            person_of_row = {}
            for cluster in person_clusters:
                for k in cluster.members:
                    person_of_row[id(person_rows[k])] = cluster
            # affiliations, sentence by sentence
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
            # entity ids for persons: full names across documents; a surname alone only with its post
            person_post: dict[int, str] = {}
            for _sid, p, t, o in raw_affiliations:
                c = person_of_row.get(id(p))
                if c is not None and id(c) not in person_post:
                    org_key = org_of_row[id(o)].key if o is not None and id(o) in org_of_row else ""
                    person_post[id(c)] = f"{match_key(t['kind'] or t['text'])}|{org_key}"
            for cluster in person_clusters:
                if len(cluster.tokens) >= 2:
                    key = "full|" + match_key(" ".join(cluster.tokens))
                elif id(cluster) in person_post and person_post[id(cluster)].split("|")[1]:
                    key = f"post|{match_key(cluster.tokens[0])}|{person_post[id(cluster)]}"
                else:
                    key = f"doc|{match_key(cluster.tokens[0])}|{doc_id}"
                eid = entity_id("per", key)
                for k in cluster.members:
                    ids[id(person_rows[k])] = eid
                entity_forms[eid][cluster.name] += 0
                entity_type[eid] = PERSON
            for r in rows:
                if r["label"] == LOC:
                    eid = entity_id("loc", match_key(r["text"]))
                    ids[id(r)] = eid
                    entity_type[eid] = LOC
            for r in rows:
                eid = ids.get(id(r), "")
                if r["label"] != TITLE and not eid:
                    continue  # an elliptic form that referred to nothing
                r = dict(r)
                r["entity_id"] = eid
                out_rows.append(r)
                if eid:
                    entity_forms[eid][r["text"]] += 1
                    entity_docs[eid].add(doc_id)
                    entity_mentions[eid] += 1
            seen = set()
            for sid, p, t, o in raw_affiliations:
                pid = ids.get(id(p), "")
                oid = ids.get(id(o), "") if o is not None else ""
                if not pid:
                    continue
                key = (sid, pid, t["text"], oid)
                if key in seen:
                    continue
                seen.add(key)
                org_name = org_of_row[id(o)].name if o is not None and id(o) in org_of_row else ""
                affiliations.append(
                    Affiliation(doc_id, sid, pid, person_of_row[id(p)].name, t["text"], oid, org_name, sent_text[(doc_id, sid)])
                )

        entities = []
        for eid, forms in entity_forms.items():
            if not entity_mentions[eid]:
                continue
            name = _canonical(forms, entity_type[eid])
            aliases = sorted({f for f in forms if f != name and forms[f] > 0})
            entities.append(Entity(eid, entity_type[eid], name, aliases, entity_mentions[eid], len(entity_docs[eid])))
        # the canonical name shown for an affiliation is the entity's
        names = {e.entity_id: e.name for e in entities}
        for a in affiliations:
            a.person = names.get(a.person_id, a.person)
            a.org = names.get(a.org_id, a.org) if a.org_id else ""
        ctx.work.write("resolved_mentions", pd.DataFrame(out_rows, columns=list(mentions.columns)))
        ent_frame = pd.DataFrame(as_rows(entities), columns=columns(Entity))
        ctx.work.write("entities", ent_frame)
        ctx.work.write("affiliations", pd.DataFrame(as_rows(affiliations), columns=columns(Affiliation)))
        counts = ent_frame["type"].value_counts().to_dict() if len(ent_frame) else {}
        return {"entities": len(ent_frame), "affiliations": len(affiliations), **{k: int(v) for k, v in counts.items()}}


def _canonical(forms: Counter, label: str) -> str:
    """The fullest form: most tokens (persons: without honorifics), then most frequent."""
    lex = lexicons()
    if label == ORG:
        gaz = [f for f in forms if (g := lex.gazetteer.match(f.split(), 0)) and g[1].canonical == f]
        if gaz:
            return gaz[0]
    return max(forms, key=lambda f: (len(_content(tuple(f.split()))), not f.endswith("استان"), forms[f], f))
