"""The desk head: a correction of the shipped model learned from the desk's own analyst labels.

Inputs are what the desk computes with ONNX Runtime anyway: the shipped model's probabilities
``p_base`` and the shipped encoder's pooled sentence embedding ``e`` (unit length). Two logistic
models, stored as plain JSON numbers (engine/desklearn trains them with scikit-learn):

- the head: multinomial logistic regression on ``[e, log p_base]``. The log-probabilities enter
  unscaled, so the L2 penalty leaves them almost free while it shrinks the embedding weights:
  the head is the shipped model plus a regularised correction;
- the gate: ``g = P(desk | e)``, a binary logistic regression that learned the desk's labelled
  texts apart from reference texts of the shipped model's own ground (TFNS train).

``p = g * p_head + (1 - g) * p_base``: on the desk's kind of text the correction applies, on
other text the shipped model's answer stays. Why this design (cross-validated figures) is in
engine/desklearn/__init__.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from engine.sentiment.base import LABELS

FORMAT = 1
EPS = 1e-6  # log p_base is taken of max(p, EPS): a shipped probability of 0 must not become -inf


def head_features(base_probs: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
    """``[e, log p_base]``, the head's inputs, in float64."""
    p = np.asarray(base_probs, dtype=np.float64)
    e = np.asarray(embeddings, dtype=np.float64)
    return np.hstack([e, np.log(np.clip(p, EPS, 1.0))])


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    ez = np.exp(z)
    return ez / ez.sum(axis=1, keepdims=True)


def _matrix(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.shape != shape or not np.isfinite(a).all():
        raise ValueError(f"desk head: {name} must be finite with shape {shape}, got {a.shape}")
    return a


class DeskHead:
    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"desk head: format {data.get('format')!r}, this desk reads {FORMAT}")
        if tuple(data.get("labels", ())) != LABELS:
            raise ValueError(f"desk head: labels {data.get('labels')} differ from {LABELS}")
        dim = int(data["embedding_dim"])
        if not 1 <= dim <= 4096:
            raise ValueError(f"desk head: embedding_dim {dim} out of range")
        k = len(LABELS)
        self.dim = dim
        self.head_coef = _matrix(data["head"]["coef"], (k, dim + k), "head coef")
        self.head_intercept = _matrix(data["head"]["intercept"], (k,), "head intercept")
        self.gate_coef = _matrix(data["gate"]["coef"], (dim,), "gate coef")
        self.gate_intercept = float(_matrix(data["gate"]["intercept"], (), "gate intercept"))
        self.params = {"head_c": data["head"].get("c"), "gate_c": data["gate"].get("c")}

    @classmethod
    def load(cls, path: Path) -> "DeskHead":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def from_fitted(cls, head_coef, head_intercept, gate_coef, gate_intercept, *, head_c: float,
                    gate_c: float) -> "DeskHead":
        k = len(LABELS)
        dim = int(np.asarray(gate_coef).reshape(-1).shape[0])
        return cls({"format": FORMAT, "labels": list(LABELS), "embedding_dim": dim,
                    "head": {"coef": np.asarray(head_coef, dtype=np.float64).reshape(k, dim + k).tolist(),
                             "intercept": np.asarray(head_intercept, dtype=np.float64).reshape(k).tolist(),
                             "c": float(head_c)},
                    "gate": {"coef": np.asarray(gate_coef, dtype=np.float64).reshape(dim).tolist(),
                             "intercept": float(np.asarray(gate_intercept).reshape(-1)[0]), "c": float(gate_c)}})

    def to_dict(self) -> dict[str, Any]:
        # repr-exact floats: the stored head must score exactly as the fitted one did.
        return {"format": FORMAT, "labels": list(LABELS), "embedding_dim": self.dim,
                "head": {"coef": self.head_coef.tolist(), "intercept": self.head_intercept.tolist(),
                         "c": self.params["head_c"]},
                "gate": {"coef": self.gate_coef.tolist(), "intercept": self.gate_intercept,
                         "c": self.params["gate_c"]}}

    def gate(self, embeddings: np.ndarray) -> np.ndarray:
        """P(the desk's kind of text) per row."""
        z = np.asarray(embeddings, dtype=np.float64) @ self.gate_coef + self.gate_intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -500.0, 500.0)))

    def head_proba(self, base_probs: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        return _softmax(head_features(base_probs, embeddings) @ self.head_coef.T + self.head_intercept)

    def predict_proba(self, base_probs: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        p = np.asarray(base_probs, dtype=np.float64)
        e = np.asarray(embeddings, dtype=np.float64)
        if e.ndim != 2 or e.shape[1] != self.dim or p.shape != (len(e), len(LABELS)):
            raise ValueError(f"desk head: expected ({len(e)}, {self.dim}) embeddings and ({len(e)}, 3) probabilities")
        g = self.gate(e)[:, None]
        return g * self.head_proba(p, e) + (1.0 - g) * p
