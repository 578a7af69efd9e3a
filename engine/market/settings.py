"""What the feature and regime code reads from its settings (``engine.risk.config.RiskConfig`` has it all).

A protocol, so market data never imports the risk package that builds on it.
"""

from __future__ import annotations

from typing import Protocol


class MarketSettings(Protocol):
    # windows, in bars
    vol_window: int
    vol_long_window: int
    atr_window: int
    volume_window: int
    ma_fast: int
    ma_slow: int
    rsi_window: int
    return_lookback: int
    periods_per_year: float  # 0 = infer from the bar spacing
    # regime thresholds
    crash_drawdown: float
    crash_return: float
    high_vol_annual: float
    high_vol_ratio: float
    trend_min_gap: float
