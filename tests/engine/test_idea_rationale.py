"""The rationale builder over the product of regimes x news directions x risk levels (x trend,
stale prices, an LLM opinion, calibration): every sentence is checked against the decision's
inputs, so it cannot say "follows the bearish news" of a long, "risk low" beside "risk is
high", a regime the idea is not in, or a number the decision did not use.

The candidates are built by the real parts (evidence.gather, routing, sizing, evaluate) from
constructed features, regimes and risk assessments, so each combination is one the engine
could produce; only the market state is set by hand.
"""

from __future__ import annotations

import itertools
import re

import pytest

from engine.ideas.blend import LlmOpinion
from engine.ideas.evidence import Headline, gather
from engine.ideas.rationale import build_rationale, when
from engine.ideas.revision import blend
from engine.ideas.routing import FADE_REGIMES, REGIME_WORDS, regime_words
from engine.ideas.view import Candidate, evaluate
from engine.market.features import Features
from engine.market.regime import Regime
from engine.news.config import NewsConfig
from engine.risk.assess import RiskAssessment, RiskComponent
from engine.risk.config import REGIMES, RiskConfig
from engine.types import Signal

NOW = 1_750_000_000.0
CFG = RiskConfig()
TICK = 0.01
LEVELS = {"low": 0.20, "medium": 0.50, "high": 0.80}
TRENDS = {"up": 0.05, "down": -0.05, "flat": 0.0}  # fast MA vs slow MA
# A regime's own definition fixes its trend; the others may meet any.
REGIME_TRENDS = {"bull_trend": ("up",), "bear_trend": ("down",), "high_vol": tuple(TRENDS), "crash": tuple(TRENDS),
                 "chop": tuple(TRENDS)}
# The strongest headline carries words a careless check (or a careless template) would trip on.
TRICKY = {"bullish": "Short sellers retreat as Acme hits a high; bear case crumbles",
          "bearish": "Acme long-term outlook cut; bull run over as risk stays low"}


def _signal(sid: int, text: str, label: str, confidence: float, calibrated: bool) -> Signal:
    rest = (1 - confidence) / 2
    probs = {"bearish": (confidence, rest, rest), "bullish": (rest, confidence, rest)}[label]
    shown = round(confidence - 0.07, 4) if calibrated else None
    return Signal(sid, NOW - 600 * sid, "wire" if sid % 2 else "desk", text, ("ACME",), label, probs, confidence,
                  probs[1] - probs[0], "lexicon-fin", "1.0", 1.0, calibrated_confidence=shown,
                  calibrator="platt/top_label #4" if calibrated else "")


def _candidate(regime: str, label: str, level: str, trend: str, stale: bool, calibrated: bool) -> Candidate:
    other = "bearish" if label == "bullish" else "bullish"
    signals = [_signal(1, TRICKY[label], label, 0.90, calibrated),
               _signal(2, f"Acme {label} follow-up number two", label, 0.84, calibrated),
               _signal(3, f"Acme {label} follow-up number three", label, 0.80, calibrated),
               _signal(4, f"Acme {other} note against it", other, 0.60, calibrated)]
    evidence = gather("ACME", [Headline(s, s.received_at, "earnings", "news") for s in signals], NOW, CFG, NewsConfig())
    up = label == "bullish"
    stretch = (3.0 if up else -3.0) if regime in FADE_REGIMES else 0.5
    close, atr = 101.37, 2.4683
    gap = TRENDS[trend]
    features = Features(
        symbol="ACME", as_of=int(NOW - (12 if stale else 1) * 86_400), bars=400, periods_per_year=252.0, close=close,
        return_1=0.004, return_lookback=0.03, realized_vol=0.31, realized_vol_long=0.27, vol_ratio=1.15, atr=atr,
        atr_pct=atr / close, volume_z=0.4, dollar_volume=2.5e8, ma_fast=close * (1 + gap), ma_slow=close, ma_gap=gap,
        rsi=(75.0 if up else 25.0) if regime in FADE_REGIMES else 55.0, drawdown=-0.05, max_drawdown=-0.3,
        stretch_atr=stretch)
    # The largest component's own factor says "high" whatever the overall level: it must not be quoted.
    components = (RiskComponent("volatility", 0.9, 0.35, "Volatility is high: 90% a year."),
                  RiskComponent("liquidity", 0.1, 0.15, "Liquidity risk is low."),
                  RiskComponent("regime", 0.4, 0.30, "Regime is whatever."),
                  RiskComponent("news", 0.8, 0.20, "News risk is high."))
    from engine.risk.symbol import SymbolRisk

    state = SymbolRisk(features, Regime(regime, ("constructed",)), RiskAssessment(LEVELS[level], level, components))
    c = evaluate(evidence, state, CFG, tolerance="medium", exposure=0.0, keeping=None, tick=TICK, as_of=NOW)
    assert isinstance(c, Candidate), c
    return c


CASES = [(r, lab, lvl, t, stale, llm, cal)
         for r in REGIMES for t in REGIME_TRENDS[r]
         for lab, lvl, stale, llm, cal in itertools.product(("bullish", "bearish"), LEVELS, (False, True),
                                                            (False, True), (False, True))]


def _unquoted(sentence: str) -> str:
    return re.sub(r"\"[^\"]*\"", "\"\"", sentence)


