"""Fast and slow lanes. Headline scoring (milliseconds, batched) must never queue behind an LLM
generation (seconds).

Two mechanisms:

* :class:`SlowLane` runs reasoning on its own thread with a bounded queue, so a generation
  never blocks the caller (the engine thread, the UI) and a flood of requests is refused
  (``LaneFull``) instead of growing memory without bound.
* :class:`LaneGate` lets the slow lane yield CPU while the fast lane is scoring. Separate
  threads alone are not enough on a small machine: on 2 cores already busy with other work,
  a generating llama.cpp thread cost the scoring lane about half its throughput (measured
  ~0.45 of idle). Lowering the thread's OS priority made it worse in a different way: the
  de-prioritised thread is preempted while holding the GIL and the scoring thread waits for
  it. So the generator throttles itself between tokens instead: while a scoring batch runs
  (or ran within ``grace_s``), after each token it sleeps long enough that its CPU use stays
  near ``slow_share`` of a core. Generation slows during a scoring burst and resumes at full
  speed as soon as the burst ends. Measured on 2 cores under a load average of 5-6 (scoring
  with the lexicon model, bench/bench_reasoning.py): busy/idle scoring throughput 0.45-0.52
  unthrottled, 0.70-0.82 at a 0.2 share, 0.87-1.03 at 0.1 (the default), where the rationale
  still advances at ~2 tokens/s while scoring runs flat out.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, Callable, Iterator

log = logging.getLogger(__name__)

MAX_PAUSE_S = 0.5  # never sleep longer than this per token, so cancel and timeout stay prompt


class LaneFull(RuntimeError):
    """The slow lane's queue is full; try again later (backpressure, not an error state)."""


class LaneGate:
    def __init__(self, slow_share: float = 0.1, grace_s: float = 0.05) -> None:
        self.slow_share = min(1.0, max(0.01, float(slow_share)))
        self.grace_s = float(grace_s)
        self._lock = threading.Lock()
        self._active = 0
        self._last_end = float("-inf")

    @contextmanager
    def fast(self) -> Iterator[None]:
        """Wrap each fast-lane batch (Engine.analyze_batch does)."""
        with self._lock:
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1
                self._last_end = time.monotonic()

    def fast_busy(self) -> bool:
        with self._lock:
            return self._active > 0 or time.monotonic() - self._last_end < self.grace_s

    def pacer(self) -> Callable[[], float]:
        """A per-generation hook: call it after every token; returns the seconds it slept."""
        last = [time.thread_time()]

        def pace() -> float:
            now = time.thread_time()
            used, last[0] = now - last[0], now
            if self.slow_share >= 1.0 or not self.fast_busy():
                return 0.0
            pause = min(MAX_PAUSE_S, used * (1.0 - self.slow_share) / self.slow_share)
            if pause > 0:
                time.sleep(pause)
            last[0] = time.thread_time()
            return pause

        return pace


class SlowLane:
    """One worker thread, a bounded queue, futures for results."""

    def __init__(self, name: str = "slow-lane", maxsize: int = 32) -> None:
        self.name = name
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(maxsize)))
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Future:
        if self._closed.is_set():
            raise RuntimeError("the slow lane is closed")
        future: Future = Future()
        try:
            self._queue.put_nowait((future, fn, args, kwargs))
        except queue.Full:
            raise LaneFull(f"{self._queue.maxsize} reasoning requests are already waiting") from None
        self._ensure_thread()
        return future

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, fn, args, kwargs = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # the future carries it to the caller; the lane lives on
                log.exception("slow-lane task failed")
                future.set_exception(exc)

    def close(self, timeout: float = 30.0) -> None:
        """Refuse new work, cancel what waits, let the running task finish (it sees ``closed``)."""
        self._closed.set()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)
