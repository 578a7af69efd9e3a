"""Calibration panel and analyst feedback against a real engine thread and a real data folder:
a labelled file through the UI action (progress, cancel), a refit refused and one accepted by
the engine's acceptance rule, reliability diagrams before and after, ECE/MCE/Brier, method
switch + refit, calibrated confidence in News, and feedback on
News rows recorded as outcomes (checked in the database itself after shutdown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QFileDialog

from app.bridge.desk import Desk
from engine.calibration.repository import CalibrationRepository
from engine.calibration.service import CalibrationService
from engine.config import Config
from engine.store import DB_FILE_NAME, Store
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, spy, start_window
from ui.models.signal_table import COL_CONFIDENCE, COL_VERDICT, SIGNAL_ROLE

ROOT = Path(__file__).resolve().parents[2]
# 300 rows of the TFNS train split's dev part: never sent_valid.csv, which only ever reports.
DEMO = ROOT / "resources" / "demo" / "tfns_dev_sample.csv"
HEADLINES = [
    "$AAPL surges after record earnings beat, raises guidance",
    "$TSLA plunges as regulators open probe into brake recall",
    "Federal Reserve holds interest rates steady, as expected",
]


@pytest.fixture
def desk(qtbot, ui_data_dir: Path):
    """1.0.0 by name: its shipped calibrator was fitted on 9,543 held-out TFNS rows, so 300 TFNS rows
    of an analyst's cannot beat it (the refusal below). 1.1.0's, fitted on the dev splits of three
    sources, can lose to a fit on one source's rows, and is then rightly replaced."""
    the_desk = Desk(Config(sentiment_model="finsent-minilm-l6"), ui_data_dir)
    yield the_desk
    assert the_desk.shutdown(), "engine threads did not stop"


def _panel(window, qtbot):
    window.tabs.setCurrentWidget(window.calibration)
    panel = window.calibration
    qtbot.waitUntil(lambda: panel.overview is not None and panel.model_combo.count() > 0, timeout=ENGINE_TIMEOUT_MS)
    return panel


def _cell(panel, row: int, col: int) -> str:
    return panel.metrics_table.item(row, col).text()


def _choose(combo, key: str) -> None:
    combo.setCurrentIndex(combo.findData(key))


def _noisy_copy(folder: Path) -> Path:
    """The demo rows with 40 % of the labels redrawn at random (seeded): the model is overconfident
    on this file, so a calibrator fitted to it beats the shipped one out of fold."""
    import csv
    import random

    rng = random.Random(7)
    with open(DEMO, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    path = folder / "noisy_labels.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows([r["text"], rng.choice("012") if rng.random() < 0.4 else r["label"]] for r in rows)
    return path


def _evaluate(panel, qtbot, monkeypatch, path: Path):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(path), "")))
    evaluated = spy(panel, "_on_labelled_evaluated")
    qtbot.mouseClick(panel.evaluate_button, Qt.MouseButton.LeftButton)
    assert panel.progress.isVisible() and panel.cancel_button.isVisible()
    assert not panel.evaluate_button.isEnabled()  # one file at a time
    qtbot.waitUntil(lambda: bool(evaluated), timeout=ENGINE_TIMEOUT_MS)
    del panel._on_labelled_evaluated  # the spy off: the next file gets a fresh one
    summary = evaluated[0]
    assert not summary.error and not summary.cancelled
    assert (summary.rows, summary.total, summary.skipped, summary.recorded) == (300, 300, 0, 300)
    return summary


