"""The Live tab's sorting (server-side), pause/resume with its "N new" badge and keys, and the
filters kept across restarts, against real parts: the engine on its thread, a real data folder,
the bundled demo replay, and a real QSettings file."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSettings, Qt

from app.sampler import ProcessMonitor
from app.bridge.desk import Desk
from engine.config import Config
from engine.news.query import NewsFilter, order_key
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, start_window
from tests.ui.test_live_news import DEMO_ITEMS, _live, _rows, _settled
from ui.models.news_table import COL_CONFIDENCE, COL_SOURCE, COL_TIME, SORT_BY_COLUMN, matches
from ui.panels.live_filters import KEY_ASSET, KEY_EVENT, KEY_LABEL, KEY_MIN_CONFIDENCE, KEY_SEARCH
from ui.panels.live_news import KEY_DESCENDING, KEY_SORT, PAGE_SIZE


def _click_header(qtbot, live, column: int) -> None:
    header = live.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def _replay(qtbot, live, rate: float = 5000) -> None:
    live.sources.replay_rate.setValue(rate)
    qtbot.mouseClick(live.sources.replay_button, Qt.MouseButton.LeftButton)


def _page_everything_in(qtbot, live) -> None:
    for _ in range(10):
        live.table.scrollToBottom()
        qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    live.table.scrollToTop()


def _stored(live, qtbot, news_filter: NewsFilter) -> list:
    """Every stored row in the filter's order, read through the same feature the panel uses."""
    pages = []
    live._live.query(news_filter, pages.append, pages.append)
    qtbot.waitUntil(lambda: bool(pages), timeout=ENGINE_TIMEOUT_MS)
    assert not isinstance(pages[0], str), pages[0]
    return list(pages[0])


def test_header_clicks_sort_every_stored_row_in_sql_and_streamed_rows_land_in_order(window, qtbot):
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    _replay(qtbot, live)
    qtbot.waitUntil(lambda: live._streamed == DEMO_ITEMS and _settled(live), timeout=ENGINE_TIMEOUT_MS)
    header = live.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (COL_TIME, Qt.SortOrder.DescendingOrder)

    # A first click on Confidence: most confident first, over all stored rows (not just the window).
    _click_header(qtbot, live, COL_CONFIDENCE)
    qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter.sort == "confidence", timeout=ENGINE_TIMEOUT_MS)
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    everything = _stored(live, qtbot, NewsFilter(limit=5000))
    assert len(everything) == DEMO_ITEMS
    by_confidence = sorted(everything, key=lambda r: order_key(r, "confidence"), reverse=True)
    assert [r.signal_id for r in _rows(live)] == [r.signal_id for r in by_confidence[:PAGE_SIZE]]
    _page_everything_in(qtbot, live)  # keyset pages in the same order
    assert [r.signal_id for r in _rows(live)] == [r.signal_id for r in by_confidence]
    shown = [live.model.index(r, COL_CONFIDENCE).data() for r in range(live.model.rowCount())]
    assert shown[0] != shown[-1] and int(shown[0].rstrip("%")) >= int(shown[-1].rstrip("%"))

    # Source, then a second click on it: A to Z, then Z to A (text compares without case).
    _click_header(qtbot, live, COL_SOURCE)
    qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter.sort == "source", timeout=ENGINE_TIMEOUT_MS)
    assert not live.model.news_filter.descending
    by_source = sorted(everything, key=lambda r: order_key(r, "source"))
    assert [r.signal_id for r in _rows(live)] == [r.signal_id for r in by_source[:PAGE_SIZE]]
    _click_header(qtbot, live, COL_SOURCE)
    qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter.descending, timeout=ENGINE_TIMEOUT_MS)
    assert [r.signal_id for r in _rows(live)] == [r.signal_id for r in reversed(by_source)][:PAGE_SIZE]

    # Back to confidence with only the first page held; a second replay streams 320 more rows in.
    # Each goes where the query would put it if that is inside the window; the rest wait for paging.
    _click_header(qtbot, live, COL_CONFIDENCE)
    qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter.sort == "confidence", timeout=ENGINE_TIMEOUT_MS)
    if live.model.news_filter.descending is False:  # the click flipped an existing confidence sort
        _click_header(qtbot, live, COL_CONFIDENCE)
        qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter.descending, timeout=ENGINE_TIMEOUT_MS)
    assert live.model.rowCount() == PAGE_SIZE
    _replay(qtbot, live)
    qtbot.waitUntil(lambda: live._streamed == 2 * DEMO_ITEMS, timeout=ENGINE_TIMEOUT_MS)
    qtbot.wait(300)  # the last drain reaches the view
    held = _rows(live)
    assert live.model.rowCount() > PAGE_SIZE  # streamed rows went into the sorted window
    everything = _stored(live, qtbot, NewsFilter(limit=5000))
    assert len(everything) == 2 * DEMO_ITEMS
    by_confidence = sorted(everything, key=lambda r: order_key(r, "confidence"), reverse=True)
    # The window is exactly the top of the full sorted list: nothing missing, nothing out of place.
    assert [r.signal_id for r in held] == [r.signal_id for r in by_confidence[:len(held)]]
    assert len(held) < len(everything)  # rows past the window were left for paging, not appended
    _page_everything_in(qtbot, live)
    assert [r.signal_id for r in _rows(live)] == [r.signal_id for r in by_confidence]
    live.table.scrollToTop()
    qtbot.wait(300)
    save_screenshot(window, "live_news_sorted")


