"""Running a stage's independent chunks in worker processes (``--workers N``).

A chunk (a group of articles) is the unit of caching; chunks that are not cached are handed to a pool
of ``N`` processes, each set up once by an initializer (the ner stage loads its model there, once per
worker, not per chunk).  Results come back in input order, so the outputs do not depend on ``N``.
Processes are started with ``spawn``: torch and hazm hold threads that ``fork`` would copy half-alive.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_STATE: dict[str, Any] = {}  # per-process state set by an initializer (e.g. the loaded NER model)


def worker_state() -> dict[str, Any]:
    return _STATE


def _init(initializer: Callable | None, initargs: tuple, threads: int) -> None:
    try:
        import torch

        torch.set_num_threads(threads)  # N workers share the cores instead of each taking all of them
    except ImportError:
        pass
    if initializer is not None:
        initializer(*initargs)


def map_ordered(
    fn: Callable, items: Iterable, workers: int = 1, initializer: Callable | None = None, initargs: tuple = ()
) -> Iterator:
    """``fn(item)`` for every item, in order: in this process when ``workers`` ≤ 1, else in a pool."""
    items = list(items)
    if not items:
        return
    if workers <= 1 or len(items) <= 1:
        if initializer is not None:
            initializer(*initargs)
        for item in items:
            yield fn(item)
        return
    workers = min(workers, len(items))
    threads = max(1, (os.cpu_count() or 1) // workers)
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init, initargs=(initializer, initargs, threads)) as pool:
        yield from pool.imap(fn, items, chunksize=1)
