"""The live-news pipeline with real parts: a real engine (active sentiment model), real SQLite.

Threads are coordinated with events, never with timing assumptions: a listener that blocks
the fast lane makes "the queue is full" a fact rather than a race.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news import NewsConfig, NewsItem, NewsPipeline
from engine.news.cache import FEATURE_NAMES, CachedSignal, SignalCache
from engine.news.pipeline import warm_cache
from engine.store import DB_FILE_NAME

HEADLINES = [
    "$ACME beats third-quarter profit estimates, raises full-year guidance",
    "$DUNE misses revenue forecasts as refining margins shrink",
    "$ZEPH shares halted after FDA rejects lead drug",
    "Fed holds rates steady, signals two cuts later this year",
    "$VOLT names new chief executive",
    "Bitcoin rises above $70,000 for the first time $BTC.X",
    "$ACME agrees to buy Nimbus Cloud for $4.2 billion in cash",
    "$ORBT to report fourth-quarter results after the bell on Thursday",
]


def items(texts, source="test", **kw) -> list[NewsItem]:
    return [NewsItem(text=t, source=source, **kw) for t in texts]


def numbered(n: int, prefix: str = "Headline") -> list[str]:
    return [f"{prefix} {i}: $ACME shares rise {i % 9 + 1}% on strong demand" for i in range(n)]


@pytest.fixture
def engine(data_dir: Path):
    eng = Engine(Config(), data_dir)
    yield eng
    eng.close()


def make_pipeline(engine, **overrides) -> NewsPipeline:
    cfg = dict(queue_capacity=64, batch_size=8, batch_timeout_ms=20, submit_chunk=16)
    cfg.update(overrides)
    return NewsPipeline(engine, NewsConfig(**cfg))


def db_rows(data_dir: Path, sql: str, params=()) -> list[tuple]:
    """Read through a separate connection: what another process (or a restart) would see."""
    conn = sqlite3.connect(str(data_dir / DB_FILE_NAME))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


class Gate:
    """An inline after-scoring listener that holds the fast lane inside its first batch until released
    (later batches, e.g. of another pipeline on the same engine, pass)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.batches = []

    def __call__(self, batch) -> None:
        self.batches.append(batch)
        if self.entered.is_set():
            return
        self.entered.set()
        assert self.release.wait(30), "test never released the fast lane"


def listen(engine, listener) -> None:
    """What the pipeline stores reaches Engine.on_scored as origin "live", on the fast-lane thread."""
    engine.on_scored(listener, name="test", background=False, origins=("live",))


def test_items_are_scored_classified_stored_and_linked(engine, data_dir: Path) -> None:
    pipeline = make_pipeline(engine)
    seen = []
    listen(engine, seen.append)
    pipeline.start()
    result = pipeline.submit(items(HEADLINES))
    assert (result.accepted, result.duplicates, result.refused) == (len(HEADLINES), 0, 0)
    assert pipeline.wait_idle(60)
    rows = db_rows(data_dir, "SELECT i.text, i.state, s.text, s.source, s.entities, e.category, e.impact "
                             "FROM news_inbox i JOIN signals s ON s.id = i.signal_id "
                             "JOIN news_events e ON e.signal_id = s.id ORDER BY i.id")
    assert [r[0] for r in rows] == HEADLINES
    assert all(r[1] == "done" and r[0] == r[2] and r[3] == "test" for r in rows)
    categories = [r[5] for r in rows]
    assert categories[0] == "earnings" and categories[3] == "macro" and categories[5] == "crypto"
    assert categories[6] == "corporate" and rows[6][6] == "high"  # a $4.2bn acquisition
    scored = [item for batch in seen for item in batch.items]
    assert [i.signal.text for i in scored] == HEADLINES
    assert all(i.signal.id is not None and i.signal.source == "test" for i in scored)
    stats = pipeline.stats()
    assert (stats.accepted, stats.scored, stats.failed, stats.dropped) == (len(HEADLINES), len(HEADLINES), 0, 0)
    pipeline.stop()


