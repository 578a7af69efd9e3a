"""The J6 structured signal: its JSON schema, the stricter schema used for decoding, and the
checks every model answer passes before anyone sees it.

Two schemas on purpose. ``J6_SCHEMA`` is the contract callers rely on (what the CLI prints and
the audit stores). ``decoding_schema`` is what llama.cpp turns into a grammar for one call: the
same fields, in an order that lets a small model reason before it concludes, with the choices
narrowed to what this call allows (cited ids only from what was retrieved, HOLD only when
nothing was). The grammar converter ignores numeric bounds and ``uniqueItems``, so confidence
is decoded from a 0.05 grid and lists are de-duplicated before validation; everything is then
validated again here, because a grammar is a generation aid, not a guarantee.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Sequence

from jsonschema import Draft202012Validator

DIRECTIONS = ("BUY", "HOLD", "SELL")
SENTIMENTS = ("bullish", "bearish", "neutral")
TIMEFRAMES = ("intraday", "days", "weeks", "months")
MAGNITUDES = ("low", "medium", "high")
CHAIN_STEPS = (
    ("key_facts", "Key facts"),
    ("sentiment", "Sentiment"),
    ("market_context", "Market context"),
    ("impact", "Impact"),
    ("conclusion", "Conclusion"),
)
CONFIDENCE_GRID = tuple(round(i * 0.05, 2) for i in range(21))
CITED_PATTERN = r"^(signal|note):[1-9][0-9]{0,17}$"
INSUFFICIENT_PREFIX = "Insufficient data: "

# Tight limits keep a complete answer well inside max_tokens even when a small model rambles:
# a string cut by the token limit is invalid JSON and costs a retry.
MAX_ENTITIES, MAX_ENTITY_CHARS = 4, 24
MAX_EVENTS, MAX_EVENT_CHARS = 3, 40
MIN_RATIONALE_CHARS, MAX_RATIONALE_CHARS = 20, 240
MIN_STEP_CHARS, MAX_STEP_CHARS = 10, 120
MAX_CITED = 5

J6_FIELDS = ("direction", "confidence", "sentiment", "entities", "events", "timeframe", "magnitude",
             "rationale", "cited")


def _string_list(max_items: int, max_chars: int, item: dict | None = None) -> dict:
    return {"type": "array", "maxItems": max_items, "uniqueItems": True,
            "items": item or {"type": "string", "minLength": 1, "maxLength": max_chars}}


J6_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://signaldesk.local/schemas/j6-signal.json",
    "title": "J6 structured signal (advice only)",
    "type": "object",
    "additionalProperties": False,
    "required": list(J6_FIELDS),
    "properties": {
        "direction": {"enum": list(DIRECTIONS)},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "sentiment": {"enum": list(SENTIMENTS)},
        "entities": _string_list(MAX_ENTITIES, MAX_ENTITY_CHARS),
        "events": _string_list(MAX_EVENTS, MAX_EVENT_CHARS),
        "timeframe": {"enum": list(TIMEFRAMES)},
        "magnitude": {"enum": list(MAGNITUDES)},
        "rationale": {"type": "string", "minLength": 1, "maxLength": MAX_RATIONALE_CHARS},
        "cited": _string_list(MAX_CITED, 0, {"type": "string", "pattern": CITED_PATTERN}),
    },
}

CHAIN_STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["step", "title", "text"],
    "properties": {
        "step": {"enum": [s for s, _ in CHAIN_STEPS]},
        "title": {"type": "string"},
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_STEP_CHARS},
    },
}

_J6 = Draft202012Validator(J6_SCHEMA)
_STEP = Draft202012Validator(CHAIN_STEP_SCHEMA)


class InvalidOutput(ValueError):
    """The model's answer is not a usable J6 signal; the message says which rule it broke."""


def _text(min_chars: int, max_chars: int, prefix: str = "") -> dict:
    # A pattern, not minLength/maxLength: llama-cpp-python's converter lets a plain string
    # contain raw line breaks (invalid JSON). It copies the character class into the grammar as
    # is, so the class excludes what a JSON string cannot hold raw (quote, backslash, line
    # breaks, tab) and the length is part of the pattern. The prefix is forced by the grammar.
    return {"type": "string",
            "pattern": "^" + prefix + r'[^"\\\n\r\t]{' + f"{min_chars},{max_chars}" + "}$"}


