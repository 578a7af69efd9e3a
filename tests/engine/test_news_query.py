"""Sorted, keyset-paged reads of stored news (engine/news/query.py) against a real store and pipeline.

The Live table sorts on the server and streams rows into the sorted window itself, so the
Python ``order_key`` must agree with SQLite's ORDER BY exactly (NOCASE text, first ticker,
event class then subclass, ties broken by id); these tests read every page and compare.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news import NewsConfig, NewsItem, NewsPipeline
from engine.news.query import SORT_KEYS, NewsFilter, next_page, order_key, query_news

SOURCES = ("wire", "Wire", "social", "ALPHA", "älpha")  # case ties and a non-ASCII letter NOCASE leaves alone
SUBJECTS = ("$ACME", "$ZEPH", "$VOLT", "", "Zephyr Biotech (NASDAQ: ZEPH)", "Ärzte Bank")
VERBS = ("beats estimates", "misses estimates", "raises dividend", "cuts jobs", "faces SEC probe",
         "shares jump 12%", "Bitcoin slips")


@pytest.fixture
def stored(data_dir: Path):
    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    pipeline = NewsPipeline(engine, NewsConfig(queue_capacity=128, batch_size=16, batch_timeout_ms=20, submit_chunk=32))
    pipeline.start(resume=False)
    rng = random.Random(5)

    def add(n: int, tag: str) -> None:
        texts = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} ({tag} {i})" for i in range(n)]
        result = pipeline.submit([NewsItem(text=t, source=rng.choice(SOURCES)) for t in texts])
        assert result.accepted == n
        assert pipeline.wait_idle(60)

    add(240, "first")
    yield engine, add
    pipeline.stop()
    engine.close()


def read_all(store, f: NewsFilter) -> list:
    rows = []
    while True:
        page = query_news(store, f)
        rows.extend(page)
        if len(page) < f.limit:
            return rows
        f = next_page(f, page[-1])


@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
@pytest.mark.parametrize("sort", SORT_KEYS)
def test_keyset_pages_in_every_sort_agree_with_the_python_order_key(stored, sort, descending) -> None:
    engine, _add = stored
    everything = query_news(engine.store, NewsFilter(limit=5000))
    assert len(everything) == 240
    paged = read_all(engine.store, NewsFilter(sort=sort, descending=descending, limit=23))
    expected = sorted(everything, key=lambda r: order_key(r, sort), reverse=descending)
    assert [r.signal_id for r in paged] == [r.signal_id for r in expected]
    if sort != "time":  # the sort really orders by something other than arrival
        assert [r.signal_id for r in paged] != sorted((r.signal_id for r in paged), reverse=descending)


def test_rows_stored_between_pages_never_shift_a_sorted_page(stored) -> None:
    engine, add = stored
    f = NewsFilter(sort="confidence", limit=50)
    first = query_news(engine.store, f)
    add(60, "later")  # news keeps arriving while the reader scrolls
    rest = read_all(engine.store, next_page(f, first[-1]))
    seen = [r.signal_id for r in first + tuple(rest)]
    assert len(seen) == len(set(seen))  # nothing twice
    everything = read_all(engine.store, NewsFilter(sort="confidence", limit=200))
    assert len(everything) == 300
    # Every row that sorts after the first page is read exactly once, old or new.
    boundary = order_key(first[-1], "confidence")
    after = [r.signal_id for r in everything if order_key(r, "confidence") < boundary]
    assert sorted(r.signal_id for r in rest) == sorted(after)


def test_sort_combines_with_filters(stored) -> None:
    engine, _add = stored
    f = NewsFilter(asset="zeph", label="bearish", sort="text", descending=False, limit=7)
    rows = read_all(engine.store, f)
    assert rows and all("ZEPH" in r.tickers and r.label == "bearish" for r in rows)
    assert [order_key(r, "text") for r in rows] == sorted(order_key(r, "text") for r in rows)


def test_bad_sort_or_cursor_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="sort must be one of"):
        NewsFilter(sort="colour")
    with pytest.raises(ValueError, match="needs 1 sort value"):
        NewsFilter(sort="confidence", before_id=10)  # a cursor without the row's confidence
    assert NewsFilter(before_id=10).after == ()  # arrival order needs only the id
