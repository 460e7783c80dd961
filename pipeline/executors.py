"""Where a stage's independent jobs run: in this process, in N local processes (``--workers N``), or on a
Dask distributed cluster (``--executor dask --scheduler ADDRESS``).

Every executor offers one operation, :meth:`Executor.map`: ``fn(item)`` for each item, results in input
order (so outputs never depend on where jobs ran), with at most a small window of jobs in flight (so a
corpus is never all in memory, and a slow consumer holds the producers back).  A job's ``initializer``
runs once per process before its first job (the ner stage loads its model there, once per worker).
Local processes are started with ``spawn``: torch and hazm hold threads that ``fork`` would copy half-alive.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger("peyvand")

_STATE: dict[str, Any] = {}  # per-process state set by an initializer (e.g. the loaded NER model)
_STATE_LOCK = threading.Lock()
EXECUTORS = ("local", "dask")


def worker_state() -> dict[str, Any]:
    return _STATE


def _set_torch_threads(threads: int) -> None:
    try:
        import torch

        torch.set_num_threads(threads)  # N workers share the cores instead of each taking all of them
    except ImportError:
        pass


def tune_gc() -> None:
    """Collect cyclic garbage less often.  The stages allocate millions of small, acyclic objects (rows,
    tokens, spans) beside large long-lived ones (the lexicons, hazm's word lists); with Python's default
    threshold (700 allocations) every full collection walks all of them again, about a second of a
    daily re-run.  Memory stays bounded: reference counting frees everything that is not a cycle.  Set in
    the CLI's process only: the model's processes make cyclic stanza Documents by the thousand."""
    import gc

    gc.set_threshold(50_000, 20, 100)


def _init_local(initializer: Callable | None, initargs: tuple, threads: int) -> None:
    # not tune_gc() here: stanza's Documents are cycles (sentences and tokens point back at them), and a
    # model process collecting rarely grew by ~150 MB over 10,000 articles
    _set_torch_threads(threads)
    if initializer is not None:
        initializer(*initargs)


def _ensure_initialized(initializer: Callable | None, initargs: tuple) -> None:
    """Run ``initializer(*initargs)`` once per process (Dask workers have no pool initializer)."""
    if initializer is None:
        return
    token = (getattr(initializer, "__module__", ""), getattr(initializer, "__qualname__", ""), repr(initargs))
    with _STATE_LOCK:
        if _STATE.get("_initialized") != token:
            initializer(*initargs)
            _STATE["_initialized"] = token


def _call_initialized(fn: Callable, initializer: Callable | None, initargs: tuple, item):
    _ensure_initialized(initializer, initargs)
    return fn(item)


def batched(items: Iterable, size: int) -> Iterator[list]:
    """Consecutive lists of ``size`` items (the last one shorter): the unit a stage reads, sends and writes."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _peek(items: Iterable) -> Iterator | None:
    """``items`` as an iterator, or None when it is empty (so no pool starts and no model loads for nothing)."""
    import itertools

    it = iter(items)
    for first in it:
        return itertools.chain([first], it)
    return None


def _ordered(submit: Callable, items: Iterable, window: int) -> Iterator:
    pending: deque = deque()
    for item in items:
        pending.append(submit(item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class Executor:
    name = "inline"
    workers = 1
    started = False  # processes already running (LocalProcesses.start)

    def map(self, fn: Callable, items: Iterable, initializer: Callable | None = None, initargs: tuple = ()) -> Iterator:
        items = _peek(items)
        if items is None:
            return
        _ensure_initialized(initializer, initargs)
        for item in items:
            yield fn(item)

    def close(self) -> None:
        pass

    def describe(self) -> str:
        return "this process"


def _noop() -> None:
    return None


class LocalProcesses(Executor):
    """``workers`` spawned processes on this machine: a pool per :meth:`map`, or the pool :meth:`start`
    started ahead (its initializer, e.g. loading the model, then runs while this process does other work)."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = None
        self._pool_init: tuple | None = None
        self._used = False  # a map ran on the pool started ahead

    def _new_pool(self, initializer, initargs):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, (os.cpu_count() or 1) // self.workers)
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_local,
                                   initargs=(initializer, initargs, threads))

    def start(self, initializer: Callable | None = None, initargs: tuple = ()) -> None:
        """Start the processes now; a later :meth:`map` with the same initializer uses them."""
        if self._pool is None:
            self._pool, self._pool_init = self._new_pool(initializer, initargs), (initializer, initargs)
            self.started = True
            for _ in range(self.workers):  # a pool starts a process per waiting job: start them all now
                self._pool.submit(_noop)

    def map(self, fn, items, initializer=None, initargs=()):
        items = _peek(items)
        if items is None:
            return
        if self._pool is not None and self._pool_init == (initializer, initargs):
            self._used = True
            yield from _ordered(lambda item: self._pool.submit(fn, item), items, 2 * self.workers)
            return
        with self._new_pool(initializer, initargs) as pool:
            yield from _ordered(lambda item: pool.submit(fn, item), items, 2 * self.workers)

    def close(self) -> None:
        if self._pool is not None:
            if not self._used:
                # started ahead and never needed (every document was cached): stop the processes rather
                # than wait for them to finish loading a model nobody will use
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.terminate()
                self._pool.shutdown(wait=False, cancel_futures=True)
            else:
                # not waited for: a process that has finished its jobs takes half a second to tear torch
                # down, and nothing depends on it any more (its memory goes back when it exits)
                self._pool.shutdown(wait=False)
            self._pool, self.started, self._used = None, False, False

    def describe(self) -> str:
        return f"{self.workers} local process{'es' if self.workers > 1 else ''}"


class DaskCluster(Executor):
    """Jobs on a Dask distributed cluster: the scheduler at ``address``, or a LocalCluster of ``workers``
    processes when no address is given.  Workers need the ``pipeline`` package installed and the model
    folder at the same path (a shared filesystem); the input is read and the outputs written here."""

    name = "dask"

    def __init__(self, address: str | None, workers: int = 1):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RuntimeError(
                "--executor dask needs Dask distributed: pip install 'peyvand[dask]' (or 'dask[distributed]')"
            ) from None
        self._cluster = None
        if address:
            self.client = Client(address, timeout="30s")
        else:
            self._cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster)
        self.address = address or self._cluster.scheduler_address
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, fn, items, initializer=None, initargs=()):
        items = _peek(items)
        if items is None:
            return

        def submit(item):
            return self.client.submit(_call_initialized, fn, initializer, initargs, item, pure=False)

        yield from _ordered(submit, items, 2 * self.workers)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def describe(self) -> str:
        return f"Dask cluster at {self.address} ({self.workers} workers)"


def make_executor(executor: str = "local", workers: int = 1, scheduler: str | None = None) -> Executor:
    if executor == "dask":
        return DaskCluster(scheduler, workers)
    if executor != "local":
        raise ValueError(f"unknown executor {executor!r}: use {' or '.join(EXECUTORS)}")
    if scheduler:
        raise ValueError("--scheduler needs --executor dask")
    return LocalProcesses(workers) if workers > 1 else Executor()
