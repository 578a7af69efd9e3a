"""Monitoring for the desk: live samples, memory events and what was done about them, history.

Samples and memory events come from the engine's sampler thread, so a busy engine lane never
stalls the charts; samples faster than ~20 a second are not sent (they stay in the history
table). Memory actions (unload idle models, switch to a lighter one) run on the engine lane.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import OpContext
from engine.monitoring import (WINDOWS_S, MemoryPolicy, MetricsSample, SwitchToLighterModel, UnloadIdleModels)
from engine.wording import plural

log = logging.getLogger(__name__)

EMIT_INTERVAL_S = 0.05
# Every series the sampler writes (engine.monitoring.MetricsSample.rows); the Monitor backfills these.
HISTORY_METRICS = ("rss_mb", "cpu_percent", "queue_depth", "throughput_per_s", "latency_p50_ms",
                   "latency_p95_ms", "model_memory_mb")

__all__ = ["HISTORY_METRICS", "MemoryAction", "MetricsHistoryResult", "MonitorFeature", "MonitorInfo"]


@dataclass(frozen=True)
class MonitorInfo:
    """Sent once the engine's sampler runs: what the Monitor needs to draw budget lines."""

    interval_s: float
    policy: MemoryPolicy  # growth above policy.baseline_mb (or the models' memory) is charged against policy.limit_mb
    windows: tuple[tuple[str, float], ...]  # (name, seconds) from engine.monitoring.WINDOWS_S


@dataclass(frozen=True)
class MemoryAction:
    """What the desk did about a memory event (the monitor only says what should happen)."""

    event: UnloadIdleModels | SwitchToLighterModel  # the event it answers
    action: str  # unload | switch
    message: str
    models: tuple[str, ...]  # ids unloaded, or (from, to) of a switch; empty when nothing changed
    ok: bool  # False: nothing could be done; the message says why


@dataclass(frozen=True)
class MetricsHistoryResult:
    since: float
    series: dict[tuple[str, str], tuple[tuple[float, float], ...]]  # (metric, key) -> ((at, value), ...) oldest first
    error: str = ""


def unload_idle(engine, event: UnloadIdleModels) -> MemoryAction:
    unloaded = tuple(engine.models.sweep_idle())
    if unloaded:
        return MemoryAction(event, "unload", f"Unloaded {plural(len(unloaded), 'idle model')} to free memory: "
                            f"{', '.join(unloaded)}.", unloaded, True)
    return MemoryAction(event, "unload", "No model was idle long enough to unload "
                        f"(idle after {engine.config.model_idle_unload_s:.0f} s).", (), False)


def switch_lighter(engine, event: SwitchToLighterModel) -> MemoryAction:
    models = engine.models
    model_id, task = event.model.split("@", 1)[0], event.task
    idle_s = engine.config.model_idle_unload_s
    current = models.active(task) if task else None
    if current is None or current.id != model_id:
        return MemoryAction(event, "switch", f"{model_id} is loaded but not serving {task or 'a task'}; "
                            f"it is unloaded once idle for {idle_s:.0f} s.", (), False)
    lighter = [m for m in models.available(task)
               if m.id != model_id and m.compatible and m.status != "missing" and m.size_mb < current.size_mb]
    if not lighter:
        return MemoryAction(event, "switch", f"No lighter {task} model than {model_id} is available; "
                            "it keeps serving.", (), False)
    target = min(lighter, key=lambda m: m.size_mb)
    # Not remembered: a memory emergency must not overwrite the operator's own choice.
    models.switch(task, target.id, remember=False)
    return MemoryAction(event, "switch", f"Switched {task} from {model_id} ({current.size_mb:.0f} MB) to the "
                        f"lighter {target.id} ({target.size_mb:.0f} MB) to stay within the memory budget.",
                        (model_id, target.id), True)


class MonitorFeature(Feature):
    started = Signal(object)  # MonitorInfo
    sampled = Signal(object)  # MetricsSample, at most ~20 a second
    memoryEvent = Signal(object)  # MemoryWarning | UnloadIdleModels | SwitchToLighterModel | MemoryRecovered
    memoryAction = Signal(object)  # MemoryAction

    def __init__(self, host: EngineHost, queue_depth: Callable[[], int], on_models_changed: Callable[[], None]) -> None:
        super().__init__(host)
        self._queue_depth = queue_depth
        self._on_models_changed = on_models_changed
        self._last_emit = 0.0
        host.on_start(self._start)

    def _start(self, engine) -> None:
        monitor = engine.monitor
        # The desk's queue is the pasted items waiting on the engine lane.
        monitor.queue_depth = self._queue_depth
        monitor.start(self._on_metrics)
        self.started.emit(MonitorInfo(monitor.interval_s, monitor.guard.policy, tuple(WINDOWS_S.items())))

    def _on_metrics(self, sample: MetricsSample, events: list) -> None:
        """Sampler thread: samples are thinned, events never dropped."""
        now = time.monotonic()
        if now - self._last_emit >= EMIT_INTERVAL_S:
            self._last_emit = now
            self.sampled.emit(sample)
        for event in events:
            log.warning("memory: %s", event.message)
            self.memoryEvent.emit(event)
            if isinstance(event, (UnloadIdleModels, SwitchToLighterModel)):
                self._act(event)

    def _act(self, event: UnloadIdleModels | SwitchToLighterModel) -> None:
        kind = "unload" if isinstance(event, UnloadIdleModels) else "switch"

        def run(ctx: OpContext) -> MemoryAction:
            return unload_idle(ctx.engine, event) if kind == "unload" else switch_lighter(ctx.engine, event)

        def done(action: MemoryAction) -> None:
            log.warning("memory action: %s", action.message)
            self.memoryAction.emit(action)
            if action.models:
                self._on_models_changed()

        self.op(f"Memory action ({kind})", run).on_success(done).on_failure(
            lambda message: done(MemoryAction(event, kind, f"Memory action failed: {message}", (), False))).run()

    def history(self, since: float, on_history: Callable[[MetricsHistoryResult], None],
                metrics: tuple[str, ...] = ()) -> None:
        """Stored samples since ``since`` (unix s), e.g. to backfill the charts after a restart."""
        def read(ctx: OpContext) -> MetricsHistoryResult:
            history = ctx.engine.monitor.history
            if history is None:
                return MetricsHistoryResult(since, {}, "No metrics history is kept (no data folder).")
            series = {}
            for metric in tuple(metrics) or HISTORY_METRICS:
                for key in history.keys(metric):
                    points = history.series(metric, key, since)
                    if points:
                        series[(metric, key)] = tuple(points)
            return MetricsHistoryResult(since, series)

        self.op("Reading the metrics history", read).on_success(on_history) \
            .on_failure(lambda message: on_history(MetricsHistoryResult(since, {}, message))).run()

    def export(self, path: str | Path, since: float, on_exported: Callable[[int], None],
               on_failure: Callable[[str], None]) -> None:
        """Write the stored samples since ``since`` to CSV; the callback gets the number of rows."""
        def write(ctx: OpContext) -> int:
            history = ctx.engine.monitor.history
            if history is None:
                raise ValueError("No metrics history is kept (no data folder); nothing was exported.")
            return history.export_csv(Path(path), since)

        self.op("Exporting metrics", write, expected=(ValueError, OSError)).on_success(on_exported) \
            .on_failure(on_failure).run()
