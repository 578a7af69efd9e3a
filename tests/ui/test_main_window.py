"""Main window: panels, status bar, persistence, shutdown, the log dock."""

from __future__ import annotations

import logging
import re
import threading

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from app.bridge.desk import Desk
from engine.config import Config
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, start_window
from ui.main_window import MainWindow


def test_six_panels_in_order_with_shortcuts(window, qtbot):
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["News", "Models", "Monitor", "Calibration", "Ideas", "Assets"]
    names = [window.tabs.widget(i).objectName() for i in range(window.tabs.count())]
    assert names == ["newsPanel", "modelsPanel", "monitorPanel", "calibrationPanel", "ideasPanel", "assetsPanel"]
    shortcuts = {a.shortcut().toString(): a for a in window.actions()}
    for i in range(6):
        shortcuts[f"Ctrl+{i + 1}"].trigger()
        assert window.tabs.currentIndex() == i


def test_status_bar_shows_model_and_rss(window, qtbot):
    info = window._desk.info
    status = info.sentiment
    text = window.model_status.text()
    assert f"Sentiment: {status.model_id} {status.version}" in text
    if status.degraded:  # the lexicon fallback while the ONNX model is not installed
        assert "⚠" in text and "fallback" in text
        assert status.reason in window.model_status.toolTip()
        assert "background" in window.model_status.styleSheet()
    qtbot.waitUntil(lambda: re.fullmatch(r"RSS [\d,]+ MB", window.rss_status.text()) is not None,
                    timeout=ENGINE_TIMEOUT_MS)
    save_screenshot(window.statusBar(), "status_bar")


def test_models_panel_shows_hardware_tier_and_model(window, qtbot):
    window.tabs.setCurrentWidget(window.models)
    info = window._desk.info
    panel = window.models
    assert info.hardware.tier.upper() in panel.machine.tier.text()
    assert info.hardware.tier_reason in panel.machine.tier.text()
    assert f"{info.hardware.logical_cores} logical" in panel.machine.cores.text()
    assert panel.serving.model_id.text() == info.sentiment.model_id
    assert panel.serving.data_dir.text() == info.data_dir
    if info.sentiment.degraded:
        assert "Degraded" in panel.serving.model_status.text()
        assert panel.serving.model_reason.isVisible() and info.sentiment.reason in panel.serving.model_reason.text()
    assert "model manager" in panel.findChild(type(panel.machine.tier), "modelsNote").text()
    save_screenshot(window, "models_panel")


def test_monitor_panel_plots_live_samples(window, qtbot):
    window.tabs.setCurrentWidget(window.monitor_panel)
    panel = window.monitor_panel
    # The engine's sampler feeds the panel at the configured interval (1 s by default).
    qtbot.waitUntil(lambda: len(panel.samples) >= 4, timeout=ENGINE_TIMEOUT_MS)
    x, rss = panel.charts.rss_curve.getData()
    _, cpu = panel.charts.cpu_curve.getData()
    assert x is not None and len(x) >= 4 and x[-1] == 0 and x[0] < 0
    assert (rss > 10).all()  # a Python + Qt process is tens of MB at least
    assert (cpu >= 0).all()
    assert panel.rss_value.text().endswith("MB")
    save_screenshot(window, "monitor_panel")


def test_calibration_starts_with_the_shipped_calibrator_and_ideas_say_nothing_is_executed(window, qtbot):
    window.tabs.setCurrentWidget(window.calibration)
    panel = window.calibration
    status = window._desk.info.sentiment
    qtbot.waitUntil(lambda: panel.report is not None, timeout=ENGINE_TIMEOUT_MS)
    assert panel.selected() == (status.model_id, status.version)
    text = panel.status.text()
    assert "0 outcomes stored" in text  # no outcomes of the analyst's yet
    # ...so the diagrams show the shipped calibrator's reliability on the model card's report set.
    assert "model card report set" in panel.before_view._title and panel.before_view.plotted_bins() > 0
    assert "shipped with the model" in text and "calibrated on unseen data" in text
    headers = [panel.metrics_table.verticalHeaderItem(r).text() for r in range(3)]
    assert headers == ["ECE", "MCE", "Brier"]
    # The table beside those diagrams holds their figures: the model card's ECEs, read off the bins.
    summary = panel._summary()
    before, after = summary.shipped_metrics
    assert panel.metrics_table.item(0, 0).text() == f"{before['ece']:.4f}" != "–"
    assert after["ece"] < before["ece"] and panel.metrics_table.item(4, 0).text().replace(",", "") == str(before["n"])
    # ...and agree with the ECEs the model card quotes for the same rows.
    assert f"ECE {before['ece']:.3f} raw" in text and f"{after['ece']:.3f} calibrated" in text, (before, after)
    save_screenshot(window, "calibration_panel_empty")
    window.tabs.setCurrentWidget(window.ideas)
    note = window.ideas.findChild(type(window.model_status), "ideasPanelNote").text()
    assert "Nothing is ever executed" in note
    save_screenshot(window, "ideas_panel")


