"""Peyvand's benchmark: speed and memory per stage, against the physical floor of bare stanza NER.

    python benchmarks/run.py                      # corpora of 1,000 and 10,000 articles
    python benchmarks/run.py --sizes 200 1000     # smaller, for a quick look

For each corpus size it generates a genre corpus (`peyvand synth`, not timed), then:

1. runs each stage as a separate process, exactly as a user would (`peyvand ingest`, `ner`, `resolve`,
   `graph`), once with the default model and once with the domain layer alone (`--no-model`), measuring
   wall time and the peak resident memory of each stage's process (``os.wait4``);
2. runs the whole pipeline as one `peyvand run` process (model, and rules-only) on a folder holding the
   corpus less its last 1% of articles (a cold run: empty cache), then adds that 1% to the folder and runs
   the same command again (the daily re-run), and checks that the old articles' rows are unchanged;
3. runs `peyvand ner --workers 2` from an empty ner cache and compares it with the `--workers 1` stage run
   (`--remeasure workers` runs both, one after the other);
4. times bare ``stanza.Pipeline`` NER (the default model, its batch size, pre-split sentences, in a process
   of its own) over the same sentences: the floor for a design that runs a neural tagger over every sentence.

It writes the tables, the machine's description and the ratios to ``benchmarks/RESULTS.md`` and a picture
of time against corpus size to ``benchmarks/time_vs_size.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("ingest", "ner", "resolve", "graph")


def run_measured(args: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, output) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    # read the output while it runs (a full pipe would block the child), then reap it with its rusage
    output = proc.stdout.read().decode("utf-8", "replace")
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{output[-3000:]}")
    return wall, usage.ru_maxrss / 1024, output  # ru_maxrss is in KiB on Linux


def peyvand(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args]


def make_corpus(size: int, seed: int, folder: Path) -> Path:
    if not (folder / "truth.json").exists():
        subprocess.run(peyvand("synth", "--docs", str(size), "--seed", str(seed), "-o", str(folder)), cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    return folder / "articles"


def run_pipeline(articles: Path, out: Path, rules_only: bool) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    rows = {}
    for stage in STAGES:
        args = {"ingest": ["ingest", str(articles)], "ner": ["ner"] + (["--no-model"] if rules_only else []),
                "resolve": ["resolve"], "graph": ["graph"]}[stage]
        wall, rss, _ = run_measured(peyvand(*args, "-o", str(out), "-q"))
        rows[stage] = {"seconds": wall, "rss_mb": rss}
    return rows


def whole_runs(articles: Path, work: Path, rules_only: bool) -> dict:
    """A cold `peyvand run` on a folder holding all but the last 1% of the articles, then, as a daily
    re-run, the same command after the last 1% arrived in that folder."""
    files = sorted(articles.glob("*.txt"))
    held = max(1, len(files) // 100)
    folder = work / ("daily_rules" if rules_only else "daily_model")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for f in files[:-held]:
        (folder / f.name).symlink_to(f.resolve())
    out = work / ("run_rules" if rules_only else "run_model")
    shutil.rmtree(out, ignore_errors=True)
    extra = ["--no-model"] if rules_only else []
    cold, cold_rss, _ = run_measured(peyvand("run", str(folder), "-o", str(out), "-q", *extra))
    import pandas as pd

    before = {name: pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False) for name in ("documents", "mentions")}
    for f in files[-held:]:  # the day's new articles arrive
        (folder / f.name).symlink_to(f.resolve())
    # a day later the cold run's writes (~200 MB at 10k) are on disk; right after it, the re-run's SQLite
    # commits would wait behind their writeback
    os.sync()
    time.sleep(5)
    again, again_rss, _ = run_measured(peyvand("run", str(folder), "-o", str(out), "-q", *extra))
    after = {name: pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False) for name in ("documents", "mentions")}
    old = set(before["documents"]["doc_id"])
    same = {}
    for name, frame in before.items():
        cols = [c for c in frame.columns if c not in ("entity_id", "source_path")]
        kept = after[name][after[name]["doc_id"].isin(old)].reset_index(drop=True)
        same[name] = kept[cols].equals(frame[cols].reset_index(drop=True))
    ids_changed = int((after["mentions"][after["mentions"]["doc_id"].isin(old)]["entity_id"].reset_index(drop=True)
                       != before["mentions"]["entity_id"].reset_index(drop=True)).sum())
    manifest = json.loads((out / "_work" / "manifest.json").read_text(encoding="utf-8"))
    return {"cold_articles": len(files) - held, "added": held, "cold_seconds": cold, "cold_rss_mb": cold_rss,
            "rerun_seconds": again, "rerun_rss_mb": again_rss, "old_rows_same": same, "entity_ids_changed": ids_changed,
            "rerun_stages": {k: v.get("seconds") for k, v in manifest.items()},
            "rerun_processed": {k: v.get("summary", {}).get("processed") for k, v in manifest.items()},
            "rerun_groups": {k: (v.get("summary", {}).get("groups_rebuilt"), v.get("summary", {}).get("groups"))
                             for k, v in manifest.items() if "groups_rebuilt" in v.get("summary", {})}}


def ner_workers(out: Path, workers: int) -> dict:
    """`peyvand ner --workers N` from an empty ner cache and no ner tables (whose parts would otherwise be
    reused), on the ingested corpus of a stage run."""
    for name in ("ner.sqlite", "ner-model.sqlite"):
        (out / "_work" / "cache" / name).unlink(missing_ok=True)
    for name in ("mentions", "mention_sentences"):
        shutil.rmtree(out / "_work" / name, ignore_errors=True)
        (out / "_work" / f"{name}.parquet").unlink(missing_ok=True)
    wall, rss, _ = run_measured(peyvand("ner", "-o", str(out), "-q", "--workers", str(workers)))
    return {"seconds": wall, "rss_mb": rss}


def corpus_counts(out: Path) -> tuple[int, int]:
    import pandas as pd

    docs = pd.read_csv(out / "documents.csv", dtype=str, keep_default_na=False)
    return len(docs), int(pd.to_numeric(docs["n_sentences"]).sum())


def bare_stanza(out: Path) -> dict:
    """Bare stanza NER over the run's pre-split sentences, in a process of its own."""
    code = f"""
import json, time
import pandas as pd
from pipeline.io.workdir import WorkDir
from pipeline.model import NerTagger, find_model
from pipeline.settings import Settings
settings = Settings()
spec = find_model(settings)
tokens = [list(t) for t in WorkDir({str(out)!r}).read("sentences")["tokens"]]
tagger = NerTagger(spec)
tagger.tag(tokens[:64])
started = time.perf_counter()
batch = spec.batch_size * 4
for lo in range(0, len(tokens), batch):
    tagger.tag(tokens[lo:lo + batch])
print(json.dumps({{"sentences": len(tokens), "seconds": time.perf_counter() - started, "batch": spec.batch_size}}))
"""
    wall, rss, output = run_measured([sys.executable, "-c", code])
    result = json.loads(output.strip().splitlines()[-1])
    result["rss_mb"] = rss
    return result


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    import torch

    return (f"{cpu or platform.processor()}, {os.cpu_count()} cores, {mem}; Linux {platform.release()}; "
            f"Python {platform.python_version()}, torch {torch.__version__} (CPU, {torch.get_num_threads()} threads)")


