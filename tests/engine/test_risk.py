"""Risk components, weights, levels and factors; the portfolio view of approved ideas."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from engine.market.features import compute_features
from engine.market.prices import Bars
from engine.market.regime import Regime
from engine.risk.assess import (NO_NEWS, REGIME_RISK, UNKNOWN_LIQUIDITY, assess_risk, liquidity_component,
                                news_component, risk_level, volatility_component)
from engine.risk.config import RiskConfig
from engine.risk.portfolio import Position, portfolio_view, return_correlation
from engine.types import Signal

CFG = RiskConfig()


def _bars(close, symbol="TEST", ts=None, volume=1e6) -> Bars:
    close = np.asarray(close, dtype=np.float64)
    ts = np.arange(len(close), dtype=np.int64) * 86_400 if ts is None else np.asarray(ts, dtype=np.int64)
    return Bars(symbol, ts, close.copy(), close * 1.01, close * 0.99, close.copy(), np.full(len(close), volume))


BASE = compute_features(_bars(np.linspace(100, 101, 200)), CFG)


def _signal(label: str, compound: float, symbol: str = "TEST") -> Signal:
    return Signal(1, 0.0, "test", f"${symbol} news", (symbol,), label, (0.1, 0.8, 0.1), 0.8, compound,
                  "lexicon-fin", "1", 1.0)


def test_volatility_component_is_monotonic_and_bounded() -> None:
    scores = [volatility_component(replace(BASE, realized_vol=v), CFG).score for v in
              (0.0, 0.15, 0.3, 0.5, 0.8, 2.0)]
    assert scores == sorted(scores) and scores[0] == 0.0 and scores[-1] == 1.0
    assert "a year" in volatility_component(replace(BASE, realized_vol=0.5), CFG).factor


def test_liquidity_component() -> None:
    thin = liquidity_component(replace(BASE, dollar_volume=5e5), CFG)
    deep = liquidity_component(replace(BASE, dollar_volume=5e9), CFG)
    mid = liquidity_component(replace(BASE, dollar_volume=3e7, volume_z=0.0), CFG)
    assert (thin.score, deep.score) == (1.0, 0.0) and 0 < mid.score < 1
    thinner_today = liquidity_component(replace(BASE, dollar_volume=3e7, volume_z=-2.5), CFG)
    assert thinner_today.score > mid.score and "unusually thin" in thinner_today.factor
    unknown = liquidity_component(replace(BASE, dollar_volume=None, volume_z=None), CFG)
    assert unknown.score == UNKNOWN_LIQUIDITY and "no volume" in unknown.factor


def test_news_component_intensity_and_disagreement() -> None:
    none = news_component("TEST", [], CFG)
    assert none.score == NO_NEWS and "No recent news" in none.factor
    mild = news_component("TEST", [_signal("bullish", 0.2)], CFG)
    strong = news_component("TEST", [_signal("bearish", -0.9)], CFG)
    mixed = news_component("TEST", [_signal("bearish", -0.9), _signal("bullish", 0.8)], CFG)
    assert mild.score < strong.score < mixed.score <= 1.0
    assert "disagree" in mixed.factor and "bearish" in strong.factor


@pytest.mark.parametrize("score, level", [(0.0, "low"), (0.349, "low"), (0.35, "medium"), (0.649, "medium"),
                                          (0.65, "high"), (1.0, "high")])
def test_levels_at_the_configured_cut_offs(score: float, level: str) -> None:
    assert risk_level(score, CFG) == level


def test_score_is_the_weighted_mean_and_factors_rank_by_contribution() -> None:
    f = replace(BASE, realized_vol=0.8, dollar_volume=1e9, volume_z=0.0)
    result = assess_risk(f, Regime("crash", ("falling",)), CFG, [_signal("bullish", 0.2)])
    by_name = {c.name: c for c in result.components}
    expected = sum(c.score * c.weight for c in result.components) / sum(c.weight for c in result.components)
    assert result.score == pytest.approx(expected)
    assert by_name["regime"].score == REGIME_RISK["crash"] and by_name["volatility"].score == 1.0
    assert result.level == "high"
    assert result.factors[0].startswith("Volatility") and result.factors[-1].startswith("Liquidity")
    as_json = result.to_dict()
    assert set(as_json) == {"level", "score", "factors", "components"}


def test_weights_change_the_score() -> None:
    f = replace(BASE, realized_vol=0.8, dollar_volume=1e9)
    calm = Regime("bull_trend", ("up",))
    vol_only = assess_risk(f, calm, replace(CFG, weight_liquidity=0, weight_regime=0, weight_news=0))
    regime_only = assess_risk(f, calm, replace(CFG, weight_volatility=0, weight_liquidity=0, weight_news=0))
    assert vol_only.score == 1.0 and regime_only.score == REGIME_RISK["bull_trend"]


def test_regime_order_of_danger() -> None:
    scores = [assess_risk(BASE, Regime(r, ("x",)), CFG).score for r in
              ("bull_trend", "chop", "bear_trend", "high_vol", "crash")]
    assert scores == sorted(scores) and len(set(scores)) == 5


# --- portfolio -------------------------------------------------------------------------------

def _walk(seed: int, n: int = 200) -> np.ndarray:
    rng = np.random.Generator(np.random.PCG64(seed))
    return rng.standard_normal(n) * 0.01


def test_correlation_on_shared_timestamps() -> None:
    r = _walk(1)
    a = _bars(100 * np.exp(np.cumsum(r)), "A")
    b = _bars(50 * np.exp(np.cumsum(r * 2)), "B")  # same moves, scaled: correlation 1
    c = _bars(80 * np.exp(np.cumsum(_walk(2))), "C")
    rho_ab, overlap = return_correlation(a, b)
    assert rho_ab == pytest.approx(1.0) and overlap == 120
    rho_ac, _ = return_correlation(a, c)
    assert abs(rho_ac) < 0.3
    late = _bars(c.close[:30], "D", ts=a.ts[-30:] + 3600)  # no shared timestamps
    assert return_correlation(a, late) == (None, 0)


def test_portfolio_exposure_concentration_and_warnings() -> None:
    r = _walk(3)
    bars = {"A": _bars(100 * np.exp(np.cumsum(r)), "A"), "B": _bars(70 * np.exp(np.cumsum(r)), "B"),
            "C": _bars(40 * np.exp(np.cumsum(_walk(4))), "C")}
    view = portfolio_view([Position("A", "long", 0.10), Position("B", "long", 0.05),
                           Position("C", "short", 0.05)], bars)
    assert view.gross == pytest.approx(0.20) and view.net == pytest.approx(0.10)
    assert [e.symbol for e in view.exposures] == ["A", "B", "C"]
    assert view.exposures[0].share_of_gross == pytest.approx(0.5)
    assert view.herfindahl == pytest.approx(0.5 ** 2 + 0.25 ** 2 + 0.25 ** 2)
    assert any("A is 50% of gross" in w for w in view.warnings)
    assert any("A and B" in w and "same way" in w for w in view.warnings)
    hedged = portfolio_view([Position("A", "long", 0.05), Position("B", "short", 0.05)], bars)
    assert not any("act as one" in w for w in hedged.warnings)
    assert portfolio_view([], bars).gross == 0.0


def test_tolerance_is_a_validated_risk_setting(tmp_path) -> None:
    from engine.config import ConfigError
    from engine.risk.config import load_risk_config

    (tmp_path / "config.toml").write_text('[risk]\ntolerance = "High"\n')
    assert load_risk_config(tmp_path, environ={}).tolerance == "high"
    assert load_risk_config(tmp_path, environ={"SIGNALDESK_RISK_TOLERANCE": "low"}).tolerance == "low"
    (tmp_path / "config.toml").write_text('[risk]\ntolerance = "yolo"\n')
    import pytest

    with pytest.raises(ConfigError, match="tolerance"):
        load_risk_config(tmp_path, environ={})
