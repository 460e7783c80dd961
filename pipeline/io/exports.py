"""The contract files (../shared/CONTRACT.md): CSV tables for pandas and Gephi, and GraphML.

Every file is written atomically.  GraphML attributes are scalars only (Gephi and networkx read them
back); text is stripped of characters XML 1.0 cannot hold.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pandas as pd

from pipeline.io.workdir import atomic_write_with

CONTRACT_COLUMNS = {
    "documents": ["doc_id", "source_path", "title", "date", "agency", "n_sentences", "status", "error"],
    "mentions": ["doc_id", "sentence_id", "start", "end", "text", "label", "entity_id", "source"],
    "entities": ["entity_id", "type", "name", "aliases", "mentions", "documents"],
    "affiliations": ["doc_id", "sentence_id", "person_id", "person", "title", "org_id", "org", "evidence"],
    "nodes": ["Id", "Label", "type", "mentions", "documents", "titles"],
    "edges": ["Source", "Target", "Type", "Weight", "relation", "documents", "sentences", "doc_ids"],
    "errors": ["doc_id", "stage", "error"],
    # not in the contract: the cross-document person decisions (pipeline/domain/people.py)
    "resolution": ["left", "left_name", "right", "right_name", "surname", "score", "decision", "reasons",
                   "left_entity", "right_entity"],
}
# files a run (or `peyvand report`) writes: a new run replaces them rather than carrying old ones over
OUTPUT_FILES = {f"{name}.csv" for name in CONTRACT_COLUMNS} | {"graph.graphml", "graph.gexf", "report.html"}


_FORMULA_START = ("=", "+", "-", "@")


def excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula («=», «+», «-», «@») with «'»."""
    frame = frame.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            frame[col] = frame[col].map(lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v)
    return frame


def write_table(frame: pd.DataFrame, path: Path, name: str, safe_for_excel: bool = False) -> None:
    """Contract columns first, in order; extra columns after them."""
    named = CONTRACT_COLUMNS[name]
    frame = frame.copy()
    for col in named:
        if col not in frame.columns:
            frame[col] = ""
    frame = frame[named + [c for c in frame.columns if c not in named]]
    if safe_for_excel:
        frame = excel_safe(frame)
    atomic_write_with(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))


def write_graphml(graph: nx.Graph, path: Path) -> None:
    from pipeline.io.graphxml import graphml_lines, write_lines

    atomic_write_with(path, lambda tmp: write_lines(graphml_lines(graph), tmp))


def write_gexf(graph: nx.Graph, path: Path) -> None:
    from pipeline.io.graphxml import gexf_lines, write_lines

    atomic_write_with(path, lambda tmp: write_lines(gexf_lines(graph), tmp))
