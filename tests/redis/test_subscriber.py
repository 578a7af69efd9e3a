"""A worker in this process (real engine, real Redis) feeding the desk's results subscriber.

Covers the poison path (dead letters with reasons), the subscriber's dedupe by news entry id and
its resume from the position saved in SQLite, and the publisher leaving worker results alone.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news.items import NewsItem
from engine.redisbus import scripts as lua
from engine.redisbus.client import connect
from engine.redisbus.config import RedisConfig
from engine.redisbus.feed import FeedReport, feed_items
from engine.redisbus.publisher import SignalPublisher
from engine.redisbus.subscriber import ResultsSubscriber
from engine.redisbus.worker import StreamWorker
from engine.store import DB_FILE_NAME, Store
from tests.redis.conftest import TEST_DESK_KEY

HEADLINES = [f"$ACME shares rise {i}% after item {i} of the subscriber test" for i in range(1, 21)]


def feed(config: RedisConfig, texts: list[str]) -> int:
    client = connect(config)
    report = FeedReport("-", "test", config.news_key)
    feed_items([NewsItem(text=t, source="wire") for t in texts], config, client, lua.Scripts(client), report)
    client.close()
    return report.sent


@pytest.fixture
def scorer(data_dir: Path):
    engine = Engine(Config(intra_op_threads=1), data_dir / "worker", publish_to_redis=False)
    yield engine
    engine.close()


def run_worker(engine, config: RedisConfig, batches: int) -> dict:
    worker = StreamWorker(engine, config, "inproc")
    stats = worker.run(max_batches=batches).to_dict()
    worker.client.close()
    return stats


def test_poison_entries_are_dead_lettered_with_their_reason_and_never_block_the_stream(redis_server, scorer) -> None:
    config = RedisConfig(url=redis_server.url, hmac_key=TEST_DESK_KEY, batch_size=16, block_ms=200)
    client = redis_server.client()
    feed(config, HEADLINES[:3])
    client.xadd(config.news_key, {"source": "wire"})  # no text
    client.xadd(config.news_key, {"text": "   "})  # blank
    client.xadd(config.news_key, {"text": b"\xff\xfe headline"})  # not UTF-8
    client.xadd(config.news_key, {"text": "$ACME ok", "published_at": "yesterday"})
    stats = run_worker(scorer, config, batches=1)
    assert stats["published"] == 3 and stats["dead_lettered"] == 4
    letters = [{k.decode(): v.decode() for k, v in fields.items()} for _id, fields in client.xrange(config.dead_letter_key)]
    reasons = sorted(letter["reason"] for letter in letters)
    assert reasons[0] == "blank text" and reasons[1] == "no 'text' field"
    assert reasons[2].startswith("not UTF-8") and reasons[3].startswith("published_at is not a number")
    assert all(letter["worker"] == "inproc" and letter["news_id"] for letter in letters)
    assert client.xpending(config.news_key, config.group)["pending"] == 0  # acked: nothing stuck


def test_subscriber_stores_each_result_once_and_resumes_after_a_restart(redis_server, scorer, data_dir: Path) -> None:
    config = RedisConfig(url=redis_server.url, hmac_key=TEST_DESK_KEY, batch_size=10, block_ms=200)
    client = redis_server.client()
    assert feed(config, HEADLINES[:15]) == 15
    run_worker(scorer, config, batches=2)

    desk_dir = data_dir / "desk"
    store = Store(desk_dir / DB_FILE_NAME)
    delivered: list = []
    sub = ResultsSubscriber(store, redis_server.url, on_signals=delivered.extend, config=config)
    first = sub.poll_once()
    assert len(first) == 15 and len(delivered) == 15
    item = delivered[0]
    assert item.signal.id is not None and item.signal.source == "redis:wire" and item.event.category
    assert item.signal.entities == ("ACME",) and item.signal.model_id == "finsent-minilm-l6-news"
    assert sub.poll_once() == []

    # A result delivered twice (e.g. re-published after Redis lost a write): stored once.
    _rid, fields = client.xrange(config.results_key, count=1)[0]
    client.xadd(config.results_key, fields)
    assert sub.poll_once() == [] and sub.status().duplicates == 1
    sub.stop()
    store.close()

    assert feed(config, HEADLINES[15:]) == 5
    run_worker(scorer, config, batches=1)
    store = Store(desk_dir / DB_FILE_NAME)  # a restarted desk resumes after the last stored result
    sub = ResultsSubscriber(store, redis_server.url, on_signals=delivered.extend, config=config)
    assert sub.status().last_id != "0-0"
    resumed = sub.poll_once()
    assert sorted(i.signal.text for i in resumed) == sorted(HEADLINES[15:])
    sub.stop()

    conn = sqlite3.connect(str(desk_dir / DB_FILE_NAME))
    assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT text) FROM signals").fetchone() == (20, 20)
    assert conn.execute("SELECT COUNT(DISTINCT news_id) FROM redis_remote_signals").fetchone()[0] == 20
    assert conn.execute("SELECT COUNT(*) FROM news_events").fetchone()[0] == 20
    conn.close()

    # The desk's publisher leaves worker results alone: their worker already published them.
    publisher = SignalPublisher(store, config, backfill=True)
    assert publisher.publish_pending() == 0
    assert publisher.status().remote_skipped == 20
    assert client.xlen(config.signals_key) == 20  # the workers' entries only
    store.close()


def test_subscriber_thread_delivers_results_as_they_arrive(redis_server, scorer, data_dir: Path) -> None:
    import threading

    config = RedisConfig(url=redis_server.url, hmac_key=TEST_DESK_KEY, batch_size=10, block_ms=200)
    store = Store(data_dir / "desk" / DB_FILE_NAME)
    arrived = threading.Event()
    got: list = []

    def on_signals(items) -> None:
        got.extend(items)
        if len(got) >= 5:
            arrived.set()

    sub = ResultsSubscriber(store, redis_server.url, on_signals=on_signals, config=config)
    sub.start()
    try:
        feed(config, HEADLINES[:5])
        run_worker(scorer, config, batches=1)
        assert arrived.wait(20), sub.status()
        assert sub.status().connected and sub.status().stored == 5
    finally:
        sub.stop()
        store.close()


def test_an_entry_that_keeps_killing_workers_is_dead_lettered_after_max_deliveries(redis_server, scorer) -> None:
    config = RedisConfig(url=redis_server.url, hmac_key=TEST_DESK_KEY, batch_size=8, block_ms=200, claim_min_idle_ms=0,
                         max_deliveries=5, consumer_forget_ms=0)
    client = redis_server.client()
    assert feed(config, ["$ACME headline that every worker crashes on"]) == 1
    client.xgroup_create(config.news_key, config.group, id="0")
    [[_stream, [(entry_id, _fields)]]] = client.xreadgroup(config.group, "crashed-1", {config.news_key: ">"}, count=1)
    for n in range(2, 5):  # three more workers took it over and died before acknowledging
        client.xclaim(config.news_key, config.group, f"crashed-{n}", 0, [entry_id])
    worker = StreamWorker(scorer, config, "survivor")
    assert worker.reclaim() == 1  # the fifth delivery: over the limit
    assert worker.stats.dead_lettered == 1 and worker.stats.published == 0
    [(_id, letter)] = client.xrange(config.dead_letter_key)
    assert letter[b"reason"].startswith(b"delivered 5 times") and letter[b"news_id"] == entry_id
    assert client.xpending(config.news_key, config.group)["pending"] == 0
    worker.maintain()  # the dead consumers hold nothing now: forgotten (consumer_forget_ms=0 here)
    names = {c["name"] for c in client.xinfo_consumers(config.news_key, config.group)}
    assert not any(name.startswith(b"crashed-") for name in names)
    worker.client.close()


def test_trimming_survives_the_last_pending_entry_being_acked_between_xinfo_and_xpending(redis_server, scorer) -> None:
    """XINFO GROUPS said one entry was pending; by XPENDING another worker had acked it (CI saw this)."""
    config = RedisConfig(url=redis_server.url, hmac_key=TEST_DESK_KEY, batch_size=16, block_ms=200)
    feed(config, HEADLINES[:3])
    worker = StreamWorker(scorer, config, "trimmer")
    try:
        assert worker.run(max_batches=1).to_dict()["published"] == 3

        class StaleGroupInfo:
            """The real client, except XINFO GROUPS answers as it did just before the last ack."""

            def __init__(self, client) -> None:
                self._client = client

            def xinfo_groups(self, key):
                return [dict(g, pending=1) for g in self._client.xinfo_groups(key)]

            def __getattr__(self, name):
                return getattr(self._client, name)

        real = worker.client
        worker.client = StaleGroupInfo(real)
        worker._trim_acked()  # raised ValueError ('None' is not an entry id) before the fix
        worker.client = real
        assert real.xpending(config.news_key, config.group)["pending"] == 0
    finally:
        worker.client.close()
