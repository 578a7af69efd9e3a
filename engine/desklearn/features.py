"""A desk head's inputs for many texts: the base model's probabilities and the encoder's embeddings.

Computed in batches so a cancel is heard within one batch and progress moves. The fixed sets
(guard, reference) cost the same every training, so their features are cached in the data
folder, keyed by both models' id and version and the sha256 of the texts, as plain ``.npz``
(read with ``allow_pickle=False``) written beside and renamed into place.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from engine.desklearn.errors import Cancelled
from engine.desklearn.sets import fingerprint

log = logging.getLogger(__name__)

BATCH = 128

Progress = Callable[[int, int], None]  # (texts done, total)
CancelFn = Callable[[], bool]


@dataclass(frozen=True)
class Features:
    probs: np.ndarray  # (n, 3) float64: the base model's probabilities
    embeddings: np.ndarray  # (n, dim) float32: unit-length pooled sentence embeddings

    def take(self, idx) -> "Features":
        return Features(self.probs[idx], self.embeddings[idx])

    def __len__(self) -> int:
        return len(self.probs)


class FeatureSource:
    """``base`` is a sentiment runtime (``predict_proba``), ``embedder`` an encoder (``embed``, ``dim``)."""

    def __init__(self, base: Any, embedder: Any, cache_dir: Path | None = None) -> None:
        self.base = base
        self.embedder = embedder
        self.cache_dir = Path(cache_dir) if cache_dir else None

    @property
    def key(self) -> str:
        return f"{self.base.model_id}-{self.base.version}__{self.embedder.model_id}-{self.embedder.version}"

    def compute(self, texts: Sequence[str], progress: Progress | None = None,
                cancel: CancelFn | None = None, *, with_probs: bool = True) -> Features:
        """``with_probs=False``: embeddings only (the probabilities stay zero), for the reference texts."""
        texts = list(texts)
        probs = np.zeros((len(texts), 3), dtype=np.float64)
        emb = np.zeros((len(texts), int(self.embedder.dim)), dtype=np.float32)
        if progress:
            progress(0, len(texts))
        for start in range(0, len(texts), BATCH):
            if cancel is not None and cancel():
                raise Cancelled("cancelled")
            part = texts[start:start + BATCH]
            if with_probs:
                probs[start:start + len(part)] = np.asarray(self.base.predict_proba(part), dtype=np.float64)
            emb[start:start + len(part)] = self.embedder.embed(part)
            if progress:
                progress(start + len(part), len(texts))
        return Features(probs, emb)

    def cached(self, name: str, texts: Sequence[str], progress: Progress | None = None,
               cancel: CancelFn | None = None, *, with_probs: bool = True) -> Features:
        """``compute`` for a fixed set, reading and writing the cache when there is one."""
        if self.cache_dir is None:
            return self.compute(texts, progress, cancel, with_probs=with_probs)
        key = self.key if with_probs else f"{self.embedder.model_id}-{self.embedder.version}"
        path = self.cache_dir / f"{name}__{key}__{fingerprint(texts)[:16]}.npz"
        found = _read(path, len(texts), int(self.embedder.dim))
        if found is not None:
            if progress:
                progress(len(texts), len(texts))
            return found
        features = self.compute(texts, progress, cancel, with_probs=with_probs)
        _write(path, features)
        return features


def _read(path: Path, n: int, dim: int) -> Features | None:
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            probs, emb = data["probs"], data["embeddings"]
    except (OSError, ValueError, KeyError) as exc:
        log.warning("desk feature cache %s unreadable (%s); recomputing", path.name, exc)
        return None
    if probs.shape != (n, 3) or emb.shape != (n, dim) or not (np.isfinite(probs).all() and np.isfinite(emb).all()):
        log.warning("desk feature cache %s has the wrong shape; recomputing", path.name)
        return None
    return Features(probs.astype(np.float64), emb.astype(np.float32))


def _write(path: Path, features: Features) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        np.savez(tmp, probs=features.probs, embeddings=features.embeddings)
        os.replace(tmp, path)
    except OSError as exc:  # a cache that cannot be written only costs time next run
        log.warning("desk feature cache %s not written (%s)", path.name, exc)
    finally:
        if tmp.exists():
            tmp.unlink()
