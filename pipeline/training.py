"""Training and evaluating the stanza NER model from IOB files, offline.

Recipe (stanza 1.15): IOB → stanza's JSON (tokens normalized with the pipeline's own normalizer, labels
mapped to Peyvand's label set) → word vectors (a vectors file given by the user, or word2vec trained
here with gensim on the text we have) → a stanza pretrain ``.pt`` → ``stanza.models.ner_tagger`` in
train mode on the CPU → a model folder with ``resources.json`` and ``peyvand.json``.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.normalize import normalize

log = logging.getLogger("peyvand")

# ARMAN's six classes → Peyvand's labels.  fac (universities, hospitals, ministries' buildings) are
# organizations for our users; pro (products, newspapers' names as works) and event are dropped.
ARMAN_MAP = {"pers": "PER", "org": "ORG", "loc": "LOC", "fac": "ORG", "pro": None, "event": None}
PEYVAND_OF = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC"}


@dataclass
class IobSentence:
    tokens: list[str]
    tags: list[str]


def read_iob(path: Path) -> list[IobSentence]:
    sentences, tokens, tags = [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            if tokens:
                sentences.append(IobSentence(tokens, tags))
                tokens, tags = [], []
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        tokens.append(" ".join(parts[:-1]))
        tags.append(parts[-1])
    if tokens:
        sentences.append(IobSentence(tokens, tags))
    return sentences


def map_tag(tag: str, mapping: dict | None = None) -> str:
    """'B-pers' → 'B-PER' under ``mapping`` (ARMAN's by default); unmapped classes → 'O'."""
    mapping = ARMAN_MAP if mapping is None else mapping
    if tag == "O" or "-" not in tag:
        return "O"
    prefix, cls = tag.split("-", 1)
    if cls in mapping:
        target = mapping[cls]
    elif cls.upper() in ("PER", "PERS", "PERSON"):
        target = "PER"
    elif cls.upper() in ("ORG", "LOC"):
        target = cls.upper()
    else:
        target = None
    return f"{prefix}-{target}" if target else "O"


def prepare(sentences: list[IobSentence]) -> list[list[dict]]:
    """Sentences in stanza's JSON form: tokens through the pipeline's normalizer, tags mapped to BIO."""
    from pipeline.normalize import normalize_many

    flat = [t for s in sentences for t in s.tokens]
    normalized = iter(
        (n.replace(" ", "\u200c") or t) for n, t in zip(normalize_many(flat), flat)
    )
    out = []
    for s in sentences:
        tokens = [next(normalized) for _ in s.tokens]
        tags = [map_tag(t) for t in s.tags]
        # a mapped-away class can leave I- without B-: repair to BIO
        fixed = []
        for k, tag in enumerate(tags):
            if tag.startswith("I-") and (k == 0 or fixed[-1] == "O" or fixed[-1][2:] != tag[2:]):
                tag = "B-" + tag[2:]
            fixed.append(tag)
        out.append([{"text": t, "ner": g} for t, g in zip(tokens, fixed)])
    return out


def train_word_vectors(
    sentences: list[list[str]],
    out_txt: Path,
    dim: int,
    seed: int,
    epochs: int = 10,
    method: str = "fasttext",
    extra_vocabulary: list[str] | None = None,
) -> int:
    """Word vectors from the text we have, written in word2vec text format; returns the vocabulary size.

    ``fasttext`` (default) learns character n-gram vectors too, so a word seen once or never still gets a
    vector built from its pieces: with ~3 MB of text most words are rare. ``extra_vocabulary`` (words
    from an installed lexicon) is added to the written vocabulary with those n-gram vectors, which lowers
    the share of entity tokens the tagger sees as unknown (ARMAN test_fold1: 8.4% → 5.9% with 30k words).
    """
    if method == "fasttext":
        from gensim.models import FastText

        model = FastText(
            sentences=sentences, vector_size=dim, window=5, min_count=1, workers=1, seed=seed, epochs=epochs,
            sg=1, min_n=2, max_n=5, bucket=200_000,
        )
    elif method == "word2vec":
        from gensim.models import Word2Vec

        model = Word2Vec(
            sentences=sentences, vector_size=dim, window=5, min_count=1, workers=1, seed=seed, epochs=epochs, sg=1
        )
        extra_vocabulary = None  # word2vec has no vector for an unseen word
    else:
        raise ValueError(f"unknown vectors method {method!r} (fasttext or word2vec)")
    words = list(model.wv.index_to_key)
    seen = set(words)
    words += [w for w in dict.fromkeys(extra_vocabulary or []) if w and w not in seen and " " not in w]
    with open(out_txt, "w", encoding="utf-8") as handle:
        handle.write(f"{len(words)} {dim}\n")
        for word in words:
            handle.write(word + " " + " ".join(f"{x:.5f}" for x in model.wv[word]) + "\n")
    return len(words)


def lexicon_words(limit: int) -> list[str]:
    """The ``limit`` most frequent words of hazm's installed lexicon, through the pipeline's normalizer."""
    if limit <= 0:
        return []
    import hazm
    from pipeline.normalize import normalize_many

    path = Path(hazm.__file__).parent / "data" / "words.dat"
    if not path.exists():
        log.warning("hazm's words.dat not found; no lexicon words added to the vectors")
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1].isdigit():
            rows.append((int(parts[1]), parts[0]))
    rows.sort(key=lambda r: -r[0])
    words = [w for _, w in rows[:limit]]
    return [n.replace(" ", "\u200c") for n in normalize_many(words)]


