"""The CLI end to end on the seeds, one stage re-run alone, bad input, the contract, the gold scores."""

import json
import shutil

import networkx as nx
import pandas as pd
import pytest

from conftest import GOLD, ROOT, SEEDS, invoke
from pipeline.io.exports import CONTRACT_COLUMNS


def read(out, name):
    return pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)


def test_every_contract_file_with_its_columns(seeds_run):
    for name, cols in CONTRACT_COLUMNS.items():
        frame = read(seeds_run, name)
        assert list(frame.columns[: len(cols)]) == cols, name
    docs = read(seeds_run, "documents")
    assert len(docs) == 5 and set(docs["status"]) == {"ok"}
    assert docs.set_index("doc_id").loc["002_9c4af7e09992b7d6", "agency"] == "روابط عمومی اداره کل بهزیستی استان خوزستان"


def test_mention_offsets_slice_the_normalized_text(seeds_run):
    text = pd.read_parquet(seeds_run / "_work" / "documents").set_index("doc_id")["text"]
    mentions = pd.read_csv(seeds_run / "mentions.csv", keep_default_na=False)
    assert len(mentions) > 50
    for m in mentions.itertuples():
        assert text[m.doc_id][m.start : m.end] == m.text
    assert set(mentions[mentions["label"] == "TITLE"]["entity_id"]) == {""}
    assert (mentions[mentions["label"] != "TITLE"]["entity_id"] != "").all()


def test_karimian_example_from_the_brief(seeds_run):
    aff = read(seeds_run, "affiliations")
    row = aff[aff["person"] == "مهران کریمیان"].iloc[0]
    assert row["title"] == "مدیرکل" and row["org"] == "اداره کل بهزیستی استان خوزستان"
    mentions = read(seeds_run, "mentions")
    ids = set(mentions[mentions["text"].isin(["مهران کریمیان", "کریمیان"])]["entity_id"])
    assert len(ids) == 1  # the surname alone joins the full name
    edges = read(seeds_run, "edges")
    assert ((edges["Source"] == row["person_id"]) | (edges["Target"] == row["person_id"])).any()


def test_graphml_reads_back_for_gephi(seeds_run):
    graph = nx.read_graphml(seeds_run / "graph.graphml")
    assert graph.number_of_nodes() > 10 and graph.number_of_edges() > 10
    for _, data in graph.nodes(data=True):
        assert data["label"] and data["type"] in ("PERSON", "ORG")
    for _, _, data in graph.edges(data=True):
        assert data["weight"] >= 1 and data["relation"] in ("co-occurrence", "affiliation", "part_of")
    nodes, edges = read(seeds_run, "nodes"), read(seeds_run, "edges")
    assert set(nodes["Id"]) == set(graph.nodes)
    assert len(edges) == graph.number_of_edges() and set(edges["Type"]) == {"Undirected"}


@pytest.mark.skipif(not GOLD.exists(), reason="needs ../shared/gold")
def test_gold_scores_meet_the_targets(seeds_run):
    from pipeline.evaluate import evaluate

    totals, _ = evaluate(seeds_run, GOLD)
    assert totals["persons"].f1 >= 0.90
    assert totals["organizations"].f1 >= 0.80
    assert totals["titles"].f1 >= 0.80
    assert totals["triples"].f1 >= 0.70
    result = invoke("eval", seeds_run, GOLD)
    assert result.exit_code == 0 and "persons" in result.output


def _write_half_and_fail(path):
    path.write_text("half", encoding="utf-8")
    raise RuntimeError("disk full")


