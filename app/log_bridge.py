"""Routes log records from any thread to the in-app log view, keeping recent history."""

from __future__ import annotations

import collections
import logging

from PySide6.QtCore import QObject, Signal

from app.logging_setup import LOG_FORMAT


class LogBridge(QObject):
    """A QObject on the UI thread; emitting from other threads is queued by Qt."""

    line = Signal(str, int)  # formatted text, level number

    def __init__(self, capacity: int = 2000) -> None:
        super().__init__()
        self.recent: collections.deque[tuple[str, int]] = collections.deque(maxlen=capacity)
        self.handler = _BridgeHandler(self)


class _BridgeHandler(logging.Handler):
    def __init__(self, bridge: LogBridge) -> None:
        super().__init__()
        self._bridge = bridge
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            self._bridge.recent.append((text, record.levelno))
            self._bridge.line.emit(text, record.levelno)
        except RuntimeError:
            pass  # the bridge was deleted during shutdown; the file log still has the record


def install_log_bridge() -> LogBridge:
    bridge = LogBridge()
    logging.getLogger().addHandler(bridge.handler)
    return bridge
