"""The engine facade: ``Engine.analyze(text) -> Signal``. Plain Python, no Qt.

The facade owns the store and the model manager (``engine.models``). Each batch takes the
active sentiment model from the manager; when the preferred model is missing or fails its
sha256 check the manager falls back (to the lexicon at worst) and ``sentiment_status``
says why, so the UI can show a degraded state.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.calibration.service import CalibrationService
from engine.config import Config
from engine.entities import EntityLinker, default_linker, default_universe, subjects
from engine.entities.watchlist import Watchlist
from engine.hardware import HardwareProfile, detect_hardware
from engine.ideas.desk import AutoProposer, IdeasUnavailable, open_idea_book
from engine.models.manager import ModelManager
from engine.monitoring import model_key, sampler_from_config
from engine.reasoning.lanes import LaneGate
from engine.reasoning.requests import ExplanationRequests
from engine.scored import ScoredBatch, ScoredHub, ScoredItem
from engine.sentiment.base import LABELS
from engine.store import DB_FILE_NAME, Store
from engine.types import EntityLink, ModelStatus, Signal

log = logging.getLogger(__name__)

WATCHLIST_POLL_S = 1.0  # how often scoring checks for a watchlist changed by another process
AFTER_SCORING_DRAIN_S = 10.0  # at close: how long stored batches may still take to reach their listeners

class Engine:
    def __init__(self, config: Config, data_dir: Path | None, *, store: Store | None = None,
                 publish_to_redis: bool = True, desk: bool = False) -> None:
        """``desk=True`` (the desktop app) also proposes trade ideas from every stored batch and lets
        auto-explain act on them; command-line engines only score and store."""
        self.config = config
        self.data_dir = Path(data_dir) if data_dir else None
        if store is None and self.data_dir is not None:
            store = Store(self.data_dir / DB_FILE_NAME)
        self.store = store
        self._hardware: HardwareProfile | None = None
        self.monitor = sampler_from_config(config, store)  # started by the app, not here
        self.calibration = CalibrationService(store) if store is not None else None
        if store is not None and self.calibration is not None:
            store.shown_view = self.calibration.attach  # new signals record the view they are shown with
        self.models = ModelManager(config, self.data_dir, store, lambda: self.hardware)
        self.models.subscribe(self._track_model_memory)
        # Scoring batches mark the fast lane busy; LLM generation (slow lane) yields to them.
        self.lanes = LaneGate()
        self._reasoning = None
        self._reasoning_lock = threading.Lock()
        self._news = None
        self._news_lock = threading.Lock()
        # After-scoring work (cache, Redis publisher, ideas, auto-explain) subscribes here; see engine/scored.py.
        self.scored = ScoredHub()
        self._ideas = None
        self._ideas_error: Exception | None = None
        self._ideas_lock = threading.Lock()
        self._desk = None
        self._desk_lock = threading.Lock()
        self.explanations = ExplanationRequests(self)
        self.proposals = AutoProposer(lambda: self.ideas)
        if desk:
            # Inline: note the assets a batch names; background: propose for all noted (coalesced).
            self.on_scored(self.proposals.note, name="idea proposals (assets)", background=False)
            self.on_scored(self.proposals.on_scored, name="idea proposals")
            self.on_scored(self.explanations.on_scored, name="auto-explain")
        self.models.acquire("sentiment")  # load now: the first analysis should not pay for it
        self.watchlist = Watchlist(store, default_universe()) if store is not None else None
        self._linker: EntityLinker | None = None
        self._linker_revision: tuple[int, float] | None = None
        self._linker_checked = 0.0
        self._linker_lock = threading.Lock()
        self.entity_linker  # build now too (~0.5 s once per process), for the same reason
        # Every stored signal goes to Redis too when [redis] url / --redis is set (engine/redisbus).
        self.redis_publisher = None
        if store is not None and publish_to_redis:
            from engine.redisbus.hooks import start_publisher_if_configured

            self.redis_publisher = start_publisher_if_configured(store, self.data_dir)
            if self.redis_publisher is not None:
                self.on_scored(lambda _batch: self.redis_publisher.notify(), name="redis publisher", background=False)

    def on_scored(self, listener, *, name: str, background: bool = True, origins: tuple[str, ...] | None = None):
        """Subscribe to every batch of freshly stored signals (pasted, file, live, Redis); see engine/scored.py.
        Returns a callable that unsubscribes."""
        kwargs = {"origins": origins} if origins is not None else {}
        return self.scored.subscribe(listener, name=name, background=background, **kwargs)

    @property
    def sentiment_status(self) -> ModelStatus:
        return self.models.status("sentiment")

    @property
    def hardware(self) -> HardwareProfile:
        if self._hardware is None:
            self._hardware = detect_hardware(self.data_dir)
        return self._hardware

    def refresh_hardware(self) -> HardwareProfile:
        self._hardware = detect_hardware(self.data_dir)
        return self._hardware

    @property
    def entity_linker(self) -> EntityLinker:
        """The shipped universe's linker, plus the watchlist's aliases; rebuilt when the watchlist changes."""
        with self._linker_lock:
            now = time.monotonic()
            if self._linker is not None and now - self._linker_checked < WATCHLIST_POLL_S:
                return self._linker
            self._linker_checked = now
            revision = self.watchlist.revision() if self.watchlist is not None else None
            if self._linker is None or revision != self._linker_revision:
                if revision and revision[0]:
                    self._linker = EntityLinker(default_universe().with_additions(self.watchlist.companies()))
                else:
                    self._linker = default_linker()
                self._linker_revision = revision
            return self._linker

    def analyze(self, text: str, source: str = "paste", *, persist: bool = True) -> Signal:
        return self.analyze_batch([text], source, persist=persist)[0]

    def analyze_batch(
        self,
        texts: Sequence[str],
        source: str = "paste",
        *,
        persist: bool = True,
        truncated: Sequence[bool] | None = None,
        declared: Sequence[Sequence[str]] | None = None,
        origin: str = "paste",
    ) -> list[Signal]:
        """Score texts in one batched call; persist them (one transaction) when a store exists.

        ``declared``: per text, the symbols its source declared (a feed's ``tickers``); they join the
        entities the linker finds in the text. Persisted signals are published to the ``on_scored``
        listeners as ``origin`` (paste or file); callers that store signals themselves (the news
        pipeline) publish their own batches.

        Every text is cut to ``max_item_chars`` here, before any tokenizer sees it: whatever the
        entry point (a file, Redis, a paste, a script), a 200 MB string costs a cut, not the
        tokenizer's memory (a 10 MB line took 3.4 GB and 35 s; 200 MB aborted the process).
        """
        if not texts:
            return []
        limit = self.config.max_item_chars
        given = list(truncated) if truncated is not None else [False] * len(texts)
        truncated = [cut or len(t) > limit for t, cut in zip(texts, given)]
        texts = [t[:limit] for t in texts]
        received = time.time()
        # One model for the whole batch: a concurrent switch applies from the next batch on.
        backend, spec = self.models.acquire("sentiment")
        start = time.perf_counter()
        with self.lanes.fast():
            probs = np.asarray(backend.predict_proba(list(texts)), dtype=np.float64)
        elapsed_s = time.perf_counter() - start
        per_item_ms = elapsed_s * 1000.0 / len(texts)
        self.models.record_latency("sentiment", spec.id, per_item_ms)
        key = model_key(spec.id, spec.version)
        self.monitor.latency.record(key, len(texts), elapsed_s)
        self.monitor.memory.touch(key)
        flags = truncated if truncated is not None else [False] * len(texts)
        linker = self.entity_linker
        named = declared if declared is not None else [()] * len(texts)
        signals = [
            _make_signal(text, source, p, received, per_item_ms, spec.id, spec.version, cut,
                         linker.link_with_declared(text, tickers))
            for text, p, cut, tickers in zip(texts, probs, flags, named)
        ]
        if persist and self.store is not None:
            # Calibrated before storing, so the view recorded with each signal is the one returned.
            signals = self.store.add_signals(self.with_calibration(signals))
            self.scored.publish(ScoredBatch(origin, tuple(ScoredItem(s) for s in signals),
                                            elapsed_s * 1000.0))
            return signals
        return self.with_calibration(signals)

    def with_calibration(self, signals: Sequence[Signal]) -> list[Signal]:
        """Attach each model version's active calibrated view; raw fields stay as stored."""
        if self.calibration is None or not signals:
            return list(signals)
        return self.calibration.attach(signals)

    def _track_model_memory(self, event) -> None:
        """Keep the monitor's per-model memory in step with what the model cache holds."""
        try:
            spec = self.models.spec(event.model_id)
        except Exception:
            return
        key = model_key(spec.id, spec.version)
        if event.kind == "loaded":
            loaded = {m.id: m for m in self.models.loaded()}
            measured = loaded[spec.id].memory_mb if spec.id in loaded else None
            self.monitor.memory.register(key, spec.size_bytes / 1e6, measured, task=spec.task)
        elif event.kind in ("evicted", "unloaded", "removed"):
            self.monitor.memory.unregister(key)

    @property
    def reasoning(self):
        """The slow lane (engine.reasoning.ReasoningService), built on first use."""
        with self._reasoning_lock:
            if self._reasoning is None:
                from engine.reasoning.service import ReasoningService

                self._reasoning = ReasoningService(self)
            return self._reasoning

    def explain(self, item, *, chain: bool = False, on_token=None, **kwargs):
        """A schema-valid J6 explanation (advice only) of a headline, a Signal or a stored
        signal id, in the calling thread; ``engine.reasoning.submit`` runs it on the slow lane.
        Returns an ``engine.reasoning.Explanation``; see engine/reasoning/service.py."""
        return self.reasoning.explain(item, chain=chain, on_token=on_token, **kwargs)

    @property
    def news(self):
        """The live-news pipeline (engine.news.NewsPipeline), built on first use, started by its owner."""
        with self._news_lock:
            if self._news is None:
                from engine.news.config import load_news_config
                from engine.news.pipeline import NewsPipeline

                self._news = NewsPipeline(self, load_news_config(self.data_dir))
            return self._news

    @property
    def ideas(self):
        """The trade-idea book (engine.ideas.IdeaBook) with the data folder's risk settings, opened on
        first use; raises engine.ideas.IdeasUnavailable (with the reason) when the settings are bad."""
        with self._ideas_lock:
            if self._ideas_error is not None:  # reported once, not re-read for every batch
                raise IdeasUnavailable(str(self._ideas_error))
            if self._ideas is None:
                try:
                    self._ideas = open_idea_book(self.store, self.data_dir, attach=self.with_calibration)
                except IdeasUnavailable as exc:
                    self._ideas_error = exc
                    raise
            return self._ideas

    @property
    def desk(self):
        """The desk's learning loop (engine.desklearn.DeskLearning): analyst labels, desk-adapted
        versions, their evaluation, promotion and rollback; built on first use."""
        with self._desk_lock:
            if self._desk is None:
                from engine.desklearn.service import DeskLearning

                self._desk = DeskLearning(self)
            return self._desk

    def features(self, asset: str) -> dict[str, float]:
        """The J8 news feature vector of an asset (engine/news/cache.py explains each value)."""
        return self.news.features(asset)

    def asset_view(self, query: str, **kwargs):
        """Everything the asset view shows for a symbol or company name (engine/assets.py)."""
        from engine.assets import asset_view

        return asset_view(self, query, **kwargs)

    def recent_signals(self, limit: int = 1000, sources: Sequence[str] | None = None) -> list[Signal]:
        return self.with_calibration(self.store.recent_signals(limit, sources)) if self.store else []

    def close(self) -> None:
        self.monitor.stop()
        if self._news is not None:
            self._news.stop()
        # Batches already stored still reach their after-scoring work (alerts, ideas, auto-explain)
        # before the hub stops: a command that ingests and exits at once lost its last alerts.
        if not self.scored.wait_idle(AFTER_SCORING_DRAIN_S):
            log.warning("after-scoring work not finished in %.0f s at close: the rest is dropped "
                        "(the signals are stored)", AFTER_SCORING_DRAIN_S)
        self.explanations.cancel_all()
        self.scored.close()
        if self.redis_publisher is not None:
            self.redis_publisher.stop()
        if self._reasoning is not None:
            self._reasoning.close()
        self.models.close()
        if self._ideas is not None:
            self._ideas.close()
        if self.store is not None:
            self.store.close()


def _make_signal(text: str, source: str, p: np.ndarray, received: float, latency_ms: float,
                 model_id: str, model_version: str, truncated: bool, links: tuple[EntityLink, ...]) -> Signal:
    best = int(np.argmax(p))
    return Signal(
        id=None,
        received_at=received,
        source=source,
        text=text,
        entities=subjects(links),
        label=LABELS[best],
        probs=(float(p[0]), float(p[1]), float(p[2])),
        confidence=float(p[best]),
        compound=float(p[1] - p[0]),
        model_id=model_id,
        model_version=model_version,
        latency_ms=latency_ms,
        truncated=truncated,
        links=links,
    )
