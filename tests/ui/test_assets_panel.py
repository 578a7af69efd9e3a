"""The watchlist and the asset view (#17 items 4, 6 and 8) in the real window on a real engine.

Prices go in through the real importer: a synthetic daily series for ACME (the demo feed's invented
company) ending today, so the news scored now falls on the candles; a second test uses the shipped
demo prices, which end in 2024. Headlines go in through the News panel; the symbol is picked from
a Live row's context menu, the watchlist and the search box.
"""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from app.bridge.desk import Desk
from engine.config import Config
from tests.conftest import db_with_demo_prices
from tests.ui.conftest import ENGINE_TIMEOUT_MS, analyze_in_news, save_screenshot, start_window

REPO = Path(__file__).resolve().parents[2]
HEADLINES = [
    "Acme Corp beats estimates and raises guidance, shares surge",
    "$ACME wins record order from the army, profit jumps",
    "Acme Corp recalls 2 million robots over a safety flaw",
    "Roadrunner Works signs a long supply deal, sales soar",  # only the watchlist alias names ACME
    "Stocks drift as traders wait for the Fed",  # no company: never on the chart
]


def write_rising_prices(path: Path, days: int = 120) -> Path:
    """A steady daily uptrend with a wobble, ending today (UTC): what a desk importing daily sees."""
    today = time.gmtime()
    end = time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 0, 0, 0, 0, 0, -1))
    lines = ["Date,Open,High,Low,Close,Volume"]
    for i in range(days):
        day = time.strftime("%Y-%m-%d", time.localtime(end - (days - 1 - i) * 86400))
        close = 100 * math.exp(0.004 * i) + 2 * math.sin(i / 3)
        open_ = close - 0.8 * math.cos(i / 2)
        lines.append(f"{day},{open_:.2f},{max(open_, close) + 1.1:.2f},{min(open_, close) - 1.2:.2f},{close:.2f},"
                     f"{1_000_000 + 5000 * i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def fresh_prices(ui_data_dir: Path, tmp_path: Path) -> Path:
    from engine.market.prices import MarketData
    from engine.store import DB_FILE_NAME

    market = MarketData(ui_data_dir / DB_FILE_NAME)
    try:
        market.import_csv(write_rising_prices(tmp_path / "acme.csv"), "ACME")
    finally:
        market.close()
    return ui_data_dir


def _add_to_watchlist(qtbot, box, query: str, aliases: str = "") -> None:
    box.symbol_edit.setText(query)
    box.alias_edit.setText(aliases)
    count = box.list.count()
    qtbot.mouseClick(box.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.list.count() == count + 1 or box.message.property("kind") == "error",
                    timeout=ENGINE_TIMEOUT_MS)


def test_asset_view_from_a_live_row_with_candles_markers_sentiment_regime_and_idea(
        qtbot, fresh_prices, desk, monitor, log_bridge, settings):
    window = start_window(qtbot, desk, monitor, log_bridge, settings)
    window.resize(1366, 768)
    panel = window.assets
    box = panel.watchlist_box

    # The watchlist, in the UI: a company by name with an alias of the analyst's own; a bad query is refused.
    window.tabs.setCurrentWidget(panel)
    # Nothing shown yet: a line that says so instead of empty axes.
    assert panel.chart.placeholder.isVisible() and not panel.chart.graphics.isVisible()
    save_screenshot(window, "assets_panel_empty")
    _add_to_watchlist(qtbot, box, "Acme", "Roadrunner Works")
    assert box.symbols() == ["ACME"] and "Roadrunner Works" in box.list.item(0).text()
    _add_to_watchlist(qtbot, box, "no such company at all")
    assert box.message.property("kind") == "error" and "no company or symbol matches" in box.message.text()
    assert box.symbols() == ["ACME"]

    # Headlines through News; the alias takes part in linking (the desk's linker picks the list up).
    qtbot.wait(1100)  # the engine re-reads the watchlist at most once a second
    analyze_in_news(qtbot, window, HEADLINES)
    model = window.news.model
    tickers = {model.signal_at(r).text: model.signal_at(r).entities for r in range(model.rowCount())}
    assert tickers[HEADLINES[3]] == ("ACME",), tickers

    # The engine proposes from stored news after scoring (a background pass): the view shows its idea.
    qtbot.waitUntil(lambda: any(i.symbol == "ACME" for i in window.ideas.model.ideas()), timeout=ENGINE_TIMEOUT_MS)

    # The Live tab, watchlist only: the four ACME rows, not the macro one; its context menu opens the view.
    live = window.news.live
    window.news.views.setCurrentWidget(live)
    live.filters.watchlist_only.setChecked(True)
    live.apply_filter()
    qtbot.waitUntil(lambda: live.model.rowCount() == 4, timeout=ENGINE_TIMEOUT_MS)
    assert all("ACME" in live.model.row_at(r).tickers for r in range(4))
    menu = live.row_menu(0)
    texts = [a.text() for a in menu.actions()]
    assert "Open asset view: ACME" in texts and "Watch ACME" not in texts  # already watched
    menu.actions()[texts.index("Open asset view: ACME")].trigger()
    assert window.tabs.currentWidget() is panel
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.symbol == "ACME", timeout=ENGINE_TIMEOUT_MS)
    view = panel.view

    # What the engine gave is what is drawn: every bar a candle, every headline a marker, on one time axis.
    # The window is the last 30 days: 30 daily bars of the 120 imported (one a day up to today).
    assert 29 <= len(view.bars) <= 31 and all(b.ts >= view.since - 86400 for b in view.bars)
    assert len(view.news) == 4
    assert panel.chart.candles.count == len(view.bars) and panel.chart.candles.boundingRect().width() > 0
    assert panel.chart.linked and not panel.chart.note.isVisible()
    assert panel.chart.graphics.isVisible() and not panel.chart.placeholder.isVisible()
    assert len(panel.chart.price_markers.points()) == 4 == len(panel.chart.sentiment_markers.points())
    colours = {p.data().label: p.brush().color().name() for p in panel.chart.sentiment_markers.points()}
    assert colours == {"bullish": "#16a34a", "bearish": "#dc2626"}
    assert panel.news_model.rowCount() == 4
    line_x, line_y = panel.chart.sentiment_line.getData()
    assert len(line_x) == len(view.sentiment) and max(line_y) > 0  # mostly good news: the line rises
    header = panel.header.text()
    assert "★ watched" in header and f"Regime <b>{view.regime.replace('_', ' ')}</b>" in header
    if view.open_idea is not None:  # the engine's decision; the panel must show it with tick-rounded prices
        assert f"Open idea: <b>{view.open_idea.title} {view.open_idea.direction}" in header
        assert f"entry {view.open_idea.entry:.2f}," in header
        assert panel.chart.level_texts()[0] == f"entry {view.open_idea.entry:.2f}"
    else:
        assert "No open idea" in header
    # Hover text: the headline, its label and calibrated-or-raw confidence.
    tip = panel.chart.sentiment_markers.opts["tip"](x=0, y=0, data=panel.chart.markers[0])
    assert panel.chart.markers[0].headline in tip and f"#{panel.chart.markers[0].signal_id}" in tip

    # A click on a marker opens its signal, the company highlighted where the headline names it.
    alias_marker = next(m for m in panel.chart.markers if m.headline == HEADLINES[3])
    point = next(p for p in panel.chart.sentiment_markers.points() if p.data() is alias_marker)
    panel.chart.sentiment_markers.sigClicked.emit(panel.chart.sentiment_markers, [point], None)
    dialog = panel.signal_dialog
    qtbot.waitUntil(lambda: dialog.isVisible() and f"#{alias_marker.signal_id}" in dialog.windowTitle(),
                    timeout=ENGINE_TIMEOUT_MS)
    assert ">Roadrunner Works</span><sup>ACME</sup>" in dialog.headline.text()
    save_screenshot(dialog, "asset_view_signal_dialog")
    dialog.close()

    QApplication.processEvents()
    save_screenshot(window, "asset_view_acme")

    # The search box takes a company name; a name nothing matches is refused in one line.
    panel.search.setText("Acme Corp")
    panel.search.returnPressed.emit()
    qtbot.waitUntil(lambda: panel.message.isHidden(), timeout=ENGINE_TIMEOUT_MS)
    assert panel.view.symbol == "ACME"
    panel.show_symbol("Nonexistent Widgets Plc")
    qtbot.waitUntil(lambda: panel.message.property("kind") == "error", timeout=ENGINE_TIMEOUT_MS)
    assert "no company or symbol matches" in panel.message.text()


