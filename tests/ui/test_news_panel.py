"""News panel against a real engine thread: paste, score, bad input, files, progress."""

from __future__ import annotations

import re

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot
from ui.models.signal_table import COL_CONFIDENCE, COL_LABEL, COL_MODEL, COL_TEXT, COL_TIME, SIGNAL_ROLE

LABELS = {"bullish", "bearish", "neutral"}
HEADLINES = [
    "$AAPL surges after record earnings beat, raises guidance",
    "$TSLA plunges as regulators open probe into brake recall",
    "Federal Reserve holds interest rates steady, as expected",
]


def _rows(news) -> list:
    """Signals in the order the view shows them."""
    proxy = news.proxy
    return [proxy.index(r, 0).data(SIGNAL_ROLE) for r in range(proxy.rowCount())]


def test_paste_three_headlines_ctrl_enter_gives_three_labelled_rows(window, qtbot):
    news = window.news
    news.paste_box.setPlainText("\n".join(HEADLINES))
    news.paste_box.setFocus()
    qtbot.keyClick(news.paste_box, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    qtbot.waitUntil(lambda: news.proxy.rowCount() == 3, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not news.progress.isVisible(), timeout=ENGINE_TIMEOUT_MS)

    proxy = news.proxy
    labels = [proxy.index(r, COL_LABEL).data() for r in range(3)]
    assert set(labels) <= LABELS
    assert [proxy.index(r, COL_TEXT).data() for r in range(3)] == HEADLINES  # arrival order
    by_text = {s.text: s for s in _rows(news)}
    assert by_text[HEADLINES[0]].label == "bullish"
    assert by_text[HEADLINES[0]].entities == ("AAPL",)
    assert re.fullmatch(r"\d\d:\d\d:\d\d", proxy.index(0, COL_TIME).data())
    assert re.fullmatch(r"\d{1,3}%", proxy.index(0, COL_CONFIDENCE).data())
    status = window._desk.info.sentiment
    assert proxy.index(0, COL_MODEL).data() == f"{status.model_id} {status.version}"
    tooltip = proxy.index(0, COL_TEXT).data(Qt.ItemDataRole.ToolTipRole)
    assert "bullish" in tooltip and "bearish" in tooltip and "%" in tooltip
    # Label colours differ by label and are set explicitly (not left to the palette).
    bull_row = labels.index("bullish")
    assert proxy.index(bull_row, COL_LABEL).data(Qt.ItemDataRole.ForegroundRole) is not None
    colours = {proxy.index(r, COL_LABEL).data(Qt.ItemDataRole.BackgroundRole).name() for r in range(3)}
    assert len(colours) == len(set(labels))

    assert news.paste_box.toPlainText() == ""  # cleared only because the submission was accepted
    assert not news.message.isVisible()  # no spurious "still analyzing" from a double submit
    assert news.row_count.text() == "3 pasted this session"
    assert news.analyze_button.isEnabled()
    save_screenshot(window, "news_three_headlines")


def test_blank_paste_shows_inline_message_and_adds_no_row(window, qtbot):
    news = window.news
    news.paste_box.setPlainText("   \n\t\n   ")
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)

    assert news.message.isVisible()
    assert "Nothing to analyze" in news.message.text()
    assert news.message.property("kind") == "warning"
    assert news.paste_box.toPlainText() == "   \n\t\n   "  # nothing taken away
    # Prove the engine is alive, so "no row" means the blank paste was refused, not slow.
    news.paste_box.setPlainText("Oil prices rise on supply worries")
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 1, timeout=ENGINE_TIMEOUT_MS)
    assert _rows(news)[0].text == "Oil prices rise on supply worries"
    save_screenshot(window, "news_blank_then_one")


def test_blank_message_screenshot(window, qtbot):
    news = window.news
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    assert news.message.isVisible()
    assert news.model.rowCount() == 0
    save_screenshot(window, "news_blank_paste_message")