def test_pause_freezes_the_view_counts_new_rows_and_resume_brings_them_in(window, qtbot):
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    _replay(qtbot, live)
    qtbot.waitUntil(lambda: live._streamed == DEMO_ITEMS and live.model.rowCount() == DEMO_ITEMS,
                    timeout=ENGINE_TIMEOUT_MS)
    before = [r.signal_id for r in _rows(live)]

    # Space on the focused table pauses; the button and the status bar say so.
    live.table.setFocus()
    qtbot.keyClick(live.table, Qt.Key.Key_Space)
    assert live.paused and live.pause_button.isChecked() and live.pause_button.text() == "Resume"
    assert live.new_badge.isHidden()

    # Bullish only, while paused: the filter applies at once, and the badge counts matching arrivals.
    live.filters.label_filter.setCurrentIndex(live.filters.label_filter.findData("bullish"))
    live.apply_filter()
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    frozen = [r.signal_id for r in _rows(live)]
    assert frozen and all(r.label == "bullish" for r in _rows(live))
    _replay(qtbot, live)
    qtbot.waitUntil(lambda: live._streamed == 2 * DEMO_ITEMS, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: f"scored {2 * DEMO_ITEMS}" in live.stats_label.text(), timeout=ENGINE_TIMEOUT_MS)
    assert [r.signal_id for r in _rows(live)] == frozen  # the view did not move
    stored = _stored(live, qtbot, NewsFilter(label="bullish", limit=5000))
    new_bullish = [r for r in stored if r.signal_id > max(before)]
    assert new_bullish  # rows kept arriving and were stored
    assert live.new_badge.isVisible() and live.new_badge.text() == f"{len(new_bullish):,} new"
    qtbot.wait(300)
    save_screenshot(window, "live_news_paused")

    # Ctrl+P resumes: the new rows go in at the top, the badge goes away.
    qtbot.keyClick(live.table, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier)
    assert not live.paused and live.pause_button.text() == "Pause" and live.new_badge.isHidden()
    assert [r.signal_id for r in _rows(live)] == [r.signal_id for r in stored]
    # The pause button does the same as the keys.
    qtbot.mouseClick(live.pause_button, Qt.MouseButton.LeftButton)
    assert live.paused
    qtbot.mouseClick(live.pause_button, Qt.MouseButton.LeftButton)
    assert not live.paused


def test_a_long_pause_keeps_no_rows_and_resume_reads_the_first_page(window, qtbot, monkeypatch):
    import app.bridge.live as live_bridge
    import ui.panels.live_news as live_news

    monkeypatch.setattr(live_bridge, "ROWS_PER_EMIT", 5)  # drains send bare counts (overflow), as in a burst
    monkeypatch.setattr(live_news, "PAUSE_BUFFER_ROWS", 50)
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    live.set_paused(True)
    _replay(qtbot, live)
    qtbot.waitUntil(lambda: live._streamed == DEMO_ITEMS, timeout=ENGINE_TIMEOUT_MS)
    assert live.model.rowCount() == 0 and live._paused_rows == []  # nothing held in memory
    assert live.new_badge.text() == f"{DEMO_ITEMS:,} new"  # no filter: the bare counts are exact
    live.set_paused(False)
    qtbot.waitUntil(lambda: _settled(live) and live.model.rowCount() == PAGE_SIZE, timeout=ENGINE_TIMEOUT_MS)
    ids = [r.signal_id for r in _rows(live)]
    assert ids == sorted(ids, reverse=True) and live.new_badge.isHidden()


