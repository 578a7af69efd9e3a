"""Strategy routing by regime: follow the news, or fade a move the news has stretched.

- bull_trend, high_vol, crash -> ``follow_news``: trade in the news direction; in these
  regimes moves tend to continue, and in a crash fighting the tape is how desks get hurt.
- chop, bear_trend -> ``fade_stretched_move``: if price already ran far in the news direction
  (``stretch_atr`` ATRs beyond the fast MA, or RSI past ``stretch_rsi_high``/``_low``), trade
  the snap-back; if it did not, there is nothing to fade and no idea is proposed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.market.features import Features
from engine.risk.config import RiskConfig

FOLLOW_REGIMES = frozenset({"bull_trend", "high_vol", "crash"})
FADE_REGIMES = frozenset({"chop", "bear_trend"})
STRATEGY_TITLES = {"follow_news": "Follow the news", "fade_stretched_move": "Fade the stretched move"}
REGIME_WORDS = {"bull_trend": "bull trend", "bear_trend": "bear trend", "high_vol": "high volatility",
                "crash": "crash", "chop": "chop"}


def regime_words(regime: str) -> str:
    return REGIME_WORDS.get(regime, regime.replace("_", " "))


@dataclass(frozen=True)
class Route:
    strategy: str  # follow_news | fade_stretched_move
    direction: str  # long | short
    reason: str

    @property
    def title(self) -> str:
        return STRATEGY_TITLES[self.strategy]

    def to_dict(self) -> dict:
        return asdict(self)


class NoRoute(ValueError):
    """No strategy applies; the message says why, for the skipped list."""


def route(regime: str, news_label: str, f: Features, cfg: RiskConfig) -> Route:
    if news_label not in ("bullish", "bearish"):
        raise NoRoute(f"{news_label} news has no direction to trade")
    up = news_label == "bullish"
    if regime in FOLLOW_REGIMES:
        direction = "long" if up else "short"
        # Says what the rule does, nothing more: whether the trade points with the trend is the
        # sizing's trend step, stated separately (a bearish follow in a bull trend is against it).
        return Route("follow_news", direction,
                     f"in a {regime_words(regime)} regime, price moves that news sets off tend to carry on, "
                     f"so the idea follows the {news_label} news and goes {direction}")
    if regime not in FADE_REGIMES:
        raise NoRoute(f"no strategy for regime {regime!r}")
    if up:
        stretched = f.stretch_atr >= cfg.stretch_atr or f.rsi >= cfg.stretch_rsi_high
    else:
        stretched = f.stretch_atr <= -cfg.stretch_atr or f.rsi <= cfg.stretch_rsi_low
    where = f"{f.stretch_atr:+.1f} ATR from the fast MA, RSI {f.rsi:.0f}"
    if not stretched:
        raise NoRoute(f"{regime}: the move is not stretched {'up' if up else 'down'} ({where}); "
                      "nothing to fade")
    direction = "short" if up else "long"
    return Route("fade_stretched_move", direction,
                 f"in a {regime_words(regime)} regime stretched moves tend to revert; price ran "
                 f"{'up' if up else 'down'} ({where}), so the idea fades the {news_label} news and goes {direction}")
