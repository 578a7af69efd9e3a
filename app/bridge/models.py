"""Models for the desk: what is available and loaded, switching, adding, removing, benchmarks.

Push feed: ``snapshot`` (everything the Models panel shows, after any change), ``event`` (the
manager's events: loaded, evicted, fell back…, from whichever thread caused them), ``error``
(a refused action), ``benchmarkProgress`` / ``benchmarkDone``. Benchmarks run on their own lane
(a minute of timing must never queue scoring behind it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import OpContext, Operation, Refused
from engine.models.cache import LoadedModel
from engine.models.manager import ModelInfo
from engine.types import ModelStatus

__all__ = ["BenchmarkOutcome", "BenchmarkProgress", "EndpointHealth", "GgufFit", "ModelsFeature", "ModelsSnapshot"]

TASKS = ("sentiment", "embedding", "generation")


@dataclass(frozen=True)
class ModelsSnapshot:
    """Everything the Models panel shows, taken at one moment."""

    models: tuple[ModelInfo, ...]
    loaded: tuple[LoadedModel, ...]
    explanations: dict[str, str]  # task -> "why this model"
    sentiment: ModelStatus


@dataclass(frozen=True)
class BenchmarkProgress:
    model_id: str
    done: int
    total: int
    stage: str


@dataclass(frozen=True)
class BenchmarkOutcome:
    model_id: str
    result: dict[str, Any] | None  # BenchmarkResult.to_dict()
    error: str
    cancelled: bool


@dataclass(frozen=True)
class GgufFit:
    """Whether a GGUF file fits this machine, from its header, before it is added or loaded."""

    path: str
    estimate: dict  # engine.models.gguf.MemoryEstimate.to_dict(): weights/KV/compute/total MB, fits, text
    budget_mb: float  # the desk's model memory budget (MODEL_MEMORY_LIMIT)
    size_mb: float  # the file on disk

    @property
    def fits_ram(self) -> bool:
        return bool(self.estimate.get("fits"))

    @property
    def fits_budget(self) -> bool:
        return float(self.estimate.get("total_mb", 0.0)) <= self.budget_mb

    @property
    def fits(self) -> bool:
        return self.fits_ram and self.fits_budget

    def describe(self) -> str:
        text = str(self.estimate.get("text", ""))
        if not self.fits_budget:
            text += f"; over the desk's model memory budget of {self.budget_mb:,.0f} MB (MODEL_MEMORY_LIMIT)"
        return text


@dataclass(frozen=True)
class EndpointHealth:
    url: str  # normalised base URL (…/v1); never a key
    model: str
    models: tuple[str, ...]  # what the endpoint serves
    ms: float  # round trip of the health check


def snapshot_of(engine) -> ModelsSnapshot:
    models = engine.models
    return ModelsSnapshot(tuple(models.all_models()), tuple(models.loaded()),
                          {task: models.explain(task) for task in TASKS}, engine.sentiment_status)


class ModelsFeature(Feature):
    snapshot = Signal(object)  # ModelsSnapshot
    event = Signal(object)  # engine.models.manager.ModelEvent
    error = Signal(str)  # a refused switch/add/remove
    benchmarkProgress = Signal(object)  # BenchmarkProgress
    benchmarkDone = Signal(object)  # BenchmarkOutcome

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self._bench_cancel = threading.Event()
        self._bench_running = False
        host.on_start(self._start)
        host.every(60.0, self._sweep_idle)

    def _start(self, engine) -> None:
        engine.models.subscribe(self._on_model_event)
        self.snapshot.emit(snapshot_of(engine))

    def _on_model_event(self, event) -> None:
        """Any thread: relay, and refresh the snapshot on the engine lane (loads change what is shown)."""
        self.event.emit(event)
        self.refresh()

    def _sweep_idle(self) -> None:
        engine = self._host.engine
        if engine is not None:
            engine.models.sweep_idle()

    def refresh(self) -> None:
        self.op("Reading the models", lambda ctx: snapshot_of(ctx.engine)).on_success(self.snapshot.emit).run()

    def _change(self, name: str, action) -> None:
        from engine.models.manager import ModelSwitchError
        from engine.models.registry import ModelRegistryError

        def run(ctx: OpContext) -> ModelsSnapshot:
            action(ctx.engine.models)
            return snapshot_of(ctx.engine)

        self.op(name, run, expected=(ModelSwitchError, ModelRegistryError, OSError)) \
            .on_success(self.snapshot.emit).on_failure(lambda message: (self.error.emit(message), self.refresh())) \
            .run()

    def switch(self, task: str, model_id: str) -> None:
        self._change("Switching models", lambda models: models.switch(task, model_id))

    def add(self, path: str | Path, task: str = "", labels: str = "", model_id: str = "") -> None:
        label_list = [x.strip() for x in labels.split(",") if x.strip()] or None
        self._change("Adding a model", lambda models: models.add_user_model(Path(path), task or None, label_list,
                                                                           model_id or None))

    def add_endpoint(self, url: str, model: str, api_key_env: str = "", model_id: str = "") -> None:
        """An OpenAI-compatible endpoint (health-checked first); the key stays in the environment."""
        self._change("Adding an endpoint", lambda models: models.add_endpoint(url, model, api_key_env=api_key_env,
                                                                             model_id=model_id or None))

    def estimate_gguf(self, path: str | Path, on_done: Callable[[GgufFit], None],
                      on_failure: Callable[[str], None] | None = None) -> Operation:
        """Read a GGUF file's header and estimate its memory against the RAM available now (milliseconds:
        nothing is hashed or loaded). A file that is not a readable GGUF is refused with the reason, on
        ``error`` like a refused add unless ``on_failure`` is given."""
        def run(ctx: OpContext) -> GgufFit:
            import psutil

            from engine.models.gguf import CONTEXT_TOKENS, GGUFError, estimate_memory, read_header

            file = Path(path)
            try:
                header = read_header(file)
            except GGUFError as exc:
                raise Refused(str(exc)) from None
            available = psutil.virtual_memory().available / 2**20
            estimate = estimate_memory(header, CONTEXT_TOKENS, available)
            return GgufFit(str(file), estimate.to_dict(), float(ctx.engine.config.model_memory_limit_mb),
                           file.stat().st_size / 1e6)

        return self.op("Estimating a GGUF file's memory", run, expected=(OSError,)) \
            .on_success(on_done).on_failure(on_failure or self.error.emit).run()

    def check_endpoint(self, url: str, model: str, api_key_env: str, on_done: Callable[[EndpointHealth], None],
                       on_failure: Callable[[str], None]) -> Operation:
        """Health-check an OpenAI-compatible endpoint without adding it. On the calibration lane (short
        jobs): a slow or dead endpoint's timeout must not hold up pasted text on the engine lane."""
        def run(ctx: OpContext) -> EndpointHealth:
            from engine.generation.endpoint_backend import EndpointError, EndpointGenerator, check_config

            try:
                config = check_config(url, model, api_key_env)
                health = EndpointGenerator(config).health()
            except EndpointError as exc:
                raise Refused(str(exc)) from None
            return EndpointHealth(config.url, config.model, tuple(health["models"]), float(health["ms"]))

        return self.op("Checking an endpoint", run, lane="calibration").on_success(on_done) \
            .on_failure(on_failure).run()

    def remove(self, model_id: str) -> None:
        self._change("Removing a model", lambda models: models.remove_user_model(model_id))

    def run_benchmark(self, model_id: str) -> None:
        """On the benchmark lane; one at a time. Progress and the outcome arrive on the feed."""
        if self._bench_running:
            self.benchmarkDone.emit(BenchmarkOutcome(model_id, None, "a benchmark is already running", False))
            return
        self._bench_cancel.clear()  # here, not on the lane, so a Cancel pressed before the run starts counts
        self._bench_running = True

        def run(ctx: OpContext) -> BenchmarkOutcome:
            from engine.models.benchmark import BenchmarkCancelled

            try:
                result = ctx.engine.models.benchmark(
                    model_id, progress=lambda done, total, stage: self.benchmarkProgress.emit(
                        BenchmarkProgress(model_id, done, total, stage)),
                    cancelled=lambda: self._bench_cancel.is_set() or ctx.cancelled())
            except BenchmarkCancelled:
                return BenchmarkOutcome(model_id, None, "", True)
            self.refresh()  # fresh figures feed selection and the table
            return BenchmarkOutcome(model_id, result.to_dict(), "", False)

        def done(outcome: BenchmarkOutcome) -> None:
            self._bench_running = False
            self.benchmarkDone.emit(outcome)

        self.op(f"Benchmarking {model_id}", run, lane="benchmark").on_success(done) \
            .on_failure(lambda message: done(BenchmarkOutcome(model_id, None, message, False))).run()

    def cancel_benchmark(self) -> None:
        self._bench_cancel.set()