def test_labelled_file_through_the_ui_then_diagrams_metrics_and_refit(window, qtbot, monkeypatch, tmp_path,
                                                                      ui_data_dir):
    desk = window._desk
    panel = _panel(window, qtbot)
    serving = desk.info.sentiment
    assert panel.selected() == (serving.model_id, serving.version)
    qtbot.waitUntil(lambda: panel.report is not None, timeout=ENGINE_TIMEOUT_MS)
    # No outcomes yet: the shipped calibrator's own reliability on the model card's report set
    # (2,388 TFNS validation rows), the diagrams behind the ECE the status line quotes.
    assert panel.report.before is None
    report_rows = panel._summary().shipped_diagrams[1].n
    assert report_rows == 2388
    assert panel.before_view.plotted_bins() >= 3 and sum(panel.before_view.count_bars.opts["height"]) == report_rows
    assert sum(panel.after_view.count_bars.opts["height"]) == report_rows
    assert "report set" in panel.before_view.plot.titleLabel.text and "shipped" in panel.after_view.plot.titleLabel.text
    qtbot.wait(100)
    save_screenshot(window, "calibration_panel_shipped")
    # No outcomes yet, but the model's shipped calibrator is active (fitted on held-out TFNS rows).
    assert "shipped with the model" in panel.status.text() and "0 outcomes stored" in panel.status.text()
    shipped = panel.report.calibrator

    progress = []
    shown = panel._on_labelled_progress
    panel._on_labelled_progress = lambda p: (progress.append((p.done, p.total, panel.progress.isVisible())), shown(p))
    # 300 clean demo rows reach the policy's minimum, but a fit on them is not better out of fold
    # than the shipped calibrator: refused, and the panel says why.
    clean = _evaluate(panel, qtbot, monkeypatch, DEMO)
    assert clean.calibrator == "" and "the last refit was refused (not better than the active" in clean.explanation
    assert progress[0][:2] == (0, 300) and progress[-1][:2] == (300, 300)
    assert all(visible for _, _, visible in progress)
    assert panel.progress.maximum() == 300 and panel.progress.value() == 300
    assert not panel.progress.isVisible() and panel.evaluate_button.isEnabled()
    assert "Recorded 300 outcomes" in panel.message.text() and "refit was refused" in panel.message.text()

    # A file on which the model is overconfident: the fit is better and becomes active.
    summary = _evaluate(panel, qtbot, monkeypatch, _noisy_copy(tmp_path))
    assert summary.calibrator and summary.calibrator != shipped
    assert "Recorded 300 outcomes" in panel.message.text() and summary.calibrator in panel.message.text()

    qtbot.waitUntil(lambda: panel.report is not None and panel.report.calibrator == summary.calibrator,
                    timeout=ENGINE_TIMEOUT_MS)
    report = panel.report
    assert report.before.n == report.after.n == 600
    # Before and after diagrams: bars in several bins, every outcome counted once in the histogram.
    assert panel.before_view.plotted_bins() >= 3 and panel.after_view.plotted_bins() >= 1
    for view in (panel.before_view, panel.after_view):
        assert sum(view.count_bars.opts["height"]) == 600
        assert view.diagram.n == 600
    assert summary.calibrator in panel.after_view.plot.titleLabel.text
    # ECE / MCE / Brier / accuracy / n, before and after, exactly as the engine computed them.
    assert _cell(panel, 0, 0) == f"{report.before.ece:.4f}" and _cell(panel, 0, 1) == f"{report.after.ece:.4f}"
    assert _cell(panel, 1, 0) == f"{report.before.mce:.4f}" and _cell(panel, 1, 1) == f"{report.after.mce:.4f}"
    assert _cell(panel, 2, 0) == f"{report.before.brier:.4f}" and _cell(panel, 2, 1) == f"{report.after.brier:.4f}"
    assert _cell(panel, 4, 0) == "600"
    assert report.in_sample and "in-sample" in panel.metrics_table.horizontalHeaderItem(1).text()
    assert report.holdout and _cell(panel, 0, 2) == f"{report.holdout['after']['ece']:.4f}"  # honest figure
    assert report.after.ece < report.before.ece
    assert "labelled" in panel.source_checks["labelled_file"].text().lower()
    assert "(600)" in panel.source_checks["labelled_file"].text()
    assert summary.calibrator in panel.status.text()
    save_screenshot(window, "calibration_panel")

    # Method switch: Platt has a scheme to pick, temperature scaling (multi-class only) has none.
    _choose(panel.method_combo, "platt")
    assert panel.scheme_combo.isEnabled()
    _choose(panel.method_combo, "temperature")
    assert not panel.scheme_combo.isEnabled()
    # Refitting the active calibrator's own method on the same outcomes cannot be better: refused
    # with the reason (the engine's acceptance rule), and the active calibrator stays.
    active_method = summary.calibrator.split("/")[0]
    _choose(panel.method_combo, active_method)
    with qtbot.waitSignal(desk.calibration.refitted, timeout=ENGINE_TIMEOUT_MS) as blocker:
        qtbot.mouseClick(panel.refit_button, Qt.MouseButton.LeftButton)
        assert not panel.refit_button.isEnabled() and panel.refit_button.text() == "Refitting…"
    refit = blocker.args[0]
    assert refit.calibrator == "" and refit.error.startswith(f"not better than the active {summary.calibrator}")
    assert panel.refit_button.isEnabled() and "not better than the active" in panel.message.text()
    assert panel.report.calibrator == summary.calibrator
    # Both diagrams of the refused fit, on the same out-of-fold rows, in place of before/after.
    assert panel.comparison.isVisible() and not panel.diagrams.isVisible()
    assert refit.verdict.compared > 0
    for view in (panel.comparison.active_view, panel.comparison.candidate_view):
        assert view.plotted_bins() >= 1 and sum(view.count_bars.opts["height"]) == refit.verdict.compared
    assert summary.calibrator in panel.comparison.active_view.plot.titleLabel.text
    assert "Refit refused" in panel.comparison.summary.text()
    qtbot.wait(100)  # the layout settles before the picture
    save_screenshot(window, "calibration_panel_refused")
    qtbot.mouseClick(panel.comparison.keep_button, Qt.MouseButton.LeftButton)  # keep: back to before/after
    assert not panel.comparison.isVisible() and panel.diagrams.isVisible()

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
    assert sig.calibrated_confidence is not None and sig.calibrator == summary.calibrator
    assert news.proxy.index(0, COL_CONFIDENCE).data() == f"{sig.calibrated_confidence:.0%}"
    tip = news.proxy.index(0, COL_CONFIDENCE).data(Qt.ItemDataRole.ToolTipRole)
    assert f"raw {sig.confidence:.1%}, {sig.calibrator}" in tip
    assert sig.first_shown.confidence == sig.calibrated_confidence  # recorded as shown

    # The operator makes a refused fit active after all: audited, and the headline already shown
    # keeps its figure, with the new view beside it once re-read.
    window.tabs.setCurrentWidget(panel)
    _choose(panel.method_combo, active_method)
    with qtbot.waitSignal(desk.calibration.refitted, timeout=ENGINE_TIMEOUT_MS):
        panel.refit()
    assert panel.comparison.isVisible()
    with qtbot.waitSignal(desk.calibration.refitted, timeout=ENGINE_TIMEOUT_MS) as confirmed:
        qtbot.mouseClick(panel.comparison.confirm_button, Qt.MouseButton.LeftButton)
    forced = confirmed.args[0]
    assert forced.calibrator and forced.confirmed_by and "confirmed by" in panel.message.text()
    assert not panel.comparison.isVisible()
    store = Store(ui_data_dir / DB_FILE_NAME)  # a second reader of the desk's own database
    try:
        service = CalibrationService(store)
        reread = service.attach([store.get_signal(sig.id)])[0]
        assert reread.first_shown == sig.first_shown and reread.calibrator == forced.calibrator
        audit = service.repo.audit_entries(sig.model_id)
        assert [e["action"] for e in audit][-2:] == ["refused", "confirmed"]
        assert audit[-1]["who"] == forced.confirmed_by
    finally:
        store.close()


