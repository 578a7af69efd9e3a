"""Read-only look-ups the desk needs around an explanation: what a cited id points at, the
explanation stored with a signal (so it shows again without generating), the event class of a
signal, and status codes in words.

Plain data out (frozen dataclasses); the SQL stays here, behind the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from engine.reasoning.audit import latest_for_signal, read_audit
from engine.reasoning.checks import Check
from engine.reasoning.schema import CITED_PATTERN

_CITED = re.compile(CITED_PATTERN)

# What each ``Explanation.status`` means, for people (the pane, the CLI, logs).
STATUS_TEXT = {
    "ok": "written by the language model",
    "ok_after_retry": "written by the language model on its second attempt",
    "fallback_invalid": "the model's answers did not pass the schema",
    "fallback_checks": "the model's answers failed the faithfulness checks",
    "fallback_timeout": "the model did not finish in time",
    "fallback_error": "the model failed",
    "fallback_breaker_open": "the LLM circuit breaker is open after repeated failures",
    "fallback_no_model": "no language model is available",
    "fallback_prompt_guard": "the prompt failed its guard check",
    "fallback_cancelled": "cancelled",
}


def describe_status(status: str) -> str:
    return STATUS_TEXT.get(status, status.removeprefix("fallback_").replace("_", " "))


def describe_fallback(status: str) -> str:
    """Why the evidence-based explanation was used, as its own text says it."""
    return describe_status(status).replace("LLM ", "")


@dataclass(frozen=True)
class CitedSource:
    id: str  # "signal:12" | "note:3"
    kind: str  # signal | note
    ref_id: int
    text: str
    at: float  # unix seconds: received (signal) or written (note)
    label: str | None  # the classifier's label (signals)
    confidence: float | None  # the classifier's raw confidence (signals)
    origin: str  # the signal's source (paste, feed name, …) or the note's author
    model: str  # "model_id version" that scored a signal; "" for notes
    signal_id: int | None  # the signal a note was written about, if any


def cited_source(store: Any, cited_id: str) -> CitedSource:
    cited_id = str(cited_id or "").strip()
    if not _CITED.match(cited_id):
        raise ValueError(f"{cited_id!r} is not a cited id (signal:N or note:N)")
    kind, _, ref = cited_id.partition(":")
    ref_id = int(ref)
    if kind == "signal":
        rows = store.query("SELECT received_at, source, text, label, confidence, model_id, model_version "
                           "FROM signals WHERE id = ?", (ref_id,))
        if not rows:
            raise ValueError(f"{cited_id} is no longer stored")
        at, source, text, label, confidence, model_id, version = rows[0]
        return CitedSource(cited_id, kind, ref_id, text, float(at), label, float(confidence), source,
                           f"{model_id} {version}", ref_id)
    rows = store.query("SELECT created_at, author, signal_id, text FROM analyst_notes WHERE id = ?", (ref_id,))
    if not rows:
        raise ValueError(f"{cited_id} is no longer stored")
    at, author, signal_id, text = rows[0]
    return CitedSource(cited_id, kind, ref_id, text, float(at), None, None, author, "", signal_id)


@dataclass(frozen=True)
class StoredExplanation:
    """The newest explanation stored with a signal, with the audit figures that go with it."""

    signal_id: int
    audit_id: int
    created_at: float
    mode: str  # plain | chain
    signal: dict  # the J6 structured signal
    chain: tuple  # five {"step", "title", "text"} dicts, () in plain mode
    cited: tuple[str, ...]
    retrieved: tuple[dict, ...]  # {"id", "score"} as the audit keeps them
    fallback_used: bool
    status: str
    model_id: str
    model_version: str
    latency_ms: float
    first_token_ms: float | None
    completion_tokens: int
    errors: tuple[str, ...]
    checks: tuple = ()  # engine.reasoning.checks.Check, as stored in the audit
    model_source: str = ""

    @property
    def sentiment_disagreement(self) -> bool:
        return any(c.name == "sentiment" and not c.passed for c in self.checks)

    @property
    def insufficient_data(self) -> bool:
        return not self.retrieved


def stored_explanation(store: Any, signal_id: int) -> StoredExplanation | None:
    latest = latest_for_signal(store, int(signal_id))
    if latest is None:
        return None
    record = read_audit(store, latest["audit_id"])
    if record is None:  # cannot happen (append-only, referenced); show what the link holds
        return StoredExplanation(int(signal_id), latest["audit_id"], latest["created_at"], latest["mode"],
                                 latest["signal"], tuple(latest["chain"]), tuple(latest["cited"]), (),
                                 latest["fallback_used"], "", "", "", 0.0, None, 0, ())
    return StoredExplanation(int(signal_id), record.id, record.created_at, record.mode, latest["signal"],
                             tuple(latest["chain"]), tuple(latest["cited"]), tuple(record.retrieved),
                             record.fallback_used, record.status, record.model_id, record.model_version,
                             float(record.latency_ms), record.first_token_ms, int(record.completion_tokens),
                             tuple(record.errors), tuple(Check.from_dict(c) for c in record.checks),
                             record.model_source)


@dataclass(frozen=True)
class SignalEvent:
    category: str
    subcategory: str
    urgency: str
    impact: str
    method: str  # as the live pipeline stored it, or "rules" when classified here


def signal_event(store: Any, signal_id: int | None, text: str = "") -> SignalEvent:
    """The event class stored by the live pipeline, else the rule-based class of the text (cheap,
    no model: pasted headlines have no stored event). Without ``text`` the stored one is used."""
    if store is not None and signal_id is not None:
        rows = store.query("SELECT category, subcategory, urgency, impact, method FROM news_events "
                           "WHERE signal_id = ?", (int(signal_id),))
        if rows:
            return SignalEvent(*rows[0])
        if not text:
            found = store.query("SELECT text FROM signals WHERE id = ?", (int(signal_id),))
            text = found[0][0] if found else ""
    from engine.news.events import OTHER, describe, rule_result

    result = rule_result(text)
    if result.category is None:
        return SignalEvent(OTHER.category, OTHER.subcategory, OTHER.urgency, OTHER.impact, "rules")
    info = describe(text, result.category, result.subcategories.get(result.category, "general"), "rules", 1.0)
    return SignalEvent(info.category, info.subcategory, info.urgency, info.impact, "rules")
