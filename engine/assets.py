"""The asset view's data (issue #17): everything the desk shows for one symbol, in one call.

``asset_view(engine, "Tesla")`` -> ``AssetView`` (plain frozen records, safe to hand to the UI thread):

- ``bars``: the symbol's OHLCV bars in the window (empty until prices are imported);
- ``news``: its stored signals in the window, oldest first, each with its time (the source's
  publication time, else arrival), headline, label, confidence (calibrated when the model version
  has a calibrator, with the raw one beside it), event class and impact, signal id, and where the
  headline names the symbol (the entity link's span; -1 when only the feed declared it);
- ``sentiment``: the decayed sentiment line, sampled at every news time and at regular steps up
  to ``now``: the sum of each item's compound score x confidence x 0.5 ** (age / half-life of its
  event class), clipped to [-1, 1]. It jumps with news and fades back to 0 as the news ages, with
  the same half-lives as the live features ([news] half_life_hours_*);
- ``features``: the J8 news features now (engine/news/cache.py);
- ``regime``: the market regime from the bars, or why there is none;
- ``open_idea``: the newest trade idea for the symbol that is not rejected, if any;
- ``watched``: whether the symbol is on the watchlist.

The symbol may be given as any listing, a cashtag or a company name; ``symbol`` is the canonical one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from engine.types import Signal

DEFAULT_DAYS = 30.0
MAX_NEWS = 2000  # markers in one view; the newest are kept
SERIES_STEPS = 120  # regular samples of the sentiment line across the window


@dataclass(frozen=True)
class Bar:
    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float | None


@dataclass(frozen=True)
class NewsMarker:
    signal_id: int
    time: float
    headline: str
    source: str
    label: str
    confidence: float  # shown: calibrated when a calibrator exists
    raw_confidence: float
    calibrated: bool
    compound: float
    category: str
    impact: str
    mention_start: int  # span of the symbol in the headline; -1 when the source only declared it
    mention_end: int


@dataclass(frozen=True)
class AssetView:
    symbol: str
    name: str
    known: bool  # the universe knows the company
    watched: bool
    since: float
    now: float
    bars: tuple[Bar, ...]
    news: tuple[NewsMarker, ...]
    sentiment: tuple[tuple[float, float], ...]  # (time, decayed sentiment)
    features: dict[str, float]
    regime: str | None
    regime_reasons: tuple[str, ...]  # or why there is no regime
    open_idea: Any | None  # engine.ideas.model.TradeIdea


def decayed_sentiment(news: tuple[NewsMarker, ...], at: float, half_life_hours) -> float:
    total = 0.0
    for marker in news:
        if marker.time <= at:
            age_h = (at - marker.time) / 3600.0
            total += marker.compound * marker.confidence * 0.5 ** (age_h / half_life_hours(marker.category))
    return max(-1.0, min(1.0, total))


def asset_view(engine: Any, query: str, *, days: float = DEFAULT_DAYS, now: float | None = None) -> AssetView:
    """Raises ValueError for an empty or unusable query, LookupError when nothing matches it."""
    from engine.entities.universe import UniverseError, normalise_symbol

    text = str(query).strip()
    if not text or len(text) > 80:
        raise ValueError("give a symbol or company name (at most 80 characters)")
    if not days > 0:
        raise ValueError("days must be positive")
    now = time.time() if now is None else float(now)
    since = now - days * 86400.0
    universe = engine.entity_linker.universe
    company = universe.resolve(text)
    if company is not None:
        symbol, name, known = company.symbol, company.name, company.source != "user"
    else:
        try:
            symbol = normalise_symbol(text)
        except UniverseError:
            raise LookupError(f"no company or symbol matches {text!r}") from None
        name, known = symbol, False
    store = engine.store
    news = _news(engine, symbol, since, now)
    config = engine.news.config
    step = (now - since) / SERIES_STEPS
    times = sorted({m.time for m in news} | {since + i * step for i in range(SERIES_STEPS + 1)})
    sentiment = tuple((t, round(decayed_sentiment(news, t, config.half_life_hours), 6)) for t in times)
    bars, regime, reasons = _market(store, symbol, since)
    watched = engine.watchlist is not None and symbol in set(engine.watchlist.symbols())
    return AssetView(symbol, name, known, watched, since, now, bars, news, sentiment,
                     engine.news.features(symbol, now), regime, reasons, _open_idea(store, symbol))


def _news(engine: Any, symbol: str, since: float, now: float) -> tuple[NewsMarker, ...]:
    rows = engine.store.query(
        "SELECT s.id, COALESCE(e.category, 'other'), COALESCE(e.impact, 'low'), "
        "COALESCE(e.event_time, s.received_at) AS t FROM signals s "
        "LEFT JOIN news_events e ON e.signal_id = s.id "
        "WHERE EXISTS (SELECT 1 FROM json_each(s.entities) WHERE value = ?) "
        "AND COALESCE(e.event_time, s.received_at) BETWEEN ? AND ? "
        "ORDER BY t DESC LIMIT ?", (symbol, since, now, MAX_NEWS))
    events = {sid: (category, impact, t) for sid, category, impact, t in rows}
    signals: list[Signal] = [s for s in (engine.store.get_signal(sid) for sid in events) if s is not None]
    markers = []
    for sig in engine.with_calibration(signals):
        category, impact, t = events[sig.id]
        span = next(((l.start, l.end) for l in sig.links if l.symbol == symbol and l.start >= 0), (-1, -1))
        markers.append(NewsMarker(sig.id, float(t), sig.text, sig.source, sig.label, float(sig.shown_confidence),
                                  float(sig.confidence), sig.calibrated_confidence is not None, float(sig.compound),
                                  category, impact, *span))
    return tuple(sorted(markers, key=lambda m: (m.time, m.signal_id)))


def _market(store: Any, symbol: str, since: float) -> tuple[tuple[Bar, ...], str | None, tuple[str, ...]]:
    import math

    from engine.market.features import InsufficientData
    from engine.market.prices import MarketData
    from engine.risk.config import load_risk_config
    from engine.risk.symbol import UnknownSymbol, assess_symbol

    market = MarketData(store.path)
    try:
        if not market.has_data(symbol):
            return (), None, (f"no prices for {symbol}: import them with "
                              f"'signaldesk prices import FILE --symbol {symbol}'",)
        all_bars = market.bars(symbol)
        keep = all_bars.ts >= since
        if not keep.any():  # old series (the demo's): show its latest stretch rather than nothing
            keep[-min(len(all_bars), 250):] = True
        bars = tuple(Bar(int(all_bars.ts[i]), float(all_bars.open[i]), float(all_bars.high[i]), float(all_bars.low[i]),
                         float(all_bars.close[i]), None if math.isnan(all_bars.volume[i]) else float(all_bars.volume[i]))
                     for i in range(len(all_bars)) if keep[i])
        try:
            state = assess_symbol(market, symbol, load_risk_config(store.path.parent))
        except (UnknownSymbol, InsufficientData) as exc:
            return bars, None, (str(exc),)
        return bars, state.regime.name, tuple(state.regime.reasons)
    finally:
        market.close()


def _open_idea(store: Any, symbol: str):
    from engine.ideas.book import IdeaBook

    with IdeaBook(store.path) as book:
        ideas = [i for i in book.list(symbol=symbol) if i.state != "rejected"]
    return ideas[0] if ideas else None