def commit() -> str:
    try:
        done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "pipeline"], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except OSError:
        return ""


def write_results(results: dict, path: Path, png: Path) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {results['machine']}",
        f"Run: {results['date']}, `python benchmarks/run.py --sizes {' '.join(map(str, results['sizes']))}` "
        f"(code {results.get('commit') or 'unrecorded'}; corpora from `peyvand synth`; below, each stage a separate "
        "process, as a user runs them one by one).",
    ]
    for part, when in results.get("remeasured", {}).items():
        lines.append(f"Measured again with `--remeasure {part}` on {when['date']} (code {when['commit']}): "
                     + ("the whole-run rows and the bare-NER ratios of one run." if part == "whole" else "the `--workers` rows (both runs)."))
    lines += [
        "",
        "| articles | mode | stage | seconds | articles/s | sentences/s | peak RSS (MB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for size in results["sizes"]:
        r = results["runs"][str(size)]
        for mode in ("model", "rules"):
            stages = r[mode]["stages"]
            n_docs, n_sents = r["documents"], r["sentences"]
            for stage in STAGES:
                s = stages[stage]
                lines.append(f"| {n_docs:,} | {mode} | {stage} | {s['seconds']:.1f} | {n_docs / s['seconds']:.0f} | "
                             f"{n_sents / s['seconds']:.0f} | {s['rss_mb']:.0f} |")
            total = sum(stages[s]["seconds"] for s in STAGES)
            peak = max(stages[s]["rss_mb"] for s in STAGES)
            lines.append(f"| {n_docs:,} | {mode} | **whole** | **{total:.1f}** | **{n_docs / total:.0f}** | "
                         f"**{n_sents / total:.0f}** | **{peak:.0f}** |")
    lines += ["", "Bare `stanza.Pipeline` NER (default model, pre-split sentences, warm) and the whole pipeline against it "
              "(the same sentences; *stages* = the four stage processes above, *one run* = one `peyvand run` process, cold):", "",
              "| articles | sentences | bare NER sentences/s | stages sentences/s | ratio | one run sentences/s | ratio | bare NER peak RSS (MB) |",
              "|---|---|---|---|---|---|---|---|"]
    for size in results["sizes"]:
        r = results["runs"][str(size)]
        bare = r["bare"]
        bare_rate = bare["sentences"] / bare["seconds"]
        total = sum(r["model"]["stages"][s]["seconds"] for s in STAGES)
        pipe_rate = r["sentences"] / total
        w = r["model"]["whole"]
        one_rate = r["sentences"] * w["cold_articles"] / r["documents"] / w["cold_seconds"]  # its corpus is 99%
        lines.append(f"| {r['documents']:,} | {r['sentences']:,} | {bare_rate:.0f} | {pipe_rate:.0f} | "
                     f"{pipe_rate / bare_rate:.2f}× | {one_rate:.0f} | {one_rate / bare_rate:.2f}× | {bare['rss_mb']:.0f} |")
    lines += ["", "The whole pipeline as one `peyvand run` (cold, empty cache) and the daily re-run after adding 1% new articles "
              "(*old rows same*: documents and mentions of the old articles identical, entity ids aside):", "",
              "| articles | mode | cold run s | articles/s | peak RSS (MB) | + new | re-run s | speed-up | old rows same | entity ids changed | re-run per stage (s) | groups rebuilt |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in results["sizes"]:
        r = results["runs"][str(size)]
        for mode in ("model", "rules"):
            w = r[mode]["whole"]
            stages = ", ".join(f"{k} {v:.1f}" for k, v in w["rerun_stages"].items() if v is not None)
            lines.append(f"| {w['cold_articles']:,} | {mode} | {w['cold_seconds']:.1f} | {w['cold_articles'] / w['cold_seconds']:.0f} | "
                         f"{w['cold_rss_mb']:.0f} | {w['added']} | {w['rerun_seconds']:.1f} | {w['cold_seconds'] / w['rerun_seconds']:.1f}× | "
                         f"{'yes' if all(w['old_rows_same'].values()) else 'NO'} | {w['entity_ids_changed']} | {stages} | "
                         + ", ".join(f"{k} {a}/{b}" for k, (a, b) in w.get("rerun_groups", {}).items()) + " |")
    lines += ["", "`peyvand ner` with the default model, empty cache: one process against two worker processes:", "",
              "| articles | --workers 1 s | --workers 2 s | speed-up |", "|---|---|---|---|"]
    for size in results["sizes"]:
        r = results["runs"][str(size)]
        one = r.get("ner_workers1", r["model"]["stages"]["ner"])["seconds"]  # else the stage run's ner (one worker)
        two = r["ner_workers2"]["seconds"]
        lines.append(f"| {r['documents']:,} | {one:.1f} | {two:.1f} | {one / two:.2f}× |")
    lines += ["", f"![time against corpus size]({png.name})", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def draw(results: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for mode, style in (("model", "-"), ("rules", "--")):
        for stage, colour in zip(STAGES, ("#4c72b0", "#dd8452", "#55a868", "#c44e52")):
            ax.plot(sizes, [results["runs"][str(n)][mode]["stages"][stage]["seconds"] for n in sizes], style, marker="o",
                    color=colour, label=f"{stage} ({mode})")
        ax.plot(sizes, [sum(results["runs"][str(n)][mode]["stages"][s]["seconds"] for s in STAGES) for n in sizes], style,
                marker="s", color="black", label=f"whole ({mode})")
    ax.plot(sizes, [results["runs"][str(n)]["bare"]["seconds"] for n in sizes], ":", marker="^", color="grey",
            label="bare stanza NER")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("articles")
    ax.set_ylabel("seconds")
    ax.set_title("Peyvand: time against corpus size")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(png, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/peyvand-bench"), help="Scratch folder for corpora and runs.")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--remeasure", nargs="+", choices=("whole", "workers"), default=(),
                        help="Measure only these parts again (the whole runs, `ner --workers 2`) on the corpora and "
                             "stage outputs of the last run, and rewrite the results.")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    png = args.results.parent / "time_vs_size.png"
    if args.remeasure:
        results = json.loads((args.work / "results.json").read_text(encoding="utf-8"))
        for size in results["sizes"]:
            run = results["runs"][str(size)]
            if "whole" in args.remeasure:
                for mode in ("model", "rules"):
                    run[mode]["whole"] = whole_runs(args.work / f"corpus_{size}" / "articles", args.work / f"whole_{size}",
                                                    rules_only=mode == "rules")
                    w = run[mode]["whole"]
                    print(f"{size} {mode} whole: cold {w['cold_seconds']:.1f}s, re-run {w['rerun_seconds']:.1f}s", flush=True)
            if "workers" in args.remeasure:  # both, one after the other: the same code and the same machine state
                for n in (1, 2):
                    run[f"ner_workers{n}"] = ner_workers(args.work / f"out_{size}_model", n)
                    print(f"{size} ner --workers {n}: {run[f'ner_workers{n}']['seconds']:.1f}s", flush=True)
        results.setdefault("remeasured", {}).update({part: {"date": time.strftime("%Y-%m-%d %H:%M"), "commit": commit()}
                                                     for part in args.remeasure})
        (args.work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        draw(results, png)
        write_results(results, args.results, png)
        print(f"written {args.results} and {png}")
        return
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "commit": commit(), "sizes": args.sizes, "runs": {}}
    for size in args.sizes:
        articles = make_corpus(size, args.seed, args.work / f"corpus_{size}")
        run = {}
        for mode in ("model", "rules"):
            out = args.work / f"out_{size}_{mode}"
            run[mode] = {"stages": run_pipeline(articles, out, rules_only=mode == "rules")}
            print(f"{size} {mode}: " + ", ".join(f"{s} {v['seconds']:.1f}s/{v['rss_mb']:.0f}MB" for s, v in run[mode]["stages"].items()),
                  flush=True)
        for mode in ("model", "rules"):
            run[mode]["whole"] = whole_runs(articles, args.work / f"whole_{size}", rules_only=mode == "rules")
            w = run[mode]["whole"]
            print(f"{size} {mode} whole: cold {w['cold_seconds']:.1f}s/{w['cold_rss_mb']:.0f}MB, re-run +{w['added']} "
                  f"{w['rerun_seconds']:.1f}s, old rows same {w['old_rows_same']}", flush=True)
        run["ner_workers2"] = ner_workers(args.work / f"out_{size}_model", 2)
        print(f"{size} ner --workers 2: {run['ner_workers2']['seconds']:.1f}s", flush=True)
        run["documents"], run["sentences"] = corpus_counts(args.work / f"out_{size}_model")
        run["bare"] = bare_stanza(args.work / f"out_{size}_model")
        print(f"{size} bare stanza: {run['bare']['sentences'] / run['bare']['seconds']:.0f} sentences/s", flush=True)
        results["runs"][str(size)] = run
    (args.work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    draw(results, png)
    write_results(results, args.results, png)
    print(f"written {args.results} and {png}")


if __name__ == "__main__":
    main()
