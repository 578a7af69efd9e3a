"""The Live tab's "Sources" box: the feeds, folders and demo replay, and the buttons that manage them.

Every action is a call on the live feature (app/bridge/live.py); the table follows its ``sources``
feed. Refusals arrive on the feature's ``sourceError``, which the Live tab shows.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from app.bridge.live import LiveFeature

SOURCE_COLUMNS = ("Source", "Kind", "State", "Enabled", "Last fetch", "Items", "Duplicates", "Errors", "Detail")
(SRC_NAME, SRC_KIND, SRC_STATE, SRC_ENABLED, SRC_LAST_FETCH, SRC_ITEMS, SRC_DUPLICATES, SRC_ERRORS,
 SRC_DETAIL) = range(len(SOURCE_COLUMNS))


def _clock(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "never"


class LiveSourcesBox(QGroupBox):
    statusMessage = Signal(str)
    # The Live tab's inline message: (text, kind) to show one, and dismissed when an action starts.
    messageRequested = Signal(str, str)
    messageDismissed = Signal()

    def __init__(self, live: LiveFeature, parent: QWidget | None = None) -> None:
        super().__init__("Sources", parent)
        self._live = live
        self._sources: tuple = ()

        self.table = QTableWidget(0, len(SOURCE_COLUMNS))
        self.table.setObjectName("sourcesTable")
        self.table.setHorizontalHeaderLabels(SOURCE_COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        fm = self.table.fontMetrics()
        self.table.setColumnWidth(SRC_NAME, fm.horizontalAdvance("rss:127.0.0.1:65535/feed.xml") + 16)
        # The header and one source at least; more scroll (keeps the window within a laptop's height).
        self.table.setMinimumHeight(fm.height() * 2 + 18)

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_add_row())
        layout.addWidget(self.table, 1)
        layout.addLayout(self._build_action_row())

        live.sources.connect(self._on_sources)
        self._update_buttons()

    def _build_add_row(self) -> QHBoxLayout:
        self.feed_url = QLineEdit()
        self.feed_url.setObjectName("feedUrl")
        self.feed_url.setPlaceholderText("RSS/Atom feed URL, e.g. https://example.com/feed.xml")
        self.feed_url.returnPressed.connect(self.add_feed)
        self.add_feed_button = QPushButton("Add feed")
        self.add_feed_button.clicked.connect(self.add_feed)
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setToolTip("Watch a folder: CSV, JSONL and TXT files dropped in are ingested")
        self.add_folder_button.clicked.connect(self.choose_folder)
        self.replay_rate = QDoubleSpinBox()
        self.replay_rate.setObjectName("replayRate")
        self.replay_rate.setRange(1, 10_000)
        self.replay_rate.setDecimals(0)
        self.replay_rate.setValue(20)
        self.replay_rate.setSuffix(" items/s")
        self.replay_button = QPushButton("Start demo replay")
        self.replay_button.setToolTip("Replay the bundled demo feed at this rate (replaces a running replay)")
        self.replay_button.clicked.connect(self.start_replay)
        row = QHBoxLayout()
        row.addWidget(self.feed_url, 1)
        row.addWidget(self.add_feed_button)
        row.addWidget(self.add_folder_button)
        row.addSpacing(12)
        row.addWidget(self.replay_rate)
        row.addWidget(self.replay_button)
        return row

    def _build_action_row(self) -> QHBoxLayout:
        self.enable_button = QPushButton("Disable")
        self.enable_button.clicked.connect(self.toggle_enabled)
        self.fetch_button = QPushButton("Fetch now")
        self.fetch_button.clicked.connect(self.fetch_selected)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.start_all_button = QPushButton("Start all")
        self.start_all_button.setToolTip("Run every enabled source")
        self.start_all_button.clicked.connect(self._live.start_sources)
        self.stop_all_button = QPushButton("Stop all")
        self.stop_all_button.clicked.connect(self._live.stop_sources)
        row = QHBoxLayout()
        for b in (self.enable_button, self.fetch_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.start_all_button)
        row.addWidget(self.stop_all_button)
        return row

    # -- the table ----------------------------------------------------------------------
    def _on_sources(self, statuses) -> None:
        selected = self.selected_source()
        self._sources = tuple(statuses)
        t = self.table
        t.setRowCount(len(statuses))
        for row, s in enumerate(statuses):
            detail = f"error: {s.last_error}" if s.state == "error" and s.last_error else (s.detail or _where(s))
            values = (s.name, s.kind, s.state, "yes" if s.enabled else "no", _clock(s.last_fetch_at),
                      f"{s.items_total:,}", f"{s.duplicates_total:,}", f"{s.errors_total:,}", detail)
            for col, value in enumerate(values):
                item = t.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    t.setItem(row, col, item)
                item.setText(value)
                item.setToolTip(s.last_error if col == SRC_ERRORS and s.last_error else _where(s))
            if s.name == selected:
                t.selectRow(row)
        self._update_buttons()

    def selected_source(self):
        rows = {i.row() for i in self.table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self._sources[row].name if row < len(self._sources) else None

    def select_source(self, name: str) -> None:
        for row, s in enumerate(self._sources):
            if s.name == name:
                self.table.selectRow(row)

    def _selected_status(self):
        name = self.selected_source()
        return next((s for s in self._sources if s.name == name), None)

    def _update_buttons(self) -> None:
        status = self._selected_status()
        for b in (self.enable_button, self.fetch_button, self.remove_button):
            b.setEnabled(status is not None)
        self.enable_button.setText("Enable" if status is not None and not status.enabled else "Disable")

    # -- actions ------------------------------------------------------------------------
    @Slot()
    def add_feed(self) -> None:
        url = self.feed_url.text().strip()
        if not url:
            self.messageRequested.emit("Type a feed URL (http or https) first.", "warning")
            return
        self.messageDismissed.emit()
        self._live.add_feed(url)
        self.feed_url.clear()
        self.statusMessage.emit(f"Adding feed {url}")

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch a folder for news files")
        if folder:
            self.messageDismissed.emit()
            self._live.add_folder(folder)

    @Slot()
    def start_replay(self) -> None:
        self.messageDismissed.emit()
        self._live.add_replay(self.replay_rate.value())
        self.statusMessage.emit(f"Demo replay at {self.replay_rate.value():.0f} items/s")

    @Slot()
    def toggle_enabled(self) -> None:
        status = self._selected_status()
        if status is not None:
            self._live.set_source_enabled(status.name, not status.enabled)

    @Slot()
    def fetch_selected(self) -> None:
        name = self.selected_source()
        if name:
            self._live.fetch_now(name)

    @Slot()
    def remove_selected(self) -> None:
        name = self.selected_source()
        if name:
            self._live.remove_source(name)


def _where(status) -> str:
    """Where a source reads from, in words: the shipped demo feed is not an install path to the analyst."""
    from engine.news.demo import demo_feed_path

    if status.kind == "replay" and status.target == str(demo_feed_path()):
        return "the shipped demo feed (invented headlines)"
    return status.target
