"""The fast lane's queue: bounded and reservable.

A producer first *reserves* room, then commits its items to the inbox, then puts them.
Reserving before committing means a full queue blocks the source before anything is
acknowledged, so memory stays bounded and nothing is accepted that could not be queued.
(Explanations run on their own lane: engine/reasoning/lanes.py.)
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class QueueClosed(RuntimeError):
    """The pipeline is stopping; the caller keeps its items (nothing was acknowledged)."""


class ReservableQueue(Generic[T]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: collections.deque[T] = collections.deque()
        self._reserved = 0
        self._cond = threading.Condition()
        self._closed = False
        self.peak_depth = 0
        self.blocked_s = 0.0  # total time producers waited for room: the backpressure felt

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)

    def reserve(self, n: int, timeout: float | None = None) -> bool:
        """Wait for room for ``n`` items; False on timeout. Raises QueueClosed when closed."""
        if n > self.capacity:
            raise ValueError(f"cannot reserve {n} items in a queue of {self.capacity}")
        deadline = None if timeout is None else time.monotonic() + timeout
        started = time.perf_counter()
        with self._cond:
            try:
                while True:
                    if self._closed:
                        raise QueueClosed("queue closed")
                    if len(self._items) + self._reserved + n <= self.capacity:
                        self._reserved += n
                        return True
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining if remaining is not None else 0.5)
            finally:
                self.blocked_s += time.perf_counter() - started

    def put_reserved(self, items: list[T], reserved: int) -> None:
        """Put up to ``reserved`` items and release the rest of the reservation."""
        if len(items) > reserved:
            raise ValueError("more items than reserved")
        with self._cond:
            self._reserved -= reserved
            self._items.extend(items)
            self.peak_depth = max(self.peak_depth, len(self._items) + self._reserved)
            self._cond.notify_all()

    def release(self, reserved: int) -> None:
        self.put_reserved([], reserved)

    def get_batch(self, max_items: int, wait_first_s: float, fill_s: float) -> list[T]:
        """Up to ``max_items``: wait up to ``wait_first_s`` for a first item, then up to ``fill_s``
        more for the batch to fill (micro-batching: latency bounded by ``fill_s``)."""
        with self._cond:
            if not self._items:
                self._cond.wait_for(lambda: self._items or self._closed, wait_first_s)
            if not self._items:
                return []
            if len(self._items) < max_items and fill_s > 0 and not self._closed:
                deadline = time.monotonic() + fill_s
                while len(self._items) < max_items and not self._closed:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            batch = [self._items.popleft() for _ in range(min(max_items, len(self._items)))]
            self._cond.notify_all()  # room for producers
            return batch

    def close(self) -> list[T]:
        """Wake everyone; return what was still queued (it stays pending in the inbox)."""
        with self._cond:
            self._closed = True
            left = list(self._items)
            self._items.clear()
            self._cond.notify_all()
            return left

    @property
    def closed(self) -> bool:
        return self._closed
