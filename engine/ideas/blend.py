"""Blending the classifier's confidence with an LLM's, when both exist.

The blend is for ranking and display only. Thresholds, sizes, limits and states use the
classifier's (calibrated) confidence alone, so whatever an LLM writes cannot move money
or change an idea's state.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class LlmOpinion:
    """What the slow lane concluded about one signal (arrives with the LLM issue)."""

    label: str  # bullish | bearish | neutral
    confidence: float
    model_id: str = ""
    model_version: str = ""


@dataclass(frozen=True)
class BlendedConfidence:
    value: float
    classifier: float
    llm: float | None  # None when there was no usable LLM opinion
    llm_agrees: bool | None
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def _probability(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and 0.0 <= value <= 1.0 else None


def blend_confidence(classifier: float, llm: float | None = None, *, llm_agrees: bool = True,
                     llm_weight: float = 0.3) -> BlendedConfidence:
    """``(1 - w) * classifier + w * p``, where ``p`` is the LLM's confidence in the
    classifier's direction: its own confidence when it agrees, one minus it when it does not.
    An LLM value that is not a probability is ignored, never trusted."""
    c = _probability(classifier)
    if c is None:
        raise ValueError(f"classifier confidence must be a probability, got {classifier!r}")
    w = _probability(llm_weight)
    if w is None:
        raise ValueError(f"llm_weight must be in [0, 1], got {llm_weight!r}")
    if llm is None:
        return BlendedConfidence(c, c, None, None, "classifier only")
    p = _probability(llm)
    if p is None:
        return BlendedConfidence(c, c, None, None, f"LLM confidence {llm!r} ignored: not a probability")
    support = p if llm_agrees else 1.0 - p
    value = min(1.0, max(0.0, (1.0 - w) * c + w * support))
    note = f"LLM {'agrees' if llm_agrees else 'disagrees'} ({p:.0%}), weight {w:.0%}"
    return BlendedConfidence(value, c, p, bool(llm_agrees), note)
