"""Per-asset signal cache and the J8 feature vector.

For each asset (ticker) the cache keeps the latest signal (valid for ``signal_ttl_hours``), a
bounded history, and a running sentiment (EWMA of the compound score, newest weight
``ewma_alpha``). Confidence decays with age: it halves every ``half_life_hours_<category>``
hours of the signal's event class (J7 decay hours, engine/news/config.py).

``features(asset)`` returns, in this order:

- ``sentiment``: compound score (p_bullish - p_bearish) of the latest live signal, else 0
- ``decayed_confidence``: its confidence times 0.5 ** (age / half-life of its category)
- ``weighted_sentiment``: sentiment x decayed_confidence
- ``high_impact``: 1.0 when the latest live signal's event impact is high
- ``running_sentiment``: the EWMA over every signal seen for the asset
- ``aggregate_sentiment``: multi-source view (seed 000): the latest live signal of each source,
  weighted by its source kind (news / analyst / social) times its decayed confidence
- ``consensus_share``: the weight share of those sources whose own compound points the same
  way as the aggregate (up, down, or flat within +-0.05)
- ``live_sources``: how many sources have a live signal for the asset
"""

from __future__ import annotations

import collections
import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Iterable, Sequence

from engine.news.config import NewsConfig
from engine.news.events import EventInfo
from engine.types import Signal

FEATURE_NAMES: tuple[str, ...] = ("sentiment", "decayed_confidence", "weighted_sentiment", "high_impact",
                                  "running_sentiment", "aggregate_sentiment", "consensus_share", "live_sources")
NEUTRAL_BAND = 0.05  # |aggregate| below this reads as "no direction"
MAX_ASSETS = 20_000  # least recently updated assets are forgotten beyond this


@dataclass(frozen=True)
class CachedSignal:
    signal_id: int | None
    asset: str
    source: str
    source_kind: str
    label: str
    compound: float
    confidence: float
    category: str
    subcategory: str
    impact: str
    urgency: str
    event_time: float  # unix seconds: published time, else when accepted


@dataclass(frozen=True)
class AssetSnapshot:
    asset: str
    latest: CachedSignal | None  # None when no live signal (never seen, or older than the TTL)
    age_hours: float | None
    history: tuple[CachedSignal, ...]  # oldest first
    running_sentiment: float
    running_series: tuple[float, ...]  # the running sentiment after each of the history's signals (a sparkline)
    features: dict[str, float]


class _AssetState:
    __slots__ = ("history", "series", "running", "count")

    def __init__(self, maxlen: int) -> None:
        self.history: collections.deque[CachedSignal] = collections.deque(maxlen=maxlen)
        self.series: collections.deque[float] = collections.deque(maxlen=maxlen)
        self.running = 0.0
        self.count = 0


def _direction(score: float) -> int:
    return 0 if abs(score) < NEUTRAL_BAND else int(math.copysign(1, score))


def decay_factor(age_s: float, half_life_hours: float) -> float:
    """What is left of a headline's weight after ``age_s`` seconds: it halves every half-life."""
    return 0.5 ** (max(0.0, age_s) / 3600.0 / half_life_hours)


def normalise_asset(asset: str) -> str:
    return asset.strip().lstrip("$").upper()


