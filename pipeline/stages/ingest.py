"""ingest: input articles → normalized documents split into sentences and tokens.

requires: (the input corpus)          provides: documents, sentences
Decodes (UTF-8, UTF-16 with BOM, Windows-1256 fallback with a warning), strips page furniture,
normalizes, and takes the title, the date and the agency («به گزارش ...»).
"""

from __future__ import annotations

import logging
import re
from functools import partial

import pandas as pd

from pipeline.core import Document, as_rows
from pipeline.dates import find_date
from pipeline.domain.rules import SentenceRules
from pipeline.furniture import strip_furniture
from pipeline.io.readers import RawArticle, iter_articles
from pipeline.io.workdir import Parts, digest
from pipeline.lexicons import rules_version
from pipeline.normalize import normalize
from pipeline.segment import split_sentences, tokenize
from pipeline.stages import Context, Stage, StageError
from pipeline.ui import progress_iter
from pipeline.workers import map_ordered

log = logging.getLogger("peyvand")

_AGENCY = re.compile(r"به گزارش\s+([^،,:\n.؛]{2,200})")
_HEADING = re.compile(r"^\s*(?:#+|[•▪■◾●*]+)\s*")
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")


class DecodeError(ValueError):
    pass


_HTML_HINT = re.compile(r"<(?:p|div|br|span|html|body|a|h[1-6]|li|ul|table|td|tr|strong|b|i|img|meta)\b[^>]*>", re.I)
_HTML_DROP = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>|<!--.*?-->", re.I | re.S)
_HTML_BREAK = re.compile(r"<\s*(?:br|/p|/div|/h[1-6]|/li|/tr|/title)\s*/?\s*>", re.I)
_HTML_TAG = re.compile(r"<[^>]{0,2000}>")


def strip_html(text: str) -> tuple[str, bool]:
    """Text of an HTML page or fragment (tags out, entities decoded); (text, was_html)."""
    if not _HTML_HINT.search(text):
        return text, False
    import html

    text = _HTML_DROP.sub(" ", text)
    text = _HTML_BREAK.sub("\n", text)
    text = _HTML_TAG.sub(" ", text)
    return html.unescape(text), True


def decode(data: bytes) -> tuple[str, str]:
    """(text, warning).  Raises DecodeError with a user-facing reason."""
    if not data.strip():
        raise DecodeError("empty file")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), ""
        except UnicodeDecodeError as exc:
            raise DecodeError(f"broken UTF-16 text: {exc.reason}") from None
    try:
        text, warning = data.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        text = data.decode("cp1256", errors="replace")
        letters = len(_ARABIC_LETTER.findall(text))
        if letters < 0.2 * max(1, len(text.strip())) or text.count("\ufffd") > 0.01 * len(text):
            raise DecodeError("not UTF-8 and not Windows-1256 Persian text (binary or unknown encoding)") from None
        warning = "decoded as Windows-1256 (not UTF-8)"
    # a few stray control characters are text with noise (normalize removes them); many are a binary file
    controls = len(_CONTROL.findall(text))
    if controls > 0.05 * len(text):
        raise DecodeError(f"binary file ({controls} control characters), not text")
    return text, warning


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
    text, was_html = strip_html(text)
    if was_html:
        warnings.append("HTML markup removed")
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
    cuts: list[int] = []
    doc.sentences = split_sentences(doc.doc_id, body, settings.max_sentence_tokens, cuts)
    doc.n_sentences = len(doc.sentences)
    if cuts:
        warnings.append(
            f"{len(cuts)} sentence(s) longer than {settings.max_sentence_tokens} tokens split (longest {max(cuts)} tokens)"
        )
    return doc, warnings


def _chunk_key(version: str, settings: dict, chunk: list[RawArticle]) -> str:
    items = []
    for a in chunk:
        data = a.data.encode("utf-8", "surrogatepass") if isinstance(a.data, str) else (a.data or b"")
        items.append((a.doc_id, a.source_path, a.error, a.date, a.source, digest(data)))
    return digest(version, sorted(settings.items()), items)


