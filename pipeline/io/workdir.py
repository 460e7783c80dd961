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
from dataclasses import fields
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
    def __init__(self, output: Path, previous: "WorkDir | None" = None):
        self.output = Path(output)
        self.path = self.output / WORK
        # the last finished run's work folder when this one is a staging folder: where unchanged groups
        # of documents are copied from
        self.previous = previous

    def table_path(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    def has(self, name: str) -> bool:
        return self.table_path(name).exists()

    def write(self, name: str, frame: pd.DataFrame) -> None:
        atomic_write_with(self.table_path(name), lambda tmp: write_parquet(frame, tmp))

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return read_parquet(self.table_path(name), columns)

    def rows(self, name: str, columns: list[str] | None = None, batch_rows: int = 2048):
        """The table's rows as dicts, streamed (never the whole table in memory)."""
        return iter_rows(self.table_path(name), columns, batch_rows)

    def writer(self, name: str, schema) -> "TableWriter":
        return TableWriter(self, name, schema)

    def grouped(self, schemas: dict) -> "GroupedTables":
        """Tables written side by side a group of documents at a time (see :class:`GroupedTables`)."""
        return GroupedTables(self, schemas)

    def cache(self, stage: str):
        """The per-article results cache of ``stage`` (``_work/cache/<stage>.sqlite``)."""
        from pipeline.io.cache import ResultCache

        return ResultCache(self.path / "cache" / f"{stage}.sqlite")

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


# ----- Parquet I/O ---------------------------------------------------------------------------------
# Arrow's thread pools can abort the interpreter at exit ("terminate called without an active
# exception", apache/arrow#34314) after a stage has written everything; our tables are small per call,
# so they are read and written on the calling thread and no pool is started.
def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns, use_threads=False, pre_buffer=False).to_pandas(use_threads=False)


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


# ----- streaming tables: written a batch at a time, read a batch at a time -----------------------------
_ARROW_TYPES = {"str": "string", "int": "int64", "float": "float64", "bool": "bool_"}


def schema_of(cls, exclude: tuple[str, ...] = ()):
    """The Arrow schema of a core record type (its dataclass annotations: str, int, list[str], list[int])."""
    import pyarrow as pa

    out = []
    for f in fields(cls):
        if f.name in exclude:
            continue
        kind = str(f.type).replace(" ", "")
        if kind.startswith("list[") and kind[5:-1] in _ARROW_TYPES:
            out.append(pa.field(f.name, pa.list_(getattr(pa, _ARROW_TYPES[kind[5:-1]])())))
        elif kind in _ARROW_TYPES:
            out.append(pa.field(f.name, getattr(pa, _ARROW_TYPES[kind])()))
        else:
            raise TypeError(f"{cls.__name__}.{f.name}: no Arrow type for {kind}")
    return pa.schema(out)


class TableWriter:
    """One work table written incrementally (a row group per batch) into a temporary file that replaces
    the table only when :meth:`close` is reached: a killed stage leaves the previous table intact."""

    def __init__(self, work: "WorkDir", name: str, schema):
        import pyarrow.parquet as pq

        self.path = work.table_path(name)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        fd, self._tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        os.close(fd)
        self._writer = pq.ParquetWriter(self._tmp, schema)
        self.rows = 0

    def write(self, rows: list[dict]) -> None:
        import pyarrow as pa

        if rows:
            self._writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))
            self.rows += len(rows)

    def write_group(self, rows) -> None:
        """Exactly one row group (empty too): rows as dicts, or an Arrow table (a group copied as it is)."""
        import pyarrow as pa

        table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=self.schema)
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        self.rows += table.num_rows

    def set_metadata(self, metadata: dict[str, str]) -> None:
        """Key-value metadata for the file's footer (written on close)."""
        self._writer.add_key_value_metadata(metadata)

    def close(self) -> None:
        self._writer.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        self._writer.close()
        if os.path.exists(self._tmp):
            os.unlink(self._tmp)

    def __enter__(self) -> "TableWriter":
        return self

    def __exit__(self, exc_type, *_rest) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ----- grouped tables: a re-run rewrites only the groups of documents that changed ------------------
GROUPS_KEY = "peyvand.groups"


def group_bounds(keys: list[str], size: int) -> list[tuple[int, int]]:
    """Split items (in corpus order) into groups of about ``size``, the boundaries chosen by the items' own
    keys (content-defined, as rsync and restic cut files): an article added or changed moves the
    boundaries of its own group only, so every other group keeps its id and is copied, not rebuilt."""
    bounds, lo = [], 0
    for k, key in enumerate(keys):
        if int(hashlib.blake2b(key.encode(), digest_size=4).hexdigest(), 16) % size == 0 or k + 1 - lo >= 4 * size:
            bounds.append((lo, k + 1))
            lo = k + 1
    if lo < len(keys):
        bounds.append((lo, len(keys)))
    return bounds


def read_groups(path: Path) -> tuple[str, list[tuple[str, dict]]] | None:
    """(generation, [(group id, info)]) of a grouped table; None when the file is missing, was not written
    by groups, or its row groups do not match its group list."""
    import pyarrow.parquet as pq

    if not path.exists():
        return None
    try:
        meta = pq.ParquetFile(path).metadata
        raw = (meta.metadata or {}).get(GROUPS_KEY.encode())
        if raw is None:
            return None
        value = json.loads(raw)
        groups = [(gid, info) for gid, info in value["groups"]]
        if meta.num_row_groups != len(groups):
            return None
        return value["generation"], groups
    except (OSError, ValueError, KeyError, TypeError):
        return None


