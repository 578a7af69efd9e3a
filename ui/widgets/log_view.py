"""A read-only, colour-coded view of the application log, fed by ``app.log_bridge.LogBridge``."""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Slot
from PySide6.QtGui import QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from ui.theme import is_dark, log_level_color

if TYPE_CHECKING:
    from app.log_bridge import LogBridge

LEVELS = (
    ("Debug and above", logging.DEBUG),
    ("Info and above", logging.INFO),
    ("Warnings and errors", logging.WARNING),
    ("Errors only", logging.ERROR),
)
FLUSH_MS = 100  # coalesce bursts of records into at most ~10 document updates a second


class LogView(QWidget):
    def __init__(self, bridge: LogBridge, max_blocks: int = 5000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logView")
        self._entries: collections.deque[tuple[str, int]] = collections.deque(maxlen=max_blocks)
        self._pending: list[tuple[str, int]] = []
        self._min_level = logging.DEBUG

        self.level_combo = QComboBox()
        self.level_combo.setObjectName("logLevelCombo")
        for name, level in LEVELS:
            self.level_combo.addItem(name, level)
        self.level_combo.currentIndexChanged.connect(self._on_level_changed)

        self.text = QPlainTextEdit()
        self.text.setObjectName("logText")
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(max_blocks)
        # Wrapped: the useful end of a long record (the reason) must not hide off to the right.
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setUndoRedoEnabled(False)  # an undo stack of log lines is pure memory cost
        # Three lines at least: shown in a dock it must not push the window past a laptop's screen.
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 3 + 10)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        bar.addWidget(self.level_combo)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.text)

        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)

        self._entries.extend(bridge.recent)
        self._render(list(self._entries), replace=True)
        # Queued automatically when a record is logged on another thread.
        bridge.line.connect(self._on_line)

    def min_level(self) -> int:
        return self._min_level

    def set_min_level(self, level: int) -> None:
        index = self.level_combo.findData(level)
        if index >= 0:
            self.level_combo.setCurrentIndex(index)

    def toPlainText(self) -> str:
        self._flush()
        return self.text.toPlainText()

    @Slot(int)
    def _on_level_changed(self, index: int) -> None:
        self._min_level = int(self.level_combo.itemData(index))
        self._flush()
        self._render(list(self._entries), replace=True)

    @Slot(str, int)
    def _on_line(self, text: str, levelno: int) -> None:
        self._pending.append((text, levelno))
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    @Slot()
    def _flush(self) -> None:
        self._flush_timer.stop()
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._entries.extend(batch)
        self._render(batch, replace=False)

    def _render(self, entries: list[tuple[str, int]], replace: bool) -> None:
        bar = self.text.verticalScrollBar()
        follow = replace or bar.value() >= bar.maximum() - 2
        if replace:
            self.text.clear()
        dark = is_dark(self.palette())
        doc = self.text.document()
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        for text, levelno in entries:
            if levelno < self._min_level:
                continue
            fmt = QTextCharFormat()
            color = log_level_color(levelno, dark)
            if color is not None:
                fmt.setForeground(color)
            if levelno >= logging.ERROR:
                fmt.setFontWeight(700)
            if not doc.isEmpty():
                cursor.insertBlock()
            cursor.insertText(text, fmt)
        cursor.endEditBlock()
        if follow:
            bar.setValue(bar.maximum())