def ingest_chunk(chunk: list[RawArticle], settings) -> dict[str, pd.DataFrame]:
    docs, sentences, errors = [], [], []
    for raw in chunk:
        try:
            doc, warnings = ingest_article(raw, settings)
        except Exception as exc:  # one bad article never stops the run
            doc = Document(raw.doc_id, raw.source_path, status="error", error=f"ingest failed: {exc!r}")
            warnings = []
        for warning in warnings:
            log.warning("%s: %s", raw.source_path, warning)
            errors.append({"doc_id": doc.doc_id, "stage": "ingest", "error": f"warning: {warning}"})
        if doc.status == "error":
            log.warning("%s: %s", raw.source_path, doc.error)
            errors.append({"doc_id": doc.doc_id, "stage": "ingest", "error": doc.error})
        docs.append(doc)
        sentences.extend(doc.sentences)
    doc_rows = [{k: v for k, v in row.items() if k != "sentences"} for row in as_rows(docs)]
    return {
        "documents": pd.DataFrame(doc_rows, columns=DOCUMENT_COLUMNS),
        "sentences": pd.DataFrame(as_rows(sentences), columns=SENTENCE_COLUMNS),
        "errors": pd.DataFrame(errors, columns=["doc_id", "stage", "error"]),
    }


DOCUMENT_COLUMNS = [c for c in Document.__dataclass_fields__ if c != "sentences"]
SENTENCE_COLUMNS = ["doc_id", "sentence_id", "start", "end", "tokens", "token_starts"]


def mark_duplicates(articles: list[RawArticle]) -> list[RawArticle]:
    seen: set[str] = set()
    out = []
    for k, raw in enumerate(articles):
        if raw.doc_id in seen:
            raw = RawArticle(f"{raw.doc_id}#dup{k}", raw.source_path, None, error=f"duplicate id {raw.doc_id!r}: the first one is kept")
        seen.add(raw.doc_id)
        out.append(raw)
    return out


class IngestStage(Stage):
    name = "ingest"
    requires = ()
    provides = ("documents", "sentences")
    settings_used = ("input", "max_article_chars", "max_sentence_tokens")

    def version(self) -> str:
        return rules_version()

    def run(self, ctx: Context) -> dict:
        from pipeline.io.readers import InputError

        settings = ctx.settings
        if settings.input is None:
            raise StageError("ingest needs an input: a folder of .txt files, a .jsonl or a .csv")
        try:
            articles = mark_duplicates(list(iter_articles(settings.input)))
        except InputError as exc:
            raise StageError(str(exc)) from None
        if not articles:
            raise StageError(f"no articles in {settings.input} (expected .txt files, or a .jsonl / .csv with id and text)")
        used = {k: str(v) for k, v in settings.describe().items() if k in self.settings_used and k != "input"}
        parts = Parts(ctx.work, self.name)
        tables: dict[str, list[pd.DataFrame]] = {"documents": [], "sentences": [], "errors": []}
        size = max(1, settings.chunk_size)
        chunks = [articles[i : i + size] for i in range(0, len(articles), size)]
        chunk_keys = [_chunk_key(self.version(), used, chunk) for chunk in chunks]
        keys = set(chunk_keys)
        done = {key: part for key in keys if (part := parts.load(key)) is not None}
        reused = len(done)
        missing = [(key, chunk) for key, chunk in zip(chunk_keys, chunks) if key not in done]
        # uncached chunks, in N processes with --workers N; each part is saved as it arrives (resume)
        results = map_ordered(partial(ingest_chunk, settings=settings), [c for _k, c in missing], settings.workers)
        for (key, _chunk), part in zip(missing, progress_iter(results, "ingest", ctx.progress, total=len(missing))):
            parts.save(key, part)
            done[key] = part
        for key in chunk_keys:
            for name in tables:
                tables[name].append(done[key][name])
        parts.keep_only(keys)
        documents = pd.concat(tables["documents"], ignore_index=True)
        ctx.work.write("documents", documents)
        ctx.work.write("sentences", pd.concat(tables["sentences"], ignore_index=True))
        errors = pd.concat(tables["errors"], ignore_index=True)
        ctx.work.set_errors(self.name, errors.to_dict("records"))
        ok = int((documents["status"] == "ok").sum())
        if not ok:
            raise StageError(f"no article could be read from {settings.input} ({len(documents)} failed; see errors.csv)")
        return {"documents": len(documents), "ok": ok, "errors": len(documents) - ok, "chunks": len(chunks), "reused": reused}
