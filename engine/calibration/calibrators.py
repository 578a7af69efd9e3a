"""Post-hoc calibrators for the sentiment probabilities, persisted as plain JSON (never pickle).

Three methods, fitted with scikit-learn / scipy and stored as the numbers that define them:

- ``isotonic``: sklearn ``IsotonicRegression``; stored as its ``X_thresholds_`` / ``y_thresholds_``
  and applied by linear interpolation between them (what sklearn itself does), clipped at the ends.
- ``platt``: sklearn ``LogisticRegression`` on ``logit(p)``; stored as slope ``a`` and intercept ``b``,
  applied as ``sigmoid(a * logit(p) + b)``. A negative slope (confidence that *anti*-predicts
  correctness, only seen on tiny or adversarial samples) is replaced by the base rate so the map
  stays monotone.
- ``temperature``: one scalar ``T`` on the log-probabilities, ``softmax(log p / T)``, fitted by
  minimising the negative log-likelihood.

and two ways to apply the 1-D maps (isotonic, platt) to three-class output:

- ``top_label`` (the default): one map from top-label confidence to P(prediction is correct).
  The top probability becomes the calibrated confidence and the other two share the rest in
  their old proportions. The predicted label never changes, and the map can be fitted from
  right/wrong feedback alone (analyst "wrong" without a label, market direction checks), which
  the per-class scheme cannot use.
- ``one_vs_rest``: one map per class on ``p_k`` vs ``1[y == k]``, then renormalised to sum 1.
  It also corrects the non-top probabilities but may change the arg-max.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

FORMAT_VERSION = 1
METHODS = ("isotonic", "platt", "temperature")
SCHEMES = ("top_label", "one_vs_rest", "multiclass")
_EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.log(p) - np.log1p(-p)


def _as_probs(probs) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be (n, k), got shape {p.shape}")
    return p


# --- 1-D monotone maps --------------------------------------------------------------------
class IsotonicMap:
    kind = "isotonic"

    def __init__(self, x: list[float] | None = None, y: list[float] | None = None) -> None:
        self.x = np.asarray(x if x is not None else [0.0, 1.0], dtype=np.float64)
        self.y = np.asarray(y if y is not None else [0.0, 1.0], dtype=np.float64)

    def fit(self, scores: np.ndarray, target: np.ndarray) -> "IsotonicMap":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(np.asarray(scores, dtype=np.float64), np.asarray(target, dtype=np.float64))
        self.x = np.asarray(iso.X_thresholds_, dtype=np.float64)
        self.y = np.asarray(iso.y_thresholds_, dtype=np.float64)
        return self

    def __call__(self, scores) -> np.ndarray:
        # np.interp clamps outside [x0, xn], matching out_of_bounds="clip".
        return np.interp(np.asarray(scores, dtype=np.float64), self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "x": self.x.tolist(), "y": self.y.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "IsotonicMap":
        x, y = list(d["x"]), list(d["y"])
        if len(x) != len(y) or not x or any(b < a for a, b in zip(x, x[1:])) or any(b < a for a, b in zip(y, y[1:])):
            raise ValueError("isotonic thresholds must be equal-length, non-empty and non-decreasing")
        return cls(x, y)


class PlattMap:
    kind = "platt"

    def __init__(self, a: float = 1.0, b: float = 0.0) -> None:
        self.a, self.b = float(a), float(b)

    def fit(self, scores: np.ndarray, target: np.ndarray) -> "PlattMap":
        from sklearn.linear_model import LogisticRegression

        target = np.asarray(target, dtype=np.int64)
        rate = float(target.mean()) if target.size else 0.5
        if target.size == 0 or target.min() == target.max():
            # One class only: nothing to separate, the base rate is the honest answer.
            self.a, self.b = 0.0, float(_logit(np.array([rate]))[0])
            return self
        x = _logit(np.asarray(scores, dtype=np.float64)).reshape(-1, 1)
        # Large C: Platt scaling is meant to be (nearly) unregularised, two parameters.
        lr = LogisticRegression(C=1e4, max_iter=1000)
        lr.fit(x, target)
        self.a, self.b = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        if self.a < 0:
            self.a, self.b = 0.0, float(_logit(np.array([rate]))[0])
        return self

    def __call__(self, scores) -> np.ndarray:
        z = self.a * _logit(np.asarray(scores, dtype=np.float64)) + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PlattMap":
        a, b = float(d["a"]), float(d["b"])
        if not (math.isfinite(a) and math.isfinite(b)) or a < 0:
            raise ValueError("platt coefficients must be finite with a >= 0")
        return cls(a, b)


_MAPS = {"isotonic": IsotonicMap, "platt": PlattMap}


def _map_from_dict(d: dict[str, Any]):
    cls = _MAPS.get(d.get("kind"))
    if cls is None:
        raise ValueError(f"unknown map kind {d.get('kind')!r}")
    return cls.from_dict(d)


# --- calibrators ----------------------------------------------------------------------------
class Calibrator:
    """Common shape: ``fit(probs, y)``, ``transform(probs) -> probs``, JSON via ``to_dict``."""

    method: str
    scheme: str
    n_classes: int

    def fit(self, probs, y) -> "Calibrator":
        raise NotImplementedError

    def transform(self, probs) -> np.ndarray:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "method": self.method, "scheme": self.scheme,
                "classes": self.n_classes, "params": self.params()}

    @property
    def name(self) -> str:
        return self.method if self.scheme in ("top_label", "multiclass") else f"{self.method}-{self.scheme}"


class TopLabelCalibrator(Calibrator):
    scheme = "top_label"

    def __init__(self, method: str = "isotonic", n_classes: int = 3, mapping=None) -> None:
        if method not in _MAPS:
            raise ValueError(f"top-label calibration needs isotonic or platt, not {method!r}")
        self.method = method
        self.n_classes = n_classes
        self.map = mapping if mapping is not None else _MAPS[method]()

    def fit(self, probs, y) -> "TopLabelCalibrator":
        p = _as_probs(probs)
        y = np.asarray(y, dtype=np.int64)
        return self.fit_correctness(p.max(axis=1), p.argmax(axis=1) == y)

    def fit_correctness(self, confidence, correct) -> "TopLabelCalibrator":
        """Fit from (top-label confidence, was the prediction right) pairs: all the map needs."""
        self.map.fit(np.asarray(confidence, dtype=np.float64), np.asarray(correct, dtype=np.int64))
        return self

    def confidence(self, raw_confidence) -> np.ndarray:
        return self.map(raw_confidence)

    def transform(self, probs) -> np.ndarray:
        p = _as_probs(probs)
        n, k = p.shape
        if n == 0:
            return p.copy()
        top = p.argmax(axis=1)
        rows = np.arange(n)
        conf = p[rows, top]
        others = p.copy()
        others[rows, top] = 0.0
        rest = others.sum(axis=1, keepdims=True)
        # Shares of the non-top mass; uniform when the raw top took everything.
        share = np.where(rest > 1e-12, others / np.where(rest > 1e-12, rest, 1.0), 1.0 / (k - 1))
        share[rows, top] = 0.0
        new_conf = np.clip(self.map(conf), 0.0, 1.0)
        # Keep the prediction: the top must stay above the largest other, (1 - c) * w_max < c
        # (the tiny margin stops a tie from flipping arg-max to a lower class index).
        w_max = share.max(axis=1)
        new_conf = np.minimum(np.maximum(new_conf, w_max / (1.0 + w_max) + 1e-9), 1.0)
        out = share * (1.0 - new_conf)[:, None]
        out[rows, top] = new_conf
        return out

    def params(self) -> dict[str, Any]:
        return {"map": self.map.to_dict()}


class OneVsRestCalibrator(Calibrator):
    scheme = "one_vs_rest"

    def __init__(self, method: str = "isotonic", n_classes: int = 3, maps=None) -> None:
        if method not in _MAPS:
            raise ValueError(f"one-vs-rest calibration needs isotonic or platt, not {method!r}")
        self.method = method
        self.n_classes = n_classes
        self.maps = list(maps) if maps is not None else [_MAPS[method]() for _ in range(n_classes)]

    def fit(self, probs, y) -> "OneVsRestCalibrator":
        p = _as_probs(probs)
        y = np.asarray(y, dtype=np.int64)
        for k, m in enumerate(self.maps):
            m.fit(p[:, k], (y == k).astype(np.int64))
        return self

    def transform(self, probs) -> np.ndarray:
        p = _as_probs(probs)
        q = np.column_stack([m(p[:, k]) for k, m in enumerate(self.maps)]) if len(p) else p.copy()
        total = q.sum(axis=1, keepdims=True)
        # All maps at 0 can happen with isotonic steps; the raw row is then the best we have.
        return np.where(total > 1e-12, q / np.where(total > 1e-12, total, 1.0), p)

    def params(self) -> dict[str, Any]:
        return {"maps": [m.to_dict() for m in self.maps]}


class TemperatureScaling(Calibrator):
    method = "temperature"
    scheme = "multiclass"

    def __init__(self, temperature: float = 1.0, n_classes: int = 3) -> None:
        self.temperature = float(temperature)
        self.n_classes = n_classes

    @staticmethod
    def _scaled(p: np.ndarray, t: float) -> np.ndarray:
        z = np.log(np.clip(p, 1e-12, 1.0)) / t
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def fit(self, probs, y) -> "TemperatureScaling":
        from scipy.optimize import minimize_scalar

        p = _as_probs(probs)
        y = np.asarray(y, dtype=np.int64)
        rows = np.arange(len(y))

        def nll(log_t: float) -> float:
            return float(-np.log(np.clip(self._scaled(p, math.exp(log_t))[rows, y], 1e-12, 1.0)).mean())

        res = minimize_scalar(nll, bounds=(math.log(0.05), math.log(20.0)), method="bounded")
        self.temperature = float(math.exp(res.x))
        return self

    def transform(self, probs) -> np.ndarray:
        p = _as_probs(probs)
        return self._scaled(p, self.temperature) if len(p) else p.copy()

    def params(self) -> dict[str, Any]:
        return {"temperature": self.temperature}


class IdentityCalibrator(Calibrator):
    """No calibration: what is applied while no fitted calibrator exists for a model version."""

    method = "none"
    scheme = "multiclass"

    def __init__(self, n_classes: int = 3) -> None:
        self.n_classes = n_classes

    def fit(self, probs, y) -> "IdentityCalibrator":
        return self

    def transform(self, probs) -> np.ndarray:
        return _as_probs(probs).copy()

    def params(self) -> dict[str, Any]:
        return {}


DEFAULT_SCHEME = {"isotonic": "top_label", "platt": "top_label", "temperature": "multiclass"}


def make_calibrator(method: str, scheme: str | None = None, n_classes: int = 3) -> Calibrator:
    scheme = scheme or DEFAULT_SCHEME.get(method, "")
    if method == "temperature":
        if scheme != "multiclass":
            raise ValueError("temperature scaling is multiclass only")
        return TemperatureScaling(n_classes=n_classes)
    if method == "none":
        return IdentityCalibrator(n_classes)
    if scheme == "top_label":
        return TopLabelCalibrator(method, n_classes)
    if scheme == "one_vs_rest":
        return OneVsRestCalibrator(method, n_classes)
    raise ValueError(f"unknown calibration {method!r}/{scheme!r}")


def fit_calibrator(probs, y, method: str = "isotonic", scheme: str | None = None) -> Calibrator:
    p = _as_probs(probs)
    return make_calibrator(method, scheme, p.shape[1]).fit(p, y)


def calibrator_from_dict(d: dict[str, Any]) -> Calibrator:
    if d.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported calibrator format {d.get('format')!r}")
    method, scheme, k, params = d["method"], d["scheme"], int(d["classes"]), d["params"]
    if method == "temperature":
        t = float(params["temperature"])
        if not (math.isfinite(t) and t > 0):
            raise ValueError("temperature must be a positive finite number")
        return TemperatureScaling(t, k)
    if method == "none":
        return IdentityCalibrator(k)
    if scheme == "top_label":
        return TopLabelCalibrator(method, k, _map_from_dict(params["map"]))
    if scheme == "one_vs_rest":
        maps = [_map_from_dict(m) for m in params["maps"]]
        if len(maps) != k:
            raise ValueError("one map per class expected")
        return OneVsRestCalibrator(method, k, maps)
    raise ValueError(f"unknown calibration {method!r}/{scheme!r}")
