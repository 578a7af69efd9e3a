"""Outcomes: what actually happened to a prediction, from three sources.

- ``labelled_file``: a row of a labelled CSV, scored by the model (see ``labelled.py``).
- ``analyst``: a person marks a stored signal right or wrong, or gives the right label.
- ``market``: the signal's direction against the forward return over a horizon, after fees.

Every outcome carries the raw probabilities and the model id + version that produced them,
so a calibrator per model version can be (re)fitted from the outcomes table alone. ``correct``
is always known; ``label`` only when the true class is (an analyst's bare "wrong" says the
prediction was wrong without saying which class was right -- the top-label calibrator can
still learn from it).
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from engine.sentiment.base import LABELS
from engine.types import Signal

SOURCES = ("labelled_file", "analyst", "market")
DEFAULT_FEE_PER_SIDE = 0.001  # 0.1 % a side, the risk module's default round-trip assumption


@dataclass(frozen=True)
class Outcome:
    source: str
    model_id: str
    model_version: str
    probs: tuple[float, float, float]  # raw, LABELS order
    correct: bool  # was the model's arg-max right
    label: str | None = None  # the true label, when known
    signal_id: int | None = None
    text: str | None = None
    origin: str = ""  # file path, symbol, analyst name: groups re-imports
    detail: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    id: int | None = None

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"unknown outcome source {self.source!r}")
        if self.label is not None and self.label not in LABELS:
            raise ValueError(f"unknown label {self.label!r}")
        if self.signal_id is None and not self.text:
            raise ValueError("an outcome needs a signal id or a text")

    @property
    def predicted(self) -> str:
        return LABELS[int(np.argmax(self.probs))]

    @property
    def confidence(self) -> float:
        return float(max(self.probs))


def labelled_outcomes(evaluation, origin: str = "") -> list[Outcome]:
    """Outcomes for every row of a ``LabelledEvaluation``."""
    out = []
    now = time.time()
    for row, p in zip(evaluation.rows, evaluation.probs):
        probs = (float(p[0]), float(p[1]), float(p[2]))
        out.append(Outcome("labelled_file", evaluation.model_id, evaluation.model_version, probs,
                           correct=int(np.argmax(p)) == row.label, label=LABELS[row.label], text=row.text,
                           origin=origin, detail={"line": row.line}, created_at=now))
    return out


# --- (b) analyst feedback ---------------------------------------------------------------
def analyst_outcome(signal: Signal, *, right: bool | None = None, label: str | None = None,
                    analyst: str = "", note: str = "") -> Outcome:
    """Feedback on a stored signal: ``right=True/False``, or ``label=`` the right label."""
    if signal.id is None:
        raise ValueError("feedback needs a stored signal (it has no id)")
    if (right is None) == (label is None):
        raise ValueError("give either right=True/False or the right label, not both")
    if label is not None:
        label = label.strip().lower()
        if label not in LABELS:
            raise ValueError(f"unknown label {label!r}")
        correct = label == signal.label
    else:
        correct = bool(right)
        # "Right" names the true class; "wrong" only rules one out.
        label = signal.label if correct else None
    detail = {k: v for k, v in (("analyst", analyst), ("note", note)) if v}
    return Outcome("analyst", signal.model_id, signal.model_version, tuple(signal.probs), correct, label,
                   signal_id=signal.id, origin=analyst, detail=detail)


# --- (c) market outcomes --------------------------------------------------------------------
PriceSeries = Sequence[tuple[float, float]]  # (unix seconds, price), any order


@dataclass(frozen=True)
class MarketCheck:
    entry_at: float
    entry_price: float
    exit_at: float
    exit_price: float
    forward_return: float  # exit / entry - 1
    round_trip_cost: float  # fees for entering and leaving, as a fraction
    realized: str  # bullish / bearish beyond fees, else neutral
    net_return: float  # what following the signal would have made after fees (0 for neutral)
    correct: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def check_direction(label: str, signal_at: float, prices: PriceSeries, horizon_s: float,
                    fee_per_side: float = DEFAULT_FEE_PER_SIDE) -> MarketCheck | None:
    """Compare a predicted direction with the market over ``horizon_s``; None while unresolved.

    Entry is the first price at or after the signal (acting on news before it arrived would be
    look-ahead); exit is the first price at or after entry + horizon. A move counts as bullish
    or bearish only if it beats the round-trip fees -- a smaller move could not have been
    traded at a profit, so "neutral" was the right call.
    """
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    if horizon_s <= 0 or fee_per_side < 0:
        raise ValueError("horizon must be positive and fees non-negative")
    points = sorted((float(t), float(p)) for t, p in prices
                    if math.isfinite(float(t)) and math.isfinite(float(p)) and float(p) > 0)
    times = [t for t, _ in points]
    i = bisect.bisect_left(times, signal_at)
    if i >= len(points):
        return None
    entry_at, entry = points[i]
    j = bisect.bisect_left(times, entry_at + horizon_s)
    if j >= len(points):
        return None
    exit_at, exit_ = points[j]
    ret = exit_ / entry - 1.0
    cost = 2.0 * fee_per_side
    realized = "bullish" if ret > cost else "bearish" if ret < -cost else "neutral"
    direction = {"bullish": 1.0, "bearish": -1.0, "neutral": 0.0}[label]
    return MarketCheck(entry_at, entry, exit_at, exit_, ret, cost, realized,
                       direction * ret - abs(direction) * cost, realized == label)


def market_outcome(signal: Signal, symbol: str, prices: PriceSeries, horizon_s: float,
                   fee_per_side: float = DEFAULT_FEE_PER_SIDE) -> Outcome | None:
    if signal.id is None:
        raise ValueError("market outcomes need a stored signal (it has no id)")
    check = check_direction(signal.label, signal.received_at, prices, horizon_s, fee_per_side)
    if check is None:
        return None
    detail = {"symbol": symbol, "horizon_s": horizon_s, "fee_per_side": fee_per_side, **check.to_dict()}
    return Outcome("market", signal.model_id, signal.model_version, tuple(signal.probs), check.correct,
                   check.realized, signal_id=signal.id, origin=symbol, detail=detail)


PriceLookup = Callable[[str, float, float], PriceSeries]  # (symbol, start, end) -> series


def market_outcomes(signals: Iterable[Signal], lookup: PriceLookup, horizon_s: float,
                    fee_per_side: float = DEFAULT_FEE_PER_SIDE) -> list[Outcome]:
    """Resolve what can be resolved: for each signal, the first of its tickers with prices.

    ``lookup`` is the only link to market data (the prices table of engine/market once it
    lands); an empty series means "no data for that symbol".
    """
    out = []
    for sig in signals:
        for symbol in sig.entities:
            # Ask past the horizon: weekends and holidays can delay the first bar after it.
            series = lookup(symbol, sig.received_at, sig.received_at + horizon_s * 2 + 7 * 86400)
            if not series:
                continue
            outcome = market_outcome(sig, symbol, series, horizon_s, fee_per_side)
            if outcome is not None:
                out.append(outcome)
            break
    return out
