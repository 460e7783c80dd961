"""Console helpers: progress bars (rich) that stay quiet when not wanted."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def progress_iter(items: Iterable[T], label: str, enabled: bool = True, total: int | None = None) -> Iterator[T]:
    if not enabled:
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=f"{label:8}", total=total, transient=True)
