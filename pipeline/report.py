"""`peyvand report`: one self-contained HTML page about a run.

Corpus summary, top persons and organizations, the posts table, and pictures of the network (the whole
graph and the ego networks of the top persons) drawn as inline SVG: the browser shapes and orders the
Persian labels right to left itself, so no reshaping library is needed and the page has no external
files, scripts or fonts to fetch.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import networkx as nx

from pipeline.explore import Run, load
from pipeline.io.workdir import atomic_write_text

COLOURS = {"PERSON": "#d64541", "ORG": "#3478c6", "LOC": "#2ea05a"}
TYPE_FA = {"PERSON": "شخص", "ORG": "سازمان", "LOC": "مکان"}


def network_svg(graph: nx.Graph, max_nodes: int = 40, width: int = 900, height: int = 600, seed: int = 7, focus: str | None = None) -> str:
    """An SVG drawing of the ``max_nodes`` best-connected nodes (spring layout, fixed seed)."""
    if graph.number_of_nodes() == 0:
        return '<p class="empty">گرافی برای نمایش نیست.</p>'
    degree = dict(graph.degree(weight="weight"))
    keep = sorted(graph.nodes, key=lambda n: (-(n == focus), -degree[n], str(n)))[:max_nodes]
    sub = graph.subgraph(keep)
    pos = component_layout(sub, seed)
    margin = 70
    xs = [p[0] for p in pos.values()] or [0]
    ys = [p[1] for p in pos.values()] or [0]
    span_x, span_y = (max(xs) - min(xs)) or 1, (max(ys) - min(ys)) or 1

    def xy(node):
        x, y = pos[node]
        return (margin + (x - min(xs)) / span_x * (width - 2 * margin), margin + (y - min(ys)) / span_y * (height - 2 * margin))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img">']
    top = max((d.get("weight", 1) for *_e, d in sub.edges(data=True)), default=1) or 1
    for a, b, data in sub.edges(data=True):
        (x1, y1), (x2, y2) = xy(a), xy(b)
        w = 0.6 + 3.5 * data.get("weight", 1) / top
        colour = "#e0a030" if data.get("relation") == "affiliation" else "#9aa5b1"
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="{w:.2f}" stroke-opacity="0.7"/>')
    for node in sub.nodes:
        data = sub.nodes[node]
        x, y = xy(node)
        r = 5 + 2.2 * math.sqrt(sub.degree(node))
        colour = COLOURS.get(data.get("type"), "#888")
        label = html.escape(str(data.get("label", node)))
        stroke = ' stroke="#222" stroke-width="2.5"' if node == focus else ""
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{colour}"{stroke}><title>{label}</title></circle>')
        parts.append(f'<text x="{x:.1f}" y="{y - r - 4:.1f}" text-anchor="middle" direction="rtl" class="label">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def component_layout(graph: nx.Graph, seed: int = 7) -> dict:
    """Spring layout per connected component, components placed on a grid (largest first), so that
    separate stories do not pile up in the middle of the picture."""
    components = sorted(nx.connected_components(graph), key=lambda c: (-len(c), sorted(map(str, c))))
    cols = max(1, math.ceil(math.sqrt(len(components))))
    pos = {}
    for k, nodes in enumerate(components):
        sub = graph.subgraph(nodes)
        if len(sub) == 1:
            local = {next(iter(nodes)): (0.0, 0.0)}
        else:
            local = nx.spring_layout(sub, seed=seed, weight=None, k=1.8 / math.sqrt(len(sub)), iterations=200)
        scale = 0.42 * (0.6 + 0.4 * math.sqrt(len(sub) / max(len(components[0]), 1)))
        cx, cy = k % cols, k // cols
        for node, (x, y) in local.items():
            pos[node] = (cx + 0.5 + scale * x, cy + 0.5 + scale * y)
    return pos


def _ltr(text: str) -> str:
    return f'<span dir="ltr">{html.escape(text)}</span>'


def _table(rows: list[list], headers: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    def cell(c) -> str:
        c = str(c)
        if c.startswith("<span dir="):  # already markup (a left-to-right date)
            return c
        if c[:4].isdigit() and "-" in c:  # ISO dates read left to right inside Persian text
            return _ltr(c)
        return html.escape(c)

    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def build_report(run: Run, top: int = 15, egos: int = 3) -> str:
    docs, ents, aff, graph = run.documents, run.entities, run.affiliations, run.graph
    ok = docs[docs["status"] == "ok"]
    dated = sorted(d for d in ok["date"] if d)
    persons = ents[ents["type"] == "PERSON"].sort_values(["documents", "mentions"], ascending=False)
    orgs = ents[ents["type"] == "ORG"].sort_values(["documents", "mentions"], ascending=False)
    degree = dict(graph.degree())
    summary = [
        ["مقاله‌ها", f"{len(ok)} خوانده شد از {len(docs)}"],
        ["بازه زمانی", (_ltr(dated[0]) + " تا " + _ltr(dated[-1])) if dated else "—"],
        ["اشخاص", len(persons)],
        ["سازمان‌ها", len(orgs)],
        ["سمت‌ها (شخص–عنوان–سازمان)", len(aff)],
        ["گره‌ها / یال‌ها", f"{graph.number_of_nodes()} / {graph.number_of_edges()}"],
    ]
    person_rows = [[r.name, r.documents, r.mentions, degree.get(r.entity_id, 0)] for r in persons.head(top).itertuples()]
    org_rows = [[r.name, r.documents, r.mentions, degree.get(r.entity_id, 0)] for r in orgs.head(top).itertuples()]
    posts = aff.drop_duplicates(["person_id", "title", "org_id"]).sort_values(["date", "person"])
    post_rows = [[r.person, r.title, r.org or "—", r.date or "—"] for r in posts.itertuples()]
    ego_blocks = []
    for r in persons.head(egos).itertuples():
        if r.entity_id in graph:
            ego = nx.ego_graph(graph, r.entity_id, radius=1)
            ego_blocks.append(f"<figure><figcaption>شبکه {html.escape(r.name)}</figcaption>{network_svg(ego, 25, 600, 420, focus=r.entity_id)}</figure>")
    legend = " ".join(f'<span class="dot" style="background:{c}"></span>{TYPE_FA[t]}' for t, c in COLOURS.items() if t != "LOC")
    return f"""<!DOCTYPE html>
