"""The five-step chain (J2) and the deterministic template used when the model's answer cannot
be used: built only from the classifier's signal and what retrieval found, so the same inputs
always give the same words, and it passes the same J6 checks as a model answer."""

from __future__ import annotations

from typing import Sequence

from engine.reasoning.schema import (CHAIN_STEPS, INSUFFICIENT_PREFIX, MAX_CITED, MAX_ENTITIES,
                                     MAX_ENTITY_CHARS, MAX_RATIONALE_CHARS, MAX_STEP_CHARS)
from engine.types import Signal

# Below this classifier confidence the template does not take a side.
TEMPLATE_MIN_CONFIDENCE = 0.6


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _magnitude(signal: Signal) -> str:
    strength = abs(float(signal.compound))
    return "high" if strength >= 0.6 else "medium" if strength >= 0.3 else "low"


def _confidence(signal: Signal) -> float:
    # Calibrated when a calibrator exists for the model version (Signal.shown_confidence).
    return float(getattr(signal, "shown_confidence", signal.confidence))


def template_direction(signal: Signal, retrieved: Sequence) -> str:
    if not retrieved or _confidence(signal) < TEMPLATE_MIN_CONFIDENCE:
        return "HOLD"
    return {"bullish": "BUY", "bearish": "SELL"}.get(signal.label, "HOLD")


def template_result(signal: Signal, retrieved: Sequence, reason: str) -> tuple[dict, list[dict]]:
    """(J6 signal, chain) without a language model."""
    direction = template_direction(signal, retrieved)
    cited = [r.id for r in retrieved][:MAX_CITED]
    entities = [e[:MAX_ENTITY_CHARS] for e in dict.fromkeys(signal.entities) if e][:MAX_ENTITIES]
    tickers = ", ".join(entities) or "no ticker"
    basis = f"The {signal.model_id} classifier rates this {signal.label} at {_confidence(signal):.0%}"
    if not retrieved:
        rationale = (f"{INSUFFICIENT_PREFIX}no related items on record, so the call is HOLD. "
                     f"Template rationale ({reason}). {basis} ({tickers}).")
    else:
        rationale = (f"Template rationale ({reason}). {basis} ({tickers}). "
                     f"Related items on record: {', '.join(cited)}.")
        if direction == "HOLD":
            rationale += " The classifier signal is not strong enough to take a side."
    rationale = _fit(rationale, MAX_RATIONALE_CHARS)
    steps_text = {
        "key_facts": f"News item naming {tickers}.",
        "sentiment": f"{basis}.",
        "market_context": (f"{len(retrieved)} related item(s) on record: {', '.join(cited)}." if retrieved
                           else f"{INSUFFICIENT_PREFIX}no related items on record."),
        "impact": f"Expected impact {_magnitude(signal)} (classifier score {signal.compound:+.2f}).",
        "conclusion": f"{direction}: deterministic template, the language model answer was not used.",
    }
    chain = [{"step": s, "title": t, "text": _fit(steps_text[s], MAX_STEP_CHARS)} for s, t in CHAIN_STEPS]
    result = {
        "direction": direction,
        "confidence": round(_confidence(signal), 4),
        "sentiment": signal.label,
        "entities": entities,
        "events": [],
        "timeframe": "days",
        "magnitude": _magnitude(signal),
        "rationale": rationale,
        "cited": cited,
    }
    return result, chain
