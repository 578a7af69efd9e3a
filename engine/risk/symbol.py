"""One symbol's features, regime and risk from the stored bars: what the CLI and ideas share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from engine.market.features import Features, InsufficientData, compute_features
from engine.market.prices import Bars, MarketData
from engine.market.regime import Regime, classify_regime
from engine.risk.assess import RiskAssessment, assess_risk
from engine.risk.config import RiskConfig
from engine.types import Signal


class UnknownSymbol(LookupError):
    """No market data stored for the symbol."""


@dataclass(frozen=True)
class SymbolRisk:
    features: Features
    regime: Regime
    risk: RiskAssessment


def history_bars(cfg: RiskConfig) -> int:
    """Bars worth reading: enough for every window, with room for the long-vol baseline.

    Drawdown is measured over this history too, so it is a drawdown from the recent
    (roughly two-year on daily bars) peak, not from an all-time high decades ago.
    """
    return max(500, cfg.vol_long_window + 1, cfg.ma_slow)


def assess_symbol(market: MarketData, symbol: str, cfg: RiskConfig,
                  news: Sequence[Signal] = (), as_of: float | None = None) -> SymbolRisk:
    """``as_of`` (unix seconds) keeps the future out: only bars that had closed by then count."""
    if as_of is None:
        bars = market.bars(symbol, limit=history_bars(cfg))
    else:
        recent = market.bars(symbol, limit=history_bars(cfg) + 1, until=as_of)
        bars = completed_bars(recent, as_of).tail(history_bars(cfg))
    if not len(bars):
        if market.has_data(symbol):
            raise InsufficientData(f"no {symbol} bar had closed by the time of the news")
        raise UnknownSymbol(f"no market data for {symbol}; import it with "
                            f"'signaldesk prices import FILE --symbol {symbol}'")
    features = compute_features(bars, cfg)
    regime = classify_regime(features, cfg)
    return SymbolRisk(features, regime, assess_risk(features, regime, cfg, news))


def completed_bars(bars: Bars, as_of: float) -> Bars:
    """Drop a last bar still open at ``as_of``: bars are stamped with their open time, so a
    daily bar stamped today holds a close from later today."""
    if len(bars) >= 2:
        spacing = float(np.median(np.diff(bars.ts)))
        if bars.ts[-1] + spacing > as_of:
            return bars.without_last()
    return bars


def news_for(signals: Sequence[Signal], symbol: str, since: float | None = None) -> list[Signal]:
    """Signals that name ``symbol`` (received at or after ``since``, when given)."""
    symbol = symbol.upper()
    return [s for s in signals if symbol in {e.upper() for e in s.entities}
            and (since is None or s.received_at >= since)]


__all__ = ["InsufficientData", "SymbolRisk", "UnknownSymbol", "assess_symbol", "completed_bars", "history_bars",
           "news_for"]
