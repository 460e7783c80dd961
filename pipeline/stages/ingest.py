"""ingest: input articles → normalized documents split into sentences and tokens.

requires: (the input corpus)          provides: documents, sentences
Decodes (UTF-8, UTF-16 with BOM, Windows-1256 fallback with a warning), strips page furniture,
normalizes, and takes the title, the date and the agency («به گزارش ...»).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable, Iterator

from pipeline.core import Document, Sentence, as_rows
from pipeline.dates import find_date
from pipeline.domain.rules import SentenceRules
from pipeline.furniture import strip_furniture
from pipeline.executors import batched
from pipeline.io.readers import RawArticle, iter_articles, load
from pipeline.io.workdir import digest, group_bounds, schema_of
from pipeline.lexicons import rules_version
from pipeline.normalize import normalize, release_hazm
from pipeline.segment import split_sentences, tokenize
from pipeline.stages import Context, Stage, StageError
from pipeline.ui import progress_iter

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


def ingest_article(raw: RawArticle, settings, agency: bool = True) -> tuple[Document, list[str]]:
    """One article → a Document (status error with a reason when it cannot be read) and warnings.
    ``agency=False`` leaves the text's agency to :func:`with_agency` (the stage caches what comes before)."""
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
    doc.agency = raw.source
    if agency:
        doc.agency = _agency(doc.text) or doc.agency
    cuts: list[int] = []
    doc.sentences = split_sentences(doc.doc_id, body, settings.max_sentence_tokens, cuts)
    doc.n_sentences = len(doc.sentences)
    if cuts:
        warnings.append(
            f"{len(cuts)} sentence(s) longer than {settings.max_sentence_tokens} tokens split (longest {max(cuts)} tokens)"
        )
    return doc, warnings


def content_sha256(raw: RawArticle) -> str:
    """SHA-256 of an article's bytes (known without reading them when its file is unchanged)."""
    if raw.data is None and raw.sha256:
        return raw.sha256
    data = raw.data.encode("utf-8", "surrogatepass") if isinstance(raw.data, str) else (raw.data or b"")
    return hashlib.sha256(data).hexdigest()


def article_key(context: str, raw: RawArticle, sha256: str | None = None) -> str:
    """The cache key of one article's ingest result: its bytes, its metadata and ``context`` (the digest of
    the code, the normalizer's data files and the settings, computed once per run).  Not its path: a corpus
    moved or a JSONL with lines inserted still hits (the path is set on reading)."""
    return digest(context, raw.doc_id, raw.error, raw.date, raw.source, sha256 or content_sha256(raw))


def text_version() -> str:
    """What the cached part of ingest depends on: the code and the normalizer's and furniture's data
    files.  Not the other rules: the agency is taken with them when the tables are written, so an
    edited title or gazetteer entry does not re-normalize the corpus."""
    from pipeline.lexicons import code_version, data_dir

    return digest(code_version(), *[(data_dir() / name).read_bytes() for name in ("spelling.tsv", "furniture.tsv")])


def with_agency(document: dict) -> dict:
    """The agency from the «به گزارش ...» of the text (the domain layer cuts it), else the input's field."""
    if document["status"] == "ok":
        document["agency"] = _agency(document["text"]) or document["agency"]
    return document



def ingest_one(raw: RawArticle, settings) -> dict:
    """One article's result as plain rows: {"document": row, "sentences": [rows], "errors": [rows]}."""
    try:
        doc, warnings = ingest_article(raw, settings, agency=False)
    except Exception as exc:  # one bad article never stops the run
        doc = Document(raw.doc_id, raw.source_path, status="error", error=f"ingest failed: {exc!r}")
        warnings = []
    errors = [{"doc_id": doc.doc_id, "stage": "ingest", "error": f"warning: {w}"} for w in warnings]
    if doc.status == "error":
        errors.append({"doc_id": doc.doc_id, "stage": "ingest", "error": doc.error})
    row = {k: v for k, v in as_rows([doc])[0].items() if k != "sentences"}
    return {"document": row, "sentences": as_rows(doc.sentences), "errors": errors}


def ingest_job(job: tuple) -> dict[str, tuple[bytes, str, list]]:
    """A batch of articles not in the cache → {key: (encoded result, path, errors)} (runs in a worker with
    --workers/--executor; the result is encoded for the cache there)."""
    from pipeline.io.cache import encode

    keys, articles, settings = job
    out = {}
    for key, raw in zip(keys, articles):
        item = ingest_one(raw, settings)
        out[key] = (encode(item), raw.source_path, item["errors"])
    return out


DOCUMENT_COLUMNS = [c for c in Document.__dataclass_fields__ if c != "sentences"]
SENTENCE_COLUMNS = list(Sentence.__dataclass_fields__)


