"""Portfolio view of approved ideas: exposure, concentration and return correlation.

Correlation uses log returns of closes on the timestamps the two symbols share (so daily
and hourly series still line up where they meet), over the last ``window`` of them.
Two positions whose returns move together in the direction they are held act as one
bigger position; the warnings say so in words.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from engine.market.prices import Bars

MIN_OVERLAP = 20  # fewer shared returns than this and a correlation is noise


@dataclass(frozen=True)
class Position:
    symbol: str
    direction: str  # long | short
    size: float  # fraction of equity, >= 0
    idea_id: int | None = None


@dataclass(frozen=True)
class SymbolExposure:
    symbol: str
    net: float  # signed: long positive, short negative
    gross: float
    share_of_gross: float


@dataclass(frozen=True)
class PairCorrelation:
    a: str
    b: str
    correlation: float | None  # None when the series overlap too little
    overlap: int  # shared returns used


@dataclass(frozen=True)
class PortfolioView:
    positions: tuple[Position, ...]
    gross: float
    net: float
    exposures: tuple[SymbolExposure, ...]  # largest first
    herfindahl: float  # sum of squared gross shares: 1 = everything in one symbol
    correlations: tuple[PairCorrelation, ...]
    warnings: tuple[str, ...]

    def to_dict(self) -> dict:
        return {
            "gross": self.gross, "net": self.net, "herfindahl": self.herfindahl,
            "positions": [p.__dict__ for p in self.positions],
            "exposures": [e.__dict__ for e in self.exposures],
            "correlations": [c.__dict__ for c in self.correlations],
            "warnings": list(self.warnings),
        }


def return_correlation(a: Bars, b: Bars, window: int = 120) -> tuple[float | None, int]:
    shared, ia, ib = np.intersect1d(a.ts, b.ts, assume_unique=True, return_indices=True)
    if len(shared) < MIN_OVERLAP + 1:
        return None, max(0, len(shared) - 1)
    ra = np.diff(np.log(np.asarray(a.close)[ia]))[-window:]
    rb = np.diff(np.log(np.asarray(b.close)[ib]))[-window:]
    if len(ra) < MIN_OVERLAP or np.std(ra) == 0 or np.std(rb) == 0:
        return None, len(ra)
    return float(np.corrcoef(ra, rb)[0, 1]), len(ra)


def portfolio_view(positions: Sequence[Position], bars: Mapping[str, Bars], *, window: int = 120,
                   correlation_warning: float = 0.7, concentration_warning: float = 0.4) -> PortfolioView:
    positions = tuple(positions)
    net_by: dict[str, float] = {}
    gross_by: dict[str, float] = {}
    for p in positions:
        sign = 1.0 if p.direction == "long" else -1.0
        net_by[p.symbol] = net_by.get(p.symbol, 0.0) + sign * p.size
        gross_by[p.symbol] = gross_by.get(p.symbol, 0.0) + p.size
    gross = sum(gross_by.values())
    net = sum(net_by.values())
    exposures = tuple(sorted(
        (SymbolExposure(s, net_by[s], gross_by[s], gross_by[s] / gross if gross else 0.0) for s in gross_by),
        key=lambda e: (-e.gross, e.symbol)))
    herfindahl = sum(e.share_of_gross ** 2 for e in exposures)

    warnings: list[str] = []
    if len(exposures) > 1:
        for e in exposures:
            if e.share_of_gross >= concentration_warning:
                warnings.append(f"{e.symbol} is {e.share_of_gross:.0%} of gross exposure "
                                f"(warning at {concentration_warning:.0%}).")
    symbols = sorted(gross_by)
    pairs: list[PairCorrelation] = []
    for i, a in enumerate(symbols):
        for b in symbols[i + 1:]:
            if a not in bars or b not in bars:
                pairs.append(PairCorrelation(a, b, None, 0))
                continue
            rho, overlap = return_correlation(bars[a], bars[b], window)
            pairs.append(PairCorrelation(a, b, rho, overlap))
            if rho is None or math.isnan(rho):
                continue
            # Same-direction positions in correlated assets add up; opposite ones hedge.
            same_way = (net_by[a] >= 0) == (net_by[b] >= 0)
            effective = rho if same_way else -rho
            if effective >= correlation_warning:
                warnings.append(f"{a} and {b} returns correlate {rho:+.2f} and the positions point "
                                f"{'the same way' if same_way else 'opposite ways'}: they act as one "
                                "position.")
    return PortfolioView(positions, gross, net, exposures, herfindahl, tuple(pairs), tuple(warnings))