def decoding_schema(retrieved_ids: Sequence[str], *, chain: bool) -> dict[str, Any]:
    """The schema handed to llama.cpp for one call (it becomes a GBNF grammar)."""
    insufficient = not retrieved_ids
    props: dict[str, Any] = {}
    if chain:
        # Steps first: the conclusion is written after the reasoning it rests on.
        props["chain"] = {
            "type": "object", "additionalProperties": False,
            "required": [s for s, _ in CHAIN_STEPS],
            "properties": {s: _text(MIN_STEP_CHARS, MAX_STEP_CHARS) for s, _ in CHAIN_STEPS},
        }
    props.update({
        "sentiment": {"enum": list(SENTIMENTS)},
        "entities": {"type": "array", "maxItems": MAX_ENTITIES, "items": _text(1, MAX_ENTITY_CHARS)},
        "events": {"type": "array", "maxItems": MAX_EVENTS, "items": _text(1, MAX_EVENT_CHARS)},
        "timeframe": {"enum": list(TIMEFRAMES)},
        "magnitude": {"enum": list(MAGNITUDES)},
        "rationale": (_text(10, MAX_RATIONALE_CHARS - len(INSUFFICIENT_PREFIX), INSUFFICIENT_PREFIX)
                      if insufficient else _text(MIN_RATIONALE_CHARS, MAX_RATIONALE_CHARS)),
        # Only what was retrieved can be cited; with nothing retrieved the list must stay empty.
        # (maxItems 0 is not enforced by the grammar converter; a constant is.)
        "cited": ({"const": []} if insufficient else
                  {"type": "array", "maxItems": min(MAX_CITED, len(retrieved_ids)),
                   "items": {"enum": list(retrieved_ids)}}),
        "direction": {"enum": ["HOLD"] if insufficient else list(DIRECTIONS)},
        "confidence": {"enum": list(CONFIDENCE_GRID)},
    })
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


def _reject_constant(name: str) -> float:
    raise InvalidOutput(f"JSON contains {name}, which is not a number")


def _dedupe(items: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        key = item.strip() if isinstance(item, str) else item
        if key not in seen:
            seen.append(key)
    return seen


def parse_output(raw: str, retrieved_ids: Sequence[str], *, chain: bool) -> tuple[dict, list[dict]]:
    """Raw model text -> (J6 signal, chain steps), or InvalidOutput. Nothing else gets through."""
    try:
        obj = json.loads(raw, parse_constant=_reject_constant)
    except InvalidOutput:
        raise
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise InvalidOutput(f"not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise InvalidOutput(f"expected a JSON object, got {type(obj).__name__}")
    # Canonicalise before validating: trimming and de-duplicating never change meaning, and the
    # grammar cannot express uniqueItems.
    for key in ("entities", "events", "cited"):
        if isinstance(obj.get(key), list):
            obj[key] = [x for x in _dedupe(obj[key]) if x != ""]
    if isinstance(obj.get("rationale"), str):
        obj["rationale"] = obj["rationale"].strip()
    error = next(iter(Draft202012Validator(decoding_schema(retrieved_ids, chain=chain)).iter_errors(obj)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidOutput(f"schema: {where}: {error.message[:200]}")
    signal = {key: obj[key] for key in J6_FIELDS}
    signal["confidence"] = float(signal["confidence"])
    steps = [{"step": s, "title": t, "text": obj["chain"][s].strip()} for s, t in CHAIN_STEPS] if chain else []
    check_result(signal, steps, retrieved_ids)
    return signal, steps


def check_result(signal: dict, steps: Sequence[dict], retrieved_ids: Sequence[str]) -> None:
    """The final gate for anything handed to callers, model-written or template-built."""
    error = next(iter(_J6.iter_errors(signal)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidOutput(f"J6: {where}: {error.message[:200]}")
    if not math.isfinite(float(signal["confidence"])):
        raise InvalidOutput("J6: confidence is not finite")
    stray = [c for c in signal["cited"] if c not in set(retrieved_ids)]
    if stray:
        raise InvalidOutput(f"cited ids that were not retrieved: {', '.join(stray)}")
    if not retrieved_ids and signal["direction"] != "HOLD":
        raise InvalidOutput("nothing relevant was retrieved, so the direction must be HOLD")
    if not retrieved_ids and not signal["rationale"].startswith(INSUFFICIENT_PREFIX):
        raise InvalidOutput(f"nothing relevant was retrieved, so the rationale must start {INSUFFICIENT_PREFIX!r}")
    for step in steps:
        error = next(iter(_STEP.iter_errors(step)), None)
        if error is not None:
            raise InvalidOutput(f"chain step: {error.message[:200]}")
    if steps and [s["step"] for s in steps] != [s for s, _ in CHAIN_STEPS]:
        raise InvalidOutput("chain steps are missing or out of order")
