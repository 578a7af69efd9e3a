"""Sorted, keyset-paged reads of stored news (engine/news/query.py) against a real store and pipeline.

The Live table sorts on the server and streams rows into the sorted window itself, so the
Python ``order_key`` must agree with SQLite's ORDER BY exactly (NOCASE text, first ticker,
event class then subclass, ties broken by id); these tests read every page and compare.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news import NewsConfig, NewsItem, NewsPipeline
from engine.migrations import all_migrations
from engine.news.query import SORT_KEYS, NewsFilter, next_page, order_key, query_news
from engine.store import DB_FILE_NAME, Store, split_sql
from engine.textsearch import matches
from engine.types import Signal

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


HEADLINES = (
    "Élan Motors beats estimates",  # composed É
    "ELAN MOTORS misses estimates",
    "e\u0301lan motors cuts jobs",  # decomposed é: e + combining acute
    "Straße Holdings raises dividend",
    "STRASSE HOLDINGS faces SEC probe",
    "ΣΊΣΥΦΟΣ Shipping shares jump 12%",
    "Ärzte Bank [beta]* lists 50% of shares",
    "Elan Motors without an accent",
)


def _signal(text: str) -> Signal:
    return Signal(id=None, received_at=time.time(), source="wire", text=text, entities=(), label="neutral",
                  probs=(0.2, 0.6, 0.2), confidence=0.6, compound=0.0, model_id="m", model_version="1",
                  latency_ms=1.0)


def _found(store, search: str, **kw) -> set[str]:
    return {r.text for r in read_all(store, NewsFilter(search=search, limit=3, **kw))}


def test_search_folds_case_in_every_script_and_agrees_with_streamed_row_matching(data_dir: Path) -> None:
    store = Store(data_dir / DB_FILE_NAME)
    store.add_signals([_signal(t) for t in HEADLINES])
    elan = {HEADLINES[0], HEADLINES[2]}
    assert _found(store, "ÉLAN") == _found(store, "élan") == _found(store, "e\u0301LAN") == elan  # not "Elan"
    assert _found(store, "elan") == {HEADLINES[1], HEADLINES[7]}  # accents are letters, not case
    strasse = {HEADLINES[3], HEADLINES[4]}
    assert _found(store, "strasse") == _found(store, "STRASSE") == _found(store, "straße") == strasse
    assert _found(store, "σίσυφος") == _found(store, "ΣΊΣΥΦΟΣ") == {HEADLINES[5]}  # final sigma folds too
    assert _found(store, "ÄRZTE") == {HEADLINES[6]}
    # GLOB and LIKE metacharacters in the query are plain text.
    assert _found(store, "[BETA]*") == _found(store, "50%") == {HEADLINES[6]}
    assert _found(store, "*") == _found(store, "[") == {HEADLINES[6]} and _found(store, "_") == set()
    # Keyset paging (limit 3) works under every sort, and the Python matcher the Live table uses for
    # streamed rows agrees with the query for each search.
    for search in ("ÉLAN", "elan", "STRASSE", "σίσυφος", "[beta]*", "motors", "50%", "ß"):
        expected = {t for t in HEADLINES if matches(t, search)}
        for sort in SORT_KEYS:
            assert _found(store, search, sort=sort) == expected, (search, sort)
    store.close()


def test_search_covers_rows_from_before_the_folded_column_and_rows_written_without_it(data_dir: Path) -> None:
    # A database from before migration 13 is upgraded: its headlines are folded by the migration.
    path = data_dir / DB_FILE_NAME
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at REAL NOT NULL)")
    before = [m for m in all_migrations() if m[0] < 13]
    for number, name, sql in before:
        for statement in split_sql(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (number, name))
    conn.execute(f"PRAGMA user_version = {before[-1][0]}")
    insert = ("INSERT INTO signals (received_at, source, text, entities, label, probabilities, confidence, compound, "
              "model_id, model_version, latency_ms) VALUES (0, 'wire', ?, '[]', 'neutral', '{}', 0.5, 0, 'm', '1', 1)")
    conn.execute(insert, ("Crédit Agricole beats estimates",))
    conn.commit()
    conn.close()

    store = Store(path)
    assert 13 in store.applied_migrations()
    assert store.query("SELECT search_text FROM signals") == [("crédit agricole beats estimates",)]
    assert _found(store, "CRÉDIT") == {"Crédit Agricole beats estimates"}
    # A row written by plain SQL (not Store.add_signals) has no folded copy and is still found.
    store.execute(insert, ("ÉCHO Bank faces SEC probe",))
    assert store.query("SELECT count(*) FROM signals WHERE search_text IS NULL") == [(1,)]
    assert _found(store, "écho") == {"ÉCHO Bank faces SEC probe"}
    store.close()


def test_a_set_of_symbols_filters_to_the_watchlist(stored) -> None:
    engine, _add = stored
    rows = query_news(engine.store, NewsFilter(assets=("ZEPH", "$volt"), limit=5000))
    assert rows and all({"ZEPH", "VOLT"} & set(r.tickers) for r in rows)
    everything = query_news(engine.store, NewsFilter(limit=5000))
    assert len(rows) == sum(1 for r in everything if {"ZEPH", "VOLT"} & set(r.tickers))
    assert query_news(engine.store, NewsFilter(assets=("",))) == ()  # watchlist filter on, watchlist empty
    with pytest.raises(ValueError, match="at most"):
        NewsFilter(assets=tuple(f"S{i}" for i in range(501)))
