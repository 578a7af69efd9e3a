"""Worker results into the desk: read the results stream, store each result once, hand it to the GUI.

API (for wiring into the app; plain Python, no Qt, runs headless)::

    from engine.redisbus.subscriber import ResultsSubscriber

    sub = ResultsSubscriber(engine.store, "redis://host:6379/0", on_signals=callback)
    sub.start()          # background thread "redis-results": XREAD BLOCK from the saved position
    sub.status()         # SubscriberStatus: connected, last_id, stored, duplicates, invalid, last_error, message
    sub.stop()           # returns within about block_ms

    # or, without a thread (tests, scripts): one read-and-store round
    items = sub.poll_once(block_ms=0)

``callback(items)`` receives a list of ``engine.scored.ScoredItem`` (signal with its new
SQLite id, event class, source kind, event time; ``inbox_id`` is 0: no local inbox row), the same
type every ``Engine.on_scored`` listener gets; the desk passes them on as a batch of origin
"redis" (``engine.redisbus.hooks.start_results_subscriber``), so the cache, ideas and the Live table treat remote
signals like local ones. It runs on the subscriber thread after the batch is committed and must
return quickly. A failing callback is logged; the signals stay stored.

Results are untrusted input: each must carry a valid HMAC made with the desk key
(engine/redisbus/signing.py; the key file in the store's data folder unless ``[redis] hmac_key``
names one) and pass every field check (engine/redisbus/messages.py ``decode_result``). One that
does not (unsigned, signed with another key, a forged or invalid field) is not stored: it goes to
the dead-letter stream with the reason, and ``status().invalid`` counts it.

Each result is stored as a signal whose source is ``redis:<original source>``, with its event row
(news_events) and a ``redis_remote_signals`` row naming the news entry and the worker. That row's
key (news stream, news entry id) makes a redelivered result a no-op, and the last read results
entry id is saved in the same transaction, so a restart resumes exactly after the last stored
result. On its first run the subscriber starts at the oldest result still in the stream
(``from_start=False`` starts with new results only). The desk's publisher skips these signals:
their worker already published them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Sequence

from engine.redisbus import signing, state
from engine.redisbus.backoff import redis_retrying
from engine.redisbus.client import TRANSIENT_ERRORS, connect, describe_error
from engine.redisbus.config import RedisConfig, load_redis_config, redact_url
from engine.redisbus.messages import RejectedResult, RemoteResult, decode_result, raw_fields_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubscriberStatus:
    url: str
    stream: str
    connected: bool
    running: bool
    last_id: str  # the last results entry stored (or skipped); the next read starts after it
    stored: int  # results stored as new signals by this process
    duplicates: int  # results whose news entry was already stored
    invalid: int  # results refused (unsigned, bad signature, invalid field): dead-lettered with the reason
    last_error: str

    @property
    def message(self) -> str:
        if self.connected:
            return f"Redis results: {self.stored} stored from {self.url}"
        return f"Redis results: not connected ({self.last_error or 'connecting'}); resuming after {self.last_id}"

    def to_dict(self) -> dict:
        out = asdict(self)
        out["message"] = self.message
        return out


class ResultsSubscriber:
    def __init__(self, store: Any, url: str | None = None,
                 on_signals: Callable[[list], None] | None = None, *,
                 config: RedisConfig | None = None, from_start: bool = True,
                 client: Any = None, key: bytes | None = None) -> None:
        from dataclasses import replace
        from pathlib import Path

        config = config or load_redis_config(None)
        if url:
            config = replace(config, url=url)
        if not config.url:
            raise ValueError("the results subscriber needs a Redis URL")
        self.store = store
        self.config = config
        # The desk key: made in the desk's data folder on first use unless settings name one.
        self._key = key if key is not None else signing.desk_key(config.hmac_key, Path(store.path).parent, create=True)
        self.on_signals = on_signals
        self._client = client or connect(config, decode_responses=False, block_ms=config.block_ms)
        self._cursor_name = f"subscriber.last_id@{state.target(config)}/{config.results_stream}"
        self._last_id = state.get_value(store, self._cursor_name) or ("0-0" if from_start else "$")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connected = False
        self._stored = self._duplicates = self._invalid = 0
        self._last_error = ""

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="redis-results", daemon=True)
        self._thread.start()
        log.info("subscribed to %s at %s after %s", self.config.results_key, redact_url(self.config.url), self._last_id)

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout if timeout is not None else self.config.block_ms / 1000.0 + 5.0)
            self._thread = None
        self._client.close()

    def status(self) -> SubscriberStatus:
        with self._lock:
            return SubscriberStatus(redact_url(self.config.url), self.config.results_key, self._connected,
                                    self._thread is not None and self._thread.is_alive(), self._last_id,
                                    self._stored, self._duplicates, self._invalid, self._last_error)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                redis_retrying(self._stop, self.config.max_backoff_s, self._on_retry)(
                    self.poll_once, self.config.block_ms)
            except TRANSIENT_ERRORS:
                break  # stopping while Redis is away
            except Exception as exc:  # e.g. the database is locked for long: log, wait, go on
                log.exception("results subscriber failed")
                with self._lock:
                    self._last_error = f"{type(exc).__name__}: {exc}"
                self._stop.wait(1.0)

    def _on_retry(self, exc: BaseException, wait_s: float) -> None:
        with self._lock:
            was = self._connected
            self._connected = False
            self._last_error = describe_error(self.config, exc)
        if was:
            log.warning("%s; the subscriber resumes after %s when it is back", self._last_error, self._last_id)

    # --- work --------------------------------------------------------------------------------
    def poll_once(self, block_ms: int | None = 0) -> list:
        """Read one batch of results after the saved position, store the new ones, call on_signals.
        Returns the stored items (ScoredItem). Raises Redis errors (the position is unchanged)."""
        if self._last_id == "$":
            self._pin_latest()
        reply = self._client.xread({self.config.results_key: self._last_id}, count=self.config.batch_size * 4,
                                   block=block_ms if block_ms else None)
        with self._lock:
            self._connected = True
        entries = reply[0][1] if reply else []
        if not entries:
            return []
        results: list[RemoteResult] = []
        rejected: list[tuple[Any, Any, str]] = []
        for entry_id, fields in entries:
            try:
                results.append(decode_result(entry_id, fields, self._key))
            except RejectedResult as exc:
                rejected.append((entry_id, fields, str(exc)))
                log.warning("results subscriber: %s; dead-lettered", exc)
        if rejected:
            self._dead_letter(rejected)  # before the position moves past them
        invalid = len(rejected)
        last = entries[-1][0]
        last = last.decode() if isinstance(last, bytes) else str(last)
        items = self._store(results, last)
        with self._lock:
            self._last_id = last
            self._invalid += invalid
        if items and self.on_signals is not None:
            try:
                self.on_signals(items)
            except Exception:
                log.exception("results subscriber: on_signals failed (the signals are stored)")
        return items

    def _dead_letter(self, rejected: list[tuple[Any, Any, str]]) -> None:
        """Forged, unsigned or invalid results go to the dead-letter stream with the reason, so an
        operator sees them (XRANGE <prefix>:deadletter); at least once, like the stream reads."""
        pipe = self._client.pipeline(transaction=False)
        for entry_id, fields, reason in rejected:
            pipe.xadd(self.config.dead_letter_key,
                      {"result_id": entry_id, "stream": self.config.results_key, "reason": reason,
                       "reader": "desk", "fields": raw_fields_json(fields)},
                      maxlen=self.config.stream_maxlen, approximate=True)
        pipe.execute()

    def _pin_latest(self) -> None:
        """"New results only": fix the position once, as a real id, so nothing arriving between reads
        (or before a restart) is skipped, as re-reading with "$" would."""
        info = self._client.xinfo_stream(self.config.results_key) if self._client.exists(self.config.results_key) else None
        last = info.get("last-generated-id") if info else None
        self._last_id = (last.decode() if isinstance(last, bytes) else str(last)) if last else "0-0"
        state.set_value(self.store, self._cursor_name, self._last_id)

    def _store(self, results: Sequence[RemoteResult], last_id: str) -> list:
        from engine.scored import ScoredItem

        for _attempt in range(3):
            fresh = self._fresh(results)
            duplicates = len(results) - len(fresh)
            now = time.time()

            def bookkeeping(stored):
                statements = []
                for result, sig in zip(fresh, stored):
                    e = result.event
                    statements.append((
                        "INSERT INTO news_events (signal_id, category, subcategory, urgency, impact, method, "
                        "confidence, source_kind, event_time) VALUES (?,?,?,?,?,?,?,?,?)",
                        (sig.id, e.category, e.subcategory, e.urgency, e.impact, e.method, e.confidence,
                         result.source_kind, result.event_time)))
                    statements.append((
                        "INSERT INTO redis_remote_signals (news_stream, news_id, result_id, worker, signal_id, "
                        "stored_at) VALUES (?,?,?,?,?,?)",
                        (result.news_stream, result.news_id, result.result_id, result.worker, sig.id, now)))
                statements.append(state.set_statement(self._cursor_name, last_id))
                return statements

            try:
                if fresh:
                    stored = self.store.add_signals([r.signal for r in fresh], same_transaction=bookkeeping)
                else:
                    sql, params = state.set_statement(self._cursor_name, last_id)
                    self.store.execute(sql, params)
                    stored = []
            except sqlite3.IntegrityError:
                continue  # another process stored some of them first: look again
            with self._lock:
                self._stored += len(stored)
                self._duplicates += duplicates
            return [ScoredItem(sig, r.event, 0, r.source_kind, r.event_time) for sig, r in zip(stored, fresh)]
        raise RuntimeError("results subscriber: could not store a batch after 3 attempts")

    def _fresh(self, results: Sequence[RemoteResult]) -> list[RemoteResult]:
        """Results whose news entry is not stored yet (and the first of any repeats within the batch)."""
        if not results:
            return []
        seen: set[tuple[str, str]] = set()
        keys = [(r.news_stream, r.news_id) for r in results]
        marks = ",".join("(?, ?)" for _ in keys)
        flat = [v for k in keys for v in k]
        rows = self.store.query(
            f"SELECT news_stream, news_id FROM redis_remote_signals WHERE (news_stream, news_id) IN (VALUES {marks})",
            tuple(flat))
        seen.update((a, b) for a, b in rows)
        fresh = []
        for r, key in zip(results, keys):
            if key in seen:
                continue
            seen.add(key)
            fresh.append(r)
        return fresh
