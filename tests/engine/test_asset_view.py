"""The asset view's engine call (issue #17) with real parts: demo prices in a real database, news
through the live pipeline and the real models, an idea proposed from it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.ideas.book import IdeaBook
from engine.news import NewsConfig, NewsItem, NewsPipeline
from tests.conftest import db_with_demo_prices

ACME_NEWS = ["Acme Corp beats Q3 profit estimates as revenue climbs 12%",
             "Acme Corp raises full-year guidance after strong results",
             "SEC opens investigation into Acme Corp's accounting",
             "Acme Corp announces $2 billion share buyback"]


def test_asset_view_brings_prices_news_sentiment_regime_and_the_open_idea(data_dir: Path) -> None:
    db_with_demo_prices(data_dir)
    engine = Engine(Config(), data_dir)
    try:
        engine.watchlist.add("ACME")
        now = time.time()
        pipeline = NewsPipeline(engine, NewsConfig(queue_capacity=16, batch_size=4, batch_timeout_ms=20))
        pipeline.start()
        items = [NewsItem(text=t, source="wire", published_at=now - 3600 * (len(ACME_NEWS) - i))
                 for i, t in enumerate(ACME_NEWS)]
        items.append(NewsItem(text="Fed holds rates steady", source="wire", published_at=now))
        assert pipeline.submit(items).accepted == len(items)
        assert pipeline.wait_idle(60)
        pipeline.stop()
        with IdeaBook(engine.store.path) as book:
            book.propose_from_signals(engine.recent_signals())
            ideas = [i for i in book.list(symbol="ACME") if i.state != "rejected"]

        view = engine.asset_view("Acme Corp", days=2, now=now + 60)
    finally:
        engine.close()
    assert (view.symbol, view.known, view.watched) == ("ACME", True, True)
    assert len(view.bars) > 20 and all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
                                       for b in view.bars)
    assert [m.headline for m in view.news] == ACME_NEWS  # oldest first; the macro item is not ACME's
    assert all(m.headline[m.mention_start:m.mention_end] == "Acme Corp" for m in view.news)
    assert all(m.signal_id > 0 and m.label in ("bullish", "bearish", "neutral") for m in view.news)
    assert any(m.calibrated for m in view.news)  # the shipped model's calibrator
    times = [t for t, _v in view.sentiment]
    assert times == sorted(times) and times[-1] == pytest.approx(now + 60)
    assert all(-1.0 <= v <= 1.0 for _t, v in view.sentiment)
    before_news = [v for t, v in view.sentiment if t < view.news[0].time]
    assert before_news and all(v == 0.0 for v in before_news)  # nothing to decay before the first item
    assert view.regime == "bull_trend" and view.regime_reasons  # ACME's demo series ends in a bull trend
    assert set(view.features) >= {"sentiment", "decayed_confidence", "running_sentiment"}
    assert ideas and view.open_idea is not None and view.open_idea.id == ideas[0].id


def test_asset_view_refuses_what_it_cannot_find(data_dir: Path) -> None:
    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    try:
        with pytest.raises(ValueError):
            engine.asset_view("  ")
        with pytest.raises(LookupError):
            engine.asset_view("no such company at all")
        view = engine.asset_view("ZZZQ")  # a plain ticker with no data: an empty view, said so
        assert view.bars == () and view.news == () and view.regime is None and "no prices" in view.regime_reasons[0]
    finally:
        engine.close()
