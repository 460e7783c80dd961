"""Bad input, interruptions and file validity: nothing lost, every failure explained."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, SEEDS, invoke
from pipeline.io.readers import RawArticle
from pipeline.normalize import normalize
from pipeline.settings import Settings
from pipeline.stages.ingest import ingest_article

GOOD = "به گزارش ایرنا، علی رضایی، مدیرکل بهزیستی استان فارس با حضور حسن کاظمی معاون توانبخشی گفت."


def read(out, name):
    return pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)


@pytest.fixture
def bad_corpus(tmp_path) -> Path:
    folder = tmp_path / "bad corpus"
    folder.mkdir()
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("  \n\t\n   ", encoding="utf-8")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "win1256.txt").write_bytes(GOOD.replace("ی", "ي").replace("ک", "ك").encode("cp1256"))
    (folder / "utf16.txt").write_bytes(GOOD.encode("utf-16"))
    (folder / "huge.txt").write_text((GOOD + "\n") * (20_000_000 // len(GOOD.encode())), encoding="utf-8")
    (folder / "page.txt").write_text(f"<html><head><style>p{{color:red}}</style></head><body><p>{GOOD}</p><script>var x=1;</script></body></html>", encoding="utf-8")
    (folder / "control chars.txt").write_text(GOOD.replace("مدیرکل", "مدیر\x00کل\x0b").replace("فارس", "فا\x1fرس"), encoding="utf-8")
    (folder / "خبر فارسی با فاصله.txt").write_text(GOOD, encoding="utf-8")
    (folder / "comma, \"quote\".txt").write_text(GOOD + "\n=HYPERLINK(\"x\") و «نقل‌قول، با ویرگول»\u200f", encoding="utf-8")
    return folder


def test_bad_corpus_every_failure_listed_every_good_article_kept(bad_corpus, tmp_path):
    out = tmp_path / "out"
    result = invoke("run", bad_corpus, "-o", out, "--no-model", "-q")
    assert result.exit_code == 0, result.output
    assert "error(s)" in result.output  # the one-line summary
    errors = read(out, "errors")
    reasons = {}
    for row in errors.itertuples():
        reasons.setdefault(row.doc_id, []).append(row.error)
    assert "empty" in reasons["empty"][0] and "empty" in reasons["blank"][0]
    assert "binary" in reasons["binary"][0]
    assert "1256" in reasons["win1256"][0]
    assert any("cut at" in r for r in reasons["huge"])
    assert any("HTML" in r for r in reasons["page"])
    docs = read(out, "documents").set_index("doc_id")
    good = ["win1256", "utf16", "huge", "page", "control chars", "خبر فارسی با فاصله", 'comma, "quote"']
    assert (docs.loc[good, "status"] == "ok").all()
    assert (docs.loc[["empty", "blank", "binary"], "status"] == "error").all()
    mentions = read(out, "mentions")
    for doc in good:
        names = set(mentions[(mentions["doc_id"] == doc) & (mentions["label"] == "PERSON")]["text"])
        assert "علی رضایی" in names, doc
    assert "var x" not in pd.read_parquet(out / "_work" / "documents").set_index("doc_id").loc["page", "text"]
    # files stay valid whatever the text
    for name in ("graph.graphml", "graph.gexf"):
        ET.parse(out / name)
    strict = invoke("run", bad_corpus, "-o", tmp_path / "strict", "--no-model", "-q", "--strict")
    assert strict.exit_code == 1


def test_jsonl_broken_lines_duplicates_and_csv_without_text(tmp_path):
    jsonl = tmp_path / "in.jsonl"
    rows = [json.dumps({"id": "a", "text": GOOD}, ensure_ascii=False), "{not json", '"a string"',
            json.dumps({"id": "a", "text": "تکراری"}, ensure_ascii=False), json.dumps({"id": "b"}), json.dumps({"id": "c", "text": GOOD, "date": "2024-01-02"}, ensure_ascii=False)]
    jsonl.write_text("\n".join(rows), encoding="utf-8")
    out = tmp_path / "out"
    assert invoke("run", jsonl, "-o", out, "--no-model", "-q").exit_code == 0
    errors = " ".join(read(out, "errors")["error"])
    assert "broken JSON" in errors and "duplicate id 'a'" in errors and "no text" in errors
    docs = read(out, "documents").set_index("doc_id")
    assert docs.loc["a", "status"] == "ok" and docs.loc["c", "date"] == "2024-01-02"
    csv_file = tmp_path / "in.csv"
    csv_file.write_text("id,body\n1,متن\n", encoding="utf-8")
    result = invoke("run", csv_file, "-o", tmp_path / "o2", "--no-model", "-q")
    assert result.exit_code == 2 and "id and text" in result.output


def test_no_articles_is_a_failed_invocation(tmp_path):
    empty = tmp_path / "none"
    empty.mkdir()
    (empty / "notes.md").write_text("not an article")
    result = invoke("run", empty, "-o", tmp_path / "out", "--no-model", "-q")
    assert result.exit_code == 2 and "no articles" in result.output
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.txt").write_bytes(b"")
    result = invoke("run", only_bad, "-o", tmp_path / "out2", "--no-model", "-q")
    assert result.exit_code == 2 and "no article could be read" in result.output
    assert not (tmp_path / "out2").exists()  # nothing was swapped in


def test_csv_round_trip_and_excel_safe(bad_corpus, tmp_path):
    out = tmp_path / "out"
    assert invoke("run", bad_corpus, "-o", out, "--no-model", "-q", "--excel-safe").exit_code == 0
    for name in ("documents", "mentions", "entities", "affiliations", "nodes", "edges", "errors"):
        frame = read(out, name)
        assert len(frame.columns) >= 3
        for col in frame.columns:
            assert not frame[col].str.match(r"^[=+@]").any(), (name, col)
    raw = pd.read_csv(out / "documents.csv", dtype=str, keep_default_na=False)
    assert 'comma, "quote"' in set(raw["doc_id"])  # commas and quotes survive the round trip


def _run_cli(corpus: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", str(corpus), "-o", str(out), "--no-model", "-q", "--chunk-size", "10", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )


def _cached(path: Path) -> int:
    """Articles in a stage's cache (read-only, while the run writes it)."""
    import sqlite3

    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_keeps_previous_outputs_and_the_next_run_resumes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for k in range(80):
        for seed in SEEDS.glob("*.txt"):
            (corpus / f"{seed.stem}_{k}.txt").write_bytes(seed.read_bytes())
    out = tmp_path / "outputs"
    first = invoke("run", SEEDS, "-o", out, "--no-model", "-q")  # the previous outputs
    assert first.exit_code == 0
    before = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    proc = _run_cli(corpus, out)
    cache = tmp_path / ".outputs.partial" / "_work" / "cache" / "ingest.sqlite"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if _cached(cache) >= 5 + 30:  # the 5 seeds of the previous run, and 30 articles of this one
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"the run ended (rc={proc.returncode}) before it could be killed:\n{proc.stdout.read().decode()}")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert {p.name: p.read_bytes() for p in out.glob("*.csv")} == before
    done = _cached(cache) - 5
    proc = _run_cli(corpus, out)
    assert proc.wait(timeout=300) == 0, proc.stdout.read().decode()
    manifest = json.loads((out / "_work" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["ingest"]["summary"]["reused"] >= done >= 30
    assert manifest["ingest"]["summary"]["processed"] == 400 - manifest["ingest"]["summary"]["reused"]
    assert len(read(out, "documents")) == 400
    # the resumed run gives what a clean run gives
    clean = tmp_path / "clean"
    assert _run_cli(corpus, clean).wait(timeout=300) == 0
    for name in ("documents", "mentions", "entities", "affiliations", "edges"):
        a = read(out, name).drop(columns=["source_path"], errors="ignore")
        b = read(clean, name).drop(columns=["source_path"], errors="ignore")
        pd.testing.assert_frame_equal(a, b, obj=name)


# ----- properties --------------------------------------------------------------------------------
persian = st.lists(
    st.sampled_from(list("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكؤأإةئۀ ‌\u200d\u200f\n\x00\t،.؟!()0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣") + ["(ره)", "مدیر کل", "هیئت", "می شود", "سهشنبه"]),
    max_size=80,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(persian)
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_ingest_never_raises_on_arbitrary_bytes(data):
    doc, _ = ingest_article(RawArticle("x", "x", data), Settings())
    assert doc.status in ("ok", "error")
    if doc.status == "error":
        assert doc.error


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([
    "علی رضایی", "مدیرکل", "بهزیستی استان فارس", "، ", "دکتر", "قادری", " گفت.", "\n", "سازمان همیاری", "(ره)",
    "آقای", "سید", "معاون", "اداره کل", "وی", " و ", "خراسان رضوی", "ستاد فرمان امام", "12", "سالن شهید", "x\x00",
    "کامران", "جمشید", "امیر", "حسین", "محمد", "رمضان",
]), min_size=1, max_size=25).map(" ".join))
def test_mention_offsets_slice_the_normalized_text(text):
    from pipeline.stages.ner import document_mentions

    doc, _ = ingest_article(RawArticle("d", "d", text.encode("utf-8")), Settings())
    if doc.status != "ok":
        return
    for m in document_mentions("d", doc.sentences, None):
        # the span covers exactly the mention's tokens (the stage then stores the slice as `text`)
        assert doc.text[m.start : m.end].split() == m.text.split()


def test_contract_csv_round_trips_awkward_text(tmp_path):
    from pipeline.io.exports import write_table

    cells = ["a, b", 'say "hi"', "line one\nline two", "\u200fراست\u200e به چپ", "=SUM(A1)", "-1", "@x", "+98", ""]
    frame = pd.DataFrame({"doc_id": cells, "stage": ["ingest"] * len(cells), "error": cells[::-1]})
    write_table(frame, tmp_path / "errors.csv", "errors")
    back = pd.read_csv(tmp_path / "errors.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, frame)
    write_table(frame, tmp_path / "safe.csv", "errors", safe_for_excel=True)
    safe = pd.read_csv(tmp_path / "safe.csv", dtype=str, keep_default_na=False)
    assert list(safe["doc_id"][4:8]) == ["'=SUM(A1)", "'-1", "'@x", "'+98"]
    assert safe["doc_id"][0] == "a, b"


def test_limits_are_settings_and_what_they_cut_is_reported(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "long.txt").write_text(" ".join(["کلمه"] * 500) + ". " + GOOD, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("run", corpus, "-o", out, "--no-model", "-q", "--max-sentence-tokens", "100", "--max-article-chars", "2000")
    assert result.exit_code == 0, result.output
    errors = " ".join(read(out, "errors")["error"])
    assert "longer than 100 tokens split" in errors and "cut at 2000 characters" in errors
    assert read(out, "documents")["status"].tolist() == ["ok"]


def test_unchanged_files_are_not_read_again_and_changed_ones_are(tmp_path):
    """The folder reader trusts a file's recorded hash when its size, mtime and inode are those recorded
    (and the mtime is not within the clock's resolution of the recording); otherwise it reads the file."""
    import os

    from pipeline.io.readers import iter_articles, load
    from pipeline.stages.ingest import content_sha256

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("به گزارش ایسنا، متن اول.", encoding="utf-8")
    (folder / "b.txt").write_text("متن دوم.", encoding="utf-8")
    old = 1_600_000_000_000_000_000
    for name in ("a.txt", "b.txt"):
        os.utime(folder / name, ns=(old, old))
    first = {raw.source_path: raw for raw in iter_articles(folder)}
    assert all(raw.data is not None and raw.stat for raw in first.values())
    known = {path: (*raw.stat, content_sha256(raw), old + 10**10) for path, raw in first.items()}
    (folder / "b.txt").write_text("متن دوم، درست شده.", encoding="utf-8")  # edited: new size and mtime
    second = {raw.doc_id: raw for raw in iter_articles(folder, known)}
    assert second["a"].data is None and second["a"].sha256 == content_sha256(first[str(folder / "a.txt")])
    assert second["b"].data is not None and "درست" in second["b"].data.decode("utf-8")
    assert load(second["a"]).data == first[str(folder / "a.txt")].data  # read when it has to be processed
    racy = {path: (*value[:4], old) for path, value in known.items()}  # hashed in the second it was written
    assert all(raw.data is not None for raw in iter_articles(folder, racy))


def test_file_records_written_as_differences_end_as_the_new_records(tmp_path):
    """ingest writes only the input files' records that changed (a daily re-run changes 1% of them): the
    records after are this run's, exactly, as when they were all replaced."""
    from pipeline.io.cache import ResultCache

    first = {f"/in/{k}.txt": (100 + k, 10**9 + k, 5000 + k, f"sha{k}", 7) for k in range(6)}
    now = {**{p: v for p, v in first.items() if not p.endswith(("0.txt", "1.txt"))},
           "/in/2.txt": (999, 2, 3, "changed", 8), "/in/new.txt": (1, 2, 3, "new", 8)}
    with ResultCache(tmp_path / "ingest.sqlite") as cache:
        cache.set_known_files(first)
        assert cache.known_files() == first
        cache.set_known_files(now, cache.known_files())
        assert cache.known_files() == now
