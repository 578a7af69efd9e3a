"""Watchlist persistence, watchlist aliases in linking, and alerts through the live pipeline (issue #17)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import engine.engine as engine_module
from engine.alerts import AlertConfig, load_alert_config, recent_alerts
from engine.config import Config, ConfigError
from engine.engine import Engine
from engine.entities import default_universe
from engine.entities.watchlist import Watchlist, WatchlistError
from engine.news import NewsConfig, NewsItem, NewsPipeline
from engine.store import DB_FILE_NAME, Store


@pytest.fixture
def store(data_dir: Path):
    s = Store(data_dir / DB_FILE_NAME)
    yield s
    s.close()


def test_watchlist_persists_and_resolves_names_and_listings(data_dir: Path, store: Store) -> None:
    watchlist = Watchlist(store, default_universe())
    assert watchlist.add("Tesla").symbol == "TSLA"
    assert watchlist.add("$SHEL").symbol == "SHEL.L"  # a listing resolves to the company's home symbol
    entry = watchlist.add("ACMEW", ["Acme Widgets"], name="Acme Widgets Inc")
    assert (entry.symbol, entry.known, entry.aliases) == ("ACMEW", False, ("Acme Widgets",))
    assert watchlist.add("TSLA", ["Tesla Motors Club"]).aliases == ("Tesla Motors Club",)  # extends, not duplicates
    store.close()
    reopened = Store(data_dir / DB_FILE_NAME)
    try:
        again = Watchlist(reopened, default_universe())
        assert [e.symbol for e in again.entries()] == ["ACMEW", "SHEL.L", "TSLA"]
        assert again.remove("ACMEW", ["Acme Widgets"]) and again.entries()[0].aliases == ()
        assert again.remove("Shell") and not again.remove("SHEL.L")
        assert again.symbols() == ["ACMEW", "TSLA"]
    finally:
        reopened.close()


@pytest.mark.parametrize("query", ["", "x" * 81, "not a ticker!", "Acme & Sons Unknown Holdings"])
def test_watchlist_refuses_what_it_cannot_resolve(store: Store, query: str) -> None:
    with pytest.raises(WatchlistError):
        Watchlist(store, default_universe()).add(query)


def test_watchlist_aliases_take_part_in_linking_in_a_running_engine(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "WATCHLIST_POLL_S", 0.0)
    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    try:
        assert engine.analyze("Acme Widgets beats estimates").entities == ()
        # Another process (the CLI) adds the symbol with an alias; the running engine sees it.
        other = Store(data_dir / DB_FILE_NAME)
        try:
            Watchlist(other, default_universe()).add("ACMEW", ["Acme Widgets"])
        finally:
            other.close()
        sig = engine.analyze("Acme Widgets beats estimates; acme widgets in lower case are just words")
        assert sig.entities == ("ACMEW",)
        assert [(l.start, l.end, l.text) for l in sig.links] == [(0, 12, "Acme Widgets")]
    finally:
        engine.close()


def _write_alert_config(data_dir: Path, **values) -> None:
    lines = ["[alerts]"] + [f"{k} = {v!r}".replace("'", '"') if isinstance(v, str) else
                            f"{k} = {str(v).lower() if isinstance(v, bool) else v}" for k, v in values.items()]
    (data_dir / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _burst_through_pipeline(data_dir: Path, texts: list[str]) -> NewsPipeline:
    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    pipeline = NewsPipeline(engine, NewsConfig(queue_capacity=64, batch_size=4, batch_timeout_ms=20))
    pipeline.start()
    now = time.time()
    result = pipeline.submit([NewsItem(text=t, source="wire", published_at=now) for t in texts])
    assert result.accepted == len(texts)
    assert pipeline.wait_idle(60)
    pipeline.stop()
    engine.close()
    return pipeline


BURST = [f"Tesla recalls {n},000 vehicles over brake fault; shares plunge {n}%" for n in range(2, 12)]


def test_a_burst_on_one_watched_symbol_raises_one_alert(data_dir: Path, store: Store) -> None:
    # Thresholds low enough that every item of the burst qualifies, so the rate limit is what is tested.
    _write_alert_config(data_dir, min_confidence=0.0, min_impact="low", labels="bullish,bearish,neutral",
                        rate_limit_s=3600.0)
    Watchlist(store, default_universe()).add("TSLA")
    pipeline = _burst_through_pipeline(data_dir, BURST + ["Ford recalls 100,000 trucks", "Fed holds rates"])
    alerts = recent_alerts(store)
    assert [a.symbol for a in alerts] == ["TSLA"]  # Ford is not watched; the macro item names nobody
    assert alerts[0].headline in BURST and alerts[0].signal_id is not None
    assert "impact" in alerts[0].reason and ("calibrated" in alerts[0].reason or "raw" in alerts[0].reason)
    stats = pipeline.alerts.stats()
    assert (stats.raised, stats.rate_limited) == (1, len(BURST) - 1)


def test_alerts_respect_thresholds_and_the_off_switch(data_dir: Path, store: Store) -> None:
    Watchlist(store, default_universe()).add("TSLA")
    _write_alert_config(data_dir, enabled=False, min_confidence=0.0, min_impact="low",
                        labels="bullish,bearish,neutral")
    _burst_through_pipeline(data_dir, BURST[:3])
    assert recent_alerts(store) == []
    _write_alert_config(data_dir, min_confidence=1.0, min_impact="low")  # nothing is that sure
    _burst_through_pipeline(data_dir, BURST[3:6])
    assert recent_alerts(store) == []


def test_alert_settings_are_validated(data_dir: Path) -> None:
    assert load_alert_config(data_dir) == AlertConfig()
    _write_alert_config(data_dir, min_impact="huge")
    with pytest.raises(ConfigError, match="min_impact"):
        load_alert_config(data_dir)
    with pytest.raises(ConfigError, match="labels"):
        AlertConfig(labels="moonshot")
