"""Live news for the desk: the streaming table's feed, its pages, the sources and the gauges.

Push feed (what the Live tab subscribes to):

* ``arrivals``: every freshly stored signal of any origin (pasted, live, Redis) as table rows,
  coalesced to at most ~20 updates a second; more than ``ROWS_PER_EMIT`` in one interval come as
  a count, and the view re-reads its first page from SQLite;
* ``stats`` / ``gauges`` / ``redis``: pipeline counters, per-asset gauges and the Redis state at 4 Hz;
* ``sources``: every source's status after any change; ``sourceError``: a refused source action.

Operations: ``query`` (a page of stored news), and the source actions.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

from PySide6.QtCore import QTimer, Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from engine.news.query import NewsFilter, NewsRow
from engine.scored import ScoredBatch, ScoredItem

log = logging.getLogger(__name__)

# Rows reach the UI at most ~20 times a second, however fast the engine scores.
EMIT_INTERVAL_MS = 50
# More rows than this in one drain are not sent; the view re-pages from SQLite.
ROWS_PER_EMIT = 2000
# Gauges and pipeline counters are polled this often (4 Hz): enough to look live, cheap to draw.
STATS_INTERVAL_S = 0.25
# Gauges are resent at least this often even without new items: confidence decays with age.
GAUGES_REFRESH_S = 5.0
GAUGE_ASSETS = 12

__all__ = ["NewsArrivals", "NewsFilter", "NewsRow", "LiveFeature", "RedisState", "news_row"]


@dataclass(frozen=True)
class NewsArrivals:
    """Rows stored since the last drain (at most ~20 a second)."""

    rows: tuple[NewsRow, ...]  # oldest first; empty when ``overflow``
    count: int  # rows stored in this interval
    overflow: bool  # too many to send: the view should re-page its first page from SQLite


@dataclass(frozen=True)
class RedisState:
    connected: bool  # every configured Redis part (publisher, results subscriber) reached Redis last time
    message: str  # one line per part, joined by " · " (lag, counts, last error)


def news_row(item: ScoredItem) -> NewsRow:
    """A stored item as the same row type the paged query returns (the stored, raw confidence)."""
    sig, ev = item.signal, item.event
    category, subcategory, urgency, impact = ((ev.category, ev.subcategory, ev.urgency, ev.impact) if ev is not None
                                              else ("", "", "", ""))
    return NewsRow(sig.id or 0, sig.received_at, item.time, sig.source, item.source_kind, sig.text,
                   tuple(sig.entities), sig.label, sig.confidence, sig.compound, sig.model_id, category,
                   subcategory, urgency, impact)


class LiveFeature(Feature):
    arrivals = Signal(object)  # NewsArrivals
    stats = Signal(object)  # engine.news.PipelineStats
    gauges = Signal(object)  # tuple[engine.news.AssetSnapshot, ...] (history stripped), most recent first
    sources = Signal(object)  # tuple[engine.news.sources.SourceStatus, ...], in the order added
    sourceError = Signal(str)
    redis = Signal(object)  # RedisState; only when Redis is configured

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self._lock = threading.Lock()
        self._buffer: list[NewsRow] = []  # converted on the storing thread; the UI thread only swaps lists
        self._overflow = 0
        self._sources_dirty = False
        self._redis_results = None
        self._redis_state: RedisState | None = None
        self._gauges_scored = -1
        self._gauges_sent_at = 0.0
        self._unsubscribe: Callable[[], None] | None = None
        self._news = None  # engine.news once started
        self._drain = QTimer(self)
        self._drain.setInterval(EMIT_INTERVAL_MS)
        self._drain.timeout.connect(self._drain_rows)
        self.ready.connect(lambda _info: self._drain.start())
        host.on_start(self._start)
        host.on_stop(self._stop)
        host.every(STATS_INTERVAL_S, self._poll_stats)

    # --- engine side -----------------------------------------------------------------------------
    def _start(self, engine) -> None:
        """Start the pipeline (resumes pending inbox rows); sources start when the operator says."""
        try:
            news = engine.news
            news.sources.subscribe(lambda _status: self._mark_sources())
            news.start()
            self._news = news
        except Exception as exc:  # live news failing must not take pasted scoring down with it
            log.exception("the live-news pipeline could not start")
            self.sourceError.emit(f"Live news could not start: {exc}")
            return
        self._unsubscribe = engine.on_scored(self._buffer_rows, name="live table", background=False)
        self._mark_sources()
        self._start_redis_results(engine)

    def _start_redis_results(self, engine) -> None:
        from engine.config import ConfigError
        from engine.redisbus.hooks import start_results_subscriber

        try:
            self._redis_results = start_results_subscriber(engine)
        except ConfigError as exc:
            self.redis.emit(RedisState(False, f"Redis: off ({exc})"))
        except Exception as exc:  # Redis is optional: the desk goes on with its own signals
            log.exception("the Redis results subscriber could not start")
            self.redis.emit(RedisState(False, f"Redis results: not subscribed ({exc})"))

    def _stop(self, _engine) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        if self._redis_results is not None:
            self._redis_results.stop()
            self._redis_results = None

    def _buffer_rows(self, batch: ScoredBatch) -> None:
        """Storing thread: convert and keep the rows for the next drain (never blocks scoring)."""
        with self._lock:
            room = ROWS_PER_EMIT + 1 - len(self._buffer)
            if room > 0:
                self._buffer.extend(news_row(item) for item in batch.items[:room])
            self._overflow += max(0, len(batch.items) - max(room, 0))

    def _mark_sources(self) -> None:
        self._sources_dirty = True  # source threads report every change; the next poll sends one snapshot

    def _poll_stats(self) -> None:
        engine, news = self._host.engine, self._news
        if engine is None or news is None:
            return
        if self._sources_dirty:
            self._sources_dirty = False
            self.sources.emit(news.sources.statuses())
        stats = news.stats()
        self.stats.emit(stats)
        self._emit_redis_status(engine)
        now = time.monotonic()
        if stats.scored != self._gauges_scored or now - self._gauges_sent_at >= GAUGES_REFRESH_S:
            self._gauges_scored, self._gauges_sent_at = stats.scored, now
            # History is stripped: the gauge needs the running series, not every cached signal.
            self.gauges.emit(tuple(replace(news.snapshot(a), history=()) for a in news.recent_assets(GAUGE_ASSETS)))

    def _emit_redis_status(self, engine) -> None:
        parts = [engine.redis_publisher] if engine.redis_publisher is not None else []
        if self._redis_results is not None:
            parts.append(self._redis_results)
        if not parts:
            return
        statuses = [p.status() for p in parts]
        state = RedisState(all(st.connected for st in statuses), " · ".join(st.message for st in statuses))
        if state != self._redis_state:
            self._redis_state = state
            self.redis.emit(state)

    # --- UI side ---------------------------------------------------------------------------------
    def _drain_rows(self) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
            overflow, self._overflow = self._overflow, 0
        count = len(rows) + overflow
        if count > ROWS_PER_EMIT:
            self.arrivals.emit(NewsArrivals((), count, True))
        elif rows:
            self.arrivals.emit(NewsArrivals(tuple(rows), count, False))

    def query(self, news_filter: NewsFilter, on_page: Callable[[tuple[NewsRow, ...]], None],
              on_error: Callable[[str], None]):
        """A page of stored news (newest first unless the filter sorts otherwise); returns the operation."""
        return self.op("Reading stored news", lambda ctx: tuple(ctx.engine.news.query(news_filter))) \
            .on_success(on_page).on_failure(on_error).run()

    # --- sources (answers arrive on ``sources``; refusals on ``sourceError``) -------------------
    def _source_op(self, name: str, action: Callable) -> None:
        from engine.news.sources.manager import SourceError

        def run(ctx) -> None:
            try:
                action(ctx.engine.news.sources)
            finally:
                self._mark_sources()

        self.op(name, run, expected=(SourceError, ValueError, OSError)).on_failure(self.sourceError.emit).run()

    @staticmethod
    def _start_added(manager, status) -> None:
        # A source the operator just added should run now, without starting every other source.
        manager.get(status.name).start()

    def add_feed(self, url: str, interval_s: float = 0.0, source_kind: str = "news") -> None:
        self._source_op("Adding a feed", lambda m: self._start_added(
            m, m.add_feed(url, None, interval_s or None, source_kind or "news")))

    def add_folder(self, folder: str, interval_s: float = 0.0, source_kind: str = "news") -> None:
        self._source_op("Adding a folder", lambda m: self._start_added(
            m, m.add_folder(str(folder), None, interval_s or None, source_kind or "news")))

    def add_replay(self, rate: float = 0.0, loop: bool = False) -> None:
        def act(m) -> None:
            # One demo replay at a time: starting it again (e.g. at a new rate) replaces the old one.
            if any(s.name == "replay:demo" for s in m.statuses()):
                m.remove("replay:demo")
            self._start_added(m, m.add_replay(rate, loop))

        self._source_op("Starting the demo replay", act)

    def remove_source(self, name: str) -> None:
        self._source_op("Removing a source", lambda m: m.remove(name))

    def set_source_enabled(self, name: str, enabled: bool) -> None:
        self._source_op("Changing a source", lambda m: m.set_enabled(name, enabled))

    def fetch_now(self, name: str) -> None:
        def act(m) -> None:
            m.get(name).start()  # a stopped source needs its thread before it can be woken
            m.fetch_now(name)

        self._source_op("Fetching a source", act)

    def start_sources(self) -> None:
        self._source_op("Starting the sources", lambda m: m.start())

    def stop_sources(self) -> None:
        # Joins source threads (a feed mid-fetch may take its timeout): on the engine lane, not the UI.
        self._source_op("Stopping the sources", lambda m: m.stop())
