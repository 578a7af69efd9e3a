"""What every polled source shares: its thread, its status record and error backoff."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

from engine.news.items import NewsItem

log = logging.getLogger(__name__)

STATES = ("stopped", "idle", "fetching", "delivering", "error", "finished")


@dataclass(frozen=True)
class SourceStatus:
    name: str
    kind: str  # rss | folder | replay
    target: str  # URL, folder or file
    source_kind: str  # news | analyst | social
    enabled: bool
    state: str  # one of STATES; "delivering" includes waiting for room in a full queue
    interval_s: float
    last_fetch_at: float | None
    last_success_at: float | None
    next_fetch_at: float | None
    items_total: int  # accepted into the inbox
    duplicates_total: int
    errors_total: int
    last_error: str
    detail: str  # e.g. "304 not modified", "2 rows skipped in a.csv", "replayed 120/300"

    def to_dict(self) -> dict:
        return asdict(self)


class SourceError(RuntimeError):
    """A fetch failed in a way worth showing to the operator as is."""


class PolledSource:
    kind = "source"

    def __init__(self, name: str, target: str, *, submit: Callable[[Sequence[NewsItem]], object],
                 interval_s: float, source_kind: str = "news", enabled: bool = True,
                 max_backoff_s: float = 3600.0, on_status: Callable[[SourceStatus], None] | None = None,
                 totals: tuple[int, int, int] = (0, 0, 0), last_fetch_at: float | None = None,
                 last_success_at: float | None = None, last_error: str = "") -> None:
        self.name = name
        self.target = target
        self.source_kind = source_kind
        self.interval_s = float(interval_s)
        self.enabled = enabled
        self.max_backoff_s = max_backoff_s
        self._submit = submit
        self._on_status = on_status
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = "stopped"
        self._items, self._duplicates, self._errors = totals
        self._consecutive_errors = 0
        self._last_fetch_at = last_fetch_at
        self._last_success_at = last_success_at
        self._next_fetch_at: float | None = None
        self._last_error = last_error
        self.detail = ""

    # --- what subclasses implement ---------------------------------------------------------
    def poll(self) -> None:
        """Fetch once and ``deliver`` what was found; raise SourceError (or anything) on failure."""
        raise NotImplementedError

    def finished(self) -> bool:
        return False

    # --- delivery --------------------------------------------------------------------------
    def deliver(self, items: Sequence[NewsItem]) -> bool:
        """Submit items; True when all were acknowledged (accepted or known duplicates)."""
        if not items:
            return True
        if self._stop.is_set():  # stopping: leave the rest unacknowledged for the next run
            return False
        self._set_state("delivering")
        result = self._submit(items)
        with self._lock:
            self._items += result.accepted
            self._duplicates += result.duplicates
        return result.refused == 0

    # --- thread ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"news-source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set_state("stopped")

    def fetch_now(self) -> None:
        self._wake.set()

    def wait_s(self) -> float:
        if self._consecutive_errors:
            return min(self.max_backoff_s, self.interval_s * 2 ** min(self._consecutive_errors, 16))
        return self.interval_s

    def run_once(self) -> bool:
        """One poll with status bookkeeping; True on success. Used by the thread and by tests."""
        self._set_state("fetching")
        started = time.time()
        with self._lock:
            self._last_fetch_at = started
        try:
            self.poll()
        except Exception as exc:  # any failure is shown on the source, and the source keeps going
            message = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, SourceError):
                log.exception("news source %s failed", self.name)
            with self._lock:
                self._errors += 1
                self._consecutive_errors += 1
                self._last_error = message
            self._set_state("error")
            return False
        with self._lock:
            self._consecutive_errors = 0
            self._last_success_at = time.time()
        self._set_state("finished" if self.finished() else "idle")
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.enabled:
                self.run_once()
                if self.finished():
                    return
            wait = self.wait_s()
            with self._lock:
                self._next_fetch_at = time.time() + wait
            self._wake.wait(wait)
            self._wake.clear()

    # --- status ----------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        with self._lock:
            self._state = state
        if self._on_status is not None:
            try:
                self._on_status(self.status())
            except Exception:
                log.exception("source status listener failed")

    def status(self) -> SourceStatus:
        with self._lock:
            return SourceStatus(self.name, self.kind, self.target, self.source_kind, self.enabled, self._state,
                                self.interval_s, self._last_fetch_at, self._last_success_at, self._next_fetch_at,
                                self._items, self._duplicates, self._errors, self._last_error, self.detail)
