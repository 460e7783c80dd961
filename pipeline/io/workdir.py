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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: a model worker importing this module does not import pandas
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
        """A table's folder of parts (see :class:`GroupedTables`), or its single Parquet file."""
        folder = self.path / name
        recover(folder)
        return folder if folder.is_dir() else self.path / f"{name}.parquet"

    def has(self, name: str) -> bool:
        return self.table_path(name).exists()

    def write(self, name: str, frame: pd.DataFrame) -> None:
        atomic_write_with(self.table_path(name), lambda tmp: write_parquet(frame, tmp))

    def write_arrow(self, name: str, frame: pd.DataFrame, schema) -> None:
        """A frame written with a given Arrow schema (the one the streaming writers use for the table)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False, nthreads=1)
        atomic_write_with(self.table_path(name), lambda tmp: pq.write_table(table, tmp))

    def read_json(self, name: str) -> dict:
        """A small JSON file of the work folder ({} when missing or unreadable)."""
        try:
            value = json.loads((self.path / name).read_text(encoding="utf-8"))
            return value if isinstance(value, dict) else {}
        except (OSError, ValueError):
            return {}

    def write_json(self, name: str, value: dict) -> None:
        atomic_write_text(self.path / name, json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def read(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return read_parquet(self.table_path(name), columns)

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
        if path.is_dir():  # parts are named by content: their list is the table's fingerprint
            path = path / PARTS_INDEX
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
        import pandas as pd

        if self.has("errors"):
            return self.read("errors")
        return pd.DataFrame(columns=["doc_id", "stage", "error"])

    def set_errors(self, stage: str, rows: list[dict]) -> None:
        """Replace the errors recorded by ``stage`` (a re-run of a stage replaces its own errors)."""
        import pandas as pd

        frame = self.errors()
        frame = frame[frame["stage"] != stage]
        new = pd.DataFrame(rows, columns=["doc_id", "stage", "error"])
        frame = pd.concat([frame, new], ignore_index=True) if len(new) else frame
        self.write("errors", frame.astype(str))


# ----- Parquet I/O ---------------------------------------------------------------------------------
# Arrow's thread pools can abort the interpreter at exit ("terminate called without an active
# exception", apache/arrow#34314) after a stage has written everything: Arrow is always called with
# use_threads=False, and the parts of a table are read by Python threads of our own (read_many).
def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return read_arrow(path, columns).to_pandas(use_threads=False)


def read_arrow(path: Path, columns: list[str] | None = None):
    """A table (a single file or a folder of parts, in order) as one Arrow table."""
    import pyarrow as pa

    tables = read_many([file for file, _gid, _info in table_parts(path)], columns)
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def read_many(files: list[Path], columns: list[str] | None = None) -> list:
    """Parquet files as Arrow tables, read by a few threads at once.  A table of a hundred parts read
    one by one waits on the disk a hundred times when they are not in the page cache (a day after the
    last run; ~1.5 ms a file here): the reads overlap instead (Parquet decoding releases the GIL).  The
    threads are joined before returning: no Arrow thread pool is started, none outlives the call."""
    if len(files) < 8:
        return [read_part(file, columns) for file in files]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="peyvand-read") as pool:
        return list(pool.map(lambda file: read_part(file, columns), files))


def read_part(file: Path, columns: list[str] | None = None):
    """One Parquet file as an Arrow table (``ParquetFile.read``: ``pq.read_table`` builds a dataset for
    every call, 3 ms a file, most of the time to read a hundred small parts)."""
    if columns is None and _read_ahead.active():
        found = _read_ahead.take(file)
        if found is not None:
            return found
    return _read_file(file, columns)


def _read_file(file: Path, columns: list[str] | None = None):
    import pyarrow.parquet as pq

    return pq.ParquetFile(file, pre_buffer=False).read(columns=columns, use_threads=False)


class _ReadAhead:
    """Parts of the last run's tables, read by a background thread while an earlier stage waits (``peyvand
    run``'s ner stage waits on the model most of its time; resolve then reads a hundred parts of its own
    last tables, 0.25 s of a daily re-run).  A part is found again by its file's identity (device, inode,
    size, mtime): a reused part is a hard link to the same file, and parts are never modified.  A part
    taken is dropped from memory; :meth:`clear` drops the rest at the end of a run."""

    def __init__(self):
        self.parts: dict[tuple, object] = {}
        self.thread = None

    @staticmethod
    def identity(file: Path) -> tuple | None:
        try:
            st = os.stat(file)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def start(self, folders: list[Path]) -> None:
        import threading

        files = []
        for folder in folders:
            try:
                files += [file for file, _gid, _info in table_parts(folder)] if folder.is_dir() else []
            except FileNotFoundError:
                continue

        def read_all():
            for file in files:
                key = self.identity(file)
                try:
                    table = _read_file(file)
                except Exception:  # noqa: BLE001 -- a part that cannot be read now is read (and reported) when needed
                    continue
                if key is not None:
                    self.parts[key] = table

        self.clear()
        self.thread = threading.Thread(target=read_all, name="peyvand-read-ahead", daemon=True)
        self.thread.start()

    def active(self) -> bool:
        return self.thread is not None or bool(self.parts)

    def take(self, file: Path):
        if self.thread is not None:
            self.thread.join()  # the part may be on its way
        key = self.identity(file)
        return self.parts.pop(key, None) if key is not None else None

    def clear(self) -> None:
        if self.thread is not None:
            self.thread.join()
            self.thread = None
        self.parts.clear()


_read_ahead = _ReadAhead()


def read_ahead(folders: list[Path]) -> None:
    """Start reading these table folders' parts in the background (see :class:`_ReadAhead`)."""
    _read_ahead.start(folders)


