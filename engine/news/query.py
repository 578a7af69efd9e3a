"""Paged, filtered, sorted reads of stored news for the News panel's table (all rows stay in SQLite).

The view asks for one page at a time with filters for asset, label, event category, minimum
confidence and a free-text search, sorted by one column (newest first by default); it gets
plain frozen rows back.

Paging is by keyset, not OFFSET: a page ends at a row, and the next page asks for the rows
that sort after it (its sort values, then its id to break ties). New rows streaming in can
therefore never shift a page or make one row show twice or go missing. ``sort_key`` gives a
row's sort values in Python exactly as SQLite compares them, so the view can put a streamed
row where the next query would have put it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from engine.news.config import CATEGORIES
from engine.sentiment.base import LABELS
from engine.textsearch import SQL_FUNCTION, glob_pattern

MAX_PAGE = 5000
MAX_ASSETS_FILTER = 500  # a watchlist holds at most 500 symbols (engine/entities/watchlist.py)

# Sort keys the view offers, and the SQL expressions each one orders by (then s.id breaks ties).
# Text columns compare with NOCASE (ASCII letters folded), the others as stored.
SORT_SQL: dict[str, tuple[str, ...]] = {
    "time": (),  # ids grow with arrival: id order is arrival order, and it is the primary key
    "source": ("s.source COLLATE NOCASE",),
    "tickers": ("COALESCE(json_extract(s.entities, '$[0]'), '')",),  # by the first ticker; none sort first
    "event": ("COALESCE(e.category, '')", "COALESCE(e.subcategory, '')"),
    "label": ("s.label",),
    "confidence": ("s.confidence",),
    "text": ("s.text COLLATE NOCASE",),
}
SORT_KEYS: tuple[str, ...] = tuple(SORT_SQL)
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")  # SQLite's NOCASE


@dataclass(frozen=True)
class NewsFilter:
    asset: str = ""  # a ticker; "" = any
    # Any of these symbols (the watchlist, for the Live tab's "watchlist only"); () = no such filter.
    # An empty watchlist with the filter on is ``assets=("",)``: it matches nothing, as it should.
    assets: tuple[str, ...] = ()
    label: str = ""  # bullish | bearish | neutral; "" = any
    category: str = ""  # an event category; "" = any
    min_confidence: float = 0.0
    search: str = ""  # case-insensitive substring of the headline, any script (engine/textsearch.py)
    sort: str = "time"  # one of SORT_KEYS
    descending: bool = True
    # Keyset paging: the page starts after the row with this id and these sort values (``after``,
    # empty for "time"); ``next_page`` fills both. The name is from when pages only went newest-first.
    before_id: int | None = None
    after: tuple = ()
    limit: int = 200

    def __post_init__(self) -> None:
        if self.sort not in SORT_SQL:
            raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}")
        if self.before_id is not None and len(self.after) != len(SORT_SQL[self.sort]):
            raise ValueError(f"a page after a row sorted by {self.sort} needs {len(SORT_SQL[self.sort])} sort value(s)")
        if self.label and self.label not in LABELS:
            raise ValueError(f"label must be one of {', '.join(LABELS)}")
        if self.category and self.category not in CATEGORIES:
            raise ValueError(f"category must be one of {', '.join(CATEGORIES)}")
        if not 0 < self.limit <= MAX_PAGE:
            raise ValueError(f"limit must be in 1..{MAX_PAGE}")
        if len(self.assets) > MAX_ASSETS_FILTER:
            raise ValueError(f"at most {MAX_ASSETS_FILTER} symbols in one filter")


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


def sort_key(row: NewsRow, sort: str) -> tuple:
    """The row's values for ``sort`` as SQLite orders them (without the id tie-break)."""
    if sort == "time":
        return ()
    if sort == "source":
        return (row.source.translate(_ASCII_FOLD),)
    if sort == "tickers":
        return (row.tickers[0] if row.tickers else "",)
    if sort == "event":
        return (row.category, row.subcategory)
    if sort == "label":
        return (row.label,)
    if sort == "confidence":
        return (row.confidence,)
    if sort == "text":
        return (row.text.translate(_ASCII_FOLD),)
    raise ValueError(f"sort must be one of {', '.join(SORT_KEYS)}")


def order_key(row: NewsRow, sort: str) -> tuple:
    """Sort values then id: ascending in this key is the query's ascending order."""
    return (*sort_key(row, sort), row.signal_id)


def next_page(f: NewsFilter, last: NewsRow) -> NewsFilter:
    """The filter for the page after ``last`` (the last row of the page before)."""
    return replace(f, before_id=last.signal_id, after=sort_key(last, f.sort))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def query_news(store, f: NewsFilter) -> tuple[NewsRow, ...]:
    """One page in the filter's order; ``next_page(f, rows[-1])`` asks for the next one."""
    where, params = [], []
    keys = (*SORT_SQL[f.sort], "s.id")
    op = "<" if f.descending else ">"
    if f.before_id is not None:
        # Lexicographic "after the cursor": (k1 op v1) OR (k1 = v1 AND k2 op v2) OR ... with the id last.
        values = (*f.after, int(f.before_id))
        ors = []
        for i, key in enumerate(keys):
            ors.append("(" + " AND ".join([f"{k} = ?" for k in keys[:i]] + [f"{key} {op} ?"]) + ")")
            params.extend(values[:i + 1])
        where.append("(" + " OR ".join(ors) + ")")
    if f.asset:
        # entities is a JSON list of upper-case tickers: match the quoted element exactly.
        where.append("s.entities LIKE ? ESCAPE '\\'")
        params.append(f'%"{_escape_like(f.asset.strip().lstrip("$").upper())}"%')
    if f.assets:
        marks = ",".join("?" * len(f.assets))
        where.append(f"EXISTS (SELECT 1 FROM json_each(s.entities) WHERE value IN ({marks}))")
        params.extend(a.strip().lstrip("$").upper() for a in f.assets)
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
        # Not LIKE, which folds ASCII only: the stored folded copy, searched with the folded query
        # (a row written outside Store.add_signals has none and is folded on the fly).
        where.append(f"COALESCE(s.search_text, {SQL_FUNCTION}(s.text)) GLOB ?")
        params.append(glob_pattern(f.search))
    sql = ("SELECT s.id, s.received_at, COALESCE(e.event_time, s.received_at), s.source, COALESCE(e.source_kind, 'news'), "
           "s.text, s.entities, s.label, s.confidence, s.compound, s.model_id, COALESCE(e.category, ''), "
           "COALESCE(e.subcategory, ''), COALESCE(e.urgency, ''), COALESCE(e.impact, '') "
           "FROM signals s LEFT JOIN news_events e ON e.signal_id = s.id"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY " + ", ".join(f"{k} {'DESC' if f.descending else 'ASC'}" for k in keys) + " LIMIT ?")
    params.append(int(f.limit))
    return tuple(NewsRow(r[0], r[1], r[2], r[3], r[4], r[5], tuple(json.loads(r[6])), r[7], r[8], r[9], r[10],
                         r[11], r[12], r[13], r[14]) for r in store.query(sql, tuple(params)))
