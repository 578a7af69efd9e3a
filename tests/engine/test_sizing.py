"""Sizing: worked examples plus property tests (never above limits, never negative, NaN/inf refused)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.risk.config import REGIMES, TOLERANCES, RiskConfig
from engine.risk.sizing import SizingError, SizingRequest, size_position

CFG = RiskConfig()


def _request(**changes) -> SizingRequest:
    base = SizingRequest(direction="long", entry=100.0, atr=2.0, realized_vol=0.10, ma_gap=0.05,
                         regime="bull_trend", win_probability=0.6)
    return replace(base, **changes)


def test_worked_example_follows_the_documented_steps() -> None:
    result = size_position(_request(), CFG)
    # medium 5%; vol 10% < target 20% -> no shrink; long with the uptrend -> x1.0
    assert result.fraction == 0.05 and result.binding == "medium tolerance"
    assert (result.stop_loss, result.take_profit) == (96.0, 106.0)
    assert result.fees_round_trip == pytest.approx(0.002)
    gain, loss = 0.06 - 0.002, 0.04 + 0.002
    assert result.payoff == pytest.approx(gain / loss)
    kelly = 0.6 - 0.4 / (gain / loss)
    assert result.kelly_full == pytest.approx(kelly)
    assert result.kelly_cap == pytest.approx(0.25 * kelly / loss)
    assert result.limit == 0.25  # the position cap is the tightest limit here
    assert result.expected_return == pytest.approx(0.6 * gain - 0.4 * loss)


def test_short_stops_sit_above_the_entry() -> None:
    result = size_position(_request(direction="short", ma_gap=-0.05), CFG)
    assert result.stop_loss == 104.0 and result.take_profit == 94.0 and result.fraction == 0.05


def test_volatility_and_trend_adjustments() -> None:
    double_target = size_position(_request(realized_vol=0.40), CFG)
    assert double_target.fraction == pytest.approx(0.025)
    wild = size_position(_request(realized_vol=4.0), CFG)
    assert wild.fraction == pytest.approx(0.05 * CFG.min_vol_multiplier)
    against = size_position(_request(direction="short"), CFG)
    assert against.fraction == pytest.approx(0.05 * CFG.trend_against) and "trend" in against.binding
    flat = size_position(_request(ma_gap=0.0), CFG)
    assert flat.fraction == pytest.approx(0.05 * CFG.trend_neutral)


@pytest.mark.parametrize("tolerance, expected", [("low", 0.02), ("medium", 0.05), ("high", 0.10),
                                                 ("aggressive", 0.20)])
def test_fixed_fraction_by_tolerance(tolerance: str, expected: float) -> None:
    assert size_position(_request(tolerance=tolerance), CFG).fraction == expected


def test_no_edge_after_fees_means_no_size() -> None:
    coin_flip = size_position(_request(win_probability=0.35), CFG)
    assert coin_flip.kelly_full < 0 and coin_flip.fraction == 0.0 and coin_flip.binding == "Kelly cap"
    fees_eat_target = size_position(_request(atr=0.01), replace(CFG, fee_per_side=0.02))
    assert fees_eat_target.fraction == 0.0


def test_kelly_cap_binds_near_break_even() -> None:
    result = size_position(_request(win_probability=0.423), CFG)  # break-even is ~0.42
    assert 0 < result.fraction < 0.05 and result.binding == "Kelly cap"
    assert result.fraction <= result.kelly_cap


def test_win_probability_is_capped() -> None:
    assert size_position(_request(win_probability=0.99), CFG).win_probability == CFG.max_win_probability


@pytest.mark.parametrize("regime, cap", [("bull_trend", 1.0), ("chop", 0.75), ("bear_trend", 0.5),
                                         ("high_vol", 0.5), ("crash", 0.25)])
def test_regime_leverage_cap_limits_total_exposure(regime: str, cap: float) -> None:
    result = size_position(_request(regime=regime, tolerance="aggressive", current_exposure=cap - 0.03), CFG)
    assert result.leverage_cap == cap
    assert result.fraction == pytest.approx(0.03) and result.binding == "regime leverage cap"
    full = size_position(_request(regime=regime, current_exposure=cap + 0.1), CFG)
    assert full.fraction == 0.0 and full.exposure_headroom == 0.0


def test_money_amount_when_equity_is_given() -> None:
    assert size_position(_request(equity=250_000), CFG).notional == pytest.approx(12_500)


@pytest.mark.parametrize("changes", [dict(entry=0.0), dict(atr=-1.0), dict(win_probability=1.5),
                                     dict(direction="sideways"), dict(tolerance="yolo"), dict(regime="moon"),
                                     dict(atr=60.0), dict(equity=0.0), dict(current_exposure=-0.1),
                                     dict(entry="100")])
def test_nonsense_inputs_are_refused(changes: dict) -> None:
    with pytest.raises(SizingError):
        size_position(_request(**changes), CFG)


# --- properties ------------------------------------------------------------------------------

finite = dict(allow_nan=False, allow_infinity=False)
requests = st.builds(
    SizingRequest,
    direction=st.sampled_from(["long", "short"]),
    entry=st.floats(0.01, 1e6, **finite),
    atr=st.floats(1e-6, 1e4, **finite),
    realized_vol=st.floats(0, 10, **finite),
    ma_gap=st.floats(-1, 1, **finite),
    regime=st.sampled_from(REGIMES),
    win_probability=st.floats(0, 1, **finite),
    tolerance=st.sampled_from(TOLERANCES),
    current_exposure=st.floats(0, 3, **finite),
    equity=st.one_of(st.none(), st.floats(1, 1e9, **finite)),
)
configs = st.builds(
    RiskConfig,
    kelly_fraction=st.floats(0.05, 1, **finite),
    max_position_fraction=st.floats(0.2, 1, **finite),
    fee_per_side=st.floats(0, 0.01, **finite),
    stop_atr=st.floats(0.5, 4, **finite),
    take_profit_atr=st.floats(0.5, 6, **finite),
    leverage_crash=st.floats(0, 1, **finite),
)


def _size_or_refusal(req: SizingRequest, cfg: RiskConfig):
    try:
        return size_position(req, cfg)
    except SizingError as exc:
        # The only refusal for finite, in-range inputs: a stop or target below zero.
        assert "below zero" in str(exc)
        assert req.atr * max(cfg.stop_atr, cfg.take_profit_atr) >= req.entry
        return None


@settings(max_examples=300, deadline=None)
@given(req=requests, cfg=configs)
def test_size_never_negative_never_above_any_limit(req: SizingRequest, cfg: RiskConfig) -> None:
    result = _size_or_refusal(req, cfg)
    if result is None:
        return
    assert 0.0 <= result.fraction <= result.limit
    assert result.limit <= cfg.max_position_fraction
    assert result.limit <= result.kelly_cap + 1e-12
    assert result.fraction <= result.exposure_headroom + 1e-12
    assert req.current_exposure + result.fraction <= cfg.leverage_cap(req.regime) + 1e-12 or result.fraction == 0
    assert result.fraction <= cfg.base_fraction(req.tolerance) + 1e-12
    assert math.isclose(result.fraction * 10_000, round(result.fraction * 10_000), abs_tol=1e-6)
    if req.direction == "long":
        assert result.stop_loss < req.entry < result.take_profit
    else:
        assert result.take_profit < req.entry < result.stop_loss
    assert result.stop_loss > 0 and result.take_profit > 0
    if result.kelly_full <= 0:
        assert result.fraction == 0.0
    if req.equity is not None:
        assert result.notional == pytest.approx(result.fraction * req.equity)


@settings(max_examples=100, deadline=None)
@given(req=requests)
def test_sizing_is_deterministic(req: SizingRequest) -> None:
    first = _size_or_refusal(req, CFG)
    assert first == _size_or_refusal(req, CFG)


@settings(max_examples=200, deadline=None)
@given(req=requests,
       field=st.sampled_from(["entry", "atr", "realized_vol", "ma_gap", "win_probability", "current_exposure",
                              "equity"]),
       bad=st.sampled_from([math.nan, math.inf, -math.inf]))
def test_nan_and_infinity_are_refused(req: SizingRequest, field: str, bad: float) -> None:
    with pytest.raises(SizingError, match="finite"):
        size_position(replace(req, **{field: bad}), CFG)
