"""Qt objects in reference cycles are destroyed on the UI thread, never on an engine thread.

A full collection run by an engine thread once destroyed a closed window's QObject there and hung
that thread and the UI for good (the test suite's CI hangs). The engine now collects only on the
main thread (engine/garbage.py) and the app collects on a UI-thread timer with automatic
collection off (app/gc_ui.py)."""

from __future__ import annotations

import gc
import threading

from PySide6.QtCore import QObject, Qt

from app.gc_ui import UiThreadGarbageCollector
from engine.garbage import collect_if_main_thread


def test_cyclic_qt_garbage_is_destroyed_on_the_ui_thread_only(qtbot) -> None:
    collector = UiThreadGarbageCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        destroyed_on: list[str] = []
        garbage = QObject()
        garbage.setObjectName("closedDialog")
        garbage.cycle = garbage  # only a cyclic collection can free it
        garbage.destroyed.connect(lambda *_: destroyed_on.append(threading.current_thread().name),
                                  Qt.ConnectionType.DirectConnection)
        del garbage

        survivors: list[list] = []

        def engine_work() -> None:
            # The interpreter counts allocations net of frees: objects the engine keeps push the
            # young generation past its threshold (freed churn would not), so a collection is due.
            survivors.extend([] for _ in range(gc.get_threshold()[0] * 3))
            assert gc.get_count()[0] > gc.get_threshold()[0]
            assert collect_if_main_thread() == 0  # the engine's request is refused off the main thread

        worker = threading.Thread(target=engine_work, name="engine")
        worker.start()
        worker.join()
        assert destroyed_on == []  # nothing was collected on the engine thread
        qtbot.waitUntil(lambda: bool(destroyed_on), timeout=5000)
        assert destroyed_on == [threading.main_thread().name]
    finally:
        collector.stop()


def test_the_collector_restores_what_it_found(qapp) -> None:
    before = gc.isenabled()
    gc.enable()
    try:
        collector = UiThreadGarbageCollector(interval_ms=50)
        assert not gc.isenabled() and collector.timer.isActive()
        collector.stop()
        assert gc.isenabled() and not collector.timer.isActive()
    finally:
        if not before:
            gc.disable()
