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
import re
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
NO_CONTEXT = INSUFFICIENT_PREFIX + "no related items on record."

# Tight limits keep a complete answer well inside max_tokens even when a small model rambles:
# a string cut by the token limit is invalid JSON and costs a retry.
MAX_ENTITIES, MAX_ENTITY_CHARS = 4, 24
MAX_EVENTS, MAX_EVENT_CHARS = 3, 40
MIN_RATIONALE_CHARS, MAX_RATIONALE_CHARS = 20, 240
MIN_STEP_CHARS, MAX_STEP_CHARS = 10, 120
MAX_CITED = 5
NARROWED_SLACK = 16  # characters kept free for numbers and ids, which count as one unit each when narrowed

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


# A small model writes labels like "over a, Autopilot, over a 30 day period" when events are free
# text. Decoding offers these labels instead (generic to market news, not to any headline); the
# J6 contract keeps events as short strings, so other producers (endpoints, templates) still fit.
EVENT_LABELS = (
    "earnings beat", "earnings miss", "earnings results", "guidance raise", "guidance cut", "merger or acquisition",
    "deal blocked", "product recall", "product launch", "regulatory approval", "regulatory fine",
    "lawsuit or settlement", "investigation", "job cuts", "restructuring", "management change", "dividend",
    "share buyback", "stock split", "financing", "bankruptcy", "contract win", "analyst upgrade",
    "analyst downgrade", "rate decision", "inflation data", "jobs data", "growth data", "trade data",
    "commodity price move", "currency move", "market move", "crypto price move", "security breach", "strike",
    "other")


def _char(c: str) -> str:
    # A character the pattern language treats specially is written as a one-character class
    # (inside the grammar a regex escape would not survive).
    return c if c.isalnum() or c == " " else f"[{c}]"


def _trie(words: Sequence[str]) -> str:
    """Words as one pattern that shares their common prefixes ("An", "And", "Any" -> "An(d|y)?").

    llama.cpp keeps one grammar stack per alternative open at a position and tests every
    vocabulary token against each, every token: a flat list of ~100 words made answers about 3x
    slower; shared prefixes leave one alternative per distinct first character."""
    groups: dict[str, list[str]] = {}
    ends = False
    for word in dict.fromkeys(words):
        if word:
            groups.setdefault(word[0], []).append(word[1:])
        else:
            ends = True
    branches = [_char(first) + _trie(rest) for first, rest in groups.items()]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 and not ends else "(" + "|".join(branches) + ")"
    return body + "?" if ends else body


def _text(min_chars: int, max_chars: int, prefix: str = "", numbers: Sequence[str] | None = None,
          ids: Sequence[str] = (), capitals: Sequence[str] | None = None) -> dict:
    # A pattern, not minLength/maxLength: llama-cpp-python's converter lets a plain string
    # contain raw line breaks (invalid JSON). It copies the character class into the grammar as
    # is, so the class excludes what a JSON string cannot hold raw (quote, backslash, line
    # breaks, tab) and the length is part of the pattern. The prefix is forced by the grammar.
    # With ``numbers`` (the digit strings of the evidence) digits appear only as one of them, so
    # a number the inputs do not hold cannot be written digit by digit, and a colon only inside
    # one of the retrieved ``ids``, so no other "note:4" can be mentioned. Each counts as one unit
    # of the length, so the limit leaves room for a few multi-character units.
    if numbers is None:
        unit = r'[^"\\\n\r\t]'
    else:
        # Inside the grammar a regex escape would not survive: a dot is written as a class.
        # A colon followed by a space stays writable ("Bearish for Acme: a costly recall").
        # With ``capitals``, a capital letter (A-Z) comes only inside one of those words.
        plain = r'[^"\\\n\r\t0-9:]' if capitals is None else r'[^"\\\n\r\t0-9:A-Z]'
        choices = [plain, ": ", *(_trie(group) for group in (ids, numbers, capitals or ()) if group)]
        unit = "(" + "|".join(choices) + ")"
        max_chars = max(min_chars, max_chars - NARROWED_SLACK)
    return {"type": "string", "pattern": "^" + prefix + unit + "{" + f"{min_chars},{max_chars}" + "}$"}


