"""A stream worker: consume the news stream through a consumer group, score in batches, publish, ack.

::

    XGROUP CREATE <news> <group> 0 MKSTREAM        (once; BUSYGROUP = someone else did)
    loop:
        every claim_interval_s: XAUTOCLAIM entries idle >= claim_min_idle_ms (their consumer is
            presumed dead) and score them here; XTRIM acknowledged news; forget long-idle empty consumers
        XREADGROUP GROUP <group> <consumer> COUNT batch_size BLOCK block_ms STREAMS <news> >
        decode -> poison entries (no text, not UTF-8, bad field, delivered max_deliveries times)
        Engine.analyze_batch + event class (the live pipeline's classifier), tickers merged
        one MULTI/EXEC: per entry the ack_and_publish script (XACK, then results + J8 keys + signals
            stream, only if the XACK removed it from the pending list) or dead_letter (XACK + reason)

Every result carries an HMAC of its payload made with the desk key (engine/redisbus/signing.py):
the desk stores only results it can verify, so write access to the results stream is not enough
to create signals.

Guarantee: an entry is scored at least once (a worker killed before its EXEC leaves it pending;
another worker reclaims it after claim_min_idle_ms; a slow worker's entry may be scored twice).
Its result is published once: XACK and publication are one atomic script and only the call whose
XACK succeeded publishes, so of two workers scoring the same entry exactly one publishes and the
other counts ``duplicates_skipped``. That holds while Redis keeps acknowledged writes (AOF with
``appendfsync always``; ``everysec`` may lose the last second, taking the ack and the result
together, so the entry is scored and published again). Every result carries ``news_id`` (its
news entry id) for consumers that want to dedupe across such a loss; the desk's subscriber does.

Stopping (SIGTERM via ``request_stop``): the current batch is finished and published, then the
loop ends; what was never read stays in the stream for the other workers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import redis

from engine.news.config import NewsConfig
from engine.news.events import EventClassifier
from engine.redisbus import scripts as lua
from engine.redisbus import signing
from engine.redisbus.backoff import redis_retrying
from engine.redisbus.client import TRANSIENT_ERRORS, connect, describe_error
from engine.redisbus.config import RedisConfig
from engine.redisbus.messages import NewsMessage, Poison, decode_news, signal_payload

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    consumer: str
    read: int = 0  # entries received (new and reclaimed)
    scored: int = 0
    published: int = 0  # results this worker published (its XACK won)
    duplicates_skipped: int = 0  # scored here, but another worker had already acked and published it
    dead_lettered: int = 0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)
    claimed: int = 0  # entries taken over from presumed-dead consumers (XAUTOCLAIM)
    batches: int = 0
    score_failures: int = 0  # batches whose scoring raised: left pending, retried after claim_min_idle_ms
    trimmed: int = 0  # acknowledged news entries removed from the stream
    connection_errors: int = 0
    last_error: str = ""
    started_at: float = field(default_factory=time.time)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["elapsed_s"] = round(time.time() - self.started_at, 3)
        return out


def _s(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


class StreamWorker:
    def __init__(self, engine: Any, config: RedisConfig, consumer: str, *, news_config: NewsConfig | None = None,
                 client: Any = None, key: bytes | None = None) -> None:
        self.engine = engine
        self.config = config
        self.consumer = consumer
        # Results are signed with the desk key (raises KeyProblem when this worker has none).
        self._key = key if key is not None else signing.desk_key(config.hmac_key, engine.data_dir, create=False)
        self._kid = signing.key_id(self._key)
        news_config = news_config or NewsConfig()
        self.classifier = EventClassifier(self._embedder, mode=news_config.event_prototypes,
                                          min_similarity=news_config.prototype_min_similarity)
        # Bytes, not str: an entry that is not UTF-8 must become a dead letter, not break the whole read.
        self.client = client or connect(config, decode_responses=False, block_ms=config.block_ms)
        self.scripts = lua.Scripts(self.client)
        self.stats = WorkerStats(consumer)
        self._stop = threading.Event()
        self._max_chars = int(getattr(engine.config, "max_item_chars", 2000))

    def _embedder(self) -> Any:
        embedder, _spec = self.engine.models.acquire("embedding")
        return embedder

    # --- lifecycle ---------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Finish the batch in hand, then return from ``run`` (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _call(self, fn, *args, **kwargs):
        """A Redis call retried with backoff while Redis is away; raises once a stop is requested."""
        return redis_retrying(self._stop, self.config.max_backoff_s, self._on_retry)(fn, *args, **kwargs)

    def _on_retry(self, exc: BaseException, wait_s: float) -> None:
        self.stats.connection_errors += 1
        self.stats.last_error = describe_error(self.config, exc)
        log.warning("%s; retrying in %.1fs", self.stats.last_error, wait_s)

    def run(self, max_batches: int | None = None) -> WorkerStats:
        """Consume until ``request_stop`` (or ``max_batches`` batches, for tests). Returns the stats."""
        try:
            self._call(self.ensure_group)
            log.info("worker %s consuming %s (group %s)", self.consumer, self.config.news_key, self.config.group)
            self._process_own_pending()
            next_claim = time.monotonic() + min(self.config.claim_interval_s, self.config.claim_min_idle_ms / 1000.0)
            while not self._stop.is_set():
                if max_batches is not None and self.stats.batches >= max_batches:
                    break
                if time.monotonic() >= next_claim:
                    self._call(self.reclaim)
                    self._call(self.maintain)
                    next_claim = time.monotonic() + self.config.claim_interval_s
                entries = self._call(self._read_new)
                if entries:
                    self._process(entries, reclaimed=False)
        except TRANSIENT_ERRORS as exc:  # stop requested while Redis was away
            self.stats.last_error = describe_error(self.config, exc)
            log.warning("worker %s stopping while Redis is unavailable; unacknowledged entries stay pending "
                        "for the other workers", self.consumer)
        log.info("worker %s stopped: %s", self.consumer, json.dumps(self.stats.to_dict()))
        return self.stats

    # --- Redis operations --------------------------------------------------------------------
    def ensure_group(self) -> None:
        try:
            # From 0: whatever was fed before the first worker started is scored too.
            self.client.xgroup_create(self.config.news_key, self.config.group, id="0", mkstream=True)
            log.info("created consumer group %s on %s", self.config.group, self.config.news_key)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _read_new(self) -> list:
        try:
            reply = self.client.xreadgroup(self.config.group, self.consumer, {self.config.news_key: ">"},
                                           count=self.config.batch_size, block=self.config.block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the group (restarted without persistence, or the stream was deleted): recreate it.
            log.warning("consumer group %s is gone from %s; creating it again", self.config.group, self.config.news_key)
            self.ensure_group()
            return []
        return reply[0][1] if reply else []

    def _process_own_pending(self) -> None:
        """Entries delivered to this consumer name before a restart and never acked: ours to finish."""
        after = "0"
        while not self._stop.is_set():
            reply = self._call(self.client.xreadgroup, self.config.group, self.consumer,
                               {self.config.news_key: after}, count=self.config.batch_size)
            entries = reply[0][1] if reply else []
            if not entries:
                return
            self._process(entries, reclaimed=True)
            after = _s(entries[-1][0])  # onwards, even if this batch failed to score and stays pending

    def reclaim(self) -> int:
        """XAUTOCLAIM entries idle past claim_min_idle_ms (their consumer is presumed dead) and score them."""
        start = "0-0"
        total = 0
        while not self._stop.is_set():
            reply = self.client.xautoclaim(self.config.news_key, self.config.group, self.consumer,
                                           self.config.claim_min_idle_ms, start_id=start, count=self.config.batch_size)
            next_start, entries = reply[0], reply[1]
            deleted = reply[2] if len(reply) > 2 else []
            for entry_id in deleted:  # trimmed while pending: Redis dropped it from the pending list already
                self._record_deleted(_s(entry_id))
            if entries:
                total += len(entries)
                self.stats.claimed += len(entries)
                log.info("worker %s reclaimed %d entr%s idle over %d ms", self.consumer, len(entries),
                         "y" if len(entries) == 1 else "ies", self.config.claim_min_idle_ms)
                self._process(entries, reclaimed=True)
            if _s(next_start) == "0-0":
                break
            start = _s(next_start)
        return total

    def _record_deleted(self, entry_id: str) -> None:
        reason = "entry deleted from the stream before it was scored"
        self.client.xadd(self.config.dead_letter_key, {"news_id": entry_id, "reason": reason, "worker": self.consumer,
                                                       "fields": "{}"},
                         maxlen=self.config.stream_maxlen, approximate=True)
        self._count_dead(reason)

    def maintain(self) -> None:
        """Trim news every group has acknowledged; forget consumers idle for long with nothing pending."""
        if self.config.news_trim == "acked":
            self._trim_acked()
        for consumer in self.client.xinfo_consumers(self.config.news_key, self.config.group):
            name = _s(consumer.get("name", b""))
            if (name != self.consumer and int(consumer.get("pending", 0)) == 0
                    and int(consumer.get("idle", 0)) > self.config.consumer_forget_ms):
                self.client.xgroup_delconsumer(self.config.news_key, self.config.group, name)
                log.info("forgot idle consumer %s (nothing pending)", name)

    def _trim_acked(self) -> None:
        groups = self.client.xinfo_groups(self.config.news_key)
        if not groups:
            return
        keep_from: list[tuple[int, int]] = []
        for group in groups:
            name = group.get("name")
            # XINFO and XPENDING are two calls: another worker may ack the last pending entry in
            # between (min is then None), and the group's last-delivered id still bounds it safely.
            oldest = self.client.xpending(self.config.news_key, name).get("min") if int(group.get("pending", 0)) else None
            if oldest is not None:
                keep_from.append(_parse_id(_s(oldest)))
            else:
                ms, seq = _parse_id(_s(group.get("last-delivered-id", b"0-0")))
                keep_from.append((ms, seq + 1))  # everything up to the last delivered entry is acked
        ms, seq = min(keep_from)
        if (ms, seq) > (0, 0):
            # MINID ~ removes whole nodes below the id only: never an entry still pending or undelivered.
            removed = self.client.xtrim(self.config.news_key, minid=f"{ms}-{seq}", approximate=True)
            self.stats.trimmed += int(removed or 0)

    # --- scoring and publishing --------------------------------------------------------------
    def _process(self, entries: list, reclaimed: bool) -> None:
        self.stats.read += len(entries)
        decoded = [decode_news(entry_id, fields, self._max_chars) for entry_id, fields in entries]
        if reclaimed:
            decoded = self._poison_over_delivered(decoded)
        good = [d for d in decoded if isinstance(d, NewsMessage)]
        poison = [d for d in decoded if isinstance(d, Poison)]
        scored = []
        if good:
            try:
                scored = self._score(good)
            except Exception as exc:  # left pending: reclaimed after claim_min_idle_ms, dead-lettered after max_deliveries
                self.stats.score_failures += 1
                self.stats.last_error = f"scoring failed: {type(exc).__name__}: {exc}"
                log.exception("worker %s: scoring a batch of %d failed; the entries stay pending", self.consumer,
                              len(good))
                scored = []
        if not scored and not poison:
            return
        results = self._call(self._publish, scored, poison)
        outcomes = iter(results)
        for _ in scored:
            if int(next(outcomes)) == 1:
                self.stats.published += 1
            else:
                self.stats.duplicates_skipped += 1
        for p in poison:
            if int(next(outcomes)) == 1:
                self._count_dead(p.reason)
                log.warning("dead-lettered news entry %s: %s", p.entry_id, p.reason)
        self.stats.scored += len(scored)
        self.stats.batches += 1

    def _poison_over_delivered(self, decoded: list) -> list:
        if not decoded:
            return decoded
        ids = [d.entry_id for d in decoded]
        pending = self.client.xpending_range(self.config.news_key, self.config.group, min=min(ids, key=_parse_id),
                                             max=max(ids, key=_parse_id), count=len(ids) + 100,
                                             consumername=self.consumer)
        deliveries = {_s(p["message_id"]): int(p["times_delivered"]) for p in pending}
        out = []
        for d in decoded:
            times = deliveries.get(d.entry_id, 0)
            if isinstance(d, NewsMessage) and times >= self.config.max_deliveries:
                out.append(Poison(d.entry_id, f"delivered {times} times without being acknowledged "
                                              f"(max_deliveries {self.config.max_deliveries})",
                                  json.dumps({"text": d.item.text[:500], "source": d.item.source})))
            else:
                out.append(d)
        return out

    def _score(self, messages: list[NewsMessage]) -> list[tuple[NewsMessage, Any, Any]]:
        items = [m.item for m in messages]
        texts = [i.text for i in items]
        signals = self.engine.analyze_batch(texts, "news", persist=False, truncated=[i.truncated for i in items],
                                            declared=[i.tickers for i in items])
        events = self.classifier.classify(texts)
        out = []
        for message, sig, event in zip(messages, signals, events):
            item = message.item
            sig = replace(sig, source=item.source)
            out.append((message, sig, event))
        return out

    def _publish(self, scored: list, poison: list[Poison]) -> list:
        """One MULTI/EXEC for the whole batch (built afresh on every attempt: a failed pipeline is reset)."""
        cfg = self.config
        now = time.time()
        pipe = self.client.pipeline(transaction=True)
        for message, sig, event in scored:
            item = message.item
            event_time = item.published_at if item.published_at is not None and item.published_at <= now + 60 \
                else sig.received_at
            uid = f"{cfg.news_key}:{message.entry_id}"
            payload = signal_payload(sig, event, uid=uid, source_kind=item.source_kind, event_time=event_time,
                                     news_id=message.entry_id, news_stream=cfg.news_key, worker=self.consumer)
            keys = [cfg.news_key, cfg.results_key, cfg.signals_key] + lua.asset_keys(cfg, sig.entities)
            body = json.dumps(payload)
            args = [cfg.group, message.entry_id, uid, body, sig.compound, now] + lua.j8_args(cfg) \
                + [self.consumer, signing.sign(self._key, message.entry_id, body), self._kid]
            self.scripts.ack_and_publish(keys=keys, args=args, client=pipe)
        for p in poison:
            self.scripts.dead_letter(keys=[cfg.news_key, cfg.dead_letter_key],
                                     args=[cfg.group, p.entry_id, p.reason, self.consumer, p.fields_json,
                                           cfg.stream_maxlen], client=pipe)
        return pipe.execute()

    def _count_dead(self, reason: str) -> None:
        self.stats.dead_lettered += 1
        key = reason.split(":")[0][:60]
        self.stats.dead_letter_reasons[key] = self.stats.dead_letter_reasons.get(key, 0) + 1


def _parse_id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)
