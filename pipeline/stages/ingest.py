"""ingest: input articles → normalized documents split into sentences and tokens.

requires: (the input corpus)          provides: documents, sentences
Decodes (UTF-8, UTF-16 with BOM, Windows-1256 fallback with a warning), strips page furniture,
normalizes, and takes the title, the date and the agency («به گزارش ...»).
"""

from __future__ import annotations

import logging
import re

import pandas as pd

from pipeline.core import Document, as_rows
from pipeline.dates import find_date
from pipeline.domain.rules import SentenceRules
from pipeline.furniture import strip_furniture
from pipeline.io.readers import RawArticle, iter_articles
from pipeline.lexicons import rules_version
from pipeline.normalize import normalize
from pipeline.segment import split_sentences, tokenize
from pipeline.stages import Context, Stage, StageError
from pipeline.ui import progress_iter

log = logging.getLogger("peyvand")

_AGENCY = re.compile(r"به گزارش\s+([^،,:\n.؛]{2,200})")
_HEADING = re.compile(r"^\s*(?:#+|[•▪■◾●*]+)\s*")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


class DecodeError(ValueError):
    pass


def decode(data: bytes) -> tuple[str, str]:
    """(text, warning).  Raises DecodeError with a user-facing reason."""
    if not data.strip():
        raise DecodeError("empty file")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), ""
        except UnicodeDecodeError as exc:
            raise DecodeError(f"broken UTF-16 text: {exc.reason}") from None
    head = data[:8192]
    if b"\x00" in head:
        raise DecodeError("binary file (NUL bytes), not text")
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1256", errors="replace")
    letters = len(_ARABIC_LETTER.findall(text))
    if letters < 0.2 * max(1, len(text.strip())) or text.count("\ufffd") > 0.01 * len(text):
        raise DecodeError("not UTF-8 and not Windows-1256 Persian text (binary or unknown encoding)")
    return text, "decoded as Windows-1256 (not UTF-8)"


def _title(lines: list[str]) -> str:
    for k, line in enumerate(lines[:4]):
        line = _HEADING.sub("", line).strip()
        if not line:
            continue
        if line.endswith(":") and len(line) < 100 and k + 1 < len(lines):
            continue  # a kicker («مدیرکل ستاد ... استان:») introduces the headline below it
        return line if len(line) <= 200 else ""
    return ""


def _agency(text: str) -> str:
    m = _AGENCY.search(text)
    if not m:
        return ""
    candidate = m.group(1).strip()
    tokens, starts = tokenize(candidate)
    if len(tokens) <= 8:
        return candidate
    # no comma: the agency is the organization phrase right after «به گزارش»
    rules = SentenceRules(tokens)
    for i in range(min(4, len(tokens))):
        if rules.org_start(i):
            span = rules.parse_org(i)
            if span:
                end = span.end
                return candidate[: starts[end - 1] + len(tokens[end - 1])]
    return " ".join(tokens[:8])


def ingest_article(raw: RawArticle, settings) -> tuple[Document, list[str]]:
    """One article → a Document (status error with a reason when it cannot be read) and warnings."""
    doc = Document(raw.doc_id, raw.source_path)
    warnings: list[str] = []
    if raw.error:
        doc.status, doc.error = "error", raw.error
        return doc, warnings
    try:
        if isinstance(raw.data, bytes):
            text, warning = decode(raw.data)
            if warning:
                warnings.append(warning)
        else:
            text = raw.data or ""
            if not text.strip():
                raise DecodeError("empty text")
    except DecodeError as exc:
        doc.status, doc.error = "error", str(exc)
        return doc, warnings
    if len(text) > settings.max_article_chars:
        warnings.append(f"article cut at {settings.max_article_chars} characters (had {len(text)})")
        text = text[: settings.max_article_chars]
    lines = [line for line in normalize(text).split("\n")]
    kept, removed = strip_furniture(lines)
    kept = [_HEADING.sub("", line) if _HEADING.match(line) else line for line in kept]
    # already normalized line by line: only blank-line runs left by the removed furniture to collapse
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if not body.strip():
        doc.status, doc.error = "error", "no article text (only page furniture or whitespace)"
        return doc, warnings
    doc.text = body
    body_lines = [line for line in body.split("\n") if line.strip()]
    doc.title = _title(body_lines)
    # the date: the input's own field first, then the article text, then the removed furniture lines
    # (a «تاریخ ارسال: ...» footer); site banners («امروز : ...») are dates of the page, not the article
    doc.date = raw.date.strip() if re.match(r"^\d{4}-\d{2}-\d{2}$", raw.date or "") else ""
    if not doc.date:
        banners = [line for line in removed if re.match(r"^[•\-*\s]*(امروز|برابر با)", line)]
        doc.date = find_date(body) or find_date("\n".join(x for x in removed if x not in banners))
    doc.agency = _agency(body) or raw.source
    doc.sentences = split_sentences(doc.doc_id, body, settings.max_sentence_tokens)
    doc.n_sentences = len(doc.sentences)
    return doc, warnings


class IngestStage(Stage):
    name = "ingest"
    requires = ()
    provides = ("documents", "sentences")
    settings_used = ("input", "max_article_chars", "max_sentence_tokens")

    def version(self) -> str:
        return rules_version()

    def run(self, ctx: Context) -> dict:
        settings = ctx.settings
        if settings.input is None:
            raise StageError("ingest needs an input: a folder of .txt files, a .jsonl or a .csv")
        from pipeline.io.readers import InputError

        docs, sentences, errors = [], [], []
        seen: set[str] = set()
        try:
            articles = list(iter_articles(settings.input))
        except InputError as exc:
            raise StageError(str(exc)) from None
        for raw in progress_iter(articles, "ingest", ctx.progress):
            if raw.doc_id in seen:
                raw = RawArticle(raw.doc_id, raw.source_path, None, error=f"duplicate id {raw.doc_id!r}: kept the first")
                doc, warnings = ingest_article(raw, settings)
                doc.doc_id = f"{raw.doc_id}#dup{len(docs)}"
            else:
                try:
                    doc, warnings = ingest_article(raw, settings)
                except Exception as exc:  # one bad article never stops the run
                    doc = Document(raw.doc_id, raw.source_path, status="error", error=f"ingest failed: {exc!r}")
                    warnings = []
            seen.add(raw.doc_id)
            for warning in warnings:
                log.warning("%s: %s", raw.source_path, warning)
                errors.append({"doc_id": doc.doc_id, "stage": "ingest", "error": f"warning: {warning}"})
            if doc.status == "error":
                log.warning("%s: %s", raw.source_path, doc.error)
                errors.append({"doc_id": doc.doc_id, "stage": "ingest", "error": doc.error})
            docs.append(doc)
            sentences.extend(doc.sentences)
        ok = sum(d.status == "ok" for d in docs)
        doc_rows = [{k: v for k, v in row.items() if k != "sentences"} for row in as_rows(docs)]
        ctx.work.write("documents", pd.DataFrame(doc_rows, columns=[c for c in Document.__dataclass_fields__ if c != "sentences"]))
        ctx.work.write(
            "sentences",
            pd.DataFrame(as_rows(sentences), columns=["doc_id", "sentence_id", "start", "end", "tokens", "token_starts"]),
        )
        ctx.work.set_errors(self.name, errors)
        if docs and not ok:
            raise StageError(f"no article could be read from {settings.input} ({len(docs)} failed; see errors.csv)")
        if not docs:
            raise StageError(f"no articles in {settings.input}")
        return {"documents": len(docs), "ok": ok, "errors": len(docs) - ok, "sentences": len(sentences)}
