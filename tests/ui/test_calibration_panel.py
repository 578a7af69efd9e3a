"""Calibration panel and analyst feedback against a real engine thread and a real data folder:
a labelled file through the UI action (progress, cancel), reliability diagrams before and
after, ECE/MCE/Brier, method switch + refit, calibrated confidence in News, and feedback on
News rows recorded as outcomes (checked in the database itself after shutdown)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QFileDialog

from app.worker import EngineClient
from engine.calibration.repository import CalibrationRepository
from engine.config import Config
from engine.store import DB_FILE_NAME, Store
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, start_window
from ui.models.signal_table import COL_CONFIDENCE, COL_VERDICT, SIGNAL_ROLE

ROOT = Path(__file__).resolve().parents[2]
# 300 rows of the TFNS train split's dev part: never sent_valid.csv, which only ever reports.
DEMO = ROOT / "resources" / "demo" / "tfns_dev_sample.csv"
HEADLINES = [
    "$AAPL surges after record earnings beat, raises guidance",
    "$TSLA plunges as regulators open probe into brake recall",
    "Federal Reserve holds interest rates steady, as expected",
]


def _panel(window, qtbot):
    window.tabs.setCurrentWidget(window.calibration)
    panel = window.calibration
    qtbot.waitUntil(lambda: panel.overview is not None and panel.model_combo.count() > 0, timeout=ENGINE_TIMEOUT_MS)
    return panel


def _cell(panel, row: int, col: int) -> str:
    return panel.metrics_table.item(row, col).text()


def _choose(combo, key: str) -> None:
    combo.setCurrentIndex(combo.findData(key))


def test_labelled_file_through_the_ui_then_diagrams_metrics_and_refit(window, qtbot, monkeypatch):
    client = window._client
    panel = _panel(window, qtbot)
    serving = client.info.sentiment
    assert panel.selected() == (serving.model_id, serving.version)
    qtbot.waitUntil(lambda: panel.report is not None, timeout=ENGINE_TIMEOUT_MS)
    assert panel.report.before is None and panel.before_view.plotted_bins() == 0  # nothing yet
    # No outcomes yet, but the model's shipped calibrator is active (fitted on held-out TFNS rows).
    assert "shipped with the model" in panel.status.text() and "0 outcomes stored" in panel.status.text()

    progress = []
    client.labelledProgress.connect(lambda p: progress.append((p.done, p.total, panel.progress.isVisible())))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(DEMO), "")))
    with qtbot.waitSignal(client.labelledEvaluated, timeout=ENGINE_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(panel.evaluate_button, Qt.MouseButton.LeftButton)
        assert panel.progress.isVisible() and panel.cancel_button.isVisible()
        assert not panel.evaluate_button.isEnabled()  # one file at a time
    summary = blocker.args[0]
    assert not summary.error and not summary.cancelled
    assert (summary.rows, summary.total, summary.skipped, summary.recorded) == (300, 300, 0, 300)
    assert summary.calibrator  # 300 outcomes reach the policy's minimum: the first fit ran
    assert progress[0][:2] == (0, 300) and progress[-1][:2] == (300, 300)
    assert all(visible for _, _, visible in progress)
    assert panel.progress.maximum() == 300 and panel.progress.value() == 300
    assert not panel.progress.isVisible() and panel.evaluate_button.isEnabled()
    assert "Recorded 300 outcomes" in panel.message.text() and summary.calibrator in panel.message.text()

    qtbot.waitUntil(lambda: panel.report is not None and panel.report.calibrator == summary.calibrator,
                    timeout=ENGINE_TIMEOUT_MS)
    report = panel.report
    assert report.before.n == report.after.n == 300
    # Before and after diagrams: bars in several bins, every outcome counted once in the histogram.
    assert panel.before_view.plotted_bins() >= 3 and panel.after_view.plotted_bins() >= 1
    for view in (panel.before_view, panel.after_view):
        assert sum(view.count_bars.opts["height"]) == 300
        assert view.diagram.n == 300
    assert summary.calibrator in panel.after_view.plot.titleLabel.text
    # ECE / MCE / Brier / accuracy / n, before and after, exactly as the engine computed them.
    assert _cell(panel, 0, 0) == f"{report.before.ece:.4f}" and _cell(panel, 0, 1) == f"{report.after.ece:.4f}"
    assert _cell(panel, 1, 0) == f"{report.before.mce:.4f}" and _cell(panel, 1, 1) == f"{report.after.mce:.4f}"
    assert _cell(panel, 2, 0) == f"{report.before.brier:.4f}" and _cell(panel, 2, 1) == f"{report.after.brier:.4f}"
    assert _cell(panel, 4, 0) == "300"
    assert report.in_sample and "in-sample" in panel.metrics_table.horizontalHeaderItem(1).text()
    assert report.holdout and _cell(panel, 0, 2) == f"{report.holdout['after']['ece']:.4f}"  # honest figure
    assert report.after.ece < report.before.ece
    assert "labelled" in panel.source_checks["labelled_file"].text().lower()
    assert "(300)" in panel.source_checks["labelled_file"].text()
    assert summary.calibrator in panel.status.text()
    save_screenshot(window, "calibration_panel")

    # Method switch + refit: Platt, then temperature (multi-class only: no scheme to pick).
    _choose(panel.method_combo, "platt")
    assert panel.scheme_combo.isEnabled()
    with qtbot.waitSignal(client.calibrationRefitted, timeout=ENGINE_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(panel.refit_button, Qt.MouseButton.LeftButton)
        assert not panel.refit_button.isEnabled() and panel.refit_button.text() == "Refitting…"
    refit = blocker.args[0]
    assert not refit.error and refit.calibrator.startswith("platt/top_label #")
    qtbot.waitUntil(lambda: panel.report.calibrator == refit.calibrator, timeout=ENGINE_TIMEOUT_MS)
    assert refit.calibrator in panel.metrics_table.horizontalHeaderItem(1).text()
    assert panel.refit_button.isEnabled() and "now active" in panel.message.text()

    _choose(panel.method_combo, "temperature")
    assert not panel.scheme_combo.isEnabled()
    with qtbot.waitSignal(client.calibrationRefitted, timeout=ENGINE_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(panel.refit_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0].calibrator.startswith("temperature/multiclass #")
    qtbot.waitUntil(lambda: panel.report.calibrator == blocker.args[0].calibrator, timeout=ENGINE_TIMEOUT_MS)
    save_screenshot(window, "calibration_panel_temperature")

    # Only analyst outcomes (none yet): the diagrams say so instead of showing stale bars.
    panel.source_checks["labelled_file"].setChecked(False)
    panel.source_checks["market"].setChecked(False)
    qtbot.waitUntil(lambda: panel.report.sources == ("analyst",), timeout=ENGINE_TIMEOUT_MS)
    assert panel.before_view.plotted_bins() == 0 and panel.before_view.empty.isVisible()
    assert "No labelled outcomes" in panel.report.message

    # News now shows the calibrated confidence, the raw one in the tooltip.
    news = window.news
    window.tabs.setCurrentWidget(news)
    news.paste_box.setPlainText(HEADLINES[0])
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 1, timeout=ENGINE_TIMEOUT_MS)
    sig = news.proxy.index(0, 0).data(SIGNAL_ROLE)
    assert sig.calibrated_confidence is not None and sig.calibrator == blocker.args[0].calibrator
    assert news.proxy.index(0, COL_CONFIDENCE).data() == f"{sig.calibrated_confidence:.0%}"
    tip = news.proxy.index(0, COL_CONFIDENCE).data(Qt.ItemDataRole.ToolTipRole)
    assert f"raw {sig.confidence:.1%}, {sig.calibrator}" in tip


def test_cancelled_or_unusable_files_record_nothing(window, qtbot, tmp_path):
    client = window._client
    panel = _panel(window, qtbot)
    # Cancel pressed before the lane even starts still applies (per-request cancel).
    with qtbot.waitSignal(client.labelledEvaluated, timeout=ENGINE_TIMEOUT_MS) as blocker:
        panel.evaluate_file(DEMO)
        qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
        assert panel.cancel_button.text() == "Cancelling…"
    assert blocker.args[0].cancelled and blocker.args[0].recorded == 0
    assert "Cancelled" in panel.message.text() and "nothing was recorded" in panel.message.text()
    assert not panel.progress.isVisible() and panel.evaluate_button.isEnabled()

    bad = tmp_path / "no_labels.csv"
    bad.write_text("headline,sentiment\nStocks rise,1\n", encoding="utf-8")
    with qtbot.waitSignal(client.labelledEvaluated, timeout=ENGINE_TIMEOUT_MS) as blocker:
        panel.evaluate_file(bad)
    assert blocker.args[0].error and panel.message.property("kind") == "error"
    assert "missing column" in panel.message.text()
    panel.refresh()
    qtbot.waitUntil(lambda: panel.overview is not None and panel.overview.models[0].outcomes == 0,
                    timeout=ENGINE_TIMEOUT_MS)


def test_analyst_feedback_on_news_rows_is_recorded_and_survives_a_restart(qtbot, client, monitor, log_bridge,
                                                                           settings, ui_data_dir):
    window = start_window(qtbot, client, monitor, log_bridge, settings)
    news = window.news
    news.paste_box.setPlainText("\n".join(HEADLINES))
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 3, timeout=ENGINE_TIMEOUT_MS)
    assert not news.wrong_button.isEnabled()  # nothing selected yet
    signals = [news.proxy.index(r, 0).data(SIGNAL_ROLE) for r in range(3)]

    def select(row: int) -> None:
        news.table.selectionModel().select(news.proxy.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                           | QItemSelectionModel.SelectionFlag.Rows)

    results = []
    client.feedbackRecorded.connect(results.append)
    # Row 0: wrong, by keyboard on the table, with a note.
    select(0)
    assert news.wrong_button.isEnabled()
    news.feedback_note.setText("guidance was cut, not raised")
    news.table.setFocus()
    qtbot.keyClick(news.table, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=ENGINE_TIMEOUT_MS)
    assert not results[0].error and results[0].correct is False and results[0].outcomes == 1
    assert news.proxy.index(0, COL_VERDICT).data() == "✗ wrong"
    assert news.message.isVisible() and f"signal #{signals[0].id} marked wrong" in news.message.text()
    assert news.feedback_note.text() == ""  # the note went with the verdict
    # Row 1: the right label, from the combo (a label other than the predicted one).
    select(1)
    other = next(lab for lab in ("neutral", "bullish") if lab != signals[1].label)
    news.label_combo.activated.emit(news.label_combo.findData(other))
    qtbot.waitUntil(lambda: len(results) == 2, timeout=ENGINE_TIMEOUT_MS)
    assert results[1].outcomes == 2 and results[1].correct is False and results[1].label == other
    assert news.proxy.index(1, COL_VERDICT).data() == f"✗ → {other}"
    assert news.label_combo.currentIndex() == 0
    # Row 2: right, from the context-menu action.
    select(2)
    news.mark_right_action.trigger()
    qtbot.waitUntil(lambda: len(results) == 3, timeout=ENGINE_TIMEOUT_MS)
    assert results[2].outcomes == 3 and results[2].correct is True
    assert news.proxy.index(2, COL_VERDICT).data() == "✓ right"
    assert news.mark_right_action in news.table.actions()
    # Marking row 0 again replaces its verdict rather than adding an outcome.
    select(0)
    news.wrong_button.click()
    qtbot.waitUntil(lambda: len(results) == 4, timeout=ENGINE_TIMEOUT_MS)
    assert results[3].outcomes == 3
    save_screenshot(window, "news_feedback")

    # The Calibration panel counts them as analyst outcomes.
    panel = _panel(window, qtbot)
    qtbot.waitUntil(lambda: "(3)" in panel.source_checks["analyst"].text(), timeout=ENGINE_TIMEOUT_MS)

    window.close()
    assert not client.is_running()
    store = Store(ui_data_dir / DB_FILE_NAME)  # the engine's own database, read after it closed
    try:
        repo = CalibrationRepository(store)
        stored = repo.outcomes(signals[0].model_id, signals[0].model_version, ["analyst"])
        assert len(stored) == 3
        by_id = {o.signal_id: o for o in stored}
        assert by_id[signals[0].id].correct is False and by_id[signals[0].id].label is None
        assert by_id[signals[1].id].label == other and by_id[signals[2].id].correct is True
    finally:
        store.close()

    # Reopened: the verdict marks come back with the history.
    client2 = EngineClient(Config(), ui_data_dir)
    try:
        window2 = start_window(qtbot, client2, monitor, log_bridge, settings)
        news2 = window2.news
        qtbot.waitUntil(lambda: news2.proxy.rowCount() == 3, timeout=ENGINE_TIMEOUT_MS)
        qtbot.waitUntil(lambda: news2.proxy.index(2, COL_VERDICT).data() == "✓ right", timeout=ENGINE_TIMEOUT_MS)
        assert news2.proxy.index(0, COL_VERDICT).data() == "✗ wrong"
        window2.close()
    finally:
        client2.shutdown()
