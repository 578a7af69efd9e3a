"""Is a desk version better than the active one? The figures and the rule, in one place.

Both sides are scored on the same rows and only ever on predictions that did not see the row:

- desk labels: the candidate's cross-validated held-out predictions; for the active version, its
  own held-out predictions on labels it trained on (a desk version keeps them), fresh ones elsewhere;
- the guard set (resources/guard/): neither side ever trained on it.

Rule (fixed before any figure was seen): offered for promotion only if the weighted F1 on the
desk's labels is higher than the active version's, and the weighted F1 drops by at most
``MAX_GUARD_DROP`` on every part of the guard set and on the whole of it. Per part as well as on
the whole, so a gain on news copy can never hide a loss on tweets.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from engine.sentiment.base import LABELS

MAX_GUARD_DROP = 0.01
# Float noise must not decide a tie: drops within this of the limit count as at the limit.
_TOLERANCE = 1e-9


def scores(y: np.ndarray, probs: np.ndarray) -> dict[str, float | int]:
    from sklearn.metrics import accuracy_score, f1_score

    y = np.asarray(y)
    pred = np.asarray(probs).argmax(axis=1)
    idx = list(range(len(LABELS)))
    weighted = float(f1_score(y, pred, average="weighted", labels=idx, zero_division=0))
    # "_weighted_f1" unrounded decides; the rounded figures are for people.
    return {"n": int(len(y)), "weighted_f1": round(weighted, 4),
            "macro_f1": round(float(f1_score(y, pred, average="macro", labels=idx, zero_division=0)), 4),
            "accuracy": round(float(accuracy_score(y, pred)), 4), "_weighted_f1": weighted}


def _public(s: dict) -> dict:
    return {k: v for k, v in s.items() if not k.startswith("_")}


def compare(*, candidate: tuple[str, str], active: tuple[str, str], desk_y: np.ndarray, desk_candidate: np.ndarray,
            desk_active: np.ndarray, guard_y: np.ndarray, guard_slices: dict[str, slice],
            guard_candidate: np.ndarray, guard_active: np.ndarray, desk_kind: str) -> dict[str, Any]:
    """The evaluation record stored with a version: figures for both sides, the decision and why."""
    reasons: list[str] = []
    cand, act = scores(desk_y, desk_candidate), scores(desk_y, desk_active)
    better = cand["_weighted_f1"] > act["_weighted_f1"]
    reasons.append(f"{'better' if better else 'not better'} on the desk's labels: weighted F1 "
                   f"{cand['weighted_f1']:.4f} vs {act['weighted_f1']:.4f} ({desk_kind}, {cand['n']} labels)")
    guard: dict[str, Any] = {}
    guard_ok = True
    for name, rows in [*guard_slices.items(), ("all", slice(0, len(guard_y)))]:
        c, a = scores(guard_y[rows], guard_candidate[rows]), scores(guard_y[rows], guard_active[rows])
        drop = a["_weighted_f1"] - c["_weighted_f1"]
        ok = drop <= MAX_GUARD_DROP + _TOLERANCE
        guard_ok &= ok
        guard[name] = {"candidate": _public(c), "active": _public(a), "delta": round(-drop, 4), "ok": ok}
        if not ok:
            reasons.append(f"guard {name}: weighted F1 {c['weighted_f1']:.4f} vs {a['weighted_f1']:.4f}, "
                           f"a drop of {drop:.4f} (at most {MAX_GUARD_DROP} allowed)")
    if guard_ok:
        worst = min(guard, key=lambda k: guard[k]["delta"])
        reasons.append(f"guard set kept: worst change {guard[worst]['delta']:+.4f} weighted F1 ({worst}), "
                       f"at most -{MAX_GUARD_DROP} allowed")
    offered = bool(better and guard_ok)
    return {
        "candidate": {"id": candidate[0], "version": candidate[1]},
        "against": {"id": active[0], "version": active[1]},
        "desk": {"kind": desk_kind, "candidate": _public(cand), "active": _public(act),
                 "delta": round(cand["_weighted_f1"] - act["_weighted_f1"], 4)},
        "guard": guard,
        "max_guard_drop": MAX_GUARD_DROP,
        "offered": offered,
        "reasons": reasons,
        "evaluated_at": time.time(),
    }


def summary(evaluation: dict[str, Any]) -> str:
    """One line for a table or status bar."""
    desk = evaluation.get("desk", {})
    guard = evaluation.get("guard", {})
    parts = [f"desk wF1 {desk.get('candidate', {}).get('weighted_f1', 0):.3f} vs "
             f"{desk.get('active', {}).get('weighted_f1', 0):.3f}"]
    parts += [f"{name} {g['delta']:+.3f}" for name, g in guard.items()]
    verdict = "offered" if evaluation.get("offered") else "refused"
    return f"{verdict}: " + ", ".join(parts) + f" (against {evaluation.get('against', {}).get('id', '?')})"
