"""Why the desk head looks the way it does: candidate designs, cross-validated on desk labels.

    python -m engine.training.desk_design [--labels 300] [--seed 0] [--json]

The desk labels are the demonstration's (engine/training/desk_demo.py: the same seeded draw from
the news corpus train part, labelled with the corpus labels). Every candidate is scored with the
same 5-fold split as the trainer (engine/desklearn/train.py), each fold fitted without the rows it
predicts. The "shipped ground" column fits each candidate on all the desk labels and scores the
TFNS dev split that finsent-minilm-l6 was selected on (955 rows): text of the kind the shipped
model was built for, so a design that damages it there would fail the guard set. The guard set
itself (TFNS valid, the news test set) is never looked at here.

Candidates: the shipped model alone; a logistic regression on the embeddings alone; the head on
``[e, log p_base]`` applied everywhere (no gate); the head with the gate (what the desk trains);
and the latter mixed with a TF-IDF head fitted on the desk labels (weight chosen by an inner
3-fold cross-validation).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from engine.desklearn.features import FeatureSource
from engine.desklearn.sets import load_reference
from engine.desklearn.train import INNER_FOLDS, OUTER_FOLDS, SEED, fit_desk_head, fit_head
from engine.embeddings.onnx_embedder import OnnxEmbedder
from engine.resources import models_dir
from engine.sentiment.base import LABELS
from engine.sentiment.onnx_backend import OnnxSentimentBackend
from engine.sentiment.tfidf_head import TfidfHead
from engine.sentiment.tfidf_head import fit as fit_tfidf
from engine.training.calibrate import tfns_dev_split
from engine.training.data import DEFAULT_DATA_DIR
from engine.training.desk_demo import news_train

CANDIDATES = ("shipped model", "embeddings only", "head, no gate", "head + gate (desk)", "head + gate + TF-IDF")


def _wf1(y, p) -> float:
    from sklearn.metrics import f1_score

    return round(float(f1_score(y, np.asarray(p).argmax(axis=1), average="weighted")), 4)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _tfidf_probs(train_texts, train_y, texts) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        head = TfidfHead(fit_tfidf(train_texts, train_y, Path(tmp) / "head.json"))
        return head.predict_proba(list(texts)).astype(np.float64)


def _predict_all(train, y, texts, reference, test, test_texts) -> dict[str, np.ndarray]:
    """Every candidate fitted on ``train`` (Features) and scoring ``test``."""
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        head = fit_desk_head(train, y, reference)
        coef, intercept, _ = fit_head(train.embeddings.astype(np.float64), y)
        gated = head.predict_proba(test.probs, test.embeddings)
        # The TF-IDF mixing weight, chosen on the training rows only (inner folds).
        inner = np.zeros((len(y), len(LABELS)))
        inner_gated = np.zeros_like(inner)
        for tr, te in StratifiedKFold(INNER_FOLDS, shuffle=True, random_state=SEED).split(inner, y):
            inner[te] = _tfidf_probs([texts[i] for i in tr], y[tr], [texts[i] for i in te])
            inner_gated[te] = fit_desk_head(train.take(tr), y[tr], reference).predict_proba(
                train.probs[te], train.embeddings[te])
        weights = np.round(np.linspace(0, 1, 11), 2)
        w = max(weights, key=lambda w: (_wf1(y, (1 - w) * inner_gated + w * inner), -w))
    return {
        "shipped model": test.probs,
        "embeddings only": _softmax(test.embeddings.astype(np.float64) @ coef.T + intercept),
        "head, no gate": head.head_proba(test.probs, test.embeddings),
        "head + gate (desk)": gated,
        "head + gate + TF-IDF": (1 - w) * gated + w * _tfidf_probs(texts, y, test_texts),
    }


def run(n_labels: int, seed: int) -> dict:
    from sklearn.model_selection import StratifiedKFold

    all_texts, all_y, _ = news_train()
    picked = np.sort(np.random.default_rng(seed).choice(len(all_texts), n_labels, replace=False))
    texts, y = [all_texts[i] for i in picked], all_y[picked]
    root = models_dir()
    source = FeatureSource(OnnxSentimentBackend(root / "finsent-minilm-l6"), OnnxEmbedder(root / "minilm-l6-embed"))
    feats = source.compute(texts)
    reference = source.compute(load_reference(), with_probs=False).embeddings
    dev = tfns_dev_split(DEFAULT_DATA_DIR, root / "finsent-minilm-l6")
    dev_feats = source.compute(dev.texts)

    oof = {name: np.zeros((len(y), len(LABELS))) for name in CANDIDATES}
    for tr, te in StratifiedKFold(OUTER_FOLDS, shuffle=True, random_state=SEED).split(texts, y):
        fold = _predict_all(feats.take(tr), y[tr], [texts[i] for i in tr], reference, feats.take(te),
                            [texts[i] for i in te])
        for name in CANDIDATES:
            oof[name][te] = fold[name]
    ground = _predict_all(feats, y, texts, reference, dev_feats, dev.texts)
    return {"labels": n_labels, "seed": seed, "tfns_dev_rows": len(dev.texts),
            "candidates": {name: {"desk_cv_weighted_f1": _wf1(y, oof[name]),
                                  "shipped_ground_weighted_f1": _wf1(dev.labels, ground[name])}
                           for name in CANDIDATES}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args(argv)
    out = run(ns.labels, ns.seed)
    if ns.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{out['labels']} desk labels (news corpus train, seed {out['seed']}); weighted F1")
    print(f"{'candidate':22s} {'desk labels, 5-fold CV':>24s} {'shipped ground (TFNS dev)':>27s}")
    for name, s in out["candidates"].items():
        print(f"{name:22s} {s['desk_cv_weighted_f1']:>24.4f} {s['shipped_ground_weighted_f1']:>27.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
