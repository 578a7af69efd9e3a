"""Confidence calibration per model version: metrics, calibrators, outcomes, refit policy.

Why these choices (figures in the issue-7 report; reproduce with ``python -m engine.training.calibrate``):

- Metrics: ECE and MCE over 15 equal-width bins of top-label confidence (the model card's
  ``ece_15bin``), plus the multi-class Brier score, which also sees the non-top probabilities.
- Default calibrator: ``auto`` = the method with the lowest 5-fold out-of-fold ECE on the
  calibration data itself, from isotonic and Platt (top-label or one-vs-rest) and temperature
  scaling. Choosing on the calibration data keeps reporting data out of every decision.
- Top-label (one map from confidence to P(correct)) is the fallback when labelled outcomes
  are scarce: it never changes the predicted label and it learns from bare right/wrong
  verdicts too (analyst "wrong", market direction checks).
- Fitted calibrators are JSON: isotonic thresholds, Platt coefficients, a temperature.

Measured on finsent-minilm-l6 1.0.0, reported on all 2,388 rows of TFNS sent_valid.csv (used
only to report; ``python -m engine.training.calibrate``): raw ECE 0.036. Fitted on the 955-row dev
split alone, ``auto`` picked Platt (top-label) and gave 0.030: 955 rows were too few to choose and
fit reliably. Fitted on all 9,543 train rows, each scored by a model that never trained on it
(5-fold cross-fitted copies of the recipe plus the dev split, ``engine.training.crossfit``),
``auto`` picks isotonic (top-label) and gives 0.018, against 0.015 (p95 0.021) for a perfectly
calibrated model on that many rows. That calibrator ships in the model's manifest and is the
model version's first calibrator until the analyst's own outcomes refit it (``service.py``).
"""

from engine.calibration.calibrators import (
    Calibrator,
    IdentityCalibrator,
    OneVsRestCalibrator,
    TemperatureScaling,
    TopLabelCalibrator,
    calibrator_from_dict,
    fit_calibrator,
    make_calibrator,
)
from engine.calibration.fitting import choose_calibrator, ece_noise_floor, fit_and_report, stratified_halves
from engine.calibration.metrics import (
    CalibrationMetrics,
    ReliabilityBin,
    ReliabilityDiagram,
    brier_score,
    calibration_metrics,
    ece_mce,
    expected_calibration_error,
    maximum_calibration_error,
    reliability_diagram,
)
from engine.calibration.policy import RefitPolicy

__all__ = [
    "Calibrator", "IdentityCalibrator", "OneVsRestCalibrator", "TemperatureScaling", "TopLabelCalibrator",
    "calibrator_from_dict", "fit_calibrator", "make_calibrator", "choose_calibrator", "ece_noise_floor",
    "fit_and_report", "stratified_halves", "CalibrationMetrics", "ReliabilityBin", "ReliabilityDiagram",
    "brier_score", "calibration_metrics", "ece_mce", "expected_calibration_error", "maximum_calibration_error",
    "reliability_diagram", "RefitPolicy",
]