def end_read_ahead() -> None:
    _read_ahead.clear()


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


# ----- tables in parts: a re-run rewrites only the groups of documents that changed ---------------------
PARTS_INDEX = "_parts.json"  # Parquet readers skip names starting with "_": pd.read_parquet(folder) reads the parts


def group_bounds(keys: list[str], size: int) -> list[tuple[int, int]]:
    """Split items (in corpus order) into groups of about ``size``, the boundaries chosen by the items' own
    keys (content-defined, as rsync and restic cut files): an article added or changed moves the
    boundaries of its own group only, so every other group keeps its id and its part is reused."""
    bounds, lo = [], 0
    for k, key in enumerate(keys):
        if int(hashlib.blake2b(key.encode(), digest_size=4).hexdigest(), 16) % size == 0 or k + 1 - lo >= 4 * size:
            bounds.append((lo, k + 1))
            lo = k + 1
    if lo < len(keys):
        bounds.append((lo, len(keys)))
    return bounds


def read_parts_index(folder: Path) -> dict | None:
    """``{"generation": ..., "parts": [[file, group id, info], ...]}`` of a table folder, or None."""
    try:
        value = json.loads((folder / PARTS_INDEX).read_text(encoding="utf-8"))
        value["parts"] = [(str(file), str(gid), dict(info)) for file, gid, info in value["parts"]]
        return value
    except (OSError, ValueError, KeyError, TypeError):
        return None


def table_parts(path: Path) -> list[tuple[Path, str, dict]]:
    """(file, group id, info) of each part of a table, in corpus order.  A single-file table (written whole,
    or by an older version) is one part with no id: it is never reused."""
    if path.is_dir():
        index = read_parts_index(path)
        if index is None:
            raise FileNotFoundError(f"{path} has no {PARTS_INDEX}: run the stage that writes it again")
        return [(path / file, gid, info) for file, gid, info in index["parts"]]
    return [(path, "", {})]


def read_rows(file: Path, columns: list[str] | None = None) -> list[dict]:
    """The rows of one part as dicts."""
    return rows_of(read_part(file, columns))


def rows_of(table) -> list[dict]:
    """An Arrow table's rows as dicts, built column by column through numpy (``Table.to_pylist`` makes a
    scalar object per value first: several times slower)."""
    import pyarrow as pa

    names = table.column_names
    values = [column.to_pylist() if pa.types.is_list(column.type) else column.to_numpy(zero_copy_only=False).tolist()
              for column in table.columns]
    return [dict(zip(names, row)) for row in zip(*values)]


