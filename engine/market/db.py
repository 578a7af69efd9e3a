"""A connection of our own on the engine's database file.

Market data and ideas live in the same ``signaldesk.db`` as the signals. Opening it through
:class:`engine.store.Store` first applies the numbered migrations (so our tables exist);
then we keep a separate connection, which WAL mode allows beside the Store's. A busy
timeout makes the two wait for each other instead of failing when both write.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Union

from engine.store import SerializedConnection, Store, set_wal

DbRef = Union[str, Path, Store]

BUSY_TIMEOUT_MS = 10_000


def db_path(db: DbRef) -> Path:
    return db.path if isinstance(db, Store) else Path(db)


class Database(SerializedConnection):
    """A second connection on the file: one lock, ``transaction()`` commits all or nothing."""

    def __init__(self, db: DbRef) -> None:
        self.path = db_path(db)
        if not isinstance(db, Store):
            Store(self.path).close()  # applies migrations; a Store passed in already did
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                     timeout=BUSY_TIMEOUT_MS / 1000)
        set_wal(self._conn)
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