def test_duplicates_by_guid_link_and_text_are_counted_not_stored(engine) -> None:
    pipeline = make_pipeline(engine)
    pipeline.start()
    first = [NewsItem("$A one", "feed", guid="g-1"), NewsItem("$A two", "feed", link="https://x.test/a#top"),
             NewsItem("$A three", "feed")]
    again = [NewsItem("$A one, edited title", "feed", guid="g-1"),  # same guid: the same story
             NewsItem("$A two elsewhere", "other-feed", link="HTTPS://X.TEST/a"),  # a link is global
             NewsItem("  $a   THREE ", "feed"),  # same text after normalising
             NewsItem("$A three", "social-account")]  # same text, another voice: kept
    assert pipeline.submit(first).accepted == 3
    result = pipeline.submit(again + again)
    assert (result.accepted, result.duplicates) == (1, 7)
    assert pipeline.wait_idle(60)
    assert engine.store.count_signals() == 4
    pipeline.stop()


def test_accepted_items_are_committed_before_submit_returns(engine, data_dir: Path) -> None:
    pipeline = make_pipeline(engine)
    gate = Gate()
    listen(engine, gate)
    pipeline.start()
    pipeline.submit(items(numbered(8, "first")))
    assert gate.entered.wait(30)  # the fast lane is now held
    result = pipeline.submit(items(numbered(20, "second")))
    # Acknowledged means committed: another connection already sees every row, unscored.
    seen = db_rows(data_dir, "SELECT state, COUNT(*) FROM news_inbox WHERE text LIKE 'second%' GROUP BY state")
    assert result.accepted == 20 and seen == [("pending", 20)]
    gate.release.set()
    assert pipeline.wait_idle(60)
    assert db_rows(data_dir, "SELECT state, COUNT(*) FROM news_inbox GROUP BY state") == [("done", 28)]
    pipeline.stop()


def test_full_queue_blocks_the_source_and_a_timeout_refuses_without_acknowledging(engine, data_dir: Path) -> None:
    pipeline = make_pipeline(engine, queue_capacity=8, batch_size=4, submit_chunk=4)
    gate = Gate()
    listen(engine, gate)
    pipeline.start()
    pipeline.submit(items(numbered(4, "a")))
    assert gate.entered.wait(30)
    assert pipeline.submit(items(numbered(8, "b"))).accepted == 8  # fills the queue exactly
    refused = pipeline.submit(items(numbered(4, "c")), timeout=0.2)
    assert (refused.accepted, refused.refused) == (0, 4)
    assert db_rows(data_dir, "SELECT COUNT(*) FROM news_inbox WHERE text LIKE 'c%'") == [(0,)]  # not acknowledged

    outcome = {}
    blocked = threading.Thread(target=lambda: outcome.update(r=pipeline.submit(items(numbered(4, "d")))))
    blocked.start()
    blocked.join(0.3)
    assert blocked.is_alive(), "a full queue must hold the source back"
    assert db_rows(data_dir, "SELECT COUNT(*) FROM news_inbox WHERE text LIKE 'd%'") == [(0,)]
    gate.release.set()
    blocked.join(30)
    assert outcome["r"].accepted == 4
    assert pipeline.wait_idle(60)
    stats = pipeline.stats()
    assert (stats.scored, stats.refused, stats.dropped, stats.failed) == (16, 4, 0, 0)
    assert stats.peak_queue_depth <= 8 and stats.backpressure_s > 0
    pipeline.stop()


