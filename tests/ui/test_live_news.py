"""The News panel's Live tab against real parts: the real engine thread, a real data folder,
the bundled demo replay, and a real HTTP server on 127.0.0.1 serving an RSS feed."""

from __future__ import annotations

import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from engine.news.query import NewsFilter
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot
from ui.models.news_table import COL_LABEL, COL_TEXT, ROW_ROLE, matches
from ui.panels.live_news import PAGE_SIZE
from ui.panels.live_sources import SRC_ITEMS, SRC_LAST_FETCH, SRC_NAME

DEMO_ITEMS = 320  # lines in resources/demo/news/demo_feed.jsonl

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Loopback wire</title><link>http://127.0.0.1/</link><description>test</description>
<item><title>$ZEPH Zephyr Labs beats quarterly profit estimates, raises outlook</title><guid>lb-1</guid>
<pubDate>Mon, 03 Mar 2025 13:00:00 GMT</pubDate></item>
<item><title>$ZEPH Zephyr Labs shares slump as regulator opens probe</title><guid>lb-2</guid>
<pubDate>Mon, 03 Mar 2025 13:01:00 GMT</pubDate></item>
<item><title>Loopback central bank holds rates steady</title><guid>lb-3</guid>
<pubDate>Mon, 03 Mar 2025 13:02:00 GMT</pubDate></item>
</channel></rss>"""
RSS_TITLES = {"$ZEPH Zephyr Labs beats quarterly profit estimates, raises outlook",
              "$ZEPH Zephyr Labs shares slump as regulator opens probe",
              "Loopback central bank holds rates steady"}


@pytest.fixture
def feed_server():
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            if self.path != "/feed.xml":
                self.send_error(404)
                return
            body = RSS.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):  # keep the test output quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    httpd.shutdown()
    httpd.server_close()


def _live(window):
    window.resize(1500, 950)
    window.tabs.setCurrentWidget(window.news)
    window.news.views.setCurrentWidget(window.news.live)
    return window.news.live


def _rows(live) -> list:
    m = live.model
    return [m.index(r, 0).data(ROW_ROLE) for r in range(m.rowCount())]


def _source_row(live, name: str) -> int | None:
    t = live.sources.table
    for row in range(t.rowCount()):
        if t.item(row, SRC_NAME) and t.item(row, SRC_NAME).text() == name:
            return row
    return None


def _settled(live) -> bool:
    return not live._first_page.pending and not live._older_page.pending


def test_demo_replay_streams_rows_gauges_counters_then_filters_and_paging(window, qtbot):
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)  # the (empty) first page
    assert live.model.rowCount() == 0

    live.sources.replay_rate.setValue(2000)
    qtbot.mouseClick(live.sources.replay_button, Qt.MouseButton.LeftButton)

    # Rows stream in (coalesced batches), newest first, and gauges appear.
    qtbot.waitUntil(lambda: live.model.rowCount() >= 50, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: len(live.gauges.gauges) >= 3, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: live.model.rowCount() == DEMO_ITEMS, timeout=ENGINE_TIMEOUT_MS)
    ids = [r.signal_id for r in _rows(live)]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == DEMO_ITEMS
    assert live._streamed == DEMO_ITEMS
    assert {live.model.index(r, COL_LABEL).data() for r in range(DEMO_ITEMS)} <= {"bullish", "bearish", "neutral"}
    assert any(r.category and r.category != "other" for r in _rows(live))  # event classes came through

    # The source row shows the replay's counts; the counters show the pipeline's.
    qtbot.waitUntil(lambda: _source_row(live, "replay:demo") is not None
                    and live.sources.table.item(_source_row(live, "replay:demo"), SRC_ITEMS).text() == f"{DEMO_ITEMS}",
                    timeout=ENGINE_TIMEOUT_MS)
    assert live.sources.table.item(_source_row(live, "replay:demo"), SRC_LAST_FETCH).text() != "never"
    qtbot.waitUntil(lambda: f"scored {DEMO_ITEMS}" in live.stats_label.text(), timeout=ENGINE_TIMEOUT_MS)
    for counter in ("Queue 0/", f"accepted {DEMO_ITEMS}", "duplicates 0", "dropped 0", "shed "):
        assert counter in live.stats_label.text()
    gauge = next(iter(live.gauges.gauges.values()))
    assert gauge.series and -1.0 <= gauge.running <= 1.0 and gauge.asset in gauge.toolTip()
    assert live.row_count.text() == f"{DEMO_ITEMS} shown · {DEMO_ITEMS} streamed"
    qtbot.wait(300)  # let the gauges and counters repaint once more before the picture
    save_screenshot(window, "live_news_demo_replay")

    # Re-query: the view holds one page, and scrolling to the bottom pages the rest in from SQLite.
    live.apply_filter()
    qtbot.waitUntil(lambda: _settled(live) and live.model.rowCount() == PAGE_SIZE, timeout=ENGINE_TIMEOUT_MS)
    for _ in range(5):
        live.table.scrollToBottom()
        qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    assert live.model.rowCount() == DEMO_ITEMS
    everything = _rows(live)

    # Each filter narrows the rows, and the stored (SQL) filter agrees with the row filter.
    bearish = NewsFilter(label="bearish")
    asset = max({t for r in everything for t in r.tickers},
                key=lambda t: sum(t in r.tickers for r in everything))
    category = max({r.category for r in everything if r.category != "other"},
                   key=lambda c: sum(r.category == c for r in everything))
    word = max((w for w in everything[0].text.split() if w.isalpha()), key=len)  # rare enough to narrow
    cases = [
        (lambda: live.filters.label_filter.setCurrentIndex(live.filters.label_filter.findData("bearish")), bearish),
        (lambda: live.filters.asset_filter.setText(asset.lower()), NewsFilter(label="bearish", asset=asset)),
    ]
    for apply, expected_filter in cases:
        apply()
        live.apply_filter()
        qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
        expected = [r.signal_id for r in everything if matches(r, expected_filter)]
        assert [r.signal_id for r in _rows(live)] == expected[:PAGE_SIZE]
    live.filters.label_filter.setCurrentIndex(0)
    live.filters.asset_filter.clear()

    for setup, expected_filter in (
            (lambda: live.filters.event_filter.setCurrentIndex(live.filters.event_filter.findData(category)),
             NewsFilter(category=category)),
            (lambda: live.filters.confidence_filter.setValue(80), NewsFilter(category=category, min_confidence=0.8)),
    ):
        setup()
        qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter == replace_limit(expected_filter),
                        timeout=ENGINE_TIMEOUT_MS)  # the debounce timer applied it, no explicit call
        expected = [r.signal_id for r in everything if matches(r, expected_filter)]
        assert 0 < len(expected) < DEMO_ITEMS
        assert [r.signal_id for r in _rows(live)] == expected[:PAGE_SIZE]
        assert all(r.category == category and (expected_filter.min_confidence == 0 or r.confidence >= 0.8)
                   for r in _rows(live))
    save_screenshot(window, "live_news_filtered")

    live.filters.event_filter.setCurrentIndex(0)
    live.filters.confidence_filter.setValue(0)
    live.filters.search.setText(word.upper())  # case-insensitive
    qtbot.waitUntil(lambda: _settled(live) and live.model.news_filter.search == word.upper(),
                    timeout=ENGINE_TIMEOUT_MS)
    expected = [r.signal_id for r in everything if word.lower() in r.text.lower()]
    assert [r.signal_id for r in _rows(live)] == expected[:PAGE_SIZE] and 0 < len(expected) < DEMO_ITEMS
    assert all(word.lower() in live.model.index(r, COL_TEXT).data().lower() for r in range(live.model.rowCount()))


def replace_limit(f: NewsFilter) -> NewsFilter:
    return replace(f, limit=PAGE_SIZE)


def test_rss_feed_from_loopback_server_streams_its_items_and_shows_status(window, qtbot, feed_server):
    base, hits = feed_server
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)

    # A bad URL is refused with a message, and nothing is added.
    live.sources.feed_url.setText("ftp://127.0.0.1/feed.xml")
    qtbot.mouseClick(live.sources.add_feed_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.message.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    assert "not an http(s) feed URL" in live.message.text()
    assert live.sources.table.rowCount() == 0

    live.sources.feed_url.setText(f"{base}/feed.xml")
    qtbot.keyClick(live.sources.feed_url, Qt.Key.Key_Return)
    name = f"rss:127.0.0.1:{base.rsplit(':', 1)[1]}/feed.xml"
    qtbot.waitUntil(lambda: {r.text for r in _rows(live)} == RSS_TITLES, timeout=ENGINE_TIMEOUT_MS)
    assert "/feed.xml" in hits
    assert not live.message.isVisible()  # the earlier refusal was cleared by the next action
    by_text = {r.text: r for r in _rows(live)}
    assert by_text["$ZEPH Zephyr Labs beats quarterly profit estimates, raises outlook"].tickers == ("ZEPH",)
    assert all(r.source == name for r in by_text.values())

    qtbot.waitUntil(lambda: _source_row(live, name) is not None
                    and live.sources.table.item(_source_row(live, name), SRC_ITEMS).text() == "3",
                    timeout=ENGINE_TIMEOUT_MS)
    row = _source_row(live, name)
    assert live.sources.table.item(row, SRC_LAST_FETCH).text() != "never"
    qtbot.waitUntil(lambda: "ZEPH" in live.gauges.gauges, timeout=ENGINE_TIMEOUT_MS)

    # Disable, then remove, through the buttons on the selected source.
    live.sources.select_source(name)
    assert live.sources.enable_button.isEnabled() and live.sources.enable_button.text() == "Disable"
    qtbot.mouseClick(live.sources.enable_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.sources.enable_button.text() == "Enable", timeout=ENGINE_TIMEOUT_MS)
    save_screenshot(window, "live_news_rss_feed")
    qtbot.mouseClick(live.sources.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live.sources.table.rowCount() == 0, timeout=ENGINE_TIMEOUT_MS)
    assert {r.text for r in _rows(live)} == RSS_TITLES  # removing a source keeps its stored news


def test_a_burst_too_big_to_send_row_by_row_makes_the_view_re_page(window, qtbot, monkeypatch):
    import app.bridge.live as live_bridge

    # A tiny per-drain limit stands in for a >2,000-row burst; the path taken is the same.
    monkeypatch.setattr(live_bridge, "ROWS_PER_EMIT", 5)
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    arrivals = []
    window._desk.live.arrivals.connect(arrivals.append)

    live.sources.replay_rate.setValue(5000)
    qtbot.mouseClick(live.sources.replay_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: live._streamed == DEMO_ITEMS and _settled(live), timeout=ENGINE_TIMEOUT_MS)

    assert any(a.overflow and not a.rows for a in arrivals)  # some drains sent only a count
    assert sum(a.count for a in arrivals) == DEMO_ITEMS  # nothing lost from the count
    ids = [r.signal_id for r in _rows(live)]
    assert PAGE_SIZE <= len(ids) <= DEMO_ITEMS and len(set(ids)) == len(ids)
    assert ids == sorted(ids, reverse=True)  # newest first, no gap at the top
    live.apply_filter()  # the newest page straight from SQLite agrees with what the view shows
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    assert [r.signal_id for r in _rows(live)] == ids[:PAGE_SIZE]


def test_watched_folder_added_from_the_panel_ingests_a_dropped_file(window, qtbot, tmp_path, monkeypatch):
    folder = tmp_path / "drop"
    folder.mkdir()
    live = _live(window)
    qtbot.waitUntil(lambda: _settled(live), timeout=ENGINE_TIMEOUT_MS)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))  # no modal in a test
    qtbot.mouseClick(live.sources.add_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: _source_row(live, "folder:drop") is not None, timeout=ENGINE_TIMEOUT_MS)

    headlines = {"$QRST Quartzline profit beats estimates", "$QRST Quartzline recalls flagship product"}
    (folder / "wire.txt").write_text("\n".join(sorted(headlines)) + "\n", encoding="utf-8")
    live.sources.select_source("folder:drop")
    qtbot.mouseClick(live.sources.fetch_button, Qt.MouseButton.LeftButton)  # no need to wait for the next poll
    qtbot.waitUntil(lambda: {r.text for r in _rows(live)} == headlines, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: live.sources.table.item(_source_row(live, "folder:drop"), SRC_ITEMS).text() == "2",
                    timeout=ENGINE_TIMEOUT_MS)
    assert all(r.tickers == ("QRST",) for r in _rows(live))
