"""SQL for the idea book: revisions (``ideas``), per-asset ideas, their events, and the
headlines naming an asset. Plain functions on a connection or a query callable, so the book
can run them inside one write transaction.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Callable, Sequence

from engine.ideas.evidence import Headline
from engine.ideas.model import AssetIdea, AuditEntry, IdeaEvent, TradeIdea
from engine.store import SIGNAL_COLUMNS, signal_from_row
from engine.types import Signal

Query = Callable[[str, tuple], list]

_REVISION_COLUMNS = ("created_at, signal_id, symbol, direction, strategy, regime, confidence, risk_level, "
                     "risk_score, proposed_size, size_limit, entry, stop_loss, take_profit, snapshot, "
                     "snapshot_sha256, state, size, updated_at, raw_confidence, calibrator, asset_idea_id, "
                     "revision, horizon, evidence_key, change")
INSERT_REVISION = (f"INSERT INTO ideas ({_REVISION_COLUMNS}) "
                   f"VALUES ({','.join('?' * len(_REVISION_COLUMNS.split(',')))})")
AUDIT_COLUMNS = "id, idea_id, at, action, from_state, to_state, size_before, size_after, note, actor"
INSERT_AUDIT = (f"INSERT INTO idea_audit ({AUDIT_COLUMNS.removeprefix('id, ')}) "
                "VALUES (?,?,?,?,?,?,?,?,?)")
_ASSET_COLUMNS = "id, symbol, horizon, direction, opened_at, status, closed_at, close_reason, flipped_from"
_EVENT_COLUMNS = "id, asset_idea_id, at, kind, revision_id, reason, detail"

# A revision with its idea's status and whether it is the idea's newest revision.
SELECT_IDEAS = (
    "SELECT i.id, i.created_at, i.signal_id, i.symbol, i.direction, i.strategy, i.regime, i.confidence, "
    "i.risk_level, i.risk_score, i.proposed_size, i.size_limit, i.entry, i.stop_loss, i.take_profit, "
    "i.snapshot, i.snapshot_sha256, i.state, i.size, i.updated_at, i.raw_confidence, i.calibrator, "
    "i.asset_idea_id, i.revision, i.horizon, i.change, COALESCE(a.status, 'legacy'), "
    "CASE WHEN i.asset_idea_id IS NULL THEN 1 ELSE i.revision = "
    "(SELECT MAX(j.revision) FROM ideas j WHERE j.asset_idea_id = i.asset_idea_id) END "
    "FROM ideas i LEFT JOIN asset_ideas a ON a.id = i.asset_idea_id")
CURRENT = ("(i.asset_idea_id IS NULL OR i.revision = "
           "(SELECT MAX(j.revision) FROM ideas j WHERE j.asset_idea_id = i.asset_idea_id))")

# What the desk holds: per open idea, its latest decided revision when that was an approval
# (a pending newer revision changes nothing until decided; a rejection withdraws it), plus
# approved ideas from before the per-asset book.
EXPOSURE = (
    "SELECT i.id, i.symbol, i.direction, i.size, i.asset_idea_id FROM ideas i "
    "JOIN asset_ideas a ON a.id = i.asset_idea_id AND a.status = 'open' "
    "WHERE i.state = 'approved' AND i.revision = (SELECT MAX(j.revision) FROM ideas j "
    "WHERE j.asset_idea_id = i.asset_idea_id AND j.state != 'proposed') "
    "UNION ALL SELECT id, symbol, direction, size, NULL FROM ideas WHERE asset_idea_id IS NULL AND state = 'approved'")

_SIGNALS = ", ".join(f"s.{name.strip()}" for name in SIGNAL_COLUMNS.split(","))
_HEADLINES = (
    f"SELECT {_SIGNALS}, e.category, e.source_kind, e.event_time FROM signal_assets a "
    "JOIN signals s ON s.id = a.signal_id LEFT JOIN news_events e ON e.signal_id = s.id "
    "WHERE a.asset = ? AND a.received_at >= ? AND a.received_at <= ? ORDER BY s.id")


def to_idea(row: Sequence) -> TradeIdea:
    return TradeIdea(*row[:-1], current=bool(row[-1]))


def to_asset_idea(row: Sequence) -> AssetIdea:
    return AssetIdea(*row)


def to_event(row: Sequence) -> IdeaEvent:
    return IdeaEvent(*row)


def to_audit(row: Sequence) -> AuditEntry:
    return AuditEntry(*row)


def open_idea(conn: sqlite3.Connection, symbol: str) -> AssetIdea | None:
    """The open idea on ``symbol``, whatever its horizon (the book keeps one per symbol)."""
    row = conn.execute(f"SELECT {_ASSET_COLUMNS} FROM asset_ideas WHERE symbol = ? AND status = 'open' "
                       "ORDER BY id LIMIT 1", (symbol,)).fetchone()
    return to_asset_idea(row) if row else None


def asset_idea(query: Query, idea_no: int) -> AssetIdea | None:
    rows = query(f"SELECT {_ASSET_COLUMNS} FROM asset_ideas WHERE id = ?", (int(idea_no),))
    return to_asset_idea(rows[0]) if rows else None


def head(conn: sqlite3.Connection, idea_no: int) -> TradeIdea:
    row = conn.execute(f"{SELECT_IDEAS} WHERE i.asset_idea_id = ? ORDER BY i.revision DESC LIMIT 1",
                       (idea_no,)).fetchone()
    return to_idea(row)


def events(query: Query, idea_no: int) -> list[IdeaEvent]:
    return [to_event(r) for r in query(f"SELECT {_EVENT_COLUMNS} FROM idea_events WHERE asset_idea_id = ? "
                                       "ORDER BY id", (int(idea_no),))]


def add_event(conn: sqlite3.Connection, idea_no: int, at: float, kind: str, revision_id: int | None, reason: str,
              detail: dict) -> None:
    conn.execute("INSERT INTO idea_events (asset_idea_id, at, kind, revision_id, reason, detail) "
                 "VALUES (?,?,?,?,?,?)", (idea_no, at, kind, revision_id, reason,
                                          json.dumps(detail, sort_keys=True, allow_nan=False)))


def open_new(conn: sqlite3.Connection, symbol: str, horizon: str, direction: str, at: float,
             flipped_from: int | None) -> int:
    cur = conn.execute("INSERT INTO asset_ideas (symbol, horizon, direction, opened_at, flipped_from) "
                       "VALUES (?,?,?,?,?)", (symbol, horizon, direction, at, flipped_from))
    return int(cur.lastrowid)


def close(conn: sqlite3.Connection, idea_no: int, at: float, reason: str, detail: dict) -> None:
    conn.execute("UPDATE asset_ideas SET status = 'closed', closed_at = ?, close_reason = ? WHERE id = ?",
                 (at, reason, idea_no))
    add_event(conn, idea_no, at, "closed", None, reason, detail)


def exposure(query: Query, exclude_idea: int | None = None, exclude_row: int | None = None) -> list[tuple]:
    """(revision id, symbol, direction, size, idea no) of what the desk holds; see EXPOSURE."""
    return [r for r in query(EXPOSURE, ())
            if (exclude_idea is None or r[4] != exclude_idea) and (exclude_row is None or r[0] != exclude_row)]


def symbols_with_news(query: Query, since: float, until: float) -> list[str]:
    return [r[0] for r in query("SELECT DISTINCT asset FROM signal_assets WHERE received_at >= ? AND "
                                "received_at <= ?", (since, until))]


def is_open(query: Query, symbol: str) -> bool:
    return bool(query("SELECT 1 FROM asset_ideas WHERE symbol = ? AND status = 'open' LIMIT 1", (symbol,)))


def open_symbols(query: Query) -> list[str]:
    return [r[0] for r in query("SELECT DISTINCT symbol FROM asset_ideas WHERE status = 'open'", ())]


def headlines(query: Query, symbol: str, since: float, until: float,
              classify: Callable[[Signal], str]) -> tuple[list[Headline], list[tuple]]:
    """The stored signals naming ``symbol`` that arrived in [since, until], with their event
    class (``classify`` for pasted ones, which never went through the news pipeline) and
    source kind ("news" for pasted ones); rows that cannot even be read come back as
    (signal id, problem) instead."""
    found: list[Headline] = []
    unreadable: list[tuple] = []
    width = len(SIGNAL_COLUMNS.split(","))
    for row in query(_HEADLINES, (symbol, since, until)):
        try:
            signal = signal_from_row(row[:width])
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            unreadable.append((row[0], f"stored row cannot be read: {type(exc).__name__}"))
            continue
        category, kind, event_time = row[width:]
        found.append(headline(signal, category or classify(signal), kind, event_time))
    return found, unreadable


def headline(signal: Signal, category: str, kind: str | None, event_time: float | None) -> Headline:
    # A story happens when it was published; a feed's clock ahead of ours cannot make it newer than its arrival.
    published = float(event_time) if isinstance(event_time, (int, float)) else math.nan
    happened = min(published, signal.received_at) if math.isfinite(published) else signal.received_at
    return Headline(signal, happened, category, kind or "news")
