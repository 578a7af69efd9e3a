"""Live monitoring: latency per model, throughput, queue depth, memory, and memory actions.

Plain Python (no Qt): the app polls ``MonitoringSampler.sample()`` on a timer or lets
``start()`` run it on a daemon thread, and forwards the frozen ``MetricsSample`` and the
memory events to the UI. ``MetricsHistory`` keeps the samples in SQLite (migration m0005)
so charts survive a restart: raw rows for an hour, one-minute means after that.

Memory actions follow the seeds' budget (``MODEL_MEMORY_LIMIT``, config
``model_memory_limit_mb``): at ``warn_fraction`` of the budget a warning, at
``unload_fraction`` a request to unload models idle for ``idle_after_s``, at
``switch_fraction`` a request to switch the heaviest model to a lighter one. The monitor only
*says* what should happen; the model manager acts on the events.

The budget is for models, not for the interpreter, Qt and the libraries a fresh process
already holds (some hundreds of MB before any model loads). So it is charged with the memory
*above a baseline*: the process RSS measured once after startup, before models load
(:func:`sampler_from_config`, which the engine calls before it loads its first model). What
is charged is the larger of two readings: RSS growth above the baseline (measured, but it
includes anything else the process allocated since, and it may not shrink after an unload),
and the memory the loaded models were measured at when they loaded (it misses growth after
the load, but it drops as soon as a model is unloaded, and it still counts a model loaded into
memory the allocator had kept from before the baseline). Neither alone is honest; the larger
never understates. The Models panel's bar shows the second reading against the same budget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from engine.monitor import ProcessSampler
from engine.wording import plural

log = logging.getLogger(__name__)

WINDOWS_S = {"1 min": 60.0, "15 min": 900.0, "1 h": 3600.0}
_MB = 1024.0 * 1024.0


def model_key(model_id: str, version: str) -> str:
    """Per-model series are keyed by id and version, as calibrators are."""
    return f"{model_id}@{version}"


# --- latency and throughput ----------------------------------------------------------------
@dataclass(frozen=True)
class LatencyStats:
    p50_ms: float
    p95_ms: float
    calls: int
    items: int


class LatencyRecorder:
    """Rolling per-model latency: one entry per model call, weighted by the items it scored.

    Entries older than the longest window are dropped, and each model keeps at most
    ``max_entries`` so a flood of tiny calls cannot grow memory without bound.
    """

    def __init__(self, horizon_s: float = max(WINDOWS_S.values()), max_entries: int = 50_000,
                 clock: Callable[[], float] = time.time) -> None:
        self.horizon_s = horizon_s
        self.max_entries = max_entries
        self._clock = clock
        self._calls: dict[str, deque[tuple[float, float, int]]] = {}  # key -> (at, ms per item, items)
        self._items_total = 0
        self._lock = threading.Lock()

    def record(self, key: str, items: int, elapsed_s: float, at: float | None = None) -> None:
        if items <= 0:
            return
        at = self._clock() if at is None else at
        with self._lock:
            q = self._calls.setdefault(key, deque(maxlen=self.max_entries))
            q.append((at, elapsed_s * 1000.0 / items, int(items)))
            self._items_total += int(items)
            self._prune(q, at)

    @contextmanager
    def timed(self, key: str, items: int) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(key, items, time.perf_counter() - start)

    def _prune(self, q: deque, now: float) -> None:
        while q and q[0][0] < now - self.horizon_s:
            q.popleft()

    @property
    def items_total(self) -> int:
        """Items scored since start, all models: the sampler's throughput is its rate of change."""
        return self._items_total

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._calls)

    def stats(self, key: str, window_s: float = 60.0, now: float | None = None) -> LatencyStats | None:
        """Item-weighted p50/p95 of per-item latency over the last ``window_s``; None if no calls."""
        now = self._clock() if now is None else now
        with self._lock:
            q = self._calls.get(key)
            if not q:
                return None
            self._prune(q, now)
            recent = [(ms, n) for at, ms, n in q if at >= now - window_s]
        if not recent:
            return None
        ms = np.array([r[0] for r in recent])
        weights = np.array([r[1] for r in recent], dtype=np.float64)
        order = np.argsort(ms)
        ms, cum = ms[order], np.cumsum(weights[order])
        total = cum[-1]

        def pct(q: float) -> float:
            return float(ms[min(int(np.searchsorted(cum, q * total, side="left")), len(ms) - 1)])

        return LatencyStats(pct(0.50), pct(0.95), len(recent), int(total))