<html lang="fa" dir="rtl">
<head>
<meta charset="utf-8">
<title>گزارش پیوند — {html.escape(str(run.path))}</title>
<style>
body {{ font-family: "Vazirmatn", "Noto Naskh Arabic", "Noto Sans Arabic", "DejaVu Sans", sans-serif; margin: 2rem; color: #222; background: #fff; }}
h1 {{ margin-top: 0; }} h2 {{ border-bottom: 2px solid #eee; padding-bottom: .3rem; margin-top: 2rem; }}
table {{ border-collapse: collapse; margin: .5rem 0; }}
th, td {{ border: 1px solid #ddd; padding: .3rem .7rem; text-align: right; }}
th {{ background: #f4f6f8; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(380px, 1fr)); gap: 1.5rem; }}
figure {{ margin: 0; border: 1px solid #eee; border-radius: 6px; padding: .5rem; }}
figcaption {{ font-weight: bold; margin-bottom: .3rem; }}
svg .label {{ font-size: 12px; fill: #111; paint-order: stroke; stroke: #fff; stroke-width: 3px; }}
.dot {{ display: inline-block; width: .8rem; height: .8rem; border-radius: 50%; margin: 0 .6rem 0 .2rem; vertical-align: middle; }}
</style>
</head>
<body>
<h1>گزارش پیوند</h1>
<p>اشخاص، سمت‌ها و سازمان‌ها در اخبار؛ خروجی <code dir="ltr">{html.escape(str(run.path))}</code></p>
<h2>خلاصه</h2>
{_table(summary, ["", ""])}
<h2>شبکه</h2>
<p>{legend} — یال نارنجی: سمت (وابستگی سازمانی)؛ خاکستری: هم‌آیی در یک جمله.</p>
<figure>{network_svg(graph)}</figure>
<h2>شبکه اشخاص برتر</h2>
<div class="grid">{''.join(ego_blocks) or '<p>—</p>'}</div>
<div class="grid">
<section><h2>اشخاص پرتکرار</h2>{_table(person_rows, ["نام", "مقاله", "اشاره", "درجه"])}</section>
<section><h2>سازمان‌های پرتکرار</h2>{_table(org_rows, ["نام", "مقاله", "اشاره", "درجه"])}</section>
</div>
<h2>سمت‌ها</h2>
{_table(post_rows, ["شخص", "عنوان", "سازمان", "تاریخ"])}
</body>
</html>
"""


def write_report(output: Path) -> Path:
    run = load(output)
    path = Path(output) / "report.html"
    atomic_write_text(path, build_report(run))
    return path
