"""Scoring a run's outputs against gold annotations (../shared/gold/README.md).

Per document, summed over documents: a predicted entity (one entity_id in the document, with its
canonical name and surface texts) matches a gold entity when any form equals any gold form after
:func:`pipeline.normalize.match_key` (honorifics stripped for persons); each gold entity matches at most
one predicted entity.  Entities matching only an ``optional`` form are neither rewarded nor penalized.
Person–title pairs match when the person matches and one title contains the other («ریاست»→«رئیس»,
«معاونت»→«معاون»); triples also need the organization to match.  Triples are scored over statements
that name an organization (gold titles whose org is null are pairs only).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.normalize import match_key


def title_key(title: str) -> str:
    key = match_key(title)
    return key.replace("ریاست", "رییس").replace("معاونت", "معاون")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: "Counts") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class DocReport:
    doc: str
    counts: dict[str, Counts] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)
    spurious: list[str] = field(default_factory=list)
    # gold entity name → the predicted entity id it matched, per label (persons, organizations)
    matched: dict[str, dict[str, str]] = field(default_factory=dict)


def _match(pred: dict[str, set[str]], gold: list[set[str]], optional: set[str]) -> tuple[dict[str, int], list[int], list[str]]:
    """(pred id → gold index, unmatched gold indexes, spurious pred ids)."""
    assignment: dict[str, int] = {}
    taken: set[str] = set()
    for gi, gforms in enumerate(gold):
        for pid, pforms in pred.items():
            if pid not in taken and pforms & gforms:
                assignment[pid] = gi
                taken.add(pid)
                break
    missed = [gi for gi in range(len(gold)) if gi not in assignment.values()]
    spurious = [pid for pid in pred if pid not in taken and not (pred[pid] & optional)]
    return assignment, missed, spurious


def score_document(gold: dict, mentions: pd.DataFrame, entities: pd.DataFrame, affiliations: pd.DataFrame) -> DocReport:
    report = DocReport(gold["doc"])
    names = dict(zip(entities["entity_id"], entities["name"]))
    types = dict(zip(entities["entity_id"], entities["type"]))
    forms: dict[str, set[str]] = defaultdict(set)
    for m in mentions.itertuples(index=False):
        if m.entity_id:
            forms[m.entity_id].add(m.text)
    optional = {match_key(x) for x in gold.get("optional", [])} | {match_key(x, True) for x in gold.get("optional", [])}
    assignments = {}
    for label, key, strip in (("persons", "PERSON", True), ("organizations", "ORG", False)):
        pred = {
            eid: {match_key(f, strip) for f in fs | {names.get(eid, "")} if f} - {""}
            for eid, fs in forms.items()
            if types.get(eid) == key
        }
        gold_forms = [{match_key(x, strip) for x in [g["name"], *g.get("aliases", [])]} for g in gold.get(label, [])]
        assignment, missed, spurious = _match(pred, gold_forms, optional)
        assignments[label] = (assignment, gold_forms)
        report.matched[label] = {gold[label][gi]["name"]: pid for pid, gi in assignment.items()}
        report.counts[label] = Counts(len(assignment), len(spurious), len(missed))
        report.missed += [f"{label[:-1]}: {gold[label][gi]['name']}" for gi in missed]
        report.spurious += [f"{label[:-1]}: {names.get(pid, pid)}" for pid in spurious]

    person_of, _ = assignments["persons"]
    org_of, org_forms = assignments["organizations"]
    gold_pairs, gold_triples = [], []
    for gi, person in enumerate(gold.get("persons", [])):
        for t in person.get("titles", []):
            gold_pairs.append((gi, title_key(t["title"]), t["title"]))
            if t.get("org"):
                okey = match_key(t["org"])
                org_idx = next((k for k, fs in enumerate(org_forms) if okey in fs), None)
                gold_triples.append((gi, title_key(t["title"]), org_idx, okey, f"{person['name']} — {t['title']} — {t['org']}"))
    pred_pairs = {(a.person_id, title_key(a.title)): a for a in affiliations.itertuples(index=False)}
    pred_triples = {(a.person_id, title_key(a.title), a.org_id): a for a in affiliations.itertuples(index=False) if a.org_id}

    def title_match(p: str, g: str) -> bool:
        return bool(p and g) and (p in g or g in p)

    def org_match(org_id: str, org_idx, okey: str) -> bool:
        if org_idx is not None and org_of.get(org_id) == org_idx:
            return True
        return okey in {match_key(f) for f in forms.get(org_id, set()) | {names.get(org_id, "")}}

    for label, golds, preds, ok in (
        ("titles", gold_pairs, pred_pairs, lambda pk, g: title_match(pk[1], g[1])),
        ("triples", gold_triples, pred_triples, lambda pk, g: title_match(pk[1], g[1]) and org_match(pk[2], g[2], g[3])),
    ):
        used: set = set()
        tp = 0
        for g in golds:
            hit = next((pk for pk in preds if pk not in used and person_of.get(pk[0]) == g[0] and ok(pk, g)), None)
            if hit is not None:
                used.add(hit)
                tp += 1
            else:
                report.missed.append(f"{label[:-1]}: {g[-1] if label == 'triples' else gold['persons'][g[0]]['name'] + ' — ' + g[2]}")
        spurious = [pk for pk in preds if pk not in used]
        report.counts[label] = Counts(tp, len(spurious), len(golds) - tp)
        for pk in spurious:
            a = preds[pk]
            report.spurious.append(f"{label[:-1]}: {a.person} — {a.title}" + (f" — {a.org}" if label == "triples" else ""))
    return report


def _read_outputs(output_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    read = lambda name: pd.read_csv(Path(output_dir) / name, dtype=str, keep_default_na=False)  # noqa: E731
    return read("mentions.csv"), read("entities.csv"), read("affiliations.csv")


def evaluate(output_dir: Path, gold_dir: Path) -> tuple[dict[str, Counts], list[DocReport]]:
    output_dir, gold_dir = Path(output_dir), Path(gold_dir)
    mentions, entities, affiliations = _read_outputs(output_dir)
    mentions_of = dict(tuple(mentions.groupby("doc_id", sort=False)))
    affiliations_of = dict(tuple(affiliations.groupby("doc_id", sort=False)))
    totals = {k: Counts() for k in ("persons", "organizations", "titles", "triples")}
    reports = []
    for path in sorted(gold_dir.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        doc = gold["doc"]
        report = score_document(
            gold, mentions_of.get(doc, mentions.iloc[:0]), entities, affiliations_of.get(doc, affiliations.iloc[:0])
        )
        for k, c in report.counts.items():
            totals[k].add(c)
        reports.append(report)
    return totals, reports


# ----- corpus level: are the same people and organizations one entity across documents? ---------------
@dataclass
class BCubed:
    precision: float
    recall: float
    items: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def b_cubed(pred: list, gold: list) -> BCubed:
    """B-cubed precision/recall of a clustering (``pred[i]``, ``gold[i]``: cluster labels of item i)."""
    from collections import Counter

    n = len(pred)
    if not n:
        return BCubed(0.0, 0.0, 0)
    both = Counter(zip(pred, gold))
    size_pred, size_gold = Counter(pred), Counter(gold)
    precision = sum(both[(p, g)] / size_pred[p] for p, g in zip(pred, gold)) / n
    recall = sum(both[(p, g)] / size_gold[g] for p, g in zip(pred, gold)) / n
    return BCubed(precision, recall, n)


@dataclass
class CorpusReport:
    scores: dict[str, BCubed]  # "persons", "organizations"
    baseline: dict[str, BCubed]  # merge on equal normalized full name only
    wrong_merges: list[tuple[str, str, str]]  # (entity id, gold person A, gold person B), same surname
    missed_items: dict[str, int]


def _fullest(forms: list[str], strip: bool) -> str:
    from pipeline.normalize import strip_leading_honorifics

    clean = [strip_leading_honorifics(f) if strip else f for f in forms]
    return max(clean, key=lambda f: (len(f.split()), len(f), f)) if clean else ""


def corpus_scores(output_dir: Path, gold_dir: Path, truth_path: Path, reports: list[DocReport] | None = None) -> CorpusReport:
    """B-cubed over gold (document, entity) items: the gold clusters are the truth file's global ids, the
    predicted ones the entity ids the gold entities matched (an unmatched item is a cluster of its own).

    The baseline clusters the same matched items by the normalized fullest form the document gives its
    entity (merge on equal full name only; a person written with the surname alone stays apart)."""
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    if reports is None:
        _, reports = evaluate(output_dir, gold_dir)
    matched = {r.doc: r.matched for r in reports}
    mentions, _entities, _affiliations = _read_outputs(output_dir)
    forms: dict[tuple[str, str], list[str]] = defaultdict(list)
    for doc, eid, text in zip(mentions["doc_id"], mentions["entity_id"], mentions["text"]):
        if eid:
            forms[(doc, eid)].append(text)
    names = {pid: row["name"] for pid, row in truth.get("persons", {}).items()}
    items: dict[str, list[tuple]] = {"persons": [], "organizations": []}
    for m in truth["mentions"]:
        label = "persons" if m["type"] == "PERSON" else "organizations"
        pred = matched.get(m["doc"], {}).get(label, {}).get(m["name"])
        items[label].append((m["doc"], m["name"], m["id"], pred))
    scores, baseline, missed = {}, {}, {}
    wrong: list[tuple[str, str, str]] = []
    for label, rows in items.items():
        strip = label == "persons"
        pred_clusters, base_clusters, gold_clusters = [], [], []
        for doc, name, gid, pred in rows:
            gold_clusters.append(gid)
            if pred is None:
                pred_clusters.append(("missed", doc, name))
                base_clusters.append(("missed", doc, name))
                continue
            pred_clusters.append(pred)
            full = _fullest(forms.get((doc, pred), [name]), strip)
            if strip and len(full.split()) < 2:
                base_clusters.append(("alone", doc, pred))
            else:
                base_clusters.append(match_key(full, strip))
        scores[label] = b_cubed(pred_clusters, gold_clusters)
        baseline[label] = b_cubed(base_clusters, gold_clusters)
        missed[label] = sum(1 for r in rows if r[3] is None)
        if label == "persons":
            members: dict[str, set] = defaultdict(set)
            for (_doc, _name, gid, pred) in rows:
                if pred is not None:
                    members[pred].add(gid)
            for pred, gids in sorted(members.items()):
                ordered = sorted(gids)
                for i, a in enumerate(ordered):
                    for b in ordered[i + 1 :]:
                        na, nb = names.get(a, a), names.get(b, b)
                        if na.split()[-1:] == nb.split()[-1:]:
                            wrong.append((pred, f"{a} {na}", f"{b} {nb}"))
    return CorpusReport(scores, baseline, wrong, missed)
