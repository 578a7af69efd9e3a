"""Live news, shown as the News panel's "Live" tab: sources, the streaming table, gauges, counters.

Everything here talks to ``EngineClient`` only: requests go out as queued calls, results come
back as coalesced signals (rows at most ~20 times a second, counters and gauges at 4 Hz).
The table holds a window of rows; every row stays in SQLite and older ones page back in.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine.news.config import CATEGORIES
from engine.news.query import NewsFilter
from ui.models.news_table import (
    COL_CONFIDENCE,
    COL_EVENT,
    COL_LABEL,
    COL_SOURCE,
    COL_TICKERS,
    COL_TIME,
    NewsTableModel,
)
from ui.theme import MESSAGE_STYLES, is_dark

if TYPE_CHECKING:
    from app.worker import EngineClient, NewsArrivals, NewsPage

PAGE_SIZE = 200
FILTER_DEBOUNCE_MS = 250  # typing in the search box re-queries once the user pauses

SOURCE_COLUMNS = ("Source", "Kind", "State", "Enabled", "Last fetch", "Items", "Duplicates", "Errors", "Detail")
(SRC_NAME, SRC_KIND, SRC_STATE, SRC_ENABLED, SRC_LAST_FETCH, SRC_ITEMS, SRC_DUPLICATES, SRC_ERRORS,
 SRC_DETAIL) = range(len(SOURCE_COLUMNS))


def _clock(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "never"


class AssetGauge(QWidget):
    """One asset: running sentiment as a centre-zero bar and a sparkline of its history (QPainter)."""

    def __init__(self, asset: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.asset = asset
        self.setObjectName(f"gauge_{asset}")
        self.running = 0.0
        self.series: tuple[float, ...] = ()
        self.snapshot = None
        self.setFixedSize(QSize(168, 78))

    def set_snapshot(self, snap) -> None:
        self.snapshot = snap
        self.running = float(snap.running_sentiment)
        self.series = tuple(snap.running_series)
        f = snap.features
        latest = snap.latest
        self.setToolTip(
            f"{snap.asset}: running sentiment {self.running:+.2f}\n"
            + (f"latest {latest.label} {latest.confidence:.0%} ({latest.category}, {snap.age_hours:.1f} h ago)\n"
               if latest is not None and snap.age_hours is not None else "no live signal\n")
            + "\n".join(f"{k}: {v:+.3f}" for k, v in f.items()))
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        dark = is_dark(pal)
        rect = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(rect, 4, 4)
        up = QColor("#86efac" if dark else "#16a34a")
        down = QColor("#fca5a5" if dark else "#dc2626")
        colour = up if self.running > 0.05 else down if self.running < -0.05 else pal.color(QPalette.ColorRole.Mid)

        text = pal.color(QPalette.ColorRole.Text)
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(text)
        p.drawText(QRectF(6, 3, 90, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.asset)
        p.setPen(colour if abs(self.running) > 0.05 else text)
        p.drawText(QRectF(rect.width() - 66, 3, 60, 18), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   f"{self.running:+.2f}")

        # Centre-zero bar: left of centre is bearish, right is bullish.
        bar = QRectF(6, 23, rect.width() - 12, 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color(QPalette.ColorRole.AlternateBase))
        p.drawRect(bar)
        mid = bar.center().x()
        width = max(-1.0, min(1.0, self.running)) * bar.width() / 2
        p.setBrush(colour)
        p.drawRect(QRectF(min(mid, mid + width), bar.top(), abs(width), bar.height()))

        # Sparkline of the running sentiment after each signal, on a fixed -1..1 scale with a zero line.
        area = QRectF(6, 34, rect.width() - 12, rect.height() - 40)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1, Qt.PenStyle.DotLine))
        zero_y = area.center().y()
        p.drawLine(QPointF(area.left(), zero_y), QPointF(area.right(), zero_y))
        points = self.series[-120:]
        if len(points) >= 2:
            path = QPainterPath()
            step = area.width() / (len(points) - 1)
            for i, v in enumerate(points):
                pt = QPointF(area.left() + i * step, zero_y - max(-1.0, min(1.0, v)) * area.height() / 2)
                path.lineTo(pt) if i else path.moveTo(pt)
            p.setPen(QPen(colour, 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(path)
        p.end()


class GaugeStrip(QWidget):
    """The most recently active assets' gauges in a row, reusing widgets between updates."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gaugeStrip")
        self.gauges: dict[str, AssetGauge] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.empty = QLabel("No asset gauges yet: they appear as news about tickers is scored.")
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)

    def set_snapshots(self, snaps) -> None:
        wanted = [s.asset for s in snaps]
        for asset in list(self.gauges):
            if asset not in wanted:
                gauge = self.gauges.pop(asset)
                self._layout.removeWidget(gauge)
                gauge.deleteLater()
        for pos, snap in enumerate(snaps):
            gauge = self.gauges.get(snap.asset)
            if gauge is None:
                gauge = self.gauges[snap.asset] = AssetGauge(snap.asset, self)
            gauge.set_snapshot(snap)
            if self._layout.indexOf(gauge) != pos:
                self._layout.removeWidget(gauge)
                self._layout.insertWidget(pos, gauge)
        self.empty.setVisible(not snaps)


