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

_SCHEMA = "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value BLOB NOT NULL, used REAL NOT NULL)"
_BATCH = 500  # keys per SELECT (SQLite's variable limit is 32,766; smaller statements stay fast)


def encode(value) -> bytes:
    return zlib.compress(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 1)


def decode(blob: bytes):
    return json.loads(zlib.decompress(blob).decode("utf-8"))


class ResultCache:
    """``key → value`` for one stage.  ``used`` marks the keys of the current run; :meth:`prune` drops the
    rest at the end of a finished run, so the cache follows the corpus instead of growing forever."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        try:
            self._db.execute(_SCHEMA)
            self._db.commit()
        except sqlite3.DatabaseError:  # a damaged cache file is a cache miss, not a failed run
            self._db.close()
            self.path.unlink(missing_ok=True)
            self._db = sqlite3.connect(self.path, timeout=60)
            self._db.execute(_SCHEMA)
            self._db.commit()
        self._stamp = time.time()

    def _select(self, columns: str, keys: Iterable[str]):
        """Rows of ``keys`` present in the cache, a bounded batch of keys per statement."""
        keys = list(dict.fromkeys(keys))
        for lo in range(0, len(keys), _BATCH):
            batch = keys[lo : lo + _BATCH]
            yield from self._db.execute(f"SELECT {columns} FROM results WHERE key IN ({','.join('?' * len(batch))})", batch)

    def _mark_used(self, keys) -> None:
        # not committed here: the next batch stored (or prune, or close) commits the marks with it; a mark
        # lost to a crash only keeps an entry one run longer
        if keys:
            self._db.executemany("UPDATE results SET used = ? WHERE key = ?", [(self._stamp, k) for k in keys])

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

    def touch(self, keys: Iterable[str]) -> None:
        """Mark ``keys`` used by this run without reading them (results reused as a whole group)."""
        self._mark_used(list(keys))

    def put_many(self, items: dict[str, object]) -> None:
        """Store a batch in one transaction: after a crash it is there entirely or not at all."""
        if not items:
            return
        rows = [(key, encode(value), self._stamp) for key, value in items.items()]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO results (key, value, used) VALUES (?, ?, ?)", rows)

    def put_encoded(self, items: dict[str, bytes]) -> None:
        """Like :meth:`put_many` for values already passed through :func:`encode` (by the worker that
        computed them: the encoding then runs in parallel, and less crosses the process boundary)."""
        if not items:
            return
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO results (key, value, used) VALUES (?, ?, ?)",
                                 [(key, blob, self._stamp) for key, blob in items.items()])

    def prune(self) -> int:
        """Drop the entries this run did not use (articles removed, rules or model changed)."""
        with self._db:
            dropped = self._db.execute("DELETE FROM results WHERE used < ?", (self._stamp,)).rowcount
        if dropped:
            self._db.execute("VACUUM")
        return dropped

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        self._db.commit()
        self._db.close()

    def __enter__(self) -> "ResultCache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
