"""Risk, regime, sizing and idea thresholds: a frozen dataclass, defaults < ``[risk]`` < env.

The same ``config.toml`` as :mod:`engine.config` holds them, in a ``[risk]`` table::

    [risk]
    kelly_fraction = 0.25
    leverage_crash = 0.25

Environment variables ``SIGNALDESK_RISK_<FIELD>`` override the file. Values are checked when
the config is built, so a typo'd threshold fails loudly at start, not inside a sizing call.

Regime leverage caps (maximum gross exposure of approved ideas plus the new one, as a
multiple of equity, for the regime of the idea's symbol): bull_trend 1.0x, chop 0.75x,
bear_trend 0.5x, high_vol 0.5x, crash 0.25x. Exposure grows only in calm trends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

from engine.config import ConfigError, load_section, non_finite_fields

log = logging.getLogger(__name__)

REGIMES: tuple[str, ...] = ("bull_trend", "bear_trend", "high_vol", "crash", "chop")
TOLERANCES: tuple[str, ...] = ("low", "medium", "high", "aggressive")
STALE_POLICIES: tuple[str, ...] = ("flag", "refuse")
ENV_PREFIX = "SIGNALDESK_RISK_"


@dataclass(frozen=True)
class RiskConfig:
    # --- features (window lengths in bars) ---
    vol_window: int = 20
    vol_long_window: int = 120  # the baseline that "high volatility" is measured against
    atr_window: int = 14
    volume_window: int = 20
    ma_fast: int = 20
    ma_slow: int = 50
    rsi_window: int = 14
    return_lookback: int = 10  # bars for the recent-move measure (crash, stretch)
    periods_per_year: float = 0.0  # 0 = infer from bar spacing (daily 252, hourly 252*24, ...)

    # --- regime thresholds; checked in the order crash, high_vol, bull/bear trend, chop ---
    crash_drawdown: float = -0.20  # below the running peak by at least this much ...
    crash_return: float = -0.10  # ... and down at least this much over return_lookback bars
    high_vol_annual: float = 0.80  # annualised realized volatility at or above this
    high_vol_ratio: float = 1.5  # or short-window vol at least this multiple of the long one
    trend_min_gap: float = 0.02  # fast MA at least 2% above (below) the slow MA for a trend

    # --- risk score ---
    weight_volatility: float = 0.35
    weight_liquidity: float = 0.15
    weight_regime: float = 0.30
    weight_news: float = 0.20
    vol_low: float = 0.15  # annualised vol scoring 0 ...
    vol_high: float = 0.80  # ... and 1
    liquidity_thin_dollar_volume: float = 1e6  # median daily-equivalent dollar volume scoring 1
    liquidity_deep_dollar_volume: float = 1e9  # ... and 0 (log scale between)
    level_medium: float = 0.35  # score at or above: medium
    level_high: float = 0.65  # score at or above: high

    # --- sizing (fractions of equity, notional) ---
    tolerance: str = "medium"  # the desk's default risk tolerance for proposed ideas
    fraction_low: float = 0.02
    fraction_medium: float = 0.05
    fraction_high: float = 0.10
    fraction_aggressive: float = 0.20
    max_position_fraction: float = 0.25  # hard cap for any one idea, edits included
    target_vol: float = 0.20  # above this annualised vol the size shrinks proportionally ...
    min_vol_multiplier: float = 0.25  # ... but never below this multiple of the base fraction
    trend_aligned: float = 1.0
    trend_neutral: float = 0.8
    trend_against: float = 0.5
    kelly_fraction: float = 0.25  # quarter Kelly: full Kelly is far too aggressive for noisy edges
    max_win_probability: float = 0.75  # a model's 0.99 is not a 99% trade
    fade_win_probability: float = 0.52  # prior for fade trades until backtests calibrate it
    stop_atr: float = 2.0
    take_profit_atr: float = 3.0
    fee_per_side: float = 0.001  # 0.1% each way
    leverage_bull_trend: float = 1.0
    leverage_chop: float = 0.75
    leverage_bear_trend: float = 0.5
    leverage_high_vol: float = 0.5
    leverage_crash: float = 0.25

    # --- ideas: one per asset and horizon, from the evidence on the asset (README "Trade ideas") ---
    # An idea opens when, over the independent headlines of the last max_evidence_age_hours, the
    # net calibrated score reaches min_net_score and at least min_headlines point its way with a
    # calibrated confidence of at least idea_min_confidence; it stays open while the score in its
    # direction stays at or above keep_net_score (a lower bar, so it does not flap at the edge).
    idea_min_confidence: float = 0.70
    min_headlines: int = 1  # 1: one clear calibrated headline may open an idea; 2+ demands corroboration
    min_net_score: float = 0.30  # net calibrated score, -1 (all bearish, sure) .. +1 (all bullish, sure)
    keep_net_score: float = 0.15
    max_evidence_age_hours: float = 72.0  # older headlines no longer count (3 days: corporate news half-life is 48 h)
    dedupe_window_hours: float = 24.0  # the same normalised headline within this window is one piece of evidence
    llm_weight: float = 0.3  # share of the LLM's confidence in the blended (display) confidence
    stretch_atr: float = 2.0  # close this many ATRs beyond the fast MA counts as stretched
    stretch_rsi_high: float = 70.0
    stretch_rsi_low: float = 30.0
    stale_after_days: float = 7.0  # market data older than this at decision time is stale (a week covers holidays)
    stale_market_data: str = "flag"  # flag: propose, marked stale everywhere | refuse: no idea on stale prices
    tick_size: float = 0.01  # prices (entry, stop, target) are rounded to the symbol's tick
    tick_sizes: str = "FXEU=0.0001"  # per-symbol ticks, "SYM=TICK, SYM=TICK" (the demo EUR/USD series trades in pips)
    news_window_hours: float = 24.0  # stored headlines this recent feed the news risk (CLI)

    def __post_init__(self) -> None:
        problems = _validate(self)
        if problems:
            raise ConfigError("risk config: " + "; ".join(problems))

    def leverage_cap(self, regime: str) -> float:
        if regime not in REGIMES:
            raise ValueError(f"unknown regime {regime!r}")
        return float(getattr(self, f"leverage_{regime}"))

    def base_fraction(self, tolerance: str) -> float:
        if tolerance not in TOLERANCES:
            raise ValueError(f"unknown risk tolerance {tolerance!r} (one of {', '.join(TOLERANCES)})")
        return float(getattr(self, f"fraction_{tolerance}"))

    def tick(self, symbol: str) -> float:
        """The price increment of ``symbol``: its ``tick_sizes`` entry, else ``tick_size``."""
        return parse_tick_sizes(self.tick_sizes).get(symbol.upper(), self.tick_size)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        """Short hash of every value, recorded in each idea so a changed threshold is visible."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _validate(c: RiskConfig) -> list[str]:
    problems = non_finite_fields(c)
    if problems:
        return problems
    for name in ("vol_window", "vol_long_window", "atr_window", "volume_window", "ma_fast", "ma_slow",
                 "rsi_window", "return_lookback"):
        if getattr(c, name) < 2:
            problems.append(f"{name} must be at least 2")
    if c.ma_fast >= c.ma_slow:
        problems.append("ma_fast must be shorter than ma_slow")
    if c.periods_per_year < 0:
        problems.append("periods_per_year must be 0 (auto) or positive")
    if not -1 < c.crash_drawdown < 0 or not -1 < c.crash_return < 0:
        problems.append("crash_drawdown and crash_return must be between -1 and 0")
    if c.high_vol_annual <= 0 or c.high_vol_ratio <= 1:
        problems.append("high_vol_annual must be positive and high_vol_ratio above 1")
    if c.trend_min_gap < 0:
        problems.append("trend_min_gap must not be negative")
    weights = [c.weight_volatility, c.weight_liquidity, c.weight_regime, c.weight_news]
    if min(weights) < 0 or sum(weights) <= 0:
        problems.append("risk weights must be non-negative with a positive sum")
    if not 0 <= c.vol_low < c.vol_high:
        problems.append("need 0 <= vol_low < vol_high")
    if not 0 < c.liquidity_thin_dollar_volume < c.liquidity_deep_dollar_volume:
        problems.append("need 0 < liquidity_thin_dollar_volume < liquidity_deep_dollar_volume")
    if not 0 < c.level_medium < c.level_high < 1:
        problems.append("need 0 < level_medium < level_high < 1")
    if c.tolerance not in TOLERANCES:
        problems.append(f"tolerance must be one of {', '.join(TOLERANCES)}")
    fractions = [c.fraction_low, c.fraction_medium, c.fraction_high, c.fraction_aggressive]
    if min(fractions) <= 0 or fractions != sorted(fractions):
        problems.append("tolerance fractions must be positive and ordered low <= medium <= high <= aggressive")
    if not 0 < c.max_position_fraction <= 1:
        problems.append("max_position_fraction must be in (0, 1]")
    if c.target_vol <= 0 or not 0 < c.min_vol_multiplier <= 1:
        problems.append("target_vol must be positive and min_vol_multiplier in (0, 1]")
    for name in ("trend_aligned", "trend_neutral", "trend_against"):
        if not 0 <= getattr(c, name) <= 1:
            problems.append(f"{name} must be in [0, 1] (adjustments only ever shrink a size)")
    if not 0 < c.kelly_fraction <= 1:
        problems.append("kelly_fraction must be in (0, 1]")
    for name in ("max_win_probability", "fade_win_probability", "idea_min_confidence", "llm_weight"):
        if not 0 <= getattr(c, name) <= 1:
            problems.append(f"{name} must be in [0, 1]")
    if c.stop_atr <= 0 or c.take_profit_atr <= 0:
        problems.append("stop_atr and take_profit_atr must be positive")
    if not 0 <= c.fee_per_side < 0.05:
        problems.append("fee_per_side must be in [0, 0.05)")
    for regime in REGIMES:
        if not 0 <= getattr(c, f"leverage_{regime}") <= 10:
            problems.append(f"leverage_{regime} must be in [0, 10]")
    if c.stretch_atr <= 0 or not 50 <= c.stretch_rsi_high <= 100 or not 0 <= c.stretch_rsi_low <= 50:
        problems.append("stretch_atr must be positive, stretch_rsi_high in [50, 100], stretch_rsi_low in [0, 50]")
    if c.stale_after_days <= 0 or c.news_window_hours <= 0:
        problems.append("stale_after_days and news_window_hours must be positive")
    if c.min_headlines < 1:
        problems.append("min_headlines must be at least 1")
    if not 0 < c.keep_net_score <= c.min_net_score <= 1:
        problems.append("need 0 < keep_net_score <= min_net_score <= 1")
    if c.max_evidence_age_hours <= 0 or c.dedupe_window_hours < 0:
        problems.append("max_evidence_age_hours must be positive and dedupe_window_hours not negative")
    if c.stale_market_data not in STALE_POLICIES:
        problems.append(f"stale_market_data must be one of {', '.join(STALE_POLICIES)}")
    if c.tick_size <= 0:
        problems.append("tick_size must be positive")
    try:
        parse_tick_sizes(c.tick_sizes)
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def parse_tick_sizes(text: str) -> dict[str, float]:
    """``"FXEU=0.0001, BTC.X=1"`` -> {"FXEU": 0.0001, "BTC.X": 1.0}; ValueError names the bad entry."""
    ticks: dict[str, float] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        symbol, _, value = entry.partition("=")
        try:
            tick = float(value)
        except ValueError:
            tick = math.nan
        if not symbol.strip() or not math.isfinite(tick) or tick <= 0:
            raise ValueError(f"tick_sizes entry {entry!r} is not SYMBOL=positive number")
        ticks[symbol.strip().upper()] = tick
    return ticks


def _lower_tolerance(values: dict) -> dict:
    for name in ("tolerance", "stale_market_data"):
        if name in values:
            values[name] = str(values[name]).strip().lower()
    return values


def load_risk_config(data_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> RiskConfig:
    return load_section(RiskConfig(), data_dir, "risk", ENV_PREFIX, environ, normalise=_lower_tolerance)
