"""Input corpora: a folder of ``.txt`` files, a ``.jsonl`` file or a ``.csv`` file with ``id`` and ``text``.

Readers never raise on a bad record: they yield it with ``error`` set, so the run records it in
``errors.csv`` and goes on with the others.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RawArticle:
    doc_id: str
    source_path: str
    data: bytes | str | None  # bytes from files (decoded by ingest), str from JSONL/CSV
    date: str = ""
    source: str = ""
    error: str = ""
    # a file not read because it is unchanged since it was last hashed: the SHA-256 of its bytes (``data``
    # is None until :func:`load` reads it, for an article that has to be processed again), and its stat
    sha256: str = ""
    stat: tuple = ()


def load(raw: RawArticle) -> RawArticle:
    """``raw`` with its bytes read (an article the folder reader only stat'ed)."""
    if raw.data is None and raw.sha256 and not raw.error:
        fresh = _read_file(Path(raw.source_path), raw.doc_id)
        raw.data, raw.error = fresh.data, fresh.error
    return raw


class InputError(Exception):
    """The input as a whole cannot be read (missing path, unknown format, missing columns)."""


def iter_articles(path: Path, known_files: dict | None = None) -> Iterator[RawArticle]:
    """The articles of ``path``.  ``known_files`` (path → (size, mtime_ns, inode, sha256, recorded_ns), as
    the ingest cache records them) lets the folder reader skip reading the files unchanged since they
    were hashed."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_dir():
        yield from _iter_folder(path, known_files or {})
    elif path.suffix.lower() == ".jsonl":
        yield from _iter_jsonl(path)
    elif path.suffix.lower() == ".csv":
        yield from _iter_csv(path)
    elif path.suffix.lower() == ".txt":
        yield _read_file(path, path.stem)
    else:
        raise InputError(f"unsupported input {path}: give a folder of .txt files, a .jsonl or a .csv")


def _read_file(path: Path, doc_id: str) -> RawArticle:
    try:
        return RawArticle(doc_id, str(path), path.read_bytes())
    except OSError as exc:
        return RawArticle(doc_id, str(path), None, error=f"cannot read file: {exc.strerror or exc}")


# a file whose mtime is this close to the moment it was hashed may have been written again within the
# clock's resolution after that (git's "racy" entries): it is read again
_RACY_NS = 2_000_000_000


def _iter_folder(folder: Path, known: dict) -> Iterator[RawArticle]:
    import stat as stat_

    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".txt":
            continue
        try:
            st = path.stat()
        except OSError:
            yield _read_file(path, path.stem)  # reports the error
            continue
        if not stat_.S_ISREG(st.st_mode):
            continue
        mark = (st.st_size, st.st_mtime_ns, st.st_ino)
        seen = known.get(str(path))
        if seen is not None and tuple(seen[:3]) == mark and st.st_mtime_ns < seen[4] - _RACY_NS:
            yield RawArticle(path.stem, str(path), None, sha256=seen[3], stat=mark)  # unchanged: not read
            continue
        article = _read_file(path, path.stem)
        article.stat = mark
        yield article


def _row_article(row: dict, where: str, source_path: str) -> RawArticle:
    doc_id = str(row.get("id") or "").strip()
    text = row.get("text")
    if not doc_id:
        return RawArticle(where, source_path, None, error="record has no id")
    if text is None or not isinstance(text, str):
        return RawArticle(doc_id, source_path, None, error="record has no text")
    return RawArticle(doc_id, source_path, text, str(row.get("date") or ""), str(row.get("source") or ""))


def _iter_jsonl(path: Path) -> Iterator[RawArticle]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            where = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
                if not isinstance(row, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError) as exc:
                yield RawArticle(where, where, None, error=f"broken JSON line: {exc}")
                continue
            yield _row_article(row, where, where)


def _iter_csv(path: Path) -> Iterator[RawArticle]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open(encoding="utf-8-sig", newline="", errors="replace") as handle:
        reader = csv.DictReader(handle)
        fields = set(reader.fieldnames or [])
        if not {"id", "text"} <= fields:
            raise InputError(f"{path}: CSV needs the columns id and text (found: {', '.join(sorted(fields)) or 'none'})")
        for number, row in enumerate(reader, 2):
            where = f"{path}:{number}"
            if None in row:  # more cells than header columns
                yield RawArticle(str(row.get("id") or where), where, None, error="broken CSV row: extra cells")
                continue
            yield _row_article(row, where, where)