# --- per-model memory ------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelMemory:
    key: str
    file_mb: float  # size of the model's files on disk
    rss_delta_mb: float | None  # process RSS growth measured around the load, if measured
    loaded_at: float
    last_used: float
    task: str = ""

    @property
    def estimate_mb(self) -> float:
        """RSS delta when it was measured and positive, else the file size.

        The delta also catches runtime arenas and tokenizer tables a file size misses, but it
        is noisy (other threads allocate at the same time, and freed pages are not always
        returned), so a non-positive delta falls back to the files.
        """
        if self.rss_delta_mb is not None and self.rss_delta_mb > 0:
            return self.rss_delta_mb
        return self.file_mb


def files_size_mb(paths: Iterable[Path]) -> float:
    total = 0
    for p in paths:
        p = Path(p)
        if p.is_dir():
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        elif p.is_file():
            total += p.stat().st_size
    return total / _MB


class ModelMemoryTracker:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._models: dict[str, ModelMemory] = {}
        self._lock = threading.Lock()

    def register(self, key: str, file_mb: float, rss_delta_mb: float | None = None, task: str = "") -> ModelMemory:
        now = self._clock()
        entry = ModelMemory(key, float(file_mb), rss_delta_mb, now, now, task)
        with self._lock:
            self._models[key] = entry
        return entry

    @contextmanager
    def measure_load(self, key: str, files: Iterable[Path] = (), task: str = "") -> Iterator[None]:
        """Wrap a model load: records its file size and the RSS delta across the load."""
        import psutil

        proc = psutil.Process()
        before = proc.memory_info().rss
        yield
        delta = (proc.memory_info().rss - before) / _MB
        self.register(key, files_size_mb(files), delta, task)

    def touch(self, key: str) -> None:
        with self._lock:
            if key in self._models:
                self._models[key] = replace(self._models[key], last_used=self._clock())

    def unregister(self, key: str) -> None:
        with self._lock:
            self._models.pop(key, None)

    def models(self) -> list[ModelMemory]:
        with self._lock:
            return sorted(self._models.values(), key=lambda m: m.key)

    def total_mb(self) -> float:
        return sum(m.estimate_mb for m in self.models())


# --- memory actions -----------------------------------------------------------------------
@dataclass(frozen=True)
class MemoryPolicy:
    limit_mb: float = 2048.0
    warn_fraction: float = 0.80
    unload_fraction: float = 0.90
    switch_fraction: float = 1.00
    idle_after_s: float = 300.0
    repeat_after_s: float = 60.0  # an action still needed is announced again after this long
    # Process RSS after startup, before any model loaded; 0 charges the whole process.
    baseline_mb: float = 0.0

    def used_mb(self, rss_mb: float, models_mb: float = 0.0) -> float:
        """What the budget is charged with: RSS growth above the baseline, or the loaded models'
        measured memory when that is larger (see the module docstring for why both)."""
        return max(rss_mb - self.baseline_mb, models_mb, 0.0)

    @property
    def budget_rss_mb(self) -> float:
        """The process RSS at which growth above the baseline fills the budget (the chart's line)."""
        return self.baseline_mb + self.limit_mb

    def level(self, used_mb: float) -> int:
        """0 ok, 1 warn, 2 unload idle, 3 switch lighter; ``used_mb`` as from :meth:`used_mb`."""
        used = used_mb / self.limit_mb if self.limit_mb > 0 else 0.0
        return 3 if used >= self.switch_fraction else 2 if used >= self.unload_fraction else 1 if used >= self.warn_fraction else 0

    def describe(self, rss_mb: float, models_mb: float) -> str:
        """One phrase for event messages: how much is charged, and from which reading."""
        used = self.used_mb(rss_mb, models_mb)
        share = f"{used / self.limit_mb:.0%} of the {self.limit_mb:.0f} MB budget" if self.limit_mb > 0 else "no budget"
        if self.baseline_mb <= 0:
            return f"process uses {rss_mb:.0f} MB, {share}"
        growth = max(rss_mb - self.baseline_mb, 0.0)
        if models_mb > growth:
            return (f"loaded models measured {models_mb:.0f} MB (the process grew {growth:.0f} MB since "
                    f"startup, to {rss_mb:.0f} MB), {share}")
        return (f"process grew {growth:.0f} MB above its {self.baseline_mb:.0f} MB startup baseline "
                f"(now {rss_mb:.0f} MB), {share}")


