"""What happens after a headline is scored: one subscription point for every origin.

Pasted text (``Engine.analyze_batch``), files and live sources (``engine.news.NewsPipeline``) and
results of Redis workers (``engine.redisbus.ResultsSubscriber``) all end in
``ScoredHub.publish``, once the signals are stored. Whoever acts on fresh signals subscribes
with ``Engine.on_scored``: the signal cache (gauges, features), the Redis publisher, the idea
book's proposer, auto-explain, and the desk's live table. Nobody else needs to know where a
signal came from to react to it.

Two kinds of listener:

* inline (``background=False``): run on the publishing thread, which is a scoring thread; they
  must return within microseconds (update a cache, wake a thread, hand the batch over);
* background (the default): run one batch at a time on the ``after-scoring`` thread, so
  proposing ideas or deciding what to explain never delays scoring. Its queue is bounded: when
  a burst outruns it, batches are dropped for the background listeners only and counted in
  ``stats()`` (the signals themselves are stored; nothing acknowledged is lost).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from engine.types import Signal

if TYPE_CHECKING:  # engine.news imports this module; the annotation needs no import at run time
    from engine.news.events import EventInfo

log = logging.getLogger(__name__)

ORIGINS = ("paste", "file", "live", "redis")
# Batches waiting for the background listeners; a paste is one batch per ~50 ms of scoring.
BACKGROUND_QUEUE_BATCHES = 256


@dataclass(frozen=True)
class ScoredItem:
    """One stored signal and what the pipeline knew about it when it was scored."""

    signal: Signal
    event: EventInfo | None = None  # None: not classified (pasted text); use classify_by_rules if needed
    inbox_id: int = 0  # the live-news inbox row, 0 when the item did not come through the inbox
    source_kind: str = "news"  # news | analyst | social (pasted text counts as news, as stored rows without an event do)
    event_time: float | None = None  # when the story happened (feed time); None: when it was received

    @property
    def time(self) -> float:
        return self.event_time if self.event_time is not None else self.signal.received_at


@dataclass(frozen=True)
class ScoredBatch:
    origin: str  # one of ORIGINS
    items: tuple[ScoredItem, ...]
    batch_ms: float = 0.0  # scoring + classification + storing, for the whole batch

    @property
    def signals(self) -> tuple[Signal, ...]:
        return tuple(item.signal for item in self.items)


@dataclass(frozen=True)
class HubStats:
    published: int  # batches published
    background_dropped: int  # batches the background listeners never saw (queue full)
    listener_errors: int


Listener = Callable[[ScoredBatch], None]


@dataclass
class _Subscription:
    name: str
    listener: Listener
    background: bool
    origins: frozenset[str]


class ScoredHub:
    """Listeners of freshly stored signals; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._subs: list[_Subscription] = []
        self._queue: collections.deque[tuple[ScoredBatch, tuple[_Subscription, ...]]] = collections.deque()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._busy = False
        self._published = self._dropped = self._errors = 0

    def subscribe(self, listener: Listener, *, name: str, background: bool = True,
                  origins: tuple[str, ...] = ORIGINS) -> Callable[[], None]:
        """Call ``listener(batch)`` for every stored batch of the given origins; returns an unsubscribe."""
        unknown = set(origins) - set(ORIGINS)
        if unknown:
            raise ValueError(f"unknown origin(s): {', '.join(sorted(unknown))}")
        sub = _Subscription(name, listener, background, frozenset(origins))
        with self._lock:
            self._subs.append(sub)

        def unsubscribe() -> None:
            with self._lock:
                if sub in self._subs:
                    self._subs.remove(sub)

        return unsubscribe

    def publish(self, batch: ScoredBatch) -> None:
        """Called by whoever stored the batch, on its own thread, after the commit."""
        if not batch.items:
            return
        with self._lock:
            self._published += 1
            subs = [s for s in self._subs if batch.origin in s.origins]
            background = tuple(s for s in subs if s.background)
            if background and not self._closed:
                if len(self._queue) >= BACKGROUND_QUEUE_BATCHES:
                    self._dropped += 1
                    log.warning("after-scoring queue full: %d signal(s) from %s not seen by %s", len(batch.items),
                                batch.origin, ", ".join(s.name for s in background))
                else:
                    self._queue.append((batch, background))
                    self._ensure_thread()
                    self._cond.notify()
        for sub in subs:
            if not sub.background:
                self._call(sub, batch)

    def _call(self, sub: _Subscription, batch: ScoredBatch) -> None:
        try:
            sub.listener(batch)
        except Exception:  # one listener's bug must not stop scoring or the other listeners
            log.exception("after-scoring listener %s failed on %d signal(s)", sub.name, len(batch.items))
            with self._lock:
                self._errors += 1

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="after-scoring", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                batch, subs = self._queue.popleft()
                self._busy = True
            try:
                for sub in subs:
                    self._call(sub, batch)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every queued batch has reached its background listeners (tests, shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def stats(self) -> HubStats:
        with self._lock:
            return HubStats(self._published, self._dropped, self._errors)

    def close(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, drop the rest (their signals are stored), stop the thread."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
