"""Title taxonomy: a title as written → (role, portfolio).

The role is the canonical form ``titles.tsv`` gives the title's first words («مدیر کل» → «مدیرکل»,
«ریاست» → «رئیس», «معاونت» → «معاون»); the portfolio is what follows it («حراست», «اداری و مالی»,
«مشارکت‌های مردمی»).  So «مدیر کل», «مدیرکل» and «مدیرکل حراست» share the role «مدیرکل», and the last
has the portfolio «حراست».
"""

from __future__ import annotations

from functools import lru_cache

from pipeline.lexicons import lexicons

_TRAILING = {"و", "،", ","}


@lru_cache(maxsize=4096)
def parse_title(title: str) -> tuple[str, str]:
    """(role, portfolio) of a normalized title; an unknown title is its own role."""
    tokens = title.split()
    if not tokens:
        return "", ""
    lex = lexicons()
    m = lex.titles.match(tokens, 0)
    if not m:
        return title, ""
    n, role = m
    rest = tokens[n:]
    while rest and rest[-1] in _TRAILING:
        rest = rest[:-1]
    while rest and rest[0] in _TRAILING:
        rest = rest[1:]
    return str(role), " ".join(rest)
