"""How SignalDesk's record tables look and behave, in one place (News, Live, Ideas, Models)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView


def setup_record_table(view: QTableView, *, single_selection: bool = False,
                       per_pixel_scroll: bool = False) -> QHeaderView:
    """Read-only rows selected whole, one text line each; returns the horizontal header.

    The row header is hidden and rows have a fixed height, which keeps scrolling cheap at any
    row count; the last column takes the remaining width and columns are resized by hand.
    """
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    if single_selection:
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setWordWrap(False)
    view.setTextElideMode(Qt.TextElideMode.ElideRight)
    if per_pixel_scroll:
        view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vheader = view.verticalHeader()
    vheader.hide()
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setHighlightSections(False)
    header.setStretchLastSection(True)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return header


def fit_columns(view: QTableView, samples: dict[int, str], pad: int) -> None:
    """Each listed column wide enough for its sample text plus ``pad`` pixels (margins, sort arrow)."""
    fm = view.fontMetrics()
    for col, sample in samples.items():
        view.setColumnWidth(col, fm.horizontalAdvance(sample) + pad)
