"""One asset's view: from its evidence, regime and risk to a sized candidate idea, or why not.

:func:`evaluate` applies the reviewer's thresholds (README "Trade ideas"): the net calibrated
score must reach ``min_net_score`` to open an idea and ``keep_net_score`` to keep an open one
in the same direction, and at least ``min_headlines`` independent headlines must point the
idea's way with a calibrated confidence of at least ``idea_min_confidence`` (the supporting
headlines). The strategy comes from the regime (:mod:`engine.ideas.routing`), the size from
:mod:`engine.risk.sizing`; a follow-the-news idea's win probability is the supporting
headlines' weighted mean calibrated confidence.

Market data older than ``stale_after_days`` at the decision time is stale: with
``stale_market_data = "flag"`` (the default) the idea is still proposed, marked stale in its
first rationale line, its snapshot, the list and the CLI; with ``"refuse"`` no idea is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from engine.ideas.evidence import AssetEvidence, EvidenceItem, weighted_mean
from engine.ideas.routing import NoRoute, Route, route
from engine.risk.config import RiskConfig
from engine.risk.sizing import SizingError, SizingRequest, SizingResult, size_position
from engine.risk.symbol import SymbolRisk

DAY = 86_400.0


def horizon_of(periods_per_year: float) -> str:
    """The holding period the idea's bars imply: its stop and target are ATR multiples of them."""
    if periods_per_year > 400:
        return "hours"
    if periods_per_year > 100:
        return "days"
    return "weeks" if periods_per_year > 20 else "months"


@dataclass(frozen=True)
class MarketAge:
    last_bar: int  # open time of the newest completed bar, unix seconds
    age_days: float  # from that bar to the decision time
    stale: bool
    policy: str  # flag | refuse
    tick: float

    @property
    def last_bar_date(self) -> str:
        return datetime.fromtimestamp(self.last_bar, tz=timezone.utc).date().isoformat()

    def to_dict(self) -> dict:
        return {"last_bar": self.last_bar, "last_bar_date": self.last_bar_date, "age_days": self.age_days,
                "stale": self.stale, "policy": self.policy, "tick": self.tick}


@dataclass(frozen=True)
class Candidate:
    """A sized idea the evidence supports now, before it is stored."""

    symbol: str
    horizon: str
    news_label: str  # bullish | bearish: the sign of the net score
    route: Route
    state: SymbolRisk
    sizing: SizingResult
    evidence: AssetEvidence
    supporting: tuple[EvidenceItem, ...]  # ranked: pointing the news' way, at least idea_min_confidence sure
    confidence: float  # weighted mean calibrated confidence of the supporting headlines
    raw_confidence: float  # the same from their raw confidence
    calibrators: str  # the calibrators behind ``confidence``, "" when none
    market: MarketAge
    keeping: bool  # judged against the keep threshold (an open idea in the same direction)
    threshold: float  # the |net score| it had to reach: keep_net_score when keeping, else min_net_score

    @property
    def direction(self) -> str:
        return self.route.direction


@dataclass(frozen=True)
class NoIdea:
    reason: str


def market_age(state: SymbolRisk, as_of: float, cfg: RiskConfig, tick: float) -> MarketAge:
    age = (as_of - state.features.as_of) / DAY
    return MarketAge(int(state.features.as_of), age, age > cfg.stale_after_days, cfg.stale_market_data, tick)


def evaluate(evidence: AssetEvidence, state: SymbolRisk, cfg: RiskConfig, *, tolerance: str, exposure: float,
             keeping: str | None, tick: float, as_of: float) -> Candidate | NoIdea:
    """The idea the evidence supports, or why there is none. ``keeping`` is the open idea's
    direction (None when none is open); ``exposure`` the approved gross exposure of other ideas."""
    symbol, n = evidence.symbol, len(evidence.items)
    if not n:
        return NoIdea(f"no usable headline on {symbol} in the last {cfg.max_evidence_age_hours:g} h")
    label = evidence.label
    if label is None:
        return NoIdea(f"net calibrated score 0.00 from {_headlines(n)}: no direction")
    try:
        chosen = route(state.regime.name, label, state.features, cfg)
    except NoRoute as exc:
        return NoIdea(str(exc))
    keep = keeping == chosen.direction
    threshold = cfg.keep_net_score if keep else cfg.min_net_score
    if abs(evidence.net_score) < threshold:
        return NoIdea(f"net calibrated score {evidence.net_score:+.2f} from {_headlines(n)} is inside the "
                      f"±{threshold:.2f} {'keeping' if keep else 'opening'} threshold")
    # Weak headlines move the net score but do not count as support (nor as its win probability).
    supporting = tuple(i for i in evidence.supporting(label) if i.confidence >= cfg.idea_min_confidence)
    if len(supporting) < cfg.min_headlines:
        return NoIdea(f"{_headlines(len(supporting), label)} at or above idea_min_confidence "
                      f"{cfg.idea_min_confidence:.0%} (calibrated); min_headlines is {cfg.min_headlines}")
    confidence = weighted_mean(supporting, "confidence")
    market = market_age(state, as_of, cfg, tick)
    if market.stale and market.policy == "refuse":
        return NoIdea(f"market data is stale: the last {symbol} bar is from {market.last_bar_date}, "
                      f"{market.age_days:.0f} days before the decision (stale_after_days "
                      f"{cfg.stale_after_days:g}, stale_market_data = refuse)")
    f = state.features
    win_p = confidence if chosen.strategy == "follow_news" else cfg.fade_win_probability
    try:
        sizing = size_position(SizingRequest(
            direction=chosen.direction, entry=f.close, atr=f.atr, realized_vol=f.realized_vol, ma_gap=f.ma_gap,
            regime=state.regime.name, win_probability=win_p, tolerance=tolerance, current_exposure=exposure,
            tick=tick), cfg)
    except SizingError as exc:
        return NoIdea(str(exc))
    if sizing.fraction <= 0:
        return NoIdea(f"size is zero ({sizing.binding}: {zero_reason(sizing)})")
    calibrators = ", ".join(sorted({item.calibrator for item in supporting if item.calibrator}))
    return Candidate(symbol, horizon_of(f.periods_per_year), label, chosen, state, sizing, evidence, supporting,
                     confidence, weighted_mean(supporting, "raw_confidence"), calibrators, market, keep, threshold)


def zero_reason(sizing: SizingResult) -> str:
    if sizing.binding == "Kelly cap":
        return "no edge after fees at this win probability and payoff"
    if sizing.binding == "regime leverage cap":
        return f"no exposure headroom under the {sizing.leverage_cap:.2f}x leverage cap"
    return "the size rounds to zero"


def _headlines(n: int, label: str = "") -> str:
    kind = f"{label} " if label else ""
    return f"{n} independent {kind}headline{'' if n == 1 else 's'}"
