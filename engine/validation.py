"""Checks for values that come from outside (files, feeds, Redis, stored rows): one place, one wording.

Every function either returns a cleaned value or raises ``ValueError`` whose message is one
line a person can act on; callers turn that into a skipped row, a dead letter or a refused
signal with the reason (ARCHITECTURE.md, "Threat model", lists where each check runs).
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from typing import Any, Iterable, Sequence

from engine.sentiment.base import LABELS

# A symbol as the market data and the idea book accept it (engine/market/prices.py uses the same).
SYMBOL_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9.\-=^/_]{0,19}$")
MAX_TICKERS = 32  # per item: a headline names a few assets; a 50,000-ticker list is an attack
# Unix seconds accepted as a time: from 1970 to the last second of year 9999, which every
# datetime call can format (an epoch-milliseconds value read as seconds lands far beyond it).
MIN_TIMESTAMP = 0.0
MAX_TIMESTAMP = 253_402_300_799.0
PROBABILITY_SUM_TOLERANCE = 1e-3  # float32 softmax outputs sum to 1 within ~1e-6
CONFIDENCE_TOLERANCE = 1e-6  # confidence must be its label's probability
MAX_NAME_CHARS = 200  # source, model id and version, worker names


def clean_ticker(raw: Any) -> str:
    """One ticker, ``$`` and spaces stripped, upper-cased; ValueError unless it is a symbol."""
    if not isinstance(raw, str):
        raise ValueError(f"ticker {raw!r} is not text")
    value = raw.strip().lstrip("$").upper()
    if not SYMBOL_PATTERN.match(value):
        raise ValueError(f"ticker {raw[:40]!r} is not a symbol (letters, digits and . - = ^ / _, up to 20)")
    return value


def clean_tickers(values: Iterable[Any], limit: int = MAX_TICKERS) -> tuple[str, ...]:
    """Unique symbols in order; ValueError for a bad one or for more than ``limit``."""
    out: dict[str, None] = {}
    for count, raw in enumerate(values, start=1):
        if count > limit * 4:  # do not walk a huge list to the end just to count it
            raise ValueError(f"more than {limit} tickers (at most {limit} per item)")
        if isinstance(raw, str) and not raw.strip():
            continue
        out[clean_ticker(raw)] = None
    if len(out) > limit:
        raise ValueError(f"{len(out)} tickers (at most {limit} per item)")
    return tuple(out)


def check_timestamp(value: Any, what: str = "time") -> float:
    """Finite unix seconds between 1970 and year 9999; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} is not a number: {str(value)[:40]!r}")
    seconds = float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"{what} is not finite ({seconds})")
    if not MIN_TIMESTAMP <= seconds <= MAX_TIMESTAMP:
        raise ValueError(f"{what} {seconds:.0f} is out of range (unix seconds between 1970 and 9999; "
                         "epoch milliseconds must be divided by 1000)")
    return seconds


def strip_control(text: str) -> str:
    """Text without control characters other than tab and newlines (NUL bytes, escapes, bidi)."""
    if text.isprintable():
        return text
    return "".join(ch for ch in text if ch in "\t\n\r" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))


def check_probabilities(probs: Sequence[Any]) -> tuple[float, float, float]:
    """Three finite probabilities in [0, 1] (LABELS order) that sum to 1."""
    if len(probs) != len(LABELS):
        raise ValueError(f"{len(probs)} probabilities, expected {len(LABELS)}")
    values = []
    for label, p in zip(LABELS, probs):
        if isinstance(p, bool) or not isinstance(p, (int, float)):
            raise ValueError(f"probability of {label} is not a number")
        p = float(p)
        if not math.isfinite(p) or not 0.0 <= p <= 1.0:
            raise ValueError(f"probability of {label} is {p}, not in [0, 1]")
        values.append(p)
    total = sum(values)
    if abs(total - 1.0) > PROBABILITY_SUM_TOLERANCE:
        raise ValueError(f"probabilities sum to {total:.6f}, not 1")
    return values[0], values[1], values[2]


def signal_problem(label: Any, probs: Sequence[Any], confidence: Any, compound: Any,
                   entities: Sequence[Any] = ()) -> str:
    """Why a classifier result cannot be trusted as one ("" when it can): the label is one of
    LABELS and the most probable, confidence is its probability, compound is p_bullish - p_bearish."""
    if label not in LABELS:
        return f"label {str(label)[:40]!r} is not one of {', '.join(LABELS)}"
    try:
        p = check_probabilities(probs)
    except ValueError as exc:
        return str(exc)
    for name, value in (("confidence", confidence), ("compound", compound)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            return f"{name} {str(value)[:40]!r} is not a finite number"
    index = LABELS.index(label)
    if not 0.0 <= float(confidence) <= 1.0:
        return f"confidence {float(confidence):g} is not in [0, 1]"
    if abs(float(confidence) - p[index]) > CONFIDENCE_TOLERANCE:
        return f"confidence {float(confidence):.4f} is not the probability of {label} ({p[index]:.4f})"
    if p[index] < max(p) - CONFIDENCE_TOLERANCE:
        return f"label {label} is not the most probable class"
    if abs(float(compound) - (p[1] - p[0])) > CONFIDENCE_TOLERANCE:
        return "compound is not p_bullish - p_bearish"
    if len(entities) > MAX_TICKERS:
        return f"{len(entities)} tickers (at most {MAX_TICKERS})"
    return ""


def stored_signal_problem(signal: Any) -> str:
    """``signal_problem`` for an ``engine.types.Signal``, its calibrated view included."""
    problem = signal_problem(signal.label, signal.probs, signal.confidence, signal.compound, signal.entities)
    shown = signal.calibrated_confidence
    if not problem and shown is not None and not (isinstance(shown, (int, float)) and 0.0 <= shown <= 1.0):
        problem = f"calibrated confidence {shown!r} is not in [0, 1]"
    return problem


def check_name(value: Any, what: str, limit: int = MAX_NAME_CHARS) -> str:
    """A short printable name (source, model id, worker)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} is not text")
    if len(value) > limit:
        raise ValueError(f"{what} is {len(value)} characters (at most {limit})")
    if not value.isprintable():
        raise ValueError(f"{what} holds control characters")
    return value


def plausible_now(seconds: float, slack_s: float = 86_400.0) -> bool:
    """Not in the future by more than ``slack_s`` (clock skew between machines)."""
    return seconds <= time.time() + slack_s
