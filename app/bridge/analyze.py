"""Pasted text: split and cut on the UI thread, scored in batches on the engine lane.

``AnalyzeFeature.submit`` returns at once with a ``Submission``; rows arrive as the operation's
progress (``SignalBatch``, at most ~20 a second) and the end as its success (``AnalysisDone``).
What happens after scoring (ideas, auto-explain, gauges, Redis) is the engine's business:
``Engine.analyze_batch`` publishes every stored batch to ``Engine.on_scored``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import OpContext, Operation
from engine.textinput import EmptyInputError, PreparedItems, prepare_items
from engine.types import Signal as NewsSignal

log = logging.getLogger(__name__)

# Rows reach the table at most this often, however fast the engine scores.
EMIT_INTERVAL_S = 0.05
# The paste table starts with this many stored signals (newest).
HISTORY_LIMIT = 5000

__all__ = ["AnalysisDone", "AnalyzeFeature", "Backlog", "EmptyInputError", "SignalBatch", "Submission"]


@dataclass(frozen=True)
class Submission:
    items: int
    notice: str  # e.g. "2 item(s) longer than 2,000 characters were cut"
    operation: Operation["AnalysisDone"]


@dataclass(frozen=True)
class SignalBatch:
    signals: tuple[NewsSignal, ...]
    done: int
    total: int


@dataclass(frozen=True)
class AnalysisDone:
    scored: int
    total: int
    cancelled: bool
    elapsed_s: float
    error: str = ""  # why scoring stopped early; the rows scored before are kept


class Backlog:
    """Items submitted for scoring and not scored yet: the Monitor's queue depth.

    Added at submission (UI thread), taken off as batches finish or a request ends early,
    read by the sampler on its own thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._items += n

    def done(self, n: int) -> None:
        with self._lock:
            self._items = max(0, self._items - n)

    def value(self) -> int:
        with self._lock:
            return self._items


class AnalyzeFeature(Feature):
    history = Signal(object)  # tuple[NewsSignal, ...]: stored pasted signals at start, oldest first

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self.backlog = Backlog()
        self._running: list[Operation] = []
        host.on_start(self._send_history)

    def _send_history(self, engine) -> None:
        # What was pasted in earlier sessions; feeds, folders and the demo replay live in the Live tab.
        self.history.emit(tuple(engine.recent_signals(HISTORY_LIMIT, sources=("paste",))))

    def submit(self, raw: str, source: str = "paste", *,
               on_batch: Callable[[SignalBatch], None] | None = None,
               on_done: Callable[[AnalysisDone], None] | None = None) -> Submission:
        """Raises EmptyInputError for a blank paste (nothing is queued)."""
        prepared = prepare_items(raw, self.config.max_item_chars)
        if not prepared.items:
            raise EmptyInputError("Nothing to analyze: paste one headline per line.")
        total = len(prepared.items)
        self.backlog.add(total)

        def not_scored(message: str) -> None:
            self.backlog.done(total)
            if on_done is not None:
                on_done(AnalysisDone(0, total, False, 0.0, message))

        def finished(done: AnalysisDone) -> None:
            if op in self._running:
                self._running.remove(op)
            if on_done is not None:
                on_done(done)

        op = self.op("Analyzing pasted text", lambda ctx: self._score(ctx, prepared, source))
        op.on_progress(on_batch or (lambda _batch: None)).on_failure(not_scored).on_success(finished)
        self._running.append(op)
        op.run()
        return Submission(total, prepared.notice, op)

    def cancel(self) -> None:
        """Cancel every paste submitted so far; rows already scored are kept."""
        for op in self._running:
            op.cancel()

    def _score(self, ctx: OpContext, prepared: PreparedItems, source: str) -> AnalysisDone:
        started = time.perf_counter()
        total = len(prepared.items)
        done = 0
        pending: list[NewsSignal] = []
        last_emit = 0.0
        batch = max(1, self.config.batch_size)
        error = ""
        try:
            for start in range(0, total, batch):
                if ctx.cancelled():
                    break
                texts = prepared.items[start:start + batch]
                cut = prepared.truncated[start:start + batch]
                pending.extend(ctx.engine.analyze_batch(texts, source, truncated=cut, origin="paste"))
                done += len(texts)
                self.backlog.done(len(texts))
                now = time.perf_counter()
                if now - last_emit >= EMIT_INTERVAL_S or done == total:
                    ctx.progress(SignalBatch(tuple(pending), done, total), every=True)  # rows: never dropped
                    pending, last_emit = [], now
        except Exception as exc:  # scored rows are kept and shown; say where it stopped
            log.exception("analysis failed")
            error = f"Analysis stopped after {done} of {total} items: {exc}"
        finally:
            self.backlog.done(total - done)  # whatever happened, the rest wait no more
        if pending:
            ctx.progress(SignalBatch(tuple(pending), done, total), every=True)
        return AnalysisDone(done, total, done < total and ctx.cancelled(), time.perf_counter() - started, error)