def test_a_failed_output_writer_fails_the_stage_after_every_writer_is_done(tmp_path):
    """graph writes its files in forked children: one that fails is reported by name, and the others
    are waited for all the same."""
    from pipeline.stages import StageError
    from pipeline.stages.graph import finish_writing, start_writing

    failing = start_writing(_write_half_and_fail, tmp_path / "a.csv")
    working = start_writing(shutil.copy, SEEDS / "003_24c1f9271a0d924c.txt", tmp_path / "b.txt")
    with pytest.raises(StageError, match="_write_half_and_fail"):
        finish_writing(failing, working)
    assert (tmp_path / "b.txt").read_bytes() == (SEEDS / "003_24c1f9271a0d924c.txt").read_bytes()


def test_one_stage_rerun_alone_and_status(seeds_run, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(seeds_run, out)
    before = read(out, "entities")
    (out / "entities.csv").unlink()
    assert invoke("resolve", "-o", out, "-q").exit_code == 0
    assert invoke("graph", "-o", out, "-q", "--window", "document").exit_code == 0
    pd.testing.assert_frame_equal(read(out, "entities"), before)
    edges = read(out, "edges")
    assert len(edges) >= len(read(seeds_run, "edges"))  # a wider window joins more pairs
    status = invoke("status", "-o", out)
    assert "graph" in status.output and "up to date" in status.output


def test_stage_without_its_inputs_says_what_to_run(tmp_path):
    result = invoke("resolve", "-o", tmp_path / "empty", "-q")
    assert result.exit_code == 2 and "run the earlier stage first" in result.output


def test_bad_files_are_listed_and_the_rest_processed(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    shutil.copy(SEEDS / "002_9c4af7e09992b7d6.txt", corpus / "good.txt")
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "binary.txt").write_bytes(bytes(range(256)) * 16)
    (corpus / "old.txt").write_bytes("به گزارش ایرنا، علی رضایی مدیرکل بهزیستی استان فارس گفت.".replace("ی", "ي").replace("ک", "ك").encode("cp1256"))
    out = tmp_path / "out"
    result = invoke("run", corpus, "-o", out, "--no-model", "-q")
    assert result.exit_code == 0, result.output
    errors = read(out, "errors")
    reasons = dict(zip(errors["doc_id"], errors["error"]))
    assert "empty" in reasons["empty"] and "binary" in reasons["binary"] and "1256" in reasons["old"]
    docs = read(out, "documents").set_index("doc_id")
    assert docs.loc["good", "status"] == "ok" and docs.loc["empty", "status"] == "error"
    assert "علی رضایی" in set(read(out, "entities")["name"])


def test_jsonl_and_csv_inputs(tmp_path):
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"id": "n1", "text": "علی رضایی مدیرکل بهزیستی استان فارس گفت."}\n{broken\n', encoding="utf-8")
    out = tmp_path / "o1"
    assert invoke("run", jsonl, "-o", out, "--no-model", "-q").exit_code == 0
    assert "broken JSON" in read(out, "errors")["error"].iloc[0]
    bad_csv = tmp_path / "b.csv"
    bad_csv.write_text("id,body\n1,x\n", encoding="utf-8")
    result = invoke("run", bad_csv, "-o", tmp_path / "o2", "--no-model", "-q")
    assert result.exit_code == 2 and "id and text" in result.output


def test_affiliation_patterns_on_unseen_sentences(tmp_path):
    """Genre patterns on text written for the test: title before name, implied office, coordination."""
    lines = [
        {"id": "a", "text": "با حکم دکتر میرهاشم موسوی رئیس سازمان بهزیستی کشور، علی‌اکبر رحیمی به عنوان سرپرست اداره کل بهزیستی استان فارس منصوب شد."},
        {"id": "b", "text": "مراسم با حضور محمدهادی ایمانیه استاندار فارس برگزار شد. ایمانیه گفت: همکاری ادامه دارد."},
        {"id": "c", "text": "مدیرکل ستاد اجرایی فرمان امام (ره) استان یزد گفت: طرح اجرا شد.\nبه گزارش ایسنا، حمید کاظمی در این نشست افزود: کار ادامه دارد."},
    ]
    import json

    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("run", corpus, "-o", out, "--no-model", "-q").exit_code == 0
    aff = read(out, "affiliations")
    got = {(r.person, r.title, r.org) for r in aff.itertuples()}
    assert ("میرهاشم موسوی", "رئیس", "سازمان بهزیستی کشور") in got
    assert ("علی‌اکبر رحیمی", "سرپرست", "اداره کل بهزیستی استان فارس") in got
    assert ("محمدهادی ایمانیه", "استاندار", "استانداری فارس") in got
    # the headline speaker: the lead's title belongs to the person named next
    assert ("حمید کاظمی", "مدیرکل", "ستاد اجرایی فرمان امام (ره) استان یزد") in got


def test_workers_give_the_same_outputs(tmp_path):
    """--workers 2 runs ingest and ner chunks in two processes (the model loaded once in each): same tables."""
    import pandas as pd

    frames = {}
    for n in (1, 2):
        out = tmp_path / f"w{n}"
        for args in (("ingest", SEEDS, "--chunk-size", "2"), ("ner", "--batch-size", "4")):
            result = invoke(*args, "-o", out, "--workers", n, "-q")
            assert result.exit_code == 0, result.output
        work = out / "_work"
        frames[n] = {name: pd.read_parquet(work / name) for name in ("documents", "sentences", "mentions")}
        manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
        for stage in ("ingest", "ner"):
            summary = manifest[stage]["summary"]
            assert summary["jobs"] > 1 and summary["processed"] == 5  # several jobs, so the pool had work
            expected = {("ingest", 1): "this process", ("ner", 1): "1 local process"}.get((stage, n), "2 local processes")
            assert summary["ran_on"] == expected  # with a model and one worker, the model runs in a child
    for name in ("documents", "sentences", "mentions"):
        pd.testing.assert_frame_equal(frames[1][name], frames[2][name])
    assert (frames[2]["mentions"]["source"].str.contains("stanza")).any()


def test_dask_cluster_gives_the_same_outputs_as_a_local_run(tmp_path):
    """ingest and ner partitions on a Dask LocalCluster (2 worker processes, each loading the default
    model once): the same entities, affiliations and edges as a run in this process."""
    distributed = pytest.importorskip("distributed")
    local, remote = tmp_path / "local", tmp_path / "dask"
    assert invoke("run", SEEDS, "-o", local, "-q").exit_code == 0
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = invoke("run", SEEDS, "-o", remote, "-q", "--chunk-size", "2", "--executor", "dask",
                        "--scheduler", cluster.scheduler_address)
        assert result.exit_code == 0, result.output
    manifest = json.loads((remote / "_work" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["ingest"]["summary"]["ran_on"].startswith(f"Dask cluster at {cluster.scheduler_address}")
    assert manifest["ingest"]["summary"]["jobs"] == 3 and manifest["ner"]["summary"]["processed"] == 5
    for name in ("entities", "affiliations", "edges", "mentions", "nodes"):
        pd.testing.assert_frame_equal(read(local, name), read(remote, name), obj=name)
    assert (read(remote, "mentions")["source"].str.contains("stanza")).any()  # the model ran on the workers


def _peyvand(*args, env=None):
    import os
    import subprocess
    import sys

    run_env = dict(os.environ, **(env or {}))
    done = subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], capture_output=True, text=True, env=run_env,
                          cwd=SEEDS.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _summaries(out):
    manifest = json.loads((out / "_work" / "manifest.json").read_text(encoding="utf-8"))
    return {stage: entry["summary"] for stage, entry in manifest.items()}


def test_a_rerun_processes_only_new_articles_and_a_rule_change_only_the_rules(tmp_path):
    """The per-article cache: adding an article processes that one alone (old articles' rows unchanged);
    an edited rule file re-runs the domain layer on every article but neither the normalizer nor the model."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))
    for seed in seeds[:4]:
        shutil.copy(seed, corpus / seed.name)
    out = tmp_path / "out"
    _peyvand("run", corpus, "-o", out, "-q")
    first = _summaries(out)
    assert first["ingest"]["processed"] == 4 and first["ner"]["model_tagged"] == 4
    assert first["ner"]["model_loaded_ahead"]  # `run` started the model's process before ingest
    old_mentions = read(out, "mentions")
    old_docs = read(out, "documents")

    shutil.copy(seeds[4], corpus / seeds[4].name)  # a new article arrives
    _peyvand("run", corpus, "-o", out, "-q")
    second = _summaries(out)
    assert (second["ingest"]["processed"], second["ingest"]["reused"]) == (1, 4)
    assert (second["ner"]["processed"], second["ner"]["reused"], second["ner"]["model_tagged"]) == (1, 4, 1)
    old_ids = set(old_docs["doc_id"])
    new_mentions = read(out, "mentions")
    cols = [c for c in old_mentions.columns if c != "entity_id"]
    pd.testing.assert_frame_equal(new_mentions[new_mentions["doc_id"].isin(old_ids)][cols].reset_index(drop=True),
                                  old_mentions[cols])
    new_docs = read(out, "documents")
    pd.testing.assert_frame_equal(new_docs[new_docs["doc_id"].isin(old_ids)].reset_index(drop=True), old_docs)
    # the same as a clean run on the five articles
    clean = tmp_path / "clean"
    _peyvand("run", corpus, "-o", clean, "-q")
    for name in ("documents", "mentions", "entities", "affiliations", "edges"):
        pd.testing.assert_frame_equal(read(out, name), read(clean, name), obj=name)

    # an edited rule file (a copy of the data folder, as a user would keep one)
    data = tmp_path / "data"
    shutil.copytree(ROOT / "pipeline" / "data", data)
    with (data / "titles.tsv").open("a", encoding="utf-8") as handle:
        handle.write("سرپرست ویژه\tسرپرست\t\n")
    status = _peyvand("status", "-o", out, env={"PEYVAND_DATA_DIR": str(data)})
    assert "rules changed" in status.stdout + status.stderr
    _peyvand("run", corpus, "-o", out, "-q", env={"PEYVAND_DATA_DIR": str(data)})
    third = _summaries(out)
    assert third["ingest"]["processed"] == 0  # the text does not depend on titles.tsv
    assert (third["ner"]["processed"], third["ner"]["model_tagged"]) == (5, 0)  # rules again, the model not
    for name in ("mentions", "entities", "edges"):
        pd.testing.assert_frame_equal(read(out, name), read(clean, name), obj=name)  # the new title is not in them


def test_a_rerun_rewrites_only_the_groups_that_changed(tmp_path):
    """The work tables are folders of parts, one per group of articles (content-defined groups): articles
    added at the end, an article edited in the middle, an article removed — each re-run rebuilds only the
    groups touched (in ingest, ner and resolve) and gives exactly what a clean run on the same folder gives."""
    _peyvand("synth", "--docs", 48, "--seed", 3, "-o", tmp_path / "synth")
    articles = sorted((tmp_path / "synth" / "articles").glob("*.txt"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for path in articles[:44]:
        shutil.copy(path, corpus / path.name)
    out, opts = tmp_path / "out", ("-q", "--no-model", "--chunk-size", "4")
    _peyvand("run", corpus, "-o", out, *opts)
    cold = _summaries(out)
    n_groups = cold["ner"]["groups"]
    assert n_groups >= 6 and cold["ner"]["groups_rebuilt"] == n_groups == cold["resolve"]["groups"]
    parts = sorted(p.name for p in (out / "_work" / "documents").glob("*.parquet"))
    assert len(parts) == n_groups and (out / "_work" / "documents" / "_parts.json").exists()
    assert json.loads((out / "_work" / "person_links.json").read_text(encoding="utf-8"))["blocks"]  # relinked by block

    def same_as_clean(tag):
        clean = tmp_path / f"clean_{tag}"
        _peyvand("run", corpus, "-o", clean, *opts)
        for name in ("documents", "mentions", "entities", "affiliations", "edges", "nodes", "resolution"):
            pd.testing.assert_frame_equal(read(out, name), read(clean, name), obj=f"{tag}: {name}")

    for path in articles[44:]:  # new articles arrive (their names sort last, as dated files do)
        shutil.copy(path, corpus / path.name)
    _peyvand("run", corpus, "-o", out, *opts)
    added = _summaries(out)
    assert added["ingest"]["processed"] == 4
    for stage in ("ingest", "ner", "resolve"):
        # the new articles' own groups, and at most the old last group they extend, are built; the rest reused
        reused = added[stage]["groups"] - added[stage]["groups_rebuilt"]
        assert added[stage]["groups_rebuilt"] >= 1 and reused >= n_groups - 1, (stage, added[stage])
    same_as_clean("added")
    assert added["resolve"]["surname_blocks_linked"] < added["resolve"]["surname_blocks"]  # the others remembered

    middle = corpus / articles[20].name  # an article corrected in the middle of the corpus
    middle.write_text(middle.read_text(encoding="utf-8") + "\nمهران کریمیان، مدیرکل بهزیستی استان فارس گفت.\n", encoding="utf-8")
    _peyvand("run", corpus, "-o", out, *opts)
    edited = _summaries(out)
    assert edited["ingest"]["processed"] == 1 and edited["ner"]["processed"] == 1
    for stage in ("ingest", "ner", "resolve"):
        assert 1 <= edited[stage]["groups_rebuilt"] <= 2, (stage, edited[stage])
    assert "کریمیان" in " ".join(read(out, "entities")["name"])
    same_as_clean("edited")

    (corpus / articles[30].name).unlink()  # an article withdrawn
    _peyvand("run", corpus, "-o", out, *opts)
    removed = _summaries(out)
    assert removed["ingest"]["processed"] == 0 and removed["ingest"]["documents"] == 47
    assert removed["ner"]["groups_rebuilt"] <= 2  # 0 when the article was a group of its own
    same_as_clean("removed")
    # one stage alone, in place: the same parts are reused (nothing rebuilt) and the table is unchanged
    before = pd.read_parquet(out / "_work" / "mentions")
    invoke("ner", "-o", str(out), "-q", "--no-model")
    assert _summaries(out)["ner"]["groups_rebuilt"] == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "_work" / "mentions"), before)


def test_parts_read_ahead_are_served_once_and_only_for_the_same_file(seeds_run, tmp_path):
    """`peyvand run` reads resolve's last tables ahead while ner waits on the model: a part is served
    from memory to a reader of the same file (a re-run's hard link to it) once; a file written anew,
    same bytes or not, is read from disk."""
    import os

    from pipeline.io import workdir

    source = seeds_run / "_work" / "local_mentions"
    linked = tmp_path / "local_mentions"
    linked.mkdir()
    for file in source.iterdir():
        os.link(file, linked / file.name)
    expected = workdir.read_arrow(source)
    parts = [file for file, _gid, _info in workdir.table_parts(linked)]
    try:
        workdir.read_ahead([source])
        assert workdir.read_arrow(linked).equals(expected)
        assert not workdir._read_ahead.parts  # taken, not kept
        workdir.read_ahead([source])
        workdir._read_ahead.thread.join()
        assert len(workdir._read_ahead.parts) == len(parts)
        data = parts[0].read_bytes()
        parts[0].unlink()
        parts[0].write_bytes(data)  # the same bytes in a new file
        assert workdir.read_arrow(linked).equals(expected)
        assert len(workdir._read_ahead.parts) == 1  # the rewritten part was read from disk
    finally:
        workdir.end_read_ahead()
    assert not workdir._read_ahead.parts and workdir._read_ahead.thread is None
