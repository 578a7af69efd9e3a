"""Loaded models under a memory budget: LRU eviction, warm-up on load, idle unload."""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import psutil

from engine.models.spec import ModelSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    id: str
    task: str
    memory_mb: float
    loaded_at: float
    idle_s: float
    load_s: float


@dataclass
class _Entry:
    spec: ModelSpec
    model: Any
    memory_mb: float
    loaded_at: float
    last_used: float
    load_s: float


class ModelCache:
    def __init__(self, budget_mb: float, max_entries: int, idle_timeout_s: float,
                 on_event: Callable[[str, ModelSpec, str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.budget_mb = float(budget_mb)
        self.max_entries = max(1, int(max_entries))
        self.idle_timeout_s = float(idle_timeout_s)
        self._on_event = on_event or (lambda kind, spec, message: None)
        self._clock = clock
        self._entries: dict[str, _Entry] = {}  # insertion order is refreshed on use: LRU first
        self._lock = threading.RLock()
        self._loading: dict[str, threading.Lock] = {}

    def get(self, spec: ModelSpec, loader: Callable[[ModelSpec], Any]) -> Any:
        hit = self._hit(spec)
        if hit is not None:
            return hit
        with self._lock:
            loading = self._loading.setdefault(spec.id, threading.Lock())
        # Load outside the shared lock: a multi-second LLM load must not stall headline scoring
        # on another thread; the per-model lock stops two threads loading the same model.
        with loading:
            hit = self._hit(spec)
            if hit is not None:
                return hit
            with self._lock:
                self._make_room(spec.estimated_ram_mb(), keep=spec.id)
            rss_before = psutil.Process().memory_info().rss
            started = time.perf_counter()
            model = loader(spec)  # raises on failure: the caller decides the fallback
            load_s = time.perf_counter() - started
            measured = (psutil.Process().memory_info().rss - rss_before) / 1e6
            # RSS deltas undercount memory-mapped weights (GGUF), so never go below half the estimate.
            memory = max(measured, spec.estimated_ram_mb() * 0.5)
            with self._lock:
                now = self._clock()
                self._entries[spec.id] = _Entry(spec, model, memory, now, now, load_s)
            self._on_event("loaded", spec, f"{spec.id} loaded in {load_s:.2f} s (~{memory:,.0f} MB)")
            return model

    def _hit(self, spec: ModelSpec) -> Any | None:
        with self._lock:
            entry = self._entries.get(spec.id)
            if entry is None or entry.spec.version != spec.version:
                return None
            entry.last_used = self._clock()
            self._entries[spec.id] = self._entries.pop(spec.id)  # most recently used last
            return entry.model

    def _make_room(self, need_mb: float, keep: str) -> None:
        while self._entries and (
            len(self._entries) >= self.max_entries or self.total_mb() + need_mb > self.budget_mb
        ):
            victim = next((k for k in self._entries if k != keep), None)
            if victim is None:
                return
            self._drop(victim, f"evicted to stay within {self.budget_mb:,.0f} MB / {self.max_entries} models", "evicted")

    def _drop(self, model_id: str, message: str, kind: str) -> None:
        entry = self._entries.pop(model_id)
        close = getattr(entry.model, "close", None)
        if callable(close):
            close()
        del entry.model
        gc.collect()
        log.info("%s: %s", model_id, message)
        self._on_event(kind, entry.spec, f"{model_id} {message}")

    def unload(self, model_id: str, reason: str = "unloaded") -> bool:
        with self._lock:
            if model_id not in self._entries:
                return False
            self._drop(model_id, reason, "unloaded")
            return True

    def sweep_idle(self) -> list[str]:
        """Unload models unused for longer than the idle timeout; they reload on next use."""
        with self._lock:
            now = self._clock()
            idle = [k for k, e in self._entries.items() if now - e.last_used > self.idle_timeout_s]
            for model_id in idle:
                self._drop(model_id, f"unloaded after {self.idle_timeout_s:.0f} s idle", "unloaded")
            return idle

    def total_mb(self) -> float:
        with self._lock:
            return sum(e.memory_mb for e in self._entries.values())

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            now = self._clock()
            return [LoadedModel(e.spec.id, e.spec.task, round(e.memory_mb, 1), e.loaded_at,
                                round(now - e.last_used, 1), round(e.load_s, 3))
                    for e in self._entries.values()]

    def is_loaded(self, model_id: str) -> bool:
        with self._lock:
            return model_id in self._entries
