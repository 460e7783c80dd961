"""The statistical NER model, run by stanza offline.

Two kinds of model folder are understood:

- a **project model** (``models/default`` or any folder written by ``peyvand train-ner``): ``resources.json``
  in stanza's format plus ``peyvand.json`` naming ``ner.pt``, ``pretrain.pt`` and optional charlm files;
- a **stanza resources folder** (``peyvand models download DIR`` / ``--stanza-resources DIR``) in stanza's own
  layout: ``resources.json``, ``fa/ner/*.pt``, ``fa/pretrain/*.pt``.

Nothing here downloads anything: every Pipeline is built with ``download_method=None``.
"""

from __future__ import annotations

from contextlib import contextmanager

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("peyvand")

# stanza / ARMAN label → Peyvand label (see models/README.md for the reasoning)
LABEL_MAP = {
    "PER": "PERSON", "PERS": "PERSON", "PERSON": "PERSON",
    "ORG": "ORG", "FAC": "ORG", "ORGANIZATION": "ORG",
    "LOC": "LOC", "GPE": "LOC", "LOCATION": "LOC",
}
PROJECT_META = "peyvand.json"


@dataclass
class ModelSpec:
    description: str
    pipeline_kwargs: dict
    batch_size: int = 32
    meta: dict = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes when the model files change: part of the ner stage's cache key."""
        parts = [self.description]
        for key, value in sorted(self.pipeline_kwargs.items()):
            if key.endswith("_path") and Path(value).exists():
                stat = Path(value).stat()
                parts.append((key, stat.st_size, stat.st_mtime_ns))
        return repr(parts)


class ModelNotFound(Exception):
    pass


def project_spec(model_dir: Path, batch_size: int | None = None) -> ModelSpec:
    model_dir = Path(model_dir)
    meta_path = model_dir / PROJECT_META
    if not meta_path.exists():
        raise ModelNotFound(f"no NER model in {model_dir} (missing {PROJECT_META})")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    batch = batch_size or int(meta.get("batch_size", 32))
    kwargs = {
        "lang": "fa",
        "dir": str(model_dir),
        "processors": "tokenize,ner",
        "tokenize_pretokenized": True,
        "download_method": None,
        "ner_model_path": str(model_dir / meta["ner_model"]),
        # without the pretrain stanza loads silently and tags garbage
        "ner_pretrain_path": str(model_dir / meta["pretrain"]),
        # the default batch size is the training batch size, not what tagging wants
        "ner_batch_size": batch,
    }
    for key, arg in (("charlm_forward", "ner_forward_charlm_path"), ("charlm_backward", "ner_backward_charlm_path")):
        if meta.get(key):
            kwargs[arg] = str(model_dir / meta[key])
    desc = f"project model {model_dir} ({meta.get('name', 'ner')}, trained {meta.get('trained', '?')})"
    return ModelSpec(desc, kwargs, batch, meta)


def stanza_resources_spec(resources_dir: Path, batch_size: int | None = None) -> ModelSpec:
    """stanza's own ``fa`` models in a resources folder (official download or the same layout)."""
    resources_dir = Path(resources_dir)
    if not (resources_dir / "resources.json").exists():
        raise ModelNotFound(f"{resources_dir} is not a stanza resources folder (no resources.json)")
    ner_dir = resources_dir / "fa" / "ner"
    if not ner_dir.is_dir() or not list(ner_dir.glob("*.pt")):
        raise ModelNotFound(f"no Persian NER model under {ner_dir}")
    batch = batch_size or 32
    resources = json.loads((resources_dir / "resources.json").read_text(encoding="utf-8")).get("fa", {})
    package = resources.get("default_processors", {}).get("ner", "")
    package = package if isinstance(package, str) else ""
    ner_files = sorted(ner_dir.glob("*.pt"), key=lambda p: p.stem != package)
    pretrains = sorted((resources_dir / "fa" / "pretrain").glob("*.pt"))
    if not pretrains:
        raise ModelNotFound(f"no word-vector pretrain under {resources_dir / 'fa' / 'pretrain'}")
    # explicit paths: the model stanza's resources.json names, else the only one there
    kwargs = {
        "lang": "fa",
        "dir": str(resources_dir),
        "processors": "tokenize,ner",
        "tokenize_pretokenized": True,
        "download_method": None,
        "ner_model_path": str(ner_files[0]),
        "ner_pretrain_path": str(_pretrain_for(resources, ner_files[0].stem, pretrains)),
        "ner_batch_size": batch,
    }
    charlm_dir = resources_dir / "fa" / "forward_charlm"
    if charlm_dir.is_dir() and list(charlm_dir.glob("*.pt")):
        kwargs["ner_forward_charlm_path"] = str(sorted(charlm_dir.glob("*.pt"))[0])
        backward = sorted((resources_dir / "fa" / "backward_charlm").glob("*.pt"))
        if backward:
            kwargs["ner_backward_charlm_path"] = str(backward[0])
    return ModelSpec(f"stanza resources {resources_dir}", kwargs, batch)


