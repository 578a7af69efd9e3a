"""The news inbox: every accepted item is committed here before its source is acknowledged.

"Acknowledged" means exactly this: the item's row is committed to ``news_inbox``. Only then
does a source advance its cursor (save a feed's ETag, move a dropped file away, count a line
of ``signaldesk ingest`` as done). Scoring later inserts the signal and flips the row to
``done`` in one transaction; rows still ``pending`` after a crash are resumed on the next start.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

from engine.news.items import NewsItem
from engine.store import Store

ALREADY_PROCESSED = "news inbox row already processed"  # the trigger's message (migration 0007)
_COLUMNS = "id, content_key, source, source_kind, text, tickers, published_at, accepted_at, truncated, attempts"
_INSERT_COLUMNS = 10
# SQLite allows 32,766 bound variables per statement; stay well below it.
MAX_ROWS_PER_INSERT = 2000


@dataclass(frozen=True)
class InboxRow:
    id: int
    key: str
    source: str
    source_kind: str
    text: str
    tickers: tuple[str, ...]
    published_at: float | None
    accepted_at: float
    truncated: bool
    attempts: int = 0  # scoring attempts that failed so far (migration 0014)

    @property
    def event_time(self) -> float:
        """When the news happened as far as we know: the source's time unless it lies in the future."""
        if self.published_at is not None and self.published_at <= self.accepted_at + 60:
            return self.published_at
        return self.accepted_at


@dataclass(frozen=True)
class InboxCounts:
    pending: int
    done: int
    failed: int  # the dead-letter list: acknowledged items that could not be scored


@dataclass(frozen=True)
class FailedItem:
    """One entry of the dead-letter list (``Inbox.failed``), for the UI and ``ingest --failed``."""

    id: int
    source: str
    source_kind: str
    text: str
    attempts: int
    error: str  # the last attempt's error
    accepted_at: float
    failed_at: float | None

    def to_dict(self) -> dict:
        from dataclasses import asdict

        return asdict(self)


class Inbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def accept(self, items: Sequence[NewsItem]) -> tuple[list[InboxRow], int]:
        """Commit new items (one statement, so one atomic transaction); return (new rows, duplicates).

        Duplicates (same content key as a row already in the inbox, or earlier in ``items``)
        are not written. The returned rows are acknowledged: they survive a crash.
        """
        if not items:
            return [], 0
        if len(items) > MAX_ROWS_PER_INSERT:
            raise ValueError(f"at most {MAX_ROWS_PER_INSERT} items per accept call")
        now = time.time()
        params: list = []
        for item in items:
            params.extend((item.key, item.source, item.source_kind, item.text, json.dumps(list(item.tickers)),
                           item.published_at, now, item.guid, item.link, int(item.truncated)))
        placeholders = ",".join(["(" + ",".join("?" * _INSERT_COLUMNS) + ")"] * len(items))
        returned = self.store.query(
            "INSERT INTO news_inbox (content_key, source, source_kind, text, tickers, published_at, "
            f"accepted_at, guid, link, truncated) VALUES {placeholders} "
            "ON CONFLICT(content_key) DO NOTHING RETURNING id, content_key", tuple(params))
        by_key = {item.key: item for item in items}
        rows = [
            InboxRow(int(row_id), key, by_key[key].source, by_key[key].source_kind, by_key[key].text,
                     by_key[key].tickers, by_key[key].published_at, now, by_key[key].truncated)
            for row_id, key in sorted(returned)
        ]
        return rows, len(items) - len(rows)

    def max_id(self) -> int:
        return int(self.store.query("SELECT COALESCE(MAX(id), 0) FROM news_inbox")[0][0])

    def pending(self, after_id: int, upto_id: int, limit: int) -> list[InboxRow]:
        rows = self.store.query(
            f"SELECT {_COLUMNS} FROM news_inbox WHERE state = 'pending' AND id > ? AND id <= ? "
            "ORDER BY id LIMIT ?", (int(after_id), int(upto_id), int(limit)))
        return [_row(r) for r in rows]

    def still_pending(self, ids: Iterable[int]) -> set[int]:
        ids = list(ids)
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        rows = self.store.query(f"SELECT id FROM news_inbox WHERE state = 'pending' AND id IN ({marks})", tuple(ids))
        return {int(r[0]) for r in rows}

    def record_failures(self, retry: dict[int, float], dead: Sequence[int], error: str, attempts: dict[int, int]) -> None:
        """One transaction: rows in ``retry`` stay pending with their attempt count and the unix time
        of their next attempt; rows in ``dead`` go to the dead-letter list (state failed)."""
        now = time.time()
        with self.store.transaction() as conn:
            for row_id, due in retry.items():
                conn.execute("UPDATE news_inbox SET attempts = ?, error = ?, next_attempt_at = ? "
                             "WHERE id = ? AND state = 'pending'", (attempts[row_id], error[:500], due, int(row_id)))
            for row_id in dead:
                conn.execute("UPDATE news_inbox SET state = 'failed', attempts = ?, error = ?, processed_at = ?, "
                             "next_attempt_at = NULL WHERE id = ? AND state = 'pending'",
                             (attempts[row_id], error[:500], now, int(row_id)))

    def failed(self, limit: int = 1000) -> list[FailedItem]:
        """The dead-letter list, oldest first: items acknowledged but never scored, with the last error."""
        rows = self.store.query(
            "SELECT id, source, source_kind, text, attempts, COALESCE(error, ''), accepted_at, processed_at "
            "FROM news_inbox WHERE state = 'failed' ORDER BY id LIMIT ?", (int(limit),))
        return [FailedItem(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], float(r[6]), r[7]) for r in rows]

    def retry_failed(self, ids: Sequence[int] | None = None) -> int:
        """Put dead-lettered rows (all, or ``ids``) back to pending with fresh attempts; they are
        scored at the pipeline's next start. Returns how many."""
        sql = "UPDATE news_inbox SET state = 'pending', attempts = 0, next_attempt_at = NULL WHERE state = 'failed'"
        if ids is None:
            return self.store.execute(sql)
        return sum(self.store.execute(sql + " AND id = ?", (int(i),)) for i in ids)

    def counts(self) -> InboxCounts:
        found = dict(self.store.query("SELECT state, COUNT(*) FROM news_inbox GROUP BY state"))
        return InboxCounts(int(found.get("pending", 0)), int(found.get("done", 0)), int(found.get("failed", 0)))


def done_statements(rows: Sequence[InboxRow], signal_ids: Sequence[int], events: Sequence, now: float) -> list[tuple[str, tuple]]:
    """Statements that mark rows done and store their events, for ``Store.add_signals(same_transaction=...)``."""
    statements: list[tuple[str, tuple]] = []
    for row, signal_id, event in zip(rows, signal_ids, events):
        statements.append((
            "UPDATE news_inbox SET state = 'done', signal_id = ?, processed_at = ? WHERE id = ?",
            (int(signal_id), now, row.id)))
        statements.append((
            "INSERT INTO news_events (signal_id, category, subcategory, urgency, impact, method, confidence, "
            "source_kind, event_time) VALUES (?,?,?,?,?,?,?,?,?)",
            (int(signal_id), event.category, event.subcategory, event.urgency, event.impact, event.method,
             float(event.confidence), row.source_kind, row.event_time)))
    return statements


def _row(r: tuple) -> InboxRow:
    return InboxRow(int(r[0]), r[1], r[2], r[3], r[4], tuple(json.loads(r[5] or "[]")),
                    r[6], float(r[7]), bool(r[8]), int(r[9]))