def test_over_long_item_is_cut_with_a_visible_notice(window, qtbot):
    news = window.news
    long_item = "$NVDA " + "rallies on strong data-centre demand " * 80  # ~3,000 characters
    assert len(long_item) > 2000
    news.paste_box.setPlainText(long_item + "\nShort headline: $MSFT slips")
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)

    assert news.message.isVisible()
    assert "1 item longer than 2,000 characters was cut" in news.message.text()
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 2, timeout=ENGINE_TIMEOUT_MS)
    cut = _rows(news)[0]
    assert cut.truncated and len(cut.text) == 2000
    assert "cut to the maximum" in news.proxy.index(0, COL_TEXT).data(Qt.ItemDataRole.ToolTipRole)
    assert news.message.isVisible()  # the notice stays after the rows arrive
    save_screenshot(window, "news_cut_notice")


def test_undecodable_file_shows_error_and_keeps_paste_box(window, qtbot, tmp_path, monkeypatch):
    shown: list[tuple[str, str]] = []
    for name in ("critical", "warning"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda parent, title, text, *a, **k:
                                                           shown.append((title, text))))
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe\x00bad")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bad), "")))
    news = window.news
    news.paste_box.setPlainText("my unsaved headline")

    window.open_action.trigger()  # File > Open, with the dialog answered by the monkeypatch

    assert len(shown) == 1
    title, text = shown[0]
    assert "bad.txt" in text and "UTF-8" in text and "0xff" in text
    assert news.paste_box.toPlainText() == "my unsaved headline"
    assert news.model.rowCount() == 0
    assert news.message.isVisible() and "UTF-8" in news.message.text()  # still readable after the dialog
    save_screenshot(window, "news_bad_file_kept_text")


def test_open_and_drop_text_files_append_to_paste_box(window, qtbot, tmp_path, monkeypatch):
    news = window.news
    opened = tmp_path / "opened.txt"
    opened.write_text("First from file\nSecond from file\n", encoding="utf-8")
    dropped = tmp_path / "dropped.txt"
    dropped.write_bytes("\ufeffDropped headline €\n".encode("utf-8"))  # BOM is accepted
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(opened), "")))
    window.tabs.setCurrentIndex(2)

    news.paste_box.setPlainText("typed first")
    window.open_action.trigger()
    assert window.tabs.currentWidget() is news
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(dropped))])
    assert news.paste_box.canInsertFromMimeData(mime)
    news.paste_box.insertFromMimeData(mime)  # what a drop onto the box does

    # A drop elsewhere on the panel (here the table) loads the file the same way.
    on_table = tmp_path / "on_table.txt"
    on_table.write_text("Dropped on the table\n", encoding="utf-8")
    mime2 = QMimeData()
    mime2.setUrls([QUrl.fromLocalFile(str(on_table))])
    viewport = news.table.viewport()
    at = QPointF(viewport.mapTo(window, viewport.rect().center()))
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    # Through the QWindow, as a real drag arrives: Qt finds the widget under the cursor and
    # walks up to the first one that accepts drops (the panel; the table itself does not).
    enter = QDragEnterEvent(at.toPoint(), Qt.DropAction.CopyAction, mime2, buttons, mods)
    QApplication.sendEvent(window.windowHandle(), enter)
    assert enter.isAccepted()
    drop = QDropEvent(at, Qt.DropAction.CopyAction, mime2, buttons, mods)
    QApplication.sendEvent(window.windowHandle(), drop)

    assert news.paste_box.toPlainText().splitlines() == [
        "typed first", "First from file", "Second from file", "Dropped headline €", "Dropped on the table"]
    assert "on_table.txt" in news.message.text()
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 5, timeout=ENGINE_TIMEOUT_MS)
    save_screenshot(window, "news_files_loaded")


