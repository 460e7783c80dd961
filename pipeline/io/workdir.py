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
        atomic_write_with(self.table_path(name), lambda tmp: write_parquet(frame, tmp))

    def read(self, name: str) -> pd.DataFrame:
        return read_parquet(self.table_path(name))

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


# ----- chunk parts: the unit of resumption ------------------------------------------------------
# Arrow's thread pools can abort the interpreter at exit ("terminate called without an active
# exception", apache/arrow#34314) after a stage has written everything; our tables are small per call,
# so they are read and written on the calling thread and no pool is started.
def read_parquet(path: Path) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(path, use_threads=False, pre_buffer=False).to_pandas(use_threads=False)


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False, nthreads=1), path)


def digest(*items) -> str:
    h = hashlib.sha256()
    for item in items:
        if isinstance(item, bytes):
            h.update(item)
        else:
            h.update(repr(item).encode("utf-8"))
        h.update(b"\x1f")
    return h.hexdigest()[:20]


class Parts:
    """Per-chunk results of a stage, keyed by a digest of the chunk's inputs, settings and rules.

    A part is a folder of Parquet tables moved into place in one rename, so it is either complete or
    absent: a run killed half-way leaves the finished chunks, and the next run reuses them.
    """

    def __init__(self, work: WorkDir, stage: str):
        self.root = work.path / "parts" / stage

    def load(self, key: str) -> dict[str, pd.DataFrame] | None:
        folder = self.root / key
        if not folder.is_dir():
            return None
        try:
            return {p.stem: read_parquet(p) for p in folder.glob("*.parquet")}
        except Exception:  # a damaged part is recomputed
            return None

    def save(self, key: str, tables: dict[str, pd.DataFrame]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{key}."))
        try:
            for name, frame in tables.items():
                write_parquet(frame, tmp / f"{name}.parquet")
            os.replace(tmp, self.root / key)
        except OSError:
            if (self.root / key).is_dir():  # another run saved the same part first
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
            else:
                raise

    def keep_only(self, keys: set[str]) -> None:
        """Drop parts no longer used (the input or the rules changed)."""
        import shutil

        if self.root.is_dir():
            for folder in self.root.iterdir():
                if folder.name not in keys:
                    shutil.rmtree(folder, ignore_errors=True)


# ----- staging: a whole run lands in one swap ---------------------------------------------------
def staging_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.partial"


def recover(output: Path) -> None:
    """Undo a swap that was interrupted between its two renames."""
    old = output.parent / f".{output.name}.old"
    if old.exists() and not output.exists():
        os.replace(old, output)


def begin_staging(output: Path) -> Path:
    """The folder a run writes into.  A staging folder left by a killed run is kept (resume);
    otherwise the parts of the last finished run are linked in, so unchanged chunks are reused."""
    import shutil

    recover(output)
    staging = staging_dir(output)
    if not staging.exists():
        staging.mkdir(parents=True)
        previous = output / WORK / "parts"
        if previous.is_dir():
            def link(src, dst):
                try:
                    os.link(src, dst)
                except OSError:
                    shutil.copy2(src, dst)

            shutil.copytree(previous, staging / WORK / "parts", copy_function=link)
    return staging


def finish_staging(staging: Path, output: Path) -> None:
    """Swap the finished staging folder in place of the output folder."""
    import shutil

    old = output.parent / f".{output.name}.old"
    if old.exists():
        shutil.rmtree(old)
    keep = [p for p in output.iterdir() if p.name not in {WORK} and not _is_ours(p)] if output.exists() else []
    for path in keep:  # files of the user's own in the output folder (.gitkeep, notes) travel along
        target = staging / path.name
        if not target.exists():
            if path.is_dir():
                shutil.copytree(path, target)
            else:
                shutil.copy2(path, target)
    if output.exists():
        os.replace(output, old)
    os.replace(staging, output)
    shutil.rmtree(old, ignore_errors=True)


def _is_ours(path: Path) -> bool:
    from pipeline.io.exports import OUTPUT_FILES

    return path.name in OUTPUT_FILES
