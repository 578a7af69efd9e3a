"""Live news, shown as the News panel's "Live" tab: sources, the streaming table, gauges, counters.

Everything here talks to ``EngineClient`` only: requests go out as queued calls, results come
back as coalesced signals (rows at most ~20 times a second, counters and gauges at 4 Hz).
The table holds a bounded window of rows; every row stays in SQLite and the rest page in.
Sorting is the query's (click a column header), so it holds over every stored row, not just
the window. Pause freezes the view while rows keep arriving and being stored; the badge
counts them and Resume brings them in. Filters, search and sort are kept in QSettings
(``live/...``) once the main window hands its settings over (``restore_settings``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (QColor, QFont, QKeyEvent, QKeySequence, QPainter, QPalette, QPen, QPixmap, QPolygonF,
                           QShortcut)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
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
    MAX_ROWS,
    SORT_BY_COLUMN,
    NewsTableModel,
    matches,
)
from ui.panels.signal_detail import SignalDetailPane
from ui.theme import MESSAGE_STYLES, WARNING_BADGE, is_dark
from ui.widgets.tables import fit_columns, setup_record_table

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from app.worker import EngineClient, NewsArrivals, NewsPage

log = logging.getLogger(__name__)

PAGE_SIZE = 200
FILTER_DEBOUNCE_MS = 250  # typing in the search box re-queries once the user pauses
# While paused, streamed rows wait here (then go in without a query); past this many, Resume
# reads the first page from SQLite instead, so a long pause costs no memory.
PAUSE_BUFFER_ROWS = 500
PAUSE_KEYS = "Ctrl+P"  # and Space while the table has focus

# QSettings keys (prefix "live/"): the filters, the search and the sort survive a restart.
KEY_ASSET, KEY_LABEL, KEY_EVENT = "live/asset", "live/label", "live/event"
KEY_MIN_CONFIDENCE, KEY_SEARCH = "live/minConfidence", "live/search"  # minConfidence in percent
KEY_SORT, KEY_DESCENDING = "live/sort", "live/descending"

SOURCE_COLUMNS = ("Source", "Kind", "State", "Enabled", "Last fetch", "Items", "Duplicates", "Errors", "Detail")
(SRC_NAME, SRC_KIND, SRC_STATE, SRC_ENABLED, SRC_LAST_FETCH, SRC_ITEMS, SRC_DUPLICATES, SRC_ERRORS,
 SRC_DETAIL) = range(len(SOURCE_COLUMNS))


def _clock(ts: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts)) if ts else "never"


class AssetGauge(QLabel):
    """One asset: running sentiment as a centre-zero bar and a sparkline of its history.

    Drawn into a pixmap when a new snapshot arrives (all gauges in one go, in the slot), and
    shown by QLabel's own C++ painting. A Python ``paintEvent`` per gauge would enter Python a
    dozen times per repaint, each time waiting for the GIL while the pipeline's threads run
    Python: measured as 50-60 ms UI stalls at 1,000 items/s (bench/bench_live_ui.py).
    """

    SPARK_POINTS = 120
    SIZE = QSize(168, 78)

    def __init__(self, asset: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.asset = asset
        self.setObjectName(f"gauge_{asset}")
        self.running = 0.0
        self.series: tuple[float, ...] = ()
        self.snapshot = None
        self.setFixedSize(self.SIZE)

    def set_snapshot(self, snap) -> bool:
        """Show a snapshot; False (and nothing redrawn) when it shows nothing new."""
        series = tuple(snap.running_series)
        running = float(snap.running_sentiment)
        latest = snap.latest
        if (self.snapshot is not None and running == self.running and series == self.series
                and snap.age_hours == self.snapshot.age_hours and latest == self.snapshot.latest):
            return False
        self.snapshot, self.running, self.series = snap, running, series
        f = snap.features
        self.setToolTip(
            f"{snap.asset}: running sentiment {self.running:+.2f}\n"
            + (f"latest {latest.label} {latest.confidence:.0%} ({latest.category}, {snap.age_hours:.1f} h ago)\n"
               if latest is not None and snap.age_hours is not None else "no live signal\n")
            + "\n".join(f"{k}: {v:+.3f}" for k, v in f.items()))
        self.render_pixmap()
        return True

    def render_pixmap(self) -> None:
        """Draw the gauge for the current palette (again after a palette change)."""
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(self.SIZE * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        dark = is_dark(pal)
        rect = QRectF(0, 0, self.SIZE.width(), self.SIZE.height()).adjusted(0.5, 0.5, -0.5, -0.5)
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
        zero_y, half = area.center().y(), area.height() / 2
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(area.left(), zero_y), QPointF(area.right(), zero_y))
        points = self.series[-self.SPARK_POINTS:]
        if len(points) >= 2:
            step = area.width() / (len(points) - 1)
            p.setPen(QPen(colour, 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPolyline(QPolygonF([QPointF(area.left() + i * step, zero_y - max(-1.0, min(1.0, v)) * half)
                                      for i, v in enumerate(points)]))
        p.end()
        self.setPixmap(pixmap)


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
            gauge.set_snapshot(snap)  # repaints only when the snapshot shows something new
            if self._layout.indexOf(gauge) != pos:
                self._layout.removeWidget(gauge)
                self._layout.insertWidget(pos, gauge)
        self.empty.setVisible(not snaps)


class LiveTableView(QTableView):
    """The stream's table; Space and Ctrl+P on it pause or resume the view.

    Handled as key presses as well as through the panel's shortcut: shortcuts need an active
    window, key presses do not (offscreen, or right after launch).
    """

    pauseKeyPressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        pressed = QKeySequence(event.keyCombination())
        if any(pressed.matches(QKeySequence(keys)) == QKeySequence.SequenceMatch.ExactMatch
               for keys in ("Space", PAUSE_KEYS)):
            event.accept()
            self.pauseKeyPressed.emit()
            return
        super().keyPressEvent(event)


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
        self._settings: QSettings | None = None
        self._paused = False
        self._paused_rows: list = []  # streamed while paused, oldest first (up to PAUSE_BUFFER_ROWS)
        self._paused_new = 0  # rows that arrived while paused and match the filter
        self._paused_overflow = False  # some arrivals came as a count only: resume re-reads the first page
        self._stats_warning = False

        self.model = NewsTableModel(self._request_older)
        self.table = LiveTableView()
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
        # The same detail pane as Paste & score: the selected live row, Explain, streamed rationale,
        # chain and cited sources (auto-explain is toggled once, on the Paste & score pane).
        self.detail = SignalDetailPane(client, auto_explain_toggle=False)
        self.detail.setObjectName("liveDetailPane")
        self.detail.statusMessage.connect(self.statusMessage)
        self.detail_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.detail_splitter.setObjectName("liveDetailSplitter")
        self.detail_splitter.setChildrenCollapsible(False)
        self.detail_splitter.addWidget(self.table)
        self.detail_splitter.addWidget(self.detail)
        self.detail_splitter.setStretchFactor(0, 3)
        self.detail_splitter.setStretchFactor(1, 2)
        self.detail_splitter.setSizes([600, 400])
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        stream_layout.addWidget(self.detail_splitter, 1)
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
        self._trim_timer = QTimer(self)
        self._trim_timer.setSingleShot(True)
        self._trim_timer.setInterval(0)
        self._trim_timer.timeout.connect(self._trim)

        # Space (table focused) or Ctrl+P pauses/resumes: the table handles both keys itself, and
        # Ctrl+P is also a shortcut from anywhere in the Live tab (e.g. while typing a search).
        self.table.pauseKeyPressed.connect(self.toggle_pause)
        self.pause_shortcut = QShortcut(QKeySequence(PAUSE_KEYS), self)
        self.pause_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.pause_shortcut.activated.connect(self.toggle_pause)

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
        header = setup_record_table(view, per_pixel_scroll=True)
        # Sorting is server-side (the query orders every stored row), so the view never sorts itself:
        # a header click only moves the indicator, and the panel re-queries in that order.
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(COL_TIME, Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self._on_sort_changed)
        fit_columns(view, {COL_TIME: "00:00:00", COL_SOURCE: "rss:example.com/feed", COL_TICKERS: "AAPL, MSFT",
                           COL_EVENT: "regulatory/investigation", COL_LABEL: "bullish",
                           COL_CONFIDENCE: "Confidence"}, pad=24)

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
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("pauseButton")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the table while news keeps arriving and being stored "
                                     "(Space in the table, or Ctrl+P); Resume brings the new rows in")
        self.pause_button.toggled.connect(self.set_paused)
        self.new_badge = QLabel()
        self.new_badge.setObjectName("newBadge")
        self.new_badge.setStyleSheet(WARNING_BADGE)
        self.new_badge.setToolTip("Rows that arrived while the view was paused (matching the filter)")
        self.new_badge.hide()
        row = QHBoxLayout()
        row.addWidget(QLabel("Filter:"))
        for w in (self.asset_filter, self.label_filter, self.event_filter, self.confidence_filter):
            row.addWidget(w)
        row.addWidget(self.search, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.new_badge)
        return row

    # -- filters and paging ---------------------------------------------------------------------
    def _filter_timer_start(self, *_args) -> None:
        self._filter_timer.start()

    def current_filter(self) -> NewsFilter:
        header = self.table.horizontalHeader()
        column = header.sortIndicatorSection()
        sort = SORT_BY_COLUMN[column] if 0 <= column < len(SORT_BY_COLUMN) else "time"
        return NewsFilter(asset=self.asset_filter.text().strip(), label=self.label_filter.currentData() or "",
                          category=self.event_filter.currentData() or "",
                          min_confidence=self.confidence_filter.value() / 100.0, search=self.search.text().strip(),
                          sort=sort, descending=header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder,
                          limit=PAGE_SIZE)

    @Slot()
    def apply_filter(self) -> None:
        """Re-query the first page with the filters and sort as they are now (stale answers are ignored)."""
        self._filter_timer.stop()
        news_filter = self.current_filter()
        self.model.reset(news_filter)
        self._more_request = None
        self._clear_paused_rows()  # the first page read now holds them
        self._first_request = self._client.query_news(news_filter)
        self._save_settings()
        self._update_row_count()

    def _on_sort_changed(self, _column: int, _order) -> None:
        self.apply_filter()

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
        if self._paused:
            self._hold(arrivals)
        elif arrivals.overflow:
            # Too many to send row by row: show the first page from SQLite instead (once at a time).
            if self._first_request is None:
                self._first_request = self._client.query_news(self._first_page_filter())
        elif self._first_request is None:
            self._add_rows(arrivals.rows)
        self._update_row_count()

    def _first_page_filter(self) -> NewsFilter:
        return replace(self.model.news_filter, before_id=None, after=())

    def _add_rows(self, rows) -> None:
        """Streamed rows into the model; a reader who scrolled down keeps seeing the same rows."""
        bar = self.table.verticalScrollBar()
        scrolled = bar.value() > 0
        top = max(0, self.table.rowAt(0)) if scrolled else 0
        above = self.model.add_streamed(rows, top)
        if scrolled and above:
            bar.setValue(bar.value() + above * self.table.verticalHeader().defaultSectionSize())
        if self.model.rowCount() > MAX_ROWS:
            self._trim_timer.start()  # on the next pass of the event loop: two short waits, not one long

    def _trim(self) -> None:
        """Keep the window bounded: the rows past it stay in SQLite, and never the ones on screen."""
        if self.table.verticalScrollBar().value() > 0:
            bottom = self.table.rowAt(self.table.viewport().height() - 1)
            self.model.trim(max(MAX_ROWS, (bottom if bottom >= 0 else self.model.rowCount()) + PAGE_SIZE))
        else:
            self.model.trim(MAX_ROWS)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self.model.restyle()  # label colours are stored in the cells: pick the pair for the new palette
            for gauge in self.gauges.gauges.values():  # gauges are pictures drawn for one palette
                if gauge.snapshot is not None:
                    gauge.render_pixmap()
        super().changeEvent(event)

    # -- pause ----------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    @Slot()
    def toggle_pause(self) -> None:
        self.set_paused(not self._paused)

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        """Freeze or unfreeze the table; news keeps being scored and stored meanwhile."""
        if paused == self._paused:
            return
        self._paused = paused
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(paused)
        self.pause_button.blockSignals(False)
        self.pause_button.setText("Resume" if paused else "Pause")
        if not paused:
            rows, overflow = self._paused_rows, self._paused_overflow
            self._clear_paused_rows()
            if overflow or self._first_request is not None:
                # Too many held, or a first page on its way that may predate them: read it afresh.
                self._first_request = self._client.query_news(self._first_page_filter())
            elif rows:
                self._add_rows(rows)
        self.statusMessage.emit("Live view paused: news is still stored" if paused else "Live view resumed")
        self._update_badge()

    def _hold(self, arrivals: NewsArrivals) -> None:
        if arrivals.overflow:
            self._paused_overflow = True
            self._paused_new += arrivals.count  # unfiltered: the drain sent a count, not rows
            self._paused_rows = []
        else:
            fresh = [r for r in arrivals.rows if matches(r, self.model.news_filter)]
            self._paused_new += len(fresh)
            if not self._paused_overflow:
                self._paused_rows.extend(fresh)
                if len(self._paused_rows) > PAUSE_BUFFER_ROWS:
                    self._paused_overflow, self._paused_rows = True, []
        self._update_badge()

    def _clear_paused_rows(self) -> None:
        self._paused_rows, self._paused_new, self._paused_overflow = [], 0, False
        self._update_badge()

    def _update_badge(self) -> None:
        if self._paused and self._paused_new:
            f = self.model.news_filter
            filtered = bool(f.asset or f.label or f.category or f.min_confidence > 0 or f.search)
            exact = not (self._paused_overflow and filtered)  # a bare count cannot be filtered
            self.new_badge.setText(f"{'' if exact else 'up to '}{self._paused_new:,} new")
            self.new_badge.show()
        else:
            self.new_badge.hide()

    def _update_row_count(self) -> None:
        self.row_count.setText(f"{self.model.rowCount():,} shown · {self._streamed:,} streamed")

    # -- settings ---------------------------------------------------------------------------------
    def _on_current_row(self, current, _previous) -> None:
        self.detail.show_signal(self.model.row_at(current.row()) if current.isValid() else None)

    def explain_current(self, chain: bool | None = None) -> int | None:
        """Explain the current live row in the detail pane (Ctrl+E while the Live tab is shown)."""
        current = self.table.currentIndex()
        if not current.isValid():
            self.detail.show_banner("Select a live row to explain first.", "warning")
            return None
        self.detail.show_signal(self.model.row_at(current.row()))
        if chain is not None:
            self.detail.chain_check.setChecked(chain)
        return self.detail.explain()

    def restore_settings(self, settings: QSettings) -> None:
        """Apply the saved filters, search and sort, and keep saving them to ``settings``.

        A value that no longer fits (a label or event class that is gone, a bad number) falls
        back to its default rather than stopping the desk.
        """
        self._settings = settings
        widgets = (self.asset_filter, self.label_filter, self.event_filter, self.confidence_filter, self.search,
                   self.table.horizontalHeader())
        for w in widgets:
            w.blockSignals(True)
        try:
            self.asset_filter.setText(str(settings.value(KEY_ASSET, "") or ""))
            self.search.setText(str(settings.value(KEY_SEARCH, "") or ""))
            for combo, key in ((self.label_filter, KEY_LABEL), (self.event_filter, KEY_EVENT)):
                combo.setCurrentIndex(max(0, combo.findData(str(settings.value(key, "") or ""))))
            try:
                confidence = float(settings.value(KEY_MIN_CONFIDENCE, 0) or 0)
            except (TypeError, ValueError):
                log.warning("ignoring a bad saved minimum confidence: %r", settings.value(KEY_MIN_CONFIDENCE))
                confidence = 0.0
            self.confidence_filter.setValue(confidence)
            sort = str(settings.value(KEY_SORT, "time") or "time")
            column = SORT_BY_COLUMN.index(sort) if sort in SORT_BY_COLUMN else COL_TIME
            descending = str(settings.value(KEY_DESCENDING, "true")).lower() not in ("false", "0")
            self.table.horizontalHeader().setSortIndicator(
                column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
        finally:
            for w in widgets:
                w.blockSignals(False)
        if self._client.info is not None:  # the engine is up: show the restored view now
            self.apply_filter()

    def _save_settings(self) -> None:
        s = self._settings
        if s is None:
            return
        f = self.current_filter()
        for key, value in ((KEY_ASSET, f.asset), (KEY_LABEL, f.label), (KEY_EVENT, f.category),
                           (KEY_MIN_CONFIDENCE, self.confidence_filter.value()), (KEY_SEARCH, f.search),
                           (KEY_SORT, f.sort), (KEY_DESCENDING, f.descending)):
            s.setValue(key, value)

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
        warning = bool(s.dropped)
        if warning != self._stats_warning:  # re-styling re-polishes the label: only on a change
            self._stats_warning = warning
            self.stats_label.setStyleSheet(MESSAGE_STYLES["warning"] if warning else "")

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