def _allowed_numbers(c: Candidate, blended: dict) -> list[str]:
    """Every number the rationale may print, formatted from the decision's inputs."""
    s, f, r, ev, top = c.sizing, c.state.features, c.state.risk, c.evidence, c.supporting[0]
    largest = max(r.components, key=lambda comp: comp.score * comp.weight)
    pct0 = {f"{v:.0%}" for v in (c.confidence, c.raw_confidence, top.confidence, top.raw_confidence,
                                 blended["value"], CFG.idea_min_confidence, CFG.llm_weight)}
    if blended.get("llm") is not None:
        pct0.add(f"{blended['llm']:.0%}")
    numbers = {
        f"{s.entry:.2f}", f"{s.stop_loss:.2f}", f"{s.take_profit:.2f}", f"{f.atr:.2f}",
        f"{s.fraction:.2%}", f"{s.limit:.2%}", f"{s.stop_pct:.1%}", f"{s.take_profit_pct:.1%}",
        f"{s.fees_round_trip:.2%}", f"{ev.net_score:+.2f}", f"±{c.threshold:.2f}", f"{r.score:.2f}",
        f"{largest.score:.2f}", f"{largest.weight:.2f}", f"{f.ma_gap:+.1%}", f"{f.stretch_atr:+.1f}", f"{f.rsi:.0f}",
        f"{c.market.age_days:.0f}", f"{CFG.stale_after_days:g}", f"{CFG.max_evidence_age_hours:g}",
        f"{CFG.stop_atr:g}", f"{CFG.take_profit_atr:g}", c.market.last_bar_date, "lexicon-fin@1.0", "#4",
        when(top.time), *pct0,
        *(str(n) for n in (len(ev.items), len(c.supporting), ev.count("bullish"), ev.count("bearish"),
                           ev.count("neutral"))),
    }
    multipliers = {f"{m:g}" for m in (CFG.trend_aligned, CFG.trend_against, CFG.trend_neutral)}
    return sorted(numbers | multipliers, key=len, reverse=True)


@pytest.mark.parametrize("regime,label,level,trend,stale,llm,calibrated", CASES,
                         ids=["-".join(str(x) for x in case) for case in CASES])
def test_every_sentence_agrees_with_the_decision_inputs(regime, label, level, trend, stale, llm, calibrated) -> None:
    c = _candidate(regime, label, level, trend, stale, calibrated)
    opinions = {c.supporting[0].signal_id: LlmOpinion(label, 0.9, "smollm2", "q4_1")} if llm else {}
    blended, _raw = blend(c, opinions, CFG.llm_weight)
    sentences = build_rationale(c, blended, CFG)
    direction = c.direction
    follow = c.route.strategy == "follow_news"
    # The route the engine took is the one the strategy table promises.
    assert follow == (regime not in FADE_REGIMES)
    assert (direction == "long") == ((label == "bullish") == follow)

    kinds = {}
    for sentence in sentences:
        kinds[sentence.split(":")[0].split(" ")[0]] = sentence
        text = _unquoted(sentence)
        # Trade direction: only ever the idea's own.
        assert set(re.findall(r"\b(long|short)\b", text)) <= {direction}, sentence
        # Regime: only ever the idea's own.
        named = {name for name, words in REGIME_WORDS.items() if re.search(rf"\b{words}\b", text)}
        assert named <= {regime}, sentence
        # Risk levels: only in the risk sentence, and the assessment's own.
        levels = re.findall(r"\b(low|medium|high)\b", text.replace(regime_words(regime), ""))
        if sentence.startswith("Risk is "):
            assert levels == [level], sentence
        else:
            assert levels == [], sentence
        # News direction: the net score's, except where the evidence is counted by label.
        labels = set(re.findall(r"\b(bullish|bearish)\b", text))
        if sentence.startswith("Evidence: "):
            assert f"({c.evidence.count('bullish')} bullish, {c.evidence.count('bearish')} bearish" in sentence
        else:
            assert labels <= {label}, sentence
        # Numbers: each one a formatted input.
        rest = text
        for number in _allowed_numbers(c, blended):
            rest = rest.replace(number, "")
        assert not re.search(r"\d", rest), (sentence, rest)

    why = kinds["Why"]
    verb = "follows" if follow else "fades"
    assert f"{verb} the {label} news and goes {direction}" in why and f"in a {regime_words(regime)} regime" in why
    trend_text = kinds["Trend"]
    if trend == "flat":
        assert "there is no clear trend" in trend_text and f"by {CFG.trend_neutral:g}." in trend_text
    else:
        aligned = (direction == "long") == (trend == "up")
        assert f"the {direction} idea goes {'with' if aligned else 'against'} the {trend}trend" in trend_text
        assert f"by {CFG.trend_aligned if aligned else CFG.trend_against:g}." in trend_text
    steps = dict(c.sizing.steps)
    multiplier = steps["trend adjustment"] / steps["volatility adjustment"]
    assert f"by {multiplier:g}." in trend_text  # the sentence states the step the size really took
    assert kinds["Risk"].startswith(f"Risk is {level} overall (score {LEVELS[level]:.2f} of 1)")
    assert "Volatility is high" not in " ".join(sentences) and "News risk" not in " ".join(sentences)
    assert sentences[0].startswith("Stale market data") == stale
    assert any("never changes sizes" in s for s in sentences) == llm
    top = kinds["Strongest"]
    if calibrated:
        assert f"confidence {c.supporting[0].confidence:.0%} calibrated (raw 90%, platt/top_label #4)" in top
    else:
        assert "confidence 90% (uncalibrated)" in top
    assert f"{direction} ACME over days." in sentences[1 if stale else 0]
    assert sentences[-1] == "Advice for review only; nothing is executed."
    for price in (c.sizing.entry, c.sizing.stop_loss, c.sizing.take_profit):
        assert round(price, 2) == price  # on the tick


def test_the_product_covers_every_regime_direction_and_risk_level() -> None:
    covered = {(r, lab, lvl) for r, lab, lvl, *_ in CASES}
    assert covered == set(itertools.product(REGIMES, ("bullish", "bearish"), LEVELS))
    assert len(CASES) == 11 * 2 * 3 * 8
