"""Monitoring: rolling latency percentiles, throughput, per-model memory, memory actions, history."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from engine.config import Config
from engine.engine import Engine
from engine.monitor import ProcessSample
from engine.monitoring import (
    LatencyRecorder,
    MemoryGuard,
    MemoryPolicy,
    MemoryRecovered,
    MemoryWarning,
    MetricsHistory,
    ModelMemory,
    ModelMemoryTracker,
    MonitoringSampler,
    SwitchToLighterModel,
    UnloadIdleModels,
    files_size_mb,
    model_key,
    sampler_from_config,
)
from engine.resources import models_dir
from engine.store import Store


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class FakeProcess:
    """Stands in for psutil only where a test needs a chosen RSS (memory-threshold tests)."""

    def __init__(self, clock: Clock, rss_mb: float = 500.0) -> None:
        self.clock, self.rss_mb = clock, rss_mb

    def sample(self) -> ProcessSample:
        return ProcessSample(self.clock(), self.rss_mb, 12.5, 7)


def test_latency_percentiles_are_item_weighted_over_a_rolling_window() -> None:
    clock = Clock()
    rec = LatencyRecorder(clock=clock)
    for ms in range(1, 101):  # 100 single-item calls of 1..100 ms
        rec.record("m@1", 1, ms / 1000.0)
    st = rec.stats("m@1", window_s=60)
    assert (st.p50_ms, st.p95_ms, st.calls, st.items) == (pytest.approx(50), pytest.approx(95), 100, 100)
    # One batch of 900 items at 2 ms each outweighs the hundred single calls.
    rec.record("m@1", 900, 1.8)
    st = rec.stats("m@1", window_s=60)
    assert st.p50_ms == pytest.approx(2.0) and st.items == 1000
    clock.t += 120  # everything is now older than a 1-minute window but inside 15 minutes
    rec.record("m@1", 1, 0.010)
    assert rec.stats("m@1", 60).calls == 1 and rec.stats("m@1", 60).p95_ms == pytest.approx(10)
    assert rec.stats("m@1", 900).calls == 102
    clock.t += 3700  # past the longest window: old entries are dropped entirely
    assert rec.stats("m@1", 3600) is None and rec.stats("other", 60) is None


def test_sampler_reports_throughput_latency_memory_and_queue_depth(tmp_path: Path) -> None:
    clock = Clock()
    depth = [3]
    sampler = MonitoringSampler(0.5, process=FakeProcess(clock), queue_depth=lambda: depth[0], clock=clock)
    sampler.memory.register("finsent@1.0.0", file_mb=22.0, rss_delta_mb=61.0, task="sentiment")
    first, _ = sampler.sample()
    assert first.throughput_per_s == 0.0 and first.queue_depth == 3
    clock.t += 2.0
    sampler.latency.record("finsent@1.0.0", 64, 0.128)
    sampler.latency.record("finsent@1.0.0", 36, 0.036)
    depth[0] = 11
    s, events = sampler.sample()
    assert s.throughput_per_s == pytest.approx(50.0)  # 100 items in 2 s
    (m,) = s.models
    assert (m.key, m.calls, m.items, m.memory_mb) == ("finsent@1.0.0", 2, 100, 61.0)
    assert (m.p50_ms, m.p95_ms) == (pytest.approx(2.0), pytest.approx(2.0))
    assert s.queue_depth == 11 and events == []
    rows = {(metric, key) for metric, key, _ in s.rows()}
    assert ("latency_p95_ms", "finsent@1.0.0") in rows and ("rss_mb", "") in rows
    sampler.queue_depth = lambda: 1 // 0  # a broken provider must not stop monitoring
    assert sampler.sample()[0].queue_depth == -1


def test_model_memory_from_rss_delta_or_file_size() -> None:
    lexicon = models_dir() / "lexicon-fin"
    size = files_size_mb([lexicon])
    assert 0 < size < 1  # a few kB of weights and manifest
    tracker = ModelMemoryTracker()
    held = []
    with tracker.measure_load("big@1", files=[lexicon], task="sentiment"):
        # A 160 MB "model" allocated during the load: large enough that memory other threads of the
        # test process free meanwhile (earlier tests' engines winding down) cannot hide it.
        held.append(np.ones(160 * 1024 * 1024 // 8))
    (m,) = tracker.models()
    assert m.file_mb == pytest.approx(size)
    assert m.rss_delta_mb > 100 and m.estimate_mb == m.rss_delta_mb
    assert ModelMemory("x", 22.0, -3.0, 0, 0).estimate_mb == 22.0  # a negative delta is noise
    assert ModelMemory("x", 22.0, None, 0, 0).estimate_mb == 22.0
    assert model_key("finsent-minilm-l6", "1.0.0") == "finsent-minilm-l6@1.0.0"


def test_memory_actions_escalate_with_the_budget_and_recover() -> None:
    policy = MemoryPolicy(limit_mb=1000, warn_fraction=0.8, unload_fraction=0.9, switch_fraction=1.0,
                          idle_after_s=300, repeat_after_s=60)
    guard = MemoryGuard(policy)
    t = 10_000.0
    models = [ModelMemory("lexicon-fin@1.0.0", 0.1, None, t - 1000, t - 1000, "sentiment"),
              ModelMemory("finsent@1.0.0", 22.0, 80.0, t - 1000, t - 5, "sentiment"),
              ModelMemory("smollm2@q4", 90.0, 300.0, t - 1000, t - 900, "generation")]
    assert guard.check(t, 700, models) == []
    ev = guard.check(t + 1, 820, models)
    assert [type(e) for e in ev] == [MemoryWarning] and "82%" in ev[0].message
    assert guard.check(t + 2, 830, models) == []  # same level: not repeated within a minute
    ev = guard.check(t + 3, 910, models)
    assert [type(e) for e in ev] == [MemoryWarning, UnloadIdleModels]
    assert ev[1].models == ("lexicon-fin@1.0.0", "smollm2@q4")  # finsent was used 5 s ago
    ev = guard.check(t + 4, 1010, models)
    assert [type(e) for e in ev] == [MemoryWarning, UnloadIdleModels, SwitchToLighterModel]
    assert ev[2].model == "smollm2@q4" and ev[2].task == "generation"
    assert guard.check(t + 30, 1010, models) == []
    assert len(guard.check(t + 70, 1010, models)) == 3  # still over budget a minute later: said again
    ev = guard.check(t + 71, 500, models)
    assert [type(e) for e in ev] == [MemoryRecovered]
    assert guard.check(t + 200, 500, models) == []


def test_sampler_emits_memory_events_from_the_configured_budget() -> None:
    clock = Clock()
    proc = FakeProcess(clock, rss_mb=100.0)
    sampler = MonitoringSampler(1.0, process=proc, policy=MemoryPolicy(limit_mb=128), clock=clock)
    assert sampler.sample()[1] == []
    proc.rss_mb = 120.0  # 94 % of 128 MB
    _, events = sampler.sample()
    assert [type(e) for e in events] == [MemoryWarning]  # no idle model to unload
    cfg = Config(monitor_interval_s=0.25, model_memory_limit_mb=4096)
    built = sampler_from_config(cfg)
    assert built.interval_s == 0.25 and built.guard.policy.limit_mb == 4096 and built.history is None


def test_history_is_downsampled_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "signaldesk.db"
    store = Store(path)
    clock = Clock(1_700_000_000.0 - 1_700_000_000.0 % 60)  # start on a minute boundary
    start = clock.t
    proc = FakeProcess(clock)
    history = MetricsHistory(store)
    sampler = MonitoringSampler(1.0, process=proc, history=history, clock=clock)
    sampler._last_compact = float("inf")  # compact by hand below, at chosen times
    for i in range(2 * 3600 // 10):  # two hours, a sample every 10 s
        proc.rss_mb = 400.0 + (i // 6)  # constant within each minute, +1 MB per minute
        sampler.latency.record("m@1", 1, 0.002)
        sampler.sample()
        clock.t += 10
    now = clock.t
    history.compact(now)
    store.close()

    store = Store(path)  # a restart: the chart's data is still there
    history = MetricsHistory(store)
    series = history.series("rss_mb", since=0)
    minutes = [(a, v) for a, v in series if a < now - 3600]
    raw = [(a, v) for a, v in series if a >= now - 3600]
    assert len(minutes) == 60 and len(raw) == 360  # first hour as 1-minute means, last hour raw
    assert minutes[0] == (start, 400.0) and minutes[59] == (start + 59 * 60, 459.0)
    assert [a for a, _ in series] == sorted(a for a, _ in series)
    assert history.keys("latency_p50_ms") == ["m@1"]
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT n FROM metric_samples WHERE resolution = 60 AND metric = 'rss_mb' LIMIT 1").fetchone() == (6,)
    history.compact(now + 8 * 86400)  # a week later the minute rows age out too
    assert history.series("rss_mb", since=0) == []
    store.close()


def test_csv_export(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    clock = Clock()
    sampler = MonitoringSampler(1.0, process=FakeProcess(clock), history=MetricsHistory(store), clock=clock)
    sampler.sample()
    out = tmp_path / "metrics.csv"
    n = sampler.history.export_csv(out)
    lines = out.read_text().splitlines()
    assert n == 4 and lines[0] == "at,resolution_s,metric,key,value" and len(lines) == 5
    store.close()


def test_background_sampling_with_a_real_engine(tmp_path: Path) -> None:
    engine = Engine(Config(sentiment_model="lexicon"), tmp_path)
    sampler = sampler_from_config(Config(monitor_interval_s=0.05), store=engine.store)
    key = model_key(engine.sentiment_status.model_id, engine.sentiment_status.version)
    with sampler.latency.timed(key, 3):
        engine.analyze_batch(["Stocks rally", "Oil slides", "Fed holds rates"], persist=False)
    got: list = []
    enough = threading.Event()

    def on_sample(sample, events) -> None:
        got.append(sample)
        if len(got) >= 3:
            enough.set()

    sampler.start(on_sample)
    try:
        assert enough.wait(30), "no samples from the monitor thread"
    finally:
        sampler.stop()
    assert got[0].rss_mb > 10 and got[0].threads >= 1
    assert got[0].models[0].key == key and got[0].models[0].items == 3
    assert len(sampler.history.series("rss_mb", since=0)) >= 3
    engine.close()


def test_the_budget_applies_above_the_startup_baseline() -> None:
    clock = Clock()
    proc = FakeProcess(clock, rss_mb=420.0)  # a fresh process: interpreter, Qt, libraries
    sampler = sampler_from_config(Config(model_memory_limit_mb=128), process=proc)
    assert sampler.guard.policy.baseline_mb == 420.0 and sampler.guard.policy.budget_rss_mb == 548.0
    s, events = sampler.sample()
    assert events == [] and s.memory_used_mb == 0.0 and s.memory_baseline_mb == 420.0  # 420 MB > 128 MB, yet fine
    proc.rss_mb = 500.0  # models added 80 MB: 62 % of the budget
    assert sampler.sample()[1] == []
    proc.rss_mb = 530.0  # 110 MB above the baseline: 86 %
    s, events = sampler.sample()
    assert s.memory_used_mb == 110.0
    (warning,) = events
    assert isinstance(warning, MemoryWarning) and (warning.used_mb, warning.baseline_mb) == (110.0, 420.0)
    assert warning.message == ("process grew 110 MB above its 420 MB startup baseline (now 530 MB), "
                               "86% of the 128 MB budget")
    proc.rss_mb = 380.0  # below the baseline (pages given back): nothing is charged, not a negative
    clock.t += 1
    s, events = sampler.sample()
    assert s.memory_used_mb == 0.0 and [type(e) for e in events] == [MemoryRecovered]


def test_measured_model_memory_counts_when_it_exceeds_the_growth() -> None:
    """A model loaded into memory the allocator kept from before the baseline barely moves RSS,
    yet it holds what it was measured at; unloading it frees that at once."""
    clock = Clock()
    proc = FakeProcess(clock, rss_mb=900.0)
    sampler = sampler_from_config(Config(model_memory_limit_mb=128, model_idle_unload_s=0.0), process=proc)
    proc.rss_mb = 910.0
    sampler.memory.register("finsent@1.0.0", file_mb=22.0, rss_delta_mb=120.0, task="sentiment")
    s, events = sampler.sample()
    assert s.memory_used_mb == 120.0  # not the 10 MB of growth
    assert [type(e) for e in events] == [MemoryWarning, UnloadIdleModels]  # 94 % of 128 MB
    assert events[0].message.startswith("loaded models measured 120 MB (the process grew 10 MB since startup")
    sampler.memory.unregister("finsent@1.0.0")
    clock.t += 1
    s, events = sampler.sample()
    assert s.memory_used_mb == 10.0 and [type(e) for e in events] == [MemoryRecovered]


def test_a_real_engine_charges_the_budget_with_what_models_add(tmp_path: Path) -> None:
    import psutil

    engine = Engine(Config(sentiment_model="lexicon"), tmp_path)
    try:
        policy = engine.monitor.guard.policy
        rss_now = psutil.Process().memory_info().rss / 1024 / 1024
        assert 10 < policy.baseline_mb <= rss_now * 1.05  # measured in this process, at engine start
        engine.analyze_batch(["Stocks rally", "Oil slides"], persist=False)
        s, _ = engine.monitor.sample()
        assert s.memory_baseline_mb == policy.baseline_mb
        models_mb = sum(m.estimate_mb for m in engine.monitor.memory.models())
        assert s.memory_used_mb == pytest.approx(max(s.rss_mb - policy.baseline_mb, models_mb, 0.0))
        assert s.memory_used_mb < s.rss_mb  # the start-up size of the process is not charged
    finally:
        engine.close()
