"""The Live tab's filter row: asset, label, event class, minimum confidence, a headline search and
"watchlist only" (the rows naming any watched symbol; the watchlist is handed in by the panel).

Changes settle for ``FILTER_DEBOUNCE_MS`` before ``changed`` fires, so typing re-queries once the
user pauses. The values are kept in QSettings (``live/...``) by ``restore`` and ``save``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from engine.news.config import CATEGORIES
from engine.news.query import NewsFilter

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

log = logging.getLogger(__name__)

FILTER_DEBOUNCE_MS = 250
# QSettings keys (prefix "live/"); minConfidence is in percent.
KEY_ASSET, KEY_LABEL, KEY_EVENT = "live/asset", "live/label", "live/event"
KEY_MIN_CONFIDENCE, KEY_SEARCH = "live/minConfidence", "live/search"
KEY_WATCHLIST_ONLY = "live/watchlistOnly"


class LiveFilterBar(QWidget):
    changed = Signal()  # debounced

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.watchlist_only = QCheckBox("Watchlist only")
        self.watchlist_only.setObjectName("watchlistOnly")
        self.watchlist_only.setToolTip("Only news naming a symbol on your watchlist (Assets tab)")
        self._watched: tuple[str, ...] = ()

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DEBOUNCE_MS)
        self._timer.timeout.connect(self.changed)
        for edit in (self.asset_filter, self.search):
            edit.textChanged.connect(self._timer_start)
        for combo in (self.label_filter, self.event_filter):
            combo.currentIndexChanged.connect(self._timer_start)
        self.confidence_filter.valueChanged.connect(self._timer_start)
        self.watchlist_only.toggled.connect(self._timer_start)

        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel("Filter:"))
        for w in (self.asset_filter, self.label_filter, self.event_filter, self.confidence_filter):
            row.addWidget(w)
        row.addWidget(self.search, 1)
        row.addWidget(self.watchlist_only)

    def _timer_start(self, *_args) -> None:
        self._timer.start()

    def discard_pending_change(self) -> None:
        """The filter is being applied now: the debounced ``changed`` would only repeat it."""
        self._timer.stop()

    def _chosen(self) -> dict:
        return {"asset": self.asset_filter.text().strip(), "label": self.label_filter.currentData() or "",
                "category": self.event_filter.currentData() or "", "search": self.search.text().strip()}

    def set_watched(self, symbols: tuple[str, ...]) -> bool:
        """The watchlist's symbols; True when the shown filter changed (watchlist only is on)."""
        changed = tuple(symbols) != self._watched
        self._watched = tuple(symbols)
        return changed and self.watchlist_only.isChecked()

    def news_filter(self, sort: str, descending: bool, limit: int) -> NewsFilter:
        """The filter as chosen, in the table's sort order and page size."""
        # An empty watchlist with the box ticked matches nothing (("",)), as NewsFilter documents.
        assets = (self._watched or ("",)) if self.watchlist_only.isChecked() else ()
        return NewsFilter(**self._chosen(), assets=assets, min_confidence=self.confidence_filter.value() / 100.0,
                          sort=sort, descending=descending, limit=limit)

    def restore(self, settings: QSettings) -> None:
        """Show the saved values without firing ``changed``; a value that no longer fits (a label or
        event class that is gone, a bad number) falls back to its default."""
        widgets = (self.asset_filter, self.label_filter, self.event_filter, self.confidence_filter, self.search,
                   self.watchlist_only)
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
            self.watchlist_only.setChecked(str(settings.value(KEY_WATCHLIST_ONLY, "false")).lower() in ("true", "1"))
        finally:
            for w in widgets:
                w.blockSignals(False)

    def save(self, settings: QSettings) -> None:
        chosen = self._chosen()
        for key, value in ((KEY_ASSET, chosen["asset"]), (KEY_LABEL, chosen["label"]), (KEY_EVENT, chosen["category"]),
                           (KEY_MIN_CONFIDENCE, self.confidence_filter.value()), (KEY_SEARCH, chosen["search"])):
            settings.setValue(key, value)
        settings.setValue(KEY_WATCHLIST_ONLY, self.watchlist_only.isChecked())
