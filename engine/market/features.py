"""Market features from OHLCV bars: plain numpy, deterministic, no look-ahead.

Every function reads a series oldest-first and describes its latest bar. Windows are in
bars, so the same settings work for daily, hourly or monthly data; annualisation uses
the bar spacing (see :func:`infer_periods_per_year`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from engine.market.prices import Bars
from engine.market.settings import MarketSettings

TRADING_DAYS = 252
_DAY = 86_400


class InsufficientData(ValueError):
    """Too few bars for the configured windows; the message says how many are needed."""


def infer_periods_per_year(ts: np.ndarray) -> float:
    """Bars per year from the median spacing: daily 252, weekly 52, monthly 12, intraday scaled.

    Daily bars count trading days, not calendar days, because equity files skip weekends;
    intraday bars scale from that (hourly: 252 * 24), which slightly overstates markets that
    close overnight and is the conventional choice for 24-hour FX and crypto.
    """
    if len(ts) < 2:
        return float(TRADING_DAYS)
    spacing = float(np.median(np.diff(np.asarray(ts, dtype=np.float64))))
    if spacing <= 0:
        return float(TRADING_DAYS)
    if spacing >= 25 * _DAY:
        return 12.0
    if spacing >= 5 * _DAY:
        return 52.0
    if spacing >= 0.75 * _DAY:
        return float(TRADING_DAYS)
    return TRADING_DAYS * _DAY / spacing


def log_returns(close: np.ndarray) -> np.ndarray:
    close = np.asarray(close, dtype=np.float64)
    return np.diff(np.log(close))


def realized_volatility(close: np.ndarray, window: int, periods_per_year: float) -> float:
    """Annualised standard deviation of the last ``window`` log returns (sample, ddof=1)."""
    returns = log_returns(close)[-window:]
    if len(returns) < 2:
        return math.nan
    return float(np.std(returns, ddof=1) * math.sqrt(periods_per_year))


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    high, low, close = (np.asarray(a, dtype=np.float64) for a in (high, low, close))
    tr = high - low
    if len(close) > 1:
        prev = close[:-1]
        tr[1:] = np.maximum.reduce([tr[1:], np.abs(high[1:] - prev), np.abs(low[1:] - prev)])
    return tr


def _wilder(values: np.ndarray, window: int) -> float:
    """Wilder's smoothing: the first ``window`` values averaged, then an exponential update."""
    if len(values) < window:
        return math.nan
    average = float(np.mean(values[:window]))
    for value in values[window:]:
        average = (average * (window - 1) + float(value)) / window
    return average


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int) -> float:
    """Average true range (Wilder). The first bar has no previous close, so it is skipped."""
    return _wilder(true_range(high, low, close)[1:], window)


def rsi(close: np.ndarray, window: int) -> float:
    """Relative strength index (Wilder), 0..100; a flat series is 50 by convention."""
    change = np.diff(np.asarray(close, dtype=np.float64))
    if len(change) < window:
        return math.nan
    gain = _wilder(np.clip(change, 0, None), window)
    loss = _wilder(np.clip(-change, 0, None), window)
    if gain == 0 and loss == 0:
        return 50.0
    if loss == 0:
        return 100.0
    return float(100.0 - 100.0 / (1.0 + gain / loss))


def sma(values: np.ndarray, window: int) -> float:
    values = np.asarray(values, dtype=np.float64)
    return float(np.mean(values[-window:])) if len(values) >= window else math.nan


def volume_zscore(volume: np.ndarray, window: int) -> float:
    """Latest volume against the ``window`` bars before it; NaN without volume data."""
    volume = np.asarray(volume, dtype=np.float64)
    if len(volume) < window + 1 or np.isnan(volume[-window - 1:]).any():
        return math.nan
    history = volume[-window - 1:-1]
    spread = float(np.std(history, ddof=1))
    if spread == 0:
        return 0.0  # no variation to compare against: nothing unusual
    return float((volume[-1] - np.mean(history)) / spread)


