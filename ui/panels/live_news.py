"""Live news, shown as the News panel's "Live" tab: the sources box (ui/panels/live_sources.py),
asset gauges (ui/widgets/gauges.py), filters (ui/panels/live_filters.py), the streaming table,
the detail pane and the pipeline's counters.

Everything here talks to the live feature (app/bridge/live.py) only: pages and source actions
are operations, arrivals come as its coalesced feed (rows at most ~20 times a second, counters
and gauges at 4 Hz).
The table holds a bounded window of rows; every row stays in SQLite and the rest page in.
Sorting is the query's (click a column header), so it holds over every stored row, not just
the window. Pause freezes the view while rows keep arriving and being stored; the badge
counts them and Resume brings them in. Filters, search and sort are kept in QSettings
(``live/...``) once the main window hands its settings over (``restore_settings``).
"""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.news.query import NewsFilter
from ui.models.news_table import (
    COL_CONFIDENCE,
    COL_EVENT,
    COL_LABEL,
    COL_SOURCE,
    COL_TEXT,
    COL_TICKERS,
    COL_TIME,
    MAX_ROWS,
    SORT_BY_COLUMN,
    NewsTableModel,
    matches,
)
from ui.panels.live_filters import LiveFilterBar
from ui.panels.live_sources import LiveSourcesBox
from ui.panels.news_feedback import FeedbackBar
from ui.panels.signal_detail import SignalDetailPane
from ui.theme import MESSAGE_STYLES, WARNING_BADGE, show_message_in
from ui.widgets.gauges import GaugeStrip
from ui.widgets.tables import fit_columns, remember_columns, setup_record_table

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from app.bridge.explain import ExplainFeature
    from app.bridge.feedback import FeedbackFeature
    from app.bridge.live import LiveFeature, NewsArrivals
    from app.bridge.watchlist import WatchlistFeature, WatchlistState

PAGE_SIZE = 200
# While paused, streamed rows wait here (then go in without a query); past this many, Resume
# reads the first page from SQLite instead, so a long pause costs no memory.
PAUSE_BUFFER_ROWS = 500
PAUSE_KEYS = "Ctrl+P"  # and Space while the table has focus

