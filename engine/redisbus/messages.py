"""What travels on the streams, and how it is checked.

News stream entry (``ingest --redis`` writes it; any producer may): field ``text`` (required,
UTF-8), optional ``source``, ``kind`` (news | analyst | social), ``published_at`` (unix seconds),
``tickers`` (JSON list or comma-separated), ``guid``, ``link``, ``truncated`` (0/1), ``key``
(the dedupe key of engine/news/items.py). An entry without usable text, with bytes that are not
UTF-8, or with a bad field is *poison*: a worker acks it and writes it to the dead-letter stream
with the reason (:class:`Poison`).

Signal payload (JSON, the value of ``latest:<A>``, each ``history:<A>`` item, and the
``payload`` field of the results and signals streams): see :func:`signal_payload`. ``uid`` names
the signal across every desk and worker: ``news:<news entry id>`` for worker results,
``<desk origin>:<signal id>`` for signals a desk stored itself.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Mapping

from engine.news.config import CATEGORIES, SOURCE_KINDS
from engine.news.events import EventInfo
from engine.news.items import NewsItem, make_item
from engine.redisbus import signing
from engine.sentiment.base import LABELS
from engine.types import EntityLink, Signal
from engine.validation import (check_name, check_timestamp, check_probabilities, clean_tickers, plausible_now,
                               signal_problem)

RAW_FIELD_CHARS = 500  # how much of a poison entry's fields the dead-letter stream keeps
# Bounds checked before an entry is decoded (Redis allows 512 MB a field). A headline is cut to
# max_item_chars anyway; a text field over 1 MB is not a headline.
MAX_FIELDS = 32
MAX_FIELD_BYTES = 4096
MAX_TEXT_BYTES = 1 << 20
MAX_PAYLOAD_BYTES = 64 * 1024  # a result's signal JSON: a cut headline and a few numbers
MAX_RESULT_TEXT_CHARS = 20_000
IMPACT_LEVELS = ("low", "medium", "high")


@dataclass(frozen=True)
class NewsMessage:
    entry_id: str
    item: NewsItem


@dataclass(frozen=True)
class Poison:
    entry_id: str
    reason: str
    fields_json: str  # the raw fields, readable (bytes that are not UTF-8 shown as \\x escapes)


def news_fields(item: NewsItem) -> dict[str, str]:
    """Stream fields of one item (empty optional fields left out)."""
    fields = {"text": item.text, "source": item.source, "kind": item.source_kind, "key": item.key}
    if item.published_at is not None:
        fields["published_at"] = repr(float(item.published_at))
    if item.tickers:
        fields["tickers"] = json.dumps(list(item.tickers))
    if item.guid:
        fields["guid"] = item.guid
    if item.link:
        fields["link"] = item.link
    if item.truncated:
        fields["truncated"] = "1"
    return fields


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def raw_fields_json(fields: Mapping[Any, Any]) -> str:
    shown = {}
    for key, value in list((fields or {}).items())[:MAX_FIELDS]:
        key, value = key[:RAW_FIELD_CHARS * 4], value[:RAW_FIELD_CHARS * 4]
        k = key.decode("utf-8", "backslashreplace") if isinstance(key, (bytes, bytearray)) else str(key)
        v = value.decode("utf-8", "backslashreplace") if isinstance(value, (bytes, bytearray)) else str(value)
        shown[k] = v[:RAW_FIELD_CHARS]
    return json.dumps(shown, ensure_ascii=False)


def decode_news(entry_id: Any, fields: Mapping[Any, Any] | None, max_chars: int,
                default_source: str = "redis") -> NewsMessage | Poison:
    """A news entry as a NewsItem, or the reason it cannot be scored."""
    entry = _text(entry_id)
    if fields is None:  # XAUTOCLAIM reports entries deleted (trimmed) while pending this way
        return Poison(entry, "entry deleted from the stream before it was scored", "{}")
    oversized = _oversized(fields)
    if oversized:
        return Poison(entry, oversized, raw_fields_json(fields))
    try:
        decoded = {_text(k): _text(v) for k, v in fields.items()}
    except UnicodeDecodeError as exc:
        return Poison(entry, f"not UTF-8: {exc.reason} at byte {exc.start}", raw_fields_json(fields))
    raw = raw_fields_json(fields)
    text = decoded.get("text")
    if text is None:
        return Poison(entry, "no 'text' field", raw)
    kind = decoded.get("kind") or "news"
    if kind not in SOURCE_KINDS:
        return Poison(entry, f"kind must be one of {', '.join(SOURCE_KINDS)}, got {kind!r}", raw)
    try:
        source = check_name(decoded.get("source") or default_source, "source")
        published_at = _published_at(decoded.get("published_at"))
        tickers = _tickers(decoded.get("tickers"))
    except ValueError as exc:
        return Poison(entry, str(exc), raw)
    item = make_item(text, source, max_chars, source_kind=kind,
                     published_at=published_at, guid=decoded.get("guid") or None,
                     link=decoded.get("link") or None, tickers=tickers)
    if item is None:
        return Poison(entry, "blank text", raw)
    if decoded.get("truncated") == "1" and not item.truncated:
        from dataclasses import replace

        item = replace(item, truncated=True)
    return NewsMessage(entry, item)


def _oversized(fields: Mapping[Any, Any]) -> str:
    """Why an entry is too big to decode ("" when it is not): bounded before any decoding."""
    if len(fields) > MAX_FIELDS:
        return f"{len(fields)} fields (at most {MAX_FIELDS})"
    for key, value in fields.items():
        name = key.decode("utf-8", "replace") if isinstance(key, (bytes, bytearray)) else str(key)
        limit = MAX_TEXT_BYTES if name == "text" else MAX_FIELD_BYTES
        if len(key) > MAX_FIELD_BYTES or len(value) > limit:
            return f"field {name[:40]!r} is {len(value):,} bytes (at most {limit:,})"
    return ""


def _published_at(value: str | None) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"published_at is not a number: {value[:40]!r}") from None
    return check_timestamp(number, "published_at")


def _tickers(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    value = value.strip()
    try:
        parsed = json.loads(value) if value.startswith("[") else value.split(",")
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("tickers is not a JSON list") from None
    if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
        raise ValueError("tickers must be a list of strings")
    return clean_tickers(parsed)


def signal_payload(signal: Signal, event: EventInfo, *, uid: str, source_kind: str, event_time: float,
                   news_id: str = "", news_stream: str = "", worker: str = "", origin: str = "") -> dict[str, Any]:
    """The JSON published for one signal (one schema for desk signals and worker results)."""
    return {
        "uid": uid,
        "news_id": news_id,
        "news_stream": news_stream,
        "worker": worker,
        "origin": origin,
        "signal_id": signal.id,
        "text": signal.text,
        "source": signal.source,
        "source_kind": source_kind,
        "entities": list(signal.entities),
        "links": [link.to_dict() for link in signal.links],
        "label": signal.label,
        "probabilities": signal.probabilities,
        "confidence": signal.confidence,
        "compound": signal.compound,
        "model_id": signal.model_id,
        "model_version": signal.model_version,
        "latency_ms": signal.latency_ms,
        "truncated": signal.truncated,
        "received_at": signal.received_at,
        "event_time": event_time,
        "event": event.to_dict(),
        "published_at": time.time(),
    }


MAX_LINKS = 64  # a result's entity links beyond this are not read (untrusted payload)


@dataclass(frozen=True)
class RemoteResult:
    """A worker result read back from the results stream."""

    result_id: str
    news_id: str
    news_stream: str
    worker: str
    signal: Signal  # id None until the subscriber stores it
    event: EventInfo
    source_kind: str
    event_time: float


class RejectedResult(ValueError):
    """A results-stream entry the desk does not store; the message is the reason (dead-lettered)."""


def decode_result(result_id: Any, fields: Mapping[Any, Any], key: bytes) -> RemoteResult:
    """A worker result whose signature verifies with the desk ``key`` and whose every field is
    valid; raises RejectedResult with the reason otherwise. Checked in order of cost: sizes
    (before decoding), the signature (before parsing), then the JSON and each field."""
    rid = _text(result_id)
    oversized = _oversized({k: v for k, v in fields.items() if k not in (b"payload", "payload")})
    payload_raw = fields.get(b"payload", fields.get("payload"))
    if oversized or payload_raw is None or len(payload_raw) > MAX_PAYLOAD_BYTES:
        reason = oversized or ("no payload" if payload_raw is None
                               else f"payload is {len(payload_raw):,} bytes (at most {MAX_PAYLOAD_BYTES:,})")
        raise RejectedResult(f"result {rid}: {reason}")
    try:
        decoded = {_text(k): _text(v) for k, v in fields.items()}
    except UnicodeDecodeError as exc:
        raise RejectedResult(f"result {rid}: not UTF-8 ({exc.reason})") from None
    news_id, payload_text = decoded.get("news_id", ""), decoded["payload"]
    _check_signature(rid, decoded, key)
    try:
        payload = json.loads(payload_text)
        if not isinstance(payload, dict):
            raise ValueError("payload is not a JSON object")
        signal, info, source_kind, event_time = _result_fields(payload)
    except RecursionError:
        raise RejectedResult(f"result {rid}: payload nested too deeply") from None
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise RejectedResult(f"result {rid}: invalid: {detail}") from None
    news_stream = str(payload.get("news_stream") or "")
    if payload.get("news_id") not in (None, "", news_id):
        raise RejectedResult(f"result {rid}: payload news_id differs from the entry's")
    return RemoteResult(rid, news_id, news_stream, decoded.get("worker", ""), signal, info, source_kind, event_time)


def _check_signature(rid: str, decoded: Mapping[str, str], key: bytes) -> None:
    news_id = decoded.get("news_id", "")
    if not news_id:
        raise RejectedResult(f"result {rid}: no news_id")
    signature, kid = decoded.get("sig", ""), decoded.get("kid", "")
    if not signature:
        raise RejectedResult(f"result {rid}: unsigned (workers sign results with the desk key)")
    if kid and kid != signing.key_id(key):
        raise RejectedResult(f"result {rid}: signed with key {kid[:12]}, not the desk's {signing.key_id(key)}: "
                             "give the worker the desk key (SIGNALDESK_REDIS_HMAC_KEY)")
    if not signing.verify(key, news_id, decoded["payload"], signature):
        raise RejectedResult(f"result {rid}: bad signature")


def _result_fields(payload: dict) -> tuple[Signal, EventInfo, str, float]:
    """The signal and event of a (signature-checked) payload; ValueError naming the first bad field."""
    probs = payload["probabilities"]
    if not isinstance(probs, dict) or sorted(probs) != sorted(LABELS):
        raise ValueError(f"probabilities must have exactly {', '.join(LABELS)}")
    p = check_probabilities([probs[label] for label in LABELS])
    entities = payload.get("entities", [])
    if not isinstance(entities, list):
        raise ValueError("entities must be a list")
    problem = signal_problem(payload["label"], p, payload["confidence"], payload["compound"], entities)
    if problem:
        raise ValueError(problem)
    text = payload["text"]
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_RESULT_TEXT_CHARS:
        raise ValueError(f"text must be 1 to {MAX_RESULT_TEXT_CHARS:,} characters")
    received_at = check_timestamp(payload["received_at"], "received_at")
    if not plausible_now(received_at):
        raise ValueError("received_at is in the future")
    latency = payload.get("latency_ms", 0.0)
    if isinstance(latency, bool) or not isinstance(latency, (int, float)) or not 0 <= latency < 1e7:
        raise ValueError("latency_ms must be a number of milliseconds")
    if not isinstance(payload.get("truncated", False), bool):
        raise ValueError("truncated must be true or false")
    source_kind = payload.get("source_kind") or "news"
    if source_kind not in SOURCE_KINDS:
        raise ValueError(f"source_kind must be one of {', '.join(SOURCE_KINDS)}")
    signal = Signal(
        id=None, received_at=received_at,
        # The original source stays visible (and keeps its own vote in the consensus); the worker
        # that scored it is recorded beside the stored signal.
        source=f"redis:{check_name(payload.get('source') or 'news', 'source')}",
        text=text, entities=clean_tickers(entities), label=payload["label"], probs=p,
        confidence=float(payload["confidence"]), compound=float(payload["compound"]),
        model_id=check_name(payload["model_id"], "model_id"),
        model_version=check_name(payload["model_version"], "model_version"),
        latency_ms=float(latency), truncated=payload.get("truncated", False), links=_links(payload, text))
    event_time = check_timestamp(payload.get("event_time") or received_at, "event_time")
    return signal, _event(payload.get("event") or {}), source_kind, event_time


def _links(payload: dict, text: str) -> tuple[EntityLink, ...]:
    """The result's entity links (spans in its own text), at most MAX_LINKS; a malformed one is an error."""
    raw = payload.get("links") or []
    if not isinstance(raw, list):
        raise ValueError("links must be a list")
    links = []
    for item in raw[:MAX_LINKS]:
        if not isinstance(item, dict):
            raise ValueError("each link must be an object")
        link = EntityLink.from_dict(item)
        if not clean_tickers([link.symbol]) or not 0 <= link.start <= link.end <= len(text):
            raise ValueError(f"link {link.symbol!r} {link.start}-{link.end} does not fit the text")
        links.append(link)
    return tuple(links)


def _event(event: Any) -> EventInfo:
    if not isinstance(event, dict):
        raise ValueError("event must be an object")
    category = event.get("category", "other")
    if category not in CATEGORIES:
        raise ValueError(f"event category must be one of {', '.join(CATEGORIES)}")
    urgency, impact = event.get("urgency", "low"), event.get("impact", "low")
    if urgency not in IMPACT_LEVELS or impact not in IMPACT_LEVELS:
        raise ValueError(f"event urgency and impact must be one of {', '.join(IMPACT_LEVELS)}")
    confidence = event.get("confidence", 0.0)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0.0 <= confidence <= 1.0:
        raise ValueError("event confidence must be in [0, 1]")
    return EventInfo(category, check_name(event.get("subcategory", "general"), "event subcategory", 64),
                     urgency, impact, check_name(event.get("method", "none"), "event method", 32), float(confidence))
