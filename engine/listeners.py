"""A thread-safe list of listeners: subscribe (returns the unsubscribe), call each safely."""

from __future__ import annotations

import logging
import threading
from typing import Callable, Generic, TypeVar

L = TypeVar("L")
log = logging.getLogger(__name__)


class Listeners(Generic[L]):
    def __init__(self, what: str) -> None:
        self._what = what  # for the log line when one fails
        self._lock = threading.Lock()
        self._items: list[L] = []

    def subscribe(self, listener: L) -> Callable[[], None]:
        with self._lock:
            self._items.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._items:
                    self._items.remove(listener)

        return unsubscribe

    def each(self, call: Callable[[L], None]) -> None:
        """``call(listener)`` for each, on this thread; one failing never stops the others."""
        with self._lock:
            listeners = list(self._items)
        for listener in listeners:
            try:
                call(listener)
            except Exception:
                log.exception("%s listener failed", self._what)
