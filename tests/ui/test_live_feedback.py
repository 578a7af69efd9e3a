"""Verdicts from the Live tab (#21.1): right / wrong / the right label on a live row are stored as
analyst labels with who, when and the model version that scored the row, through the same feedback
feature as Paste & score. A real Desk and data folder; the rows are real stored signals.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.bridge.desk import Desk
from engine.config import Config
from engine.users import current_user
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot
from ui.panels.live_news import LiveNewsPanel

NEWS = ["Exxon profit drops as oil prices fall", "Apple shares rise as iPhone demand stays strong"]


@pytest.fixture
def desk(qtbot, ui_data_dir):
    the_desk = Desk(Config(), ui_data_dir)
    with qtbot.waitSignal(the_desk.ready, timeout=ENGINE_TIMEOUT_MS):
        the_desk.start()
    yield the_desk
    assert the_desk.shutdown(), "engine threads did not stop"


def _labels(qtbot, desk) -> list:
    read: list = []
    desk.explain.op("Reading labels", lambda ctx: ctx.engine.desk.labels()).on_success(read.append).run()
    qtbot.waitUntil(lambda: bool(read), timeout=ENGINE_TIMEOUT_MS)
    return read[0]


def test_live_row_verdicts_become_analyst_labels(qtbot, desk) -> None:
    panel = LiveNewsPanel(desk.live, desk.explain, feedback=desk.feedback)
    qtbot.addWidget(panel)
    panel.resize(1300, 800)
    panel.show()
    bar = panel.feedback
    assert bar is not None and not bar.right_button.isEnabled()  # nothing selected yet

    stored: list = []
    desk.explain.op("Scoring", lambda ctx: ctx.engine.analyze_batch(NEWS)).on_success(stored.extend).run()
    qtbot.waitUntil(lambda: len(stored) == 2, timeout=ENGINE_TIMEOUT_MS)
    panel.apply_filter()  # the first page, read again from SQLite
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=ENGINE_TIMEOUT_MS)
    row_of = {panel.model.row_at(r).text: r for r in range(2)}

    panel.table.selectRow(row_of[NEWS[0]])
    assert bar.right_button.isEnabled()
    menu = panel.row_menu(row_of[NEWS[0]])
    assert bar.mark_wrong_action in menu.actions()  # the row's context menu carries the verdicts too
    qtbot.mouseClick(bar.right_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message.text().startswith("Recorded"), timeout=ENGINE_TIMEOUT_MS)

    panel.table.selectRow(row_of[NEWS[1]])
    bar.label_combo.activated.emit(bar.label_combo.findText("bearish"))
    qtbot.waitUntil(lambda: "right label bearish" in panel.message.text(), timeout=ENGINE_TIMEOUT_MS)
    save_screenshot(panel, "live_feedback_recorded")

    labels = {lab.text: lab for lab in _labels(qtbot, desk)}
    by_id = {s.text: s for s in stored}
    for text, verdict, label in ((NEWS[0], "right", by_id[NEWS[0]].label), (NEWS[1], None, "bearish")):
        lab = labels[text]
        assert lab.signal_id == by_id[text].id and lab.analyst == current_user() and lab.created_at > 0
        assert (lab.model_id, lab.model_version) == (by_id[text].model_id, by_id[text].model_version)
        assert lab.label == label and lab.origin == "feedback"
        if verdict:
            assert lab.verdict == verdict
