"""A model in use is pinned: the cache neither evicts nor idle-unloads it, and an unload asked
for meanwhile waits for the last user. Real shipped models (SmolLM2 through llama.cpp, the
MiniLM embedder); generations are kept to a few tokens."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.models.cache import ModelCache
from engine.models.loaders import load_model
from engine.models.registry import shipped_specs

GENERATOR, EMBEDDER = "smollm2-135m-instruct", "minilm-l6-embed"
MESSAGES = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def specs(data_dir: Path) -> dict:
    return {s.id: s for s in shipped_specs(data_dir)}


def test_a_pinned_generator_survives_eviction_idle_sweep_and_unload_until_released(specs) -> None:
    now = [0.0]
    events: list[tuple[str, str]] = []
    cache = ModelCache(budget_mb=10_000, max_entries=1, idle_timeout_s=60,
                       on_event=lambda kind, spec, msg: events.append((kind, spec.id)), clock=lambda: now[0])
    loader = lambda spec: load_model(spec, Config())  # noqa: E731
    generator = cache.get(specs[GENERATOR], loader)

    with cache.in_use(GENERATOR) as pinned:
        assert pinned is generator and cache.pins(GENERATOR) == 1
        cache.get(specs[EMBEDDER], loader)  # one entry allowed: the generator would be the victim
        assert ("evicted", GENERATOR) not in events and cache.is_loaded(GENERATOR)
        assert {m.id: m.in_use for m in cache.loaded()} == {GENERATOR: 1, EMBEDDER: 0}

        now[0] = 1_000.0  # both long idle: only the unpinned embedder goes
        assert cache.sweep_idle() == [EMBEDDER]
        assert cache.is_loaded(GENERATOR)

        assert cache.unload(GENERATOR, "unloaded: test")  # accepted, carried out on release
        assert not cache.is_loaded(GENERATOR)  # never handed out again
        assert ("unloaded", GENERATOR) not in events
        assert cache.total_mb() > 0  # still resident: counted until it is really gone
        out = pinned.chat(MESSAGES, max_tokens=4)  # the pinned model still works
        assert out.completion_tokens >= 1

    assert ("unloaded", GENERATOR) in events  # closed when the last user let go
    assert generator._llm is None
    assert cache.total_mb() == 0


def test_pins_nest_and_an_unloaded_model_cannot_be_pinned(specs) -> None:
    cache = ModelCache(budget_mb=10_000, max_entries=3, idle_timeout_s=0)
    cache.get(specs[EMBEDDER], lambda spec: load_model(spec, Config()))
    with cache.in_use(EMBEDDER):
        with cache.in_use(EMBEDDER) as inner:
            assert cache.pins(EMBEDDER) == 2
            assert inner.embed(["two users"]).shape == (1, inner.dim)
        assert cache.pins(EMBEDDER) == 1 and cache.sweep_idle() == []
    assert cache.pins(EMBEDDER) == 0
    assert cache.sweep_idle() == [EMBEDDER]
    with pytest.raises(KeyError, match="not loaded"):
        with cache.in_use(EMBEDDER):
            pass


def test_idle_sweeps_during_a_generation_leave_the_generator_alone(data_dir: Path) -> None:
    """The bug this guards against: the engine's idle timer (or a memory action) closed the
    generator while the slow lane was still decoding with it."""
    engine = Engine(Config(model_idle_unload_s=0.0), data_dir)
    try:
        engine.analyze_batch(["Apple shares rise as iPhone demand stays strong"])
        service = engine.reasoning
        service.settings = dataclasses.replace(service.settings, max_tokens=24, retries=0)
        seen: list[dict] = []

        def on_token(_piece: str) -> None:
            if not seen:  # first token: sweep as the idle timer would, mid-generation
                swept = engine.models.sweep_idle()
                seen.append({"swept": swept, "loaded": {m.id: m.in_use for m in engine.models.loaded()}})

        x = service.explain("Apple beats earnings estimates as iPhone sales hit a record", on_token=on_token,
                            persist=False)
        assert seen, "no token was generated"
        assert GENERATOR not in seen[0]["swept"]
        assert seen[0]["loaded"].get(GENERATOR) == 1  # loaded and pinned by the generation
        assert x.model_id == GENERATOR and x.completion_tokens > 1  # decoding went on after the sweep
        assert x.status in ("ok", "fallback_invalid")  # 24 tokens may cut the JSON; never an error
        assert {m.id: m.in_use for m in engine.models.loaded()}.get(GENERATOR) == 0  # released
        assert GENERATOR in engine.models.sweep_idle()  # and now idle like any other model
    finally:
        engine.close()


def test_cache_events_are_sent_outside_its_lock_so_listeners_cannot_deadlock(specs) -> None:
    """A listener that takes another lock (the model manager's, in the engine) while a thread
    holding that lock reads the cache: with events sent under the cache lock this deadlocked
    (seen as an engine thread that never stopped when an idle sweep met a generation starting)."""
    import threading

    other_lock = threading.Lock()
    in_listener = threading.Event()

    def listener(kind, spec, message) -> None:
        if kind != "unloaded":
            return
        in_listener.set()
        with other_lock:
            pass

    cache = ModelCache(budget_mb=10_000, max_entries=3, idle_timeout_s=0, on_event=listener)
    cache.get(specs[EMBEDDER], lambda spec: load_model(spec, Config()))
    reader_done = threading.Event()

    holding = threading.Event()

    def reader() -> None:  # like ModelManager.active(): its lock held, then a cache read
        with other_lock:
            holding.set()
            in_listener.wait(10)
            cache.loaded()
        reader_done.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    assert holding.wait(10)
    sweeper = threading.Thread(target=cache.sweep_idle, daemon=True)
    sweeper.start()
    sweeper.join(20)
    thread.join(20)
    assert reader_done.is_set() and not sweeper.is_alive(), "cache lock held while notifying listeners"
    assert not cache.is_loaded(EMBEDDER)
