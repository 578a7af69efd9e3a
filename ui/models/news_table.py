"""Table model for the live news stream: a window of stored rows, newest first.

All rows live in SQLite; this model holds only what the view has paged in (plus rows that
streamed in since). New rows are inserted at the top in one ``beginInsertRows`` per drain;
scrolling to the bottom asks for the next older page through ``canFetchMore``/``fetchMore``.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, Callable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from engine.news.query import NewsFilter, NewsRow
from ui.models.base import RowTableModel
from ui.theme import is_dark, label_colors

COLUMNS = ("Time", "Source", "Tickers", "Event", "Label", "Confidence", "Text")
COL_TIME, COL_SOURCE, COL_TICKERS, COL_EVENT, COL_LABEL, COL_CONFIDENCE, COL_TEXT = range(len(COLUMNS))

ROW_ROLE = Qt.ItemDataRole.UserRole  # the NewsRow itself

# Rows kept in memory; beyond this the oldest are let go (they stay in SQLite and page back in).
MAX_ROWS = 20_000

_Index = QModelIndex | QPersistentModelIndex


def matches(row: NewsRow, f: NewsFilter) -> bool:
    """The paged query's filter, applied to a streamed row so live rows obey the same filter."""
    if f.asset and f.asset.strip().lstrip("$").upper() not in row.tickers:
        return False
    if f.label and row.label != f.label:
        return False
    if f.category and row.category != f.category:
        return False
    if f.min_confidence > 0 and row.confidence < f.min_confidence:
        return False
    search = f.search.strip().lower()
    return not search or search in row.text.lower()


class NewsTableModel(RowTableModel):
    columns = COLUMNS

    def __init__(self, fetch_page: Callable[[NewsFilter], None] | None = None, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[NewsRow] = []
        self._ids: set[int] = set()
        self._filter = NewsFilter()
        self._fetch_page = fetch_page  # asks the engine for an older page; the answer comes to add_page
        self._exhausted = True  # no older page to ask for (until the first page says otherwise)
        self._fetching = False

    # -- state --------------------------------------------------------------------------------
    @property
    def news_filter(self) -> NewsFilter:
        return self._filter

    def row_at(self, row: int) -> NewsRow:
        return self._rows[row]

    def reset(self, news_filter: NewsFilter) -> None:
        """Empty the model for a new filter; the caller then asks for the first page."""
        self.beginResetModel()
        self._rows, self._ids = [], set()
        self._filter = news_filter
        self._exhausted, self._fetching = False, True
        self.endResetModel()

    def set_first_page(self, rows: Sequence[NewsRow]) -> None:
        """Replace the contents with the newest page (after a reset or an overflow)."""
        self.beginResetModel()
        self._rows = list(rows)
        self._ids = {r.signal_id for r in rows}
        self._exhausted = len(rows) < self._filter.limit
        self._fetching = False
        self.endResetModel()

    def add_page(self, rows: Sequence[NewsRow]) -> None:
        """An older page, appended at the bottom."""
        self._fetching = False
        fresh = [r for r in rows if r.signal_id not in self._ids]
        self._exhausted = len(rows) < self._filter.limit
        if not fresh:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
        self._rows.extend(fresh)
        self._ids.update(r.signal_id for r in fresh)
        self.endInsertRows()

    def prepend(self, rows: Sequence[NewsRow]) -> int:
        """Streamed rows (oldest first) at the top, newest first; returns how many matched."""
        fresh = [r for r in reversed(rows) if r.signal_id not in self._ids and matches(r, self._filter)]
        if not fresh:
            return 0
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows[:0] = fresh
        self._ids.update(r.signal_id for r in fresh)
        self.endInsertRows()
        extra = len(self._rows) - MAX_ROWS
        if extra > 0:
            self.beginRemoveRows(QModelIndex(), MAX_ROWS, len(self._rows) - 1)
            for r in self._rows[MAX_ROWS:]:
                self._ids.discard(r.signal_id)
            del self._rows[MAX_ROWS:]
            self.endRemoveRows()
            self._exhausted = False  # what was let go can be paged back in
        return len(fresh)

    # -- paging -------------------------------------------------------------------------------
    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:
        return not parent.isValid() and not self._exhausted and not self._fetching and bool(self._rows)

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:
        if self._fetch_page is None or not self.canFetchMore(parent):
            return
        self._fetching = True
        self._fetch_page(replace(self._filter, before_id=self._rows[-1].signal_id))

    # -- Qt model API -------------------------------------------------------------------------
    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == COL_TIME:
                return time.strftime("%H:%M:%S", time.localtime(r.received_at))
            if col == COL_SOURCE:
                return r.source
            if col == COL_TICKERS:
                return ", ".join(r.tickers)
            if col == COL_EVENT:
                return f"{r.category}/{r.subcategory}" if r.category else "—"
            if col == COL_LABEL:
                return r.label
            if col == COL_CONFIDENCE:
                return f"{r.confidence:.0%}"
            if col == COL_TEXT:
                return r.text
        elif role == ROW_ROLE:
            return r
        elif role == Qt.ItemDataRole.ToolTipRole and col in (COL_TEXT, COL_EVENT):
            return (f"{r.text}\n\n{r.label} {r.confidence:.0%} (compound {r.compound:+.2f}) · {r.model_id}\n"
                    f"event {r.category or 'unclassified'}/{r.subcategory or '-'}, urgency {r.urgency or '-'}, "
                    f"impact {r.impact or '-'} · {r.source_kind} via {r.source}")
        elif role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole) and col == COL_LABEL:
            colors = label_colors(r.label, is_dark())
            if colors:
                return colors[0] if role == Qt.ItemDataRole.ForegroundRole else colors[1]
        elif role == Qt.ItemDataRole.TextAlignmentRole and col == COL_CONFIDENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
