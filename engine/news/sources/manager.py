"""The operator's list of sources, persisted in ``news_sources`` (migration 0008), and their threads."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from engine.news.config import SOURCE_KINDS
from engine.news.sources.base import PolledSource, SourceStatus
from engine.news.sources.folder import FolderSource
from engine.news.sources.replay import ReplaySource, demo_feed_path
from engine.news.sources.rss import FeedSource, check_feed_url

log = logging.getLogger(__name__)

PERSIST_EVERY_S = 1.0  # status counters are written at most this often per source

_ROW = ("name, kind, target, source_kind, interval_s, options, enabled, etag, last_modified, last_fetch_at, "
        "last_success_at, items_total, duplicates_total, errors_total, last_error")


class SourceError(ValueError):
    """A source cannot be added or found; the message says why."""


class SourceManager:
    def __init__(self, pipeline) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store
        self.config = pipeline.config
        self._lock = threading.RLock()
        self._sources: dict[str, PolledSource] = {}
        self._listeners: list[Callable[[SourceStatus], None]] = []
        self._persisted_at: dict[str, float] = {}
        self._running = False
        self.reload()

    # --- building sources from rows ----------------------------------------------------------
    def reload(self) -> None:
        with self._lock:
            rows = self.store.query(f"SELECT {_ROW} FROM news_sources ORDER BY added_at")
            known = {r[0] for r in rows}
            for name in list(self._sources):
                if name not in known:
                    self._sources.pop(name).stop()
            for row in rows:
                if row[0] not in self._sources:
                    self._sources[row[0]] = self._build(row)

    def _build(self, row: tuple) -> PolledSource:
        (name, kind, target, source_kind, interval_s, options, enabled, etag, last_modified, last_fetch_at,
         last_success_at, items_total, duplicates_total, errors_total, last_error) = row
        options = json.loads(options or "{}")
        max_chars = self.pipeline.engine.config.max_item_chars
        common = dict(submit=self.pipeline.submit, interval_s=interval_s, source_kind=source_kind,
                      enabled=bool(enabled), max_backoff_s=self.config.feed_max_backoff_s, on_status=self._status_changed,
                      totals=(items_total, duplicates_total, errors_total), last_fetch_at=last_fetch_at,
                      last_success_at=last_success_at, last_error=last_error)
        if kind == "rss":
            return FeedSource(name, target, timeout_s=self.config.feed_timeout_s,
                              deadline_s=self.config.feed_deadline_s, max_chars=max_chars, etag=etag,
                              last_modified=last_modified,
                              save_validators=lambda e, m, n=name: self._save_validators(n, e, m), **common)
        if kind == "folder":
            return FolderSource(name, target, store=self.store, chunk=self.config.submit_chunk, max_chars=max_chars,
                                **common)
        if kind == "replay":
            return ReplaySource(name, target, rate=float(options.get("rate", self.config.replay_rate)),
                                loop=bool(options.get("loop", False)), max_chars=max_chars, **common)
        raise SourceError(f"unknown source kind {kind!r} for {name}")

    # --- managing ------------------------------------------------------------------------------
    def _insert(self, name: str, kind: str, target: str, source_kind: str, interval_s: float, options: dict) -> SourceStatus:
        if source_kind not in SOURCE_KINDS:
            raise SourceError(f"kind must be one of {', '.join(SOURCE_KINDS)}")
        if interval_s <= 0:
            raise SourceError("the interval must be positive")
        with self._lock:
            if self.store.query("SELECT 1 FROM news_sources WHERE name = ?", (name,)):
                raise SourceError(f"a source named {name!r} already exists")
            self.store.execute(
                "INSERT INTO news_sources (name, kind, target, source_kind, interval_s, options, added_at) "
                "VALUES (?,?,?,?,?,?,?)", (name, kind, target, source_kind, float(interval_s), json.dumps(options), time.time()))
            self.reload()
            source = self._sources[name]
            if self._running:
                source.start()
            return source.status()

    def add_feed(self, url: str, name: str | None = None, interval_s: float | None = None,
                 source_kind: str = "news") -> SourceStatus:
        try:
            url = check_feed_url(url)
        except ValueError as exc:
            raise SourceError(str(exc)) from None
        parts = urlsplit(url)
        name = name or f"rss:{parts.netloc}{parts.path.rstrip('/')}"
        return self._insert(name, "rss", url, source_kind, interval_s or self.config.feed_interval_s, {})

    def add_folder(self, folder: str | Path, name: str | None = None, interval_s: float | None = None,
                   source_kind: str = "news") -> SourceStatus:
        path = Path(folder).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise SourceError(f"{path} is not a folder")
        return self._insert(name or f"folder:{path.name}", "folder", str(path), source_kind,
                            interval_s or self.config.folder_interval_s, {})

    def add_replay(self, rate: float | None = None, loop: bool = False, path: str | Path | None = None,
                   name: str = "replay:demo") -> SourceStatus:
        rate = float(rate or self.config.replay_rate)
        if rate <= 0:
            raise SourceError("the replay rate must be positive")
        target = str(Path(path).resolve()) if path else str(demo_feed_path())
        return self._insert(name, "replay", target, "news", 0.1, {"rate": rate, "loop": bool(loop)})

    def remove(self, name: str) -> None:
        with self._lock:
            self._get(name).stop()
            self.store.execute("DELETE FROM news_sources WHERE name = ?", (name,))
            self._sources.pop(name, None)

    def set_enabled(self, name: str, enabled: bool) -> SourceStatus:
        with self._lock:
            source = self._get(name)
            self.store.execute("UPDATE news_sources SET enabled = ? WHERE name = ?", (int(enabled), name))
            source.enabled = enabled
            if enabled:
                source.fetch_now()
            return source.status()

    def fetch_now(self, name: str) -> None:
        self._get(name).fetch_now()

    def get(self, name: str) -> PolledSource:
        return self._get(name)

    def _get(self, name: str) -> PolledSource:
        with self._lock:
            if name not in self._sources:
                raise SourceError(f"no source named {name!r}; `signaldesk sources list` shows them")
            return self._sources[name]

    # --- running -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the pipeline (if needed) and every source's thread."""
        if not self.pipeline.running:
            self.pipeline.start()
        with self._lock:
            self._running = True
            for source in self._sources.values():
                source.start()

    def stop(self) -> None:
        with self._lock:
            self._running = False
            sources = list(self._sources.values())
        for source in sources:
            source.stop()
            self._persist(source.status(), force=True)

    def statuses(self) -> tuple[SourceStatus, ...]:
        with self._lock:
            return tuple(s.status() for s in self._sources.values())

    def subscribe(self, listener: Callable[[SourceStatus], None]) -> None:
        with self._lock:
            self._listeners.append(listener)

    def _status_changed(self, status: SourceStatus) -> None:
        if status.state in ("idle", "error", "finished", "stopped"):
            self._persist(status)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(status)

    def _persist(self, status: SourceStatus, force: bool = False) -> None:
        now = time.monotonic()
        if not force and status.state != "error" and now - self._persisted_at.get(status.name, 0.0) < PERSIST_EVERY_S:
            return
        self._persisted_at[status.name] = now
        try:
            self.store.execute(
                "UPDATE news_sources SET last_fetch_at = ?, last_success_at = ?, items_total = ?, duplicates_total = ?, "
                "errors_total = ?, last_error = ? WHERE name = ?",
                (status.last_fetch_at, status.last_success_at, status.items_total, status.duplicates_total,
                 status.errors_total, status.last_error, status.name))
        except Exception:  # status bookkeeping must never break a source
            log.exception("could not save the status of source %s", status.name)

    def _save_validators(self, name: str, etag: str | None, last_modified: str | None) -> None:
        self.store.execute("UPDATE news_sources SET etag = ?, last_modified = ? WHERE name = ?", (etag, last_modified, name))
