"""An idea's rationale: one sentence per fact, each built only from the decision's own inputs.

Nothing here reads anything but the candidate (evidence, regime, risk, route, sizing, market
age) and the blended confidence it was ranked by, so a sentence cannot contradict the idea:
the trade direction is the route's, the news label the net score's sign, the trend wording
the sizing's own trend step, the risk word the assessment's level. Component factors are
not quoted (a "news risk is high" factor beside "risk low" overall read as a contradiction);
the largest component is named with its score instead. Prices print at the symbol's tick.
``tests/engine/test_idea_rationale.py`` checks every sentence against the inputs over every
regime, news direction and risk level.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Sequence

from engine.ideas.routing import regime_words
from engine.ideas.view import Candidate
from engine.risk.config import RiskConfig
from engine.risk.sizing import tick_decimals, trend_multiplier

NOTICE = "Advice for review only; nothing is executed."
MAX_HEADLINE_CHARS = 160


def price_text(value: float, tick: float) -> str:
    return f"{value:.{tick_decimals(tick)}f}" if tick > 0 else f"{value:.6g}"


def confidence_text(confidence: float, raw: float, calibrators: str) -> str:
    """"72% calibrated (raw 85%, platt/top_label #1)", or "85% (uncalibrated)"."""
    if not calibrators:
        return f"{raw:.0%} (uncalibrated)"
    return f"{confidence:.0%} calibrated (raw {raw:.0%}, {calibrators})"


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def trend_sentence(c: Candidate, cfg: RiskConfig) -> str:
    gap = c.state.features.ma_gap
    multiplier, relation = trend_multiplier(c.direction, gap, cfg)
    where = "there is no clear trend" if relation == "no clear trend" else f"the {c.direction} idea goes {relation}"
    return (f"Trend: {where} (fast moving average {gap:+.1%} from the slow one), so the trend step "
            f"multiplies the size by {multiplier:g}.")


def build_rationale(c: Candidate, blended: dict, cfg: RiskConfig, changes: Sequence[str] = ()) -> list[str]:
    """``changes``: what differs from the previous revision (engine/ideas/revision.py), if any."""
    f, risk, sizing, ev, tick = c.state.features, c.state.risk, c.sizing, c.evidence, c.market.tick
    sentences: list[str] = []
    if c.market.stale:
        sentences.append(
            f"Stale market data: the last {c.symbol} bar is from {c.market.last_bar_date}, "
            f"{c.market.age_days:.0f} days before this idea (stale after {cfg.stale_after_days:g}); entry, stop "
            f"and target come from that bar, so refresh prices before acting.")
    sentences.append(f"{c.route.title} ({regime_words(c.state.regime.name)}): {c.direction} {c.symbol} "
                     f"over {c.horizon}.")
    if changes:
        sentences.append(f"Changed since the previous revision: {'; '.join(changes)}.")
    copies = f"; {ev.copies} repeated cop{'y' if ev.copies == 1 else 'ies'} counted once" if ev.copies else ""
    n = len(ev.items)
    sentences.append(
        f"Evidence: {n} independent headline{'' if n == 1 else 's'} on {c.symbol} in the last "
        f"{cfg.max_evidence_age_hours:g} h ({ev.count('bullish')} bullish, {ev.count('bearish')} bearish, "
        f"{ev.count('neutral')} neutral{copies}); net calibrated score {ev.net_score:+.2f} against the "
        f"±{c.threshold:.2f} {'keeping' if c.keeping else 'opening'} threshold.")
    k = len(c.supporting)
    sentences.append(f"Behind it: {k} {c.news_label} headline{'' if k == 1 else 's'} at or above the "
                     f"{cfg.idea_min_confidence:.0%} idea confidence, on average "
                     f"{confidence_text(c.confidence, c.raw_confidence, c.calibrators)}.")
    top = c.supporting[0]
    headline = top.headline if len(top.headline) <= MAX_HEADLINE_CHARS else top.headline[:157] + "..."
    sentences.append(
        f"Strongest: {top.label}, confidence {confidence_text(top.confidence, top.raw_confidence, top.calibrator)} "
        f"from {top.model}: \"{headline}\" ({', '.join(top.sources)}, {when(top.time)}).")
    sentences.append(f"Why: {c.route.reason}.")
    sentences.append(trend_sentence(c, cfg))
    largest = max(risk.components, key=lambda comp: comp.score * comp.weight)
    sentences.append(f"Risk is {risk.level} overall (score {risk.score:.2f} of 1); the largest part is "
                     f"{largest.name} at {largest.score:.2f} with weight {largest.weight:.2f}.")
    sentences.append(f"Size {sizing.fraction:.2%} of equity, set by the {sizing.binding}; limit {sizing.limit:.2%}.")
    sentences.append(
        f"Entry {price_text(sizing.entry, tick)}, stop {price_text(sizing.stop_loss, tick)} "
        f"({sizing.stop_pct:.1%} away, {cfg.stop_atr:g} ATR of {price_text(f.atr, tick)}), target "
        f"{price_text(sizing.take_profit, tick)} ({sizing.take_profit_pct:.1%}, {cfg.take_profit_atr:g} ATR); "
        f"round-trip fees {sizing.fees_round_trip:.2%}.")
    if blended.get("llm") is not None:
        sentences.append(f"Ranking confidence {blended['value']:.0%} blends in an LLM's opinion ({blended['note']}); "
                         "the LLM never changes sizes, limits or states.")
    sentences.append(NOTICE)
    return sentences


def render_rationale(c: Candidate, blended: dict, cfg: RiskConfig, changes: Sequence[str] = ()) -> str:
    return "\n".join(build_rationale(c, blended, cfg, changes))
