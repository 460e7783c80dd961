"""Page furniture: the parts of a scraped page that are not the article.

Patterns live in ``data/furniture.tsv`` (regex<TAB>action): ``drop`` removes the line, ``cut`` removes it
and everything after it (a comment box or footer ends the article).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipeline.lexicons import read_pairs


@lru_cache(maxsize=1)
def _rules() -> list[tuple[re.Pattern, str]]:
    return [(re.compile(pattern), action.strip() or "drop") for pattern, action in read_pairs("furniture.tsv")]


def is_furniture(line: str) -> str:
    """'' for article text, else the action of the first matching rule."""
    for pattern, action in _rules():
        if pattern.search(line):
            return action
    return ""


def strip_furniture(lines: list[str]) -> tuple[list[str], list[str]]:
    """(kept lines, removed lines).  Lines are normalized text."""
    kept, removed = [], []
    for k, line in enumerate(lines):
        action = is_furniture(line)
        if action == "cut":
            removed.extend(lines[k:])
            break
        if action:
            removed.append(line)
        else:
            kept.append(line)
    return kept, removed
