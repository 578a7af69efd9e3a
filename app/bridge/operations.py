"""Operations: run a function of the engine on a lane, hear back on the UI thread.

Modelled on Anki's ``aqt.operations``::

    Operation(host, "Listing trade ideas", lambda ctx: tuple(ctx.engine.ideas.list()))
        .on_success(self._show).on_failure(self._say).run()

``fn(ctx)`` runs on the named lane (``app/bridge/host.py``) with ``ctx.engine``; ``ctx.progress(x)``
sends progress (at most ~20 a second, the last one always arrives before success; with
``every=True`` each value is delivered, for partial results the caller coalesces itself) and
``ctx.cancelled()`` reads the operation's ``CancelToken``. Callbacks run on the UI thread.

Failures, in one place:

* the engine is not running: ``on_failure("The engine is not running.")``, announced once;
* ``fn`` raises one of ``expected`` (or ``Refused``): ``on_failure(str(exc))``; the message is the
  user's answer (a refused decision, a bad file), so nothing is logged as an error;
* anything else: logged with its traceback, announced in the status bar, and
  ``on_failure("<name> failed: <exc>")``.

``Latest`` keeps only the newest of a series of operations: callbacks of a superseded one are
dropped, so panels never match request ids by hand. Feature methods return the operation they
started, so a panel can track it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from app.bridge.host import NOT_RUNNING, EngineHost
from engine.engine import Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
# Progress reaches the UI at most this often (the desk-wide ~20 updates a second).
PROGRESS_INTERVAL_S = 0.05


class Refused(Exception):
    """Raised by an operation's function to refuse with a message for the user (not a bug)."""


class CancelToken:
    """Set once, read anywhere: the one cancel type of the desk's operations."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    def is_cancelled(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class OpContext:
    engine: Engine
    token: CancelToken
    progress: Callable[..., None]  # progress(value, every=False)

    def cancelled(self) -> bool:
        return self.token.is_cancelled()


class Operation(Generic[T]):
    def __init__(self, host: EngineHost, name: str, fn: Callable[[OpContext], T], *, lane: str = "engine",
                 expected: tuple[type[BaseException], ...] = ()) -> None:
        self.host = host
        self.name = name
        self.lane = lane
        self.token = CancelToken()
        self._fn = fn
        self._expected = (Refused, *expected)
        self._success: Callable[[T], None] | None = None
        self._failure: Callable[[str], None] | None = None
        self._progress: Callable[[Any], None] | None = None
        self._live: Callable[[], bool] = lambda: True  # False once superseded (Latest)
        self._last_progress = float("-inf")
        self._pending_progress: list[Any] = []
        self._lock = threading.Lock()
        self.done = False

    def on_success(self, callback: Callable[[T], None]) -> "Operation[T]":
        self._success = callback
        return self

    def on_failure(self, callback: Callable[[str], None]) -> "Operation[T]":
        self._failure = callback
        return self

    def on_progress(self, callback: Callable[[Any], None]) -> "Operation[T]":
        self._progress = callback
        return self

    def cancel(self) -> None:
        self.token.cancel()

    def run(self) -> "Operation[T]":
        if not self.host.submit(self.lane, self._execute):
            self._fail_not_running()
        else:
            self.host.track(self.token)
        return self

    # --- on the lane ---------------------------------------------------------------------------
    def _execute(self) -> None:
        engine = self.host.engine
        if engine is None:
            self._fail_not_running()
            return
        try:
            result = self._fn(OpContext(engine, self.token, self._report_progress))
        except self._expected as exc:
            message = str(exc).strip("'\"") or type(exc).__name__
            log.info("%s refused: %s", self.name, message)
            if self._failure is None:  # nobody shows it: the status bar does
                self.host.report(message)
            self._finish(lambda: self._call(self._failure, message))
            return
        except Exception as exc:
            log.exception("%s failed", self.name)
            message = f"{self.name} failed: {exc}"
            self.host.report(message)
            self._finish(lambda: self._call(self._failure, message))
            return
        self._finish(lambda: self._call(self._success, result))

    def _fail_not_running(self) -> None:
        self.host.report(NOT_RUNNING)
        self._finish(lambda: self._call(self._failure, NOT_RUNNING))

    def _report_progress(self, value: Any, every: bool = False) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        with self._lock:
            if not every and now - self._last_progress < PROGRESS_INTERVAL_S:
                self._pending_progress[:] = [value]  # the newest value goes out before success
                return
            self._last_progress = now
            self._pending_progress.clear()
        self.host.deliver(lambda: self._call(self._progress, value))

    def _finish(self, outcome: Callable[[], None]) -> None:
        with self._lock:
            pending = list(self._pending_progress)
            self._pending_progress.clear()

        def deliver() -> None:
            for value in pending:
                self._call(self._progress, value)
            self.done = True
            outcome()

        self.host.deliver(deliver)

    def _call(self, callback: Callable[[Any], None] | None, value: Any) -> None:
        """On the UI thread: a superseded operation's answers are dropped."""
        if callback is not None and self._live():
            callback(value)


class Latest:
    """The newest of a series of operations (e.g. table pages): older ones' callbacks are dropped."""

    def __init__(self) -> None:
        self._op: Operation | None = None

    def track(self, op: Operation[T]) -> Operation[T]:
        """Make ``op`` (running or not) the one that counts. Callbacks only ever run on the UI thread,
        after the caller returns, so tracking right after ``run`` loses nothing."""
        self._op = op
        op._live = lambda: self._op is op
        return op

    @property
    def pending(self) -> bool:
        return self._op is not None and not self._op.done

    def forget(self) -> None:
        """Drop the answer of the operation in flight (e.g. the view was reset)."""
        self._op = None
