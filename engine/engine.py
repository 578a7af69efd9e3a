"""The engine facade: ``Engine.analyze(text) -> Signal``. Plain Python, no Qt.

The facade owns the store and the active sentiment backend. The preferred backend is the
fine-tuned ONNX model; when it is missing or fails its sha256 check the lexicon takes over
and ``sentiment_status.degraded`` says why, so the UI can show it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.config import Config
from engine.hardware import HardwareProfile, detect_hardware
from engine.resources import models_dir
from engine.sentiment.base import LABELS, SentimentBackend
from engine.sentiment.lexicon import LexiconSentimentBackend
from engine.store import DB_FILE_NAME, Store
from engine.tickers import extract_tickers
from engine.types import ModelStatus, Signal

log = logging.getLogger(__name__)

DEFAULT_SENTIMENT_MODEL = "finsent-minilm-l6"


def load_sentiment_backend(config: Config) -> tuple[SentimentBackend, ModelStatus]:
    """Pick the configured backend, falling back to the lexicon with a stated reason."""
    wanted = DEFAULT_SENTIMENT_MODEL if config.sentiment_model == "auto" else config.sentiment_model
    reason = ""
    if wanted not in ("lexicon", "lexicon-fin"):
        model_dir = models_dir() / wanted
        try:
            from engine.sentiment.onnx_backend import OnnxSentimentBackend

            backend = OnnxSentimentBackend(model_dir, intra_op_threads=config.intra_op_threads)
            status = ModelStatus("sentiment", backend.model_id, backend.version, "onnx")
            log.info("sentiment model %s %s loaded from %s", backend.model_id, backend.version, model_dir)
            return backend, status
        except Exception as exc:  # any load failure must degrade, never stop the desk
            reason = f"{wanted} unavailable: {exc}"
            log.warning("sentiment: %s; falling back to the lexicon", reason)
    lexicon = LexiconSentimentBackend()
    return lexicon, ModelStatus(
        "sentiment", lexicon.model_id, lexicon.version, "lexicon", degraded=bool(reason), reason=reason
    )


class Engine:
    def __init__(self, config: Config, data_dir: Path | None, *, store: Store | None = None) -> None:
        self.config = config
        self.data_dir = Path(data_dir) if data_dir else None
        if store is None and self.data_dir is not None:
            store = Store(self.data_dir / DB_FILE_NAME)
        self.store = store
        self._sentiment, self.sentiment_status = load_sentiment_backend(config)
        self._hardware: HardwareProfile | None = None

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
        start = time.perf_counter()
        probs = np.asarray(self._sentiment.predict_proba(list(texts)), dtype=np.float64)
        per_item_ms = (time.perf_counter() - start) * 1000.0 / len(texts)
        flags = truncated if truncated is not None else [False] * len(texts)
        signals = [
            _make_signal(text, source, p, received, per_item_ms, self.sentiment_status, cut)
            for text, p, cut in zip(texts, probs, flags)
        ]
        if persist and self.store is not None:
            signals = self.store.add_signals(signals)
        return signals

    def recent_signals(self, limit: int = 1000) -> list[Signal]:
        return self.store.recent_signals(limit) if self.store else []

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _make_signal(text: str, source: str, p: np.ndarray, received: float, latency_ms: float,
                 status: ModelStatus, truncated: bool) -> Signal:
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
        model_id=status.model_id,
        model_version=status.version,
        latency_ms=latency_ms,
        truncated=truncated,
    )
