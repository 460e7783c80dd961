"""The notebook API: a run's outputs as pandas DataFrames and a networkx graph, with the verbs analysts use.

    from pipeline import load
    run = load("outputs")
    run.person("کریمیان")            # forms, posts with dates, documents
    run.ego("کریمیان", depth=1)       # his neighbourhood as a graph
    run.holders("مدیرکل", "بهزیستی")  # who held a post, when
    run.between("2021-01-01", "2021-12-31")  # the graph of a date range

Names are matched with the pipeline's own normalization (:func:`pipeline.normalize.match_key`), so
«كريميان», «کریمیان» and «دکتر کریمیان» find the same person.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import networkx as nx
import pandas as pd

from pipeline.normalize import match_key

TABLES = ("documents", "mentions", "entities", "affiliations", "nodes", "edges")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _title_key(title: str) -> str:
    from pipeline.evaluate import title_key

    return title_key(title)


@dataclass
class Person:
    entity_id: str
    name: str
    forms: list[str]
    posts: pd.DataFrame  # title, org, date, doc_id, evidence
    documents: pd.DataFrame  # doc_id, title, date, agency

    def __repr__(self) -> str:
        posts = "; ".join(f"{r.title} {r.org}".strip() + (f" ({r.date})" if r.date else "") for r in self.posts.itertuples())
        return f"Person({self.name!r}, forms={self.forms}, posts=[{posts}], documents={len(self.documents)})"


class Run:
    """One output folder, loaded."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        missing = [t for t in TABLES if not (self.path / f"{t}.csv").exists()]
        if missing:
            raise FileNotFoundError(f"{self.path} is not a Peyvand output folder (missing {', '.join(missing)}.csv)")
        for name in TABLES:
            setattr(self, name, _read(self.path / f"{name}.csv"))
        for frame, cols in ((self.mentions, ("start", "end", "sentence_id")), (self.entities, ("mentions", "documents"))):
            for col in cols:
                frame[col] = pd.to_numeric(frame[col])
        self.edges["Weight"] = pd.to_numeric(self.edges["Weight"])
        if "date" not in self.affiliations.columns:  # outputs written before affiliations.csv had it
            dates = dict(zip(self.documents["doc_id"], self.documents["date"]))
            self.affiliations["date"] = self.affiliations["doc_id"].map(dates).fillna("")

    @cached_property
    def graph(self) -> nx.Graph:
        return nx.read_graphml(self.path / "graph.graphml")

    # ----- lookup ------------------------------------------------------------------------------------
    @cached_property
    def _form_keys(self) -> dict[str, set[str]]:
        """entity_id → match keys of its name and every written form (built once per loaded run)."""
        forms: dict[str, set[str]] = {}
        for eid, text in zip(self.mentions["entity_id"], self.mentions["text"]):
            if eid:
                forms.setdefault(eid, set()).add(match_key(text, strip_honorifics=True))
        for eid, ename in zip(self.entities["entity_id"], self.entities["name"]):
            forms.setdefault(eid, set()).add(match_key(ename, strip_honorifics=True))
        return forms

    def find(self, name: str, type: str | None = None) -> list[str]:
        """Entity ids whose name or any written form matches ``name`` (exactly after normalization,
        else as a part of it), most mentioned first."""
        if name in set(self.entities["entity_id"]):
            return [name]
        key = match_key(name, strip_honorifics=True)
        if not key:
            return []
        forms = self._form_keys
        types = dict(zip(self.entities["entity_id"], self.entities["type"]))
        counts = dict(zip(self.entities["entity_id"], self.entities["mentions"]))
        candidates = [e for e in forms if type is None or types.get(e) == type]
        exact = [e for e in candidates if key in forms[e]]
        found = exact or [e for e in candidates if any(key in f for f in forms[e])]
        return sorted(found, key=lambda e: -counts.get(e, 0))

    def _one(self, entity: str, type: str | None = None) -> str:
        found = self.find(entity, type)
        if not found:
            raise KeyError(f"no {type or 'entity'} matches {entity!r}")
        return found[0]

    # ----- verbs -------------------------------------------------------------------------------------
    def person(self, name: str) -> Person:
        """All forms of a person, the posts stated for them (with dates) and the documents they are in."""
        eid = self._one(name, "PERSON")
        row = self.entities.set_index("entity_id").loc[eid]
        forms = sorted(set(self.mentions.loc[self.mentions["entity_id"] == eid, "text"]) | {row["name"]})
        posts = self.affiliations.loc[self.affiliations["person_id"] == eid, ["title", "org", "date", "doc_id", "evidence"]]
        doc_ids = set(self.mentions.loc[self.mentions["entity_id"] == eid, "doc_id"])
        docs = self.documents.loc[self.documents["doc_id"].isin(doc_ids), ["doc_id", "title", "date", "agency"]]
        return Person(eid, row["name"], forms, posts.drop_duplicates(["title", "org", "doc_id"]).reset_index(drop=True), docs.reset_index(drop=True))

    def ego(self, entity: str, depth: int = 1) -> nx.Graph:
        """The entity and everything within ``depth`` edges of it."""
        return nx.ego_graph(self.graph, self._one(entity), radius=depth)

    def holders(self, role: str, org: str | None = None) -> pd.DataFrame:
        """Who held a post, when: affiliations whose title contains ``role`` (and whose organization
        matches ``org``), earliest first."""
        rkey = _title_key(role)
        aff = self.affiliations
        mask = aff["title"].map(lambda t: rkey in _title_key(t))
        if org:
            okey = match_key(org)
            ids = set(self.find(org, "ORG"))
            mask &= aff["org_id"].isin(ids) | aff["org"].map(lambda o: okey in match_key(o))
        out = aff.loc[mask, ["person", "title", "org", "date", "doc_id", "person_id", "org_id"]]
        return out.sort_values(["date", "person"]).drop_duplicates(["person_id", "title", "org_id", "doc_id"]).reset_index(drop=True)

    def between(self, start: str = "", end: str = "") -> nx.Graph:
        """The co-occurrence graph of the articles dated within [start, end] (ISO dates; either open)."""
        from pipeline.stages.graph import build_graph

        dates = self.documents["date"]
        keep = dates.ne("")
        if start:
            keep &= dates >= start
        if end:
            keep &= dates <= end
        docs = set(self.documents.loc[keep, "doc_id"])
        mentions = self.mentions[self.mentions["doc_id"].isin(docs) & self.mentions["entity_id"].ne("")]
        entities = self.entities[self.entities["entity_id"].isin(set(mentions["entity_id"]))]
        affiliations = self.affiliations[self.affiliations["doc_id"].isin(docs)]
        windows = mentions["doc_id"] + "#" + mentions["sentence_id"].astype(str)
        return build_graph(entities, mentions, affiliations, windows)


def load(path: str | Path = "outputs") -> Run:
    """Load a run's output folder."""
    return Run(path)
