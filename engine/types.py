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

    @property
    def probabilities(self) -> dict[str, float]:
        return dict(zip(LABELS, self.probs))

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
