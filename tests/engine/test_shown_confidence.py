"""Calibration never rewrites history (issue 20 item 8).

A real engine (the lexicon model) on a real SQLite file: a signal keeps the confidence it was
shown with when scored, through a later accepted refit and a restart, with the current
calibrated view beside it; a worse fit never replaces the active calibrator unless an operator
confirms it, and every verdict and override is in the calibration audit.

Outcomes are drawn from known probability models (seeded), so whether a fit should win is known.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from engine.calibration.acceptance import FitRefused
from engine.calibration.outcomes import Outcome
from engine.config import Config
from engine.engine import Engine

HEADLINES = ["Tesla shares jump after record deliveries beat estimates",
             "Fed leaves rates unchanged and signals patience"]


def _outcomes(model_id: str, version: str, n: int, seed: int, right_rate) -> list[Outcome]:
    """Three-class scores whose top label is right ``right_rate(conf)`` of the time."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0.4, 0.99, n)
    top = rng.integers(0, 3, n)
    probs = np.stack([np.where(top == k, conf, (1 - conf) / 2) for k in range(3)], axis=1)
    right = rng.uniform(size=n) < right_rate(conf)
    return [Outcome("analyst", model_id, version, tuple(map(float, p)), bool(r), None, text=f"{seed}-{i}")
            for i, (p, r) in enumerate(zip(probs, right))]


def _reread(engine: Engine, ids: list[int]):
    return engine.with_calibration([engine.store.get_signal(i) for i in ids])


def test_shown_confidence_survives_refits_and_a_restart_and_worse_fits_need_an_operator(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = Engine(Config(sentiment_model="lexicon"), data)
    try:
        status = engine.sentiment_status
        mid, ver = status.model_id, status.version
        cal = engine.calibration
        # An overconfident model: the first fit beats the raw confidence and becomes active.
        cal.record(_outcomes(mid, ver, 400, 1, lambda c: 0.15 + 0.6 * c), refit=False)
        first = cal.refit(mid, ver, "isotonic", "top_label")
        assert first is not None

        shown = engine.analyze_batch(HEADLINES)  # stored, with the view they were shown with
        ids = [s.id for s in shown]
        for s in shown:
            assert s.first_shown is not None and s.first_shown.calibrator == first.label
            assert s.first_shown.confidence == pytest.approx(s.calibrated_confidence)
            assert not s.view_changed

        # A fit that is not better (the same method on the same outcomes): refused, the active one stays.
        with pytest.raises(FitRefused) as refused:
            cal.refit(mid, ver, "isotonic", "top_label")
        verdict = refused.value.verdict
        assert verdict.candidate_brier >= verdict.active_brier
        assert verdict.active_diagram.n == verdict.candidate_diagram.n == verdict.compared > 0
        assert cal.active(mid, ver)[0].id == first.id
        assert [s.first_shown for s in _reread(engine, ids)] == [s.first_shown for s in shown]

        # The model got worse: a new fit is better out of fold and becomes active for new signals.
        cal.record(_outcomes(mid, ver, 400, 3, lambda c: 0.05 + 0.35 * c), refit=False)
        second = cal.refit(mid, ver, "isotonic", "top_label")
        assert second is not None and second.id != first.id
        now = _reread(engine, ids)
        for before, after in zip(shown, now):
            assert after.first_shown == before.first_shown  # what was shown stays what was shown
            assert after.calibrator == second.label and after.view_changed
            assert after.calibrated_confidence != pytest.approx(before.first_shown.confidence)
            assert after.recorded_confidence == before.first_shown.confidence

        # An operator who saw both diagrams may still make a refused fit active: audited by name.
        with pytest.raises(FitRefused):
            cal.refit(mid, ver, "isotonic", "top_label")
        third = cal.refit(mid, ver, "isotonic", "top_label", confirmed_by="ops-anna")
        assert cal.active(mid, ver)[0].id == third.id and third.metrics["confirmed"]["by"] == "ops-anna"
        trail = [(e["action"], e["who"], e["calibrator_id"]) for e in cal.repo.audit_entries(mid)]
        assert trail[-2:] == [("refused", "ops-anna", None), ("confirmed", "ops-anna", third.id)]
        assert [a for a, _, _ in trail] == ["accepted", "refused", "accepted", "refused", "refused", "confirmed"]
        assert trail[-1][2] == third.id and "figures" in cal.repo.audit_entries(mid)[-1]
    finally:
        engine.close()

    # Restarted on the same file: the shown values are read back unchanged, beside the current view.
    engine = Engine(Config(sentiment_model="lexicon"), data)
    try:
        again = _reread(engine, ids)
        assert [s.first_shown for s in again] == [s.first_shown for s in shown]
        assert all(s.calibrator == third.label and s.view_changed for s in again)
        with pytest.raises(sqlite3.DatabaseError, match="never rewritten"):
            engine.store.execute("UPDATE signal_shown SET confidence = 0.99 WHERE signal_id = ?", (ids[0],))
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            engine.store.execute("UPDATE calibration_audit SET who = 'x'")
    finally:
        engine.close()
