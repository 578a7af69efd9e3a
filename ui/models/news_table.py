"""Table model for the live news stream: a window of stored rows in the query's sort order.

All rows live in SQLite; this model holds only what the view has paged in (plus rows that
streamed in since). Sorting is the query's (server-side, keyset paged): a streamed row goes
where the next query would put it, if that is inside the window held here; one that sorts
past the last row held is left for paging. Scrolling to the bottom asks for the next page
through ``canFetchMore``/``fetchMore``.

Why a QStandardItemModel and not a Python ``data()`` like the other tables: while news streams
at hundreds of rows a second, every update repaints the whole viewport, and a Python model
answers ~7 roles for each of ~200 visible cells, each call taking the GIL from the pipeline's
threads (waiting up to the interpreter's switch interval for it). Measured with
bench/bench_live_ui.py, that hand-over turned 5-10 ms paints into 100+ ms stalls. Here the cells
are made once, when rows arrive (one GIL hold per batch), and painting stays in C++.
"""

from __future__ import annotations

import bisect
import time
from typing import Callable, Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QStandardItemModel

from engine.news.query import NewsFilter, NewsRow, next_page, order_key
from engine.textsearch import matches as search_matches
from ui.theme import is_dark, label_colors

COLUMNS = ("Time", "Source", "Tickers", "Event", "Label", "Confidence", "Text")
COL_TIME, COL_SOURCE, COL_TICKERS, COL_EVENT, COL_LABEL, COL_CONFIDENCE, COL_TEXT = range(len(COLUMNS))
# The query's sort key behind each column (engine/news/query.py SORT_KEYS).
SORT_BY_COLUMN = ("time", "source", "tickers", "event", "label", "confidence", "text")

ROW_ROLE = Qt.ItemDataRole.UserRole  # the NewsRow itself (on the row's first cell)

# Rows kept in memory while news streams in; beyond this the last ones are let go (they stay in
# SQLite and page back in). Bounded so that memory and the cost of each insert stay flat however
# long the stream runs; a reader scrolled further down keeps what is on screen (see ``trim``).
MAX_ROWS = 1_000

_Index = QModelIndex | QPersistentModelIndex
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


def matches(row: NewsRow, f: NewsFilter) -> bool:
    """The paged query's filter, applied to a streamed row so live rows obey the same filter."""
    if f.asset and f.asset.strip().lstrip("$").upper() not in row.tickers:
        return False
    if f.assets and not set(f.assets) & set(row.tickers):
        return False
    if f.label and row.label != f.label:
        return False
    if f.category and row.category != f.category:
        return False
    if f.min_confidence > 0 and row.confidence < f.min_confidence:
        return False
    return search_matches(row.text, f.search)  # the query's own folding, not str.lower


class _Descending:
    """Wraps a key so that ``bisect`` on a descending list works: compares the other way round."""

    __slots__ = ("key",)

    def __init__(self, key: tuple) -> None:
        self.key = key

    def __lt__(self, other: "_Descending") -> bool:
        return other.key < self.key


