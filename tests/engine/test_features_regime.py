"""Features against hand-computed values, the regime rules, and the risk config loader."""

from __future__ import annotations

import logging
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.config import ConfigError
from engine.market import demo
from engine.market.features import (InsufficientData, atr, compute_features, drawdowns,
                                    infer_periods_per_year, realized_volatility, rsi, sma, volume_zscore)
from engine.market.prices import Bars, MarketData
from engine.market.regime import classify_regime
from engine.risk.config import RiskConfig, load_risk_config
from engine.risk.symbol import assess_symbol
from engine.store import DB_FILE_NAME

DAY = 86_400


def _bars(close, *, spread=0.01, volume=None, step=DAY, symbol="TEST") -> Bars:
    close = np.asarray(close, dtype=np.float64)
    n = len(close)
    vol = np.full(n, 1e6) if volume is None else np.asarray(volume, dtype=np.float64)
    return Bars(symbol, np.arange(n, dtype=np.int64) * step + 1_700_000_000, close.copy(),
                close * (1 + spread), close * (1 - spread), close.copy(), vol)


def test_realized_volatility_is_the_annualised_sample_std_of_log_returns() -> None:
    steady = 100 * np.exp(0.001 * np.arange(30))
    assert realized_volatility(steady, 20, 252) == pytest.approx(0.0, abs=1e-12)
    zigzag = 100 * np.exp(np.cumsum([0.0] + [0.01, -0.01] * 15))
    returns = np.array([0.01, -0.01] * 10)
    assert realized_volatility(zigzag, 20, 252) == pytest.approx(np.std(returns, ddof=1) * math.sqrt(252))


@pytest.mark.parametrize("step, expected", [(DAY, 252), (3 * DAY, 252), (7 * DAY, 52), (30 * DAY, 12),
                                            (3600, 252 * 24)])
def test_periods_per_year_from_bar_spacing(step: int, expected: float) -> None:
    assert infer_periods_per_year(np.arange(10) * step) == pytest.approx(expected)


def test_atr_uses_true_range_and_wilder_smoothing() -> None:
    high = np.array([10, 12, 13, 12, 15.0])
    low = np.array([9, 10, 11, 10, 12.0])
    close = np.array([9.5, 11, 12, 11, 14.0])
    # true ranges from bar 2: max(h-l, |h-prev c|, |l-prev c|) = 2.5, 2, 2, 4
    expected = (np.mean([2.5, 2, 2]) * 2 + 4) / 3
    assert atr(high, low, close, 3) == pytest.approx(expected)


def test_rsi_extremes_and_balance() -> None:
    assert rsi(np.arange(1, 30, dtype=float), 14) == 100.0
    assert rsi(np.arange(30, 1, -1, dtype=float), 14) == 0.0
    assert rsi(np.full(30, 5.0), 14) == 50.0
    assert rsi(np.array([1, 2] * 15, dtype=float), 14) == pytest.approx(50.0, abs=5)
    assert math.isnan(rsi(np.arange(5, dtype=float) + 1, 14))


def test_sma_volume_zscore_and_drawdown() -> None:
    assert sma(np.array([1, 2, 3, 4.0]), 2) == 3.5
    history = np.array([100, 110, 90, 100, 105, 95] * 4, dtype=float)
    spike = np.append(history[:20], 200.0)
    expected = (200 - history[:20].mean()) / history[:20].std(ddof=1)
    assert volume_zscore(spike, 20) == pytest.approx(expected)
    assert volume_zscore(np.full(21, 7.0), 20) == 0.0
    assert math.isnan(volume_zscore(np.full(21, np.nan), 20))
    current, worst = drawdowns(np.array([100, 120, 90, 100.0]))
    assert current == pytest.approx(100 / 120 - 1) and worst == pytest.approx(90 / 120 - 1)


def test_compute_features_needs_enough_bars() -> None:
    cfg = RiskConfig()
    with pytest.raises(InsufficientData, match="at least 50"):
        compute_features(_bars(np.linspace(100, 110, 49)), cfg)
    f = compute_features(_bars(np.linspace(100, 110, 60), volume=np.full(60, np.nan)), cfg)
    assert f.volume_z is None and f.dollar_volume is None
    assert f.bars == 60 and f.rsi == 100.0 and f.drawdown == 0.0


def _features(**changes):
    base = compute_features(_bars(np.linspace(100, 101, 200)), RiskConfig())
    return replace(base, **changes)


