"""The one link from market outcomes to stored prices (engine/market, migration m0002).

Kept apart from ``outcomes.py`` so the outcome logic depends only on a plain price series.
A bar's *open* is used as "the price at its timestamp": bars are stamped with their open
time, so pairing that time with the close would let an outcome peek at the bar's future.
"""

from __future__ import annotations

import numpy as np

from engine.calibration.outcomes import PriceLookup, PriceSeries


def price_lookup(market_data) -> PriceLookup:
    """A ``PriceLookup`` over an ``engine.market.prices.MarketData`` (anything with ``bars(symbol)``)."""

    def lookup(symbol: str, start: float, end: float) -> PriceSeries:
        try:
            bars = market_data.bars(symbol)
        except ValueError:  # not a valid symbol for the price store: simply no data
            return []
        keep = (bars.ts >= start) & (bars.ts <= end)
        return list(zip(bars.ts[keep].astype(np.float64).tolist(), bars.open[keep].tolist()))

    return lookup
