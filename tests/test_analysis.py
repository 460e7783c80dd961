"""What analysts see: the notebook API, the example notebook, the HTML report, GEXF, edge weights."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import networkx as nx
import pandas as pd
import pytest

from conftest import ROOT, invoke
from pipeline import load
from pipeline.weights import backbone, disparity_alpha, filter_graph, reweight


# ----- the notebook API ------------------------------------------------------------------------------
def test_load_gives_tables_and_graph(seeds_run):
    run = load(seeds_run)
    for name in ("documents", "mentions", "entities", "affiliations", "nodes", "edges"):
        assert isinstance(getattr(run, name), pd.DataFrame) and len(getattr(run, name))
    assert run.graph.number_of_nodes() == len(run.nodes)


def test_person_matches_any_spelling(seeds_run):
    run = load(seeds_run)
    for query in ("کریمیان", "كريميان", "مهران کریمیان", "آقای کریمیان"):
        person = run.person(query)
        assert person.name == "مهران کریمیان"
    assert set(person.forms) == {"مهران کریمیان", "کریمیان"}
    post = person.posts.iloc[0]
    assert (post["title"], post["org"]) == ("مدیرکل", "اداره کل بهزیستی استان خوزستان")
    assert list(person.documents["doc_id"]) == ["002_9c4af7e09992b7d6"]
    with pytest.raises(KeyError):
        run.person("ناموجود")


def test_holders_and_dates(seeds_run):
    run = load(seeds_run)
    heads = run.holders("مدیرکل")
    assert {"مهران کریمیان", "شرفی", "فرج‌الله شوشتری"} <= set(heads["person"])
    assert list(heads["date"]) == sorted(heads["date"])
    welfare = run.holders("رئیس", "سازمان بهزیستی کشور")  # «ریاست» is written; the role is رئیس
    assert list(welfare["person"]) == ["قادری"]
    assert run.holders("مدیرعامل", "همیاری")["person"].tolist() == ["محمد سنجری"]


def test_ego_and_between(seeds_run):
    run = load(seeds_run)
    ego = run.ego("کریمیان")
    labels = {d["label"] for _, d in ego.nodes(data=True)}
    assert "اداره کل بهزیستی استان خوزستان" in labels and len(labels) >= 2
    assert run.ego("کریمیان", depth=2).number_of_nodes() >= ego.number_of_nodes()
    y2021 = run.between("2021-01-01", "2021-12-31")  # seeds 000 (2021-08-03) and 004 (2021-02-14)
    names = {d["label"] for _, d in y2021.nodes(data=True)}
    assert "حجت اله امانی" in names and "محمد سنجری" in names and "مهران کریمیان" not in names
    assert run.between("2030-01-01").number_of_nodes() == 0


def test_example_notebook_runs(seeds_run, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(ROOT / "notebooks" / "explore.ipynb", as_version=4)
    os.environ["PEYVAND_OUTPUTS"] = str(seeds_run)
    try:
        nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    finally:
        os.environ.pop("PEYVAND_OUTPUTS", None)
    text = "\n".join(
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )
    assert "مهران کریمیان" in text and "edges in 2021" in text


# ----- GEXF --------------------------------------------------------------------------------------------
def test_gexf_has_colours_sizes_and_dates(seeds_run):
    graph = nx.read_gexf(seeds_run / "graph.gexf")
    assert graph.number_of_nodes() == len(pd.read_csv(seeds_run / "nodes.csv"))
    colours = {d["type"]: (d["viz"]["color"]["r"], d["viz"]["color"]["g"], d["viz"]["color"]["b"]) for _, d in graph.nodes(data=True)}
    assert colours["PERSON"] != colours["ORG"]
    assert all(d["viz"]["size"] > 0 for _, d in graph.nodes(data=True))
    karimian = next(d for _, d in graph.nodes(data=True) if d["label"] == "مهران کریمیان")
    assert karimian.get("start") is None  # seed 002 has no year: undated
    amani = next(d for _, d in graph.nodes(data=True) if d["label"] == "حجت اله امانی")
    assert amani["start"] == amani["end"] == "2021-08-03"
    root = ET.parse(seeds_run / "graph.gexf").getroot()
    assert root.find("{*}graph").get("mode") == "dynamic"


# ----- edge weights on a hand-made graph -----------------------------------------------------------------
def small_graph() -> nx.Graph:
    g = nx.Graph()
    for n, t in (("a", "PERSON"), ("b", "PERSON"), ("c", "ORG"), ("d", "ORG")):
        g.add_node(n, type=t, label=n)
    g.add_edge("a", "b", sentences=4, weight=4.0)
    g.add_edge("a", "c", sentences=1, weight=1.0)
    g.add_edge("b", "c", sentences=2, weight=2.0)
    g.add_edge("c", "d", sentences=1, weight=1.0)
    return g


def test_weightings_known_values():
    occ = {"a": 5, "b": 8, "c": 4, "d": 1}
    n = 20
    count = reweight(small_graph(), "count", occ, n)
    assert count["a"]["b"]["weight"] == 4.0
    assoc = reweight(small_graph(), "association", occ, n)
    assert assoc["a"]["b"]["weight"] == pytest.approx(4 / (5 * 8))
    assert assoc["c"]["d"]["weight"] == pytest.approx(1 / 4)
    pmi = reweight(small_graph(), "pmi", occ, n)
    assert pmi["a"]["b"]["weight"] == pytest.approx(math.log2(4 * 20 / 40))  # = 1.0
    assert pmi["a"]["c"]["weight"] == pytest.approx(math.log2(20 / 20))  # = 0.0
    with pytest.raises(ValueError):
        reweight(small_graph(), "tfidf", occ, n)


def test_min_weight_types_and_backbone():
    g = small_graph()
    assert set(filter_graph(g, min_weight=2).edges) == {("a", "b"), ("b", "c")}
    persons = filter_graph(g, types={"PERSON"})
    assert set(persons.nodes) == {"a", "b"} and persons.number_of_edges() == 1
    alphas = disparity_alpha(reweight(g, "count", {}, 1), "count")
    # a: k=2, s=5: edge a–c has p=1/5 → α=(4/5)^1=0.8; from c (k=3, s=4): p=1/4 → α=(3/4)^2=0.5625
    assert alphas[("a", "c")] == pytest.approx(0.5625)
    # a–b: from a p=4/5 → α=0.2; from b (k=2, s=6) p=4/6 → α=1/3
    assert alphas[("a", "b")] == pytest.approx(0.2)
    kept = backbone(reweight(g, "count", {}, 1), alpha=0.3)
    assert ("a", "b") in kept.edges and ("a", "c") not in kept.edges
    assert ("c", "d") in kept.edges  # d has degree 1: kept by convention


def test_weight_options_from_the_cli(seeds_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(seeds_run, out)
    assert invoke("graph", "-o", out, "-q", "--weight", "association", "--min-weight", "0.05", "--types", "PERSON,ORG,LOC").exit_code == 0
    edges = pd.read_csv(out / "edges.csv")
    nodes = pd.read_csv(out / "nodes.csv")
    assert (edges["Weight"] >= 0.05).all() and (edges["Weight"] <= 1).all()
    assert "LOC" in set(nodes["type"])
    bad = invoke("graph", "-o", out, "-q", "--weight", "nonsense")
    assert bad.exit_code == 2 and "unknown weight" in bad.output


# ----- the HTML report in headless Chromium ------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (.ci/run installs Debian's chromium)")
def test_report_renders_in_chromium(seeds_run, tmp_path):
    from PIL import Image

    out = tmp_path / "out"
    shutil.copytree(seeds_run, out)
    result = invoke("report", "-o", out)
    assert result.exit_code == 0, result.output
    page = (out / "report.html").resolve()
    html = page.read_text(encoding="utf-8")
    assert "<script" not in html and "http" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained
    profile = tmp_path / "profile"
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1200,1600",
                    f"--screenshot={shot}", page.as_uri()], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                         check=True, capture_output=True, timeout=120).stdout.decode("utf-8")
    for text in ("گزارش پیوند", "مهران کریمیان", "اداره کل بهزیستی استان خوزستان", "<svg"):
        assert text in dom
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 1600)
    histogram = image.histogram()
    white = sum(histogram[240:])
    assert white < 0.97 * image.size[0] * image.size[1]  # something was drawn
    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    reds = sum(c for c, (r, g, b) in colours if r > 180 and g < 110 and b < 110)
    blues = sum(c for c, (r, g, b) in colours if b > 160 and r < 90)
    assert reds > 200 and blues > 200  # person and organization nodes are on the picture


def test_streamed_graph_files_read_back_as_networkx_writes_them(tmp_path):
    """The project's own GraphML/GEXF writers (pipeline/io/graphxml.py) give back, through networkx's
    readers, exactly what networkx's own writers give: nodes, edges, attributes, types, viz, dates."""
    from pipeline.io.exports import write_gexf, write_graphml

    graph = nx.Graph()
    graph.add_node("per_1", label="مهران «کریمیان»\n&<x>", type="PERSON", mentions=3, documents=2, titles="",
                   posts="مدیرکل — اداره کل بهزیستی", start="2021-01-02", end="2022-03-04")
    graph.add_node("org_1", label='اداره "کل"\tبهزیستی\x01', type="ORG", mentions=0, documents=0, titles="a | b")
    graph.add_edge("per_1", "org_1", weight=2.5, relation="affiliation", documents=1, sentences=2, doc_ids="d1 | d2",
                   titles="مدیرکل", start="2021-01-02", end="2021-01-02")
    graph.add_edge("org_1", "org_2", weight=1.0, relation="part_of", documents=0, sentences=0, doc_ids="", titles="")
    graph.nodes["org_2"].update(label="سازمان بهزیستی کشور", type="ORG", mentions=1, documents=1, titles="")
    viewed = graph.copy()
    viewed.graph.update(mode="dynamic", timeformat="date")
    for node, data in viewed.nodes(data=True):
        data["viz"] = {"color": {"r": 1, "g": 2, "b": 3, "a": 1.0}, "size": 5.5}
    write_graphml(graph, tmp_path / "ours.graphml")
    write_gexf(viewed, tmp_path / "ours.gexf")
    clean = nx.relabel_nodes(graph, {}, copy=True)
    clean.nodes["org_1"]["label"] = 'اداره "کل"\tبهزیستی'  # XML 1.0 cannot hold \x01: stripped
    clean_view = viewed.copy()
    clean_view.nodes["org_1"]["label"] = clean.nodes["org_1"]["label"]
    nx.write_graphml(clean, tmp_path / "nx.graphml")
    nx.write_gexf(clean_view, tmp_path / "nx.gexf")
    for ours, theirs, read in (("ours.graphml", "nx.graphml", nx.read_graphml), ("ours.gexf", "nx.gexf", nx.read_gexf)):
        a, b = read(tmp_path / ours), read(tmp_path / theirs)
        assert list(a.nodes(data=True)) == list(b.nodes(data=True))
        assert list(a.edges(data=True)) == list(b.edges(data=True))
    back = nx.read_graphml(tmp_path / "ours.graphml")
    assert back.nodes["per_1"]["label"] == "مهران «کریمیان»\n&<x>" and back.nodes["per_1"]["mentions"] == 3
    assert back.edges["per_1", "org_1"]["weight"] == 2.5
