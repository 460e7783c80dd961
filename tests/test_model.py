"""The stanza path: a tiny model trained here, loaded offline, run through the ner stage."""

import json
import shutil
from pathlib import Path

import pandas as pd

from conftest import SEEDS, invoke
from pipeline.model import NerTagger, project_spec, stanza_resources_spec
from pipeline.training import map_tag, score_spans, spans_from_bio


def test_label_map_and_span_scoring():
    assert map_tag("B-pers") == "B-PER" and map_tag("I-fac") == "I-ORG" and map_tag("B-event") == "O"
    gold = [spans_from_bio(["B-PER", "I-PER", "O", "B-ORG"])]
    pred = [{(0, 2, "PER"), (3, 4, "LOC")}]
    scores = score_spans(gold, pred)
    assert scores["PER"]["f1"] == 1.0 and scores["micro"]["precision"] == 0.5


def test_tiny_model_tags_offline(tiny_model):
    tagger = NerTagger(project_spec(tiny_model))
    out = tagger.tag([["علی", "رضایی", "در", "سازمان", "بهزیستی", "گفت"], ["مردم", "در", "تهران", "جمع", "شدند"]])
    assert (0, 2, "PERSON") in out[0] and (2, 3, "LOC") in out[1]


def test_model_files_load_from_snapshots_after_the_first_load(tiny_model, tmp_path, monkeypatch):
    """stanza's weights-only loads of the model files are done once: later loads of the same bytes read
    Peyvand's snapshots and tag the same; a file written again is loaded by torch again."""
    import torch

    monkeypatch.setenv("PEYVAND_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model)
    sentences = [["علی", "رضایی", "در", "سازمان", "بهزیستی", "گفت"], ["مردم", "در", "تهران", "جمع", "شدند"]]
    first = NerTagger(project_spec(model)).tag(sentences)
    assert len(list((tmp_path / "cache").glob("torch-*.pickle"))) == 2  # ner.pt and pretrain.pt

    real_load, loaded = torch.load, []

    def counting_load(f, *args, **kwargs):
        if isinstance(f, (str, Path)):  # not the tensors' bytes inside a snapshot
            loaded.append(str(f))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    assert NerTagger(project_spec(model)).tag(sentences) == first
    assert loaded == []
    checkpoint = real_load(model / "ner.pt", weights_only=True)
    checkpoint["config"]["note"] = "saved again"
    torch.save(checkpoint, model / "ner.pt")
    assert NerTagger(project_spec(model)).tag(sentences) == first
    assert loaded == [str(model / "ner.pt")]
    assert len(list((tmp_path / "cache").glob("torch-*.pickle"))) == 3


def test_ner_stage_with_the_model(tiny_model, tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a.txt").write_text("زهرا موسوی در وزارت کشور گفت.\nمردم در تهران جمع شدند.", encoding="utf-8")
    shutil.copy(SEEDS / "003_24c1f9271a0d924c.txt", corpus)
    out = tmp_path / "out"
    result = invoke("run", corpus, "-o", out, "--model", tiny_model, "-q")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "_work" / "manifest.json").read_text(encoding="utf-8"))
    assert "project model" in manifest["ner"]["summary"]["model"]
    mentions = pd.read_csv(out / "mentions.csv", keep_default_na=False)
    assert set(mentions["source"]) & {"stanza", "rules+stanza"}


def test_stanza_resources_layout(tiny_model, tmp_path):
    """The code path for stanza's official fa models, on a folder laid out as stanza.download does."""
    res = tmp_path / "stanza_resources"
    (res / "fa" / "ner").mkdir(parents=True)
    (res / "fa" / "pretrain").mkdir(parents=True)
    shutil.copy(tiny_model / "ner.pt", res / "fa" / "ner" / "arman.pt")
    shutil.copy(tiny_model / "pretrain.pt", res / "fa" / "pretrain" / "conll17.pt")
    resources = {"fa": {"lang_name": "Persian", "default_processors": {"tokenize": "perdt", "ner": "arman"},
                        "ner": {"arman": {"dependencies": [{"model": "pretrain", "package": "conll17"}]}}}}
    (res / "resources.json").write_text(json.dumps(resources), encoding="utf-8")
    tagger = NerTagger(stanza_resources_spec(res))
    assert (0, 2, "PERSON") in tagger.tag([["محمد", "کریمی", "در", "بنیاد", "شهید", "گفت"]])[0]
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a.txt").write_text("محمد کریمی در بنیاد شهید گفت.", encoding="utf-8")
    result = invoke("run", corpus, "-o", tmp_path / "out", "--stanza-resources", res, "-q")
    assert result.exit_code == 0, result.output


def test_training_is_reproducible(tmp_path):
    """Same seed, same data → the same vectors and the same model (train-ner's promise in models/README.md)."""
    import torch

    from conftest import TINY_IOB
    from pipeline.training import evaluate_iob, train_ner

    iob = tmp_path / "train.iob"
    iob.write_text("\n".join(TINY_IOB[:140]), encoding="utf-8")
    runs = []
    for name in ("one", "two"):
        train_ner(iob, tmp_path / name, word_dim=8, hidden_dim=16, char_hidden_dim=8, max_steps=40, eval_interval=20,
                  batch_size=8, lexicon_size=50, seed=7)
        runs.append(tmp_path / name)
    assert (runs[0] / "_train" / "vectors.txt").read_bytes() == (runs[1] / "_train" / "vectors.txt").read_bytes()
    weights = [torch.load(r / "ner.pt", map_location="cpu", weights_only=False)["model"] for r in runs]
    assert weights[0].keys() == weights[1].keys()
    for key in weights[0]:
        assert torch.equal(weights[0][key], weights[1][key]), key
    scores = [evaluate_iob(iob, NerTagger(project_spec(r)))["micro"]["f1"] for r in runs]
    assert scores[0] == scores[1]


def test_the_shipped_default_model(tmp_path):
    """models/default loads offline with explicit paths and is what the ner stage uses unless told otherwise."""
    from pipeline.settings import Settings, default_model_dir
    from pipeline.model import find_model

    spec = find_model(Settings())
    assert spec is not None and spec.pipeline_kwargs["ner_model_path"].startswith(str(default_model_dir()))
    assert spec.pipeline_kwargs["download_method"] is None and spec.pipeline_kwargs["ner_pretrain_path"]
    total = sum(p.stat().st_size for p in default_model_dir().parent.rglob("*") if p.is_file())
    assert total <= 50 * 1024 * 1024
    tagged = NerTagger(spec).tag([["محمد", "رضایی", "دیروز", "در", "شیراز", "با", "وزیر", "کشور", "دیدار", "کرد", "."]])
    assert (0, 2, "PERSON") in tagged[0] and (4, 5, "LOC") in tagged[0]
    corpus = tmp_path / "in"
    corpus.mkdir()
    (corpus / "a.txt").write_text("محمد رضایی دیروز در شیراز با خبرنگاران گفتگو کرد.", encoding="utf-8")
    result = invoke("run", corpus, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 0, result.output
    mentions = pd.read_csv(tmp_path / "out" / "mentions.csv", dtype=str, keep_default_na=False)
    assert any("stanza" in s for s in mentions["source"]), mentions
