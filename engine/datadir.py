"""Is the data folder usable? One check for ``--self-test``, every command and the desk's start.

The database and the folder are checked without changing either: the folder by creating and
removing a temporary file, the database through a read-only connection (its header, whether the
file is as long as its header says, and ``PRAGMA quick_check`` when ``thorough``). A problem
comes back as one line a person can act on, with what to do next; ``engine`` never asks: the
app decides (the desk offers to open a read-only copy, to back up and start a new database, or
to show the folder).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.store import DB_FILE_NAME

_HEADER = b"SQLite format 3\x00"
_SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True)
class DataDirProblem:
    kind: str  # not_writable | database_damaged | database_unreadable | config_invalid
    message: str  # one line: what is wrong and what to do


@dataclass(frozen=True)
class DataDirHealth:
    path: str
    database: str
    problems: tuple[DataDirProblem, ...]
    writable: bool
    database_readable: bool  # a read-only copy can be opened

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def message(self) -> str:
        return "; ".join(p.message for p in self.problems) or f"data folder {self.path} is usable"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["ok"] = self.ok
        return out


def check_data_dir(data_dir: Path, *, thorough: bool = False) -> DataDirHealth:
    """What stops the app from working in ``data_dir``; ``thorough`` adds SQLite's quick_check
    (reads every page: seconds on a large database, so the self-test uses it, not every start)."""
    data_dir = Path(data_dir)
    db = data_dir / DB_FILE_NAME
    problems: list[DataDirProblem] = []
    writable = _writable(data_dir, problems)
    damage = _database_damage(db, writable, thorough) if db.exists() else ""
    if damage:
        kind = "database_unreadable" if damage.startswith("cannot be read") else "database_damaged"
        problems.append(DataDirProblem(kind, f"the database {db} {damage}: back it up and start a new one, or "
                                             "restore it from a backup"))
    problems.extend(_config_problems(data_dir))
    return DataDirHealth(str(data_dir), str(db), tuple(problems), writable, db.exists() and not damage)


def _writable(data_dir: Path, problems: list[DataDirProblem]) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".signaldesk-write-test-"):
            pass
        return True
    except OSError as exc:
        problems.append(DataDirProblem("not_writable", f"the data folder {data_dir} cannot be written "
                                                       f"({exc.strerror or exc}): nothing can be saved there; the "
                                                       "desk can open a read-only copy, or use --data-dir with a "
                                                       "writable folder"))
        return False


def _database_damage(db: Path, writable: bool, thorough: bool) -> str:
    """Why the database cannot be used ("" when it can)."""
    try:
        with open(db, "rb") as fh:
            header = fh.read(100)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    size = db.stat().st_size
    if size == 0:
        return ""  # a new, empty file: SQLite makes it a database
    if len(header) < 100 or not header.startswith(_HEADER):
        return "is not a database (no SQLite header)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    wal = db.with_name(db.name + "-wal")
    if pages and page_size and size < pages * page_size and not (wal.exists() and wal.stat().st_size):
        return f"is truncated ({size:,} of {pages * page_size:,} bytes)"
    try:
        conn = _read_only(db, writable)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            if thorough:
                result = conn.execute("PRAGMA quick_check").fetchone()[0]
                if result != "ok":
                    return f"is malformed (quick_check: {str(result)[:200]})"
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return f"cannot be opened ({exc})"
    return ""


def _read_only(db: Path, writable: bool) -> sqlite3.Connection:
    # In a folder that cannot be written SQLite cannot make the WAL index, so read the file as it
    # is (immutable); otherwise a plain read-only connection, which sees committed WAL frames too.
    mode = "ro" if writable else "ro&immutable=1"
    return sqlite3.connect(f"file:{db}?mode={mode}", uri=True)


def _config_problems(data_dir: Path) -> list[DataDirProblem]:
    from engine.config import ConfigError, load_config

    try:
        load_config(data_dir)
    except ConfigError as exc:
        return [DataDirProblem("config_invalid", f"{exc} (fix or remove config.toml)")]
    except OSError as exc:
        return [DataDirProblem("config_invalid", f"config.toml cannot be read ({exc.strerror or exc})")]
    return []


def backup_database(data_dir: Path) -> Path:
    """Move the database (and its WAL files) aside as ``signaldesk.db.broken-<time>``; the next
    start makes a new one. Returns the backup's path. Nothing is deleted."""
    db = Path(data_dir) / DB_FILE_NAME
    backup = db.with_name(f"{db.name}.broken-{time.strftime('%Y%m%d-%H%M%S')}")
    for suffix in ("", *_SIDE_FILES):
        source = db.with_name(db.name + suffix)
        if source.exists():
            source.rename(backup.with_name(backup.name + suffix))
    return backup


def read_only_copy(data_dir: Path) -> Path:
    """A temporary data folder holding a consistent copy of the database (SQLite's backup API)
    and the settings: a session there changes nothing in ``data_dir``. The caller removes it."""
    data_dir = Path(data_dir)
    copy = Path(tempfile.mkdtemp(prefix="signaldesk-read-only-"))
    source = _read_only(data_dir / DB_FILE_NAME, _writable(data_dir, []))
    target = sqlite3.connect(str(copy / DB_FILE_NAME))
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    for name in ("config.toml", "redis-hmac.key"):
        if (data_dir / name).is_file():
            shutil.copy2(data_dir / name, copy / name)
    return copy
