"""The one source of truth for persisted state: a SQLite file in WAL mode.

Migrations are numbered in code (``engine/migrations/``) and applied in order; ``PRAGMA user_version`` records the
last one applied, so opening an old database upgrades it and opening a new one is a no-op.
One writer: the engine thread owns the Store; a lock makes accidental sharing safe.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from engine.migrations import all_migrations
from engine.textsearch import SQL_FUNCTION, fold, sql_fold
from engine.types import EntityLink, ShownConfidence, Signal

DB_FILE_NAME = "signaldesk.db"
# How long a connection waits for another's write lock (SQLite's busy handler) before "locked":
# Python's default, which the engine always had. Migrations wait longer: another process may be
# running one on a large database (filling a new column row by row).
BUSY_TIMEOUT_S = 5.0
MIGRATION_BUSY_TIMEOUT_S = 120.0

# The columns signal_from_row reads, in its order: for readers with a connection of their own.
SIGNAL_COLUMNS = ("id, received_at, source, text, entities, label, probabilities, confidence, "
                  "compound, model_id, model_version, latency_ms, truncated, links")


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
        # A busy timeout, so another process's write (a worker, a CLI beside the open desk, a
        # migration) makes this one wait instead of failing with "database is locked".
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                     timeout=BUSY_TIMEOUT_S)
        set_wal(self._conn)
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Unicode case folding for searches (SQLite's own folds ASCII only); migration 13 uses it.
        self._conn.create_function(SQL_FUNCTION, 1, sql_fold, deterministic=True)
        # Set by the engine once calibration exists: the view a new signal is shown with (the
        # active calibrator's), recorded with it. Without it a signal is recorded as shown raw.
        self.shown_view: Callable[[list[Signal]], list[Signal]] | None = None
        self._migrate()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Apply every migration not yet recorded, in number order, all under one write lock.

        Each applied number is recorded (not just the highest), so a migration that lands
        after a higher-numbered one was applied is still run instead of silently skipped.
        Several processes may open one data dir at once (workers under systemd, a CLI beside
        the desk): BEGIN IMMEDIATE takes the write lock *before* the ledger is read, so the
        second process waits (busy timeout) and then finds the work done instead of running
        the same CREATE or ALTER again.
        """
        with self._lock:
            if self._pending_migrations(self._conn.execute("PRAGMA user_version").fetchone()[0]) == []:
                return  # the common start: nothing to do, no write lock taken
            self._conn.execute(f"PRAGMA busy_timeout = {int(MIGRATION_BUSY_TIMEOUT_S * 1000)}")
            try:
                self._apply_pending()
            finally:
                self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")

    def _apply_pending(self) -> None:
        """The pending migrations and their ledger rows, in one write transaction (the caller holds _lock)."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
            for number, name, sql in self._pending_migrations(version, record_legacy=True):
                # executescript would COMMIT our transaction; run statements one by one.
                for statement in split_sql(sql):
                    self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", (number, name, time.time()))
                version = max(number, version)
            self._conn.execute(f"PRAGMA user_version = {int(version)}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def _pending_migrations(self, version: int, record_legacy: bool = False) -> list[tuple[int, str, str]] | None:
        """Migrations the ledger does not list; None when there is no ledger yet.

        With ``record_legacy`` (inside the write transaction) the ledger is created, and a
        database from before the ledger, which recorded only user_version, gets its rows.
        """
        has_ledger = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone()
        if not has_ledger and not record_legacy:
            return None
        if not has_ledger:
            self._conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, "
                               "name TEXT NOT NULL, applied_at REAL NOT NULL)")
        applied = {row[0] for row in self._conn.execute("SELECT number FROM schema_migrations")}
        if not applied and version and record_legacy:
            applied = {n for n, _, _ in all_migrations() if n <= version}
            self._conn.executemany("INSERT INTO schema_migrations VALUES (?, ?, 0)",
                                   [(n, name) for n, name, _ in all_migrations() if n in applied])
        return [m for m in all_migrations() if m[0] not in applied]

    def sync(self) -> None:
        """Make every commit so far durable. With synchronous=NORMAL a WAL commit reaches the disk
        only at the next checkpoint; a caller about to act on a commit (move a dropped file away,
        which deletes the only other copy) fsyncs the WAL first."""
        wal = self.path.with_name(self.path.name + "-wal")
        with self._lock:
            fd = os.open(wal if wal.exists() else self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

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
        if self.shown_view is not None and any(s.calibrated_confidence is None for s in signals):
            # Before the transaction: the hook reads the calibrators through this store's lock.
            signals = self.shown_view(list(signals))
        now = time.time()
        shown = [ShownConfidence(s.shown_label, float(s.shown_confidence), s.calibrator, now) for s in signals]
        rows = [
            (s.received_at, s.source, s.text, json.dumps(list(s.entities)), s.label,
             json.dumps(s.probabilities), s.confidence, s.compound, s.model_id,
             s.model_version, s.latency_ms, int(s.truncated), fold(s.text),
             json.dumps([link.to_dict() for link in s.links]) if s.links else None)
            for s in signals
        ]
        stored: list[Signal] = []
        with self.transaction() as conn:
            for sig, row, view in zip(signals, rows, shown):
                cur = conn.execute(
                    "INSERT INTO signals (received_at, source, text, entities, label, "
                    "probabilities, confidence, compound, model_id, model_version, latency_ms, "
                    "truncated, search_text, links) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    row,
                )
                new_id = int(cur.lastrowid)
                conn.execute("INSERT INTO signal_shown (signal_id, label, confidence, calibrator, shown_at) "
                             "VALUES (?,?,?,?,?)", (new_id, view.label, min(1.0, max(0.0, view.confidence)),
                                                    view.calibrator, view.shown_at))
                stored.append(_with_id(sig, new_id, view))
            if same_transaction is not None:
                for sql, params in same_transaction(stored):
                    conn.execute(sql, params)
        return stored

    def get_signal(self, signal_id: int) -> Signal | None:
        rows = self.query(f"SELECT {SIGNAL_COLUMNS} FROM signals WHERE id = ?", (int(signal_id),))
        return signal_from_row(rows[0]) if rows else None

    def recent_signals(self, limit: int = 1000, sources: Sequence[str] | None = None) -> list[Signal]:
        """Newest last, so a view can append in arrival order; only these sources when given."""
        where, args = "", ()
        if sources:
            where, args = f"WHERE source IN ({','.join('?' * len(sources))}) ", tuple(sources)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {SIGNAL_COLUMNS} FROM signals {where}ORDER BY id DESC LIMIT ?", (*args, int(limit))
            ).fetchall()
        return [signal_from_row(r) for r in reversed(rows)]

    def count_signals(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM signals").fetchone()[0])

    def iter_signals(self, batch: int = 1000) -> Iterable[Signal]:
        last = 0
        while True:
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT {SIGNAL_COLUMNS} FROM signals WHERE id > ? ORDER BY id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            for r in rows:
                yield signal_from_row(r)
            last = rows[-1][0]


def set_wal(conn: sqlite3.Connection) -> None:
    """WAL mode. Switching a new file to WAL takes a lock that SQLite's busy handler does not
    wait for, so a process that meets another one doing it retries for the busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


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


def _with_id(sig: Signal, new_id: int, shown: ShownConfidence) -> Signal:
    from dataclasses import replace

    return replace(sig, id=new_id, first_shown=shown)


def shown_confidences(store: SerializedConnection, signal_ids: Sequence[int]) -> dict[int, ShownConfidence]:
    """What each of these stored signals was first shown with (ids without a record are absent)."""
    found: dict[int, ShownConfidence] = {}
    ids = [int(i) for i in signal_ids]
    for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
        chunk = ids[start:start + 500]
        rows = store.query(f"SELECT signal_id, label, confidence, calibrator, shown_at FROM signal_shown "
                           f"WHERE signal_id IN ({','.join('?' * len(chunk))})", tuple(chunk))
        found.update({int(r[0]): ShownConfidence(r[1], float(r[2]), r[3], float(r[4])) for r in rows})
    return found


def signal_from_row(row: tuple) -> Signal:
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
        links=tuple(EntityLink.from_dict(d) for d in json.loads(row[13])) if row[13] else (),
    )
