"""Shared widgets and the signal table model, with real engine records and a real log bridge."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from app.log_bridge import LogBridge
from engine.config import Config
from engine.engine import Engine
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot
from ui.models.signal_table import COL_CONFIDENCE, COL_LABEL, COL_TIME, SORT_ROLE, SignalTableModel
from ui.theme import is_dark
from ui.widgets.log_view import LogView

HEADLINES = [
    "$AAPL surges after record earnings beat, raises guidance",
    "$TSLA plunges as regulators open probe into brake recall",
    "Federal Reserve holds interest rates steady, as expected",
]


@pytest.fixture(scope="module")
def scored():
    engine = Engine(Config(), None)  # no store: records only
    try:
        return engine.analyze_batch(HEADLINES, "paste", persist=False)
    finally:
        engine.close()


def test_model_appends_in_one_insert_and_keeps_arrival_order(qtbot, scored):
    model = SignalTableModel()
    inserts = []
    model.rowsInserted.connect(lambda parent, first, last: inserts.append((first, last)))
    model.append(scored)
    model.append([])
    assert inserts == [(0, 2)]
    assert model.rowCount() == 3 and model.columnCount() == 8  # + Verdict
    assert model.rowCount(model.index(0, 0)) == 0  # a table, not a tree
    assert model.index(2, COL_TIME).data(SORT_ROLE) == 2


def test_history_merge_keeps_rows_added_meanwhile(qtbot, scored):
    model = SignalTableModel()
    model.append(scored[2:])  # arrived before the history did (id None: not persisted)
    model.set_signals(scored[:2])
    assert [model.signal_at(r).text for r in range(3)] == [HEADLINES[0], HEADLINES[1], HEADLINES[2]]


def test_proxy_sorts_confidence_numerically(qtbot, scored):
    model = SignalTableModel()
    model.append(scored)
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    proxy.sort(COL_CONFIDENCE, Qt.SortOrder.AscendingOrder)
    values = [proxy.index(r, COL_CONFIDENCE).data(SORT_ROLE) for r in range(3)]
    assert values == sorted(values)


def test_label_colours_follow_light_and_dark_palettes(qtbot, scored):
    model = SignalTableModel()
    model.append(scored)
    app = QApplication.instance()
    original = app.palette()
    try:
        light = {}
        for row in range(3):
            index = model.index(row, COL_LABEL)
            light[index.data()] = (index.data(Qt.ItemDataRole.ForegroundRole),
                                   index.data(Qt.ItemDataRole.BackgroundRole))
        app.setPalette(_dark_palette())
        assert is_dark()
        for row in range(3):
            index = model.index(row, COL_LABEL)
            fg = index.data(Qt.ItemDataRole.ForegroundRole)
            bg = index.data(Qt.ItemDataRole.BackgroundRole)
            assert (fg, bg) != light[index.data()]
            assert fg.lightness() > bg.lightness()  # light text on a dark cell
        for fg, bg in light.values():
            assert fg.lightness() < bg.lightness()  # dark text on a light cell
    finally:
        app.setPalette(original)
    assert model.data(QModelIndex()) is None


def test_news_table_readable_on_dark_palette(window, qtbot):
    app = QApplication.instance()
    original = app.palette()
    news = window.news
    news.paste_box.setPlainText("\n".join(HEADLINES))
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 3, timeout=ENGINE_TIMEOUT_MS)
    try:
        app.setPalette(_dark_palette())
        # Palette changes reach widgets through posted events; let them land before grabbing.
        qtbot.waitUntil(lambda: is_dark(news.table.palette()), timeout=ENGINE_TIMEOUT_MS)
        qtbot.wait(50)
        save_screenshot(window, "news_dark_palette")
        window.tabs.setCurrentWidget(window.monitor_panel)
        qtbot.waitUntil(lambda: len(window.monitor_panel.samples) >= 3, timeout=ENGINE_TIMEOUT_MS)
        assert window.monitor_panel.charts.rss_plot.backgroundBrush().color().lightness() < 128
        save_screenshot(window, "monitor_dark_palette")
    finally:
        app.setPalette(original)


def test_log_view_fills_from_recent_caps_blocks_and_colours(qtbot):
    bridge = LogBridge()  # not installed: the test feeds it directly
    bridge.recent.append(("early record", logging.INFO))
    view = LogView(bridge, max_blocks=50)
    qtbot.addWidget(view)
    assert view.toPlainText() == "early record"
    for i in range(200):
        bridge.line.emit(f"line {i}", logging.WARNING if i % 2 else logging.INFO)
    text = view.toPlainText()
    assert text.count("\n") + 1 == 50 and text.endswith("line 199")
    assert view.text.document().blockCount() == 50
    block = view.text.document().lastBlock()
    colour = block.begin().fragment().charFormat().foreground().color()
    assert colour != view.palette().color(QPalette.ColorRole.Text)  # the warning stands out
    view.set_min_level(logging.WARNING)
    assert "line 198" not in view.toPlainText() and "line 199" in view.toPlainText()
    view.show()
    save_screenshot(view, "log_view")


def _dark_palette() -> QPalette:
    pal = QPalette()
    colours = {
        QPalette.ColorRole.Window: "#202124", QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#17181a", QPalette.ColorRole.AlternateBase: "#232427",
        QPalette.ColorRole.Text: "#e8eaed", QPalette.ColorRole.Button: "#2d2e31",
        QPalette.ColorRole.ButtonText: "#e8eaed", QPalette.ColorRole.Highlight: "#3b82f6",
        QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#2d2e31",
        QPalette.ColorRole.ToolTipText: "#e8eaed", QPalette.ColorRole.PlaceholderText: "#9aa0a6",
    }
    for role, hex_colour in colours.items():
        pal.setColor(role, QColor(hex_colour))
    return pal
