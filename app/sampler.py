"""Samples this process's RSS and CPU on a UI-thread timer (microseconds per call).

It runs on the UI thread on purpose: a busy engine thread must not freeze the Monitor.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from engine.monitor import ProcessSampler


class ProcessMonitor(QObject):
    sampled = Signal(object)  # engine.monitor.ProcessSample

    def __init__(self, interval_s: float = 1.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sampler = ProcessSampler()
        self._timer = QTimer(self)
        self._timer.setInterval(max(100, int(interval_s * 1000)))
        self._timer.timeout.connect(self.sample_now)
        self.last = None

    def start(self) -> None:
        self.sample_now()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def is_active(self) -> bool:
        return self._timer.isActive()

    def sample_now(self) -> None:
        self.last = self._sampler.sample()
        self.sampled.emit(self.last)