class NewsTableModel(QStandardItemModel):
    columns = COLUMNS

    def __init__(self, fetch_page: Callable[[NewsFilter], None] | None = None, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        for col in range(len(COLUMNS)):
            # A first header click on Time or Confidence shows newest / most confident first; text A to Z.
            first = Qt.SortOrder.DescendingOrder if col in (COL_TIME, COL_CONFIDENCE) else Qt.SortOrder.AscendingOrder
            self.setHeaderData(col, Qt.Orientation.Horizontal, first.value, Qt.ItemDataRole.InitialSortOrderRole)
        self._rows: list[NewsRow] = []
        self._keys: list = []  # each row's order key as the view orders it (ascending), for bisect
        self._ids: set[int] = set()
        self._filter = NewsFilter()
        self._fetch_page = fetch_page  # asks the engine for the next page; the answer comes to add_page
        self._exhausted = True  # no further page to ask for (until the first page says otherwise)
        self._fetching = False
        self._dark = is_dark()

    # -- state --------------------------------------------------------------------------------
    @property
    def news_filter(self) -> NewsFilter:
        return self._filter

    def row_at(self, row: int) -> NewsRow:
        return self._rows[row]

    def _key(self, row: NewsRow):
        if self._filter.sort == "time":  # the common case, kept cheap: plain ints compare in C
            return -row.signal_id if self._filter.descending else row.signal_id
        key = order_key(row, self._filter.sort)
        return _Descending(key) if self._filter.descending else key

    def _fill(self, row: int, r: NewsRow) -> None:
        """One row's cells. Set through the model (no QStandardItem made in Python): items with no
        Python wrapper are cheaper to make and to delete when the window is trimmed."""
        event = f"{r.category}/{r.subcategory}" if r.category else "—"
        index, set_data = self.index, self.setData
        for col, text in enumerate((time.strftime("%H:%M:%S", time.localtime(r.received_at)), r.source,
                                    ", ".join(r.tickers), event, r.label, f"{r.confidence:.0%}", r.text)):
            set_data(index(row, col), text)
        set_data(index(row, 0), r, ROW_ROLE)
        set_data(index(row, COL_CONFIDENCE), _RIGHT, Qt.ItemDataRole.TextAlignmentRole)
        tip = (f"{r.text}\n\n{r.label} {r.confidence:.0%} (compound {r.compound:+.2f}) · {r.model_id}\n"
               f"event {r.category or 'unclassified'}/{r.subcategory or '-'}, urgency {r.urgency or '-'}, "
               f"impact {r.impact or '-'} · {r.source_kind} via {r.source}")
        set_data(index(row, COL_TEXT), tip, Qt.ItemDataRole.ToolTipRole)
        set_data(index(row, COL_EVENT), tip, Qt.ItemDataRole.ToolTipRole)
        self._colour(row, r.label)

    def _colour(self, row: int, label: str) -> None:
        colors = label_colors(label, self._dark)
        if colors:
            cell = self.index(row, COL_LABEL)
            self.setData(cell, QBrush(colors[0]), Qt.ItemDataRole.ForegroundRole)
            self.setData(cell, QBrush(colors[1]), Qt.ItemDataRole.BackgroundRole)

    def _insert(self, at: int, rows: Sequence[NewsRow]) -> None:
        """Rows in at ``at``: one insert signal for the run, the cells filled without a signal each."""
        if not rows:
            return
        self.insertRows(at, len(rows))
        blocked = self.blockSignals(True)  # the view hears about the whole block once, below
        try:
            for i, r in enumerate(rows):
                self._fill(at + i, r)
        finally:
            self.blockSignals(blocked)
        self.dataChanged.emit(self.index(at, 0), self.index(at + len(rows) - 1, len(COLUMNS) - 1))

    def _clear(self) -> None:
        if self.rowCount():
            self.removeRows(0, self.rowCount())

    def reset(self, news_filter: NewsFilter) -> None:
        """Empty the model for a new filter or sort; the caller then asks for the first page."""
        self._clear()
        self._rows, self._keys, self._ids = [], [], set()
        self._filter = news_filter
        self._exhausted, self._fetching = False, True

    def set_first_page(self, rows: Sequence[NewsRow]) -> None:
        """Replace the contents with the first page (after a reset, an overflow or a resume)."""
        self._clear()
        self._rows = list(rows)
        self._keys = [self._key(r) for r in self._rows]
        self._ids = {r.signal_id for r in rows}
        self._exhausted = len(rows) < self._filter.limit
        self._fetching = False
        self._insert(0, self._rows)

    def add_page(self, rows: Sequence[NewsRow]) -> None:
        """The next page, appended at the bottom."""
        self._fetching = False
        fresh = [r for r in rows if r.signal_id not in self._ids]
        self._exhausted = len(rows) < self._filter.limit
        if not fresh:
            return
        first = len(self._rows)
        self._rows.extend(fresh)
        self._keys.extend(self._key(r) for r in fresh)
        self._ids.update(r.signal_id for r in fresh)
        self._insert(first, fresh)

    def add_streamed(self, rows: Sequence[NewsRow], anchor: int = 0) -> int:
        """Rows that streamed in (oldest first), each where the query would put it.

        Returns how many went in above the row that was at index ``anchor`` (the top row on
        screen), so that the view can keep a reader who scrolled down looking at the same rows.
        """
        fresh = [r for r in rows if r.signal_id not in self._ids and matches(r, self._filter)]
        if not fresh:
            return 0
        keyed = sorted(((self._key(r), r) for r in fresh), key=lambda kr: kr[0])
        if not self._exhausted and self._keys:
            # Past the last row held, a row belongs to a page not loaded yet: paging will bring it.
            last = self._keys[-1]
            keyed = [kr for kr in keyed if kr[0] < last]
        if not keyed:
            return 0
        # Runs of rows that land between the same two held rows go in with one insert each
        # (newest first: the whole batch is one run at the top).
        runs: list[tuple[int, list]] = []
        for key, row in keyed:
            pos = bisect.bisect_left(self._keys, key)
            if runs and runs[-1][0] == pos:
                runs[-1][1].append((key, row))
            else:
                runs.append((pos, [(key, row)]))
        shift = 0
        for pos, run in runs:
            at = pos + shift
            self._rows[at:at] = [r for _k, r in run]
            self._keys[at:at] = [k for k, _r in run]
            self._ids.update(r.signal_id for _k, r in run)
            self._insert(at, [r for _k, r in run])
            shift += len(run)
        return sum(len(run) for pos, run in runs if pos <= anchor)

    def trim(self, keep: int = MAX_ROWS) -> int:
        """Let go of rows past ``keep`` (they stay in SQLite and page back in); returns how many."""
        keep = max(keep, self._filter.limit)
        extra = len(self._rows) - keep
        if extra <= 0:
            return 0
        for r in self._rows[keep:]:
            self._ids.discard(r.signal_id)
        del self._rows[keep:]
        del self._keys[keep:]
        self._exhausted = False  # what was let go can be paged back in
        self.removeRows(keep, extra)
        return extra

    def restyle(self) -> None:
        """Label colours for the palette now in use (after a switch between light and dark)."""
        dark = is_dark()
        if dark == self._dark:
            return
        self._dark = dark
        for row, r in enumerate(self._rows):
            self._colour(row, r.label)

    # -- paging -------------------------------------------------------------------------------
    def canFetchMore(self, parent: _Index = QModelIndex()) -> bool:
        return not parent.isValid() and not self._exhausted and not self._fetching and bool(self._rows)

    def fetchMore(self, parent: _Index = QModelIndex()) -> None:
        if self._fetch_page is None or not self.canFetchMore(parent):
            return
        self._fetching = True
        self._fetch_page(next_page(self._filter, self._rows[-1]))