@dataclass(frozen=True, kw_only=True)
class _MemoryEventFields:
    """What every memory event carries; keyword-only so each event adds its own fields freely."""

    at: float
    rss_mb: float
    limit_mb: float
    message: str
    used_mb: float | None = None  # what the budget was charged with (MemoryPolicy.used_mb)
    baseline_mb: float = 0.0


@dataclass(frozen=True, kw_only=True)
class MemoryWarning(_MemoryEventFields):
    pass


@dataclass(frozen=True, kw_only=True)
class UnloadIdleModels(_MemoryEventFields):
    models: tuple[str, ...]  # keys idle longer than the policy's idle_after_s


@dataclass(frozen=True, kw_only=True)
class SwitchToLighterModel(_MemoryEventFields):
    model: str  # key of the heaviest loaded model: the one worth replacing
    task: str


@dataclass(frozen=True, kw_only=True)
class MemoryRecovered(_MemoryEventFields):
    pass


MemoryEvent = MemoryWarning | UnloadIdleModels | SwitchToLighterModel | MemoryRecovered


class MemoryGuard:
    """Turns memory readings into events on level changes (and repeats while a level persists)."""

    def __init__(self, policy: MemoryPolicy) -> None:
        self.policy = policy
        self._level = 0
        self._last_emit = -1e18

    def check(self, at: float, rss_mb: float, models: Sequence[ModelMemory]) -> list[MemoryEvent]:
        p = self.policy
        models_mb = sum(m.estimate_mb for m in models)
        used = p.used_mb(rss_mb, models_mb)
        extra = {"at": at, "rss_mb": rss_mb, "limit_mb": p.limit_mb, "used_mb": used, "baseline_mb": p.baseline_mb}
        level = p.level(used)
        changed = level != self._level
        repeat = level > 0 and at - self._last_emit >= p.repeat_after_s
        previous, self._level = self._level, level
        if not (changed or repeat):
            return []
        if level == 0:
            if previous == 0:
                return []
            self._last_emit = at
            return [MemoryRecovered(
                message=f"memory back under {p.warn_fraction:.0%} of the {p.limit_mb:.0f} MB budget", **extra)]
        self._last_emit = at
        events: list[MemoryEvent] = [MemoryWarning(message=p.describe(rss_mb, models_mb), **extra)]
        if level >= 2:
            idle = tuple(m.key for m in models if at - m.last_used >= p.idle_after_s)
            if idle:
                events.append(UnloadIdleModels(
                    models=idle, message=f"unload {plural(len(idle), 'model')} idle for over {p.idle_after_s:.0f} s", **extra))
        if level >= 3 and models:
            heaviest = max(models, key=lambda m: m.estimate_mb)
            events.append(SwitchToLighterModel(
                model=heaviest.key, task=heaviest.task,
                message=f"over budget: switch {heaviest.key} (~{heaviest.estimate_mb:.0f} MB) to a lighter model",
                **extra))
        return events


# --- samples -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelMetrics:
    key: str
    p50_ms: float | None
    p95_ms: float | None
    calls: int
    items: int
    memory_mb: float | None


@dataclass(frozen=True)
class MetricsSample:
    at: float
    rss_mb: float
    cpu_percent: float
    threads: int
    queue_depth: int
    throughput_per_s: float  # items scored per second since the previous sample
    memory_limit_mb: float
    models: tuple[ModelMetrics, ...] = ()
    window_s: float = 60.0  # latency percentiles cover this window
    memory_used_mb: float | None = None  # what the budget is charged with (MemoryPolicy.used_mb)
    memory_baseline_mb: float = 0.0  # startup RSS the budget sits above

    def rows(self) -> list[tuple[str, str, float]]:
        """(metric, key, value) rows for the history table; missing values are left out."""
        out = [("rss_mb", "", self.rss_mb), ("cpu_percent", "", self.cpu_percent),
               ("queue_depth", "", float(self.queue_depth)), ("throughput_per_s", "", self.throughput_per_s)]
        for m in self.models:
            for metric, value in (("latency_p50_ms", m.p50_ms), ("latency_p95_ms", m.p95_ms),
                                  ("model_memory_mb", m.memory_mb)):
                if value is not None:
                    out.append((metric, m.key, float(value)))
        return out


