"""Peyvand's benchmark: speed and memory per stage, against the physical floor of bare stanza NER.

    python benchmarks/run.py                      # corpora of 1,000 and 10,000 articles
    python benchmarks/run.py --sizes 200 1000     # smaller, for a quick look

For each corpus size it generates a genre corpus (`peyvand synth`, not timed), then runs each stage as a
separate process, exactly as a user would (`peyvand ingest`, `ner`, `resolve`, `graph`), once with the
default model and once with the domain layer alone (`--no-model`), and measures wall time and the peak
resident memory of each stage's process (``os.wait4``).  It then times bare ``stanza.Pipeline`` NER (the
default model, its batch size, pre-split sentences, in a process of its own) over the same sentences: the
floor for a design that runs a neural tagger over every sentence.  It writes the table, the machine's
description and the ratios to ``benchmarks/RESULTS.md`` and a picture of time against corpus size to
``benchmarks/time_vs_size.png``.
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


def write_results(results: dict, path: Path, png: Path) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {results['machine']}",
        f"Run: {results['date']}, `python benchmarks/run.py --sizes {' '.join(map(str, results['sizes']))}` "
        "(each stage a separate process, as a user runs it; corpora from `peyvand synth`).",
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
    lines += ["", "Bare `stanza.Pipeline` NER (default model, pre-split sentences, warm) and the whole pipeline against it:", "",
              "| articles | sentences | bare NER sentences/s | pipeline sentences/s | ratio | bare NER peak RSS (MB) |",
              "|---|---|---|---|---|---|"]
    for size in results["sizes"]:
        r = results["runs"][str(size)]
        bare = r["bare"]
        bare_rate = bare["sentences"] / bare["seconds"]
        total = sum(r["model"]["stages"][s]["seconds"] for s in STAGES)
        pipe_rate = r["sentences"] / total
        lines.append(f"| {r['documents']:,} | {r['sentences']:,} | {bare_rate:.0f} | {pipe_rate:.0f} | "
                     f"{pipe_rate / bare_rate:.2f}× | {bare['rss_mb']:.0f} |")
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
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "sizes": args.sizes, "runs": {}}
    for size in args.sizes:
        articles = make_corpus(size, args.seed, args.work / f"corpus_{size}")
        run = {}
        for mode in ("model", "rules"):
            out = args.work / f"out_{size}_{mode}"
            run[mode] = {"stages": run_pipeline(articles, out, rules_only=mode == "rules")}
            print(f"{size} {mode}: " + ", ".join(f"{s} {v['seconds']:.1f}s/{v['rss_mb']:.0f}MB" for s, v in run[mode]["stages"].items()),
                  flush=True)
        run["documents"], run["sentences"] = corpus_counts(args.work / f"out_{size}_model")
        run["bare"] = bare_stanza(args.work / f"out_{size}_model")
        print(f"{size} bare stanza: {run['bare']['sentences'] / run['bare']['seconds']:.0f} sentences/s", flush=True)
        results["runs"][str(size)] = run
    (args.work / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    png = args.results.parent / "time_vs_size.png"
    draw(results, png)
    write_results(results, args.results, png)
    print(f"written {args.results} and {png}")


if __name__ == "__main__":
    main()
