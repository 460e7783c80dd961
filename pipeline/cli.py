"""The ``peyvand`` command line: one command per stage, ``run`` for all, ``eval`` against gold."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from pipeline.settings import REPO_ROOT, Settings
from pipeline.stages import Context, StageError, all_stages

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Peyvand: persons, titles and organizations in Persian news, as a graph.")
models_app = typer.Typer(no_args_is_help=True, help="Manage NER models.")
app.add_typer(models_app, name="models")
console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("peyvand")

OutputOpt = typer.Option(Path("outputs"), "--output", "-o", help="Output folder (the work folder is OUTPUT/_work).")
ModelOpt = typer.Option(None, "--model", help="Project NER model folder (default: models/default when present).")
NoModelOpt = typer.Option(False, "--no-model", help="Run the domain layer (rules) alone.")
NoRulesOpt = typer.Option(False, "--no-rules", help="Run the NER model alone (for comparisons: no titles, no propagation).")
ResourcesOpt = typer.Option(None, "--stanza-resources", help="A stanza resources folder with the official fa models.")
QuietOpt = typer.Option(False, "--quiet", "-q", help="No progress bars, warnings only.")
StrictOpt = typer.Option(False, "--strict", help="Exit 1 when any article failed.")
ExcelOpt = typer.Option(False, "--excel-safe", help="Prefix CSV cells starting with = + - @ with an apostrophe.")
ChunkOpt = typer.Option(100, "--chunk-size", help="Articles per batch read, processed and written (results are cached per article).")
WorkersOpt = typer.Option(1, "--workers", help="Processes for ingest and ner (each loads the model once).")
ExecutorOpt = typer.Option("local", "--executor", help="Where ingest and ner run: local, or dask (a Dask distributed cluster).")
SchedulerOpt = typer.Option(None, "--scheduler", help="Dask scheduler address (tcp://host:8786); without it --executor dask starts a LocalCluster of --workers processes.")
WindowOpt = typer.Option("sentence", "--window", help="Co-occurrence window: sentence, paragraph or document.")
WeightOpt = typer.Option("count", "--weight", help="Edge weight: count, association (van Eck & Waltman) or pmi.")
MinWeightOpt = typer.Option(None, "--min-weight", help="Drop edges lighter than this.")
TypesOpt = typer.Option("PERSON,ORG", "--types", help="Node types in the graph (PERSON, ORG, LOC).")
BackboneOpt = typer.Option(None, "--backbone", help="Keep the disparity-filter backbone at this significance α (e.g. 0.05).")
MaxCharsOpt = typer.Option(200_000, "--max-article-chars", help="Longer articles are cut (reported in errors.csv).")
MaxTokensOpt = typer.Option(200, "--max-sentence-tokens", help="Longer sentences are split (reported in errors.csv).")
AliasesOpt = typer.Option(None, "--aliases", help="Force person merges/splits: lines 'merge|split<TAB>A<TAB>B' (see README).")
LinkThresholdOpt = typer.Option(0.5, "--link-threshold", help="Evidence score for joining a surname-only person to a full name.")


def _setup_logging(quiet: bool) -> None:
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )
    logging.getLogger("stanza").setLevel(logging.WARNING)
    log.setLevel(logging.WARNING if quiet else logging.INFO)


def _context(output: Path, quiet: bool, **kwargs) -> Context:
    from pipeline.io.workdir import WorkDir

    _setup_logging(quiet)
    settings = Settings(output=Path(output), **{k: v for k, v in kwargs.items() if v is not None})
    return Context(settings, WorkDir(settings.output), progress=not quiet and sys.stderr.isatty())


def _run_stages(ctx: Context, names: list[str], staged: bool = False) -> None:
    """Run the named stages.  ``staged``: write into a staging folder and swap it in at the end, so an
    interrupted run leaves the previous outputs intact (and the next run resumes from its cache)."""
    from pipeline.io.workdir import WorkDir, begin_staging, end_read_ahead, finish_staging, read_ahead

    final = ctx.settings.output
    if staged:
        staging = begin_staging(final)
        ctx.settings.output = staging
        ctx.work = WorkDir(staging, previous=WorkDir(final))
    stages = [stage for stage in all_stages() if stage.name in names]
    try:
        for stage, following in zip(stages, stages[1:] + [None]):
            if staged and following is not None and following.reads_back:
                read_ahead([ctx.work.previous.path / name for name in following.reads_back])
            summary = stage.execute(ctx)
            log.info("%s: %s", stage.name, ", ".join(f"{k}={v}" for k, v in summary.items()))
    except StageError as exc:
        console.print(f"[red]error:[/red] {exc}")
        _print_errors(ctx)
        raise typer.Exit(2) from None
    finally:
        end_read_ahead()
        ctx.close()
    if staged:
        finish_staging(ctx.settings.output, final)
        ctx.settings.output = final
        ctx.work = WorkDir(final)
    errors = ctx.work.errors()
    failed = errors[~errors["error"].str.startswith("warning:")] if len(errors) else errors
    if ("ingest" in names or len(failed)) and ctx.work.has("documents"):
        docs = ctx.work.read("documents", ["status"])
        ok = int((docs["status"] == "ok").sum())
        console.print(
            f"{len(docs)} article(s): {ok} read, {len(failed)} error(s), {len(errors) - len(failed)} warning(s)"
            + (f" — see {final / 'errors.csv'}" if len(errors) else "")
        )
    if ctx.settings.strict and len(failed):
        console.print("[red]--strict:[/red] the run had errors")
        raise typer.Exit(1)


def _print_errors(ctx: Context, limit: int = 10) -> None:
    errors = ctx.work.errors()
    for row in errors.head(limit).itertuples(index=False):
        console.print(f"  {row.doc_id}: {row.error}")
    if len(errors) > limit:
        console.print(f"  … and {len(errors) - limit} more")


@app.command()
def ingest(input: Path = typer.Argument(..., help="Folder of .txt files, or a .jsonl / .csv with id and text."), output: Path = OutputOpt, strict: bool = StrictOpt, chunk_size: int = ChunkOpt, max_article_chars: int = MaxCharsOpt, max_sentence_tokens: int = MaxTokensOpt, workers: int = WorkersOpt, executor: str = ExecutorOpt, scheduler: Optional[str] = SchedulerOpt, quiet: bool = QuietOpt):
    """Read, clean and normalize articles; split sentences; take title, date and agency."""
    ctx = _context(output, quiet, input=input, strict=strict, chunk_size=chunk_size, max_article_chars=max_article_chars, max_sentence_tokens=max_sentence_tokens, workers=workers, executor=executor, scheduler=scheduler)
    _run_stages(ctx, ["ingest"])


@app.command()
def ner(output: Path = OutputOpt, model: Optional[Path] = ModelOpt, no_model: bool = NoModelOpt, no_rules: bool = NoRulesOpt, stanza_resources: Optional[Path] = ResourcesOpt, batch_size: int = typer.Option(64, help="Sentences per model batch."), workers: int = WorkersOpt, executor: str = ExecutorOpt, scheduler: Optional[str] = SchedulerOpt, quiet: bool = QuietOpt):
    """Find persons, organizations, titles and places (model + domain layer)."""
    if no_model and no_rules:
        raise typer.BadParameter("--no-model and --no-rules leave nothing to find entities")
    ctx = _context(output, quiet, model_dir=model, use_model=not no_model, use_rules=not no_rules, stanza_resources=stanza_resources, ner_batch_size=batch_size, workers=workers, executor=executor, scheduler=scheduler)
    _run_stages(ctx, ["ner"])


@app.command()
def resolve(output: Path = OutputOpt, aliases: Optional[Path] = AliasesOpt, link_threshold: float = LinkThresholdOpt, quiet: bool = QuietOpt):
    """Merge mentions into entities (within and across documents); extract affiliations; write resolution.csv."""
    _run_stages(_context(output, quiet, aliases=aliases, person_link_threshold=link_threshold), ["resolve"])


@app.command()
def graph(
    output: Path = OutputOpt,
    window: str = WindowOpt,
    weight: str = WeightOpt,
    min_weight: Optional[float] = MinWeightOpt,
    types: str = TypesOpt,
    backbone: Optional[float] = BackboneOpt,
    excel_safe: bool = ExcelOpt,
    quiet: bool = QuietOpt,
):
    """Build the co-occurrence graph and write every output file (CSV, GraphML, GEXF)."""
    ctx = _context(output, quiet, window=window, excel_safe=excel_safe, weight=weight, min_weight=min_weight, types=types, backbone_alpha=backbone)
    _run_stages(ctx, ["graph"])


@app.command()
def run(
    input: Path = typer.Argument(REPO_ROOT / "seeds", help="Articles (default: the seed articles)."),
    output: Path = OutputOpt,
    model: Optional[Path] = ModelOpt,
    no_model: bool = NoModelOpt,
    no_rules: bool = NoRulesOpt,
    stanza_resources: Optional[Path] = ResourcesOpt,
    window: str = WindowOpt,
    weight: str = WeightOpt,
    min_weight: Optional[float] = MinWeightOpt,
    types: str = TypesOpt,
    backbone: Optional[float] = BackboneOpt,
    strict: bool = StrictOpt,
    excel_safe: bool = ExcelOpt,
    chunk_size: int = ChunkOpt,
    workers: int = WorkersOpt,
    executor: str = ExecutorOpt,
    scheduler: Optional[str] = SchedulerOpt,
    max_article_chars: int = MaxCharsOpt,
    max_sentence_tokens: int = MaxTokensOpt,
    aliases: Optional[Path] = AliasesOpt,
    link_threshold: float = LinkThresholdOpt,
    quiet: bool = QuietOpt,
):
    """Run ingest → ner → resolve → graph (into a staging folder swapped in at the end)."""
    ctx = _context(
        output, quiet, input=input, model_dir=model, use_model=not no_model, use_rules=not no_rules,
        stanza_resources=stanza_resources, aliases=aliases, person_link_threshold=link_threshold,
        window=window, weight=weight, min_weight=min_weight, types=types, backbone_alpha=backbone,
        strict=strict, excel_safe=excel_safe, chunk_size=chunk_size, workers=workers, executor=executor,
        scheduler=scheduler, max_article_chars=max_article_chars, max_sentence_tokens=max_sentence_tokens,
    )
    from pipeline.stages.ner import start_model_processes

    start_model_processes(ctx)  # the model loads in its own process while ingest reads the corpus
    _run_stages(ctx, ["ingest", "ner", "resolve", "graph"], staged=True)
    console.print(f"outputs written to {ctx.settings.output}")


@app.command()
def report(output: Path = OutputOpt):
    """Write OUTPUT/report.html: summary, top persons and organizations, posts, network pictures."""
    from pipeline.report import write_report

    _setup_logging(True)
    try:
        path = write_report(output)
    except FileNotFoundError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"report written to {path}")


@app.command()
def status(output: Path = OutputOpt):
    """Which stages are up to date, and why the others are stale."""
    ctx = _context(output, True)
    table = Table("stage", "state", "last run")
    stale_tables: set[str] = set()
    for stage in all_stages():
        reasons = stage.stale_reasons(ctx)
        upstream = sorted(set(stage.requires) & stale_tables)
        if upstream:
            reasons.append(f"{', '.join(upstream)} to be remade")
        if reasons:
            stale_tables |= set(stage.provides)
        recorded = ctx.work.manifest().get(stage.name, {})
        table.add_row(stage.name, "up to date" if not reasons else "stale: " + ", ".join(reasons), str(recorded.get("summary", "")))
    Console().print(table)


@app.command("eval")
def eval_command(
    output: Path = typer.Argument(..., help="A run's output folder."),
    gold: Path = typer.Argument(..., help="Folder of gold JSON files."),
    truth: Optional[Path] = typer.Option(None, "--truth", help="Corpus truth file (peyvand synth): adds B-cubed scores across documents."),
    details: bool = typer.Option(True, help="Per document: missed and spurious."),
):
    """Score outputs against gold: persons, organizations, person–title pairs, triples (and B-cubed with --truth)."""
    from pipeline.evaluate import corpus_scores, evaluate

    totals, reports = evaluate(output, gold)
    out = Console()
    table = Table("", "precision", "recall", "F1", "tp", "fp", "fn", title=f"{output} vs {gold}")
    for name, c in totals.items():
        table.add_row(name, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.tp), str(c.fp), str(c.fn))
    out.print(table)
    if details:
        for r in reports:
            if r.missed or r.spurious:
                out.print(f"[bold]{r.doc}[/bold]")
                for m in r.missed:
                    out.print(f"  missed   {m}")
                for s in r.spurious:
                    out.print(f"  spurious {s}")
    if truth:
        corpus = corpus_scores(output, gold, truth, reports)
        table = Table("B-cubed", "precision", "recall", "F1", "items", "baseline F1 (equal full names)",
                      title="entities across documents")
        for label, sc in corpus.scores.items():
            base = corpus.baseline[label]
            table.add_row(label, f"{sc.precision:.4f}", f"{sc.recall:.4f}", f"{sc.f1:.4f}", str(sc.items), f"{base.f1:.4f}")
        out.print(table)
        out.print(f"same-surname different persons merged into one entity: {len(corpus.wrong_merges)}")
        for eid, a, b in corpus.wrong_merges:
            out.print(f"  {eid}: {a}  +  {b}")


@app.command()
def synth(
    docs: int = typer.Option(2000, "--docs", help="Number of articles."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same corpus."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for articles/, gold/ and truth.json."),
    defects: float = typer.Option(0.15, help="Share of articles with the text defects of real sites."),
):
    """Write a genre corpus with known truth (articles, per-article gold, corpus truth file)."""
    from pipeline.synth import write_corpus

    _setup_logging(True)
    summary = write_corpus(out, docs, seed=seed, defects=defects)
    console.print(summary)
    console.print(f"run it: peyvand run {out / 'articles'} -o OUT; score it: peyvand eval OUT {out / 'gold'} --truth {out / 'truth.json'}")


@app.command("train-ner")
def train_ner_command(
    train: Path = typer.Argument(..., help="IOB training file (token TAG per line)."),
    out: Path = typer.Option(REPO_ROOT / "models" / "default", "--out", help="Model folder to write."),
    dev: Optional[Path] = typer.Option(None, help="IOB dev file (default: 10% of the training file)."),
    vectors: Optional[Path] = typer.Option(None, help="Word vectors (text format) instead of training word2vec."),
    text: list[Path] = typer.Option([], help="Extra plain-text files for the word vectors."),
    vectors_method: str = typer.Option("fasttext", help="fasttext (subword vectors) or word2vec."),
    lexicon_words: int = typer.Option(30000, help="Most frequent words of hazm's lexicon added to the vectors."),
    word_dim: int = typer.Option(100, help="Word-vector dimension when vectors are trained here."),
    hidden_dim: int = typer.Option(128, help="BiLSTM hidden size (stanza's default is 256: slower)."),
    char_hidden_dim: int = typer.Option(100, help="Character LSTM hidden size."),
    max_steps: int = typer.Option(8000),
    eval_interval: int = typer.Option(500),
    batch_size: int = typer.Option(32, help="Training batch size."),
    seed: int = typer.Option(1234),
    max_pretrain_words: int = typer.Option(0, help="After training, keep this many pretrain words (0: all) to keep the model small."),
):
    """Train a stanza NER model offline (see models/README.md)."""
    from pipeline.training import cap_pretrain, train_ner

    _setup_logging(False)
    meta = train_ner(
        train, out, dev_iob=dev, vectors=vectors, text_files=list(text), vectors_method=vectors_method,
        lexicon_size=lexicon_words, word_dim=word_dim, hidden_dim=hidden_dim, char_hidden_dim=char_hidden_dim,
        max_steps=max_steps, eval_interval=eval_interval, batch_size=batch_size, seed=seed,
    )
    if max_pretrain_words:
        meta["pretrain_words"] = cap_pretrain(out, max_pretrain_words)
    console.print(meta)


@app.command("eval-ner")
def eval_ner_command(
    iob: Path = typer.Argument(...),
    model: Path = typer.Option(REPO_ROOT / "models" / "default", "--model"),
    batch_size: int = typer.Option(32, help="Model batch size for tagging."),
):
    """Exact-span precision/recall/F1 of a model on an IOB file (PERSON, ORG, LOC; micro), and its speed."""
    from pipeline.model import NerTagger, project_spec
    from pipeline.training import evaluate_iob

    _setup_logging(True)
    scores = evaluate_iob(iob, NerTagger(project_spec(model, batch_size)))
    speed = scores.pop("speed")
    table = Table("class", "precision", "recall", "F1", "support")
    for label, s in scores.items():
        table.add_row(label, f"{s['precision']:.4f}", f"{s['recall']:.4f}", f"{s['f1']:.4f}", str(s["support"]))
    Console().print(table)
    Console().print(
        f"tagging: {speed['sentences']} sentences in {speed['seconds']} s = {speed['sentences_per_second']} sentences/s "
        f"(stanza.Pipeline, pre-split, batch {batch_size})"
    )


@models_app.command("download")
def models_download(dir: Path = typer.Argument(..., help="Folder for stanza's resources (needs internet).")):
    """Download stanza's official Persian tokenize+ner models (the only command that uses the network)."""
    import stanza

    stanza.download("fa", model_dir=str(dir), processors="tokenize,ner")  # the one network use: peyvand models download
    console.print(f"use them with: peyvand ner --stanza-resources {dir}")


def main() -> None:
    from pipeline.executors import tune_gc

    tune_gc()
    try:
        app()  # click ends with SystemExit, on success too
    except SystemExit as exc:
        # not under a profiler, tracer or coverage: they write their results at interpreter exit
        if exc.code in (0, None) and sys.getprofile() is None and sys.gettrace() is None:
            _end_process()
        raise


def _end_process() -> None:
    """End a successful command's process without tearing the interpreter down.  Every output is written,
    closed and in place by now; what is left is freeing modules and objects one by one (pandas, pyarrow,
    networkx: 0.2-0.3 s, a few percent of a daily re-run) for memory the system takes back anyway.  The
    exit handlers still run (logging, multiprocessing, libraries' own) and the streams are flushed."""
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