def _pretrain_for(resources: dict, ner_package: str, pretrains: list[Path]) -> Path:
    """The pretrain stanza's resources.json lists as the NER model's dependency, else the first one."""
    for dep in resources.get("ner", {}).get(ner_package, {}).get("dependencies", []):
        if dep.get("model") == "pretrain":
            for p in pretrains:
                if p.stem == dep.get("package"):
                    return p
    return pretrains[0]


def find_model(settings) -> ModelSpec | None:
    """The model the settings ask for; None when none is configured and the default is absent."""
    if not settings.use_model:
        return None
    if settings.stanza_resources:
        return stanza_resources_spec(settings.stanza_resources, settings.ner_batch_size)
    model_dir = settings.resolved_model_dir()
    if settings.model_dir is None and not (model_dir / PROJECT_META).exists():
        return None  # no default model shipped: the domain layer runs alone
    return project_spec(model_dir, settings.ner_batch_size)


@contextmanager
def _no_training_optimizer():
    """stanza's NER trainer builds an SGD optimizer even to tag: torch's optimizers import torch._dynamo,
    1.4 s of every model load (each run, each worker) for an object inference never touches.  While the
    pipeline loads, the trainer gets no optimizer.  When stanza's layout differs, nothing is changed."""
    try:
        from stanza.models.ner import trainer
    except ImportError:
        yield
        return
    utils = getattr(trainer, "utils", None)
    original = getattr(utils, "get_optimizer", None)
    if original is None:
        yield
        return
    utils.get_optimizer = lambda *args, **kwargs: None
    try:
        yield
    finally:
        utils.get_optimizer = original


@contextmanager
def _model_files_from_snapshots():
    """stanza's ``torch.load`` of its model files, through snapshots in Peyvand's cache folder.

    stanza loads every model file with torch's weights-only unpickler (the file is not trusted), which is
    written in Python: rebuilding the vocabularies' dicts and lists (45,000 words each here) is 0.5 s of
    a 0.6 s model load, in every run and every worker, on the daily re-run's critical path.  The first
    load of a file goes through it exactly as stanza asks; what it returned is then saved as a snapshot,
    and later loads of the same file read the snapshot with the regular unpickler, ten times faster.  A
    snapshot is named by the file's path, size, modification time and inode, as the ner cache knows the
    model (:meth:`ModelSpec.fingerprint`), and by torch's version: the file is not read at all when its
    snapshot is there.  Snapshots are written by Peyvand into the user's own cache folder and read only
    from there, as the normalizer's and the lexicons' are; any failure means stanza's own load."""
    import os

    import torch

    from pipeline.io.workdir import digest
    from pipeline.lexicons import load_snapshot, save_snapshot

    original = torch.load

    def load(f, map_location=None, *args, **kwargs):
        if not isinstance(f, (str, os.PathLike)) or not kwargs.get("weights_only") or args:
            return original(f, map_location, *args, **kwargs)
        try:
            stat = os.stat(f)
        except OSError:
            return original(f, map_location, *args, **kwargs)
        identity = [os.path.realpath(f), stat.st_size, stat.st_mtime_ns, stat.st_ino, torch.__version__]
        name = f"torch-{digest(*identity)}.pickle"
        found = load_snapshot(name)
        if isinstance(found, dict) and found.get("identity") == identity:
            return found["value"]
        value = original(f, map_location, *args, **kwargs)
        save_snapshot(name, {"identity": identity, "value": value}, stale_glob="torch-*.pickle")
        return value

    torch.load = load
    try:
        yield
    finally:
        torch.load = original


class NerTagger:
    """A loaded stanza Pipeline; tags pre-tokenized sentences in batches."""

    def __init__(self, spec: ModelSpec):
        import stanza

        self.spec = spec
        logging.getLogger("stanza").setLevel(logging.WARNING)
        with _no_training_optimizer(), _model_files_from_snapshots():
            self.pipeline = stanza.Pipeline(**spec.pipeline_kwargs, use_gpu=False, logging_level="WARN")

    def tag(self, sentences: list[list[str]]) -> list[list[tuple[int, int, str]]]:
        """Entity spans per sentence: (token start, token end exclusive, Peyvand label)."""
        if not sentences:
            return []
        doc = self.pipeline([list(s) for s in sentences])
        out = []
        for sentence in doc.sentences:
            spans = []
            for ent in sentence.ents:
                label = LABEL_MAP.get(ent.type.upper())
                if not label:
                    continue
                start = ent.tokens[0].id[0] - 1
                end = ent.tokens[-1].id[-1]
                spans.append((start, end, label))
            out.append(spans)
        return out