def text_corpus(paths: list[Path]) -> list[list[str]]:
    from pipeline.segment import word_tokenizer

    tokenizer = word_tokenizer()
    out = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            tokens = tokenizer.tokenize(normalize(line))
            if tokens:
                out.append(tokens)
    return out


def build_pretrain(vectors_txt: Path, pt_path: Path) -> None:
    import numpy as np
    import torch
    from stanza.models.common.pretrain import Pretrain

    # stanza loads an existing .pt in preference to the text: a re-run must not reuse old vectors
    Path(pt_path).unlink(missing_ok=True)
    pretrain = Pretrain(str(pt_path), str(vectors_txt), save_to_file=False)
    pretrain.load()
    emb = pretrain._emb
    if isinstance(emb, np.ndarray):  # stanza's loader keeps numpy; the saved file must hold a tensor
        pretrain._emb = torch.from_numpy(emb)
    pretrain.save(str(pt_path))


def cap_pretrain(model_dir: Path, max_words: int) -> int:
    """Keep the first ``max_words`` words of a model's pretrain (the most frequent first, lexicon words
    last), so that a shipped model stays small; rows keep their indexes, so the tagger is unchanged for
    the words kept and sees the dropped ones as unknown.  Returns the number of words kept."""
    import torch
    from stanza.models.common.pretrain import Pretrain
    from stanza.models.common.vocab import VOCAB_PREFIX

    model_dir = Path(model_dir)
    meta_path = model_dir / "peyvand.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    pt_path = model_dir / meta["pretrain"]
    pretrain = Pretrain(str(pt_path))
    emb, vocab = pretrain.emb, pretrain.vocab
    specials = len(VOCAB_PREFIX)  # <PAD> <UNK> <EMPTY> <ROOT>: rows stanza puts before the words
    if len(vocab) <= max_words + specials:
        return len(vocab) - specials
    kept = vocab._id2unit[: max_words + specials]
    text = model_dir / "_capped_vectors.txt"
    with open(text, "w", encoding="utf-8") as handle:
        handle.write(f"{max_words} {emb.shape[1]}\n")
        for k, word in enumerate(kept[specials:], start=specials):
            handle.write(word + " " + " ".join(f"{float(x):.9g}" for x in emb[k]) + "\n")
    build_pretrain(text, pt_path)
    text.unlink()
    # the tagger keeps its own copy of the word vocabulary: cut it alike, indexes unchanged
    ner_path = model_dir / meta["ner_model"]
    state = torch.load(ner_path, map_location="cpu", weights_only=False)
    word = state["vocab"]["word"]
    word["_id2unit"] = word["_id2unit"][: max_words + specials]
    word["_unit2id"] = {w: k for k, w in enumerate(word["_id2unit"])}
    torch.save(state, ner_path)
    meta["pretrain_words"] = max_words
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    return max_words


def write_model_resources(out_dir: Path, meta: dict) -> None:
    """resources.json in stanza's format, so stanza.Pipeline(dir=out_dir, download_method=None) loads it."""
    # the smallest resources.json stanza accepts with download_method=None: the processors' paths are
    # given explicitly to stanza.Pipeline, this only tells stanza the language and its processors
    resources = {
        "fa": {
            "lang_name": "Persian",
            "default_processors": {"tokenize": "peyvand", "ner": "peyvand"},
        }
    }
    (out_dir / "resources.json").write_text(json.dumps(resources, indent=1), encoding="utf-8")
    (out_dir / "peyvand.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")


