"""Run settings: one object, filled from the CLI, recorded in the manifest with each stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_model_dir() -> Path:
    return REPO_ROOT / "models" / "default"


@dataclass
class Settings:
    output: Path = Path("outputs")
    input: Path | None = None
    # NER model: a folder with resources.json written by `peyvand train-ner` (default: models/default);
    # `stanza_resources` points at stanza's own resources folder (official fa models) instead.
    model_dir: Path | None = None
    stanza_resources: Path | None = None
    use_model: bool = True  # False: the domain layer alone
    use_rules: bool = True  # False: the model alone (to compare; titles come from the domain layer only)
    ner_batch_size: int = 64
    # co-occurrence window: sentence | paragraph | document
    window: str = "sentence"
    # edge weights (pipeline/weights.py): count | association | pmi; filters applied to the exported graph
    weight: str = "count"
    min_weight: float | None = None
    types: str = "PERSON,ORG"
    backbone_alpha: float | None = None
    # limits: larger articles are cut (and the cut is recorded), longer sentences split
    max_article_chars: int = 200_000
    max_sentence_tokens: int = 200
    # articles per chunk: the unit of caching and of resuming a killed run
    chunk_size: int = 100
    # where ingest and ner run (pipeline/executors.py): "local" (this process, or `workers` processes) or
    # "dask" (the Dask scheduler at `scheduler`, or a LocalCluster of `workers` processes when it is None);
    # outputs do not depend on any of them
    workers: int = 1
    executor: str = "local"
    scheduler: str | None = None
    # cross-document person resolution (pipeline/domain/people.py): evidence score needed to join a
    # surname-only mention to a full-named person, the margin by which it must beat the runner-up, and an
    # aliases file forcing merges or splits
    person_link_threshold: float = 0.5
    person_link_margin: float = 0.15
    aliases: Path | None = None
    strict: bool = False  # a per-article error fails the run (exit 1)
    excel_safe: bool = False  # CSV cells starting with = + - @ get a leading apostrophe
    extra: dict = field(default_factory=dict)

    def resolved_model_dir(self) -> Path:
        return Path(self.model_dir) if self.model_dir else default_model_dir()

    def describe(self) -> dict:
        out = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        out.pop("output", None)
        return out