def test_cancelled_or_unusable_files_record_nothing(window, qtbot, tmp_path):
    panel = _panel(window, qtbot)
    evaluated = spy(panel, "_on_labelled_evaluated")
    # Cancel pressed before the lane even starts still applies (per-request cancel).
    panel.evaluate_file(DEMO)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    assert panel.cancel_button.text() == "Cancelling…"
    qtbot.waitUntil(lambda: len(evaluated) == 1, timeout=ENGINE_TIMEOUT_MS)
    assert evaluated[0].cancelled and evaluated[0].recorded == 0
    assert "Cancelled" in panel.message.text() and "nothing was recorded" in panel.message.text()
    assert not panel.progress.isVisible() and panel.evaluate_button.isEnabled()

    bad = tmp_path / "no_labels.csv"
    bad.write_text("headline,sentiment\nStocks rise,1\n", encoding="utf-8")
    panel.evaluate_file(bad)
    qtbot.waitUntil(lambda: len(evaluated) == 2, timeout=ENGINE_TIMEOUT_MS)
    assert evaluated[1].error and panel.message.property("kind") == "error"
    assert "missing column" in panel.message.text()
    panel.refresh()
    qtbot.waitUntil(lambda: panel.overview is not None and panel.overview.models[0].outcomes == 0,
                    timeout=ENGINE_TIMEOUT_MS)