@pytest.mark.parametrize("shed_backlog", [8, 0])
def test_a_backed_up_queue_sheds_only_the_embedding_step(engine, data_dir: Path, shed_backlog: int) -> None:
    pipeline = make_pipeline(engine, batch_size=8, prototype_shed_backlog=shed_backlog)
    gate = Gate()
    listen(engine, gate)
    pipeline.start()
    pipeline.submit(items(numbered(8, "first")))
    assert gate.entered.wait(30)
    unsure = [f"Zoo welcomes twin panda cubs, visitor number {i}" for i in range(40)]  # no rule fires
    pipeline.submit(items(unsure))  # 40 waiting >= the backlog of 8
    gate.release.set()
    assert pipeline.wait_idle(60)
    stats = pipeline.stats()
    assert stats.scored == 48 and stats.failed == 0
    methods = dict(db_rows(data_dir, "SELECT e.method, COUNT(*) FROM news_events e JOIN signals s ON s.id = e.signal_id "
                                     "WHERE s.text LIKE 'Zoo%' GROUP BY e.method"))
    if shed_backlog:
        assert stats.events_shed >= 8 and methods.get("none", 0) >= 8  # rules only: nothing matched
    else:
        assert stats.events_shed == 0 and methods == {"prototype": 40}
    pipeline.stop()


def test_micro_batches_respect_the_configured_size(engine) -> None:
    pipeline = make_pipeline(engine, batch_size=5, batch_timeout_ms=200)
    sizes = []
    listen(engine, lambda batch: sizes.append(len(batch.items)))
    pipeline.start()
    pipeline.submit(items(numbered(23)))
    assert pipeline.wait_idle(60)
    assert sum(sizes) == 23 and max(sizes) <= 5 and len(sizes) >= 5
    pipeline.stop()


def test_pending_rows_are_resumed_after_a_stop_and_scored_exactly_once(data_dir: Path) -> None:
    engine = Engine(Config(), data_dir)
    pipeline = make_pipeline(engine, batch_size=4)
    gate = Gate()
    listen(engine, gate)
    pipeline.start()
    pipeline.submit(items(numbered(12)))
    assert gate.entered.wait(30)
    stopper = threading.Thread(target=pipeline.stop)
    stopper.start()
    while pipeline.running:  # stop() flips this first, then waits for the held batch
        time.sleep(0.01)
    gate.release.set()
    stopper.join(30)
    engine.close()
    assert dict(db_rows(data_dir, "SELECT state, COUNT(*) FROM news_inbox GROUP BY state")) == {"done": 4, "pending": 8}

    engine = Engine(Config(), data_dir)
    pipeline = make_pipeline(engine)
    pipeline.start()
    assert pipeline.wait_idle(60)
    assert pipeline.stats().resumed == 8
    pipeline.stop()
    engine.close()
    rows = db_rows(data_dir, "SELECT i.state, COUNT(s.id), COUNT(DISTINCT s.text) FROM news_inbox i "
                             "JOIN signals s ON s.id = i.signal_id GROUP BY i.state")
    assert rows == [("done", 12, 12)]
    assert db_rows(data_dir, "SELECT COUNT(*) FROM signals") == [(12,)]


def test_two_pipelines_resuming_the_same_rows_never_score_one_twice(data_dir: Path) -> None:
    engine = Engine(Config(), data_dir)
    from engine.news.inbox import Inbox

    Inbox(engine.store).accept(items(numbered(200)))  # acknowledged, never scored (as after a crash)
    second = Engine(Config(), data_dir)
    first_pipeline, second_pipeline = make_pipeline(engine), make_pipeline(second)
    first_pipeline.start()
    second_pipeline.start()
    assert first_pipeline.wait_idle(120) and second_pipeline.wait_idle(120)
    first_pipeline.stop()
    second_pipeline.stop()
    engine.close()
    second.close()
    assert db_rows(data_dir, "SELECT state, COUNT(*) FROM news_inbox GROUP BY state") == [("done", 200)]
    assert db_rows(data_dir, "SELECT COUNT(*), COUNT(DISTINCT text) FROM signals") == [(200, 200)]


