"""Explanation requests, asked for by a person or decided by auto-explain, and their events.

``ExplanationRequests`` submits explanations to the reasoning service's slow lane and tells
its listeners what happens to each one: started, streamed text, a retry, finished (with the
``Explanation``) or failed (with the reason). Listeners are called on the thread where it
happens (the caller for ``started``, the slow lane for the rest) and must return quickly.

Auto-explain is an ``Engine.on_scored`` listener (``on_scored``): when switched on, every freshly
stored high-impact signal is explained, whatever its origin (``ReasoningService.high_impact``
decides, and refuses once a few requests wait, so a burst of news can never flood the lane).
Automatic requests get negative ids, so they never clash with the ids a caller chooses.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Protocol

from engine.listeners import Listeners
from engine.scored import ScoredBatch

log = logging.getLogger(__name__)

# Signal ids auto-explain already handled are remembered up to this many (bounded memory).
MAX_REMEMBERED = 50_000


@dataclass(frozen=True)
class ExplainRequest:
    request_id: int  # > 0: chosen by the caller; < 0: auto-explain
    signal_id: int
    chain: bool
    automatic: bool


class ExplainListener(Protocol):
    def started(self, request: ExplainRequest) -> None: ...
    def token(self, request: ExplainRequest, piece: str) -> None: ...
    def text(self, request: ExplainRequest, field: str, text: str) -> None: ...
    def retry(self, request: ExplainRequest, attempt: int, error: str) -> None: ...
    def finished(self, request: ExplainRequest, explanation: Any) -> None: ...
    def failed(self, request: ExplainRequest, message: str) -> None: ...


class ExplanationRequests:
    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._listeners: Listeners[ExplainListener] = Listeners("explanation")
        self._futures: dict[int, Any] = {}  # request id -> Future, while queued or generating
        self._cancelled: set[int] = set()
        self._cancel_all = False
        self._auto_ids = itertools.count(-1, -1)
        self._auto_explained: set[int] = set()
        self.auto_explain = False  # the desk's toggle; off by default

    def subscribe(self, listener: ExplainListener) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def _each(self, call: Callable[[ExplainListener], None]) -> None:
        self._listeners.each(call)  # a display problem must never stop an explanation

    # --- asking and cancelling -------------------------------------------------------------
    def request(self, signal_id: int, *, request_id: int, chain: bool = False, automatic: bool = False) -> bool:
        """Queue an explanation of a stored signal; False when it was refused (listeners were told why)."""
        from engine.reasoning.lanes import LaneFull

        req = ExplainRequest(int(request_id), int(signal_id), bool(chain), bool(automatic))
        if self.is_cancelled(req.request_id):
            self._each(lambda li: li.failed(req, "Cancelled."))
            return False
        # Started before submitting: the lane's events come from another thread and must not overtake it.
        self._each(lambda li: li.started(req))
        try:
            future = self._engine.reasoning.submit(
                req.signal_id, chain=req.chain,
                on_token=lambda piece: self._each(lambda li: li.token(req, piece)),
                on_text=lambda field, text: self._each(lambda li: li.text(req, field, text)),
                on_retry=lambda attempt, error: self._each(lambda li: li.retry(req, attempt, error)),
                should_stop=lambda: self.is_cancelled(req.request_id))
        except LaneFull as exc:
            refused = f"The explanation queue is full ({exc}); try again shortly."
        except Exception as exc:  # e.g. the lane closed at shutdown
            log.exception("explanation of signal #%s could not start", signal_id)
            refused = f"The explanation could not start: {exc}"
        else:
            refused = ""
        if refused:
            self._each(lambda li: li.failed(req, refused))
            return False
        with self._lock:
            self._futures[req.request_id] = future
        future.add_done_callback(lambda f: self._done(f, req))
        return True

    def _done(self, future: Any, req: ExplainRequest) -> None:
        """Runs on the slow-lane thread (or the cancelling one)."""
        with self._lock:
            self._futures.pop(req.request_id, None)
            self._cancelled.discard(req.request_id)
        if future.cancelled():
            self._each(lambda li: li.failed(req, "Cancelled before it started."))
            return
        exc = future.exception()
        if exc is not None:
            message = str(exc) if isinstance(exc, ValueError) else f"The explanation failed: {exc}"
            self._each(lambda li: li.failed(req, message))
            return
        x = future.result()
        if x.status == "fallback_cancelled":
            self._each(lambda li: li.failed(req, "Cancelled: the rationale was not finished and nothing was "
                                                 "stored with the signal."))
            return
        log.info("explained signal #%s (%s, %s, %.1f s)%s", req.signal_id, x.status, x.model_id or "template",
                 x.latency_ms / 1000, " automatically" if req.automatic else "")
        self._each(lambda li: li.finished(req, x))

    def cancel(self, request_id: int) -> None:
        """Cancel now: a queued request is dropped, a generating one stops at its next token.
        Safe from any thread, also before the request was submitted."""
        with self._lock:
            self._cancelled.add(int(request_id))
            future = self._futures.get(int(request_id))
        if future is not None:
            future.cancel()

    def cancel_all(self) -> None:
        with self._lock:
            self._cancel_all = True
            futures = list(self._futures.values())
        for future in futures:
            future.cancel()

    def is_cancelled(self, request_id: int) -> bool:
        with self._lock:
            return self._cancel_all or request_id in self._cancelled

    # --- auto-explain ----------------------------------------------------------------------
    def on_scored(self, batch: ScoredBatch) -> None:
        """After-scoring listener: explain the batch's high-impact signals when auto-explain is on."""
        if not self.auto_explain:
            return
        reasoning = self._engine.reasoning
        for sig in batch.signals:
            if sig.id is None or not reasoning.high_impact(sig, enabled=True):
                continue
            with self._lock:
                if sig.id in self._auto_explained:
                    continue
                if len(self._auto_explained) > MAX_REMEMBERED:
                    self._auto_explained.clear()
                self._auto_explained.add(sig.id)
            self.request(sig.id, request_id=next(self._auto_ids), automatic=True)
