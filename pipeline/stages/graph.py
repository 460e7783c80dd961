"""graph: entities and affiliations → a networkx graph and every contract file.

requires: documents, resolved_mentions, entities, affiliations, sentences     provides: graph (files)
Nodes are persons and organizations.  An edge joins two entities mentioned in the same window
(sentence by default; paragraph or document by setting): its weight is the number of distinct windows,
``documents`` the number of documents.  A person–organization pair stated as an affiliation is marked
``relation=affiliation`` (its titles in ``titles``); other pairs are ``co-occurrence``.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import networkx as nx
import pandas as pd

from pipeline.core import ORG, PERSON
from pipeline.io.exports import write_gexf, write_graphml, write_table
from pipeline.io.workdir import table_columns
from pipeline.weights import WEIGHTINGS, backbone, filter_graph, reweight
from pipeline.stages import Context, Stage, StageError

SEP = " | "
NODE_TYPES = (PERSON, ORG, "LOC")
# Gephi colours (GEXF viz) per node type
COLOURS = {PERSON: (214, 69, 65), ORG: (52, 120, 198), "LOC": (46, 160, 90)}


def window_ids(mentions: pd.DataFrame, sentences: pd.DataFrame, window: str) -> pd.Series:
    """The co-occurrence window of each row of ``mentions`` (a frame with doc_id and sentence_id);
    ``sentences`` (doc_id, sentence_id, paragraph) places sentences in paragraphs."""
    if window == "sentence":
        return mentions["doc_id"] + "#" + mentions["sentence_id"].astype(str)
    if window == "document":
        return mentions["doc_id"].astype(str)
    if window == "paragraph":
        paragraph = {(d, int(s)): int(p) for d, s, p in zip(sentences["doc_id"], sentences["sentence_id"], sentences["paragraph"])}
        para = [f"{d}#p{paragraph[(d, int(s))]}" for d, s in zip(mentions["doc_id"], mentions["sentence_id"])]
        return pd.Series(para, index=mentions.index)
    raise StageError(f"unknown window {window!r}: use sentence, paragraph or document")


def build_graph(entities: pd.DataFrame, mentions: pd.DataFrame, affiliations: pd.DataFrame, windows: pd.Series, types=NODE_TYPES) -> nx.Graph:
    graph = nx.Graph()
    keep = entities[entities["type"].isin(types)]
    titles: dict[str, set] = defaultdict(set)
    for person_id, title in zip(affiliations["person_id"].tolist(), affiliations["title"].tolist()):
        titles[person_id].add(title)
    posts = person_posts(affiliations)
    for e in keep.itertuples(index=False):
        graph.add_node(
            e.entity_id, label=e.name, type=e.type, mentions=int(e.mentions), documents=int(e.documents),
            titles=SEP.join(sorted(titles.get(e.entity_id, ()))),
            posts=posts.get(e.entity_id, ""),
            parent_id=getattr(e, "parent_id", "") or "",
            province=getattr(e, "province", "") or "",
        )
    pair_windows: dict[tuple, set] = defaultdict(set)
    pair_docs: dict[tuple, set] = defaultdict(set)
    # entities per window, grouped in plain Python (a pandas groupby costs more than the work per group)
    # (a window is within one document: its id starts with the document's, so it alone is the key)
    in_window: dict[str, set] = defaultdict(set)
    doc_of: dict[str, str] = {}
    nodes = set(graph)  # a set: `in graph.nodes` goes through a Python-level view
    for window, doc_id, eid in zip(windows.tolist(), mentions["doc_id"].tolist(), mentions["entity_id"].tolist()):
        if eid in nodes:
            in_window[window].add(eid)
            doc_of[window] = doc_id
    for window, members in in_window.items():
        if len(members) < 2:
            continue
        doc_id = doc_of[window]
        for pair in combinations(sorted(members), 2):
            pair_windows[pair].add(window)
            pair_docs[pair].add(doc_id)
    aff_titles: dict[tuple, set] = defaultdict(set)
    aff_docs: dict[tuple, set] = defaultdict(set)
    for person_id, org_id, title, doc_id in zip(*(affiliations[c].tolist() for c in ("person_id", "org_id", "title", "doc_id"))):
        if org_id and org_id in nodes and person_id in nodes:
            pair = (person_id, org_id) if person_id < org_id else (org_id, person_id)
            aff_titles[pair].add(title)
            aff_docs[pair].add(doc_id)
    # the hierarchy: an office and the body it belongs to («اداره کل بهزیستی استان فارس» → «سازمان بهزیستی کشور»)
    part_of: set[tuple] = set()
    if "parent_id" in keep.columns:
        for e in keep.itertuples(index=False):
            if e.parent_id and e.parent_id in graph and e.entity_id in graph:
                part_of.add(tuple(sorted((e.entity_id, e.parent_id))))
    nothing: frozenset = frozenset()
    edges = []
    for pair in sorted(set(pair_windows) | set(aff_titles) | part_of):  # sorted: the same input gives the same files
        docs = pair_docs.get(pair, nothing)
        if pair in aff_docs:
            docs = docs | aff_docs[pair]
        relation = "affiliation" if pair in aff_titles else "part_of" if pair in part_of else "co-occurrence"
        shared = len(pair_windows.get(pair, nothing))
        edges.append((pair[0], pair[1], {
            "weight": float(max(shared, 1)), "relation": relation, "documents": len(docs), "sentences": shared,
            "doc_ids": SEP.join(sorted(docs)), "titles": SEP.join(sorted(aff_titles[pair])) if pair in aff_titles else "",
        }))
    graph.add_edges_from(edges)
    return graph


def person_posts(affiliations: pd.DataFrame) -> dict[str, str]:
    """Each person's posts with the dates of the articles stating them, in time order:
    «معاون توانبخشی — اداره کل بهزیستی استان فارس (2021-03-02 … 2022-01-10) | مدیرکل — ...»."""
    spans: dict[tuple, list[str]] = defaultdict(list)
    n = len(affiliations)

    def column(name: str) -> list:
        return affiliations[name].tolist() if name in affiliations.columns else [""] * n

    for person_id, title, role, portfolio, org, date in zip(
        *(column(c) for c in ("person_id", "title", "role", "portfolio", "org", "date"))
    ):
        post = (person_id, f"{role or title} {portfolio or ''}".strip(), org or "")
        spans[post].append(date or "")
    out: dict[str, list[tuple]] = defaultdict(list)
    for (person, title, org), dates in spans.items():
        dated = sorted(d for d in dates if d)
        when = f" ({dated[0]} … {dated[-1]})" if dated and dated[0] != dated[-1] else f" ({dated[0]})" if dated else ""
        out[person].append((dated[0] if dated else "9999", f"{title} — {org}{when}" if org else f"{title}{when}"))
    return {person: SEP.join(text for _d, text in sorted(items)) for person, items in out.items()}


def add_dates(graph: nx.Graph, mentions: pd.DataFrame, documents: pd.DataFrame) -> None:
    """``start``/``end``: the first and last article date of each node and edge ('' when undated)."""
    dates = {d: x for d, x in zip(documents["doc_id"], documents["date"]) if isinstance(x, str) and x}
    by_entity: dict[str, list[str]] = defaultdict(list)
    for eid, doc_id in zip(mentions["entity_id"], mentions["doc_id"]):
        if doc_id in dates:
            by_entity[eid].append(dates[doc_id])
    for node, data in graph.nodes(data=True):
        found = by_entity.get(node)
        data["start"], data["end"] = (min(found), max(found)) if found else ("", "")
    for _a, _b, data in graph.edges(data=True):
        found = [dates[d] for d in data.get("doc_ids", "").split(SEP) if d in dates]
        data["start"], data["end"] = (min(found), max(found)) if found else ("", "")


def gexf_view(graph: nx.Graph, copy: bool = True) -> nx.Graph:
    """The graph with Gephi's viz attributes (colour by type, size by degree) and time spells (``copy=False``:
    set on ``graph`` itself, when nothing is written from it afterwards)."""
    import math

    out = graph.copy() if copy else graph
    dated = any(d.get("start") for _, d in out.nodes(data=True))
    if dated:
        out.graph["mode"] = "dynamic"
        out.graph["timeformat"] = "date"
    for node, data in out.nodes(data=True):
        r, g, b = COLOURS.get(data.get("type"), (128, 128, 128))
        data["viz"] = {"color": {"r": r, "g": g, "b": b, "a": 1.0}, "size": 5.0 + 4.0 * math.sqrt(out.degree(node))}
    for item in list(out.nodes(data=True)) + [(None, d) for *_e, d in out.edges(data=True)]:
        data = item[1]
        for key in ("start", "end"):
            if not data.get(key):
                data.pop(key, None)
    return out


class GraphStage(Stage):
    name = "graph"
    requires = ("documents", "sentences", "resolved_mentions", "entities", "affiliations")
    provides = ()
    settings_used = ("window", "excel_safe", "weight", "min_weight", "types", "backbone_alpha")

    def run(self, ctx: Context) -> dict:
        work, out = ctx.work, ctx.settings.output
        # compact inputs: the documents without their text, where each sentence is (not its tokens)
        documents = work.read("documents", [c for c in table_columns(work.table_path("documents")) if c != "text"])
        sentences = work.read("sentences", ["doc_id", "sentence_id", "paragraph"])
        mentions = work.read("resolved_mentions")
        entities = work.read("entities")
        affiliations = work.read("affiliations")
        settings = ctx.settings
        safe = settings.excel_safe
        types = tuple(t.strip().upper() for t in settings.types.split(",") if t.strip())
        if settings.weight not in WEIGHTINGS:
            raise StageError(f"unknown weight {settings.weight!r}: use {', '.join(WEIGHTINGS)}")
        unknown = set(types) - set(NODE_TYPES)
        if unknown:
            raise StageError(f"unknown node type(s) {', '.join(sorted(unknown))}: use PERSON, ORG, LOC")
        # the writing is shared with forked copies of this process (the cores are otherwise idle here):
        # one writes the tables that do not depend on the graph while this one builds it, two more write
        # GraphML and GEXF while this one writes the nodes and edges
        ents = entities.copy()
        ents["aliases"] = ents["aliases"].map(lambda xs: SEP.join(xs))
        tables = [(documents, "documents"), (mentions.drop(columns=["tok_start", "tok_end", "kind"]), "mentions"),
                  (ents, "entities"), (affiliations, "affiliations"), (work.errors(), "errors")]
        if work.has("resolution"):  # why persons were merged or kept apart (not a contract file)
            tables.append((work.read("resolution"), "resolution"))
        writers = [start_writing(write_tables, tables, out, safe)]
        windows = window_ids(mentions, sentences, settings.window)
        graph = build_graph(entities, mentions, affiliations, windows, types)
        # weights: occurrences per entity and the number of windows of the corpus
        occurrences = mentions.assign(window=windows).groupby("entity_id")["window"].nunique().to_dict()
        all_windows = window_ids(sentences, sentences, settings.window)
        graph = reweight(graph, settings.weight, occurrences, int(all_windows.nunique()), copy=False)
        if settings.backbone_alpha is not None:
            graph = backbone(graph, settings.backbone_alpha)
        graph = filter_graph(graph, settings.min_weight)
        add_dates(graph, mentions, documents)

        writers.append(start_writing(write_graphml, graph, out / "graph.graphml"))
        writers.append(start_writing(write_gexf_file, graph, out / "graph.gexf"))
        nodes = pd.DataFrame(
            [
                {"Id": n, "Label": d["label"], "type": d["type"], "mentions": d["mentions"], "documents": d["documents"],
                 "titles": d["titles"], "start": d["start"], "end": d["end"], "posts": d["posts"],
                 "parent_id": d["parent_id"], "province": d["province"]}
                for n, d in graph.nodes(data=True)
            ],
            columns=["Id", "Label", "type", "mentions", "documents", "titles", "start", "end", "posts", "parent_id", "province"],
        )
        edges = pd.DataFrame(
            [
                {"Source": a, "Target": b, "Type": "Undirected", "Weight": d["weight"], "relation": d["relation"],
                 "documents": d["documents"], "sentences": d["sentences"], "doc_ids": d["doc_ids"], "titles": d["titles"],
                 "start": d["start"], "end": d["end"]}
                for a, b, d in graph.edges(data=True)
            ],
            columns=["Source", "Target", "Type", "Weight", "relation", "documents", "sentences", "doc_ids", "titles", "start", "end"],
        )
        write_tables([(nodes, "nodes"), (edges, "edges")], out, safe)
        finish_writing(*writers)
        return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges()}


def write_tables(tables: list[tuple[pd.DataFrame, str]], out, safe_for_excel: bool) -> None:
    """Contract tables: (frame, name) → ``out/<name>.csv``."""
    for frame, name in tables:
        write_table(frame, out / f"{name}.csv", name, safe_for_excel)


def write_gexf_file(graph: nx.Graph, path) -> None:
    write_gexf(gexf_view(graph, copy=False), path)  # copy=False: in a child of its own, nothing is written after it


def start_writing(writer, *args):
    """Run ``writer(*args)`` in a forked child (copy-on-write: nothing is pickled), or here and now where
    processes cannot be forked; :func:`finish_writing` waits for it and raises if it failed."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        writer(*args)
        return None
    child = multiprocessing.get_context("fork").Process(target=writer, args=args, name=f"peyvand-{writer.__name__}")
    child.start()
    return child


def finish_writing(*children) -> None:
    """Wait for the children :func:`start_writing` started; raise if one failed."""
    failed = []
    for child in children:
        if child is not None:
            child.join()
            if child.exitcode != 0:
                failed.append(f"{child.name} (exit code {child.exitcode})")
    if failed:
        raise StageError(f"writing the outputs failed in {', '.join(failed)}")
