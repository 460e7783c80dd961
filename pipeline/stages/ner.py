"""ner: sentences → mentions (PERSON, ORG, TITLE, LOC) from the domain layer and the stanza model.

requires: documents, sentences          provides: mentions, mention_sentences
Merge policy (as spaCy's entity_ruler beside its statistical ner, with the ruler winning):
1. domain-layer spans (titles, organizations, venues, persons next to titles/honorifics) stand;
2. a model span that overlaps no domain span is added (source ``stanza``); one that equals a domain span
   with the same label marks it ``rules+stanza``; model PERSON spans lose leading honorifics and are
   dropped when they are a title, a pronoun, a frequent word, a first name or the plural of a title or
   common word alone, or only ordinary words; model ORG spans are dropped when they are one plural or
   common word, or a weak head («شرکت») with ordinary words;
3. then, per document, later uses of the found names (surname alone, full name) become PERSON mentions.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from pipeline.core import ORG, PERSON, Mention, MentionSentence, Sentence, as_rows
from pipeline.domain.rules import VENUE, SentenceRules, Span, propagate
from pipeline.io.workdir import OutOfOrder, TablesOutOfStep, digest, read_rows, schema_of, side_by_side, side_parts
from pipeline.lexicons import lexicons, rules_version
from pipeline.model import ModelNotFound, NerTagger, find_model
from pipeline.stages import Context, Stage, StageError
from pipeline.ui import progress_iter
from pipeline.executors import worker_state

log = logging.getLogger("peyvand")


_PLURAL_ENDINGS = ("‌ها", "‌های", "ها", "های")
_PERSON_PLURALS = ("ین", "ان", "\u200cها", "ها")


def _plural_of_common(word: str, lex) -> bool:
    """«معاونین» (معاون + ین), «مدیران», «کارشناسان»: a plural whose stem is a title or a common word."""
    for suffix in _PERSON_PLURALS:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 2 and (lex.titles.match([stem], 0) or stem in lex.common_words):
            return True
    return False


def merge_spans(rules: SentenceRules, model_spans: list[tuple[int, int, str]]) -> list[Span]:
    """Domain spans plus the model spans the policy admits (see module doc)."""
    lex = rules.lex
    spans = list(rules.spans)
    for start, end, label in model_spans:
        # honorifics are not part of a person's name
        while label == PERSON and start < end and rules.honorific_len(start):
            start += rules.honorific_len(start)
        if start >= end or all(rules.punct(k) or rules.function(k) for k in range(start, end)):
            continue  # a model span of punctuation or function words names nothing
        same = [s for s in spans if s.start == start and s.end == end and s.label == label]
        if same:
            same[0].source = "rules+stanza"
            continue
        if any(c is not None for c in rules.claimed[start:end]):
            continue
        words = rules.t[start:end]
        if label == PERSON:
            if end - start == 1 and (
                words[0] in lex.common_words or words[0] in lex.function_words or rules.title_len(start)[0]
                or lex.first_names.match(words, 0)  # a first name alone names nobody («حسین»)
            ):
                continue
            if end - start == 1 and _plural_of_common(words[0], lex):
                continue  # «معاونین», «مدیران»: the plural of a title or an everyday noun is nobody
            if all(w in lex.common_words for w in words) and not any(
                lex.first_names.match(words, k) or w in lex.surnames for k, w in enumerate(words)
            ):
                continue  # ordinary words the model took for a name («عید نوروز»)
        if label == ORG and end - start == 1 and (words[0] in lex.common_words or words[0].endswith(_PLURAL_ENDINGS)):
            continue  # «محرومیت‌زدایی‌ها»: a plural noun names no organization
        if label == ORG and words[0] in lex.weak_heads and all(w in lex.common_words for w in words[1:]):
            continue  # «شرکت معلولین»: a weak head needs a rare word, a place or a gazetteer entry
        spans.append(Span(start, end, label, "full" if label == ORG else "", "stanza"))
        for k in range(start, end):
            rules.claimed[k] = label
    return sorted(spans, key=lambda s: (s.start, s.end))


def document_mentions(
    doc_id: str, sentences: list[Sentence], model_spans: list[list] | None, use_rules: bool = True
) -> list[Mention]:
    """Mentions of one document; ``use_rules=False`` keeps the model's spans alone (for comparisons)."""
    lex = lexicons()
    per_sentence: list[list[Span]] = []
    claimed: list[list[bool]] = []
    for k, sentence in enumerate(sentences):
        if not use_rules:
            per_sentence.append([Span(s, e, label, "full" if label == ORG else "", "stanza") for s, e, label in (model_spans[k] if model_spans else [])])
            continue
        rules = SentenceRules(sentence.tokens, lex)
        rules.run()
        spans = merge_spans(rules, model_spans[k] if model_spans else [])
        per_sentence.append(spans)
        claimed.append([c is not None for c in rules.claimed])
    names = [
        sentences[k].tokens[s.start : s.end] for k, spans in enumerate(per_sentence) for s in spans if s.label == PERSON
    ]
    if use_rules:
        for k, start, end in propagate([s.tokens for s in sentences], claimed, names):
            per_sentence[k].append(Span(start, end, PERSON, "", "rules"))
    mentions = []
    for sentence, spans in zip(sentences, per_sentence):
        for span in sorted(spans, key=lambda s: (s.start, s.end)):
            if span.label == VENUE:
                continue
            start, end = sentence.token_span(span.start, span.end)
            text = " ".join(sentence.tokens[span.start : span.end])
            mentions.append(
                Mention(doc_id, sentence.sentence_id, start, end, "", span.label, span.source, span.start, span.end, "", span.kind)
            )
            mentions[-1].text = text  # replaced by the exact slice of the document text below
    return mentions


