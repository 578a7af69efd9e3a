"""Ideas panel with a calibrator stored for the serving sentiment model: the Conf. column
shows the calibrated confidence, the tooltip and the detail view keep the raw one beside it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.calibration.calibrators import make_calibrator
from engine.calibration.repository import CalibrationRepository
from engine.models.registry import shipped_specs
from engine.store import DB_FILE_NAME, Store
from tests.conftest import db_with_demo_prices
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, start_window
from ui.models.idea_table import COL_CONFIDENCE, COLUMNS

HEADLINES = [
    "$ACME beats estimates and raises guidance, shares surge",
    "$DUNE plunges as orders collapse and guidance is cut",
    "$ZEPH plunges as auditors resign amid fraud probe",
    "$VOLT soars on takeover bid, record profit",
]


@pytest.fixture
def calibrated_data(ui_data_dir: Path) -> dict[str, str]:
    """Demo prices, and an overconfident-model Platt calibrator for every shipped sentiment model
    version (whichever the engine picks on this machine): model id -> calibrator label."""
    db_with_demo_prices(ui_data_dir)
    rng = np.random.default_rng(11)
    conf = rng.uniform(0.34, 1.0, 4000)
    correct = rng.uniform(size=conf.size) < 0.15 + 0.7 * conf  # says 0.97, right ~83% of the time
    store = Store(ui_data_dir / DB_FILE_NAME)
    try:
        repo = CalibrationRepository(store)
        return {spec.id: repo.save_calibrator(spec.id, spec.version,
                                              make_calibrator("platt").fit_correctness(conf, correct),
                                              len(conf), {}).label
                for spec in shipped_specs(ui_data_dir) if spec.task == "sentiment"}
    finally:
        store.close()


def test_conf_column_shows_calibrated_confidence_with_the_raw_one_kept(qtbot, calibrated_data, desk, monitor,
                                                                       log_bridge, settings):
    window = start_window(qtbot, desk, monitor, log_bridge, settings)
    window.resize(1400, 860)
    news, panel = window.news, window.ideas
    news.paste_box.setPlainText("\n".join(HEADLINES))
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.model.rowCount() == len(HEADLINES) and news.analyze_button.isEnabled(),
                    timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: panel.model.rowCount() >= 2, timeout=ENGINE_TIMEOUT_MS)
    window.tabs.setCurrentWidget(panel)

    serving = desk.info.sentiment.model_id
    label = calibrated_data[serving]
    ideas = panel.model.ideas()
    for idea in ideas:
        # Overconfident raw scores come down; the raw one is kept beside the calibrated one.
        assert idea.calibrator == label and idea.confidence < idea.raw_confidence
        if idea.strategy == "follow_news":  # fades use the configured fade prior instead
            assert idea.snapshot["sizing"]["win_probability"] == pytest.approx(min(idea.confidence, 0.75))
        row = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(idea.id), 0)).row()
        cell = panel.proxy.index(row, COL_CONFIDENCE)
        assert cell.data() == f"{idea.confidence:.0%}"
        tip = cell.data(Qt.ItemDataRole.ToolTipRole)
        assert f"Calibrated {idea.confidence:.1%}" in tip and f"raw {idea.raw_confidence:.1%}" in tip and label in tip
    assert "calibrated" in panel.model.headerData(COL_CONFIDENCE, Qt.Orientation.Horizontal,
                                                  Qt.ItemDataRole.ToolTipRole)
    assert COLUMNS[COL_CONFIDENCE] == "Conf."

    top = max(ideas, key=lambda i: i.confidence)
    assert panel.select_idea(top.id)
    qtbot.waitUntil(lambda: "Audit trail" in panel.detail.toPlainText() and panel.audit_entries() is not None,
                    timeout=ENGINE_TIMEOUT_MS)
    text = panel.detail.toPlainText()
    assert f"confidence {top.confidence:.0%} (raw {top.raw_confidence:.0%}, {label})" in text
    assert f"calibrated (raw {top.snapshot['trigger_signal']['confidence']:.0%}, {label})" in text  # rationale
    assert f"raw {top.raw_confidence:.0%}, {label}" in text  # the News and Confidence rows
    save_screenshot(window, "ideas_calibrated_confidence")
    panel.detail.verticalScrollBar().setValue(panel.detail.verticalScrollBar().maximum())
    save_screenshot(panel.detail, "ideas_calibrated_confidence_detail")
