"""A circuit breaker for the LLM: after repeated failures stop calling it for a while, then let
one probe through (half-open) and close again only if that probe succeeds.

Why: a model that keeps timing out costs the slow lane ``timeout x attempts`` per item; while
the breaker is open explanations come from the template at once instead.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 3, reset_after_s: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = max(1, int(failure_threshold))
        self.reset_after_s = float(reset_after_s)
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_out = False

    @property
    def state(self) -> str:
        with self._lock:
            if self._state == OPEN and self._clock() - self._opened_at >= self.reset_after_s:
                return HALF_OPEN
            return self._state

    @property
    def failures(self) -> int:
        with self._lock:
            return self._failures

    def allow(self) -> bool:
        """May a call go to the model now? In half-open only one probe is in flight at a time."""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN:
                if self._clock() - self._opened_at < self.reset_after_s:
                    return False
                self._state = HALF_OPEN
                self._probe_out = False
            if self._probe_out:
                return False
            self._probe_out = True
            return True

    def record_success(self) -> None:
        with self._lock:
            self._state, self._failures, self._probe_out = CLOSED, 0, False

    def record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._state, self._opened_at, self._probe_out = OPEN, self._clock(), False

    def release(self) -> None:
        """A call that was allowed ended without a verdict (e.g. cancelled by the user)."""
        with self._lock:
            self._probe_out = False

    def snapshot(self) -> dict:
        state = self.state
        with self._lock:
            return {"state": state, "failures": self._failures,
                    "open_for_s": max(0.0, self.reset_after_s - (self._clock() - self._opened_at))
                    if state == OPEN else 0.0}
