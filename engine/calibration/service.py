"""Calibration as the engine uses it: apply the active calibrator, record outcomes, refit.

A calibrator belongs to exactly one model id + version; a signal from any other version is
shown uncalibrated until that version has its own. A shipped model may carry a calibrator in
its manifest (fitted on held-out data when the model was built): it is stored as that version's
first calibrator (source ``shipped``) and serves until the analyst's own outcomes refit it.
Raw probabilities are never overwritten: ``CalibratedSignal`` carries the stored signal
untouched next to the calibrated view.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from engine.calibration.acceptance import FitRefused, FitVerdict, judge_fit
from engine.calibration.calibrators import Calibrator, calibrator_from_dict, make_calibrator
from engine.calibration.fitting import choose_calibrator, out_of_fold
from engine.calibration.labelled import LabelledEvaluation
from engine.calibration.metrics import (
    DEFAULT_BINS,
    CalibrationMetrics,
    ReliabilityDiagram,
    calibration_metrics,
    reliability_diagram,
)
from engine.calibration.outcomes import Outcome, analyst_outcome, labelled_outcomes
from engine.calibration.policy import RefitPolicy
from engine.calibration.repository import CalibrationRepository, StoredCalibrator
from engine.sentiment.base import LABELS
from engine.store import Store, shown_confidences
from engine.types import Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibratedSignal:
    """What a table row shows: the calibrated view, with the raw signal kept alongside."""

    signal: Signal  # exactly as stored: raw probabilities and confidence
    label: str
    probs: tuple[float, float, float]
    confidence: float
    calibrator: str = ""  # e.g. "isotonic/top_label #3"; empty when uncalibrated
    calibrator_id: int | None = None

    @property
    def raw_confidence(self) -> float:
        return self.signal.confidence

    @property
    def calibrated(self) -> bool:
        return self.calibrator_id is not None


def calibrate_probs(probs, calibrator: Calibrator | None) -> np.ndarray:
    """Apply a calibrator (or none) to an (n, 3) array; the input array is not modified."""
    p = np.asarray(probs, dtype=np.float64)
    return p.copy() if calibrator is None else calibrator.transform(p)


def calibrate_signals(signals: Sequence[Signal], calibrator: Calibrator | None,
                      stored: StoredCalibrator | None = None) -> list[CalibratedSignal]:
    if not signals:
        return []
    q = calibrate_probs([s.probs for s in signals], calibrator)
    out = []
    for sig, row in zip(signals, q):
        best = int(np.argmax(row))
        out.append(CalibratedSignal(sig, LABELS[best], (float(row[0]), float(row[1]), float(row[2])),
                                    float(row[best]), stored.label if stored else "",
                                    stored.id if stored else None))
    return out


@dataclass(frozen=True)
class CalibrationStatus:
    model_id: str
    model_version: str
    outcomes: int
    by_source: dict[str, int]
    active: StoredCalibrator | None
    refit_due: bool
    next_refit_at: int
    explanation: str


@dataclass(frozen=True)
class OutcomeReport:
    """Before/after figures and reliability data for one model version and a set of sources."""

    model_id: str
    model_version: str
    sources: tuple[str, ...]
    before: CalibrationMetrics
    after: CalibrationMetrics
    before_diagram: ReliabilityDiagram
    after_diagram: ReliabilityDiagram
    calibrator: str = ""
    in_sample: bool = False  # True when the calibrator was fitted on these very outcomes
    extra: dict[str, Any] = field(default_factory=dict)


def shipped_calibration(model_id: str, model_version: str) -> dict[str, Any] | None:
    """The calibration record a shipped model's manifest carries for exactly this version, if any.

    Written by ``python -m engine.training.calibrate --update-artifact`` as ``calibration.shipped``:
    ``{"calibrator": <calibrator JSON>, "n_fit": ..., "fit_set": ..., ...}``.
    """
    from engine.resources import models_dir

    if not model_id or Path(model_id).name != model_id:  # ids come from stored rows: no paths
        return None
    path = models_dir() / model_id / "manifest.json"
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("version") != model_version:
        return None
    return (manifest.get("calibration") or {}).get("shipped")


class CalibrationService:
    def __init__(self, store: Store, policy: RefitPolicy | None = None, method: str = "auto",
                 scheme: str | None = None, sources: Sequence[str] | None = None, n_bins: int = DEFAULT_BINS,
                 shipped: Callable[[str, str], dict[str, Any] | None] | None = shipped_calibration) -> None:
        self.repo = CalibrationRepository(store)
        # (model_id, version) -> the model's shipped calibration record, or None (None here: never look)
        self._shipped = shipped
        self.policy = policy or RefitPolicy()
        self.method = method
        self.scheme = scheme
        self.sources = tuple(sources) if sources else None  # None: learn from every source
        self.n_bins = n_bins
        self._cache: dict[tuple[str, str], tuple[StoredCalibrator | None, Calibrator | None]] = {}
        self._lock = threading.Lock()
        # (model_id, version) -> (outcome count, verdict) of the last refit refused by the
        # acceptance rule: the policy waits every_n more outcomes before trying again.
        self._refused: dict[tuple[str, str], tuple[int, FitVerdict]] = {}

    # --- applying ----------------------------------------------------------------------------
    def active(self, model_id: str, model_version: str) -> tuple[StoredCalibrator | None, Calibrator | None]:
        key = (model_id, model_version)
        with self._lock:
            if key not in self._cache:
                stored = self.repo.active_calibrator(model_id, model_version)
                if stored is None:
                    stored = self._store_shipped(model_id, model_version)
                cal = None
                if stored is not None:
                    try:
                        cal = stored.load()
                    except (ValueError, KeyError) as exc:  # a bad row must not break scoring
                        log.error("calibrator #%s for %s %s unreadable (%s); showing raw confidence",
                                  stored.id, model_id, model_version, exc)
                        stored = None
                self._cache[key] = (stored, cal)
            return self._cache[key]

    def _store_shipped(self, model_id: str, model_version: str) -> StoredCalibrator | None:
        """Store the model's shipped calibrator as this version's first one (None when it has none)."""
        if self._shipped is None:
            return None
        try:
            record = self._shipped(model_id, model_version)
            if not record:
                return None
            cal = calibrator_from_dict(record["calibrator"])
        except (OSError, ValueError, KeyError, TypeError) as exc:  # a bad manifest must not break scoring
            log.error("shipped calibrator of %s %s unreadable (%s); showing raw confidence", model_id, model_version, exc)
            return None
        # No "outcomes_at_fit": the analyst's first own fit is due at the policy's minimum, as if none existed.
        metrics = {"shipped": {k: v for k, v in record.items() if k != "calibrator"}}
        saved = self.repo.save_calibrator(model_id, model_version, cal, int(record.get("n_fit", 0)), metrics,
                                          ["shipped"])
        log.info("calibration %s %s: using the shipped %s", model_id, model_version, saved.label)
        return saved

    def calibrate(self, signals: Sequence[Signal]) -> list[CalibratedSignal]:
        """Calibrated views in input order; each signal uses its own model version's calibrator."""
        out: list[CalibratedSignal | None] = [None] * len(signals)
        groups: dict[tuple[str, str], list[int]] = {}
        for i, s in enumerate(signals):
            groups.setdefault((s.model_id, s.model_version), []).append(i)
        for (mid, ver), idx in groups.items():
            stored, cal = self.active(mid, ver)
            for i, view in zip(idx, calibrate_signals([signals[i] for i in idx], cal, stored)):
                out[i] = view
        return out  # type: ignore[return-value]

    def attach(self, signals: Sequence[Signal]) -> list[Signal]:
        """The signals with their model version's current calibrated view attached, and what each
        stored one was first shown with (``first_shown``, never rewritten); raw fields stay as stored."""
        if not signals:
            return list(signals)
        viewed = [replace(s, calibrated_probs=v.probs, calibrated_confidence=v.confidence, calibrator=v.calibrator)
                  if v.calibrator else s for s, v in zip(signals, self.calibrate(signals))]
        missing = [s.id for s in viewed if s.id is not None and s.first_shown is None]
        if not missing:
            return viewed
        shown = shown_confidences(self.repo.store, missing)
        return [replace(s, first_shown=shown[s.id]) if s.first_shown is None and s.id in shown else s
                for s in viewed]

    # --- recording -----------------------------------------------------------------------
    def record(self, outcomes: Sequence[Outcome], refit: bool = True) -> list[StoredCalibrator]:
        """Store outcomes; refit each affected model version whose policy says so."""
        self.repo.add_outcomes(outcomes)
        return self._refit_affected(outcomes) if refit else []

    def record_feedback(self, signal_id: int, *, right: bool | None = None, label: str | None = None,
                        analyst: str = "", note: str = "", refit: bool = True) -> Outcome:
        signal = self.repo.signal(signal_id)
        if signal is None:
            raise KeyError(f"no stored signal with id {signal_id}")
        outcome = analyst_outcome(signal, right=right, label=label, analyst=analyst, note=note)
        self.record([outcome], refit=refit)
        return outcome

    def record_labelled(self, evaluation: LabelledEvaluation, origin: str, refit: bool = True) -> list[StoredCalibrator]:
        """Outcomes from a labelled-file evaluation; re-evaluating the same file replaces its rows."""
        outcomes = labelled_outcomes(evaluation, origin)
        self.repo.replace_origin("labelled_file", origin, evaluation.model_id, evaluation.model_version, outcomes)
        return self._refit_affected(outcomes) if refit else []

    def _refit_affected(self, outcomes: Sequence[Outcome]) -> list[StoredCalibrator]:
        fitted = []
        for mid, ver in sorted({(o.model_id, o.model_version) for o in outcomes}):
            result = self.maybe_refit(mid, ver)
            if result is not None:
                fitted.append(result)
        return fitted

    # --- fitting -------------------------------------------------------------------------
    def _count(self, model_id: str, model_version: str) -> int:
        return self.repo.count_outcomes(model_id, model_version, self.sources)

    def _last_attempt(self, model_id: str, model_version: str, stored: StoredCalibrator | None) -> int | None:
        """Outcomes at the last fit, or at the last refused one if that came later."""
        last = stored.metrics.get("outcomes_at_fit") if stored else None
        refused = self._refused.get((model_id, model_version))
        return max(last or 0, refused[0]) if refused else last

    def status(self, model_id: str, model_version: str) -> CalibrationStatus:
        stored, _ = self.active(model_id, model_version)
        n = self._count(model_id, model_version)
        last = self._last_attempt(model_id, model_version, stored)
        by_source = {src: c for (mid, ver, src), c in self.repo.outcome_counts().items()
                     if mid == model_id and ver == model_version}
        explanation = self.policy.explain(n, last)
        verdict = self.last_refusal(model_id, model_version)
        if verdict is not None:
            explanation += f"; the last refit was refused ({verdict.reason})"
        return CalibrationStatus(model_id, model_version, n, by_source, stored, self.policy.due(n, last),
                                 self.policy.next_at(n, last), explanation)

    def last_refusal(self, model_id: str, model_version: str) -> FitVerdict | None:
        """Why the last refit of this version was not saved (None when none was refused)."""
        refused = self._refused.get((model_id, model_version))
        return refused[1] if refused else None

    def maybe_refit(self, model_id: str, model_version: str) -> StoredCalibrator | None:
        """The policy's automatic refit: None when not due, too few outcomes, or refused."""
        stored, _ = self.active(model_id, model_version)
        if not self.policy.due(self._count(model_id, model_version), self._last_attempt(model_id, model_version, stored)):
            return None
        try:
            return self.refit(model_id, model_version)
        except FitRefused:
            return None  # recorded by refit; tried again after every_n more outcomes

    def refit(self, model_id: str, model_version: str, method: str | None = None,
              scheme: str | None = None, *, confirmed_by: str = "") -> StoredCalibrator | None:
        """Fit from this version's outcomes and make it active; None when there are too few.
        Raises FitRefused (a ValueError saying why) when the fit is not better, out of fold, than
        the active view (engine/calibration/acceptance.py); the active calibrator then stays.

        ``confirmed_by``: an operator who saw both reliability diagrams (the verdict carries them)
        and makes a refused fit active anyway; audited as ``confirmed`` with their name and figures."""
        outcomes = self.repo.outcomes(model_id, model_version, self.sources)
        if len(outcomes) < self.policy.min_samples:
            return None
        method = method or self.method
        scheme = scheme or self.scheme
        labelled = [o for o in outcomes if o.label is not None]
        p_all = np.array([o.probs for o in outcomes], dtype=np.float64)
        p_lab = np.array([o.probs for o in labelled], dtype=np.float64).reshape(-1, len(LABELS))
        y_lab = np.array([LABELS.index(o.label) for o in labelled], dtype=np.int64)
        enough_labels = len(labelled) >= self.policy.min_samples and len(np.unique(y_lab)) == len(LABELS)
        cv: dict[str, float] = {}
        if method == "auto":
            if enough_labels:
                method, scheme, cv = choose_calibrator(p_lab, y_lab, n_bins=self.n_bins)
            else:
                method, scheme = "isotonic", "top_label"
        cal = make_calibrator(method, scheme)
        if cal.scheme == "top_label":
            # Right/wrong is all a top-label map needs, so every outcome counts, labelled or not.
            used = outcomes
            cal.fit_correctness(p_all.max(axis=1), [o.correct for o in outcomes])  # type: ignore[attr-defined]
        elif enough_labels:
            used = labelled
            cal.fit(p_lab, y_lab)
        else:
            log.info("calibration %s %s: %s/%s needs %d labelled outcomes of each class, have %d",
                     model_id, model_version, method, scheme, self.policy.min_samples, len(labelled))
            return None
        n_fit = len(used)
        active_before = self.active(model_id, model_version)[0]
        try:
            verdict = self._judge(model_id, model_version, outcomes, used, cal)
            action = "accepted"
        except FitRefused as refused:
            self.repo.audit(model_id, model_version, "refused", cal.method, cal.scheme, None, active_before,
                            refused.verdict.to_dict(), confirmed_by)
            if not confirmed_by:
                raise
            verdict, action = refused.verdict, "confirmed"
            self._refused.pop((model_id, model_version), None)
        metrics: dict[str, Any] = {"outcomes_at_fit": self._count(model_id, model_version), "cv_ece": cv,
                                   "by_source": _count_sources(outcomes), "acceptance": verdict.to_dict()}
        if action == "confirmed":
            metrics["confirmed"] = {"by": confirmed_by, "at": time.time(), "over": verdict.reason}
        if enough_labels:
            # Before/after on rows the calibrator did not see (out-of-fold), so the figures are honest.
            oof = out_of_fold(p_lab, y_lab, cal.method, cal.scheme)
            metrics["holdout"] = {
                "kind": "5-fold out-of-fold on labelled outcomes",
                "before": calibration_metrics(p_lab, y_lab, self.n_bins).to_dict(),
                "after": calibration_metrics(oof, y_lab, self.n_bins).to_dict(),
                "before_diagram": reliability_diagram(p_lab, y_lab, self.n_bins).to_dict(),
                "after_diagram": reliability_diagram(oof, y_lab, self.n_bins).to_dict(),
            }
        saved = self.repo.save_calibrator(model_id, model_version, cal, n_fit, metrics,
                                          sorted({o.source for o in outcomes}))
        self.repo.audit(model_id, model_version, action, cal.method, cal.scheme, saved.id, active_before,
                        verdict.to_dict(), confirmed_by)
        with self._lock:
            self._cache[(model_id, model_version)] = (saved, cal)
        log.info("calibration %s %s: fitted %s on %d outcomes%s", model_id, model_version, saved.label, n_fit,
                 f", confirmed by {confirmed_by} over the acceptance rule" if action == "confirmed" else "")
        return saved

    def _judge(self, model_id: str, model_version: str, outcomes: list[Outcome], used: list[Outcome],
               cal: Calibrator) -> FitVerdict:
        """The acceptance rule (engine/calibration/acceptance.py) against the active view; raises
        FitRefused (and remembers it) when the new fit may not replace it."""
        stored, active = self.active(model_id, model_version)
        fitted_on = int(stored.metrics.get("outcomes_at_fit") or 0) if stored else 0
        seen = {id(o) for o in outcomes[:fitted_on]}  # the active calibrator's own rows (recording order)
        labelled = all(o.label is not None for o in used)
        labels = [LABELS.index(o.label) for o in used] if labelled else None  # type: ignore[arg-type]
        verdict = judge_fit([o.probs for o in used], [o.correct for o in used], cal.method, cal.scheme, active,
                            min_samples=self.policy.min_samples, labels=labels,
                            active_label=f"the active {stored.label}" if stored else "",
                            compare_from=sum(id(o) in seen for o in used))
        if not verdict.accepted:
            self._refused[(model_id, model_version)] = (self._count(model_id, model_version), verdict)
            log.info("calibration %s %s: %s/%s refused: %s", model_id, model_version, cal.method, cal.scheme,
                     verdict.reason)
            raise FitRefused(verdict)
        self._refused.pop((model_id, model_version), None)
        return verdict

    def report(self, model_id: str, model_version: str, sources: Sequence[str] | None = None) -> OutcomeReport | None:
        """Reliability before/after the active calibrator on stored labelled outcomes (a panel view).

        When the calibrator was fitted on these outcomes the "after" side is in-sample and
        ``in_sample`` says so; the honest figures are in the calibrator's ``metrics['holdout']``.
        """
        outcomes = [o for o in self.repo.outcomes(model_id, model_version, sources) if o.label is not None]
        if not outcomes:
            return None
        p = np.array([o.probs for o in outcomes], dtype=np.float64)
        y = np.array([LABELS.index(o.label) for o in outcomes], dtype=np.int64)  # type: ignore[arg-type]
        stored, cal = self.active(model_id, model_version)
        q = calibrate_probs(p, cal)
        in_sample = bool(stored) and bool(set(stored.sources) & {o.source for o in outcomes})
        return OutcomeReport(model_id, model_version, tuple(sources or ()), calibration_metrics(p, y, self.n_bins),
                             calibration_metrics(q, y, self.n_bins), reliability_diagram(p, y, self.n_bins),
                             reliability_diagram(q, y, self.n_bins), stored.label if stored else "", in_sample)


def _count_sources(outcomes: Sequence[Outcome]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.source] = counts.get(o.source, 0) + 1
    return counts

