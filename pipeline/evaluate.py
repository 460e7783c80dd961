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


def evaluate(output_dir: Path, gold_dir: Path) -> tuple[dict[str, Counts], list[DocReport]]:
    output_dir, gold_dir = Path(output_dir), Path(gold_dir)
    read = lambda name: pd.read_csv(output_dir / name, dtype=str, keep_default_na=False)  # noqa: E731
    mentions, entities, affiliations = read("mentions.csv"), read("entities.csv"), read("affiliations.csv")
    totals = {k: Counts() for k in ("persons", "organizations", "titles", "triples")}
    reports = []
    for path in sorted(gold_dir.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        doc = gold["doc"]
        report = score_document(
            gold, mentions[mentions["doc_id"] == doc], entities, affiliations[affiliations["doc_id"] == doc]
        )
        for k, c in report.counts.items():
            totals[k].add(c)
        reports.append(report)
    return totals, reports