def test_about_shows_version(window, qtbot):
    window.about_action.trigger()
    dialog = window._about_dialog
    assert window._desk.info.version in dialog.title.text() and dialog.models.rowCount() >= 4
    dialog.close()


def test_close_stops_the_engine_thread_and_remembers_layout(qtbot, desk, monitor, log_bridge,
                                                            settings, ui_data_dir):
    window = start_window(qtbot, desk, monitor, log_bridge, settings)
    news = window.news
    news.paste_box.setPlainText("$AMD jumps after upgrade to buy")
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.model.rowCount() == 1, timeout=ENGINE_TIMEOUT_MS)
    window.tabs.setCurrentIndex(2)
    assert desk.is_running()

    window.close()

    assert not desk.is_running()
    assert not monitor.is_active()
    reread = QSettings(settings.fileName(), QSettings.Format.IniFormat)
    assert reread.value("mainWindow/tab", type=int) == 2

    # Reopen on the same data folder and settings: the tab comes back; the paste table starts with
    # this session's pastes (none), the stored signal one click away.
    desk2 = Desk(Config(), ui_data_dir)
    try:
        window2 = start_window(qtbot, desk2, monitor, log_bridge, reread)
        assert window2.tabs.currentIndex() == 2
        qtbot.waitUntil(lambda: len(window2.news._history) == 1, timeout=ENGINE_TIMEOUT_MS)
        assert window2.news.model.rowCount() == 0
        window2.news.history_action.trigger()
        assert window2.news.model.rowCount() == 1
        assert window2.news.model.signal_at(0).text == "$AMD jumps after upgrade to buy"
        window2.tabs.setCurrentIndex(0)
        save_screenshot(window2, "news_after_restart")
        window2.close()
        assert not desk2.is_running()
    finally:
        desk2.shutdown()


def test_log_view_shows_records_from_another_thread(window, qtbot):
    window.log_action.trigger()  # View > Show log (Ctrl+L)
    assert window.log_dock.isVisible()
    view = window.log_view

    def work() -> None:
        logging.getLogger("signaldesk.test").warning("feed poll slow: 4.2 s")
        logging.getLogger("signaldesk.test").error("feed unreachable: connection refused")

    worker = threading.Thread(target=work, name="feed-worker")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: "feed unreachable" in view.toPlainText(), timeout=ENGINE_TIMEOUT_MS)
    text = view.toPlainText()
    assert "feed poll slow" in text and "feed-worker" in text
    save_screenshot(window, "log_dock")

    view.set_min_level(logging.ERROR)
    assert "feed poll slow" not in view.toPlainText()
    assert "feed unreachable" in view.toPlainText()
    window.log_action.trigger()
    assert not window.log_dock.isVisible()


def test_engine_that_cannot_start_is_reported_and_loses_no_text(qtbot, monitor, log_bridge, settings, tmp_path):
    not_a_dir = tmp_path / "data-is-a-file"
    not_a_dir.write_text("the store cannot live inside a file")
    broken = Desk(Config(), not_a_dir)
    try:
        window = MainWindow(broken, monitor, log_bridge, settings)
        qtbot.addWidget(window)
        window.show()
        with qtbot.waitSignal(broken.failed, timeout=ENGINE_TIMEOUT_MS):
            broken.start()
        assert "engine not running" in window.model_status.text()
        assert "could not start" in window.model_status.toolTip()
        news = window.news
        assert news.message.isVisible() and news.message.property("kind") == "error"

        news.paste_box.setPlainText("$IBM rises on cloud deal")
        with qtbot.waitSignal(broken.problem, timeout=ENGINE_TIMEOUT_MS):
            qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: news.analyze_button.isEnabled(), timeout=ENGINE_TIMEOUT_MS)
        assert news.paste_box.toPlainText() == "$IBM rises on cloud deal"  # given back
        assert "not running" in news.message.text()
        assert news.analyze_button.isEnabled() and not news.progress.isVisible()
        save_screenshot(window, "engine_failed")
    finally:
        assert broken.shutdown()