def group_documents(parts: dict, docs: list[dict], only: set[str] | None = None) -> Iterator[tuple[dict, list[Sentence]]]:
    """(document row, its sentences) of the readable documents of one group (``docs``: its rows of the
    documents table, read by :func:`group_document_keys`; ``parts``: its parts of the documents and
    sentences tables, written side by side by ingest), or of the ``only`` ones among them."""
    sentences = read_rows(parts["sentences"])
    try:
        for doc, rows in side_by_side(docs, sentences):
            if doc["status"] == "ok" and (only is None or doc["doc_id"] in only):
                yield doc, [Sentence(**row) for row in rows]
    except OutOfOrder:
        raise StageError("the sentences table is not in the documents' order: run `peyvand ingest` again") from None


def group_document_keys(parts: dict) -> tuple[list[tuple[str, str, str]], list[dict]]:
    """(doc_id, digest of its text, digest of its sentence boundaries) of the readable documents of one
    group, from the text and two integer columns: enough to key the cache without reading any token;
    and the group's document rows, for :func:`group_documents` if some are not cached."""
    docs = read_rows(parts["documents"], ["doc_id", "text", "status"])
    bounds = read_rows(parts["sentences"], ["doc_id", "start", "end"])
    try:
        return [(doc["doc_id"], digest(doc["text"].encode("utf-8", "surrogatepass")), digest([(r["start"], r["end"]) for r in rows]))
                for doc, rows in side_by_side(docs, bounds) if doc["status"] == "ok"], docs
    except OutOfOrder:
        raise StageError("the sentences table is not in the documents' order: run `peyvand ingest` again") from None


def document_key(version: str, model_id: str, use_rules: bool, doc_id: str, text_digest: str, bounds: str) -> str:
    """The cache key of one document's mentions: its text and sentences, the model, the rules (and the
    code: the tokens of a sentence follow from its text and the tokenizer)."""
    return digest(version, model_id, use_rules, doc_id, text_digest, bounds)


def model_key(model_id: str, tokenizer_version: str, text_digest: str, bounds: str) -> str:
    """The cache key of the model's spans for one document: the model and the tokens (text, boundaries and
    the tokenizer's version), not the rules, so an edited rule never re-runs the neural tagger."""
    return digest(model_id, tokenizer_version, text_digest, bounds)


MENTION_SCHEMA = schema_of(Mention)
# the sentences that hold mentions, with their text: all that resolve needs of the corpus besides mentions
MENTION_SENTENCE_SCHEMA = schema_of(MentionSentence)


