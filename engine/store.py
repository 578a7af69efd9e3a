"""The one source of truth for persisted state: a SQLite file in WAL mode.

Migrations are numbered in code (``engine/migrations/``) and applied in order; ``PRAGMA user_version`` records the
last one applied, so opening an old database upgrades it and opening a new one is a no-op.
One writer: the engine thread owns the Store; a lock makes accidental sharing safe.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from engine.migrations import all_migrations
from engine.textsearch import SQL_FUNCTION, fold, sql_fold
from engine.types import Signal

DB_FILE_NAME = "signaldesk.db"

_SIGNAL_COLUMNS = ("id, received_at, source, text, entities, label, probabilities, confidence, "
                   "compound, model_id, model_version, latency_ms, truncated")


class SerializedConnection:
    """One SQLite connection behind one lock (``self._conn``, ``self._lock`` set by the subclass)."""

    _conn: sqlite3.Connection
    _lock: threading.Lock | threading.RLock

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on this connection; commits or rolls back."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class Store(SerializedConnection):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # check_same_thread=False because the engine may be built on one thread and used on
        # its worker thread; the lock serialises access.
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Unicode case folding for searches (SQLite's own folds ASCII only); migration 13 uses it.
        self._conn.create_function(SQL_FUNCTION, 1, sql_fold, deterministic=True)
        self._migrate()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Apply every migration not yet recorded, in number order.

        Each applied number is recorded (not just the highest), so a migration that lands
        after a higher-numbered one was applied is still run instead of silently skipped.
        """
        with self._lock:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (number INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at REAL NOT NULL)")
            applied = {row[0] for row in self._conn.execute("SELECT number FROM schema_migrations")}
            if not applied and self.schema_version:
                # Databases from before the ledger recorded only user_version.
                applied = {n for n, _, _ in all_migrations() if n <= self.schema_version}
                self._conn.executemany("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                                       [(n, name) for n, name, _ in all_migrations() if n in applied])
            for number, name, sql in all_migrations():
                if number in applied:
                    continue
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    # executescript would COMMIT our transaction; run statements one by one.
                    for statement in split_sql(sql):
                        self._conn.execute(statement)
                    self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                       (number, name, time.time()))
                    version = max(number, self.schema_version)
                    self._conn.execute(f"PRAGMA user_version = {int(version)}")
                    self._conn.execute("COMMIT")
                except Exception:
                    self._conn.execute("ROLLBACK")
                    raise

    def applied_migrations(self) -> list[int]:
        return [r[0] for r in self.query("SELECT number FROM schema_migrations ORDER BY number")]

    # --- generic access for feature modules (registry, benchmarks, …) --------------------
    def execute(self, sql: str, params: tuple | dict = ()) -> int:
        """Run one write statement in its own transaction; returns the row count changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    # --- signals -------------------------------------------------------------------------
    def add_signals(
        self,
        signals: Sequence[Signal],
        *,
        same_transaction: Callable[[list[Signal]], Iterable[tuple[str, tuple]]] | None = None,
    ) -> list[Signal]:
        """Insert in one transaction; return the signals with their new ids.

        ``same_transaction`` receives the stored signals (with ids) and returns ``(sql, params)``
        statements committed atomically with them, e.g. marking the news inbox rows they came
        from as done, so a crash can never leave a signal without its bookkeeping or vice versa.
        """
        rows = [
            (s.received_at, s.source, s.text, json.dumps(list(s.entities)), s.label,
             json.dumps(s.probabilities), s.confidence, s.compound, s.model_id,
             s.model_version, s.latency_ms, int(s.truncated), fold(s.text))
            for s in signals
        ]
        stored: list[Signal] = []
        with self.transaction() as conn:
            for sig, row in zip(signals, rows):
                cur = conn.execute(
                    "INSERT INTO signals (received_at, source, text, entities, label, "
                    "probabilities, confidence, compound, model_id, model_version, latency_ms, "
                    "truncated, search_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    row,
                )
                stored.append(_with_id(sig, int(cur.lastrowid)))
            if same_transaction is not None:
                for sql, params in same_transaction(stored):
                    conn.execute(sql, params)
        return stored

    def get_signal(self, signal_id: int) -> Signal | None:
        rows = self.query(f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE id = ?", (int(signal_id),))
        return _row_to_signal(rows[0]) if rows else None

    def recent_signals(self, limit: int = 1000) -> list[Signal]:
        """Newest last, so a view can append in arrival order."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_SIGNAL_COLUMNS} FROM signals ORDER BY id DESC LIMIT ?", (int(limit),)
            ).fetchall()
        return [_row_to_signal(r) for r in reversed(rows)]

    def count_signals(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM signals").fetchone()[0])

    def iter_signals(self, batch: int = 1000) -> Iterable[Signal]:
        last = 0
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {_SIGNAL_COLUMNS} FROM signals WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield _row_to_signal(r)
            last = rows[-1][0]


def split_sql(script: str) -> list[str]:
    """Whole statements of a script; a trigger body's inner ``;`` does not end its CREATE TRIGGER."""
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending)
            pending = ""
    if pending.strip(" \t\r\n;"):
        statements.append(pending)  # let SQLite report the unfinished statement
    return statements


def _with_id(sig: Signal, new_id: int) -> Signal:
    from dataclasses import replace

    return replace(sig, id=new_id)


def _row_to_signal(row: tuple) -> Signal:
    from engine.sentiment.base import LABELS

    probs = json.loads(row[6])
    return Signal(
        id=row[0],
        received_at=row[1],
        source=row[2],
        text=row[3],
        entities=tuple(json.loads(row[4])),
        label=row[5],
        probs=tuple(float(probs.get(label, 0.0)) for label in LABELS),  # type: ignore[arg-type]
        confidence=row[7],
        compound=row[8],
        model_id=row[9],
        model_version=row[10],
        latency_ms=row[11],
        truncated=bool(row[12]),
    )
