"""Cyclic garbage is collected on the UI thread only.

With automatic collection on, whichever thread happens to allocate past the threshold runs the
collection and destroys every unreachable object, Qt objects included; a QObject destroyed on an
engine thread can deadlock it against the UI thread (see engine/garbage.py). Qt desktops in
Python therefore switch automatic collection off and collect on a UI-thread timer (Anki does the
same). Reference counting frees everything outside cycles at once, as before.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

COLLECT_EVERY_MS = 1000


class UiThreadGarbageCollector(QObject):
    """Turn automatic collection off and collect each generation when its count passes the
    interpreter's own threshold, checked every ``interval_ms`` on the thread that owns this object."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = COLLECT_EVERY_MS) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> int:
        """Collect what the automatic collector would have by now; returns the objects freed."""
        t0, t1, t2 = self._threshold
        c0, c1, c2 = gc.get_count()
        freed = 0
        if c0 > t0:
            freed += gc.collect(0)
            if c1 > t1:
                freed += gc.collect(1)
                if c2 > t2:
                    freed += gc.collect(2)
        return freed

    def stop(self) -> None:
        self.timer.stop()
        if self._was_enabled:
            gc.enable()
