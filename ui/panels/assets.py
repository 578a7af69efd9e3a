"""Assets panel: the watchlist (ui/panels/watchlist_box.py) beside one asset's view.

Pick a symbol from the watchlist, the search box (a symbol, cashtag or company name: "Tesla"), or
a news row's context menu ("Open asset view", see the main window), and the panel shows its price
candles with its news as markers coloured by sentiment (hover for the headline, click to open the
signal), the decayed sentiment line, the regime, the open idea with its entry, stop and target,
and the news itself as a list (double-click opens a signal).

Talks to the assets and watchlist features only (app/bridge/assets.py, watchlist.py); the view
is an operation (it reads up to 2,000 signals), and only the newest answer is shown.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any, Sequence

from PySide6.QtCore import QModelIndex, QStringListModel, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.models.base import Index, RowTableModel
from ui.models.idea_table import humanise
from ui.panels.ideas_html import idea_levels, idea_tick, price
from ui.panels.watchlist_box import WatchlistBox
from ui.theme import is_dark, label_colors, show_message_in
from ui.widgets.asset_chart import AssetChart, ChartMarker
from ui.widgets.signal_view import SignalDialog
from ui.widgets.tables import fit_columns, setup_record_table

if TYPE_CHECKING:
    from app.bridge.assets import AssetsFeature, AssetView, NewsMarker, SignalOpened
    from app.bridge.watchlist import WatchlistFeature, WatchlistState

DEFAULT_DAYS = 30
NEWS_COLUMNS = ("Time", "Label", "Conf.", "Event", "Headline")
COL_TIME, COL_LABEL, COL_CONF, COL_EVENT, COL_HEADLINE = range(len(NEWS_COLUMNS))


def markers_of(news: Sequence[NewsMarker]) -> list[ChartMarker]:
    return [ChartMarker(m.signal_id, m.time, m.label, m.headline, m.confidence, m.calibrated) for m in news]


class AssetNewsModel(RowTableModel):
    """The asset's news, newest first."""

    columns = NEWS_COLUMNS
    header_tips = ("When the story happened (published, else received)", "Sentiment label",
                   "Calibrated confidence (raw when the model version has no calibrator)",
                   "Event class and impact", "The headline; double-click opens the signal")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[NewsMarker] = []

    def set_news(self, news: Sequence[NewsMarker]) -> None:
        self.beginResetModel()
        self._rows = sorted(news, key=lambda m: (m.time, m.signal_id), reverse=True)
        self.endResetModel()

    def marker_at(self, row: int) -> NewsMarker:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        m, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (time.strftime("%m-%d %H:%M", time.localtime(m.time)), m.label,
                    f"{m.confidence:.0%}" + ("" if m.calibrated else "*"), f"{m.category} · {m.impact}",
                    m.headline)[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == COL_CONF:
                return (f"calibrated {m.confidence:.1%}, raw {m.raw_confidence:.1%}" if m.calibrated
                        else f"raw {m.raw_confidence:.1%} (* no calibrator for this model version)")
            return m.headline if col == COL_HEADLINE else None
        if role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole) and col == COL_LABEL:
            colors = label_colors(m.label, is_dark())
            return None if colors is None else colors[0 if role == Qt.ItemDataRole.ForegroundRole else 1]
        return None


