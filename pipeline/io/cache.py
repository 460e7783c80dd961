"""Per-article results cache: one SQLite file per stage in ``<output>/_work/cache/``.

A stage's result for one article is stored under a key that hashes everything the result depends on
(the article's bytes or normalized text, the model, the rules' version, the stage's settings), so a re-run
computes only new or changed articles and a changed rule misses exactly the stages that read it.

Why SQLite: lookups by key without loading the cache, one transaction per batch (a killed run leaves
every batch it finished, and the next run resumes from there), and nothing to install.  Values are
JSON (zlib-compressed): plain rows of strings, numbers and lists, readable by any tool, never pickles.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

_SCHEMA = ("CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value BLOB NOT NULL, used REAL NOT NULL);"
           # the input files' stat and hash as last read (ingest: an unchanged file is not read again)
           "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, inode INTEGER,"
           " sha256 TEXT, recorded_ns INTEGER)")
_BATCH = 500  # keys per SELECT (SQLite's variable limit is 32,766; smaller statements stay fast)


def encode(value) -> bytes:
    return zlib.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 1)


def decode(blob: bytes):
    return json.loads(zlib.decompress(blob).decode("utf-8"))


class ResultCache:
    """``key → value`` for one stage.  The keys the current run looked up, stored or touched are
    remembered (in memory: marking rows costs a write per key, 0.15 s for 10,000); :meth:`prune` drops
    the rest at the end of a finished run, so the cache follows the corpus instead of growing forever.
    A killed run never prunes: the next one resumes from everything stored."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        try:
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError:  # a damaged cache file is a cache miss, not a failed run
            self._db.close()
            self.path.unlink(missing_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.executescript(_SCHEMA)
            self._db.commit()
        self._stamp = time.time()
        self._used: set[str] = set()

    def _select(self, columns: str, keys: Iterable[str]):
        """Rows of ``keys`` present in the cache, a bounded batch of keys per statement."""
        keys = list(dict.fromkeys(keys))
        for lo in range(0, len(keys), _BATCH):
            batch = keys[lo : lo + _BATCH]
            yield from self._db.execute(f"SELECT {columns} FROM results WHERE key IN ({','.join('?' * len(batch))})", batch)

    def _mark_used(self, keys) -> None:
        self._used.update(keys)

    def get_many(self, keys: Iterable[str]) -> dict[str, object]:
        """The cached values of ``keys`` (missing keys are absent); marks them used by this run."""
        found: dict[str, object] = {}
        for key, blob in self._select("key, value", keys):
            try:
                found[key] = decode(blob)
            except (zlib.error, ValueError):  # a damaged entry is recomputed
                continue
        self._mark_used(found)
        return found

    def has_many(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are cached (without reading their values); marks them used."""
        found = {key for (key,) in self._select("key", keys)}
        self._mark_used(found)
        return found

    def known_files(self) -> dict[str, tuple]:
        """path → (size, mtime_ns, inode, sha256, recorded_ns) of the input files as last hashed."""
        return {row[0]: row[1:] for row in self._db.execute("SELECT path, size, mtime_ns, inode, sha256, recorded_ns FROM files")}

    def set_known_files(self, rows: dict[str, tuple], known: dict[str, tuple] | None = None) -> None:
        """Replace the file records with ``rows`` (path → (size, mtime_ns, inode, sha256, recorded_ns)).
        ``known``: the records as :meth:`known_files` read them this run; only the differences are written
        (a daily re-run changes a hundred records of ten thousand)."""
        with self._db:
            if known is None:
                self._db.execute("DELETE FROM files")
                changed = rows
            else:
                self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in known if p not in rows])
                changed = {p: v for p, v in rows.items() if known.get(p) != tuple(v)}
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)", [(p, *v) for p, v in changed.items()])

    def touch(self, keys: Iterable[str]) -> None:
        """Mark ``keys`` used by this run without reading them (results reused as a whole group)."""
        self._mark_used(list(keys))

    def put_many(self, items: dict[str, object]) -> None:
        """Store a batch in one transaction: after a crash it is there entirely or not at all."""
        if not items:
            return
        rows = [(key, encode(value), self._stamp) for key, value in items.items()]
        self._mark_used(items)
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO results (key, value, used) VALUES (?, ?, ?)", rows)

    def put_encoded(self, items: dict[str, bytes]) -> None:
        """Like :meth:`put_many` for values already passed through :func:`encode` (by the worker that
        computed them: the encoding then runs in parallel, and less crosses the process boundary)."""
        if not items:
            return
        self._mark_used(items)
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO results (key, value, used) VALUES (?, ?, ?)",
                                 [(key, blob, self._stamp) for key, blob in items.items()])

    def prune(self) -> int:
        """Drop the entries this run did not use (articles removed, rules or model changed)."""
        with self._db:
            self._db.execute("CREATE TEMP TABLE IF NOT EXISTS kept (key TEXT PRIMARY KEY)")
            self._db.execute("DELETE FROM kept")
            self._db.executemany("INSERT OR IGNORE INTO kept VALUES (?)", ((key,) for key in self._used))
            dropped = self._db.execute("DELETE FROM results WHERE key NOT IN (SELECT key FROM kept)").rowcount
        if dropped:
            self._db.execute("VACUUM")
        return dropped

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "ResultCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