class GroupedTables:
    """Several work tables written side by side a group of documents at a time.  Each table is a folder
    with one Parquet part per group, named by the group's id (which hashes everything the group's rows
    depend on), and ``_parts.json`` listing the parts in corpus order with a small ``info`` per group
    (counts, errors, cache keys).  A group whose part the previous version of the tables holds is linked
    (a hard link: parts are never modified), not rebuilt or even read: a re-run writes only the changed
    groups.  The previous version is the tables in place or, when ``peyvand run`` writes into a staging
    folder, the last finished run's.  The new folders replace the old ones on :meth:`close`."""

    def __init__(self, work: "WorkDir", schemas: dict):
        self.schemas = schemas
        self._old: dict[str, tuple[dict[str, Path], dict]] = {}  # group id → ({table: part file}, info)
        for source in [work] + ([work.previous] if work.previous is not None else []):
            for gid, files, info in groups_together({name: source.path / name for name in schemas}) or ():
                self._old.setdefault(gid, (files, info))
        self.path = work.path
        self.path.mkdir(parents=True, exist_ok=True)
        self._new = {name: Path(tempfile.mkdtemp(dir=self.path, prefix=f".{name}.new-")) for name in schemas}
        self.groups: list[tuple[str, str, dict]] = []  # (file name, group id, info)

    def previous(self, gid: str) -> dict | None:
        """The info of a group the previous tables hold, or None."""
        found = self._old.get(gid)
        return found[1] if found else None

    def _name(self, gid: str) -> str:
        return f"{len(self.groups):06d}-{gid}.parquet"

    def copy(self, gid: str) -> dict:
        """Reuse a group's parts from the previous tables; returns its info."""
        files, info = self._old[gid]
        name = self._name(gid)
        for table, source in files.items():
            target = self._new[table] / name
            try:
                os.link(source, target)
            except OSError:  # another filesystem, or links not allowed: copy
                import shutil

                shutil.copyfile(source, target)
        self.groups.append((name, gid, info))
        return info

    def write(self, gid: str, tables: dict[str, list[dict]], info: dict) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        name = self._name(gid)
        for table, rows in tables.items():
            pq.write_table(pa.Table.from_pylist(rows, schema=self.schemas[table]), self._new[table] / name)
        self.groups.append((name, gid, info))

    def close(self) -> None:
        if not self.groups:  # a table has at least one part (empty), so its columns are known
            self.write(digest("empty"), {name: [] for name in self.schemas}, {})
        index = json.dumps({"generation": digest([gid for _n, gid, _i in self.groups]), "parts": self.groups},
                           ensure_ascii=False, separators=(",", ":"))
        for folder in self._new.values():
            atomic_write_text(folder / PARTS_INDEX, index)
        for name, folder in self._new.items():
            swap_folder(folder, self.path / name)

    def abort(self) -> None:
        import shutil

        for folder in self._new.values():
            shutil.rmtree(folder, ignore_errors=True)

    def __enter__(self) -> "GroupedTables":
        return self

    def __exit__(self, exc_type, *_rest) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def swap_in(new: Path, final: Path) -> None:
    """Put a finished folder in place of ``final``: two renames, the old folder kept aside between them
    (:func:`recover` undoes a swap interrupted there), then removed."""
    import shutil

    old = final.parent / f".{final.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def recover(final: Path) -> None:
    """Undo a :func:`swap_in` that was interrupted between its two renames."""
    old = final.parent / f".{final.name}.old"
    if old.exists() and not final.exists():
        os.replace(old, final)


def swap_folder(new: Path, final: Path) -> None:
    """A table's finished folder of parts in place of ``final``; a single-file version of it is removed."""
    swap_in(new, final)
    final.with_name(final.name + ".parquet").unlink(missing_ok=True)


class TablesOutOfStep(ValueError):
    """Tables meant to be read side by side were not written together."""


def groups_together(folders: dict[str, Path]) -> list[tuple[str, dict[str, Path], dict]] | None:
    """(group id, {table: its part}, info) of table folders written side by side by :class:`GroupedTables`,
    in corpus order; None when a folder has no index or they were not written together."""
    indexes = {name: read_parts_index(folder) for name, folder in folders.items()}
    if not all(indexes.values()) or len({index["generation"] for index in indexes.values()}) != 1:
        return None
    first = next(iter(indexes.values()))["parts"]
    return [(gid, {name: folder / file for name, folder in folders.items()}, info) for file, gid, info in first]


def side_parts(work: "WorkDir", names: list[str]) -> list[tuple[str, dict[str, Path]]]:
    """(group id, {table: its part}) of tables written side by side, in corpus order; single-file tables
    (an older version's) are one group with no id."""
    paths = {name: work.table_path(name) for name in names}
    if not all(path.is_dir() for path in paths.values()):
        return [("", paths)]
    groups = groups_together(paths)
    if groups is None:
        raise TablesOutOfStep(f"{', '.join(names)} were not written by the same run")
    return [(gid, files) for gid, files, _info in groups]


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

    return list(pq.ParquetFile(table_parts(path)[0][0]).schema_arrow.names)


# ----- staging: a whole run lands in one swap ---------------------------------------------------
def staging_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.partial"


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

    keep = [p for p in output.iterdir() if p.name not in {WORK} and not _is_ours(p)] if output.exists() else []
    for path in keep:  # files of the user's own in the output folder (.gitkeep, notes) travel along
        target = staging / path.name
        if not target.exists():
            if path.is_dir():
                shutil.copytree(path, target)
            else:
                shutil.copy2(path, target)
    swap_in(staging, output)


def _is_ours(path: Path) -> bool:
    from pipeline.io.exports import OUTPUT_FILES

    return path.name in OUTPUT_FILES