# QSettings keys of the sort (prefix "live/"; the filters' are in ui/panels/live_filters.py).
KEY_SORT, KEY_DESCENDING = "live/sort", "live/descending"
KEY_COLUMNS = "live/columns"  # order, widths and hidden columns of the table


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
    assetRequested = Signal(str)  # a row's symbol: open its asset view (context menu, double-click)

    def __init__(self, live: LiveFeature, explain: ExplainFeature, parent: QWidget | None = None, *,
                 watchlist: WatchlistFeature | None = None, feedback: FeedbackFeature | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveNewsPanel")
        self._live = live
        self._watchlist = watchlist
        self._first_page = live.latest()  # the newest page the model waits for
        self._older_page = live.latest()  # an older page (scrolling down)
        self._streamed = 0
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
        # The gauges' height plus the horizontal scroll bar, nothing more.
        gauge_scroll.setFixedHeight(GaugeStrip.height_needed(gauge_scroll.horizontalScrollBar().sizeHint().height()))
        gauge_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        gauge_scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.setObjectName("liveSplitter")
        splitter.setChildrenCollapsible(False)
        self.sources = LiveSourcesBox(live)
        self.sources.statusMessage.connect(self.statusMessage)
        self.sources.messageRequested.connect(self.show_message)
        self.sources.messageDismissed.connect(self.hide_message)
        splitter.addWidget(self.sources)
        stream = QWidget()
        stream_layout = QVBoxLayout(stream)
        stream_layout.setContentsMargins(0, 0, 0, 0)
        stream_layout.addWidget(gauge_scroll)
        stream_layout.addLayout(self._build_filter_row())
        # The same detail pane as Paste & score: the selected live row, Explain, streamed rationale,
        # chain and cited sources (auto-explain is toggled once, on the Paste & score pane).
        self.detail = SignalDetailPane(explain, auto_explain_toggle=False)
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
        # Verdicts on live rows, as on Paste & score: stored as analyst labels (who, when, model version).
        # Buttons and the row menu only: the keys are the News panel's, which holds this tab.
        self.feedback = FeedbackBar(feedback, self.selected_signals, keys=False) if feedback is not None else None
        if self.feedback is not None:
            self.feedback.setObjectName("liveFeedbackBar")
            self.feedback.statusMessage.connect(self.statusMessage)
            self.feedback.messageRequested.connect(self.show_message)
            self.table.selectionModel().selectionChanged.connect(self._update_feedback)
            stream_layout.addWidget(self.feedback)
            self._update_feedback()
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

        self._trim_timer = QTimer(self)
        self._trim_timer.setSingleShot(True)
        self._trim_timer.setInterval(0)
        self._trim_timer.timeout.connect(self._trim)

        # Space (table focused) or Ctrl+P pauses/resumes: the table handles both keys itself, and
        # Ctrl+P is also a shortcut from anywhere in the Live tab (e.g. while typing a search).
        self.table.pauseKeyPressed.connect(self.toggle_pause)
        self.pause_action = QAction("&Pause / resume live", self)
        self.pause_action.setObjectName("pauseLiveAction")
        self.pause_action.setShortcut(QKeySequence(PAUSE_KEYS))
        self.pause_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.pause_action.triggered.connect(self.toggle_pause)
        self.addAction(self.pause_action)

        live.ready.connect(self._on_ready)
        live.arrivals.connect(self._on_news_scored)
        live.gauges.connect(self.gauges.set_snapshots)
        live.stats.connect(self._on_stats)
        live.sourceError.connect(self._on_source_error)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_row_menu)
        self.table.doubleClicked.connect(self._on_double_clicked)
        if watchlist is not None:
            watchlist.changed.connect(self._on_watchlist)
            self.filters.set_watched(watchlist.state.symbols)
        else:
            self.filters.watchlist_only.hide()
        if live.info is not None:  # built after the engine was ready
            self.apply_filter()
        self._update_row_count()

    # -- building -----------------------------------------------------------------------------
    def _setup_table(self) -> None:
        view = self.table
        header = setup_record_table(view, per_pixel_scroll=True, text_column=COL_TEXT)
        # Sorting is server-side (the query orders every stored row), so the view never sorts itself:
        # a header click only moves the indicator, and the panel re-queries in that order.
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setSortIndicator(COL_TIME, Qt.SortOrder.DescendingOrder)
        header.sortIndicatorChanged.connect(self._on_sort_changed)
        fit_columns(view, {COL_TIME: "00:00:00", COL_SOURCE: "demo-research", COL_TICKERS: "AAPL, MSFT",
                           COL_EVENT: "earnings/beat", COL_LABEL: "bullish",
                           COL_CONFIDENCE: "Confidence"}, pad=24)

    def _build_filter_row(self) -> QHBoxLayout:
        self.filters = LiveFilterBar()
        self.filters.changed.connect(self.apply_filter)
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
        # Neither moves under the cursor: the button is as wide as its longer text, and the badge
        # keeps its place in the row while hidden.
        fm = self.pause_button.fontMetrics()
        self.pause_button.setFixedWidth(max(fm.horizontalAdvance(t) for t in ("Pause", "Resume"))
                                        + 2 * fm.horizontalAdvance("MM"))
        self.new_badge.setMinimumWidth(self.new_badge.fontMetrics().horizontalAdvance("up to 99,999 new") + 12)
        policy = self.new_badge.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.new_badge.setSizePolicy(policy)
        self.new_badge.hide()
        row = QHBoxLayout()
        row.addWidget(self.filters, 1)
        row.addWidget(self.pause_button)
        row.addWidget(self.new_badge)
        return row

    # -- filters and paging ---------------------------------------------------------------------
    def current_filter(self) -> NewsFilter:
        header = self.table.horizontalHeader()
        column = header.sortIndicatorSection()
        sort = SORT_BY_COLUMN[column] if 0 <= column < len(SORT_BY_COLUMN) else "time"
        return self.filters.news_filter(sort, header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder, PAGE_SIZE)

    @Slot()
    def apply_filter(self) -> None:
        """Re-query the first page with the filters and sort as they are now (stale answers are ignored)."""
        self.filters.discard_pending_change()
        news_filter = self.current_filter()
        self.model.reset(news_filter)
        self._older_page.forget()
        self._clear_paused_rows()  # the first page read now holds them
        self._read_first_page(news_filter)
        self._save_settings()
        self._update_row_count()

    def _on_sort_changed(self, _column: int, _order) -> None:
        self.apply_filter()

    def _read_first_page(self, news_filter: NewsFilter) -> None:
        self._first_page.track(self._live.query(news_filter, self._on_first_page, self._on_page_error))

    def _request_older(self, news_filter: NewsFilter) -> None:
        self._older_page.track(self._live.query(news_filter, self._on_older_page, self._on_page_error))

    def _on_ready(self, _info) -> None:
        self.apply_filter()

    def _on_first_page(self, rows) -> None:
        self.model.set_first_page(rows)
        self._update_row_count()

    def _on_older_page(self, rows) -> None:
        self.model.add_page(rows)
        self._update_row_count()

    def _on_page_error(self, error: str) -> None:
        self.show_message(error, "error")

    def _on_news_scored(self, arrivals: NewsArrivals) -> None:
        self._streamed += arrivals.count
        if self._paused:
            self._hold(arrivals)
        elif arrivals.overflow:
            # Too many to send row by row: show the first page from SQLite instead (once at a time).
            if not self._first_page.pending:
                self._read_first_page(self._first_page_filter())
        elif not self._first_page.pending:
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
            self.gauges.restyle()
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
            if overflow or self._first_page.pending:
                # Too many held, or a first page on its way that may predate them: read it afresh.
                self._read_first_page(self._first_page_filter())
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
            filtered = bool(f.asset or f.assets or f.label or f.category or f.min_confidence > 0 or f.search)
            exact = not (self._paused_overflow and filtered)  # a bare count cannot be filtered
            self.new_badge.setText(f"{'' if exact else 'up to '}{self._paused_new:,} new")
            self.new_badge.show()
        else:
            self.new_badge.hide()

    def _update_row_count(self) -> None:
        self.row_count.setText(f"{self.model.rowCount():,} shown · {self._streamed:,} streamed")

    # -- watchlist and assets -------------------------------------------------------------------
    @Slot(object)
    def _on_watchlist(self, state: WatchlistState) -> None:
        if self.filters.set_watched(state.symbols):
            self.apply_filter()

    def row_menu(self, row: int) -> QMenu:
        """The row's context menu: open each named symbol's asset view, watch the ones not watched."""
        menu = QMenu(self)
        news = self.model.row_at(row)
        watched = set(self._watchlist.state.symbols) if self._watchlist is not None else set()
        for symbol in news.tickers:
            action = menu.addAction(f"Open asset view: {symbol}")
            action.triggered.connect(lambda _=False, s=symbol: self.assetRequested.emit(s))
        if self._watchlist is not None:
            for symbol in (s for s in news.tickers if s not in watched):
                action = menu.addAction(f"Watch {symbol}")
                action.triggered.connect(lambda _=False, s=symbol: self._watch(s))
        if not news.tickers:
            menu.addAction("No company named in this headline").setEnabled(False)
        if self.feedback is not None:
            menu.addSeparator()
            menu.addActions(self.feedback.verdict_actions)
        return menu

    def _show_row_menu(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.row_menu(index.row()).popup(self.table.viewport().mapToGlobal(pos))

    def _on_double_clicked(self, index) -> None:
        tickers = self.model.row_at(index.row()).tickers if index.isValid() else ()
        if tickers:
            self.assetRequested.emit(tickers[0])

    def _watch(self, symbol: str) -> None:
        self._watchlist.add(symbol, (), lambda entry: self.statusMessage.emit(f"{entry.symbol} is on the watchlist"),
                            lambda error: self.show_message(error, "error"))

    # -- verdicts ---------------------------------------------------------------------------------
    def selected_signals(self) -> list:
        """The selected live rows as stored signals (``id``: the signal id, None when not stored)."""
        rows = self.table.selectionModel().selectedRows()
        return [SimpleNamespace(id=self.model.row_at(i.row()).signal_id or None) for i in rows]

    def _update_feedback(self, *_args) -> None:
        self.feedback.set_available(any(s.id is not None for s in self.selected_signals()))

    # -- detail pane ----------------------------------------------------------------------------
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

    # -- settings ---------------------------------------------------------------------------------
    def restore_settings(self, settings: QSettings) -> None:
        """Apply the saved filters, search and sort, and keep saving them to ``settings``.

        A value that no longer fits (a label or event class that is gone, a bad number) falls
        back to its default rather than stopping the desk.
        """
        self._settings = settings
        self.filters.restore(settings)
        remember_columns(self.table, settings, KEY_COLUMNS)
        header = self.table.horizontalHeader()
        header.blockSignals(True)
        try:
            sort = str(settings.value(KEY_SORT, "time") or "time")
            column = SORT_BY_COLUMN.index(sort) if sort in SORT_BY_COLUMN else COL_TIME
            descending = str(settings.value(KEY_DESCENDING, "true")).lower() not in ("false", "0")
            header.setSortIndicator(column, Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder)
        finally:
            header.blockSignals(False)
        if self._live.info is not None:  # the engine is up: show the restored view now
            self.apply_filter()

    def _save_settings(self) -> None:
        s = self._settings
        if s is None:
            return
        self.filters.save(s)
        f = self.current_filter()
        s.setValue(KEY_SORT, f.sort)
        s.setValue(KEY_DESCENDING, f.descending)

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

    def _on_source_error(self, text: str) -> None:
        self.show_message(text, "error")

    def show_message(self, text: str, kind: str = "info") -> None:
        show_message_in(self.message, text, kind)

    def hide_message(self) -> None:
        self.message.hide()
