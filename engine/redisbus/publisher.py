"""The desk's publisher: every signal stored in SQLite is published to Redis, in id order, from a cursor.

::

    signals table (any writer: paste, files, live news, other desk processes on the same database)
        --> publisher thread: SELECT id > cursor ORDER BY id (a batch) --> pipelined ``publish_signal``
            scripts (J8 keys + signals stream) --> cursor saved in SQLite (redis_state)

SQLite stays the source of truth and the cursor is the outbox: when Redis is absent or goes down
the desk keeps storing signals, the thread backs off (tenacity, up to ``max_backoff_s``) and,
once Redis answers again, publishes everything after the cursor. ``status()`` tells how far
behind it is and why.

Never counted twice: a crash between publishing a batch and saving the cursor means the batch
is published again on restart; the ``publish_signal`` script keeps, per desk (origin), the highest
signal id it has applied and skips any id at or below it (engine/redisbus/scripts.py). Signals
that came from workers (redis_remote_signals) are skipped: their worker published them.

A cursor belongs to one Redis URL and key prefix. The first time a desk meets a Redis it starts
at its newest stored signal (no flood of history); ``backfill=True`` starts at the beginning.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from engine.redisbus import scripts as lua
from engine.redisbus import state
from engine.redisbus.backoff import redis_retrying
from engine.redisbus.client import TRANSIENT_ERRORS, connect, describe_error
from engine.redisbus.config import RedisConfig, redact_url
from engine.wording import plural

log = logging.getLogger(__name__)

_ROWS = ("SELECT s.id, s.received_at, s.source, s.text, s.entities, s.label, s.probabilities, s.confidence, "
         "s.compound, s.model_id, s.model_version, s.latency_ms, s.truncated, e.category, e.subcategory, "
         "e.urgency, e.impact, e.method, e.confidence, e.source_kind, e.event_time, r.signal_id "
         "FROM signals s LEFT JOIN news_events e ON e.signal_id = s.id "
         "LEFT JOIN redis_remote_signals r ON r.signal_id = s.id "
         "WHERE s.id > ? ORDER BY s.id LIMIT ?")


@dataclass(frozen=True)
class PublisherStatus:
    enabled: bool
    url: str  # without password
    connected: bool  # the last Redis call succeeded
    running: bool
    lag: int  # signals stored after the cursor: not yet published
    cursor: int  # the last signal id published (or skipped)
    published: int  # signals this process published
    repeats_skipped: int  # signals Redis had already applied (catch-up after a crash): not counted twice
    remote_skipped: int  # worker results stored here: their worker published them
    last_error: str
    last_error_at: float | None
    retry_in_s: float | None  # while disconnected: the next attempt's wait
    last_published_at: float | None

    @property
    def message(self) -> str:
        """One line for the status bar or a log."""
        if not self.enabled:
            return "Redis: off"
        if self.connected:
            behind = f", {self.lag} waiting" if self.lag else ""
            return f"Redis: publishing to {self.url} ({self.published} published{behind})"
        retry = f"; retrying in {self.retry_in_s:.1f}s" if self.retry_in_s is not None else ""
        return (f"Redis: not connected ({self.last_error or 'connecting'}); the desk keeps working on SQLite, "
                f"{plural(self.lag, 'signal')} will be published when Redis is back{retry}")

    def to_dict(self) -> dict:
        out = asdict(self)
        out["message"] = self.message
        return out


class SignalPublisher:
    def __init__(self, store: Any, config: RedisConfig, *, backfill: bool = False,
                 client_factory: Callable[[RedisConfig], Any] | None = None) -> None:
        if not config.url:
            raise ValueError("the publisher needs a Redis URL")
        self.store = store
        self.config = config
        self._client_factory = client_factory or (lambda c: connect(c, decode_responses=True))
        self._client = None
        self._scripts: lua.Scripts | None = None
        self._origin = state.origin(store)
        self._cursor_name = f"publisher.cursor@{state.target(config)}"
        start = "0" if backfill else str(self._max_signal_id())
        self._cursor = int(state.set_default(store, self._cursor_name, start))
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connected = False
        self._published = self._repeats = self._remote = 0
        self._last_error = ""
        self._last_error_at: float | None = None
        self._retry_in: float | None = None
        self._last_published_at: float | None = None

    @property
    def origin(self) -> str:
        return self._origin

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="redis-publisher", daemon=True)
        self._thread.start()
        log.info("publishing signals to Redis at %s (cursor %d)", redact_url(self.config.url), self._cursor)

    def stop(self, flush_timeout_s: float = 3.0) -> None:
        """Stop the thread; while Redis answers, first publish what is pending (for up to ``flush_timeout_s``).
        Anything left is published by the next desk process that meets this Redis."""
        if self._thread is None:
            return
        if flush_timeout_s > 0 and self._connected:
            self.wait_caught_up(flush_timeout_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(max(1.0, self.config.connect_timeout_s + 1.0))
        self._thread = None
        if self._client is not None:
            self._client.close()
        left = self.lag()
        if left:
            log.info("Redis publisher stopped with %d signal(s) not yet published; the next start catches up", left)

    def notify(self) -> None:
        """New signals were stored: look now instead of at the next interval."""
        self._wake.set()

    def wait_caught_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.lag() == 0:
                return True
            self._wake.set()
            time.sleep(0.02)
        return self.lag() == 0

    # --- status ------------------------------------------------------------------------------
    def lag(self) -> int:
        return int(self.store.query("SELECT COUNT(*) FROM signals WHERE id > ?", (self._cursor,))[0][0])

    def status(self) -> PublisherStatus:
        with self._lock:
            return PublisherStatus(True, redact_url(self.config.url), self._connected,
                                   self._thread is not None and self._thread.is_alive(), self.lag(), self._cursor,
                                   self._published, self._repeats, self._remote, self._last_error,
                                   self._last_error_at, None if self._connected else self._retry_in,
                                   self._last_published_at)

    # --- work --------------------------------------------------------------------------------
    def _run(self) -> None:
        interval = self.config.publish_interval_ms / 1000.0
        while not self._stop.is_set():
            try:
                redis_retrying(self._stop, self.config.max_backoff_s, self._on_retry)(self.publish_pending)
            except TRANSIENT_ERRORS:
                break  # stopping while Redis is away: the cursor keeps the rest
            except Exception as exc:  # a bug or a refused command must not end publishing for good
                log.exception("Redis publisher failed")
                self._note_error(f"{type(exc).__name__}: {exc}")
                self._stop.wait(self.config.max_backoff_s)
                continue
            self._wake.wait(interval)
            self._wake.clear()

    def _on_retry(self, exc: BaseException, wait_s: float) -> None:
        news = self._connected or not self._last_error  # log the change, not every retry
        self._note_error(describe_error(self.config, exc), wait_s)
        if news:
            log.warning("%s; the desk keeps working on SQLite and catches up when Redis is back", self._last_error)
        client, self._client = self._client, None  # a fresh connection on the next attempt
        if client is not None:
            client.close()

    def _note_error(self, message: str, retry_in: float | None = None) -> None:
        with self._lock:
            self._connected = False
            self._last_error = message
            self._last_error_at = time.time()
            self._retry_in = retry_in

    def _redis(self):
        if self._client is None:
            self._client = self._client_factory(self.config)
            self._scripts = lua.Scripts(self._client)
        return self._client

    def publish_pending(self) -> int:
        """Publish everything after the cursor (in batches); returns how many were published.
        Raises the Redis error when Redis is away (the cursor stays where it was)."""
        total = 0
        client = self._redis()
        client.ping()
        self._mark_connected()
        while not self._stop.is_set():
            rows = self.store.query(_ROWS, (self._cursor, self.config.publish_batch))
            if not rows:
                break
            pipe = client.pipeline(transaction=False)
            local = []
            for row in rows:
                if row[21] is not None:  # a worker's result: already published by that worker
                    continue
                local.append(row)
                self._queue_publish(pipe, row)
            results = pipe.execute() if local else []
            applied = sum(1 for r in results if int(r) == 1)
            last = int(rows[-1][0])
            state.set_value(self.store, self._cursor_name, str(last))
            with self._lock:
                self._cursor = last
                self._published += applied
                self._repeats += len(local) - applied
                self._remote += len(rows) - len(local)
                if applied:
                    self._last_published_at = time.time()
            total += applied
            if len(rows) < self.config.publish_batch:
                break
        return total

    def _mark_connected(self) -> None:
        with self._lock:
            if not self._connected and self._last_error:
                log.info("Redis at %s is back; publishing %d waiting signal(s)", redact_url(self.config.url),
                         self.lag())
            self._connected = True
            self._retry_in = None

    def _queue_publish(self, pipe, row: tuple) -> None:
        from engine.news.events import classify_by_rules

        (sid, received_at, source, text, entities, label, probabilities, confidence, compound, model_id,
         model_version, latency_ms, truncated, category, subcategory, urgency, impact, method, ev_conf,
         source_kind, event_time, _remote) = row
        if category is None:  # pasted, not through the live pipeline: the rules' class, as the cache does
            ev = classify_by_rules(text)
            event = ev.to_dict()
        else:
            event = {"category": category, "subcategory": subcategory, "urgency": urgency, "impact": impact,
                     "method": method, "confidence": ev_conf}
        assets = [str(a) for a in json.loads(entities)]
        uid = f"{self._origin}:{sid}"
        payload = {
            "uid": uid, "news_id": "", "news_stream": "", "worker": "", "origin": self._origin, "signal_id": sid,
            "text": text, "source": source, "source_kind": source_kind or "news", "entities": assets,
            "label": label, "probabilities": json.loads(probabilities), "confidence": confidence,
            "compound": compound, "model_id": model_id, "model_version": model_version, "latency_ms": latency_ms,
            "truncated": bool(truncated), "received_at": received_at,
            "event_time": event_time if event_time is not None else received_at, "event": event,
            "published_at": time.time(),
        }
        keys = [self.config.origins_key, self.config.signals_key] + lua.asset_keys(self.config, assets)
        args = [self._origin, sid, uid, json.dumps(payload), compound, time.time()] + lua.j8_args(self.config)
        self._scripts.publish_signal(keys=keys, args=args, client=pipe)

    def _max_signal_id(self) -> int:
        return int(self.store.query("SELECT COALESCE(MAX(id), 0) FROM signals")[0][0])

