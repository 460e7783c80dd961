"""Edge weighting and filtering for the co-occurrence graph (pure functions on networkx graphs).

- ``count``: the number of windows (sentences by default) in which both entities appear.
- ``association``: association strength (van Eck & Waltman 2009), c_ij / (s_i · s_j), where s_i is the
  number of windows in which entity i appears; it corrects raw counts for how often each entity occurs.
- ``pmi``: pointwise mutual information, log2(c_ij · N / (s_i · s_j)), N the number of windows.
- ``backbone``: the disparity filter (Serrano, Boguñá & Vespignani 2009): an edge is kept when, for at
  least one endpoint of degree k > 1, its share p of that node's strength is unlikely under a uniform
  split: α_ij = (1 − p)^(k − 1) < α.  Edges of degree-1 nodes are kept; the filter runs on raw counts.
"""

from __future__ import annotations

import math

import networkx as nx

WEIGHTINGS = ("count", "association", "pmi")


def reweight(graph: nx.Graph, scheme: str, occurrences: dict[str, int], n_windows: int, copy: bool = True) -> nx.Graph:
    """Set ``weight`` from the co-occurrence count ``sentences`` per ``scheme``; ``count`` kept as is.
    ``copy=False`` sets them on ``graph`` itself (a graph just built, not worth copying)."""
    if scheme not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {scheme!r}: use one of {', '.join(WEIGHTINGS)}")
    out = graph.copy() if copy else graph
    for a, b, data in out.edges(data=True):
        c = max(int(data.get("sentences", 0)), 1)
        s_a, s_b = max(occurrences.get(a, 1), 1), max(occurrences.get(b, 1), 1)
        data["count"] = float(c)
        if scheme == "count":
            data["weight"] = float(c)
        elif scheme == "association":
            data["weight"] = c / (s_a * s_b)
        else:
            data["weight"] = math.log2(c * max(n_windows, 1) / (s_a * s_b))
    return out


def filter_graph(graph: nx.Graph, min_weight: float | None = None, types: set[str] | None = None) -> nx.Graph:
    """Keep nodes of ``types`` and edges of weight ≥ ``min_weight``; isolated nodes are kept (the graph
    itself is returned when there is nothing to filter)."""
    if not types and min_weight is None:
        return graph
    out = graph.copy()
    if types:
        out.remove_nodes_from([n for n, d in graph.nodes(data=True) if d.get("type") not in types])
    if min_weight is not None:
        out.remove_edges_from([(a, b) for a, b, d in out.edges(data=True) if d.get("weight", 0) < min_weight])
    return out


def disparity_alpha(graph: nx.Graph, weight: str = "weight") -> dict[tuple, float]:
    """The smaller of the two endpoints' α for each edge (1.0 where both endpoints have degree 1)."""
    strength = dict(graph.degree(weight=weight))
    alphas = {}
    for a, b, data in graph.edges(data=True):
        w = data.get(weight, 0.0)
        best = 1.0
        for node in (a, b):
            k = graph.degree(node)
            if k > 1 and strength[node] > 0:
                p = w / strength[node]
                best = min(best, (1 - p) ** (k - 1))
        alphas[(a, b)] = best
    return alphas


def backbone(graph: nx.Graph, alpha: float, weight: str = "count") -> nx.Graph:
    """The disparity-filter backbone at significance ``alpha`` (on raw counts by default: the filter
    needs non-negative weights, which PMI is not)."""
    alphas = disparity_alpha(graph, weight)
    out = graph.copy()
    out.remove_edges_from(
        (a, b) for (a, b), value in alphas.items()
        if graph.degree(a) > 1 and graph.degree(b) > 1 and value >= alpha
    )
    return out