class MonitoringSampler:
    """Collects a ``MetricsSample`` every ``interval_s`` (config ``monitor_interval_s``)."""

    def __init__(self, interval_s: float = 1.0, *, latency: LatencyRecorder | None = None,
                 memory: ModelMemoryTracker | None = None, policy: MemoryPolicy | None = None,
                 queue_depth: Callable[[], int] | None = None, history: "MetricsHistory | None" = None,
                 window_s: float = 60.0, process: ProcessSampler | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.interval_s = max(0.05, float(interval_s))
        self.latency = latency or LatencyRecorder(clock=clock)
        self.memory = memory or ModelMemoryTracker(clock=clock)
        self.guard = MemoryGuard(policy or MemoryPolicy())
        self.queue_depth = queue_depth or (lambda: 0)
        self.history = history
        self.window_s = window_s
        self._process = process or ProcessSampler()
        self._clock = clock
        self._last_at: float | None = None
        self._last_items = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._last_compact = 0.0

    def sample(self) -> tuple[MetricsSample, list[MemoryEvent]]:
        proc = self._process.sample()
        now = self._clock()
        items = self.latency.items_total
        rate = 0.0
        if self._last_at is not None and now > self._last_at:
            rate = (items - self._last_items) / (now - self._last_at)
        self._last_at, self._last_items = now, items
        mem = {m.key: m for m in self.memory.models()}
        keys = sorted(set(self.latency.keys()) | set(mem))
        models = []
        for key in keys:
            st = self.latency.stats(key, self.window_s, now)
            models.append(ModelMetrics(key, st.p50_ms if st else None, st.p95_ms if st else None,
                                       st.calls if st else 0, st.items if st else 0,
                                       mem[key].estimate_mb if key in mem else None))
        try:
            depth = int(self.queue_depth())
        except Exception:  # a broken provider must not stop monitoring
            depth = -1
        policy = self.guard.policy
        used = policy.used_mb(proc.rss_mb, sum(m.estimate_mb for m in mem.values()))
        s = MetricsSample(now, proc.rss_mb, proc.cpu_percent, proc.threads, depth, rate,
                          policy.limit_mb, tuple(models), self.window_s, used, policy.baseline_mb)
        events = self.guard.check(now, proc.rss_mb, list(mem.values()))
        if self.history is not None:
            self.history.append(s)
            if now - self._last_compact >= 60.0:
                self.history.compact(now)
                self._last_compact = now
        return s, events

    def measure_baseline(self) -> float:
        """Take the current RSS as the startup baseline the memory budget sits above.

        Call it once startup is done and before models load; the engine does (through
        :func:`sampler_from_config`). Returns the baseline in MB.
        """
        baseline = float(self._process.sample().rss_mb)
        self.guard.policy = replace(self.guard.policy, baseline_mb=baseline)
        log.info("memory budget: %.0f MB for models above a %.0f MB startup baseline",
                 self.guard.policy.limit_mb, baseline)
        return baseline

    def start(self, on_sample: Callable[[MetricsSample, list[MemoryEvent]], None]) -> None:
        """Sample on a daemon thread until ``stop()``; ``on_sample`` runs on that thread."""
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            while not self._stop.is_set():
                try:
                    on_sample(*self.sample())
                except Exception:
                    log.exception("monitoring sample failed")
                self._stop.wait(self.interval_s)

        self._thread = threading.Thread(target=loop, name="signaldesk-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


# --- history -------------------------------------------------------------------------------
class MetricsHistory:
    """Samples in SQLite (m0005): raw for ``raw_keep_s``, one-minute means for ``minute_keep_s``."""

    def __init__(self, store, raw_keep_s: float = 3600.0, minute_keep_s: float = 7 * 86400.0) -> None:
        self.store = store
        self.raw_keep_s = raw_keep_s
        self.minute_keep_s = minute_keep_s

    def _execute(self, statements: Sequence[tuple[str, Sequence]], many: bool = False) -> None:
        with self.store.transaction() as conn:  # the Store's single writer
            for sql, args in statements:
                (conn.executemany if many else conn.execute)(sql, args)

    def append(self, sample: MetricsSample) -> None:
        rows = [(sample.at, 0, metric, key, value) for metric, key, value in sample.rows()]
        self._execute([("INSERT INTO metric_samples (at, resolution, metric, key, value) VALUES (?,?,?,?,?)", rows)],
                      many=True)

    def compact(self, now: float | None = None) -> None:
        """Fold raw rows older than ``raw_keep_s`` into one-minute means; drop very old rows.

        A mean of p95 values is not the p95 of the minute, but it is the usual chart reading
        and keeps the table small (about 10 rows a minute per model instead of 600).
        """
        now = time.time() if now is None else now
        cutoff = now - self.raw_keep_s
        # Only whole minutes that have ended before the cutoff, so a bucket is never folded twice.
        cutoff = cutoff - (cutoff % 60.0)
        self._execute([
            ("INSERT INTO metric_samples (at, resolution, metric, key, value, n) "
             "SELECT CAST(at / 60 AS INTEGER) * 60, 60, metric, key, AVG(value), COUNT(*) FROM metric_samples "
             "WHERE resolution = 0 AND at < ? GROUP BY CAST(at / 60 AS INTEGER), metric, key", (cutoff,)),
            ("DELETE FROM metric_samples WHERE resolution = 0 AND at < ?", (cutoff,)),
            ("DELETE FROM metric_samples WHERE resolution = 60 AND at < ?", (now - self.minute_keep_s,)),
        ])

    def series(self, metric: str, key: str = "", since: float = 0.0, until: float | None = None) -> list[tuple[float, float]]:
        """(at, value) oldest first, one-minute means then raw samples, as a chart plots them."""
        until = time.time() + 1 if until is None else until
        rows = self.store.query(
            "SELECT at, value FROM metric_samples WHERE metric = ? AND key = ? AND at >= ? AND at <= ? "
            "ORDER BY at, resolution DESC", (metric, key, since, until))
        return [(float(a), float(v)) for a, v in rows]

    def keys(self, metric: str) -> list[str]:
        rows = self.store.query("SELECT DISTINCT key FROM metric_samples WHERE metric = ? ORDER BY key",
                                (metric,))
        return [r[0] for r in rows]

    def export_csv(self, path: Path, since: float = 0.0) -> int:
        """All series since ``since`` as long-format CSV (at, resolution, metric, key, value)."""
        import csv

        rows = self.store.query(
            "SELECT at, resolution, metric, key, value FROM metric_samples WHERE at >= ? ORDER BY at, metric, key",
            (since,))
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["at", "resolution_s", "metric", "key", "value"])
            w.writerows(rows)
        return len(rows)


def sampler_from_config(config, store=None, queue_depth: Callable[[], int] | None = None,
                        process: ProcessSampler | None = None) -> MonitoringSampler:
    """A sampler with the config's interval and memory budget, persisting when a store is given.

    The memory baseline is measured here, so build the sampler before loading models (the
    engine does): the budget then applies to what models add, not to the process's start-up size.
    """
    # model_idle_unload_s belongs to the model manager's config; honour it when present.
    idle = float(getattr(config, "model_idle_unload_s", MemoryPolicy.idle_after_s))
    sampler = MonitoringSampler(
        config.monitor_interval_s,
        policy=MemoryPolicy(limit_mb=float(config.model_memory_limit_mb), idle_after_s=idle),
        queue_depth=queue_depth,
        history=MetricsHistory(store) if store is not None else None,
        process=process,
    )
    sampler.measure_baseline()
    return sampler


__all__ = [
    "WINDOWS_S", "LatencyRecorder", "LatencyStats", "ModelMemory", "ModelMemoryTracker", "MemoryPolicy",
    "MemoryGuard", "MemoryWarning", "UnloadIdleModels", "SwitchToLighterModel", "MemoryRecovered",
    "MemoryEvent", "ModelMetrics", "MetricsSample", "MonitoringSampler", "MetricsHistory", "model_key",
    "files_size_mb", "sampler_from_config",
]
