"""Items that fail scoring are retried with backoff and end in a visible dead-letter list
(issue 22 item 3). Real engine, real SQLite; a second real connection holds the write lock, as
another process writing to the same database does.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news import NewsConfig, NewsItem, NewsPipeline
from engine.store import DB_FILE_NAME
from tests.engine.test_news_pipeline import FailingEngine  # scoring always raises: a model that broke

TEXTS = [f"$ACME shares rise {i}% on strong demand, item {i}" for i in range(24)]


def _items(texts) -> list[NewsItem]:
    return [NewsItem(text=t, source="retry-test") for t in texts]


def _pipeline(engine, **overrides) -> NewsPipeline:
    cfg = dict(queue_capacity=64, batch_size=8, batch_timeout_ms=20, submit_chunk=32, max_retries=0,
               retry_backoff_s=0.05, retry_max_backoff_s=0.2)
    cfg.update(overrides)
    return NewsPipeline(engine, NewsConfig(**cfg))


def _states(data_dir: Path) -> list[tuple]:
    conn = sqlite3.connect(str(data_dir / DB_FILE_NAME))
    try:
        return conn.execute("SELECT state, COUNT(*), MAX(attempts) FROM news_inbox GROUP BY state").fetchall()
    finally:
        conn.close()


class GatedEngine:
    """The real engine; the first scoring call waits until the test has taken the write lock."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self.first_call = threading.Event()
        self.go = threading.Event()

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def analyze_batch(self, *args, **kwargs):
        self.first_call.set()
        assert self.go.wait(30)
        return self._engine.analyze_batch(*args, **kwargs)


@pytest.fixture
def engine(data_dir: Path, monkeypatch):
    import engine.store

    monkeypatch.setattr(engine.store, "BUSY_TIMEOUT_S", 0.2)  # meet the lock quickly, not after 10 s
    eng = Engine(Config(sentiment_model="lexicon"), data_dir)
    yield eng
    eng.close()


def test_items_that_meet_a_locked_database_are_retried_and_all_scored(engine, data_dir: Path) -> None:
    gated = GatedEngine(engine)
    pipeline = _pipeline(gated)
    pipeline.start()
    assert pipeline.submit(_items(TEXTS)).accepted == len(TEXTS)  # acknowledged
    assert gated.first_call.wait(30)
    holder = sqlite3.connect(str(data_dir / DB_FILE_NAME), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    gated.go.set()
    try:
        # Every attempt meets the lock: the rows wait, pending, with their attempts counted.
        assert _wait(lambda: pipeline.stats().retried >= 2 * 8)
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert pipeline.wait_idle(60)
    stats = pipeline.stats()
    pipeline.stop()
    assert (stats.scored, stats.failed, stats.retrying) == (len(TEXTS), 0, 0), stats
    assert [(state, count) for state, count, _ in _states(data_dir)] == [("done", len(TEXTS))]


def test_items_that_keep_failing_are_dead_lettered_with_attempts_and_error(engine, data_dir: Path) -> None:
    broken = FailingEngine(engine)
    pipeline = _pipeline(broken, max_attempts=3)
    pipeline.start()
    pipeline.submit(_items(TEXTS[:5]))
    assert pipeline.wait_idle(60)
    stats = pipeline.stats()
    failed = pipeline.failed_items()
    pipeline.stop()
    assert stats.failed == 5 and stats.retried == 10 and stats.scored == 0
    assert [f.text for f in failed] == TEXTS[:5]
    assert all(f.attempts == 3 and "sentiment backend crashed" in f.error and f.failed_at for f in failed)
    assert _states(data_dir) == [("failed", 5, 3)]

    assert pipeline.retry_failed([failed[0].id]) == 1  # the operator retries one of them
    healthy = _pipeline(engine)
    healthy.start()
    assert healthy.wait_idle(60)
    healthy.stop()
    assert sorted(_states(data_dir)) == [("done", 1, 0), ("failed", 4, 3)]


def test_items_waiting_for_a_retry_when_the_run_ends_are_scored_on_the_next_run(engine, data_dir: Path) -> None:
    broken = FailingEngine(engine)
    pipeline = _pipeline(broken, max_attempts=5, retry_backoff_s=60, retry_max_backoff_s=60)
    pipeline.start()
    pipeline.submit(_items(TEXTS[:4]))
    assert _wait(lambda: pipeline.stats().retrying == 4)
    pipeline.stop()
    assert _states(data_dir) == [("pending", 4, 1)]  # attempt recorded, next one due in a minute

    again = _pipeline(engine)
    again.start()
    assert again.wait_idle(60)
    stats = again.stats()
    again.stop()
    assert stats.resumed == 4 and stats.scored == 4
    assert _states(data_dir) == [("done", 4, 1)]


def _wait(predicate, timeout: float = 30.0) -> bool:
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return True
        done.wait(0.02)
    return False