def train_ner(
    train_iob: Path,
    out_dir: Path,
    dev_iob: Path | None = None,
    dev_fraction: float = 0.1,
    vectors: Path | None = None,
    text_files: list[Path] | None = None,
    word_dim: int = 100,
    vectors_method: str = "fasttext",
    lexicon_size: int = 30000,
    hidden_dim: int = 128,
    char_hidden_dim: int = 100,
    max_steps: int = 8000,
    eval_interval: int = 500,
    batch_size: int = 32,
    seed: int = 1234,
    extra_args: list[str] | None = None,
) -> dict:
    """Train a stanza NER model; returns the metadata written to ``peyvand.json``."""
    from stanza.models import ner_tagger

    started = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / "_train"
    work.mkdir(exist_ok=True)
    train = read_iob(train_iob)
    if dev_iob:
        dev = read_iob(dev_iob)
    else:  # a dev split taken from the training file, reproducibly
        rng = random.Random(seed)
        order = list(range(len(train)))
        rng.shuffle(order)
        n_dev = max(1, int(len(train) * dev_fraction))
        dev_ids = set(order[:n_dev])
        dev = [s for k, s in enumerate(train) if k in dev_ids]
        train = [s for k, s in enumerate(train) if k not in dev_ids]
    train_json, dev_json = work / "train.json", work / "dev.json"
    train_prepared = prepare(train)
    train_json.write_text(json.dumps(train_prepared, ensure_ascii=False), encoding="utf-8")
    dev_json.write_text(json.dumps(prepare(dev), ensure_ascii=False), encoding="utf-8")

    vectors_txt = Path(vectors) if vectors else work / "vectors.txt"
    if not vectors:
        corpus = [[tok["text"] for tok in sent] for sent in train_prepared]
        corpus += text_corpus(text_files or [])
        train_word_vectors(
            corpus, vectors_txt, word_dim, seed, method=vectors_method, extra_vocabulary=lexicon_words(lexicon_size)
        )
    pretrain_pt = out_dir / "pretrain.pt"
    build_pretrain(vectors_txt, pretrain_pt)

    args = [
        "--mode", "train",
        "--shorthand", "fa_peyvand",
        "--train_file", str(train_json),
        "--eval_file", str(dev_json),
        "--wordvec_pretrain_file", str(pretrain_pt),
        "--save_dir", str(out_dir),
        "--save_name", "ner.pt",
        "--hidden_dim", str(hidden_dim),
        "--char_hidden_dim", str(char_hidden_dim),
        "--max_steps", str(max_steps),
        "--eval_interval", str(eval_interval),
        "--batch_size", str(batch_size),
        "--seed", str(seed),
        "--scheme", "bio",
        "--cpu",
        *(extra_args or []),
    ]
    log.info("training: python -m stanza.models.ner_tagger %s", " ".join(args))
    stanza_log = logging.getLogger("stanza")
    level = stanza_log.level
    stanza_log.setLevel(logging.INFO if log.isEnabledFor(logging.INFO) else logging.WARNING)  # its step and dev-score lines
    try:
        ner_tagger.main(args)
    finally:
        stanza_log.setLevel(level)
    meta = {
        "name": "peyvand-fa-ner",
        "ner_model": "ner.pt",
        "pretrain": "pretrain.pt",
        "labels": ["PERSON", "ORG", "LOC"],
        "label_map": {k: v for k, v in ARMAN_MAP.items()},
        "train_file": Path(train_iob).name,
        "train_sentences": len(train),
        "dev_sentences": len(dev),
        "vectors": str(vectors) if vectors else f"{vectors_method} trained on the training text + {len(text_files or [])} text files, {lexicon_size} hazm lexicon words",
        "text_files": [Path(p).name for p in text_files or []],
        "hidden_dim": hidden_dim,
        "char_hidden_dim": char_hidden_dim,
        "word_dim": word_dim,
        "max_steps": max_steps,
        "batch_size": 32,
        "train_batch_size": batch_size,
        "seed": seed,
        "trained": time.strftime("%Y-%m-%d"),
        "train_seconds": round(time.time() - started, 1),
    }
    write_model_resources(out_dir, meta)
    return meta


# ----- evaluation ------------------------------------------------------------------------------
def spans_from_bio(tags: list[str]) -> set[tuple[int, int, str]]:
    spans, start, label = set(), None, None
    for k, tag in enumerate(tags + ["O"]):
        if tag.startswith("B-") or tag == "O" or (tag.startswith("I-") and tag[2:] != label):
            if start is not None:
                spans.add((start, k, label))
            start, label = (k, tag[2:]) if tag != "O" else (None, None)
    return spans


def score_spans(gold: list[set], pred: list[set]) -> dict:
    """conlleval-style exact-span precision/recall/F1 per class and micro-averaged."""
    from collections import Counter

    tp, fp, fn = Counter(), Counter(), Counter()
    for g, p in zip(gold, pred):
        for span in p:
            (tp if span in g else fp)[span[2]] += 1
        for span in g:
            if span not in p:
                fn[span[2]] += 1
    out = {}
    for label in sorted(set(tp) | set(fp) | set(fn)) + ["micro"]:
        if label == "micro":
            t, f_p, f_n = sum(tp.values()), sum(fp.values()), sum(fn.values())
        else:
            t, f_p, f_n = tp[label], fp[label], fn[label]
        p = t / (t + f_p) if t + f_p else 0.0
        r = t / (t + f_n) if t + f_n else 0.0
        out[label] = {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "support": t + f_n}
    return out


def evaluate_iob(iob: Path, tagger) -> dict:
    sentences = read_iob(iob)
    prepared = prepare(sentences)
    gold = [
        {(s, e, PEYVAND_OF[label]) for s, e, label in spans_from_bio([t["ner"] for t in sent])} for sent in prepared
    ]
    tokens = [[t["text"] for t in sent] for sent in prepared]
    pred = []
    tagger.tag(tokens[:32])  # warm-up: the first call pays for lazy initialisation
    started = time.perf_counter()
    for lo in range(0, len(tokens), 256):
        pred.extend(set(x) for x in tagger.tag(tokens[lo : lo + 256]))
    seconds = time.perf_counter() - started
    scores = score_spans(gold, pred)
    scores["speed"] = {"sentences": len(tokens), "seconds": round(seconds, 2), "sentences_per_second": round(len(tokens) / seconds, 1)}
    return scores