def test_large_paste_arrives_in_batches_with_progress(window, qtbot):
    news = window.news
    batches: list = []
    shown = news._on_signals_added  # the batches the panel is handed, as they arrive
    news._on_signals_added = lambda batch: (batches.append(batch), shown(batch))
    inserts: list[int] = []
    news.model.rowsInserted.connect(lambda parent, first, last: inserts.append(last - first + 1))
    lines = [f"$XYZ item {i}: shares rise after upbeat outlook" for i in range(3000)]
    news.paste_box.setPlainText("\n".join(lines))

    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    assert news.progress.isVisible() and news.cancel_button.isVisible()
    assert not news.analyze_button.isEnabled()
    assert news.progress.maximum() == 3000
    qtbot.waitUntil(lambda: not news.progress.isVisible(), timeout=ENGINE_TIMEOUT_MS)

    assert news.model.rowCount() == 3000
    assert inserts == [len(b.signals) for b in batches]  # one insert per SignalBatch
    assert len(batches) < 3000
    assert news.row_count.text() == "3,000 pasted this session"
    bar = news.table.verticalScrollBar()
    assert bar.value() == bar.maximum()  # followed the newest rows
    save_screenshot(window, "news_large_paste")


def test_cancel_keeps_what_was_scored(window, qtbot):
    news = window.news
    news.paste_box.setPlainText("\n".join(f"Company {i} shares fall on weak guidance" for i in range(20000)))
    ended: list = []
    finish = news._on_analysis_done
    news._on_analysis_done = lambda done: (ended.append(done), finish(done))
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(news.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(ended), timeout=ENGINE_TIMEOUT_MS)
    done = ended[0]
    qtbot.waitUntil(lambda: news.model.rowCount() == done.scored, timeout=ENGINE_TIMEOUT_MS)
    assert not news.progress.isVisible() and news.analyze_button.isEnabled()
    # Cancel is per request: pressed before the request even started, it still applies.
    assert done.cancelled
    assert done.scored < done.total
    assert "Cancelled" in news.message.text()


def test_sorting_by_confidence_and_back_to_arrival_order(window, qtbot):
    news = window.news
    news.paste_box.setPlainText("\n".join(HEADLINES))
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 3, timeout=ENGINE_TIMEOUT_MS)

    news.table.sortByColumn(COL_CONFIDENCE, Qt.SortOrder.DescendingOrder)
    # The column sorts by the confidence it shows (calibrated, as first shown), not the raw one:
    # an isotonic calibrator maps nearby raw values to one step, so raw order may differ within it.
    confidences = [s.recorded_confidence for s in _rows(news)]
    assert confidences == sorted(confidences, reverse=True)
    news.table.sortByColumn(COL_TIME, Qt.SortOrder.AscendingOrder)
    assert [s.text for s in _rows(news)] == HEADLINES


def test_submit_while_running_is_refused_without_losing_text(window, qtbot):
    news = window.news
    news.paste_box.setPlainText("\n".join(f"Bank {i} beats estimates" for i in range(5000)))
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    news.paste_box.setPlainText("next paste")
    news.submit()  # the button is disabled; Ctrl+Enter still reaches submit()
    if news.progress.isVisible():  # the first request may already be done on a fast machine
        assert "Still analyzing" in news.message.text()
        assert news.paste_box.toPlainText() == "next paste"
    qtbot.waitUntil(lambda: not news.progress.isVisible(), timeout=ENGINE_TIMEOUT_MS)


def test_plain_text_drop_is_pasted_as_text(window):
    mime = QMimeData()
    mime.setText("plain words")
    window.news.paste_box.insertFromMimeData(mime)
    assert window.news.paste_box.toPlainText() == "plain words"


def test_ctrl_enter_from_the_table_submits_too(window, qtbot):
    news = window.news
    window.activateWindow()
    qtbot.waitUntil(lambda: window.isActiveWindow(), timeout=ENGINE_TIMEOUT_MS)
    news.paste_box.setPlainText("Gold climbs to record as dollar weakens")
    news.table.setFocus()
    qtbot.keyClick(news.table, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 1, timeout=ENGINE_TIMEOUT_MS)