def mark_duplicates(articles: Iterable[RawArticle]) -> Iterator[RawArticle]:
    """Articles with an id seen before become errors (streamed: only the ids are remembered)."""
    seen: set[str] = set()
    for k, raw in enumerate(articles):
        if raw.doc_id in seen:
            raw = RawArticle(f"{raw.doc_id}#dup{k}", raw.source_path, None, error=f"duplicate id {raw.doc_id!r}: the first one is kept")
        seen.add(raw.doc_id)
        yield raw


class IngestStage(Stage):
    """Streams the corpus: articles are read a batch at a time, only the ones missing from the cache are
    processed (in this process, N local processes or a Dask cluster), and the tables are then written
    from the cache in input order, a batch at a time."""

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
        used = {k: str(v) for k, v in settings.describe().items() if k in self.settings_used and k != "input"}
        version = text_version()
        context = digest(version, sorted(used.items()))
        size = max(1, settings.chunk_size)
        order: list[str] = []  # every article's key, in input order: all that is kept of the corpus
        paths: list[str] = []
        reused = jobs_sent = 0
        files: dict[str, tuple] = {}  # the input files' stat and hash, for the next run
        with ctx.work.cache(self.name) as cache:
            known = cache.known_files()
            now = time.time_ns()
            # pass 1: the articles missing from the cache, a batch at a time, results into the cache
            def jobs():
                nonlocal reused, jobs_sent
                for batch in batched(mark_duplicates(iter_articles(settings.input, known)), size):
                    hashes = [content_sha256(raw) for raw in batch]
                    keys = [article_key(context, raw, sha) for raw, sha in zip(batch, hashes)]
                    for raw, sha in zip(batch, hashes):
                        if raw.stat and not raw.error:
                            files[raw.source_path] = (*raw.stat, sha, known[raw.source_path][4] if raw.data is None else now)
                    order.extend(keys)
                    paths.extend(raw.source_path for raw in batch)
                    cached = cache.has_many(keys)
                    reused += len(cached)
                    todo = [(k, load(raw)) for k, raw in zip(keys, batch) if k not in cached]
                    if todo:
                        jobs_sent += 1
                        yield [k for k, _ in todo], [raw for _, raw in todo], settings

            try:
                results = ctx.executor().map(ingest_job, jobs())
                for result in progress_iter(results, "ingest", ctx.progress):
                    for _blob, path, errors in result.values():
                        for error in errors:
                            log.warning("%s: %s", path, error["error"].removeprefix("warning: "))
                    cache.put_encoded({key: blob for key, (blob, _p, _e) in result.items()})
            except InputError as exc:
                raise StageError(str(exc)) from None
            if not order:
                raise StageError(f"no articles in {settings.input} (expected .txt files, or a .jsonl / .csv with id and text)")
            # pass 2: the tables in input order, a group of articles at a time: a group the previous tables
            # hold (same articles, paths, code and rules) is copied; the others are built from the cache
            errors: list[dict] = []
            n_docs = n_ok = rebuilt = 0
            agency_version = self.version()
            bounds = group_bounds(order, size)
            n_groups = len(bounds)
            with ctx.work.grouped({"documents": DOCUMENT_SCHEMA, "sentences": SENTENCE_SCHEMA}) as tables:
                for lo, hi in bounds:
                    keys = order[lo:hi]
                    gid = digest("ingest", agency_version, keys, paths[lo:hi])
                    if tables.previous(gid) is not None:
                        info = tables.copy(gid)
                    else:
                        rebuilt += 1
                        found = cache.get_many(keys)
                        missing = [k for k in keys if k not in found]
                        if missing:
                            raise StageError(f"the ingest cache lost {len(missing)} result(s): delete {cache.path} and run again")
                        items = [found[k] for k in keys]
                        for item, path in zip(items, paths[lo:hi]):
                            item["document"]["source_path"] = path
                        documents = [with_agency(item["document"]) for item in items]
                        info = {"documents": len(items), "ok": sum(d["status"] == "ok" for d in documents),
                                "errors": [e for item in items for e in item["errors"]]}
                        tables.write(gid, {"documents": documents, "sentences": [row for item in items for row in item["sentences"]]}, info)
                    errors.extend(info["errors"])
                    n_docs += info["documents"]
                    n_ok += info["ok"]
            cache.set_known_files(files, known)
            cache.prune()
        release_hazm()  # the rest of the pipeline works on tokens: hazm's word lists can go
        ctx.work.set_errors(self.name, errors)
        if not n_ok:
            raise StageError(f"no article could be read from {settings.input} ({n_docs} failed; see errors.csv)")
        return {"documents": n_docs, "ok": n_ok, "errors": n_docs - n_ok, "processed": n_docs - reused, "reused": reused,
                "groups": n_groups, "groups_rebuilt": rebuilt, "jobs": jobs_sent, "ran_on": ctx.executor().describe()}


DOCUMENT_SCHEMA = schema_of(Document, exclude=("sentences",))
SENTENCE_SCHEMA = schema_of(Sentence)
