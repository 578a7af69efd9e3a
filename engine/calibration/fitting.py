"""Fitting a calibrator and choosing its method, using only the calibration data itself.

The method is chosen by stratified k-fold cross-validation *inside* the calibration set
(out-of-fold ECE, Brier as tie-break), so no reporting data is looked at to pick it.
Splits for the CLI (calibrate on one part of a file, report on the other) live here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from engine.calibration.calibrators import Calibrator, fit_calibrator
from engine.calibration.metrics import DEFAULT_BINS, CalibrationMetrics, calibration_metrics

# (method, scheme) pairs tried by ``choose_calibrator``; isotonic one-vs-rest first because it
# was the best on our own held-out measurements (see engine/calibration/__init__.py).
CANDIDATES: tuple[tuple[str, str], ...] = (
    ("isotonic", "one_vs_rest"),
    ("isotonic", "top_label"),
    ("platt", "top_label"),
    ("platt", "one_vs_rest"),
    ("temperature", "multiclass"),
)


@dataclass(frozen=True)
class FitReport:
    """A fitted calibrator with before/after figures on data it was *not* fitted on."""

    calibrator: Calibrator
    n_fit: int
    before: CalibrationMetrics  # held-out, raw probabilities
    after: CalibrationMetrics  # held-out, calibrated probabilities
    cv: dict[str, float] = field(default_factory=dict)  # candidate name -> out-of-fold ECE

    def metrics_dict(self) -> dict:
        return {"n_fit": self.n_fit, "holdout": {"before": self.before.to_dict(), "after": self.after.to_dict()},
                "cv_ece": {k: round(v, 4) for k, v in self.cv.items()}}


def stratified_halves(y: Sequence[int], fit_fraction: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded, stratified split of row indices into (fit, report); both sorted.

    Falls back to an unstratified split when some class has fewer than two rows.
    """
    from sklearn.model_selection import train_test_split

    y = np.asarray(y)
    idx = np.arange(len(y))
    counts = np.bincount(y) if len(y) else np.array([])
    stratify = y if len(y) and counts[counts > 0].min() >= 2 else None
    fit_idx, rep_idx = train_test_split(idx, train_size=fit_fraction, random_state=seed, stratify=stratify)
    return np.sort(fit_idx), np.sort(rep_idx)


def out_of_fold(probs, y, method: str, scheme: str, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Calibrated probabilities where each row comes from a calibrator that never saw it."""
    from sklearn.model_selection import StratifiedKFold

    p = np.asarray(probs, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    out = np.empty_like(p)
    counts = np.bincount(y, minlength=p.shape[1])
    folds = max(2, min(folds, int(counts[counts > 0].min()))) if len(y) else 2
    for tr, te in StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(p, y):
        out[te] = fit_calibrator(p[tr], y[tr], method, scheme).transform(p[te])
    return out


def choose_calibrator(probs, y, candidates: Sequence[tuple[str, str]] = CANDIDATES, folds: int = 5,
                      seed: int = 0, n_bins: int = DEFAULT_BINS) -> tuple[str, str, dict[str, float]]:
    """Pick (method, scheme) by out-of-fold ECE on the calibration data; Brier breaks ties."""
    scores: dict[str, tuple[float, float]] = {}
    for method, scheme in candidates:
        oof = out_of_fold(probs, y, method, scheme, folds, seed)
        m = calibration_metrics(oof, y, n_bins)
        scores[f"{method}/{scheme}"] = (round(m.ece, 4), m.brier)
    best = min(scores, key=lambda k: scores[k])
    method, scheme = best.split("/")
    return method, scheme, {k: v[0] for k, v in scores.items()}


def fit_and_report(fit_probs, fit_y, report_probs, report_y, method: str = "auto", scheme: str | None = None,
                   n_bins: int = DEFAULT_BINS) -> FitReport:
    """Fit on one set, measure before/after on another. ``method='auto'`` cross-validates the choice."""
    cv: dict[str, float] = {}
    if method == "auto":
        method, scheme, cv = choose_calibrator(fit_probs, fit_y, n_bins=n_bins)
    cal = fit_calibrator(fit_probs, fit_y, method, scheme)
    return FitReport(
        calibrator=cal, n_fit=int(len(fit_y)),
        before=calibration_metrics(report_probs, report_y, n_bins),
        after=calibration_metrics(cal.transform(report_probs), report_y, n_bins),
        cv=cv)


def ece_noise_floor(probs, n_bins: int = DEFAULT_BINS, reps: int = 200, seed: int = 0) -> tuple[float, float]:
    """Mean and 95th percentile of the ECE a *perfectly* calibrated model would show on this
    many items with these confidences (labels drawn as Bernoulli(confidence)).

    Binned ECE is biased upwards on finite samples; a measured ECE inside this range is
    indistinguishable from perfect calibration, which is what a 0.02 target must be read against.
    """
    p = np.asarray(probs, dtype=np.float64)
    if not len(p):
        return 0.0, 0.0
    rng = np.random.default_rng(seed)
    top = p.argmax(axis=1)
    conf = p.max(axis=1)
    eces = []
    for _ in range(reps):
        right = rng.random(len(conf)) < conf
        y = np.where(right, top, (top + 1) % p.shape[1])
        eces.append(calibration_metrics(p, y, n_bins).ece)
    return float(np.mean(eces)), float(np.percentile(eces, 95))
