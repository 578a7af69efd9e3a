"""The engine facade: ``Engine.analyze(text) -> Signal``. Plain Python, no Qt.

The facade owns the store and the model manager (``engine.models``). Each batch takes the
active sentiment model from the manager; when the preferred model is missing or fails its
sha256 check the manager falls back (to the lexicon at worst) and ``sentiment_status``
says why, so the UI can show a degraded state.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.config import Config
from engine.hardware import HardwareProfile, detect_hardware
from engine.models.manager import ModelManager
from engine.sentiment.base import LABELS
from engine.store import DB_FILE_NAME, Store
from engine.tickers import extract_tickers
from engine.types import ModelStatus, Signal

log = logging.getLogger(__name__)

class Engine:
    def __init__(self, config: Config, data_dir: Path | None, *, store: Store | None = None) -> None:
        self.config = config
        self.data_dir = Path(data_dir) if data_dir else None
        if store is None and self.data_dir is not None:
            store = Store(self.data_dir / DB_FILE_NAME)
        self.store = store
        self._hardware: HardwareProfile | None = None
        self.models = ModelManager(config, self.data_dir, store, lambda: self.hardware)
        self.models.acquire("sentiment")  # load now: the first analysis should not pay for it

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
        probs = np.asarray(backend.predict_proba(list(texts)), dtype=np.float64)
        per_item_ms = (time.perf_counter() - start) * 1000.0 / len(texts)
        self.models.record_latency("sentiment", spec.id, per_item_ms)
        flags = truncated if truncated is not None else [False] * len(texts)
        signals = [
            _make_signal(text, source, p, received, per_item_ms, spec.id, spec.version, cut)
            for text, p, cut in zip(texts, probs, flags)
        ]
        if persist and self.store is not None:
            signals = self.store.add_signals(signals)
        return signals

    def recent_signals(self, limit: int = 1000) -> list[Signal]:
        return self.store.recent_signals(limit) if self.store else []

    def close(self) -> None:
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
