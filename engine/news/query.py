"""Paged, filtered reads of stored news for the News panel's table (all rows stay in SQLite).

The view asks for one page at a time (newest first) with filters for asset, label, event
category, minimum confidence and a free-text search; it gets plain frozen rows back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from engine.news.config import CATEGORIES
from engine.sentiment.base import LABELS

MAX_PAGE = 5000


@dataclass(frozen=True)
class NewsFilter:
    asset: str = ""  # a ticker; "" = any
    label: str = ""  # bullish | bearish | neutral; "" = any
    category: str = ""  # an event category; "" = any
    min_confidence: float = 0.0
    search: str = ""  # case-insensitive substring of the headline
    before_id: int | None = None  # keyset paging: rows with a smaller signal id
    limit: int = 200

    def __post_init__(self) -> None:
        if self.label and self.label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}")
        if self.category and self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
        if not 0 < self.limit <= MAX_PAGE:
            raise ValueError(f"limit must be in 1..{MAX_PAGE}")


@dataclass(frozen=True)
class NewsRow:
    signal_id: int
    received_at: float
    event_time: float
    source: str
    source_kind: str
    text: str
    tickers: tuple[str, ...]
    label: str
    confidence: float
    compound: float
    model_id: str
    category: str  # "" for signals scored outside the pipeline (e.g. before it existed)
    subcategory: str
    urgency: str
    impact: str


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query_news(store, f: NewsFilter) -> tuple[NewsRow, ...]:
    """One page, newest first; pass the last row's ``signal_id`` as ``before_id`` for the next."""
    where, params = [], []
    if f.before_id is not None:
        where.append("s.id < ?")
        params.append(int(f.before_id))
    if f.asset:
        # entities is a JSON list of upper-case tickers: match the quoted element exactly.
        where.append("s.entities LIKE ? ESCAPE '\\'")
        params.append(f'%"{_escape_like(f.asset.strip().lstrip("$").upper())}"%')
    if f.label:
        where.append("s.label = ?")
        params.append(f.label)
    if f.category:
        where.append("e.category = ?")
        params.append(f.category)
    if f.min_confidence > 0:
        where.append("s.confidence >= ?")
        params.append(float(f.min_confidence))
    if f.search.strip():
        where.append("s.text LIKE ? ESCAPE '\\'")  # SQLite LIKE is case-insensitive for ASCII
        params.append(f"%{_escape_like(f.search.strip())}%")
    sql = ("SELECT s.id, s.received_at, COALESCE(e.event_time, s.received_at), s.source, COALESCE(e.source_kind, 'news'), "
           "s.text, s.entities, s.label, s.confidence, s.compound, s.model_id, COALESCE(e.category, ''), "
           "COALESCE(e.subcategory, ''), COALESCE(e.urgency, ''), COALESCE(e.impact, '') "
           "FROM signals s LEFT JOIN news_events e ON e.signal_id = s.id"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY s.id DESC LIMIT ?")
    params.append(int(f.limit))
    return tuple(NewsRow(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7], r[8], r[9], r[10],
                         r[11], r[12], r[13], r[14]) for r in store.query(sql, tuple(params)))
