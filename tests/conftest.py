"""Shared fixtures: the seeds, one rules-only run of the whole CLI, and a tiny stanza model trained here."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
GOLD = ROOT.parent / "shared" / "gold" / "seeds"

TINY_IOB = []
_NAMES = [("علی", "رضایی"), ("محمد", "کریمی"), ("حسن", "احمدی"), ("زهرا", "موسوی"), ("مریم", "نوری")]
_ORGS = [("سازمان", "بهزیستی"), ("بنیاد", "شهید"), ("وزارت", "کشور")]
for _k in range(60):
    _f, _l = _NAMES[_k % 5]
    _o1, _o2 = _ORGS[_k % 3]
    TINY_IOB += [f"{_f} B-pers", f"{_l} I-pers", "در O", f"{_o1} B-org", f"{_o2} I-org", "گفت O", ""]
    TINY_IOB += ["مردم O", "در O", "تهران B-loc", "جمع O", "شدند O", ""]


def invoke(*args: str):
    result = CliRunner().invoke(app, [str(a) for a in args])
    return result


@pytest.fixture(scope="session")
def seeds_run(tmp_path_factory) -> Path:
    """`peyvand run seeds/ -o OUT --no-model`: the domain layer alone, as on a machine with no model."""
    out = tmp_path_factory.mktemp("run") / "outputs"
    result = invoke("run", SEEDS, "-o", out, "--no-model", "-q")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A stanza NER model trained in seconds from IOB lines written here."""
    from pipeline.training import train_ner

    folder = tmp_path_factory.mktemp("tiny")
    iob = folder / "train.iob"
    iob.write_text("\n".join(TINY_IOB), encoding="utf-8")
    train_ner(
        iob, folder / "model", word_dim=16, hidden_dim=32, char_hidden_dim=16, max_steps=120, eval_interval=60, batch_size=16,
        lexicon_size=500,
    )
    shutil.rmtree(folder / "model" / "_train")
    return folder / "model"
