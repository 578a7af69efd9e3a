"""An in-app toast: a short message in the window's bottom-right corner that hides itself.

Used for alerts where the desktop has no system tray to show a message in. Clicking it calls
``clicked`` (e.g. open the alerts log); it never takes the keyboard focus.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

TOAST_STYLE = ("QFrame#toast { background:#1f2937; border:1px solid #f59e0b; border-radius:6px; }"
               " QLabel { color:#f9fafb; }")
MARGIN = 16
WIDTH = 380


class Toast(QFrame):
    clicked = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("toast")
        self.setStyleSheet(TOAST_STYLE)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.title = QLabel()
        self.title.setObjectName("toastTitle")
        self.title.setWordWrap(True)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.body = QLabel()
        self.body.setObjectName("toastBody")
        self.body.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        self.setFixedWidth(WIDTH)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.hide)
        parent.installEventFilter(self)  # follow the window's corner when it is resized
        self.hide()

    def show_message(self, title: str, body: str, timeout_ms: int) -> None:
        self.title.setText(title)
        self.body.setText(body)
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._timer.start(timeout_ms)

    def _place(self) -> None:
        parent = self.parentWidget()
        # Bottom right, above the status bar: clear of the tabs' own search rows and buttons.
        self.move(parent.width() - self.width() - MARGIN, parent.height() - self.height() - MARGIN - 28)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return False

    def mousePressEvent(self, event) -> None:
        self.hide()
        self.clicked.emit()
        event.accept()
