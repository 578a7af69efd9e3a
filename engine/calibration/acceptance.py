"""When a newly fitted calibrator may replace the active one: the one rule every caller uses.

A calibrator fitted on too few outcomes fits noise (60 easy rows gave "ECE 0.0000" in-sample,
and afterwards a raw 0.872 showed as 0.99999999 and fed the idea thresholds). So a fit is saved
only when

1. it has at least ``min_samples`` outcomes (the refit policy's minimum, 300 by default), and
2. measured *out of fold* (k-fold: each row calibrated by a map that never saw it), its
   top-label Brier score is lower than the active view's on the same rows. The active view is
   the active calibrator, or the raw confidence when there is none. Neither side is judged
   in-sample: the comparison uses the outcomes recorded after the active calibrator was fitted;
   when fewer than 50 are new, the active calibrator's method is refitted out of fold on the same
   folds instead (so refitting the same method on the same outcomes is never "better").

Top-label Brier, mean (confidence - right)^2, is a proper scoring rule (ECE alone can be gamed,
e.g. by answering the base rate every time) and needs only right/wrong, so it works for
analyst verdicts and market outcomes without labels. ECE is reported beside it.

Used by ``CalibrationService.refit`` (the Calibration panel's Refit button and the automatic
policy) and by ``signaldesk calibrate --save``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import numpy as np

from engine.calibration.calibrators import Calibrator, make_calibrator
from engine.calibration.metrics import ReliabilityDiagram, calibration_metrics, reliability_diagram
from engine.wording import plural

FOLDS = 5
MIN_COMPARED = 50  # fewer rows unseen by the active calibrator than this: compare on all rows


@dataclass(frozen=True)
class FitVerdict:
    accepted: bool
    reason: str  # one line, for the panel and the CLI
    n: int  # outcomes the candidate was fitted on
    compared: int  # rows both sides were measured on
    candidate_brier: float | None = None  # out-of-fold top-label Brier
    active_brier: float | None = None
    candidate_ece: float | None = None
    active_ece: float | None = None
    method: str = ""  # the candidate's, so an operator can confirm exactly this fit
    scheme: str = ""
    # Top-label reliability of both sides on the compared rows, out of fold: what an operator
    # looks at before confirming a refused fit. Not part of to_dict (audits keep the figures).
    candidate_diagram: ReliabilityDiagram | None = None
    active_diagram: ReliabilityDiagram | None = None

    def to_dict(self) -> dict:
        plain = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.endswith("_diagram")}
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in plain.items()}


class FitRefused(ValueError):
    """A fit that must not replace the active calibrator; the message says why."""

    def __init__(self, verdict: FitVerdict) -> None:
        super().__init__(verdict.reason)
        self.verdict = verdict


def judge_fit(probs, correct: Sequence[bool], method: str, scheme: str | None, active: Calibrator | None, *,
              min_samples: int, labels: Sequence[int] | None = None, active_label: str = "",
              compare_from: int = 0, folds: int = FOLDS, seed: int = 0) -> FitVerdict:
    """The verdict on fitting ``method``/``scheme`` to these outcomes (rows in recording order).

    ``correct`` is whether the raw top label was right; ``labels`` (class indices) when every row
    has one, needed by calibrators that map each class. ``compare_from``: rows before it are the
    ones the active calibrator was fitted on.
    """
    p = np.asarray(probs, dtype=np.float64)
    right = np.asarray(correct, dtype=bool)
    n = len(p)
    if n < min_samples:
        return FitVerdict(False, f"{plural(n, 'outcome')}: a calibrator needs at least {min_samples}, fewer fit noise", n, 0,
                          method=method, scheme=scheme or "")
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    cand_conf, cand_right = _out_of_fold(p, right, y, method, scheme, folds, seed)
    rows = np.arange(n)
    if n - compare_from >= MIN_COMPARED:
        rows = rows[compare_from:]
        act_conf, act_right = _view(p, right, y, active)
    elif active is not None and (active.scheme == "top_label" or y is not None):
        act_conf, act_right = _out_of_fold(p, right, y, active.method, active.scheme, folds, seed)
    else:
        act_conf, act_right = _view(p, right, y, active)
    known = ~np.isnan(act_right[rows])
    rows = rows[known]
    cand_brier = _brier(cand_conf[rows], cand_right[rows])
    act_brier = _brier(act_conf[rows], act_right[rows].astype(bool))
    cand_ece, act_ece = _ece(cand_conf[rows], cand_right[rows]), _ece(act_conf[rows], act_right[rows].astype(bool))
    active_name = active_label or ("the active calibrator" if active is not None else "the raw confidence")
    figures = (f"out-of-fold Brier {cand_brier:.4f} vs {act_brier:.4f}, ECE {cand_ece:.4f} vs {act_ece:.4f}, "
               f"on {plural(len(rows), 'outcome')}")
    accepted = cand_brier < act_brier
    reason = (f"better than {active_name}: {figures}" if accepted
              else f"not better than {active_name}: {figures}; the active view stays")
    return FitVerdict(accepted, reason, n, int(len(rows)), cand_brier, act_brier, cand_ece, act_ece, method,
                      scheme or "", _diagram(cand_conf[rows], cand_right[rows]),
                      _diagram(act_conf[rows], act_right[rows].astype(bool)))


def _fit(p: np.ndarray, right: np.ndarray, y: np.ndarray | None, method: str, scheme: str | None) -> Calibrator:
    cal = make_calibrator(method, scheme)
    if cal.scheme == "top_label":
        return cal.fit_correctness(p.max(axis=1), right)  # type: ignore[attr-defined]
    if y is None:
        raise ValueError(f"{method}/{cal.scheme} needs a label for every outcome")
    return cal.fit(p, y)


def _out_of_fold(p, right, y, method, scheme, folds, seed) -> tuple[np.ndarray, np.ndarray]:
    """Each row's calibrated top-label confidence and rightness from a map fitted without it."""
    from sklearn.model_selection import StratifiedKFold

    strata = y if y is not None else right.astype(np.int64)
    smallest = int(np.bincount(strata).min(initial=len(strata)) if len(np.unique(strata)) > 1 else 0)
    conf = np.empty(len(p))
    ok = np.empty(len(p))
    if smallest >= 2:
        splits = StratifiedKFold(n_splits=min(folds, smallest), shuffle=True, random_state=seed).split(p, strata)
    else:  # one class only (every outcome right, say): plain folds
        from sklearn.model_selection import KFold

        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(p)
    for train, test in splits:
        q = _fit(p[train], right[train], None if y is None else y[train], method, scheme).transform(p[test])
        conf[test], ok[test] = _top(q, p[test], right[test], None if y is None else y[test])
    return conf, ok


