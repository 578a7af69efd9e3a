"""The five-step chain (J2) and the evidence-based explanation used when the model's answer
cannot be used (it failed a check twice, timed out, there is no model, the breaker is open).

The evidence-based explanation is built deterministically from what the desk knows without a
language model: the classifier's label and confidence, the event class, the linked assets and
the retrieved similar items (what they were and how they were labelled). Same inputs, same
words; it names nothing that is not in them, says that it is evidence-based and why, and passes
the same schema and faithfulness checks as a model answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence

from engine.reasoning.schema import (CHAIN_STEPS, INSUFFICIENT_PREFIX, MAX_CITED, MAX_ENTITIES, MAX_ENTITY_CHARS,
                                     MAX_RATIONALE_CHARS, MAX_STEP_CHARS)
from engine.types import Signal
from engine.wording import plural

# Below this classifier confidence the evidence-based answer does not take a side.
TEMPLATE_MIN_CONFIDENCE = 0.6
EVIDENCE_LABEL = "Evidence-based explanation"
SNIPPET_CHARS = 60


@dataclass(frozen=True)
class EventClass:
    """The event class the desk gave the headline (engine.reasoning.lookup.SignalEvent's fields)."""

    category: str
    subcategory: str
    impact: str

    def words(self) -> str:
        return f"{self.category} / {self.subcategory.replace('_', ' ')}, {self.impact} impact"


def _fit(text: str, limit: int) -> str:
    # Cut at a word boundary: half a number ("2" of "27%") or of an id ("signal:1" of
    # "signal:12") would be a fact the evidence does not hold.
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "\u2026"


def _magnitude(signal: Signal) -> str:
    strength = abs(float(signal.compound))
    return "high" if strength >= 0.6 else "medium" if strength >= 0.3 else "low"


def _confidence(signal: Signal) -> float:
    # Calibrated when a calibrator exists for the model version (Signal.shown_confidence).
    return float(getattr(signal, "shown_confidence", signal.confidence))


def _side(label: str) -> str:
    return {"bullish": "BUY", "bearish": "SELL"}.get(label, "HOLD")


def template_direction(signal: Signal, retrieved: Sequence) -> str:
    """A side only when the classifier is confident, something related is on record, and most
    of the labelled similar items do not point the other way."""
    if not retrieved or _confidence(signal) < TEMPLATE_MIN_CONFIDENCE:
        return "HOLD"
    side = _side(signal.label)
    labels = Counter(r.label for r in retrieved if r.label in ("bullish", "bearish"))
    against = labels["bearish" if side == "BUY" else "bullish"]
    if side != "HOLD" and against > sum(labels.values()) / 2:
        return "HOLD"
    return side


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d")


def _similar(retrieved: Sequence) -> str:
    labels = Counter(r.label or "note" for r in retrieved)
    return ", ".join(f"{n} {label}" for label, n in sorted(labels.items(), key=lambda kv: (-kv[1], kv[0])))


def template_result(signal: Signal, retrieved: Sequence, reason: str,
                    event: EventClass | None = None) -> tuple[dict, list[dict]]:
    """(J6 signal, chain) without a language model, from the evidence alone."""
    direction = template_direction(signal, retrieved)
    cited = [r.id for r in retrieved][:MAX_CITED]
    entities = [e[:MAX_ENTITY_CHARS] for e in dict.fromkeys(signal.entities) if e][:MAX_ENTITIES]
    assets = ", ".join(entities) or "no linked asset"
    basis = f"The classifier rates this {signal.label} at {_confidence(signal):.0%}"
    event_words = f"Event: {event.words()}." if event is not None else ""
    head = f"{EVIDENCE_LABEL} ({reason})."
    if not retrieved:
        rationale = (f"{INSUFFICIENT_PREFIX}no related items on record, so the call is HOLD. {head} "
                     f"{basis} ({assets}). {event_words}")
    else:
        rationale = (f"{head} {basis} ({assets}). {event_words} "
                     f"Similar items on record: {_similar(retrieved)} ({', '.join(cited)}).")
        if direction == "HOLD":
            rationale += " Not enough agreement to take a side."
    rationale = _fit(" ".join(rationale.split()), MAX_RATIONALE_CHARS)
    if retrieved:
        top = retrieved[0]
        context = (f"{plural(len(retrieved), 'similar item')}, {_similar(retrieved)}; closest {top.id} "
                   f"({top.label or 'note'}, {_day(top.at)}): {_fit(top.text, SNIPPET_CHARS)}")
    else:
        context = f"{INSUFFICIENT_PREFIX}no related items on record."
    why = {"BUY": "a confident bullish classifier, not contradicted by similar items",
           "SELL": "a confident bearish classifier, not contradicted by similar items",
           "HOLD": "the evidence is not strong or consistent enough to take a side"}[direction]
    steps_text = {
        "key_facts": f"News item on {assets}. {event_words}".strip(),
        "sentiment": f"{basis}.",
        "market_context": context,
        "impact": f"Expected impact {_magnitude(signal)} from the classifier's score of {signal.compound:+.2f}.",
        "conclusion": f"{direction}: {why} (evidence-based).",
    }
    chain = [{"step": s, "title": t, "text": _fit(steps_text[s], MAX_STEP_CHARS)} for s, t in CHAIN_STEPS]
    result = {
        "direction": direction,
        "confidence": round(_confidence(signal), 4),
        "sentiment": signal.label,
        "entities": entities,
        "events": [event.subcategory.replace("_", " ")] if event is not None and event.category != "other" else [],
        "timeframe": "days",
        "magnitude": _magnitude(signal),
        "rationale": rationale,
        "cited": cited,
    }
    return result, chain
