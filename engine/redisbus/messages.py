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
import math
import time
from dataclasses import dataclass
from typing import Any, Mapping

from engine.news.config import SOURCE_KINDS
from engine.news.events import EventInfo
from engine.news.items import NewsItem, make_item
from engine.sentiment.base import LABELS
from engine.types import Signal

RAW_FIELD_CHARS = 500  # how much of a poison entry's fields the dead-letter stream keeps


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
    for key, value in (fields or {}).items():
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
    published_at = None
    if decoded.get("published_at"):
        try:
            published_at = float(decoded["published_at"])
        except ValueError:
            return Poison(entry, f"published_at is not a number: {decoded['published_at'][:40]!r}", raw)
        if not math.isfinite(published_at):
            return Poison(entry, "published_at is not finite", raw)
    tickers: tuple[str, ...] = ()
    if decoded.get("tickers"):
        value = decoded["tickers"].strip()
        try:
            parsed = json.loads(value) if value.startswith("[") else [t for t in value.split(",")]
        except json.JSONDecodeError:
            return Poison(entry, "tickers is not a JSON list", raw)
        if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
            return Poison(entry, "tickers must be a list of strings", raw)
        tickers = tuple(t.strip().lstrip("$").upper() for t in parsed if t.strip())
    item = make_item(text, decoded.get("source") or default_source, max_chars, source_kind=kind,
                     published_at=published_at, guid=decoded.get("guid") or None,
                     link=decoded.get("link") or None, tickers=tickers)
    if item is None:
        return Poison(entry, "blank text", raw)
    if decoded.get("truncated") == "1" and not item.truncated:
        from dataclasses import replace

        item = replace(item, truncated=True)
    return NewsMessage(entry, item)


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


def decode_result(result_id: Any, fields: Mapping[Any, Any]) -> RemoteResult:
    """Raises ValueError (with the reason) for an entry that is not a worker result."""
    rid = _text(result_id)
    try:
        decoded = {_text(k): _text(v) for k, v in fields.items()}
        payload = json.loads(decoded["payload"])
        probs = payload["probabilities"]
        event = payload.get("event") or {}
        signal = Signal(
            id=None, received_at=float(payload["received_at"]),
            # The original source stays visible (and keeps its own vote in the consensus); the worker
            # that scored it is recorded beside the stored signal.
            source=f"redis:{payload.get('source') or 'news'}",
            text=str(payload["text"]), entities=tuple(str(e) for e in payload.get("entities", ())),
            label=str(payload["label"]), probs=tuple(float(probs[label]) for label in LABELS),  # type: ignore[arg-type]
            confidence=float(payload["confidence"]), compound=float(payload["compound"]),
            model_id=str(payload["model_id"]), model_version=str(payload["model_version"]),
            latency_ms=float(payload.get("latency_ms", 0.0)), truncated=bool(payload.get("truncated", False)))
        info = EventInfo(str(event.get("category", "other")), str(event.get("subcategory", "general")),
                         str(event.get("urgency", "low")), str(event.get("impact", "low")),
                         str(event.get("method", "none")), float(event.get("confidence", 0.0)))
        news_id = decoded.get("news_id") or str(payload.get("news_id") or "")
        if not news_id:
            raise ValueError("no news_id")
        return RemoteResult(rid, news_id, str(payload.get("news_stream") or ""), decoded.get("worker", ""),
                            signal, info, str(payload.get("source_kind") or "news"),
                            float(payload.get("event_time") or signal.received_at))
    except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"result {rid} is not a worker result: {type(exc).__name__}: {exc}") from None
