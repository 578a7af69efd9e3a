"""A watched folder: CSV, JSONL or TXT files dropped in are ingested once, then moved away.

Polling (not inotify) keeps it portable and simple. A file is read only once it is *settled*
(same size and mtime as on the previous poll, or untouched for ``settle_s``), so a file still
being copied is not read half-way. After its items are acknowledged it moves to
``processed/``; a file that cannot be read (not UTF-8, unsupported content) moves to
``failed/`` with a ``.error.txt`` beside it saying why, and nothing from it is accepted.
Each outcome is also remembered in the store by name, size and mtime, so a file that could not
be moved (read-only folder) is not ingested again.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from engine.news.files import NEWS_FILE_SUFFIXES, RowProblem, iter_news_file
from engine.news.items import NewsItem
from engine.news.sources.base import PolledSource, SourceError
from engine.textinput import InputDecodeError

log = logging.getLogger(__name__)

PROCESSED_DIR = "processed"
FAILED_DIR = "failed"
MAX_PROBLEMS_SHOWN = 3


class FolderSource(PolledSource):
    kind = "folder"

    def __init__(self, name: str, folder: str | Path, *, store, chunk: int = 256, max_chars: int = 2000,
                 settle_s: float = 1.0, **kwargs) -> None:
        folder = Path(folder).expanduser().resolve()
        super().__init__(name, str(folder), **kwargs)
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self._store = store
        self.chunk = chunk
        self.max_chars = max_chars
        self.settle_s = settle_s
        self._seen: dict[str, tuple[int, int]] = {}

    # --- remembered outcomes -------------------------------------------------------------------
    def _remembered(self, path: Path, size: int, mtime_ns: int) -> bool:
        return bool(self._store.query(
            "SELECT 1 FROM news_folder_files WHERE folder = ? AND name = ? AND size = ? AND mtime_ns = ?",
            (str(self.folder), path.name, size, mtime_ns)))

    def _remember(self, path: Path, size: int, mtime_ns: int, outcome: str, items: int, detail: str) -> None:
        self._store.execute(
            "INSERT OR REPLACE INTO news_folder_files (folder, name, size, mtime_ns, outcome, items, detail, done_at) "
            "VALUES (?,?,?,?,?,?,?,?)", (str(self.folder), path.name, size, mtime_ns, outcome, items, detail[:2000], time.time()))

    # --- polling ---------------------------------------------------------------------------
    def candidates(self) -> list[tuple[Path, int, int]]:
        """Settled files with a supported suffix, oldest first."""
        now_ns = time.time_ns()
        found: list[tuple[int, Path, int]] = []
        seen_now: dict[str, tuple[int, int]] = {}
        for entry in os.scandir(self.folder):
            if not entry.is_file() or entry.name.startswith(".") or entry.name.endswith(("~", ".part", ".tmp")):
                continue
            if Path(entry.name).suffix.lower() not in NEWS_FILE_SUFFIXES:
                continue
            st = entry.stat()
            signature = (st.st_size, st.st_mtime_ns)
            seen_now[entry.name] = signature
            settled = self._seen.get(entry.name) == signature or now_ns - st.st_mtime_ns >= self.settle_s * 1e9
            if settled:
                found.append((st.st_mtime_ns, Path(entry.path), st.st_size))
        self._seen = seen_now
        return [(path, size, mtime) for mtime, path, size in sorted(found)]

    def poll(self) -> None:
        ingested = refused = 0
        notes: list[str] = []
        for path, size, mtime_ns in self.candidates():
            if self._remembered(path, size, mtime_ns):
                self._move(path, PROCESSED_DIR)  # acknowledged earlier, the move did not happen
                continue
            try:
                outcome = self._ingest(path, size, mtime_ns)
            except _Refused as exc:
                refused += 1
                notes.append(str(exc))
                continue
            if outcome is None:
                return  # the pipeline is stopping: leave the file for the next run
            ingested += 1
            if outcome:
                notes.append(outcome)
        if ingested or refused:
            self.detail = f"{ingested} file(s) ingested, {refused} refused" + (f"; {'; '.join(notes)}" if notes else "")
        if refused:
            raise SourceError("; ".join(notes))

    def _ingest(self, path: Path, size: int, mtime_ns: int) -> str | None:
        """Submit one file; returns a note ("" when clean), None when not acknowledged. Raises _Refused."""
        problems: list[RowProblem] = []
        items: list[NewsItem] = []
        try:
            for entry in iter_news_file(path, f"{self.name}", self.source_kind, self.max_chars):
                if isinstance(entry, RowProblem):
                    problems.append(entry)
                else:
                    items.append(entry)
        except (InputDecodeError, ValueError, OSError) as exc:
            reason = str(exc)
            self._remember(path, size, mtime_ns, "refused", 0, reason)
            self._move(path, FAILED_DIR, reason)
            raise _Refused(reason) from None
        if not items and problems:
            reason = f"{path.name}: no readable rows ({'; '.join(map(str, problems[:MAX_PROBLEMS_SHOWN]))})"
            self._remember(path, size, mtime_ns, "refused", 0, reason)
            self._move(path, FAILED_DIR, reason)
            raise _Refused(reason)
        for start in range(0, len(items), self.chunk):
            if not self.deliver(items[start:start + self.chunk]):
                return None
        note = ""
        if problems:
            shown = "; ".join(map(str, problems[:MAX_PROBLEMS_SHOWN]))
            more = f" (+{len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
            note = f"{path.name}: {len(problems)} row(s) skipped: {shown}{more}"
        self._remember(path, size, mtime_ns, "ingested", len(items), note)
        self._move(path, PROCESSED_DIR)
        return note

    def _move(self, path: Path, subdir: str, reason: str = "") -> None:
        target_dir = self.folder / subdir
        try:
            target_dir.mkdir(exist_ok=True)
            target = target_dir / path.name
            if target.exists():
                target = target_dir / f"{path.stem}.{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**6}{path.suffix}"
            os.replace(path, target)
            if reason:
                target.with_name(target.name + ".error.txt").write_text(reason + "\n", encoding="utf-8")
        except OSError as exc:  # remembered in the store, so it is not ingested twice anyway
            log.warning("could not move %s to %s/: %s", path, subdir, exc)


class _Refused(Exception):
    """A file that cannot be ingested at all; the message names the file and the reason."""

