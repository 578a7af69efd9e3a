"""The one owner of the engine's threads, and the way results get back to the UI thread.

``EngineHost`` builds the ``Engine`` on its own thread and runs jobs on named lanes, each one
thread working through its queue in order:

* ``engine``: where the engine is built and everyday work runs (pasted text, reads, switches);
* ``calibration``: labelled files and refits (seconds), so scoring never waits for them;
* ``benchmark``: model benchmarks (a minute);
* ``training``: desk versions trained, evaluated, label files imported (up to a minute).

Explanations run on the reasoning service's own slow lane and live news on the pipeline's
threads; both are engine-owned. ``every`` runs small periodic jobs (idle-model sweeps, gauges) on
one ticker thread. ``deliver`` hands a callable to the UI thread, which is how operations
(``app/bridge/operations.py``) call back. ``problem`` is the one place where "the engine is not
running" and unexpected errors are announced (the main window shows them in the status bar;
they are logged here).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine import __version__
from engine.config import Config
from engine.engine import Engine
from engine.hardware import HardwareProfile
from engine.types import ModelStatus

log = logging.getLogger(__name__)

LANES = ("engine", "calibration", "benchmark", "training")
NOT_RUNNING = "The engine is not running."
# The same problem is announced at most this often (a panel refreshing every second must not flood the log).
PROBLEM_REPEAT_S = 30.0


@dataclass(frozen=True)
class EngineInfo:
    version: str
    data_dir: str
    hardware: HardwareProfile
    sentiment: ModelStatus


class _Lane:
    """One thread, one queue, jobs in submission order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception:  # jobs report their own errors (operations do); this keeps the lane alive
                log.exception("job on the %s lane failed", self.name)

    def stop(self, timeout: float, *, drop_queued: bool = False) -> bool:
        if drop_queued:
            while True:
                try:
                    self._jobs.get_nowait()
                except queue.Empty:
                    break
        self._jobs.put(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()


class EngineHost(QObject):
    ready = Signal(object)  # EngineInfo, once the engine is built
    failed = Signal(str)  # the engine could not start
    problem = Signal(str)  # one line for the status bar: engine not running, unexpected errors
    _delivered = Signal(object)  # a callable to run on the UI thread

    def __init__(self, config: Config, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.data_dir = Path(data_dir)
        self.engine: Engine | None = None  # set on the engine lane; None until built and after shutdown
        self.info: EngineInfo | None = None
        self._lanes: dict[str, _Lane] = {}
        self._early: list[tuple[str, Callable[[], None]]] = []  # submitted before start: run after the build
        self._start_hooks: list[Callable[[Engine], None]] = []
        self._stop_hooks: list[Callable[[Engine], None]] = []
        self._ticks: list[tuple[float, Callable[[], None]]] = []
        self._ticker: threading.Thread | None = None
        self._ticker_lock = threading.Lock()
        self._stopping = threading.Event()
        self._announced: dict[str, float] = {}
        self._tokens: weakref.WeakSet = weakref.WeakSet()  # cancel tokens of operations not finished yet
        self._tokens_lock = threading.Lock()
        self._delivered.connect(self._run_delivered, Qt.ConnectionType.QueuedConnection)
        self.ready.connect(self._on_ready)

    # --- wiring, before start ------------------------------------------------------------------
    def on_start(self, hook: Callable[[Engine], None]) -> None:
        """Run ``hook(engine)`` on the engine lane once the engine is built, in registration order."""
        self._start_hooks.append(hook)

    def on_stop(self, hook: Callable[[Engine], None]) -> None:
        """Run ``hook(engine)`` on the engine lane at shutdown, before the engine closes (reverse order)."""
        self._stop_hooks.append(hook)

    def every(self, interval_s: float, job: Callable[[], None]) -> None:
        """Run ``job()`` every ``interval_s`` on the ticker thread while the engine runs."""
        self._ticks.append((float(interval_s), job))

    # --- running -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._lanes:
            return
        self._lanes = {name: _Lane(name) for name in LANES}
        self._lanes["engine"].submit(self._build)
        early, self._early = self._early, []
        for lane, job in early:  # through the engine lane, so each one runs after the build
            self._lanes["engine"].submit(lambda lane=lane, job=job: self._lanes[lane].submit(job))

    def _build(self) -> None:
        threading.current_thread().name = "engine"
        try:
            engine = Engine(self.config, self.data_dir, desk=True)
            self.engine = engine
            self.ready.emit(EngineInfo(__version__, str(self.data_dir), engine.hardware, engine.sentiment_status))
            for hook in self._start_hooks:
                hook(engine)
        except Exception as exc:  # the UI must hear about it instead of waiting forever
            log.exception("engine failed to start")
            self.failed.emit(f"The engine could not start: {exc}")
            return
        with self._ticker_lock:  # a shutdown may already be under way (a window closed at once)
            if self._ticks and not self._stopping.is_set():
                self._ticker = threading.Thread(target=self._tick, name="ticker", daemon=True)
                self._ticker.start()

    def _on_ready(self, info: EngineInfo) -> None:
        self.info = info

    def _tick(self) -> None:
        due = [time.monotonic() + interval for interval, _ in self._ticks]
        while not self._stopping.is_set():
            now = time.monotonic()
            for i, (interval, job) in enumerate(self._ticks):
                if now >= due[i]:
                    due[i] = now + interval
                    try:
                        job()
                    except Exception:
                        log.exception("periodic job failed")
            self._stopping.wait(max(0.01, min(due) - time.monotonic()))

    def submit(self, lane: str, job: Callable[[], None]) -> bool:
        """Queue ``job`` on a lane (before ``start``: held until the engine is built); False when stopped."""
        if self._stopping.is_set() or lane not in LANES:
            return False
        if not self._lanes:
            self._early.append((lane, job))
            return True
        self._lanes[lane].submit(job)
        return True

    def engine_up(self) -> bool:
        return self.engine is not None and not self._stopping.is_set()

    def track(self, token) -> None:
        """Remember an operation's cancel token: shutdown cancels every one still alive."""
        with self._tokens_lock:
            self._tokens.add(token)

    def deliver(self, call: Callable[[], None]) -> None:
        """Run ``call()`` on the UI thread (from any thread)."""
        self._delivered.emit(call)

    @Slot(object)
    def _run_delivered(self, call: Callable[[], None]) -> None:
        try:
            call()
        except Exception:  # a widget's bug must not stop the next deliveries
            log.exception("UI callback failed")

    def report(self, message: str) -> None:
        """Announce a problem: logged, and shown in the status bar (repeats within 30 s only logged)."""
        now = time.monotonic()
        last = self._announced.get(message)
        log.warning("%s", message)
        if last is None or now - last >= PROBLEM_REPEAT_S:
            self._announced[message] = now
            self.problem.emit(message)

    def is_running(self) -> bool:
        return bool(self._lanes) and not self._stopping.is_set()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop every lane (the engine's last), close the engine; True when all ended in time."""
        if not self._lanes or self._stopping.is_set():
            return True
        self._stopping.set()
        with self._tokens_lock:
            tokens = list(self._tokens)
        for token in tokens:
            token.cancel()
        deadline = time.monotonic() + timeout_ms / 1000
        with self._ticker_lock:
            ticker = self._ticker
        if ticker is not None:
            ticker.join(max(0.1, deadline - time.monotonic()))
        done = threading.Event()

        def close() -> None:
            engine = self.engine
            try:
                if engine is not None:
                    for hook in reversed(self._stop_hooks):
                        try:
                            hook(engine)
                        except Exception:
                            log.exception("shutdown step failed")
                    engine.close()
            finally:
                self.engine = None
                done.set()

        ok = True
        # A running refit, benchmark or training finishes (cancelled above: a training stops within a
        # batch and writes nothing); queued work is dropped.
        for name in ("training", "benchmark", "calibration"):
            ok &= self._lanes[name].stop(max(0.1, deadline - time.monotonic()), drop_queued=True)
        self._lanes["engine"].submit(close)
        ok &= done.wait(max(0.1, deadline - time.monotonic()))
        ok &= self._lanes["engine"].stop(max(0.1, deadline - time.monotonic()))
        if not ok:
            log.error("engine threads did not stop within %d ms", timeout_ms)
        return ok
