"""Every panel at the two screen sizes analysts use (issue 20 item 10): 1366x768 (a laptop) and
1920x1080, one screenshot per tab under tests/artifacts/screens_<size>_<tab>.png, looked at by a
person. The window must fit the smaller screen and keep the size it was given."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel

from tests.ui.conftest import analyze_in_news, save_screenshot
from ui.models.news_table import COL_TEXT as LIVE_COL_TEXT
from ui.models.signal_table import COL_TEXT

SIZES = ((1366, 768), (1920, 1080))
HEADLINES = ["$TSLA jumps after record deliveries beat estimates",
             "Federal Reserve holds rates steady and signals patience on cuts",
             "$AAPL falls as regulators open an antitrust probe into the App Store"]


def test_every_panel_at_laptop_and_desktop_size(window, qtbot):
    analyze_in_news(qtbot, window, HEADLINES)
    news = window.news
    news.table.selectionModel().select(news.proxy.index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                       | QItemSelectionModel.SelectionFlag.Rows)
    news.table.setCurrentIndex(news.proxy.index(0, 0))
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 700, hint  # fits well inside a 1366x768 screen
    for width, height in SIZES:
        window.resize(width, height)
        qtbot.waitUntil(lambda w=width, h=height: (window.width(), window.height()) == (w, h), timeout=5000)
        for index in range(window.tabs.count()):
            window.tabs.setCurrentIndex(index)
            name = window.tabs.tabText(index).lower()
            qtbot.wait(150)  # layouts and charts settle
            assert (window.width(), window.height()) == (width, height)  # no panel grows the window
            save_screenshot(window, f"screens_{width}x{height}_{name}")
            if index == 0:
                # The headline is the point of every row: it has the widest column, even on a laptop.
                widths = {c: news.table.columnWidth(c) for c in range(news.proxy.columnCount())
                          if not news.table.isColumnHidden(c)}
                assert max(widths, key=widths.get) == COL_TEXT, widths
                assert widths[COL_TEXT] >= 0.3 * news.table.viewport().width(), widths
                news.views.setCurrentWidget(news.live)
                qtbot.wait(150)
                live = news.live.table
                live_widths = {c: live.columnWidth(c) for c in range(live.model().columnCount())
                               if not live.isColumnHidden(c)}
                assert max(live_widths, key=live_widths.get) == LIVE_COL_TEXT, live_widths
                save_screenshot(window, f"screens_{width}x{height}_news_live")
                news.views.setCurrentWidget(news.splitter)