def test_stale_demo_prices_keep_their_own_time_axis_and_the_watchlist_persists(
        qtbot, ui_data_dir, desk, monitor, log_bridge, settings, tmp_path):
    db_with_demo_prices(ui_data_dir)
    window = start_window(qtbot, desk, monitor, log_bridge, settings)
    window.resize(1366, 768)
    panel = window.assets
    window.tabs.setCurrentWidget(panel)
    analyze_in_news(qtbot, window, ["$ZEPH plunges as auditors resign amid fraud probe",
                             "Zephyr Biotech shares crash as fraud probe widens"])
    window.tabs.setCurrentWidget(panel)
    panel.show_symbol("$zeph")
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.symbol == "ZEPH", timeout=ENGINE_TIMEOUT_MS)
    assert panel.view.bars and len(panel.view.news) == 2
    # The demo series ends in 2024: two time axes and a note, never news squeezed beside old candles.
    assert not panel.chart.linked and panel.chart.note.isVisible()
    assert "Prices end on 2024-" in panel.chart.note.text()
    assert len(panel.chart.price_markers.points()) == 0 and len(panel.chart.sentiment_markers.points()) == 2
    save_screenshot(window, "asset_view_stale_prices")

    # Watch from the view (Ctrl+D's action); a change made by the CLI in another process shows within ~1 s.
    window.findChild(QAction, "watchAssetAction").trigger()
    qtbot.waitUntil(lambda: panel.watchlist_box.symbols() == ["ZEPH"], timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: panel.watch_button.text() == "Watched", timeout=ENGINE_TIMEOUT_MS)
    cli = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(ui_data_dir), "watchlist", "add", "DUNE",
                          "--alias", "Dune Freight"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr
    qtbot.waitUntil(lambda: panel.watchlist_box.symbols() == ["DUNE", "ZEPH"], timeout=ENGINE_TIMEOUT_MS)

    # Remove only an alias, then a symbol, in the UI.
    box = panel.watchlist_box
    assert box.select("DUNE")
    box.alias_edit.setText("Dune Freight")
    qtbot.mouseClick(box.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Dune Freight" not in box.list.item(0).text(), timeout=ENGINE_TIMEOUT_MS)
    assert box.symbols() == ["DUNE", "ZEPH"]
    assert box.select("ZEPH")
    qtbot.mouseClick(box.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.symbols() == ["DUNE"], timeout=ENGINE_TIMEOUT_MS)

    # Persisted: a new desk on the same folder shows the same list.
    window.close()
    again = Desk(Config(), ui_data_dir)
    try:
        window2 = start_window(qtbot, again, monitor, log_bridge, settings)
        qtbot.waitUntil(lambda: window2.assets.watchlist_box.symbols() == ["DUNE"], timeout=ENGINE_TIMEOUT_MS)
        window2.close()
    finally:
        assert again.shutdown()


def test_new_menu_actions_have_shortcuts_that_clash_with_nothing(window):
    from PySide6.QtGui import QShortcut

    keys: dict[str, list[str]] = {}
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            keys.setdefault(sequence.toString(), []).append(action.text())
    for shortcut in window.findChildren(QShortcut):
        keys.setdefault(shortcut.key().toString(), []).append(f"shortcut in {shortcut.parent().objectName()}")
    for name, sequence in (("goToAssetAction", "Ctrl+G"), ("watchAssetAction", "Ctrl+D"),
                           ("alertsLogAction", "Ctrl+Shift+A"), ("alertSettingsAction", "Ctrl+,")):
        assert window.findChild(QAction, name).shortcut().toString() == sequence
        assert len(keys[sequence]) == 1, keys[sequence]
    assert [a.shortcut().toString() for a in window.findChildren(QAction) if a.text() == "Assets"] == ["Ctrl+6"]
    # Nothing is doubled (Export moved to Ctrl+Shift+E: Ctrl+E is Explain only).
    clashes = {k: v for k, v in keys.items() if k and len(v) > 1}
    assert not clashes, clashes