def drawdowns(close: np.ndarray) -> tuple[float, float]:
    """(current, maximum) drawdown from the running peak, as non-positive fractions."""
    close = np.asarray(close, dtype=np.float64)
    peak = np.maximum.accumulate(close)
    path = close / peak - 1.0
    return float(path[-1]), float(path.min())


@dataclass(frozen=True)
class Features:
    symbol: str
    as_of: int  # timestamp of the latest bar, unix seconds UTC
    bars: int
    periods_per_year: float
    close: float
    return_1: float  # last bar's simple return
    return_lookback: float  # simple return over RiskConfig.return_lookback bars
    realized_vol: float  # annualised, RiskConfig.vol_window bars
    realized_vol_long: float  # annualised, RiskConfig.vol_long_window bars (or all there is)
    vol_ratio: float  # realized_vol / realized_vol_long
    atr: float
    atr_pct: float  # atr / close
    volume_z: float | None  # None without volume data
    dollar_volume: float | None  # median close*volume per trading day; None without volume
    ma_fast: float
    ma_slow: float
    ma_gap: float  # ma_fast / ma_slow - 1
    rsi: float
    drawdown: float  # current, from the running peak over the whole series
    max_drawdown: float
    stretch_atr: float  # (close - ma_fast) / atr: how far the last move ran, in ATRs

    def to_dict(self) -> dict:
        return asdict(self)


def minimum_bars(cfg: MarketSettings) -> int:
    return max(cfg.ma_slow, cfg.vol_window + 1, cfg.atr_window + 1, cfg.rsi_window + 1,
               cfg.return_lookback + 1, cfg.volume_window + 1)


def compute_features(bars: Bars, cfg: MarketSettings) -> Features:
    need = minimum_bars(cfg)
    if len(bars) < need:
        raise InsufficientData(f"{bars.symbol}: {len(bars)} bars; at least {need} are needed "
                               f"(ma_slow={cfg.ma_slow})")
    close = np.asarray(bars.close, dtype=np.float64)
    periods = cfg.periods_per_year or infer_periods_per_year(bars.ts)
    vol = realized_volatility(close, cfg.vol_window, periods)
    vol_long = realized_volatility(close, cfg.vol_long_window, periods)
    average_range = atr(bars.high, bars.low, close, cfg.atr_window)
    fast, slow = sma(close, cfg.ma_fast), sma(close, cfg.ma_slow)
    current_dd, max_dd = drawdowns(close)
    volume_z: float | None = None
    dollar_volume: float | None = None
    if bars.has_volume:
        z = volume_zscore(bars.volume, cfg.volume_window)
        volume_z = None if math.isnan(z) else z
        recent = close[-cfg.volume_window:] * np.asarray(bars.volume, dtype=np.float64)[-cfg.volume_window:]
        recent = recent[~np.isnan(recent)]
        if len(recent):
            dollar_volume = float(np.median(recent) * periods / TRADING_DAYS)
    last = float(close[-1])
    return Features(
        symbol=bars.symbol,
        as_of=int(bars.ts[-1]),
        bars=len(bars),
        periods_per_year=float(periods),
        close=last,
        return_1=float(close[-1] / close[-2] - 1.0),
        return_lookback=float(close[-1] / close[-1 - cfg.return_lookback] - 1.0),
        realized_vol=vol,
        realized_vol_long=vol_long,
        vol_ratio=float(vol / vol_long) if vol_long > 0 else 1.0,
        atr=average_range,
        atr_pct=average_range / last,
        volume_z=volume_z,
        dollar_volume=dollar_volume,
        ma_fast=fast,
        ma_slow=slow,
        ma_gap=fast / slow - 1.0,
        rsi=rsi(close, cfg.rsi_window),
        drawdown=current_dd,
        max_drawdown=max_dd,
        stretch_atr=(last - fast) / average_range if average_range > 0 else 0.0,
    )
