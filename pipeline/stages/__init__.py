"""The four stages and the runner.

Like stanza's processors, each stage declares the work tables it ``requires`` and ``provides``; the runner
records what each stage read (fingerprints) and ran with (settings, rules version) in the manifest, so
``peyvand status`` can tell which stages are stale after an input, a rule or a setting changed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from pipeline.io.workdir import WorkDir
from pipeline.settings import Settings

log = logging.getLogger("peyvand")


class StageError(Exception):
    """A stage cannot run at all (missing inputs, unreadable model): a user-facing message."""


@dataclass
class Context:
    settings: Settings
    work: WorkDir
    progress: bool = True
    notes: dict = field(default_factory=dict)
    _executor: object = None
    _model_executor: object = None

    def executor(self):
        """Where ingest and ner run their jobs (settings ``executor``, ``workers``, ``scheduler``); made on
        first use and kept for the run, so a Dask client connects once."""
        if self._executor is None:
            from pipeline.executors import make_executor

            try:
                self._executor = make_executor(self.settings.executor, self.settings.workers, self.settings.scheduler)
            except (ValueError, RuntimeError, OSError) as exc:
                raise StageError(f"cannot start the {self.settings.executor} executor: {exc}") from None
        return self._executor

    def model_executor(self):
        """Where the NER model runs: the Dask cluster, or local processes of its own (one without
        --workers: the model runs in a child even then, so its memory leaves with it after ner)."""
        executor = self.executor()
        if executor.name == "dask":
            return executor
        if self._model_executor is None:
            from pipeline.executors import LocalProcesses

            self._model_executor = LocalProcesses(max(1, self.settings.workers))
        return self._model_executor

    def release_model_executor(self) -> None:
        if self._model_executor is not None:
            self._model_executor.close()
            self._model_executor = None

    def close(self) -> None:
        self.release_model_executor()
        if self._executor is not None:
            self._executor.close()
            self._executor = None


class Stage:
    name: str = ""
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    settings_used: tuple[str, ...] = ()
    # tables of its own last run that the stage reads whole: `peyvand run` reads them ahead, in the
    # background, while the stage before it works
    reads_back: tuple[str, ...] = ()

    def run(self, ctx: Context) -> dict:  # returns a summary for the manifest and the log
        raise NotImplementedError

    def version(self) -> str:
        """Changes when the stage's own knowledge changes (rules, lexicons); '' when it has none."""
        return ""

    def check_inputs(self, ctx: Context) -> None:
        missing = [name for name in self.requires if not ctx.work.has(name)]
        if missing:
            raise StageError(
                f"`{self.name}` needs {', '.join(missing)} in {ctx.work.path}: run the earlier stage first "
                f"(or `peyvand run`)."
            )

    def state(self, ctx: Context) -> dict:
        used = {k: v for k, v in ctx.settings.describe().items() if k in self.settings_used}
        return {
            "requires": {name: ctx.work.fingerprint(name) for name in self.requires},
            "settings": used,
            "version": self.version(),
        }

    def execute(self, ctx: Context) -> dict:
        self.check_inputs(ctx)
        started = time.time()
        state = self.state(ctx)
        summary = self.run(ctx)
        state["summary"] = summary
        state["seconds"] = round(time.time() - started, 3)
        state["provides"] = {name: ctx.work.fingerprint(name) for name in self.provides}
        ctx.work.record(self.name, state)
        return summary

    def stale_reasons(self, ctx: Context, check_settings: bool = False) -> list[str]:
        """Why the stage's outputs are out of date: its inputs or its rules changed since it ran (and, with
        ``check_settings``, the settings in ``ctx`` differ from the ones it ran with)."""
        recorded = ctx.work.manifest().get(self.name)
        if not recorded:
            return ["never run"]
        current = self.state(ctx)
        reasons = []
        for name, fp in current["requires"].items():
            if recorded.get("requires", {}).get(name) != fp:
                reasons.append(f"{name} changed")
        if check_settings and recorded.get("settings") != current["settings"]:
            reasons.append("settings changed")
        if recorded.get("version") != current["version"]:
            reasons.append("rules changed")
        return reasons


def all_stages() -> list[Stage]:
    from pipeline.stages.graph import GraphStage
    from pipeline.stages.ingest import IngestStage
    from pipeline.stages.ner import NerStage
    from pipeline.stages.resolve import ResolveStage

    return [IngestStage(), NerStage(), ResolveStage(), GraphStage()]
