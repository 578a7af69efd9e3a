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
from engine.hardware import HardwareProfile, detect_hardware
from engine.models.manager import ModelManager
from engine.monitoring import model_key, sampler_from_config
from engine.reasoning.lanes import LaneGate
from engine.sentiment.base import LABELS
from engine.store import DB_FILE_NAME, Store
from engine.tickers import extract_tickers
from engine.types import ModelStatus, Signal

log = logging.getLogger(__name__)

class Engine:
    def __init__(self, config: Config, data_dir: Path | None, *, store: Store | None = None,
                 publish_to_redis: bool = True) -> None:
        self.config = config
        self.data_dir = Path(data_dir) if data_dir else None
        if store is None and self.data_dir is not None:
            store = Store(self.data_dir / DB_FILE_NAME)
        self.store = store
        self._hardware: HardwareProfile | None = None
        self.monitor = sampler_from_config(config, store)  # started by the app, not here
        self.calibration = CalibrationService(store) if store is not None else None
        self.models = ModelManager(config, self.data_dir, store, lambda: self.hardware)
        self.models.subscribe(self._track_model_memory)
        # Scoring batches mark the fast lane busy; LLM generation (slow lane) yields to them.
        self.lanes = LaneGate()
        self._reasoning = None
        self._reasoning_lock = threading.Lock()
        self._news = None
        self._news_lock = threading.Lock()
        self.models.acquire("sentiment")  # load now: the first analysis should not pay for it
        # Every stored signal goes to Redis too when [redis] url / --redis is set (engine/redisbus).
        self.redis_publisher = None
        if store is not None and publish_to_redis:
            from engine.redisbus import start_publisher_if_configured

            self.redis_publisher = start_publisher_if_configured(store, self.data_dir)

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

    def analyze(self, text: str, source: str = "paste", *, persist: bool = True) -> Signal:
        return self.analyze_batch([text], source, persist=persist)[0]

    def analyze_batch(
        self,
        texts: Sequence[str],
        source: str = "paste",
        *,
        persist: bool = True,
        truncated: Sequence[bool] | None = None,
    ) -> list[Signal]:
        """Score texts in one batched call; persist them (one transaction) when a store exists."""
        if not texts:
            return []
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
        signals = [
            _make_signal(text, source, p, received, per_item_ms, spec.id, spec.version, cut)
            for text, p, cut in zip(texts, probs, flags)
        ]
        if persist and self.store is not None:
            signals = self.store.add_signals(signals)
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

    def features(self, asset: str) -> dict[str, float]:
        """The J8 news feature vector of an asset (engine/news/cache.py explains each value)."""
        return self.news.features(asset)

    def recent_signals(self, limit: int = 1000) -> list[Signal]:
        return self.with_calibration(self.store.recent_signals(limit)) if self.store else []

    def close(self) -> None:
        self.monitor.stop()
        if self._news is not None:
            self._news.stop()
        if self.redis_publisher is not None:
            self.redis_publisher.stop()
        if self._reasoning is not None:
            self._reasoning.close()
        self.models.close()
        if self.store is not None:
            self.store.close()


def _make_signal(text: str, source: str, p: np.ndarray, received: float, latency_ms: float,
                 model_id: str, model_version: str, truncated: bool) -> Signal:
    best = int(np.argmax(p))
    return Signal(
        id=None,
        received_at=received,
        source=source,
        text=text,
        entities=extract_tickers(text),
        label=LABELS[best],
        probs=(float(p[0]), float(p[1]), float(p[2])),
        confidence=float(p[best]),
        compound=float(p[1] - p[0]),
        model_id=model_id,
        model_version=model_version,
        latency_ms=latency_ms,
        truncated=truncated,
    )
