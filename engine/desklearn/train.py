"""Fitting a desk head (engine/sentiment/desk_head.py) and its honest held-out predictions.

The recipe, fixed before any figure was looked at on a guard set:

- head: scikit-learn ``LogisticRegression`` (multinomial, L2) on ``[e, log p_base]``; its C is
  chosen from ``HEAD_CS`` by ``INNER_FOLDS``-fold cross-validated log loss on the rows it is fitted on;
- gate: ``LogisticRegression(C=GATE_C, class_weight="balanced")`` on ``e``, desk texts against the
  reference texts;
- held-out predictions: the whole recipe (choice of C included) is run ``OUTER_FOLDS`` times
  (stratified, seeded), each time predicting the fold it did not see. They are what the version
  is compared on and what its calibrator is fitted on.

Numerical work runs with one BLAS thread: on two busy cores the default thread pool made each of
these small fits 10-40x slower (measured: 2.2 s against 0.06 s for one 240-row fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from engine.desklearn.errors import Cancelled
from engine.desklearn.features import Features
from engine.sentiment.base import LABELS
from engine.sentiment.desk_head import DeskHead, head_features

HEAD_CS = (0.3, 1.0, 3.0, 10.0)
GATE_C = 100.0
OUTER_FOLDS = 5
INNER_FOLDS = 3
SEED = 0
MAX_ITER = 5000

Progress = Callable[[int, int], None]  # (folds done, folds in all)
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class FittedRecipe:
    head: DeskHead  # fitted on every label
    oof: np.ndarray  # (n, 3): each row predicted by a recipe fitted without it
    folds: int
    fold_cs: tuple[float, ...]  # the head C each outer fold chose
    head_c: float  # the C of the final head


def _check(cancel: CancelFn | None) -> None:
    if cancel is not None and cancel():
        raise Cancelled("cancelled")


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-15, 1.0))))


def fit_head(x: np.ndarray, y: np.ndarray, cancel: CancelFn | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """A multinomial logistic regression on ``x`` with C chosen by inner CV: (coef, intercept, C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    folds = max(2, min(INNER_FOLDS, int(np.bincount(y, minlength=len(LABELS)).min())))
    losses = {}
    for c in HEAD_CS:
        oof = np.zeros((len(y), len(LABELS)))
        for tr, te in StratifiedKFold(folds, shuffle=True, random_state=SEED).split(x, y):
            _check(cancel)
            oof[te] = LogisticRegression(C=c, max_iter=MAX_ITER).fit(x[tr], y[tr]).predict_proba(x[te])
        losses[c] = _log_loss(y, oof)
    best = min(HEAD_CS, key=lambda c: (losses[c], c))
    _check(cancel)
    model = LogisticRegression(C=best, max_iter=MAX_ITER).fit(x, y)
    return model.coef_, model.intercept_, best


def _fit_gate(desk_emb: np.ndarray, reference_emb: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([desk_emb, reference_emb]).astype(np.float64)
    t = np.r_[np.ones(len(desk_emb)), np.zeros(len(reference_emb))]
    model = LogisticRegression(C=GATE_C, class_weight="balanced", max_iter=MAX_ITER).fit(x, t)
    return model.coef_[0], float(model.intercept_[0])


def fit_desk_head(features: Features, y: np.ndarray, reference_emb: np.ndarray,
                  cancel: CancelFn | None = None) -> DeskHead:
    """The desk head (and its gate) fitted on all of ``features``."""
    coef, intercept, c = fit_head(head_features(features.probs, features.embeddings), y, cancel)
    gate_coef, gate_intercept = _fit_gate(features.embeddings, reference_emb)
    return DeskHead.from_fitted(coef, intercept, gate_coef, gate_intercept, head_c=c, gate_c=GATE_C)


def fit_recipe(features: Features, y: Sequence[int], reference_emb: np.ndarray, *,
               progress: Progress | None = None, cancel: CancelFn | None = None) -> FittedRecipe:
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    y = np.asarray(y, dtype=np.int64)
    folds = max(2, min(OUTER_FOLDS, int(np.bincount(y, minlength=len(LABELS)).min())))
    oof = np.zeros((len(y), len(LABELS)))
    fold_cs = []
    with threadpool_limits(limits=1, user_api="blas"):
        for i, (tr, te) in enumerate(StratifiedKFold(folds, shuffle=True, random_state=SEED).split(oof, y)):
            if progress:
                progress(i, folds + 1)
            head = fit_desk_head(features.take(tr), y[tr], reference_emb, cancel)
            fold_cs.append(float(head.params["head_c"]))
            oof[te] = head.predict_proba(features.probs[te], features.embeddings[te])
        if progress:
            progress(folds, folds + 1)
        final = fit_desk_head(features, y, reference_emb, cancel)
    if progress:
        progress(folds + 1, folds + 1)
    return FittedRecipe(final, oof, folds, tuple(fold_cs), float(final.params["head_c"]))
