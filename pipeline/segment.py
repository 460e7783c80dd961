"""Sentence splitting and word tokenization with character offsets into the normalized text.

hazm's tokenizers do the linguistic work; this module keeps the offsets honest.  One
:class:`hazm.WordTokenizer` (the normalizer's) serves the whole process.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pipeline.core import Sentence

_MARKS = {"ره", "عج", "ع", "س", "ص", "رض", "قده"}
_FALLBACK_TOKEN = re.compile(r"\(\s*(?:ره|عج|ع|س|ص|رض|قده)\s*\)|[\w\u200c]+(?:[.@/:][\w\u200c]+)*|[^\s\w]", re.UNICODE)


def word_tokenizer():
    from pipeline.normalize import hazm_word_tokenizer

    # join_verb_parts=False: joining would glue «می بایست» into one altered token; we keep the text as it
    # is.  The normalizer's tokenizer has exactly that setting: one word list per process, not two.
    return hazm_word_tokenizer()


@lru_cache(maxsize=1)
def _sentence_tokenizer():
    from pipeline.normalize import import_hazm

    return import_hazm().SentenceTokenizer()


def tokenize(text: str, offset: int = 0) -> tuple[list[str], list[int]]:
    """Tokens of ``text`` and their start offsets (plus ``offset``).  «( ره )» becomes one token «(ره)»."""
    raw = word_tokenizer().tokenize(text)
    tokens: list[str] = []
    starts: list[int] = []
    cursor = 0
    for token in raw:
        at = text.find(token, cursor)
        if at < 0:  # hazm changed the token: fall back to a plain split that keeps offsets exact
            return _fallback(text, offset)
        tokens.append(token)
        starts.append(at)
        cursor = at + len(token)
    return _merge_marks(text, tokens, starts, offset)


def _fallback(text: str, offset: int) -> tuple[list[str], list[int]]:
    tokens, starts = [], []
    for m in _FALLBACK_TOKEN.finditer(text):
        tokens.append(m.group(0))
        starts.append(m.start())
    return _merge_marks(text, tokens, starts, offset)


def _merge_marks(text: str, tokens: list[str], starts: list[int], offset: int) -> tuple[list[str], list[int]]:
    out_tokens: list[str] = []
    out_starts: list[int] = []
    i = 0
    while i < len(tokens):
        if tokens[i] == "(" and i + 2 < len(tokens) and tokens[i + 1] in _MARKS and tokens[i + 2] == ")":
            end = starts[i + 2] + 1
            out_tokens.append(text[starts[i]:end])
            out_starts.append(starts[i] + offset)
            i += 3
            continue
        out_tokens.append(tokens[i])
        out_starts.append(starts[i] + offset)
        i += 1
    return out_tokens, out_starts


def split_sentences(doc_id: str, text: str, max_tokens: int = 200, cuts: list[int] | None = None) -> list[Sentence]:
    """Sentences of a normalized document: paragraphs (lines) first, then hazm's sentence splitter.

    A sentence longer than ``max_tokens`` is cut into pieces so one run-on paragraph cannot blow up the
    tagger's batch; the lengths of the cut ones are appended to ``cuts``.
    """
    sentences: list[Sentence] = []
    line_start = 0
    for line_no, line in enumerate(text.split("\n")):
        if line.strip():
            cursor = 0
            for piece in _sentence_tokenizer().tokenize(line):
                piece = piece.strip()
                if not piece:
                    continue
                at = line.find(piece, cursor)
                if at < 0:
                    at = cursor
                cursor = at + len(piece)
                start = line_start + at
                tokens, starts = tokenize(text[start : start + len(piece)], start)
                if len(tokens) > max_tokens and cuts is not None:
                    cuts.append(len(tokens))
                for lo in range(0, max(len(tokens), 1), max_tokens):
                    chunk_tokens = tokens[lo : lo + max_tokens]
                    chunk_starts = starts[lo : lo + max_tokens]
                    if not chunk_tokens:
                        continue
                    end = chunk_starts[-1] + len(chunk_tokens[-1])
                    sentences.append(
                        Sentence(doc_id, len(sentences), chunk_starts[0], end, chunk_tokens, chunk_starts, line_no)
                    )
        line_start += len(line) + 1
    return sentences