def _view(p, right, y, calibrator: Calibrator | None) -> tuple[np.ndarray, np.ndarray]:
    q = p if calibrator is None else calibrator.transform(p)
    return _top(q, p, right, y)


def _top(q, p, right, y) -> tuple[np.ndarray, np.ndarray]:
    """Top-label confidence and rightness of calibrated ``q``. Without labels, rightness is known
    only where the calibrated top label is the raw one (NaN elsewhere)."""
    top = q.argmax(axis=1)
    if y is not None:
        return q.max(axis=1), (top == y).astype(np.float64)
    same = top == p.argmax(axis=1)
    return q.max(axis=1), np.where(same, right.astype(np.float64), np.nan)


def _brier(conf: np.ndarray, right: np.ndarray) -> float:
    return float(np.mean((conf - right.astype(np.float64)) ** 2)) if len(conf) else float("nan")


def _as_three_class(conf: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A three-class row whose top class (conf is at least 1/3, so class 0 stays on top) is the
    true one exactly when the outcome was right: top-label figures through the metrics module."""
    rest = (1.0 - conf) / 2
    return np.stack([conf, rest, rest], axis=1), np.where(right.astype(bool), 0, 1)


def _ece(conf: np.ndarray, right: np.ndarray) -> float:
    if not len(conf):
        return float("nan")
    return calibration_metrics(*_as_three_class(conf, right)).ece


def _diagram(conf: np.ndarray, right: np.ndarray) -> ReliabilityDiagram:
    return reliability_diagram(*_as_three_class(conf, right))