class LiveNewsPanel(QWidget):
    statusMessage = Signal(str)

    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveNewsPanel")
        self._client = client
        self._first_request: int | None = None  # the newest-page request the model waits for
        self._more_request: int | None = None  # an older-page request (scrolling down)
        self._streamed = 0
        self._sources: tuple = ()

        self.model = NewsTableModel(self._request_older)
        self.table = QTableView()
        self.table.setObjectName("liveNewsTable")
        self.table.setModel(self.model)
        self._setup_table()

        self.message = QLabel()
        self.message.setObjectName("liveMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.stats_label = QLabel("Pipeline: waiting for the engine…")
        self.stats_label.setObjectName("pipelineStats")
        self.stats_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.row_count = QLabel()
        self.row_count.setObjectName("liveRowCount")

        self.gauges = GaugeStrip()
        gauge_scroll = QScrollArea()
        gauge_scroll.setWidget(self.gauges)
        gauge_scroll.setWidgetResizable(True)
        gauge_scroll.setFixedHeight(100)
        gauge_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        gauge_scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("liveSplitter")
        splitter.setChildrenCollapsible(False)
        splitter.addWidget(self._build_sources())
        stream = QWidget()
        stream_layout = QVBoxLayout(stream)
        stream_layout.setContentsMargins(0, 0, 0, 0)
        stream_layout.addWidget(gauge_scroll)
        stream_layout.addLayout(self._build_filters())
        stream_layout.addWidget(self.table, 1)
        counts = QHBoxLayout()
        counts.addWidget(self.stats_label, 1)
        counts.addWidget(self.row_count)
        stream_layout.addLayout(counts)
        splitter.addWidget(stream)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 3)
        self.splitter = splitter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.message)
        layout.addWidget(splitter)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DEBOUNCE_MS)
        self._filter_timer.timeout.connect(self.apply_filter)

        client.ready.connect(self._on_ready)
        client.newsScored.connect(self._on_news_scored)
        client.newsPage.connect(self._on_news_page)
        client.assetGauges.connect(self.gauges.set_snapshots)
        client.pipelineStats.connect(self._on_stats)
        client.sourceStatuses.connect(self._on_sources)
        client.sourceError.connect(self._on_source_error)
        if client.info is not None:  # built after the engine was ready
            self.apply_filter()
        self._update_source_buttons()
        self._update_row_count()

    # -- building -----------------------------------------------------------------------------
    def _setup_table(self) -> None:
        view = self.table
        view.setAlternatingRowColors(True)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setWordWrap(False)
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vheader = view.verticalHeader()
        vheader.hide()
        vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # cheap scrolling at any row count
        vheader.setDefaultSectionSize(view.fontMetrics().height() + 8)
        header = view.horizontalHeader()
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        fm = view.fontMetrics()
        for col, sample in ((COL_TIME, "00:00:00"), (COL_SOURCE, "rss:example.com/feed"), (COL_TICKERS, "AAPL, MSFT"),
                            (COL_EVENT, "regulatory/investigation"), (COL_LABEL, "bullish"),
                            (COL_CONFIDENCE, "Confidence")):
            view.setColumnWidth(col, fm.horizontalAdvance(sample) + 24)

    def _build_sources(self) -> QGroupBox:
        box = QGroupBox("Sources")
        self.sources_table = QTableWidget(0, len(SOURCE_COLUMNS))
        self.sources_table.setObjectName("sourcesTable")
        self.sources_table.setHorizontalHeaderLabels(SOURCE_COLUMNS)
        self.sources_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.sources_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sources_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.sources_table.verticalHeader().hide()
        self.sources_table.horizontalHeader().setStretchLastSection(True)
        self.sources_table.itemSelectionChanged.connect(self._update_source_buttons)
        fm = self.sources_table.fontMetrics()
        self.sources_table.setColumnWidth(SRC_NAME, fm.horizontalAdvance("rss:127.0.0.1:65535/feed.xml") + 16)

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
        add_row = QHBoxLayout()
        add_row.addWidget(self.feed_url, 1)
        add_row.addWidget(self.add_feed_button)
        add_row.addWidget(self.add_folder_button)
        add_row.addSpacing(12)
        add_row.addWidget(self.replay_rate)
        add_row.addWidget(self.replay_button)

        self.enable_button = QPushButton("Disable")
        self.enable_button.clicked.connect(self.toggle_enabled)
        self.fetch_button = QPushButton("Fetch now")
        self.fetch_button.clicked.connect(self.fetch_selected)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.start_all_button = QPushButton("Start all")
        self.start_all_button.setToolTip("Run every enabled source")
        self.start_all_button.clicked.connect(self._client.start_sources)
        self.stop_all_button = QPushButton("Stop all")
        self.stop_all_button.clicked.connect(self._client.stop_sources)
        act_row = QHBoxLayout()
        for b in (self.enable_button, self.fetch_button, self.remove_button):
            act_row.addWidget(b)
        act_row.addStretch(1)
        act_row.addWidget(self.start_all_button)
        act_row.addWidget(self.stop_all_button)

        layout = QVBoxLayout(box)
        layout.addLayout(add_row)
        layout.addWidget(self.sources_table, 1)
        layout.addLayout(act_row)
        return box

    def _build_filters(self) -> QHBoxLayout:
        self.asset_filter = QLineEdit()
        self.asset_filter.setObjectName("assetFilter")
        self.asset_filter.setPlaceholderText("Asset, e.g. AAPL")
        self.asset_filter.setMaximumWidth(120)
        self.label_filter = QComboBox()
        self.label_filter.setObjectName("labelFilter")
        self.label_filter.addItem("Any label", "")
        for label in ("bullish", "bearish", "neutral"):
            self.label_filter.addItem(label, label)
        self.event_filter = QComboBox()
        self.event_filter.setObjectName("eventFilter")
        self.event_filter.addItem("Any event", "")
        for category in CATEGORIES:
            self.event_filter.addItem(category, category)
        self.confidence_filter = QDoubleSpinBox()
        self.confidence_filter.setObjectName("confidenceFilter")
        self.confidence_filter.setRange(0, 100)
        self.confidence_filter.setDecimals(0)
        self.confidence_filter.setSingleStep(5)
        self.confidence_filter.setPrefix("≥ ")
        self.confidence_filter.setSuffix("% conf.")
        self.search = QLineEdit()
        self.search.setObjectName("newsSearch")
        self.search.setPlaceholderText("Search headlines…")
        self.search.setClearButtonEnabled(True)
        for edit in (self.asset_filter, self.search):
            edit.textChanged.connect(self._filter_timer_start)
        for combo in (self.label_filter, self.event_filter):
            combo.currentIndexChanged.connect(self._filter_timer_start)
        self.confidence_filter.valueChanged.connect(self._filter_timer_start)
        row = QHBoxLayout()
        row.addWidget(QLabel("Filter:"))
        for w in (self.asset_filter, self.label_filter, self.event_filter, self.confidence_filter):
            row.addWidget(w)
        row.addWidget(self.search, 1)
        return row

    # -- filters and paging ---------------------------------------------------------------------
    def _filter_timer_start(self, *_args) -> None:
        self._filter_timer.start()

    def current_filter(self) -> NewsFilter:
        return NewsFilter(asset=self.asset_filter.text().strip(), label=self.label_filter.currentData() or "",
                          category=self.event_filter.currentData() or "",
                          min_confidence=self.confidence_filter.value() / 100.0, search=self.search.text().strip(),
                          limit=PAGE_SIZE)

    @Slot()
    def apply_filter(self) -> None:
        """Re-query the newest page with the filters as they are now (stale answers are ignored)."""
        self._filter_timer.stop()
        news_filter = self.current_filter()
        self.model.reset(news_filter)
        self._more_request = None
        self._first_request = self._client.query_news(news_filter)
        self._update_row_count()

    def _request_older(self, news_filter: NewsFilter) -> None:
        self._more_request = self._client.query_news(news_filter)

    def _on_ready(self, _info) -> None:
        self.apply_filter()

    def _on_news_page(self, page: NewsPage) -> None:
        if page.error:
            self.show_message(page.error, "error")
        if page.request_id == self._first_request:
            self._first_request = None
            self.model.set_first_page(page.rows)
        elif page.request_id == self._more_request:
            self._more_request = None
            self.model.add_page(page.rows)
        self._update_row_count()

    def _on_news_scored(self, arrivals: NewsArrivals) -> None:
        self._streamed += arrivals.count
        if arrivals.overflow:
            # Too many to send row by row: show the newest page from SQLite instead (once at a time).
            if self._first_request is None:
                self._first_request = self._client.query_news(replace(self.model.news_filter, before_id=None))
        elif self._first_request is None:
            bar = self.table.verticalScrollBar()
            keep = bar.value() > 0  # the reader scrolled down: keep their rows still
            added = self.model.prepend(arrivals.rows)
            if keep and added:
                bar.setValue(bar.value() + added * self.table.verticalHeader().defaultSectionSize())
        self._update_row_count()

    def _update_row_count(self) -> None:
        self.row_count.setText(f"{self.model.rowCount():,} shown · {self._streamed:,} streamed")

    # -- counters ---------------------------------------------------------------------------
    def _on_stats(self, s) -> None:
        self.stats_label.setText(
            f"Queue {s.queue_depth:,}/{s.queue_capacity:,} (peak {s.peak_queue_depth:,}) · accepted {s.accepted:,} · "
            f"duplicates {s.duplicates:,} · scored {s.scored:,} · dropped {s.dropped:,} · shed {s.events_shed:,} · "
            f"refused {s.refused:,}" + ("" if s.running else " · pipeline stopped"))
        dropped = ", ".join(f"{k}: {v}" for k, v in s.dropped_by_reason) or "none"
        self.stats_label.setToolTip(
            f"Queue depth / capacity: items accepted, not yet scored.\nDropped (counted, never silent): {dropped}.\n"
            f"Shed: items classified by rules alone while the queue was backed up.\n"
            f"Backpressure: sources waited {s.backpressure_s:.1f} s for room. Last batch {s.last_batch_ms:.0f} ms.")
        self.stats_label.setStyleSheet(MESSAGE_STYLES["warning"] if s.dropped else "")

    # -- sources ----------------------------------------------------------------------------
    def _on_sources(self, statuses) -> None:
        selected = self.selected_source()
        self._sources = tuple(statuses)
        t = self.sources_table
        t.setRowCount(len(statuses))
        for row, s in enumerate(statuses):
            detail = f"error: {s.last_error}" if s.state == "error" and s.last_error else (s.detail or s.target)
            values = (s.name, s.kind, s.state, "yes" if s.enabled else "no", _clock(s.last_fetch_at),
                      f"{s.items_total:,}", f"{s.duplicates_total:,}", f"{s.errors_total:,}", detail)
            for col, value in enumerate(values):
                item = t.item(row, col)
                if item is None:
                    item = QTableWidgetItem()
                    t.setItem(row, col, item)
                item.setText(value)
                item.setToolTip(s.last_error if col == SRC_ERRORS and s.last_error else s.target)
            if s.name == selected:
                t.selectRow(row)
        self._update_source_buttons()

    def selected_source(self):
        rows = {i.row() for i in self.sources_table.selectedIndexes()}
        if len(rows) != 1:
            return None
        row = rows.pop()
        return self._sources[row].name if row < len(self._sources) else None

    def select_source(self, name: str) -> None:
        for row, s in enumerate(self._sources):
            if s.name == name:
                self.sources_table.selectRow(row)

    def _selected_status(self):
        name = self.selected_source()
        return next((s for s in self._sources if s.name == name), None)

    def _update_source_buttons(self) -> None:
        status = self._selected_status()
        for b in (self.enable_button, self.fetch_button, self.remove_button):
            b.setEnabled(status is not None)
        self.enable_button.setText("Enable" if status is not None and not status.enabled else "Disable")

    @Slot()
    def add_feed(self) -> None:
        url = self.feed_url.text().strip()
        if not url:
            self.show_message("Type a feed URL (http or https) first.", "warning")
            return
        self.hide_message()
        self._client.add_feed(url)
        self.feed_url.clear()
        self.statusMessage.emit(f"Adding feed {url}")

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch a folder for news files")
        if folder:
            self.hide_message()
            self._client.add_folder(folder)

    @Slot()
    def start_replay(self) -> None:
        self.hide_message()
        self._client.add_replay(self.replay_rate.value())
        self.statusMessage.emit(f"Demo replay at {self.replay_rate.value():.0f} items/s")

    @Slot()
    def toggle_enabled(self) -> None:
        status = self._selected_status()
        if status is not None:
            self._client.set_source_enabled(status.name, not status.enabled)

    @Slot()
    def fetch_selected(self) -> None:
        name = self.selected_source()
        if name:
            self._client.fetch_now(name)

    @Slot()
    def remove_selected(self) -> None:
        name = self.selected_source()
        if name:
            self._client.remove_source(name)

    def _on_source_error(self, text: str) -> None:
        self.show_message(text, "error")

    def show_message(self, text: str, kind: str = "info") -> None:
        self.message.setText(text)
        self.message.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
        self.message.setProperty("kind", kind)
        self.message.show()

    def hide_message(self) -> None:
        self.message.hide()