class NerStage(Stage):
    """Streams the documents; the ones missing from the cache go to the model in batches of about
    ``ner_batch_size × 4`` sentences (so the model sees full batches even when only a few articles are new)
    and then to the domain layer; the tables are written from the cache in corpus order."""

    name = "ner"
    requires = ("documents", "sentences")
    provides = ("mentions", "mention_sentences")
    settings_used = ("model_dir", "stanza_resources", "use_model", "use_rules")

    def version(self) -> str:
        return rules_version()

    def run(self, ctx: Context) -> dict:
        try:
            spec = find_model(ctx.settings)
        except ModelNotFound as exc:
            raise StageError(str(exc)) from None
        if spec is None:
            log.warning("no NER model in %s: running the domain layer (rules) alone", ctx.settings.resolved_model_dir())
            model_desc, model_id = "domain layer only (no model)", "none"
        else:
            log.info("NER model: %s", spec.description)
            model_desc, model_id = spec.description, spec.fingerprint()
        ctx.notes["model"] = model_desc
        from pipeline.stages.ingest import text_version

        version, use_rules = self.version(), ctx.settings.use_rules
        tokenizer_version = text_version()  # once: it reads data files
        target = max(1, ctx.settings.ner_batch_size) * 4
        # the groups of documents ingest wrote; a group whose ner result the previous tables hold (same
        # documents, rules, model) is copied, the others go through the per-document cache
        try:
            groups = [(digest("ner", ingest_gid, version, model_id, use_rules) if ingest_gid else "", ingest_gid, parts)
                      for ingest_gid, parts in side_parts(ctx.work, ["documents", "sentences"])]
        except TablesOutOfStep as exc:
            raise StageError(f"{exc}: run `peyvand ingest` again") from None
        documents = reused = jobs_sent = tagged_docs = 0
        with ctx.work.cache(self.name) as cache, ctx.work.cache("ner-model") as model_cache, \
                ctx.work.grouped({"mentions": MENTION_SCHEMA, "mention_sentences": MENTION_SENTENCE_SCHEMA}) as tables:
            keys_of: dict[int, tuple[list[str], list[str]]] = {}  # group → its documents' keys and model keys
            # pass 1: documents missing from the cache → jobs of about `target` sentences → the cache.
            # The model's own spans have a cache of their own: a document whose mentions are stale only
            # because a rule changed goes to the domain layer with its cached model spans.
            def jobs():
                nonlocal reused, documents
                group: list[tuple[str, str, dict, list[Sentence], list | None]] = []
                size = 0

                def job():
                    nonlocal jobs_sent
                    jobs_sent += 1
                    return ([(k, mk) for k, mk, _d, _s, _m in group], {d["doc_id"]: s for _k, _mk, d, s, _m in group},
                            {d["doc_id"]: d["text"] for _k, _mk, d, _s, _m in group},
                            {d["doc_id"]: m for _k, _mk, d, _s, m in group}, use_rules)

                for position, (gid, _ingest_gid, parts) in enumerate(groups):
                    info = tables.previous(gid) if gid else None
                    if info is not None:  # copied in pass 2; its cache entries are kept
                        cache.touch(info["keys"])
                        model_cache.touch(info["model_keys"])
                        documents += len(info["keys"])
                        reused += len(info["keys"])
                        continue
                    batch, docs = group_document_keys(parts)
                    keys = [document_key(version, model_id, use_rules, d, text, bounds) for d, text, bounds in batch]
                    mkeys = [model_key(model_id, tokenizer_version, text, bounds) if spec is not None else ""
                             for _d, text, bounds in batch]
                    keys_of[position] = (keys, mkeys)
                    documents += len(keys)
                    cached = cache.has_many(keys)
                    reused += len(cached)
                    model_cache.has_many([mk for mk in mkeys if mk])  # kept: the next rule change needs them
                    missing = {d: (k, mk) for (d, _t, _b), k, mk in zip(batch, keys, mkeys) if k not in cached}
                    if not missing:
                        continue
                    found = list(group_documents(parts, docs, set(missing)))
                    spans = model_cache.get_many([missing[doc["doc_id"]][1] for doc, _s in found if spec is not None])
                    for doc, sents in found:
                        key, mk = missing[doc["doc_id"]]
                        known = spans.get(mk) if mk else None
                        group.append((key, mk, doc, sents, known))
                        size += len(sents) if (mk and known is None) else len(sents) // 8  # the rules are cheap
                        if size >= target:
                            yield job()
                            group, size = [], 0
                if group:
                    yield job()

            # with a model: processes of its own (`peyvand run` starts them ahead: the model loads during ingest)
            executor = ctx.model_executor() if spec is not None else ctx.executor()
            ran_on, ahead = executor.describe(), executor.started
            initargs = (spec, True) if ahead else (spec,)  # the started pool's initializer
            results = executor.map(tag_job, jobs(), initializer=set_tagger, initargs=initargs)
            for result in progress_iter(results, "ner", ctx.progress):
                cache.put_encoded({key: blob for key, (blob, _mk, _spans) in result.items()})
                fresh = {mk: spans for _blob, mk, spans in result.values() if mk and spans is not None}
                model_cache.put_encoded(fresh)
                tagged_docs += len(fresh)
            # pass 2: the tables in corpus order, a group at a time: copied, or built from the cache
            errors: list[dict] = []
            counts: Counter = Counter()
            for position, (gid, _ingest_gid, _parts) in enumerate(groups):
                if position not in keys_of:
                    info = tables.copy(gid)
                else:
                    keys, mkeys = keys_of[position]
                    found = cache.get_many(keys)
                    if len(found) < len(set(keys)):
                        raise StageError(f"the ner cache lost results: delete {cache.path} and run again")
                    items = [found[k] for k in keys]
                    rows = [row for item in items for row in item["mentions"]]
                    info = {"keys": keys, "model_keys": [mk for mk in mkeys if mk],
                            "labels": dict(Counter(row["label"] for row in rows)),
                            "errors": [e for item in items for e in item["errors"]]}
                    tables.write(gid or digest("ner", position, keys), {
                        "mentions": rows, "mention_sentences": [row for item in items for row in item["sentences"]]}, info)
                counts.update(info["labels"])
                errors.extend(info["errors"])
            cache.prune()
            model_cache.prune()
        ctx.release_model_executor()  # the model's processes end here: their memory goes back to the system
        ctx.work.set_errors(self.name, errors)
        return {
            "model": model_desc, "documents": documents, "mentions": sum(counts.values()),
            "processed": documents - reused, "reused": reused, "model_tagged": tagged_docs, "jobs": jobs_sent, "ran_on": ran_on,
            "model_loaded_ahead": ahead, "groups": len(groups), "groups_rebuilt": len(keys_of),
            **{k: int(v) for k, v in sorted(counts.items())},
        }