class FailingEngine:
    """The real engine, except that scoring raises: a model that broke mid-run."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def analyze_batch(self, *args, **kwargs):
        self.calls += 1
        raise RuntimeError("sentiment backend crashed")


def test_failing_batches_are_retried_then_marked_failed_and_can_be_retried(engine, data_dir: Path) -> None:
    failing = FailingEngine(engine)
    pipeline = make_pipeline(failing, max_retries=1, max_attempts=1)  # dead-lettered after one attempt
    pipeline.start()
    pipeline.submit(items(numbered(3)))
    assert pipeline.wait_idle(60)
    pipeline.stop()
    assert failing.calls == 2  # first try + one retry
    assert pipeline.stats().failed == 3
    rows = db_rows(data_dir, "SELECT state, error FROM news_inbox")
    assert all(state == "failed" and "sentiment backend crashed" in error for state, error in rows)

    assert pipeline.retry_failed() == 3
    healthy = make_pipeline(engine)
    healthy.start()
    assert healthy.wait_idle(60)
    healthy.stop()
    assert db_rows(data_dir, "SELECT state, COUNT(*) FROM news_inbox GROUP BY state") == [("done", 3)]


def test_a_pipeline_that_is_not_running_refuses_without_acknowledging(engine, data_dir: Path) -> None:
    pipeline = make_pipeline(engine)
    result = pipeline.submit(items(["$A x", "$B y"]))
    assert (result.accepted, result.refused) == (0, 2)
    assert pipeline.stats().refused == 2
    assert db_rows(data_dir, "SELECT COUNT(*) FROM news_inbox") == [(0,)]


# --- signal cache and features --------------------------------------------------------------

def cached(asset="ACME", compound=0.6, confidence=0.8, category="earnings", at=0.0, source="wire", kind="news",
           label=None, impact="medium", sid=None) -> CachedSignal:
    label = label or ("bullish" if compound > 0.05 else "bearish" if compound < -0.05 else "neutral")
    return CachedSignal(sid, asset, source, kind, label, compound, confidence, category, "general", impact, "medium", at)


def test_confidence_halves_per_category_half_life_and_expires_after_the_ttl() -> None:
    cfg = NewsConfig(half_life_hours_market=4.0, half_life_hours_regulatory=72.0, signal_ttl_hours=24.0)
    cache = SignalCache(cfg)
    cache.add_entries([cached("MKT", category="market", confidence=0.8), cached("REG", category="regulatory", confidence=0.8)])
    four_hours = 4 * 3600.0
    assert cache.features("MKT", now=four_hours)["decayed_confidence"] == pytest.approx(0.4)
    assert cache.features("MKT", now=2 * four_hours)["decayed_confidence"] == pytest.approx(0.2)
    assert cache.features("REG", now=four_hours)["decayed_confidence"] == pytest.approx(0.8 * 0.5 ** (4 / 72), abs=1e-6)
    f = cache.features("MKT", now=four_hours)
    assert f["weighted_sentiment"] == pytest.approx(f["sentiment"] * f["decayed_confidence"], abs=1e-6)
    expired = cache.snapshot("MKT", now=25 * 3600.0)
    assert expired.latest is None and expired.features["sentiment"] == 0.0
    assert expired.features["running_sentiment"] == pytest.approx(0.6)  # history outlives the TTL


def test_running_sentiment_is_an_ewma_and_latest_is_the_newest() -> None:
    cache = SignalCache(NewsConfig(ewma_alpha=0.5))
    cache.add_entries([cached(compound=0.8, at=0), cached(compound=-0.4, at=60, impact="high"), cached(compound=0.2, at=120)])
    f = cache.features("acme", now=180)  # asset names are case-insensitive
    assert f["running_sentiment"] == pytest.approx(0.5 * 0.2 + 0.5 * (0.5 * -0.4 + 0.5 * 0.8))
    assert f["sentiment"] == pytest.approx(0.2) and f["high_impact"] == 0.0
    assert list(f) == list(FEATURE_NAMES)


def test_multi_source_aggregate_weights_kinds_and_gives_one_vote_per_source() -> None:
    cfg = NewsConfig(weight_news=0.5, weight_analyst=0.3, weight_social=0.2)
    cache = SignalCache(cfg)
    cache.add_entries([
        cached(compound=0.6, confidence=1.0, source="wire", kind="news", at=0),
        cached(compound=-0.8, confidence=1.0, source="desk", kind="analyst", at=0),
        # A chatty social account: only its newest post votes.
        *[cached(compound=-0.9, confidence=1.0, source="@loud", kind="social", at=t) for t in range(5)],
        cached(compound=0.7, confidence=1.0, source="@loud", kind="social", at=10),
    ])
    f = cache.features("ACME", now=10)
    expected = (0.5 * 0.6 + 0.3 * -0.8 + 0.2 * 0.7) / 1.0
    assert f["aggregate_sentiment"] == pytest.approx(expected, abs=1e-3)
    assert f["live_sources"] == 3.0
    assert f["consensus_share"] == pytest.approx(0.7, abs=1e-3)  # wire + social agree with the (bullish) aggregate


def test_warm_start_from_the_store_matches_the_live_cache(engine) -> None:
    pipeline = make_pipeline(engine)
    pipeline.start()
    pipeline.submit(items(HEADLINES + [f"$ACME update {i}: shares {'rise' if i % 2 else 'fall'} {i}%" for i in range(10)]))
    assert pipeline.wait_idle(60)
    now = time.time()
    live = {a: pipeline.cache.features(a, now) for a in ("ACME", "DUNE", "BTC.X")}
    pipeline.stop()
    cold = SignalCache(pipeline.config)
    warm_cache(cold, engine.store, now)
    assert {a: cold.features(a, now) for a in live} == live
    assert live["ACME"]["running_sentiment"] != 0.0


def test_engine_features_reads_the_news_pipeline(engine) -> None:
    engine.news.start()
    engine.news.submit(items(["$ACME beats third-quarter profit estimates, raises full-year guidance"]))
    assert engine.news.wait_idle(60)
    f = engine.features("$acme")
    assert list(f) == list(FEATURE_NAMES)
    assert f["sentiment"] > 0 and f["decayed_confidence"] > 0 and f["high_impact"] == 1.0
    assert engine.features("NEVER") == dict.fromkeys(FEATURE_NAMES, 0.0)


def test_panel_queries_page_and_filter_stored_news(engine) -> None:
    from engine.news.query import NewsFilter

    pipeline = make_pipeline(engine)
    pipeline.start()
    pipeline.submit(items(HEADLINES + ["$ACME 100%_sure: shares rise"]))
    assert pipeline.wait_idle(60)
    everything = pipeline.query(NewsFilter(limit=100))
    assert [r.text for r in everything] == list(reversed(HEADLINES + ["$ACME 100%_sure: shares rise"]))
    acme = pipeline.query(NewsFilter(asset="$acme"))
    assert {r.text for r in acme} == {HEADLINES[0], HEADLINES[6], "$ACME 100%_sure: shares rise"}
    assert [r.category for r in pipeline.query(NewsFilter(category="crypto"))] == ["crypto"]
    assert [r.text for r in pipeline.query(NewsFilter(search="100%_SURE"))] == ["$ACME 100%_sure: shares rise"]
    assert pipeline.query(NewsFilter(search="100%x")) == ()  # % and _ are literal, not wildcards
    confident = pipeline.query(NewsFilter(min_confidence=0.6, label="bullish"))
    assert all(r.confidence >= 0.6 and r.label == "bullish" for r in confident)
    first, second = pipeline.query(NewsFilter(limit=4)), None
    second = pipeline.query(NewsFilter(limit=4, before_id=first[-1].signal_id))
    assert [r.signal_id for r in first + second] == [r.signal_id for r in everything[:8]]
    with pytest.raises(ValueError):
        NewsFilter(category="sports")
    pipeline.stop()


def test_sparkline_series_follows_the_running_sentiment() -> None:
    cache = SignalCache(NewsConfig(ewma_alpha=0.5, history_per_asset=3))
    cache.add_entries([cached(compound=c, at=i) for i, c in enumerate([0.8, -0.4, 0.2, 0.6])])
    snap = cache.snapshot("ACME", now=10)
    assert snap.running_series == pytest.approx((0.2, 0.2, 0.4))  # bounded like the history
    assert snap.running_series[-1] == snap.features["running_sentiment"]
    cache.add_entries([cached(asset="DUNE", compound=-0.5, at=5)])
    assert cache.recent_assets() == ["DUNE", "ACME"]
