"""Calibration metrics: ECE, MCE, multi-class Brier score and reliability-diagram data.

Definitions (the same as the model card's ``ece_15bin`` so figures are comparable):

- Binning is over the *top-label confidence* ``max_k p_k`` with ``n_bins`` (default 15)
  equal-width bins on [0, 1]. Bins are right-closed, ``(lo, hi]``, so a confidence of exactly
  1.0 lands in the last bin; a confidence of exactly 0 (only possible for degenerate inputs)
  is put in the first bin.
- Per bin: ``acc`` = share of items whose arg-max is the true label, ``conf`` = mean top-label
  confidence. ``ECE = sum_b (n_b / n) * |acc_b - conf_b|``; ``MCE = max_b |acc_b - conf_b|``
  over non-empty bins.
- Brier (multi-class) = mean over items of ``sum_k (p_k - 1[y == k])^2``; 0 is perfect, 2 is
  the worst possible. It scores all three probabilities, not only the top one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

DEFAULT_BINS = 15


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    mean_confidence: float  # nan when the bin is empty
    accuracy: float  # nan when the bin is empty

    @property
    def gap(self) -> float:
        return abs(self.accuracy - self.mean_confidence) if self.count else 0.0


@dataclass(frozen=True)
class ReliabilityDiagram:
    """What a reliability chart draws: one bar per bin, plus the diagonal and a count histogram."""

    bins: tuple[ReliabilityBin, ...]
    n: int

    def to_dict(self) -> dict:
        return {"n": self.n, "bins": [
            {"lo": b.lo, "hi": b.hi, "count": b.count,
             "mean_confidence": None if b.count == 0 else b.mean_confidence,
             "accuracy": None if b.count == 0 else b.accuracy} for b in self.bins]}


@dataclass(frozen=True)
class CalibrationMetrics:
    n: int
    ece: float
    mce: float
    brier: float
    accuracy: float

    def to_dict(self, digits: int = 4) -> dict:
        return {"n": self.n, "ece": round(self.ece, digits), "mce": round(self.mce, digits),
                "brier": round(self.brier, digits), "accuracy": round(self.accuracy, digits)}


def _check(probs: np.ndarray | Sequence, y: np.ndarray | Sequence) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(probs, dtype=np.float64)
    t = np.asarray(y, dtype=np.int64)
    if p.ndim != 2 or p.shape[0] != t.shape[0]:
        raise ValueError(f"probs must be (n, k) and y (n,), got {p.shape} and {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= p.shape[1]):
        raise ValueError("labels must be class indices in [0, k)")
    return p, t


def reliability_diagram(probs, y, n_bins: int = DEFAULT_BINS) -> ReliabilityDiagram:
    p, t = _check(probs, y)
    conf = p.max(axis=1) if p.size else np.zeros(0)
    correct = (p.argmax(axis=1) == t).astype(np.float64) if p.size else np.zeros(0)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # Right-closed bins (lo, hi] against the same edges as engine.training.metrics, so a
    # confidence sitting exactly on an edge goes where it goes there; 0 folds into bin 0.
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = idx == b
        count = int(mask.sum())
        bins.append(ReliabilityBin(
            lo=float(edges[b]), hi=float(edges[b + 1]), count=count,
            mean_confidence=float(conf[mask].mean()) if count else float("nan"),
            accuracy=float(correct[mask].mean()) if count else float("nan")))
    return ReliabilityDiagram(tuple(bins), int(t.shape[0]))


def ece_mce(probs, y, n_bins: int = DEFAULT_BINS) -> tuple[float, float]:
    diagram = reliability_diagram(probs, y, n_bins)
    if diagram.n == 0:
        return 0.0, 0.0
    ece = sum(b.count / diagram.n * b.gap for b in diagram.bins)
    mce = max(b.gap for b in diagram.bins if b.count)
    return float(ece), float(mce)


def expected_calibration_error(probs, y, n_bins: int = DEFAULT_BINS) -> float:
    return ece_mce(probs, y, n_bins)[0]


def maximum_calibration_error(probs, y, n_bins: int = DEFAULT_BINS) -> float:
    return ece_mce(probs, y, n_bins)[1]


def brier_score(probs, y) -> float:
    p, t = _check(probs, y)
    if not len(t):
        return 0.0
    onehot = np.zeros_like(p)
    onehot[np.arange(len(t)), t] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def calibration_metrics(probs, y, n_bins: int = DEFAULT_BINS) -> CalibrationMetrics:
    p, t = _check(probs, y)
    ece, mce = ece_mce(p, t, n_bins)
    acc = float((p.argmax(axis=1) == t).mean()) if len(t) else 0.0
    return CalibrationMetrics(n=int(len(t)), ece=ece, mce=mce, brier=brier_score(p, t), accuracy=acc)