CALM = dict(drawdown=-0.01, return_lookback=0.0, realized_vol=0.15, vol_ratio=1.0, ma_gap=0.0,
            close=100.0, ma_slow=100.0)


@pytest.mark.parametrize("changes, regime", [
    (dict(CALM, drawdown=-0.30, return_lookback=-0.15, realized_vol=1.2, vol_ratio=3.0), "crash"),
    (dict(CALM, drawdown=-0.30, return_lookback=-0.02), "chop"),       # deep but no longer falling
    (dict(CALM, realized_vol=0.9), "high_vol"),
    (dict(CALM, vol_ratio=1.6), "high_vol"),
    (dict(CALM, ma_gap=0.05, close=104.0), "bull_trend"),
    (dict(CALM, ma_gap=0.05, close=99.0), "chop"),                     # close disagrees with the trend
    (dict(CALM, ma_gap=-0.05, close=96.0), "bear_trend"),
    (dict(CALM, ma_gap=0.01, close=101.0), "chop"),
])
def test_regime_rules_in_order(changes: dict, regime: str) -> None:
    result = classify_regime(_features(**changes), RiskConfig())
    assert result.name == regime
    assert result.reasons and all(isinstance(r, str) and r for r in result.reasons)


def test_regime_thresholds_come_from_config() -> None:
    f = _features(**dict(CALM, ma_gap=0.03, close=103.0))
    assert classify_regime(f, RiskConfig()).name == "bull_trend"
    assert classify_regime(f, RiskConfig(trend_min_gap=0.04)).name == "chop"
    assert classify_regime(_features(**dict(CALM, realized_vol=0.5)), RiskConfig(high_vol_annual=0.4)).name == "high_vol"


def test_each_demo_series_ends_in_its_documented_regime(data_dir: Path) -> None:
    market = MarketData(data_dir / DB_FILE_NAME)
    try:
        for series in demo.DEMO_SERIES:
            market.import_csv(demo.demo_dir() / f"{series.symbol}.csv", series.symbol)
            assert assess_symbol(market, series.symbol, RiskConfig()).regime.name == series.ends_in
    finally:
        market.close()


# --- RiskConfig ---------------------------------------------------------------------------

def test_default_risk_config_is_valid_and_has_the_documented_leverage_table() -> None:
    cfg = RiskConfig()
    assert {r: cfg.leverage_cap(r) for r in ("bull_trend", "chop", "bear_trend", "high_vol", "crash")} == \
        {"bull_trend": 1.0, "chop": 0.75, "bear_trend": 0.5, "high_vol": 0.5, "crash": 0.25}
    assert cfg.fee_per_side == 0.001 and cfg.kelly_fraction == 0.25
    assert len(cfg.fingerprint()) == 16 and cfg.fingerprint() != RiskConfig(kelly_fraction=0.5).fingerprint()


@pytest.mark.parametrize("changes", [
    dict(kelly_fraction=float("nan")), dict(vol_high=float("inf")), dict(ma_fast=50, ma_slow=20),
    dict(fraction_low=0.3), dict(kelly_fraction=0.0), dict(leverage_crash=-1.0),
    dict(weight_volatility=0, weight_liquidity=0, weight_regime=0, weight_news=0),
    dict(level_medium=0.7, level_high=0.6), dict(trend_against=1.5), dict(crash_drawdown=0.1),
])
def test_invalid_risk_config_is_refused(changes: dict) -> None:
    with pytest.raises(ConfigError):
        RiskConfig(**changes)


def test_risk_section_of_config_toml_and_env_override(data_dir: Path, caplog) -> None:
    (data_dir / "config.toml").write_text(
        'batch_size = 32\n\n[risk]\nkelly_fraction = 0.5\nma_slow = 60\nleverage_crash = 0.1\nbogus = 1\n',
        encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        cfg = load_risk_config(data_dir, environ={"SIGNALDESK_RISK_LEVERAGE_CRASH": "0.2"})
    assert (cfg.kelly_fraction, cfg.ma_slow, cfg.leverage_crash) == (0.5, 60, 0.2)
    assert "bogus" in caplog.text
    assert load_risk_config(None, environ={}) == RiskConfig()


def test_risk_config_bad_values_name_the_key(data_dir: Path) -> None:
    (data_dir / "config.toml").write_text('[risk]\nma_slow = "long"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="ma_slow"):
        load_risk_config(data_dir, environ={})
    with pytest.raises(ConfigError, match="kelly_fraction"):
        load_risk_config(None, environ={"SIGNALDESK_RISK_KELLY_FRACTION": "2"})
