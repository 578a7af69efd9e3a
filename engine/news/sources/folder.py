"""A watched folder: CSV, JSONL or TXT files dropped in are ingested once, then moved away.

Polling (not inotify) keeps it portable and simple. A file is read only once it is *settled*
(same size and mtime as on the previous poll, or untouched for ``settle_s``), so a file still
being copied is not read half-way. After its items are acknowledged it moves to
``processed/``; a file that cannot be read (not UTF-8, unsupported content) moves to
``failed/`` with a ``.error.txt`` beside it saying why, and nothing from it is accepted.
Each outcome is also remembered in the store by name, size and mtime, so a file that could not
be moved (read-only folder) is not ingested again.

Hostile drops: a symbolic link is never followed (a dropped ``x.txt -> /etc/passwd`` would
otherwise be read as news): the link itself moves to ``failed/`` with the reason, and files are
opened with O_NOFOLLOW so a file swapped for a link after the check is refused too. A file with
more than one hard link is refused the same way (it may be another file's content). Any error
while reading a file (deep JSON, an unreadable file) moves that file to ``failed/`` with the
reason and the folder goes on with the next one. A file moves to ``processed/`` only after the
commit of its items is durable (the WAL fsynced), since the move deletes the other copy.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path
from typing import Iterator

from engine.news.files import NEWS_FILE_SUFFIXES, RowProblem, iter_news_file
from engine.news.items import NewsItem
from engine.news.sources.base import PolledSource, SourceError
from engine.textinput import InputDecodeError
from engine.wording import plural

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
        """Settled files with a supported suffix, oldest first. Links are refused on the way."""
        now_ns = time.time_ns()
        found: list[tuple[int, Path, int]] = []
        seen_now: dict[str, tuple[int, int]] = {}
        for entry in os.scandir(self.folder):
            if entry.name.startswith(".") or entry.name.endswith(("~", ".part", ".tmp")):
                continue
            if Path(entry.name).suffix.lower() not in NEWS_FILE_SUFFIXES:
                continue
            if entry.is_symlink():
                self._refuse_link(Path(entry.path))
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            st = entry.stat(follow_symlinks=False)
            signature = (st.st_size, st.st_mtime_ns)
            seen_now[entry.name] = signature
            settled = self._seen.get(entry.name) == signature or now_ns - st.st_mtime_ns >= self.settle_s * 1e9
            if settled:
                found.append((st.st_mtime_ns, Path(entry.path), st.st_size))
        self._seen = seen_now
        return [(path, size, mtime) for mtime, path, size in sorted(found)]

    def _refuse_link(self, path: Path) -> None:
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        reason = f"{path.name} is a symbolic link (to {target[:200]}): links are not followed"
        log.warning("watched folder %s: %s; moved to %s/", self.folder, reason, FAILED_DIR)
        self._move(path, FAILED_DIR, reason)

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
            self.detail = f"{plural(ingested, 'file')} ingested, {refused} refused" + (f"; {'; '.join(notes)}" if notes else "")
        if refused:
            raise SourceError("; ".join(notes))

    def _ingest(self, path: Path, size: int, mtime_ns: int) -> str | None:
        """Submit one file; returns a note ("" when clean), None when not acknowledged. Raises _Refused.
        A delivery error (the database busy) propagates: the file stays for the next poll."""
        problems: list[RowProblem] = []
        skipped = delivered = 0
        chunk: list[NewsItem] = []
        for entry in self._entries(path, size, mtime_ns):
            if isinstance(entry, RowProblem):
                skipped += 1
                if len(problems) < MAX_PROBLEMS_SHOWN:
                    problems.append(entry)
                continue
            chunk.append(entry)
            if len(chunk) >= self.chunk:
                if not self.deliver(chunk):
                    return None
                delivered += len(chunk)
                chunk = []
        if chunk:
            if not self.deliver(chunk):
                return None
            delivered += len(chunk)
        if not delivered and skipped:
            self._refuse(path, size, mtime_ns, f"{path.name}: no readable rows ({'; '.join(map(str, problems))})")
        note = ""
        if skipped:
            shown = "; ".join(map(str, problems))
            more = f" (+{skipped - len(problems)} more)" if skipped > len(problems) else ""
            note = f"{path.name}: {plural(skipped, 'row')} skipped: {shown}{more}"
        self._store.sync()  # the items are committed; make that durable before the file goes away
        self._remember(path, size, mtime_ns, "ingested", delivered, note)
        self._move(path, PROCESSED_DIR)
        return note

    def _entries(self, path: Path, size: int, mtime_ns: int) -> Iterator[NewsItem | RowProblem]:
        """The file's items and row problems; whatever goes wrong *reading* it refuses the file
        (failed/ with the reason), so it can never stop the folder."""
        try:
            links = os.lstat(path).st_nlink
            if links > 1:
                raise OSError(f"{path.name} has {links} hard links: not read (it may be another file's content)")
            entries = iter_news_file(path, f"{self.name}", self.source_kind, self.max_chars, no_follow=True)
            while True:
                try:
                    entry = next(entries)
                except StopIteration:
                    return
                yield entry
        except Exception as exc:
            if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
                reason = f"{path.name} became a symbolic link: links are not followed"
            elif isinstance(exc, (InputDecodeError, ValueError)) or (isinstance(exc, OSError) and not exc.errno):
                reason = str(exc)
            else:
                reason = f"{path.name}: cannot be read ({type(exc).__name__}: {exc})"
            self._refuse(path, size, mtime_ns, reason)

    def _refuse(self, path: Path, size: int, mtime_ns: int, reason: str) -> None:
        log.warning("watched folder %s: %s; moved to %s/", self.folder, reason, FAILED_DIR)
        self._remember(path, size, mtime_ns, "refused", 0, reason)
        self._move(path, FAILED_DIR, reason)
        raise _Refused(reason)

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

