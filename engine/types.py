"""Plain frozen records that cross from the engine to the app and UI layers."""

from __future__ import annotations

from dataclasses import dataclass

from engine.sentiment.base import LABELS


@dataclass(frozen=True)
class Signal:
    """One analysed news item. Immutable so it can be handed across threads safely."""

    id: int | None
    received_at: float  # unix seconds, UTC
    source: str
    text: str
    entities: tuple[str, ...]
    label: str
    probs: tuple[float, float, float]  # LABELS order
    confidence: float
    compound: float  # p_bullish - p_bearish, in [-1, 1]
    model_id: str
    model_version: str
    latency_ms: float
    truncated: bool = False
    # Calibrated view for display; the raw probabilities above are what is stored and kept.
    calibrated_probs: tuple[float, float, float] | None = None
    calibrated_confidence: float | None = None
    calibrator: str = ""  # which calibrator produced the view, e.g. "isotonic/top_label #3"

    @property
    def probabilities(self) -> dict[str, float]:
        return dict(zip(LABELS, self.probs))

    @property
    def shown_confidence(self) -> float:
        """Calibrated when a calibrator exists for this model version, raw otherwise."""
        return self.calibrated_confidence if self.calibrated_confidence is not None else self.confidence

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "received_at": self.received_at,
            "source": self.source,
            "text": self.text,
            "entities": list(self.entities),
            "label": self.label,
            "probabilities": self.probabilities,
            "confidence": self.confidence,
            "compound": self.compound,
            "model_id": self.model_id,
            "model_version": self.model_version,
            "latency_ms": self.latency_ms,
            "truncated": self.truncated,
            "calibrated_confidence": self.calibrated_confidence,
            "calibrator": self.calibrator,
        }


@dataclass(frozen=True)
class ModelStatus:
    """Which model serves a task right now, and whether that is a degraded fallback."""

    task: str
    model_id: str
    version: str
    backend: str
    degraded: bool = False
    reason: str = ""
