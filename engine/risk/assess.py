"""Risk score in [0, 1] from four weighted components, each with a plain-language factor.

- volatility: annualised realized vol placed between ``vol_low`` (0) and ``vol_high`` (1);
- liquidity: median dollar volume on a log scale between ``liquidity_deep_dollar_volume``
  (0) and ``liquidity_thin_dollar_volume`` (1), worse when today's volume is unusually thin;
- regime: a fixed score per regime (:data:`REGIME_RISK`);
- news: how strong the strongest recent headline is (gap risk, either direction) and how
  much recent headlines disagree.

The score is the weighted mean; the level is low / medium / high at the config's cut-offs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from engine.market.features import Features
from engine.market.regime import Regime
from engine.risk.config import RiskConfig
from engine.types import Signal
from engine.wording import plural

# Calm trends are the least risky place to be, crashes the most.
REGIME_RISK = {"bull_trend": 0.2, "chop": 0.4, "bear_trend": 0.6, "high_vol": 0.8, "crash": 1.0}
# Without volume we cannot judge liquidity; without news, event risk is merely unobserved.
UNKNOWN_LIQUIDITY = 0.5
NO_NEWS = 0.25


@dataclass(frozen=True)
class RiskComponent:
    name: str
    score: float  # 0 (benign) .. 1 (dangerous)
    weight: float
    factor: str

    def to_dict(self) -> dict:
        return {"name": self.name, "score": self.score, "weight": self.weight, "factor": self.factor}


@dataclass(frozen=True)
class RiskAssessment:
    score: float
    level: str  # low | medium | high
    components: tuple[RiskComponent, ...]

    @property
    def factors(self) -> tuple[str, ...]:
        """Component factors, the ones pushing the score up the most first."""
        ranked = sorted(self.components, key=lambda c: -c.score * c.weight)
        return tuple(c.factor for c in ranked)

    def to_dict(self) -> dict:
        return {"level": self.level, "score": self.score, "factors": list(self.factors),
                "components": [c.to_dict() for c in self.components]}


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def _word(score: float) -> str:
    return "low" if score < 1 / 3 else ("elevated" if score < 2 / 3 else "high")


def volatility_component(f: Features, cfg: RiskConfig) -> RiskComponent:
    score = _clip01((f.realized_vol - cfg.vol_low) / (cfg.vol_high - cfg.vol_low))
    factor = (f"Volatility is {_word(score)}: {f.realized_vol:.0%} a year over {cfg.vol_window} bars; "
              f"a typical bar's range (ATR) is {f.atr_pct:.1%} of the price.")
    return RiskComponent("volatility", score, cfg.weight_volatility, factor)


def liquidity_component(f: Features, cfg: RiskConfig) -> RiskComponent:
    if f.dollar_volume is None or f.dollar_volume <= 0:
        return RiskComponent("liquidity", UNKNOWN_LIQUIDITY, cfg.weight_liquidity,
                             "Liquidity is unknown: the price file has no volume.")
    thin, deep = math.log(cfg.liquidity_thin_dollar_volume), math.log(cfg.liquidity_deep_dollar_volume)
    score = _clip01((deep - math.log(f.dollar_volume)) / (deep - thin))
    factor = f"Liquidity risk is {_word(score)}: about {_money(f.dollar_volume)} changes hands a day."
    if f.volume_z is not None and f.volume_z <= -2:
        score = _clip01(score + 0.15)
        factor += f" The latest volume is unusually thin ({f.volume_z:+.1f} standard deviations)."
    elif f.volume_z is not None and f.volume_z >= 3:
        factor += f" The latest volume is a spike ({f.volume_z:+.1f} standard deviations): news is moving it."
    return RiskComponent("liquidity", score, cfg.weight_liquidity, factor)


def regime_component(regime: Regime, cfg: RiskConfig) -> RiskComponent:
    score = REGIME_RISK[regime.name]
    factor = f"Regime is {regime.name.replace('_', ' ')}: {'; '.join(regime.reasons)}."
    return RiskComponent("regime", score, cfg.weight_regime, factor)


def news_component(symbol: str, news: Sequence[Signal], cfg: RiskConfig) -> RiskComponent:
    if not news:
        return RiskComponent("news", NO_NEWS, cfg.weight_news, f"No recent news on {symbol} in the desk.")
    strongest = max(news, key=lambda s: abs(s.compound))
    intensity = _clip01(abs(strongest.compound))
    bullish = sum(1 for s in news if s.label == "bullish")
    bearish = sum(1 for s in news if s.label == "bearish")
    directional = bullish + bearish
    disagreement = 2 * min(bullish, bearish) / directional if directional else 0.0
    score = _clip01(0.6 * intensity + 0.4 * disagreement)
    factor = (f"News risk is {_word(score)}: {plural(len(news), 'recent item')} on {symbol}; the strongest is "
              f"{strongest.label} (compound {strongest.compound:+.2f}).")
    if disagreement > 0:
        factor += f" Headlines disagree ({bullish} bullish, {bearish} bearish)."
    return RiskComponent("news", score, cfg.weight_news, factor)


def risk_level(score: float, cfg: RiskConfig) -> str:
    if score >= cfg.level_high:
        return "high"
    return "medium" if score >= cfg.level_medium else "low"


def assess_risk(features: Features, regime: Regime, cfg: RiskConfig,
                news: Sequence[Signal] = ()) -> RiskAssessment:
    components = (
        volatility_component(features, cfg),
        liquidity_component(features, cfg),
        regime_component(regime, cfg),
        news_component(features.symbol, news, cfg),
    )
    total = sum(c.weight for c in components)
    score = _clip01(sum(c.score * c.weight for c in components) / total)
    return RiskAssessment(score, risk_level(score, cfg), components)


def _money(value: float) -> str:
    for unit, size in (("bn", 1e9), ("m", 1e6), ("k", 1e3)):
        if value >= size:
            return f"${value / size:,.1f}{unit}"
    return f"${value:,.0f}"
