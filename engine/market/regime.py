"""Market regime from features: crash, high_vol, bull_trend, bear_trend or chop.

Rules are checked in that order, most dangerous first, so a crash is never reported as a
mere bear trend. Thresholds live in :class:`engine.risk.config.RiskConfig`:

- crash: down at least ``crash_drawdown`` from the running peak AND at least
  ``crash_return`` over the last ``return_lookback`` bars (a deep fall that is still moving);
- high_vol: annualised realized vol >= ``high_vol_annual``, or short-window vol at least
  ``high_vol_ratio`` times its long-window baseline (a volatility shock for this asset);
- bull_trend: fast MA >= slow MA * (1 + ``trend_min_gap``) and the close above the slow MA;
- bear_trend: the mirror image;
- chop: anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.market.features import Features
from engine.market.settings import MarketSettings


@dataclass(frozen=True)
class Regime:
    name: str
    reasons: tuple[str, ...]  # plain language, for the idea's rationale and the CLI

    def to_dict(self) -> dict:
        return {"name": self.name, "reasons": list(self.reasons)}


def classify_regime(f: Features, cfg: MarketSettings) -> Regime:
    lookback = cfg.return_lookback
    if f.drawdown <= cfg.crash_drawdown and f.return_lookback <= cfg.crash_return:
        return Regime("crash", (
            f"{-f.drawdown:.0%} below its peak (crash threshold {-cfg.crash_drawdown:.0%})",
            f"down {-f.return_lookback:.0%} over the last {lookback} bars "
            f"(threshold {-cfg.crash_return:.0%})",
        ))
    if f.realized_vol >= cfg.high_vol_annual:
        return Regime("high_vol", (
            f"realized volatility {f.realized_vol:.0%} a year, at or above {cfg.high_vol_annual:.0%}",
        ))
    if f.vol_ratio >= cfg.high_vol_ratio:
        return Regime("high_vol", (
            f"recent volatility {f.realized_vol:.0%} is {f.vol_ratio:.1f}x its longer-run "
            f"{f.realized_vol_long:.0%} (threshold {cfg.high_vol_ratio:.1f}x)",
        ))
    gap = f"fast MA {f.ma_gap:+.1%} vs slow MA"
    if f.ma_gap >= cfg.trend_min_gap and f.close >= f.ma_slow:
        return Regime("bull_trend", (f"{gap} (trend threshold {cfg.trend_min_gap:.0%})",
                                     "close above the slow MA"))
    if f.ma_gap <= -cfg.trend_min_gap and f.close <= f.ma_slow:
        return Regime("bear_trend", (f"{gap} (trend threshold {cfg.trend_min_gap:.0%})",
                                     "close below the slow MA"))
    return Regime("chop", (f"no clear trend: {gap}, inside the ±{cfg.trend_min_gap:.0%} band "
                           "or the close disagrees with it",))