class AssetsPanel(QWidget):
    statusMessage = Signal(str)

    def __init__(self, assets: AssetsFeature, watchlist: WatchlistFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("assetsPanel")
        self._assets = assets
        self._watchlist = watchlist
        self._viewing = assets.latest()  # only the newest view answer is shown
        self.view: AssetView | None = None

        self.watchlist_box = WatchlistBox(watchlist)
        self.watchlist_box.symbolChosen.connect(self.show_symbol)
        self.watchlist_box.statusMessage.connect(self.statusMessage)

        self.search = QLineEdit()
        self.search.setObjectName("assetSearch")
        self.search.setPlaceholderText("Symbol or company (e.g. TSLA, Tesla, $ACME), Enter to show")
        self.search.setMaxLength(80)
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(lambda: self.show_symbol(self.search.text()))
        self._completions = QStringListModel(self)
        completer = QCompleter(self._completions, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.search.setCompleter(completer)
        self.days = QSpinBox()
        self.days.setObjectName("assetDays")
        self.days.setRange(1, 365)
        self.days.setValue(DEFAULT_DAYS)
        self.days.setSuffix(" days of news")
        self.days.valueChanged.connect(lambda _v: self.refresh())
        self.show_button = QPushButton("Show")
        self.show_button.setObjectName("assetShowButton")
        self.show_button.clicked.connect(lambda: self.show_symbol(self.search.text()))
        self.watch_button = QPushButton("Watch")
        self.watch_button.setObjectName("assetWatchButton")
        self.watch_button.setToolTip("Add the shown symbol to the watchlist (Ctrl+D)")
        self.watch_button.setEnabled(False)
        self.watch_button.clicked.connect(self.watch_shown)
        search_row = QHBoxLayout()
        for widget, stretch in ((self.search, 1), (self.days, 0), (self.show_button, 0), (self.watch_button, 0)):
            search_row.addWidget(widget, stretch)

        self.message = QLabel()
        self.message.setObjectName("assetMessage")
        self.message.setWordWrap(True)
        self.message.hide()
        self.header = QLabel("Pick a symbol from the watchlist, type one above, or right-click a news row → "
                             "Open asset view.")
        self.header.setObjectName("assetHeader")
        self.header.setWordWrap(True)
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.chart = AssetChart()
        self.chart.markerClicked.connect(self.open_signal)
        self.news_model = AssetNewsModel(self)
        self.news_table = QTableView()
        self.news_table.setObjectName("assetNewsTable")
        self.news_table.setModel(self.news_model)
        setup_record_table(self.news_table, single_selection=True)
        fit_columns(self.news_table, {COL_TIME: "12-31 23:59", COL_LABEL: "bullish", COL_CONF: "100%*",
                                      COL_EVENT: "regulatory · medium"}, pad=18)
        self.news_table.doubleClicked.connect(self._on_news_activated)
        self.news_table.activated.connect(self._on_news_activated)
        self.signal_dialog = SignalDialog(self)

        charts = QSplitter(Qt.Orientation.Vertical)
        charts.setObjectName("assetSplitter")
        charts.setChildrenCollapsible(False)
        charts.addWidget(self.chart)
        charts.addWidget(self.news_table)
        charts.setStretchFactor(0, 3)
        charts.setStretchFactor(1, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(search_row)
        right_layout.addWidget(self.message)
        right_layout.addWidget(self.header)
        right_layout.addWidget(charts, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("assetsMainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.watchlist_box)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([250, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.splitter)

        watchlist.changed.connect(self._on_watchlist)
        self._on_watchlist(watchlist.state)

    # -- showing a symbol ---------------------------------------------------------------------
    @Slot(str)
    def show_symbol(self, query: str) -> None:
        """Read and show the asset view of ``query`` (symbol, cashtag or company name)."""
        query = (query or "").strip()
        if not query:
            self.show_message("Type a symbol or company name.", "warning")
            return
        self.search.setText(query)
        self._viewing.track(self._assets.view(query, self._on_view, self._on_view_failed, days=self.days.value()))
        self.show_message(f"Reading {query}…", "info")

    @Slot()
    def refresh(self) -> None:
        if self.view is not None:
            self.show_symbol(self.view.symbol)

    def _on_view(self, view: AssetView) -> None:
        self.view = view
        self.hide_message()
        self.header.setText(self._header_html(view))
        levels = ()
        if view.open_idea is not None:
            levels = idea_levels(view.open_idea, idea_tick(view.open_idea.snapshot))
        self.chart.show_data(view.bars, markers_of(view.news), view.sentiment, levels)
        self.news_model.set_news(view.news)
        self.watch_button.setEnabled(not view.watched)
        self.watch_button.setText("Watched" if view.watched else "Watch")
        self.watchlist_box.select(view.symbol)
        self.statusMessage.emit(f"{view.symbol}: {len(view.news)} headlines, {len(view.bars)} bars")

    def _on_view_failed(self, error: str) -> None:
        self.show_message(error, "error")

    @staticmethod
    def _header_html(view: AssetView) -> str:
        e = html.escape
        name = f" · {e(view.name)}" if view.name and view.name != view.symbol else ""
        watched = " · <span style='color:#166534'>★ watched</span>" if view.watched else ""
        parts = [f"<b style='font-size:large'>{e(view.symbol)}</b>{name}{watched}"]
        if view.regime:
            reasons = "; ".join(view.regime_reasons[:2])
            parts.append(f"Regime <b>{e(humanise(view.regime))}</b> ({e(reasons)})")
        else:
            parts.append(f"No regime: {e(view.regime_reasons[0] if view.regime_reasons else 'no prices')}")
        current = view.sentiment[-1][1] if view.sentiment else 0.0
        counts = {label: sum(1 for m in view.news if m.label == label) for label in ("bullish", "bearish", "neutral")}
        parts.append(f"Sentiment now {current:+.2f} · {len(view.news)} headlines "
                     f"({counts['bullish']} bullish, {counts['bearish']} bearish, {counts['neutral']} neutral)")
        idea = view.open_idea
        if idea is None:
            parts.append("No open idea")
        else:
            tick = idea_tick(idea.snapshot)
            stale = " · <b>STALE PRICES</b>" if idea.stale else ""
            parts.append(f"Open idea: <b>{e(idea.title)} {e(idea.direction)}</b> ({e(idea.state)}) · entry "
                         f"{price(idea.entry, tick)}, stop {price(idea.stop_loss, tick)}, target "
                         f"{price(idea.take_profit, tick)} · size {idea.size:.2%}{stale}")
        return "<br>".join(parts)

    # -- signals ------------------------------------------------------------------------------
    @Slot(int)
    def open_signal(self, signal_id: int) -> None:
        self._assets.signal(signal_id, self._on_signal_opened, lambda error: self.show_message(error, "error"))

    def _on_signal_opened(self, opened: SignalOpened) -> None:
        self.signal_dialog.show_opened(opened)

    def _on_news_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.open_signal(self.news_model.marker_at(index.row()).signal_id)

    # -- watchlist ----------------------------------------------------------------------------
    @Slot()
    def watch_shown(self) -> None:
        if self.view is None:
            self.show_message("Show a symbol first, then watch it.", "warning")
            return
        self.watchlist_box.add(self.view.symbol)

    @Slot(object)
    def _on_watchlist(self, state: WatchlistState) -> None:
        self._completions.setStringList([e.symbol for e in state.entries] + [e.name for e in state.entries])
        if self.view is not None and (self.view.symbol in state.symbols) != self.view.watched:
            self.refresh()  # the header's "watched" and the Watch button follow the list

    # -- message ------------------------------------------------------------------------------
    def show_message(self, text: str, kind: str = "info") -> None:
        show_message_in(self.message, text, kind)

    def hide_message(self) -> None:
        self.message.hide()
