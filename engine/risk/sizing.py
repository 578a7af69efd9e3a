"""Position sizing: a preferred size, then hard limits it can never exceed.

Sizes are fractions of equity (notional / equity). Steps, each recorded in the result:

1. base: the fixed fraction for the risk tolerance (low / medium / high / aggressive);
2. volatility: times ``target_vol / realized_vol``, clipped to [``min_vol_multiplier``, 1];
3. trend: times ``trend_aligned`` / ``trend_neutral`` / ``trend_against`` by whether the
   trade points with the moving-average trend.

That preference is then capped by the *limit*, the smallest of:

- ``max_position_fraction``, the hard cap for any one idea;
- fractional Kelly: full Kelly ``f* = p - (1 - p) / b`` is the fraction of equity to put
  at risk, with ``b`` the payoff after round-trip fees (take-profit gain less fees over
  stop-loss loss plus fees). ``kelly_fraction * f*`` of equity at risk, divided by the loss
  per unit of notional at the stop, gives the notional cap; no edge after fees caps it at 0;
- the regime leverage cap (``leverage_<regime>``) less the gross exposure already approved.

Stops and targets are ATR multiples from the entry; with a ``tick`` the entry, stop and
target are rounded to it (a stop never rounds onto the entry) and the Kelly cap is computed
from the rounded prices, so the figures shown are the figures sized. Every input must be
finite: NaN or infinity raises :class:`SizingError` rather than quietly producing a size.
Sizes round down to 1e-4 so rounding can never lift a size above its limit.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from decimal import Decimal

from engine.risk.config import REGIMES, TOLERANCES, RiskConfig

DIRECTIONS = ("long", "short")
_QUANTUM = 10_000  # sizes are multiples of 1e-4 of equity


class SizingError(ValueError):
    """The inputs cannot be sized (non-finite, out of range, or stops that make no sense)."""


@dataclass(frozen=True)
class SizingRequest:
    direction: str  # long | short
    entry: float  # price the idea is evaluated at (the latest close)
    atr: float
    realized_vol: float  # annualised
    ma_gap: float  # fast MA / slow MA - 1: the trend the trade is judged against
    regime: str
    win_probability: float  # calibrated; capped at RiskConfig.max_win_probability
    tolerance: str = "medium"
    current_exposure: float = 0.0  # gross exposure of approved ideas, fraction of equity
    equity: float | None = None  # optional, to express the size in money
    tick: float = 0.0  # the symbol's price increment; 0 leaves prices unrounded


@dataclass(frozen=True)
class SizingResult:
    fraction: float  # the proposed size, fraction of equity
    limit: float  # the most any edit may set: min(position cap, Kelly cap, leverage headroom)
    binding: str  # which step or cap set the size
    steps: tuple[tuple[str, float], ...]
    direction: str
    entry: float
    stop_loss: float
    take_profit: float
    stop_pct: float
    take_profit_pct: float
    fees_round_trip: float
    payoff: float  # b: net gain at target per net loss at stop
    win_probability: float  # after the cap
    kelly_full: float  # f*, fraction of equity at risk (may be negative: no edge)
    kelly_cap: float  # notional cap from fractional Kelly
    leverage_cap: float
    exposure_headroom: float
    expected_return: float  # per unit notional, after fees: p * gain - (1 - p) * loss
    notional: float | None

    def to_dict(self) -> dict:
        data = asdict(self)
        data["steps"] = [{"step": name, "fraction": value} for name, value in self.steps]
        return data


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SizingError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise SizingError(f"{name} must be finite, got {value!r}")
    return value


def _floor(value: float) -> float:
    return math.floor(max(0.0, value) * _QUANTUM) / _QUANTUM


def trend_multiplier(direction: str, ma_gap: float, cfg: RiskConfig) -> tuple[float, str]:
    if ma_gap >= cfg.trend_min_gap:
        trend = "up"
    elif ma_gap <= -cfg.trend_min_gap:
        trend = "down"
    else:
        return cfg.trend_neutral, "no clear trend"
    aligned = (direction == "long") == (trend == "up")
    return (cfg.trend_aligned, f"with the {trend}trend") if aligned else \
        (cfg.trend_against, f"against the {trend}trend")


def tick_decimals(tick: float) -> int:
    """Decimals a price on this tick needs: 0.01 -> 2, 0.25 -> 2, 0.0001 -> 4, 5 -> 0."""
    exponent = Decimal(repr(float(tick))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def round_to_tick(price: float, tick: float) -> float:
    if tick <= 0:
        return price
    # round() again: 1.0001 / 0.0001 * 0.0001 is 1.0001000000000002 in binary floating point.
    return float(round(round(price / tick) * tick, tick_decimals(tick)))


def stop_and_target(direction: str, entry: float, atr: float, cfg: RiskConfig,
                    tick: float = 0.0) -> tuple[float, float]:
    # At least one tick away (entry is on the tick): a stop rounded onto the entry is no stop.
    stop_distance = max(cfg.stop_atr * atr, tick)
    target_distance = max(cfg.take_profit_atr * atr, tick)
    sign = 1.0 if direction == "long" else -1.0
    stop = round_to_tick(entry - sign * stop_distance, tick)
    target = round_to_tick(entry + sign * target_distance, tick)
    if min(stop, target) <= 0:
        raise SizingError(f"ATR {atr:g} is too large for price {entry:g}: the stop or target falls "
                          "below zero")
    return stop, target


def size_position(req: SizingRequest, cfg: RiskConfig) -> SizingResult:
    tick = _finite("tick", req.tick)
    if tick < 0:
        raise SizingError("tick must not be negative")
    entry = round_to_tick(_finite("entry", req.entry), tick)
    atr = _finite("atr", req.atr)
    vol = _finite("realized_vol", req.realized_vol)
    gap = _finite("ma_gap", req.ma_gap)
    p_raw = _finite("win_probability", req.win_probability)
    exposure = _finite("current_exposure", req.current_exposure)
    equity = None if req.equity is None else _finite("equity", req.equity)
    if req.direction not in DIRECTIONS:
        raise SizingError(f"direction must be long or short, got {req.direction!r}")
    if req.tolerance not in TOLERANCES:
        raise SizingError(f"tolerance must be one of {', '.join(TOLERANCES)}, got {req.tolerance!r}")
    if req.regime not in REGIMES:
        raise SizingError(f"unknown regime {req.regime!r}")
    if entry <= 0 or atr <= 0:
        raise SizingError("entry and atr must be above zero")
    if vol < 0 or exposure < 0 or not 0 <= p_raw <= 1:
        raise SizingError("realized_vol and current_exposure must be >= 0, win_probability in [0, 1]")
    if equity is not None and equity <= 0:
        raise SizingError("equity must be above zero")

    base = cfg.base_fraction(req.tolerance)
    vol_multiplier = 1.0 if vol == 0 else min(1.0, max(cfg.min_vol_multiplier, cfg.target_vol / vol))
    trend_mult, _ = trend_multiplier(req.direction, gap, cfg)
    preferred = base * vol_multiplier * trend_mult

    stop, target = stop_and_target(req.direction, entry, atr, cfg, tick)
    stop_pct = abs(entry - stop) / entry
    target_pct = abs(target - entry) / entry
    fees = 2 * cfg.fee_per_side
    gain, loss = target_pct - fees, stop_pct + fees
    p = min(p_raw, cfg.max_win_probability)
    if gain <= 0:
        payoff, kelly_full = 0.0, -1.0  # fees eat the whole target: no trade has an edge
    else:
        payoff = gain / loss
        kelly_full = p - (1 - p) / payoff
    kelly_cap = max(0.0, cfg.kelly_fraction * kelly_full) / loss
    leverage = cfg.leverage_cap(req.regime)
    headroom = max(0.0, leverage - exposure)

    caps = {"position cap": cfg.max_position_fraction, "Kelly cap": kelly_cap,
            "regime leverage cap": headroom}
    limit_name = min(caps, key=lambda k: caps[k])
    limit = _floor(caps[limit_name])
    fraction = min(_floor(preferred), limit)
    if fraction < _floor(preferred):
        binding = limit_name
    else:
        shrunk = [name for name, mult in (("volatility", vol_multiplier), ("trend", trend_mult)) if mult < 1]
        binding = f"{' and '.join(shrunk)} adjustment" if shrunk else f"{req.tolerance} tolerance"

    steps = (
        (f"base ({req.tolerance})", base),
        ("volatility adjustment", base * vol_multiplier),
        ("trend adjustment", preferred),
        ("position cap", cfg.max_position_fraction),
        ("Kelly cap", kelly_cap),
        ("regime leverage headroom", headroom),
        ("final", fraction),
    )
    return SizingResult(
        fraction=fraction, limit=limit, binding=binding, steps=steps, direction=req.direction,
        entry=entry, stop_loss=stop, take_profit=target, stop_pct=stop_pct, take_profit_pct=target_pct,
        fees_round_trip=fees, payoff=payoff, win_probability=p, kelly_full=kelly_full,
        kelly_cap=kelly_cap, leverage_cap=leverage, exposure_headroom=headroom,
        expected_return=p * gain - (1 - p) * loss,
        notional=None if equity is None else fraction * equity,
    )