def test_analyst_feedback_on_news_rows_is_recorded_and_survives_a_restart(qtbot, desk, monitor, log_bridge,
                                                                           settings, ui_data_dir):
    window = start_window(qtbot, desk, monitor, log_bridge, settings)
    news = window.news
    news.paste_box.setPlainText("\n".join(HEADLINES))
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.proxy.rowCount() == 3, timeout=ENGINE_TIMEOUT_MS)
    assert not news.feedback.wrong_button.isEnabled()  # nothing selected yet
    signals = [news.proxy.index(r, 0).data(SIGNAL_ROLE) for r in range(3)]

    def select(row: int) -> None:
        news.table.selectionModel().select(news.proxy.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                           | QItemSelectionModel.SelectionFlag.Rows)

    results = []
    desk.feedback.recorded.connect(results.append)
    # Row 0: wrong, by keyboard on the table, with a note.
    select(0)
    assert news.feedback.wrong_button.isEnabled()
    news.feedback.note.setText("guidance was cut, not raised")
    news.table.setFocus()
    qtbot.keyClick(news.table, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=ENGINE_TIMEOUT_MS)
    assert results[0].correct is False and results[0].outcomes == 1
    assert news.proxy.index(0, COL_VERDICT).data() == "✗ wrong"
    assert news.message.isVisible() and f"signal #{signals[0].id} marked wrong" in news.message.text()
    assert news.feedback.note.text() == ""  # the note went with the verdict
    # Row 1: the right label, from the combo (a label other than the predicted one).
    select(1)
    other = next(lab for lab in ("neutral", "bullish") if lab != signals[1].label)
    news.feedback.label_combo.activated.emit(news.feedback.label_combo.findData(other))
    qtbot.waitUntil(lambda: len(results) == 2, timeout=ENGINE_TIMEOUT_MS)
    assert results[1].outcomes == 2 and results[1].correct is False and results[1].label == other
    assert news.proxy.index(1, COL_VERDICT).data() == f"✗ → {other}"
    assert news.feedback.label_combo.currentIndex() == 0
    # Row 2: right, from the context-menu action.
    select(2)
    news.feedback.mark_right_action.trigger()
    qtbot.waitUntil(lambda: len(results) == 3, timeout=ENGINE_TIMEOUT_MS)
    assert results[2].outcomes == 3 and results[2].correct is True
    assert news.proxy.index(2, COL_VERDICT).data() == "✓ right"
    assert news.feedback.mark_right_action in news.table.actions()
    # Marking row 0 again replaces its verdict rather than adding an outcome.
    select(0)
    news.feedback.wrong_button.click()
    qtbot.waitUntil(lambda: len(results) == 4, timeout=ENGINE_TIMEOUT_MS)
    assert results[3].outcomes == 3
    save_screenshot(window, "news_feedback")

    # The Calibration panel counts them as analyst outcomes.
    panel = _panel(window, qtbot)
    qtbot.waitUntil(lambda: "(3)" in panel.source_checks["analyst"].text(), timeout=ENGINE_TIMEOUT_MS)

    window.close()
    assert not desk.is_running()
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

    # Reopened: the table starts with this session's pastes (none); the stored history is one
    # click away, with its verdict marks.
    desk2 = Desk(Config(), ui_data_dir)
    try:
        window2 = start_window(qtbot, desk2, monitor, log_bridge, settings)
        news2 = window2.news
        qtbot.waitUntil(lambda: len(news2._history) == 3, timeout=ENGINE_TIMEOUT_MS)
        assert news2.proxy.rowCount() == 0 and news2.row_count.text() == "0 pasted this session"
        qtbot.mouseClick(news2.history_button, Qt.MouseButton.LeftButton)
        assert news2.history_action.isChecked()
        assert news2.proxy.rowCount() == 3 and "3 from earlier sessions" in news2.row_count.text()
        qtbot.waitUntil(lambda: news2.proxy.index(2, COL_VERDICT).data() == "✓ right", timeout=ENGINE_TIMEOUT_MS)
        assert news2.proxy.index(0, COL_VERDICT).data() == "✗ wrong"
        qtbot.mouseClick(news2.history_button, Qt.MouseButton.LeftButton)  # back to this session's
        assert news2.proxy.rowCount() == 0 and settings.value("news/showStoredHistory") == "false"
        window2.close()
    finally:
        desk2.shutdown()
