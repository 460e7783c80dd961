"""ner: sentences → mentions (PERSON, ORG, TITLE, LOC) from the domain layer and the stanza model.

requires: documents, sentences          provides: mentions
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

import pandas as pd

from pipeline.core import ORG, PERSON, Mention, Sentence, as_rows, columns
from pipeline.domain.rules import VENUE, SentenceRules, Span, propagate
from pipeline.io.workdir import Parts, digest
from pipeline.lexicons import lexicons, rules_version
from pipeline.model import ModelNotFound, NerTagger, find_model
from pipeline.stages import Context, Stage, StageError
from pipeline.ui import progress_iter
from pipeline.workers import map_ordered, worker_state

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


def _document_groups(ok_ids: list[str], by_doc: dict[str, list], target: int) -> list[list[str]]:
    """Consecutive documents in groups of about ``target`` sentences: the model sees full batches, and
    the same input always gives the same groups (they are the unit of caching and resuming)."""
    groups, current, size = [], [], 0
    for doc_id in ok_ids:
        current.append(doc_id)
        size += len(by_doc[doc_id])
        if size >= target:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return groups


class NerStage(Stage):
    name = "ner"
    requires = ("documents", "sentences")
    provides = ("mentions",)
    settings_used = ("model_dir", "stanza_resources", "use_model", "use_rules")

    def version(self) -> str:
        return rules_version()

    def run(self, ctx: Context) -> dict:
        docs = ctx.work.read("documents")
        sentences = ctx.work.read("sentences")
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
        texts = dict(zip(docs["doc_id"], docs["text"]))
        ok_ids = [d for d, status in zip(docs["doc_id"], docs["status"]) if status == "ok"]
        by_doc: dict[str, list[Sentence]] = {d: [] for d in ok_ids}
        for row in sentences.itertuples(index=False):
            if row.doc_id in by_doc:
                by_doc[row.doc_id].append(
                    Sentence(row.doc_id, int(row.sentence_id), int(row.start), int(row.end), list(row.tokens), [int(x) for x in row.token_starts])
                )
        parts = Parts(ctx.work, self.name)
        groups = _document_groups(ok_ids, by_doc, max(1, ctx.settings.ner_batch_size) * 4)
        group_keys = [
            digest(self.version(), model_id, ctx.settings.use_rules, [(d, digest(texts[d].encode("utf-8", "surrogatepass"))) for d in group])
            for group in groups
        ]
        keys = set(group_keys)
        done = {key: part for key in keys if (part := parts.load(key)) is not None}
        reused = len(done)
        missing = [(key, group) for key, group in zip(group_keys, groups) if key not in done]
        jobs = [
            (group, {d: by_doc[d] for d in group}, {d: texts[d] for d in group}, ctx.settings.use_rules)
            for _key, group in missing
        ]
        # the model is loaded only when a chunk is not cached, once per process (--workers N)
        results = map_ordered(tag_chunk, jobs, ctx.settings.workers, initializer=load_tagger, initargs=(spec,))
        for (key, _group), part in zip(missing, progress_iter(results, "ner", ctx.progress, total=len(missing))):
            parts.save(key, part)
            done[key] = part
        frames = [done[key]["mentions"] for key in group_keys]
        error_frames = [done[key]["errors"] for key in group_keys]
        parts.keep_only(keys)
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns(Mention))
        ctx.work.write("mentions", frame)
        errors = pd.concat(error_frames, ignore_index=True) if error_frames else pd.DataFrame()
        ctx.work.set_errors(self.name, errors.to_dict("records"))
        counts = frame["label"].value_counts().to_dict() if len(frame) else {}
        return {
            "model": model_desc, "documents": len(ok_ids), "mentions": len(frame), "chunks": len(groups),
            "reused": reused, **{k: int(v) for k, v in counts.items()},
        }


def load_tagger(spec) -> None:
    """Worker initializer: the model, once per process (None: the domain layer alone).  A failure is kept
    and raised by the first chunk: a pool would otherwise restart a failing initializer forever."""
    state = worker_state()
    try:
        state["tagger"] = NerTagger(spec) if spec is not None else None
    except Exception as exc:
        state["tagger"], state["error"] = None, exc


def tag_chunk(job: tuple) -> dict[str, pd.DataFrame]:
    """Mentions of one chunk of documents: model batch over all its sentences, then the domain layer."""
    group, by_doc, texts, use_rules = job
    state = worker_state()
    if state.get("error") is not None:
        raise RuntimeError(f"the NER model could not be loaded: {state['error']!r}")
    tagger = state.get("tagger")
    model_out: dict[str, list] = {}
    if tagger is not None:
        flat = [s.tokens for d in group for s in by_doc[d]]
        try:
            tagged = tagger.tag(flat)
        except Exception as exc:  # a model failure on one batch: the rules still run for it
            log.warning("model failed on a batch (%r); using the domain layer for it", exc)
            tagged = None
        if tagged is not None:
            pos = 0
            for d in group:
                model_out[d] = tagged[pos : pos + len(by_doc[d])]
                pos += len(by_doc[d])
    mentions: list[Mention] = []
    errors = []
    for doc_id in group:
        try:
            found = document_mentions(doc_id, by_doc[doc_id], model_out.get(doc_id), use_rules)
            text = texts[doc_id]
            for m in found:
                m.text = text[m.start : m.end]
            mentions.extend(found)
        except Exception as exc:  # one bad article never stops the run
            log.warning("%s: ner failed: %r", doc_id, exc)
            errors.append({"doc_id": doc_id, "stage": "ner", "error": f"ner failed: {exc!r}"})
    return {
        "mentions": pd.DataFrame(as_rows(mentions), columns=columns(Mention)),
        "errors": pd.DataFrame(errors, columns=["doc_id", "stage", "error"]),
    }