def test_filters_search_and_sort_survive_a_restart(qtbot, ui_data_dir, tmp_path, log_bridge):
    ini = str(tmp_path / "ui.ini")
    monitor = ProcessMonitor(interval_s=1.0)
    desk = Desk(Config(), ui_data_dir)
    window = start_window(qtbot, desk, monitor, log_bridge, QSettings(ini, QSettings.Format.IniFormat))
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    _replay(qtbot, live)
    qtbot.waitUntil(lambda: live._streamed == DEMO_ITEMS, timeout=ENGINE_TIMEOUT_MS)
    everything = _stored(live, qtbot, NewsFilter(limit=5000))
    acme_bullish = [r for r in everything if "ACME" in r.tickers and r.label == "bullish"]
    category = max({r.category for r in acme_bullish}, key=lambda c: sum(r.category == c for r in acme_bullish))
    wanted = NewsFilter(asset="acme", label="bullish", category=category, min_confidence=0.55, search="Acme",
                        sort="confidence", descending=True, limit=PAGE_SIZE)
    expected = sorted((r for r in everything if matches(r, wanted)), key=lambda r: order_key(r, "confidence"),
                      reverse=True)
    assert expected  # the restored view will have something to show

    live.filters.asset_filter.setText("acme")
    live.filters.label_filter.setCurrentIndex(live.filters.label_filter.findData("bullish"))
    live.filters.event_filter.setCurrentIndex(live.filters.event_filter.findData(category))
    live.filters.confidence_filter.setValue(55)
    live.filters.search.setText("Acme")
    _click_header(qtbot, live, COL_CONFIDENCE)
    qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter == wanted, timeout=ENGINE_TIMEOUT_MS)
    window.close()  # saves and stops the engine, as quitting the app does
    monitor.stop()

    saved = QSettings(ini, QSettings.Format.IniFormat)
    assert [saved.value(k) for k in (KEY_ASSET, KEY_LABEL, KEY_EVENT, KEY_SEARCH, KEY_SORT)] == \
        ["acme", "bullish", category, "Acme", "confidence"]
    assert float(saved.value(KEY_MIN_CONFIDENCE)) == 55 and saved.value(KEY_DESCENDING) in (True, "true")

    monitor = ProcessMonitor(interval_s=1.0)
    desk = Desk(Config(), ui_data_dir)
    window = start_window(qtbot, desk, monitor, log_bridge, QSettings(ini, QSettings.Format.IniFormat))
    try:
        live = _live(window)
        qtbot.waitUntil(lambda: _settled(live) and live.model.rowCount() > 0, timeout=ENGINE_TIMEOUT_MS)
        assert live.model.news_filter == wanted  # the first query after the restart used them
        assert [r.signal_id for r in _rows(live)] == [r.signal_id for r in expected][:PAGE_SIZE]
        filters = live.filters
        assert filters.asset_filter.text() == "acme" and filters.search.text() == "Acme"
        assert filters.label_filter.currentData() == "bullish" and filters.event_filter.currentData() == category
        assert filters.confidence_filter.value() == 55
        header = live.table.horizontalHeader()
        assert SORT_BY_COLUMN[header.sortIndicatorSection()] == "confidence"
        qtbot.wait(300)
        save_screenshot(window, "live_news_restored_filters")
    finally:
        window.close()
        monitor.stop()
        assert desk.shutdown()


def test_saved_values_that_no_longer_fit_fall_back_to_defaults(window, qtbot, tmp_path):
    bad = QSettings(str(tmp_path / "bad.ini"), QSettings.Format.IniFormat)
    for key, value in ((KEY_LABEL, "sideways"), (KEY_EVENT, "sports"), (KEY_MIN_CONFIDENCE, "lots"),
                       (KEY_SORT, "colour"), (KEY_DESCENDING, "maybe"), (KEY_SEARCH, "beats")):
        bad.setValue(key, value)
    live = _live(window)
    live.restore_settings(bad)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    f = live.model.news_filter
    assert (f.label, f.category, f.min_confidence, f.sort, f.descending, f.search) == \
        ("", "", 0.0, "time", True, "beats")  # what still fits is kept