class GroupedTables:
    """Several work tables written side by side a group of documents at a time: every group is one row
    group in each table, and the list of group ids (with a small ``info`` per group: counts, errors, cache
    keys) is in the files' footer.  A group whose id the previous version of the tables holds is copied
    from it row group by row group, never decoded into rows: a re-run rewrites only the changed groups.
    The previous version is the tables in place, or (``peyvand run`` writes into a staging folder) the
    last finished run's."""

    def __init__(self, work: "WorkDir", schemas: dict):
        self.names = list(schemas)
        self._old: dict[str, tuple] = {}  # group id → (WorkDir, row group index, info)
        for source in [work] + ([work.previous] if work.previous is not None else []):
            found = [read_groups(source.table_path(name)) for name in self.names]
            if all(found) and len({f[0] for f in found}) == 1:  # the tables were written together
                for index, (gid, info) in enumerate(found[0][1]):
                    self._old.setdefault(gid, (source, index, info))
        self._files: dict[tuple, object] = {}
        self._writers = {}
        try:
            for name, schema in schemas.items():
                self._writers[name] = work.writer(name, schema)
        except BaseException:
            self.abort()
            raise
        self.groups: list[tuple[str, dict]] = []

    def previous(self, gid: str) -> dict | None:
        """The info of a group the previous tables hold, or None."""
        found = self._old.get(gid)
        return found[2] if found else None

    def copy(self, gid: str) -> dict:
        """Copy a group from the previous tables; returns its info."""
        import pyarrow.parquet as pq

        source, index, info = self._old[gid]
        for name in self.names:
            handle = self._files.get((source.path, name))
            if handle is None:
                handle = self._files[(source.path, name)] = pq.ParquetFile(source.table_path(name), pre_buffer=False)
            self._writers[name].write_group(handle.read_row_group(index, use_threads=False))
        self.groups.append((gid, info))
        return info

    def write(self, gid: str, tables: dict[str, list[dict]], info: dict) -> None:
        for name in self.names:
            self._writers[name].write_group(tables[name])
        self.groups.append((gid, info))

    def close(self) -> None:
        generation = digest([gid for gid, _info in self.groups])
        meta = json.dumps({"generation": generation, "groups": self.groups}, ensure_ascii=False, separators=(",", ":"))
        self._files.clear()
        for writer in self._writers.values():
            writer.set_metadata({GROUPS_KEY: meta})
        for writer in self._writers.values():
            writer.close()

    def abort(self) -> None:
        self._files.clear()
        for writer in self._writers.values():
            writer.abort()

    def __enter__(self) -> "GroupedTables":
        return self

    def __exit__(self, exc_type, *_rest) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def group_row_groups(path: Path) -> list[tuple[str, list[int]]]:
    """(group id, its row groups) of a table in corpus order.  A table without a group list (written by an
    older version) is one group of all its row groups, with no id: it is never copied."""
    import pyarrow.parquet as pq

    found = read_groups(path)
    if found is not None:
        return [(gid, [index]) for index, (gid, _info) in enumerate(found[1])]
    return [("", list(range(pq.ParquetFile(path).metadata.num_row_groups)))]


def read_row_groups(path: Path, indexes: list[int], columns: list[str] | None = None) -> list[dict]:
    import pyarrow.parquet as pq

    if not indexes:
        return []
    return pq.ParquetFile(path, pre_buffer=False).read_row_groups(indexes, columns=columns, use_threads=False).to_pylist()


def iter_rows(path: Path, columns: list[str] | None = None, batch_rows: int = 2048):
    """Rows of a Parquet table as dicts, a batch at a time (only ``columns`` are read)."""
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path, pre_buffer=False)
    for batch in handle.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False):
        yield from batch.to_pylist()


class OutOfOrder(ValueError):
    """Two tables meant to be read side by side are not in the same document order."""


def side_by_side(outer, inner, key=lambda row: row["doc_id"]):
    """Each item of ``outer`` with the consecutive rows of ``inner`` that share its document: the stages
    write their tables in corpus order, so two of them are joined while streaming, never loaded."""
    inner = iter(inner)
    pending = next(inner, None)
    for item in outer:
        doc_id, own = key(item), []
        while pending is not None and pending["doc_id"] == doc_id:
            own.append(pending)
            pending = next(inner, None)
        yield item, own
    if pending is not None:
        raise OutOfOrder(f"rows of {pending['doc_id']!r} are out of the documents' order")


def by_document(rows):
    """Consecutive rows of one document, as (doc_id, rows)."""
    doc_id, group = None, []
    for row in rows:
        if row["doc_id"] != doc_id and group:
            yield doc_id, group
            group = []
        doc_id = row["doc_id"]
        group.append(row)
    if group:
        yield doc_id, group


def table_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    return list(pq.ParquetFile(path).schema_arrow.names)


# ----- staging: a whole run lands in one swap ---------------------------------------------------
def staging_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.partial"


def recover(output: Path) -> None:
    """Undo a swap that was interrupted between its two renames."""
    old = output.parent / f".{output.name}.old"
    if old.exists() and not output.exists():
        os.replace(old, output)


def begin_staging(output: Path) -> Path:
    """The folder a run writes into.  A staging folder left by a killed run is kept (resume: its cache
    holds every batch it finished); otherwise the last finished run's cache is copied in, so unchanged
    articles are not computed again.  Copied, not linked: SQLite writes its file in place."""
    import shutil

    recover(output)
    staging = staging_dir(output)
    if not staging.exists():
        staging.mkdir(parents=True)
        previous = output / WORK / "cache"
        if previous.is_dir():
            shutil.copytree(previous, staging / WORK / "cache", ignore=shutil.ignore_patterns("*-journal", "*-wal", "*-shm"))
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
