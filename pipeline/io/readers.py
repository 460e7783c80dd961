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


class InputError(Exception):
    """The input as a whole cannot be read (missing path, unknown format, missing columns)."""


def iter_articles(path: Path) -> Iterator[RawArticle]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"input not found: {path}")
    if path.is_dir():
        yield from _iter_folder(path)
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


def _iter_folder(folder: Path) -> Iterator[RawArticle]:
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() == ".txt":
            yield _read_file(path, path.stem)


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
