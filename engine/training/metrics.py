"""Classification metrics shared by training, the model card and tests (numpy + sklearn only)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, n_bins: int = 15) -> float:
    """Top-label ECE with equal-width confidence bins (the usual Guo et al. definition)."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        # Right-closed bins so a confidence of exactly 1.0 lands in the last bin.
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return float(ece)


def classification_report(probs: np.ndarray, y: Sequence[int], labels: Sequence[str]) -> dict[str, Any]:
    """Everything the manifest and model card report for one split and one model."""
    y = np.asarray(y)
    pred = probs.argmax(axis=1)
    idx = list(range(len(labels)))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=idx, zero_division=0)
    return {
        "n": int(len(y)),
        "weighted_f1": round(float(f1_score(y, pred, average="weighted", labels=idx, zero_division=0)), 4),
        "macro_f1": round(float(f1_score(y, pred, average="macro", labels=idx, zero_division=0)), 4),
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "ece_15bin": round(expected_calibration_error(probs, y, 15), 4),
        "per_class": {
            name: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                   "f1": round(float(f[i]), 4), "support": int(s[i])}
            for i, name in enumerate(labels)
        },
        # Rows are true labels, columns predictions, both in LABELS order.
        "confusion_matrix": confusion_matrix(y, pred, labels=idx).tolist(),
    }
