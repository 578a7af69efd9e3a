"""The acceptance rule for a new calibrator (issue 22 item 7): enough outcomes, judged out of fold,
and better than the active view on rows that view was not fitted on.

Outcomes are drawn from known probability models with a seeded generator, so whether a fit
should win is known in advance: a model that says 0.9 but is right 0.6 of the time gains from
calibration; a model that is already calibrated does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.calibration.acceptance import FitRefused, judge_fit
from engine.calibration.calibrators import make_calibrator
from engine.calibration.outcomes import Outcome
from engine.calibration.policy import RefitPolicy
from engine.calibration.service import CalibrationService
from engine.sentiment.base import LABELS
from engine.store import Store


def _rows(n: int, seed: int, honest: bool) -> tuple[np.ndarray, np.ndarray]:
    """Three-class scores and whether the top label was right: honest (right as often as the
    confidence says) or overconfident (right 0.15 + 0.6 * confidence of the time)."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.4, 0.99, n)
    top = rng.integers(0, 3, n)
    probs = np.full((n, 3), 0.0)
    probs[np.arange(n), top] = conf
    for k in range(3):
        probs[:, k] = np.where(top == k, conf, (1 - conf) / 2)
    right = rng.uniform(size=n) < (conf if honest else 0.15 + 0.6 * conf)
    return probs, right


def test_sixty_easy_rows_are_never_enough() -> None:
    probs, right = _rows(60, 1, honest=False)
    right[:] = True  # the "ECE 0.0000" case: every row right
    verdict = judge_fit(probs, right, "isotonic", "top_label", None, min_samples=300)
    assert not verdict.accepted and verdict.reason.startswith("60 outcomes: a calibrator needs at least 300")


def test_a_fit_that_helps_an_overconfident_model_is_accepted_out_of_fold() -> None:
    probs, right = _rows(2000, 2, honest=False)
    verdict = judge_fit(probs, right, "isotonic", "top_label", None, min_samples=300)
    assert verdict.accepted and verdict.compared == 2000
    assert verdict.candidate_brier < verdict.active_brier and verdict.candidate_ece < verdict.active_ece


def test_the_active_calibrator_is_judged_on_rows_it_never_saw() -> None:
    probs, right = _rows(3000, 3, honest=False)
    # A calibrator fitted when the model was still honest: wrong for it now.
    stale = make_calibrator("isotonic", "top_label").fit_correctness(*_top(*_rows(2500, 5, honest=True)))
    verdict = judge_fit(probs, right, "platt", "top_label", stale, min_samples=300, compare_from=2500)
    assert verdict.accepted and verdict.compared == 500, verdict
    assert "better than the active calibrator" in verdict.reason
    noise = judge_fit(*_rows(400, 4, honest=True), "isotonic", "top_label", None, min_samples=300)
    assert not noise.accepted and "not better than the raw confidence" in noise.reason  # calibrated already


def _top(probs: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return probs.max(axis=1), right


def test_the_service_refuses_saves_nothing_and_says_why(tmp_path: Path) -> None:
    probs, right = _rows(400, 4, honest=True)
    outcomes = [Outcome("analyst", "lexicon-fin", "9.0", tuple(map(float, p)), bool(r), None, text=f"row {i}")
                for i, (p, r) in enumerate(zip(probs, right))]
    store = Store(tmp_path / "db.sqlite")
    service = CalibrationService(store, RefitPolicy(every_n=100, min_samples=300), method="isotonic",
                                 scheme="top_label", shipped=None)
    assert service.record(outcomes) == []  # due, tried, refused: already calibrated
    assert service.active("lexicon-fin", "9.0") == (None, None)
    status = service.status("lexicon-fin", "9.0")
    assert not status.refit_due and "the last refit was refused (not better than the raw" in status.explanation
    with pytest.raises(FitRefused, match="not better than the raw confidence"):
        service.refit("lexicon-fin", "9.0")  # the panel's Refit button: the reason, as a ValueError
    assert service.repo.calibrators("lexicon-fin", "9.0") == []
    store.close()