# What each sentiment lets the call be: a bullish answer cannot conclude SELL, a bearish one BUY,
# and a neutral one takes no side. Decoding offers only these pairs (see decoding_schema).
SENTIMENT_OPENERS = {"bullish": "Bullish", "bearish": "Bearish", "neutral": "Neutral"}
CALLS_FOR = {"bullish": ("BUY", "HOLD"), "bearish": ("SELL", "HOLD"), "neutral": ("HOLD",)}
# Fields the chain states once and the J6 signal repeats: taken from the steps, not decoded twice.
CHAIN_DERIVED = ("sentiment", "direction")


def _alternatives(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else "(" + "|".join(words) + ")"


def decoding_schema(retrieved_ids: Sequence[str], *, chain: bool, entities: Sequence[str] | None = None,
                    numbers: Sequence[str] | None = None, capitals: Sequence[str] | None = None) -> dict[str, Any]:
    """The schema handed to the decoder for one call (llama.cpp turns it into a GBNF grammar).

    ``entities`` (names found in the evidence; also narrows events to EVENT_LABELS) and
    ``numbers`` (its digit strings) narrow what the answer can name, and ``capitals`` (see
    checks.capital_words) the capitalised words its free text can write; None leaves those fields
    free, as validation sees them (the faithfulness checks apply afterwards either way).

    Sentiment and call are decoded so that they cannot contradict each other: the answer is one of
    a few variants (``anyOf``), one per sentiment, each allowing only the calls in CALLS_FOR. The
    variants part at the first character that differs, so the grammar keeps one stack per variant
    only until then. In chain mode the sentiment step opens with the sentiment ("Bullish …") and
    the conclusion with the call ("BUY: …"); the J6 ``sentiment`` and ``direction`` fields are taken
    from those openings by parse_output instead of being written a second time (the model said them
    once, so they cannot disagree). In plain mode the sentiment field comes first and narrows the
    direction field at the end."""
    insufficient = not retrieved_ids
    if entities is None:
        entity_list = {"type": "array", "maxItems": MAX_ENTITIES, "items": _text(1, MAX_ENTITY_CHARS)}
    elif entities:
        entity_list = {"type": "array", "maxItems": min(MAX_ENTITIES, len(entities)), "items": {"enum": list(entities)}}
    else:
        entity_list = {"const": []}
    tail: dict[str, Any] = {
        "entities": entity_list,
        "events": {"type": "array", "maxItems": MAX_EVENTS,
                   "items": {"enum": list(EVENT_LABELS)} if entities is not None else _text(1, MAX_EVENT_CHARS)},
        "timeframe": {"enum": list(TIMEFRAMES)},
        "magnitude": {"enum": list(MAGNITUDES)},
        "rationale": (_text(10, MAX_RATIONALE_CHARS - len(INSUFFICIENT_PREFIX), INSUFFICIENT_PREFIX, numbers,
                            capitals=capitals)
                      if insufficient else _text(MIN_RATIONALE_CHARS, MAX_RATIONALE_CHARS, numbers=numbers,
                                                 ids=retrieved_ids, capitals=capitals)),
        # Only what was retrieved can be cited; with nothing retrieved the list must stay empty.
        # (maxItems 0 is not enforced by the grammar converter; a constant is.)
        "cited": ({"const": []} if insufficient else
                  {"type": "array", "maxItems": min(MAX_CITED, len(retrieved_ids)),
                   "items": {"enum": list(retrieved_ids)}}),
    }
    confidence = {"confidence": {"enum": list(CONFIDENCE_GRID)}}

    def calls(sentiment: str) -> tuple[str, ...]:
        # With nothing related on record the call is HOLD whatever the sentiment.
        return ("HOLD",) if insufficient else CALLS_FOR[sentiment]

    def obj(props: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}

    if not chain:
        variants = [obj({"sentiment": {"const": s}, **tail, "direction": {"enum": list(calls(s))}, **confidence})
                    for s in SENTIMENTS]
        return {"anyOf": variants}

    def steps(sentiment_opening: str, call_words: Sequence[str]) -> dict[str, Any]:
        # Steps first: the conclusion is written after the reasoning it rests on.
        out = {s: _text(MIN_STEP_CHARS, MAX_STEP_CHARS, numbers=numbers, ids=retrieved_ids, capitals=capitals)
               for s, _ in CHAIN_STEPS}
        out["sentiment"] = _text(MIN_STEP_CHARS, MAX_STEP_CHARS - 7, sentiment_opening, numbers, retrieved_ids,
                                 capitals)
        if insufficient:
            # Nothing related is on record, so there is no market context to write: a small model
            # asked for one anyway loops ("note.1.1.1…") or says nothing (on the faithfulness set
            # this step was the largest single cause of refused answers).
            out["market_context"] = {"const": NO_CONTEXT}
        out["conclusion"] = _text(MIN_STEP_CHARS, MAX_STEP_CHARS - 6, f"{_alternatives(call_words)}: ", numbers,
                                  retrieved_ids, capitals)
        return obj(out)

    if insufficient:  # every sentiment leads to HOLD: one variant, no branching
        chain_schema = steps(_alternatives(list(SENTIMENT_OPENERS.values())), ["HOLD"])
    else:
        chain_schema = {"anyOf": [steps(SENTIMENT_OPENERS[s], calls(s)) for s in SENTIMENTS]}
    return obj({"chain": chain_schema, **tail, **confidence})


def _chosen_variant(schema: dict[str, Any], obj: dict, chain: bool) -> dict[str, Any]:
    """The branch of decoding_schema's anyOf (built in SENTIMENTS order) that an answer took."""
    if chain:
        chain_schema = schema.get("properties", {}).get("chain", {})
        if "anyOf" not in chain_schema:
            return schema
        step = obj["chain"].get("sentiment") if isinstance(obj.get("chain"), dict) else None
        opening = re.match(r"(Bullish|Bearish|Neutral)\b", step) if isinstance(step, str) else None
        if opening is None:
            raise InvalidOutput("schema: chain/sentiment: must open with Bullish, Bearish or Neutral")
        branch = chain_schema["anyOf"][SENTIMENTS.index(opening.group(1).casefold())]
        return {**schema, "properties": {**schema["properties"], "chain": branch}}
    if "anyOf" not in schema:
        return schema
    sentiment = obj.get("sentiment")
    if sentiment not in SENTIMENTS:
        raise InvalidOutput(f"schema: sentiment: {str(sentiment)[:40]!r} is not one of {list(SENTIMENTS)}")
    return schema["anyOf"][SENTIMENTS.index(sentiment)]


def derive_from_chain(chain_obj: dict) -> dict[str, str]:
    """The J6 sentiment and direction a chain states: its sentiment step's opening word and its
    conclusion's call (decoding forces both openings; an answer without them is refused)."""
    sentiment = re.match(r"\s*(Bullish|Bearish|Neutral)\b", str(chain_obj.get("sentiment", "")))
    call = re.match(r"\s*(BUY|HOLD|SELL):", str(chain_obj.get("conclusion", "")))
    if sentiment is None or call is None:
        raise InvalidOutput("chain: the sentiment step must open with Bullish, Bearish or Neutral and the "
                            "conclusion with BUY:, HOLD: or SELL:")
    return {"sentiment": sentiment.group(1).casefold(), "direction": call.group(1)}


def _reject_constant(name: str) -> float:
    raise InvalidOutput(f"JSON contains {name}, which is not a number")


def _dedupe(items: Iterable[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        key = item.strip() if isinstance(item, str) else item
        if key not in seen:
            seen.append(key)
    return seen


def parse_output(raw: str, retrieved_ids: Sequence[str], *, chain: bool,
                 schema: dict[str, Any] | None = None) -> tuple[dict, list[dict]]:
    """Raw model text -> (J6 signal, chain steps), or InvalidOutput. Nothing else gets through.

    ``schema``: the decoding schema the answer was asked for (default: the unnarrowed one), so
    validation holds the answer to exactly what decoding allowed."""
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
    # Validated against the variant the answer chose by its sentiment, so a message names the field
    # that broke a rule ("direction: 'SELL' is not one of …") rather than "not valid under any of".
    schema = _chosen_variant(schema or decoding_schema(retrieved_ids, chain=chain), obj, chain)
    error = next(iter(Draft202012Validator(schema).iter_errors(obj)), None)
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        raise InvalidOutput(f"schema: {where}: {error.message[:200]}")
    if chain:
        obj.update(derive_from_chain(obj["chain"]))
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
