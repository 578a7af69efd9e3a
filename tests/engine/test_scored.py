"""Engine.on_scored: one subscription point for what happens after a headline is stored, for every origin."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news.config import NewsConfig
from engine.news.items import NewsItem
from engine.news.pipeline import NewsPipeline
from engine.scored import BACKGROUND_QUEUE_BATCHES, ScoredBatch, ScoredHub, ScoredItem
from engine.types import Signal


@pytest.fixture
def engine(data_dir: Path):
    eng = Engine(Config(sentiment_model="lexicon"), data_dir)
    yield eng
    eng.close()


def _signal(i: int) -> Signal:
    return Signal(i, 0.0, "t", f"headline {i}", (), "neutral", (0.1, 0.1, 0.8), 0.8, 0.0, "m", "1", 0.1)


def test_pasted_and_live_items_reach_the_same_listeners_with_their_origin(engine) -> None:
    inline, background = [], []
    done = threading.Event()
    engine.on_scored(lambda b: inline.append((b.origin, threading.current_thread().name)), name="inline",
                     background=False)
    engine.on_scored(lambda b: (background.append((b.origin, threading.current_thread().name)), done.set()),
                     name="background", origins=("live",))

    before = engine.analyze_batch(["$ACME shares rise on an upgrade"], "paste")  # read by the warm-up
    pipeline = NewsPipeline(engine, NewsConfig(batch_timeout_ms=10))
    pipeline.start()
    pasted = engine.analyze_batch(["$ACME wins a large contract"], "paste")  # through the listener
    assert before[0].id < pasted[0].id
    assert inline == [("paste", threading.current_thread().name)] * 2  # inline: on the storing thread
    assert background == []  # this listener asked for live items only
    try:
        assert pipeline.submit([NewsItem("$ACME shares fall after a profit warning", "feed")]).accepted == 1
        assert pipeline.wait_idle(30) and done.wait(30)
    finally:
        pipeline.stop()
    assert inline[-1] == ("live", "news-fast-lane")
    assert background == [("live", "after-scoring")]  # background: never on a scoring thread
    # The signal cache is one of the listeners: pasted items count for the asset's gauge too, each once.
    assert [e.signal_id for e in pipeline.snapshot("ACME").history] == [before[0].id, pasted[0].id,
                                                                        pasted[0].id + 1]


def test_a_stuck_background_listener_never_holds_scoring_and_its_drops_are_counted() -> None:
    hub = ScoredHub()
    release, entered = threading.Event(), threading.Event()
    seen_inline = []

    def stuck(_batch) -> None:
        entered.set()
        release.wait(30)

    hub.subscribe(stuck, name="stuck")
    hub.subscribe(seen_inline.append, name="inline", background=False)
    batch = ScoredBatch("live", (ScoredItem(_signal(1)),))
    hub.publish(batch)
    assert entered.wait(10)
    for _ in range(BACKGROUND_QUEUE_BATCHES + 5):  # returns at once although the listener is stuck
        hub.publish(batch)
    assert len(seen_inline) == BACKGROUND_QUEUE_BATCHES + 6
    assert hub.stats().background_dropped == 5
    release.set()
    assert hub.wait_idle(30)
    hub.close()


def test_a_failing_listener_does_not_stop_the_others_and_unsubscribe_works() -> None:
    hub = ScoredHub()
    seen = []

    def broken(_batch) -> None:
        raise RuntimeError("listener bug")

    hub.subscribe(broken, name="broken", background=False)
    unsubscribe = hub.subscribe(seen.append, name="kept", background=False)
    batch = ScoredBatch("paste", (ScoredItem(_signal(2)),))
    hub.publish(batch)
    assert seen == [batch] and hub.stats().listener_errors == 1
    unsubscribe()
    hub.publish(batch)
    assert seen == [batch]
    with pytest.raises(ValueError):
        hub.subscribe(seen.append, name="typo", origins=("pasted",))
    hub.close()


def test_closing_the_engine_lets_stored_batches_reach_their_background_listeners(data_dir: Path) -> None:
    # `signaldesk ingest` closes the engine as soon as scoring is idle: the last batches' alerts
    # were dropped from the after-scoring queue (seen as a CI failure under load).
    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    seen: list[str] = []
    first_entered, release = threading.Event(), threading.Event()

    def slow(batch: ScoredBatch) -> None:
        first_entered.set()
        release.wait(5)  # the listener is still busy when close() is called
        seen.extend(i.signal.text for i in batch.items)

    engine.on_scored(slow, name="slow alerts")
    engine.analyze_batch(["$ACME wins a contract"], "paste")
    assert first_entered.wait(10)
    engine.analyze_batch(["$ACME cuts guidance"], "paste")  # queued behind the busy listener
    threading.Timer(0.3, release.set).start()
    engine.close()
    assert seen == ["$ACME wins a contract", "$ACME cuts guidance"]