class SignalCache:
    """Thread-safe: the fast lane writes, any thread reads."""

    def __init__(self, config: NewsConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._assets: collections.OrderedDict[str, _AssetState] = collections.OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._assets)

    def assets(self) -> list[str]:
        with self._lock:
            return list(self._assets)

    def recent_assets(self, limit: int = 50) -> list[str]:
        """The assets with the most recent signals, newest first (for the panel's gauges)."""
        with self._lock:
            names = list(self._assets)
        return names[::-1][:limit]

    def add(self, signal: Signal, event: EventInfo, source_kind: str, event_time: float) -> None:
        entries = [CachedSignal(signal.id, asset, signal.source, source_kind, signal.label, signal.compound,
                                signal.confidence, event.category, event.subcategory, event.impact, event.urgency,
                                event_time) for asset in signal.entities]
        self.add_entries(entries)

    def add_entries(self, entries: Iterable[CachedSignal]) -> None:
        alpha = self.config.ewma_alpha
        with self._lock:
            for entry in entries:
                state = self._assets.get(entry.asset)
                if state is None:
                    state = self._assets[entry.asset] = _AssetState(self.config.history_per_asset)
                    if len(self._assets) > MAX_ASSETS:
                        self._assets.popitem(last=False)
                else:
                    self._assets.move_to_end(entry.asset)
                state.running = entry.compound if state.count == 0 else alpha * entry.compound + (1 - alpha) * state.running
                state.count += 1
                state.history.append(entry)
                state.series.append(state.running)

    # --- reading ---------------------------------------------------------------------------
    def decayed_confidence(self, entry: CachedSignal, now: float) -> float:
        return entry.confidence * decay_factor(now - entry.event_time, self.config.half_life_hours(entry.category))

    def _live(self, entry: CachedSignal, now: float) -> bool:
        return now - entry.event_time <= self.config.signal_ttl_hours * 3600.0

    def snapshot(self, asset: str, now: float | None = None) -> AssetSnapshot:
        now = time.time() if now is None else now
        asset = normalise_asset(asset)
        with self._lock:
            state = self._assets.get(asset)
            history = tuple(state.history) if state else ()
            series = tuple(state.series) if state else ()
            running = state.running if state else 0.0
        live = [e for e in history if self._live(e, now)]
        latest = max(live, key=lambda e: (e.event_time, e.signal_id or 0)) if live else None
        feats = dict.fromkeys(FEATURE_NAMES, 0.0)
        feats["running_sentiment"] = running
        age = None
        if latest is not None:
            age = max(0.0, now - latest.event_time) / 3600.0
            dc = self.decayed_confidence(latest, now)
            feats.update(sentiment=latest.compound, decayed_confidence=dc, weighted_sentiment=latest.compound * dc,
                         high_impact=1.0 if latest.impact == "high" else 0.0)
            feats.update(self._aggregate(live, now))
        return AssetSnapshot(asset, latest, age, history, running, series,
                             {k: float(round(v, 6)) for k, v in feats.items()})

    def features(self, asset: str, now: float | None = None) -> dict[str, float]:
        return self.snapshot(asset, now).features

    def _aggregate(self, live: Sequence[CachedSignal], now: float) -> dict[str, float]:
        # One vote per source: its newest live signal, so a chatty account cannot outvote a wire.
        newest: dict[str, CachedSignal] = {}
        for e in live:
            if e.source not in newest or (e.event_time, e.signal_id or 0) >= (newest[e.source].event_time, newest[e.source].signal_id or 0):
                newest[e.source] = e
        votes = [(self.config.source_weight(e.source_kind) * self.decayed_confidence(e, now), e) for e in newest.values()]
        total = sum(w for w, _e in votes)
        if total <= 0:
            return {"aggregate_sentiment": 0.0, "consensus_share": 0.0, "live_sources": float(len(newest))}
        aggregate = sum(w * e.compound for w, e in votes) / total
        direction = _direction(aggregate)
        agreeing = sum(w for w, e in votes if _direction(e.compound) == direction)
        return {"aggregate_sentiment": aggregate, "consensus_share": agreeing / total,
                "live_sources": float(len(newest))}

    # --- warm start from the store -----------------------------------------------------------
    def warm(self, store, since: float, classify_missing=None, limit: int = 50_000, upto_id: int | None = None) -> int:
        """Rebuild from signals stored since ``since`` (by arrival, so a backfill of old news still
        counts for the running sentiment; age and TTL use each item's own time), so a fresh process (the
        ``features`` CLI, an app restart) sees the same state the live pipeline built.
        Signals without an event row (pasted before this module existed) get ``classify_missing``'s
        class, or ``other``."""
        rows = store.query(
            "SELECT s.id, s.source, s.entities, s.label, s.compound, s.confidence, s.received_at, "
            "e.category, e.subcategory, e.impact, e.urgency, e.source_kind, e.event_time, s.text "
            "FROM signals s LEFT JOIN news_events e ON e.signal_id = s.id "
            "WHERE s.received_at >= ? AND s.id <= ? ORDER BY s.id DESC LIMIT ?",
            (float(since), int(upto_id) if upto_id is not None else 2**62, int(limit)))
        entries: list[CachedSignal] = []
        for (sid, source, entities, label, compound, confidence, received, category, sub, impact, urgency,
             kind, event_time, text) in reversed(rows):
            if category is None:
                event = classify_missing(text) if classify_missing else None
                category, sub, impact, urgency = ((event.category, event.subcategory, event.impact, event.urgency)
                                                  if event else ("other", "general", "low", "low"))
            for asset in json.loads(entities):
                entries.append(CachedSignal(sid, asset, source, kind or "news", label, compound, confidence, category,
                                            sub, impact, urgency, event_time if event_time is not None else received))
        self.add_entries(entries)  # arrival (id) order, as the live pipeline added them: same EWMA
        return len(rows)
