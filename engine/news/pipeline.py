"""The live-news pipeline: sources -> inbox (ack) -> bounded queue -> fast lane -> store, cache, listeners.

::

    source.submit(items) --reserve room (blocks when full: backpressure)--> inbox commit (= acknowledged)
        --> ReservableQueue --micro-batch (batch_size / batch_timeout_ms)--> fast lane thread:
            sentiment (Engine.analyze_batch) + event class + tickers
            --> one transaction: signals + news_events + inbox rows marked done
            --> Engine.on_scored listeners (origin "live"): the signal cache, the Redis publisher,
                ideas, auto-explain, the desk's table (engine/scored.py)

Load shedding: while the queue is backed up (``prototype_shed_backlog`` items), batches skip the
optional embedding step of event classification and keep the rules' class, so a burst is
scored at rules speed; ``stats().events_shed`` counts those items and their event rows say
``method = rules``. Sentiment, storage and acknowledgement are never shed.

Nothing is dropped silently: a full queue blocks the source (``backpressure_s`` says for how
long); a submit that gives up (timeout, or the pipeline stopping) is *refused* before anything
is committed, so the source still owns those items; the only drops are those a source reports
itself, and they are counted in ``stats()``.

Failures: a batch that fails to score is retried at once (``max_retries``); then each of its
items waits for another attempt, backing off (``retry_backoff_s`` doubling), while running and
after a restart (rows stay pending in the inbox with their ``attempts``); after ``max_attempts``
an item is dead-lettered (inbox state failed, listed by ``failed_items()`` with its last error).

Threads: one fast-lane worker and one short-lived resumer at start. The engine's models and
store have their own locks, so the GUI's own calls can interleave. Inline ``on_scored``
listeners run on the fast-lane thread and must return quickly; slower work subscribes in the
background (engine/scored.py).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from engine.alerts import AlertEngine, load_alert_config
from engine.news.cache import AssetSnapshot, SignalCache
from engine.news.config import NewsConfig
from engine.news.events import EventClassifier, classify_by_rules
from engine.news.files import RowProblem, iter_news_file
from engine.news.inbox import ALREADY_PROCESSED, MAX_ROWS_PER_INSERT, Inbox, InboxRow, done_statements
from engine.news.items import NewsItem
from engine.news.lanes import QueueClosed, ReservableQueue
from engine.scored import ScoredBatch, ScoredItem

log = logging.getLogger(__name__)

WARM_WINDOW_S = 7 * 24 * 3600.0  # the cache is rebuilt from this much stored history


@dataclass(frozen=True)
class SubmitResult:
    accepted: int  # committed to the inbox: acknowledged
    duplicates: int  # already in the inbox (same guid, link or text)
    refused: int  # not committed (queue stayed full past the timeout, or stopping): the caller keeps them


@dataclass(frozen=True)
class FileIngestReport:
    path: str
    source: str
    items: int  # readable items in the file
    accepted: int
    duplicates: int
    refused: int
    problems: tuple[RowProblem, ...]  # rows skipped, with line numbers

    @property
    def complete(self) -> bool:
        return self.refused == 0


@dataclass(frozen=True)
class PipelineStats:
    running: bool
    accepted: int
    duplicates: int
    refused: int
    resumed: int  # pending inbox rows from an earlier run, queued again at start
    scored: int
    failed: int  # rows dead-lettered this run after max_attempts (inbox state failed, with the error)
    dropped: int  # total counted drops (drops sources reported)
    dropped_by_reason: tuple[tuple[str, int], ...]
    queue_depth: int
    queue_capacity: int
    peak_queue_depth: int
    backpressure_s: float  # total time sources waited for room
    batches: int
    mean_batch_size: float
    last_batch_ms: float
    classified: int
    embedded: int  # headlines that needed an embedding for their event class
    events_shed: int  # classified by rules alone because the queue was backed up (load shedding)
    embedding_available: bool
    retried: int = 0  # failed scoring attempts that were scheduled for another try (backoff)
    retrying: int = 0  # rows waiting now for their next attempt

    def to_dict(self) -> dict:
        from dataclasses import asdict

        out = asdict(self)
        out["dropped_by_reason"] = dict(self.dropped_by_reason)
        return out


def warm_cache(cache: SignalCache, store: Any, now: float | None = None, upto_id: int | None = None) -> int:
    """Rebuild a cache from the store: the live pipeline at start, and ``signaldesk features``
    (which needs no model loaded) both go through here, so they agree. ``upto_id``: signals
    stored after it are left to the live listener."""
    now = time.time() if now is None else now
    return cache.warm(store, now - WARM_WINDOW_S, classify_missing=classify_by_rules, upto_id=upto_id)


class NewsPipeline:
    def __init__(self, engine: Any, config: NewsConfig | None = None) -> None:
        if engine.store is None:
            raise ValueError("the news pipeline needs an engine with a store (a data folder)")
        self.engine = engine
        self.config = config or NewsConfig()
        self.store = engine.store
        self.inbox = Inbox(self.store)
        self.cache = SignalCache(self.config)
        self.classifier = EventClassifier(self._embedder, mode=self.config.event_prototypes,
                                          min_similarity=self.config.prototype_min_similarity)
        # Alerts for watchlist symbols ([alerts] in config.toml); the UI subscribes to self.alerts.
        self.alerts = AlertEngine(self.store, load_alert_config(engine.data_dir),
                                  engine.watchlist.symbols if engine.watchlist is not None else tuple)
        self._queue: ReservableQueue[InboxRow] = ReservableQueue(self.config.queue_capacity)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._worker: threading.Thread | None = None
        self._resumer: threading.Thread | None = None
        self._running = False
        self._in_flight = 0
        self._resuming = False
        self._warmed = False
        self._warm_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        self._warm_upto: int | None = None  # signals up to this id came from the store at warm-up
        self._sources = None
        self._counts = dict(accepted=0, duplicates=0, refused=0, resumed=0, scored=0, failed=0, batches=0,
                            events_shed=0, retried=0)
        self._retries: dict[int, tuple[float, InboxRow]] = {}  # inbox id -> (monotonic due time, row)
        self._dropped: dict[str, int] = {}
        self._last_batch_ms = 0.0
        # The cache keeps gauges and features current for every origin (pasted, live, Redis); alerts
        # are checked for every origin too, off the scoring thread (they write the alerts log).
        engine.on_scored(self._add_to_cache, name="signal cache", background=False)
        engine.on_scored(self._raise_alerts, name="alerts")

    # --- wiring ----------------------------------------------------------------------------
    def _embedder(self) -> Any:
        embedder, _spec = self.engine.models.acquire("embedding")
        return embedder

    @property
    def sources(self):
        """The operator's sources (feeds, folders, replay), persisted in the store."""
        if self._sources is None:
            from engine.news.sources.manager import SourceManager

            self._sources = SourceManager(self)
        return self._sources

    def report_dropped(self, count: int, reason: str) -> None:
        """For sources that cannot keep items they could not submit (e.g. a push stream)."""
        if count > 0:
            with self._lock:
                self._dropped[reason] = self._dropped.get(reason, 0) + int(count)

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def start(self, resume: bool = True) -> None:
        with self._lock:
            if self._running:
                return
            if self._queue.closed:
                self._queue = ReservableQueue(self.config.queue_capacity)
            self._running = True
        self.warm_cache()
        self._worker = threading.Thread(target=self._run_fast_lane, name="news-fast-lane", daemon=True)
        self._worker.start()
        if resume:
            upto = self.inbox.max_id()
            with self._lock:
                self._resuming = True
            self._resumer = threading.Thread(target=self._resume, args=(upto,), name="news-resume", daemon=True)
            self._resumer.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop sources and lanes. Items still queued stay pending in the inbox for the next start."""
        if self._sources is not None:
            self._sources.stop()
        with self._lock:
            if not self._running:
                return
            self._running = False
        self._queue.close()
        for thread in (self._resumer, self._worker):
            if thread is not None:
                thread.join(timeout)
        with self._lock:
            self._resuming = False
            self._retries.clear()  # still pending in the inbox: the next start resumes them
            self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once nothing is queued, resuming, being scored or waiting for a retry (background
        listeners are not waited for)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._running and (len(self._queue) or self._in_flight or self._resuming or self._retries):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(0.2 if remaining is None else min(0.2, remaining))
            return True

    # --- intake ------------------------------------------------------------------------------
    def submit(self, items: Sequence[NewsItem], timeout: float | None = None) -> SubmitResult:
        """Acknowledge items: commit them to the inbox and queue them for scoring.

        Blocks while the queue is full (backpressure). With a ``timeout``, chunks that found no
        room in time are refused and not committed; the caller keeps them and retries later.
        A pipeline that is not running refuses everything the same way.
        """
        accepted = duplicates = refused = 0
        if not self._running:  # stopped (or not started): refuse, the caller keeps its items
            with self._lock:
                self._counts["refused"] += len(items)
            return SubmitResult(0, 0, len(items))
        size = max(1, min(self.config.submit_chunk, self.config.queue_capacity, MAX_ROWS_PER_INSERT))
        items = list(items)
        for start in range(0, len(items), size):
            chunk = items[start:start + size]
            try:
                room = self._queue.reserve(len(chunk), timeout)
            except QueueClosed:
                room = False
            if not room:
                refused = len(items) - start
                break
            try:
                rows, dups = self.inbox.accept(chunk)
            except BaseException:
                self._queue.release(len(chunk))
                raise
            self._queue.put_reserved(rows, len(chunk))
            accepted += len(rows)
            duplicates += dups
        with self._lock:
            self._counts["accepted"] += accepted
            self._counts["duplicates"] += duplicates
            self._counts["refused"] += refused
        return SubmitResult(accepted, duplicates, refused)

    def ingest_file(self, path: Path, source: str | None = None, kind: str = "news",
                    on_progress: Callable[[SubmitResult], None] | None = None) -> FileIngestReport:
        """Read a CSV/JSONL/TXT file and submit it in chunks (blocking under backpressure).

        Raises InputDecodeError before anything is accepted when the file is not UTF-8.
        """
        path = Path(path)
        source = source or f"file:{path.name}"
        problems: list[RowProblem] = []
        totals = [0, 0, 0, 0]  # items, accepted, duplicates, refused
        chunk: list[NewsItem] = []

        def flush() -> bool:
            result = self.submit(chunk)
            totals[1] += result.accepted
            totals[2] += result.duplicates
            totals[3] += result.refused
            chunk.clear()
            if on_progress is not None:
                on_progress(result)
            return result.refused == 0

        for entry in iter_news_file(path, source, kind, self.engine.config.max_item_chars):
            if isinstance(entry, RowProblem):
                problems.append(entry)
                continue
            totals[0] += 1
            if totals[3]:
                totals[3] += 1  # stopping: the rest of the file is refused (not acknowledged)
                continue
            chunk.append(entry)
            if len(chunk) >= self.config.submit_chunk:
                flush()
        if chunk:
            flush()
        return FileIngestReport(str(path), source, totals[0], totals[1], totals[2], totals[3], tuple(problems))

    def _resume(self, upto: int) -> None:
        """Queue inbox rows left pending by an earlier run (killed, or stopped with a full queue)."""
        after = 0
        size = max(1, min(self.config.submit_chunk, self.config.queue_capacity))
        try:
            while self._running:
                rows = self.inbox.pending(after, upto, size)
                if not rows:
                    break
                try:
                    if not self._queue.reserve(len(rows)):
                        break
                except QueueClosed:
                    break
                self._queue.put_reserved(rows, len(rows))
                after = rows[-1].id
                with self._lock:
                    self._counts["resumed"] += len(rows)
            if after:
                log.info("resumed %d pending news item(s) from the inbox", self._counts["resumed"])
        finally:
            with self._lock:
                self._resuming = False
                self._idle.notify_all()

    def retry_failed(self, ids: Sequence[int] | None = None) -> int:
        """Put dead-lettered inbox rows (all, or ``ids``) back to pending with fresh attempts; they
        are queued at the next start."""
        return self.inbox.retry_failed(ids)

    def failed_items(self, limit: int = 1000) -> list:
        """The dead-letter list (``engine.news.inbox.FailedItem``: text, source, attempts, last error)."""
        return self.inbox.failed(limit)

    # --- fast lane -----------------------------------------------------------------------------
    def _run_fast_lane(self) -> None:
        fill_s = self.config.batch_timeout_ms / 1000.0
        while True:
            with self._lock:
                if not self._running:
                    break
            self._requeue_due()
            batch = self._queue.get_batch(self.config.batch_size, 0.2, fill_s)
            if not batch:
                if self._queue.closed:
                    break
                continue
            with self._lock:
                self._in_flight = len(batch)
            try:
                self._process(batch)
            except Exception:  # never let one batch kill the lane; the rows stay pending
                log.exception("news fast lane: batch of %d failed unexpectedly", len(batch))
            finally:
                with self._lock:
                    self._in_flight = 0
                    self._idle.notify_all()

    def _process(self, rows: list[InboxRow]) -> None:
        attempts = 0
        while rows:
            started = time.perf_counter()
            try:
                scored = self._score_and_store(rows)
            except sqlite3.IntegrityError as exc:
                if ALREADY_PROCESSED not in str(exc):
                    raise
                # Another process scored some of these rows first: keep only the still-pending ones.
                pending = self.inbox.still_pending(r.id for r in rows)
                rows = [r for r in rows if r.id in pending]
                continue
            except Exception as exc:
                attempts += 1
                if attempts > self.config.max_retries:
                    self._retry_later(rows, f"{type(exc).__name__}: {exc}")
                    return
                time.sleep(0.2 * attempts)
                continue
            self._after_store(scored, (time.perf_counter() - started) * 1000.0)
            return

    def _retry_later(self, rows: list[InboxRow], error: str) -> None:
        """One more failed attempt for each row: schedule the next one with backoff, or dead-letter
        the rows that have had ``max_attempts``. Both are recorded in the inbox; if even that write
        fails (the database is locked), the rows stay pending there and are retried from memory."""
        cfg = self.config
        attempts = {r.id: r.attempts + 1 for r in rows}
        dead = [r.id for r in rows if attempts[r.id] >= cfg.max_attempts]
        waits = {r.id: min(cfg.retry_max_backoff_s, cfg.retry_backoff_s * 2 ** (attempts[r.id] - 1))
                 for r in rows if r.id not in dead}
        try:
            self.inbox.record_failures({i: time.time() + w for i, w in waits.items()}, dead, error, attempts)
        except sqlite3.Error as exc:
            log.warning("news fast lane: could not record %d failed item(s) (%s); retrying them", len(rows), exc)
            waits, dead = {r.id: cfg.retry_max_backoff_s if r.id in dead else waits[r.id] for r in rows}, []
        now = time.monotonic()
        with self._lock:
            for r in rows:
                if r.id in waits:
                    self._retries[r.id] = (now + waits[r.id], replace(r, attempts=attempts[r.id]))
            self._counts["retried"] += len(waits)
            self._counts["failed"] += len(dead)
        if dead:
            log.error("news fast lane: %d item(s) dead-lettered after %d attempts: %s", len(dead),
                      cfg.max_attempts, error)
        if waits:
            log.warning("news fast lane: %d item(s) failed (%s); next attempt in %.1f s", len(waits), error,
                        min(waits.values()))

    def _requeue_due(self) -> None:
        """Put rows whose retry is due back in the queue, if it has room now (never blocks the lane)."""
        now = time.monotonic()
        with self._lock:
            due = [row for at, row in self._retries.values() if at <= now][: self.config.batch_size]
        if not due:
            return
        try:
            if not self._queue.reserve(len(due), 0):
                return
        except QueueClosed:
            return
        with self._lock:
            for row in due:
                self._retries.pop(row.id, None)
        self._queue.put_reserved(due, len(due))

    def _score_and_store(self, rows: list[InboxRow]) -> list[ScoredItem]:
        texts = [r.text for r in rows]
        signals = self.engine.analyze_batch(texts, "news", persist=False, truncated=[r.truncated for r in rows],
                                            declared=[r.tickers for r in rows])
        backlog = self.config.prototype_shed_backlog
        shed = backlog > 0 and len(self._queue) >= backlog
        events = self.classifier.classify(texts, method="rules" if shed else "combined")
        if shed:
            with self._lock:
                self._counts["events_shed"] += len(texts)
        signals = [replace(s, source=r.source) for s, r in zip(signals, rows)]
        now = time.time()
        stored = self.store.add_signals(
            signals, same_transaction=lambda kept: done_statements(rows, [s.id for s in kept], events, now))
        return [ScoredItem(s, e, r.id, r.source_kind, r.event_time) for s, e, r in zip(stored, events, rows)]

    def _after_store(self, scored: list[ScoredItem], batch_ms: float) -> None:
        with self._lock:
            self._counts["scored"] += len(scored)
            self._counts["batches"] += 1
            self._last_batch_ms = batch_ms
        self.engine.scored.publish(ScoredBatch("live", tuple(scored), batch_ms))

    def _raise_alerts(self, batch: ScoredBatch) -> None:
        self.alerts.process([(i.signal, i.event if i.event is not None else classify_by_rules(i.signal.text), i.time)
                             for i in batch.items])

    def _add_to_cache(self, batch: ScoredBatch) -> None:
        with self._cache_lock:
            upto = self._warm_upto
        if upto is None:
            return  # not warmed yet: the warm-up reads these from the store
        for item in batch.items:
            if item.signal.id is not None and item.signal.id <= upto:
                continue  # already read by the warm-up
            event = item.event if item.event is not None else classify_by_rules(item.signal.text)
            self.cache.add(item.signal, event, item.source_kind, item.time)

    # --- cache and features -------------------------------------------------------------------
    def warm_cache(self) -> None:
        """Once: every signal stored up to now from the store; the ones stored later arrive through
        the after-scoring listener. The split point is taken under the listener's lock, so each
        signal is counted exactly once whatever thread stores it meanwhile."""
        with self._warm_lock:
            if self._warmed:
                return
            self._warmed = True
            with self._cache_lock:
                upto = int(self.store.query("SELECT COALESCE(MAX(id), 0) FROM signals")[0][0])
                self._warm_upto = upto
            warm_cache(self.cache, self.store, upto_id=upto)

    def features(self, asset: str, now: float | None = None) -> dict[str, float]:
        """The J8 feature vector of an asset (engine/news/cache.py documents each value)."""
        self.warm_cache()
        return self.cache.features(asset, now)

    def snapshot(self, asset: str, now: float | None = None) -> AssetSnapshot:
        self.warm_cache()
        return self.cache.snapshot(asset, now)

    def recent_assets(self, limit: int = 50) -> list[str]:
        self.warm_cache()
        return self.cache.recent_assets(limit)

    def query(self, news_filter) -> tuple:
        """A page of stored news for the panel's table (engine/news/query.py)."""
        from engine.news.query import query_news

        return query_news(self.store, news_filter)

    def stats(self) -> PipelineStats:
        classifier = self.classifier.stats()
        with self._lock:
            c = dict(self._counts)
            dropped = dict(self._dropped)
            last_ms = self._last_batch_ms
            retrying = len(self._retries)
        return PipelineStats(
            running=self._running, accepted=c["accepted"], duplicates=c["duplicates"], refused=c["refused"],
            resumed=c["resumed"], scored=c["scored"], failed=c["failed"], dropped=sum(dropped.values()),
            dropped_by_reason=tuple(sorted(dropped.items())), queue_depth=len(self._queue),
            queue_capacity=self._queue.capacity, peak_queue_depth=self._queue.peak_depth,
            backpressure_s=round(self._queue.blocked_s, 3), batches=c["batches"],
            mean_batch_size=round(c["scored"] / c["batches"], 2) if c["batches"] else 0.0, last_batch_ms=round(last_ms, 2),
            classified=classifier.classified, embedded=classifier.embedded, events_shed=c["events_shed"],
            embedding_available=classifier.embedding_available, retried=c["retried"], retrying=retrying)
