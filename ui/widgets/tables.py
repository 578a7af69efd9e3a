"""How SignalDesk's record tables look and behave, in one place (News, Live, Ideas, Models)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QPoint, QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QAbstractItemView, QHeaderView, QMenu, QProxyStyle, QStyle, QStyleOption,
                               QStyleOptionHeader, QTableView)


class _SortArrowStyle(QProxyStyle):
    """Sort arrows that point the way the values run: ▼ for newest (largest) first, ▲ for oldest first.

    QHeaderView follows the Windows convention and draws the opposite (▲ on a descending sort),
    which read as "oldest first" on a table that shows the newest news at the top.
    """

    _FLIP = {QStyleOptionHeader.SortIndicator.SortUp: QStyleOptionHeader.SortIndicator.SortDown,
             QStyleOptionHeader.SortIndicator.SortDown: QStyleOptionHeader.SortIndicator.SortUp}

    def drawPrimitive(self, element, option: QStyleOption, painter, widget=None) -> None:
        if element == QStyle.PrimitiveElement.PE_IndicatorHeaderArrow and isinstance(option, QStyleOptionHeader):
            flipped = QStyleOptionHeader(option)
            flipped.sortIndicator = self._FLIP.get(option.sortIndicator, option.sortIndicator)
            super().drawPrimitive(element, flipped, painter, widget)
            return
        super().drawPrimitive(element, option, painter, widget)


_ARROWS: _SortArrowStyle | None = None  # one for every header; Qt does not own a style set on a widget


def _sort_arrow_style() -> _SortArrowStyle:
    global _ARROWS
    if _ARROWS is None:
        _ARROWS = _SortArrowStyle()
    return _ARROWS


def setup_record_table(view: QTableView, *, single_selection: bool = False, per_pixel_scroll: bool = False,
                       text_column: int | None = None) -> QHeaderView:
    """Read-only rows selected whole, one text line each; returns the horizontal header.

    The row header is hidden and rows have a fixed height, which keeps scrolling cheap at any
    row count. ``text_column`` (the headline) comes second and takes all the width the other
    columns leave; without one, the last column does. Columns can be moved, and hidden or shown
    from the header's context menu (``remember_columns`` keeps the choice).
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
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vheader = view.verticalHeader()
    vheader.hide()
    vheader.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vheader.setDefaultSectionSize(view.fontMetrics().height() + 8)
    header = view.horizontalHeader()
    header.setStyle(_sort_arrow_style())
    header.setHighlightSections(False)
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setSectionsMovable(True)
    if text_column is None:
        header.setStretchLastSection(True)
    else:
        header.setStretchLastSection(False)
        header.setSectionResizeMode(text_column, QHeaderView.ResizeMode.Stretch)
        header.moveSection(header.visualIndex(text_column), 1)
    header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    header.customContextMenuRequested.connect(lambda pos: _column_menu(view, pos))
    return header


def _column_menu(view: QTableView, pos: QPoint) -> None:
    """Show or hide columns (the last one shown cannot be hidden)."""
    header = view.horizontalHeader()
    model = view.model()
    menu = QMenu(view)
    menu.setObjectName("columnMenu")
    shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
    for visual in range(header.count()):
        col = header.logicalIndex(visual)
        title = str(model.headerData(col, Qt.Orientation.Horizontal) or f"Column {col + 1}")
        action = QAction(title, menu)
        action.setCheckable(True)
        action.setChecked(not header.isSectionHidden(col))
        action.setEnabled(header.isSectionHidden(col) or len(shown) > 1)
        action.toggled.connect(lambda on, c=col: header.setSectionHidden(c, not on))
        menu.addAction(action)
    menu.popup(header.mapToGlobal(pos))
    view.column_menu = menu  # for tests: the menu on show


def remember_columns(view: QTableView, settings: QSettings, key: str) -> None:
    """Restore the columns' order, widths and hidden ones from ``settings[key]`` and save every change."""
    header = view.horizontalHeader()
    saved = settings.value(key)
    if isinstance(saved, QByteArray) and not saved.isEmpty():
        modes = {c: header.sectionResizeMode(c) for c in range(header.count())}
        indicator = (header.sortIndicatorSection(), header.sortIndicatorOrder())
        header.blockSignals(True)  # the owner applies its saved sort itself
        try:
            header.restoreState(saved)
            header.setSortIndicator(*indicator)
            for col, mode in modes.items():  # restoreState also restores resize modes from an older layout
                header.setSectionResizeMode(col, mode)
        finally:
            header.blockSignals(False)

    def save(*_args) -> None:
        settings.setValue(key, header.saveState())

    header.sectionMoved.connect(save)
    header.sectionResized.connect(save)  # hiding or showing a column resizes it too
    header.sortIndicatorChanged.connect(save)


def fit_columns(view: QTableView, samples: dict[int, str], pad: int) -> None:
    """Each listed column wide enough for its sample text plus ``pad`` pixels (margins, sort arrow)."""
    fm = view.fontMetrics()
    for col, sample in samples.items():
        view.setColumnWidth(col, fm.horizontalAdvance(sample) + pad)
