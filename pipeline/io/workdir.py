"""The work folder between stages (``<output>/_work``): Parquet tables, a manifest, the error log.

Every file is written atomically (temporary file, then rename), so an interrupted stage leaves the
previous version of its files intact.  The manifest records, per stage, the fingerprints of what it
read and the settings it ran with; :meth:`WorkDir.stale` compares them with the current state.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import pandas as pd

WORK = "_work"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: Path, writer) -> None:
    """Call ``writer(tmp_path)`` and move the result into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class WorkDir:
    def __init__(self, output: Path):
        self.output = Path(output)
        self.path = self.output / WORK

    def table_path(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    def has(self, name: str) -> bool:
        return self.table_path(name).exists()

    def write(self, name: str, frame: pd.DataFrame) -> None:
        atomic_write_with(self.table_path(name), lambda tmp: frame.to_parquet(tmp, index=False))

    def read(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.table_path(name))

    def fingerprint(self, name: str) -> str:
        path = self.table_path(name)
        if not path.exists():
            return ""
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()[:16]

    # ----- manifest --------------------------------------------------------------------------
    def manifest(self) -> dict:
        path = self.path / "manifest.json"
        if not path.exists():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return {}

    def record(self, stage: str, entry: dict) -> None:
        manifest = self.manifest()
        manifest[stage] = entry
        atomic_write_text(self.path / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1))

    # ----- errors ------------------------------------------------------------------------------
    def errors(self) -> pd.DataFrame:
        if self.has("errors"):
            return self.read("errors")
        return pd.DataFrame(columns=["doc_id", "stage", "error"])

    def set_errors(self, stage: str, rows: list[dict]) -> None:
        """Replace the errors recorded by ``stage`` (a re-run of a stage replaces its own errors)."""
        frame = self.errors()
        frame = frame[frame["stage"] != stage]
        new = pd.DataFrame(rows, columns=["doc_id", "stage", "error"])
        frame = pd.concat([frame, new], ignore_index=True) if len(new) else frame
        self.write("errors", frame.astype(str))
