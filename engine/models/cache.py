"""Loaded models under a memory budget: LRU eviction, warm-up on load, idle unload.

A model in use can be pinned (``in_use``): eviction and idle unload skip it, and an explicit
unload waits until the last user lets go. Without this a generator could be closed under a
generation running on the slow lane (llama.cpp would then read freed memory).

Models are closed and events sent only after the cache lock is released: listeners take the
model manager's lock, and the manager calls into the cache while holding it, so doing either
under the cache lock could deadlock two threads.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import psutil

from engine.garbage import collect_if_main_thread
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
    in_use: int = 0  # callers holding the model right now (``ModelCache.in_use``)


@dataclass
class _Entry:
    spec: ModelSpec
    model: Any
    memory_mb: float
    loaded_at: float
    last_used: float
    load_s: float
    pins: int = 0


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
        # Unloaded while pinned: out of ``_entries`` (never handed out again, a fresh copy may
        # load) but still in memory until the last pin is released, then closed.
        self._retiring: list[tuple[_Entry, str, str]] = []
        self._closing: list[tuple[_Entry, str, str]] = []  # dropped under the lock, closed after it

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
            self._finish()  # free the evicted models' memory before loading
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
            victim = next((k for k, e in self._entries.items() if k != keep and e.pins == 0), None)
            if victim is None:
                if any(e.pins for e in self._entries.values()):
                    log.warning("model cache over its budget for now: the other models are in use")
                return
            self._drop(victim, f"evicted to stay within {self.budget_mb:,.0f} MB / {self.max_entries} models", "evicted")

    def _drop(self, model_id: str, message: str, kind: str) -> None:
        """Under the lock: take the model out of service; ``_finish`` closes it."""
        entry = self._entries.pop(model_id)
        if entry.pins:
            self._retiring.append((entry, message, kind))
            log.info("%s: %s once its %d user(s) finish", model_id, message, entry.pins)
            return
        self._closing.append((entry, message, kind))

    def _finish(self) -> None:
        """Without the lock: close what was dropped, then tell the listeners."""
        with self._lock:
            closing, self._closing = self._closing, []
        for entry, _message, _kind in closing:
            close = getattr(entry.model, "close", None)
            if callable(close):
                close()
            del entry.model
        if closing:
            collect_if_main_thread()  # never on an engine thread: see engine/garbage.py
        for entry, message, kind in closing:
            log.info("%s: %s", entry.spec.id, message)
            self._on_event(kind, entry.spec, f"{entry.spec.id} {message}")

    @contextmanager
    def in_use(self, model_id: str) -> Iterator[Any]:
        """Pin a loaded model for a block of work and yield it; eviction and idle unload skip it
        meanwhile, and an unload asked for meanwhile happens when the last pin is released.
        Raises KeyError when the model is not loaded (e.g. evicted since it was acquired)."""
        with self._lock:
            entry = self._entries.get(model_id)
            if entry is None:
                raise KeyError(f"{model_id} is not loaded")
            entry.pins += 1
            entry.last_used = self._clock()
        try:
            yield entry.model
        finally:
            with self._lock:
                entry.pins -= 1
                entry.last_used = self._clock()  # idle time counts from the end of the work
                if entry.pins == 0:
                    for item in [r for r in self._retiring if r[0] is entry]:
                        self._retiring.remove(item)
                        self._closing.append(item)
            self._finish()

    def pins(self, model_id: str) -> int:
        with self._lock:
            entry = self._entries.get(model_id)
            return entry.pins if entry is not None else 0

    def unload(self, model_id: str, reason: str = "unloaded") -> bool:
        """Unload now, or, if the model is in use, as soon as its last user finishes."""
        with self._lock:
            if model_id not in self._entries:
                return False
            self._drop(model_id, reason, "unloaded")
        self._finish()
        return True

    def sweep_idle(self) -> list[str]:
        """Unload models unused for longer than the idle timeout; they reload on next use."""
        with self._lock:
            now = self._clock()
            idle = [k for k, e in self._entries.items() if not e.pins and now - e.last_used > self.idle_timeout_s]
            for model_id in idle:
                self._drop(model_id, f"unloaded after {self.idle_timeout_s:.0f} s idle", "unloaded")
        self._finish()
        return idle

    def total_mb(self) -> float:
        # Retiring models still occupy memory until their users finish.
        with self._lock:
            return sum(e.memory_mb for e in self._entries.values()) + sum(r[0].memory_mb for r in self._retiring)

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            now = self._clock()
            return [LoadedModel(e.spec.id, e.spec.task, round(e.memory_mb, 1), e.loaded_at,
                                round(now - e.last_used, 1), round(e.load_s, 3), e.pins)
                    for e in self._entries.values()]

    def is_loaded(self, model_id: str) -> bool:
        with self._lock:
            return model_id in self._entries