def set_tagger(spec, load_now: bool = False) -> None:
    """Worker initializer: which model this process uses (None: the domain layer alone).  The model is
    loaded on first need, once per process: a run whose documents all have cached model spans (a rule
    changed) never loads it; ``load_now`` (processes started ahead of ner) loads it at once."""
    state = worker_state()
    state["spec"], state["tagger"], state["error"] = spec, None, None
    if load_now:
        try:
            _tagger()
        except RuntimeError:  # kept in the state: the first job that needs the model raises it
            pass


def start_model_processes(ctx) -> None:
    """Start the model's processes now, loading it while this process does other work: `peyvand run`
    calls it before ingest, so torch's import and the model's load overlap reading the corpus."""
    try:
        if not ctx.settings.use_model or ctx.executor().name == "dask":
            return
        spec = find_model(ctx.settings)
    except (ModelNotFound, StageError):
        return  # the stages report it
    if spec is not None:
        ctx.model_executor().start(set_tagger, (spec, True))


def _tagger():
    state = worker_state()
    if state.get("tagger") is None and state.get("error") is None and state.get("spec") is not None:
        try:
            state["tagger"] = NerTagger(state["spec"])
        except Exception as exc:  # kept and raised by every job: a pool would restart a failing initializer
            state["error"] = exc
    if state.get("error") is not None:
        raise RuntimeError(f"the NER model could not be loaded: {state['error']!r}")
    return state.get("tagger")


def tag_job(job: tuple) -> dict[str, tuple]:
    """Mentions of a group of documents not in the cache: one model pass over the sentences of those
    without cached model spans (full batches), then the domain layer per document
    → {key: (encoded {"mentions", "sentences", "errors"}, model key, encoded new model spans or None)}."""
    from pipeline.io.cache import encode

    keys, by_doc, texts, known, use_rules = job
    group = list(by_doc)
    model_out: dict[str, list] = {d: known[d] for d in group if known.get(d) is not None}
    fresh: set[str] = set()
    need = [d for (_k, mk), d in zip(keys, group) if mk and d not in model_out]
    if need:
        tagger = _tagger()
        flat = [s.tokens for d in need for s in by_doc[d]]
        try:
            tagged = tagger.tag(flat)
        except Exception as exc:  # a model failure on one batch: the rules still run for it
            log.warning("model failed on a batch (%r); using the domain layer for it", exc)
            tagged = None
        if tagged is not None:
            pos = 0
            for d in need:
                model_out[d] = [[list(span) for span in spans] for spans in tagged[pos : pos + len(by_doc[d])]]
                fresh.add(d)
                pos += len(by_doc[d])
    out: dict[str, tuple] = {}
    for (key, mk), doc_id in zip(keys, group):
        errors, rows, used = [], [], []
        try:
            found = document_mentions(doc_id, by_doc[doc_id], model_out.get(doc_id), use_rules)
            text = texts[doc_id]
            for m in found:
                m.text = text[m.start : m.end]
            rows = as_rows(found)
            with_mentions = {m.sentence_id for m in found}
            used = [
                {"doc_id": doc_id, "sentence_id": s.sentence_id, "text": text[s.start : s.end], "tokens": s.tokens}
                for s in by_doc[doc_id] if s.sentence_id in with_mentions
            ]
        except Exception as exc:  # one bad article never stops the run
            log.warning("%s: ner failed: %r", doc_id, exc)
            errors.append({"doc_id": doc_id, "stage": "ner", "error": f"ner failed: {exc!r}"})
        out[key] = (encode({"mentions": rows, "sentences": used, "errors": errors}), mk,
                    encode(model_out[doc_id]) if doc_id in fresh else None)
    return out
