"""The idea detail (#18 items 5 and 7) in the real window on a real engine: ranked evidence with
click-through, the revision history, the asset chart with the revision's levels, prices at the
tick, and decisions on the newest and on an older revision (all audited).

Demo prices go in through the engine API (as Ideas → Load demo prices); headlines through News.
"""

from __future__ import annotations

import re

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication

from tests.conftest import db_with_demo_prices
from tests.ui.conftest import ENGINE_TIMEOUT_MS, analyze_in_news, save_screenshot, start_window

FIRST = ["$ZEPH plunges as auditors resign amid fraud probe",
         "Zephyr Biotech shares crash as fraud probe widens",
         "$ZEPH plunges as auditors resign amid fraud probe!"]  # a re-post: one story, two copies
LATER = ["Zephyr Biotech halts trading after regulator opens fraud case"]


def _zeph(panel):
    return next((i for i in panel.model.ideas() if i.symbol == "ZEPH"), None)


def test_idea_detail_evidence_history_chart_and_decisions_on_revisions(qtbot, ui_data_dir, desk, monitor,
                                                                       log_bridge, settings):
    db_with_demo_prices(ui_data_dir)
    window = start_window(qtbot, desk, monitor, log_bridge, settings)
    window.resize(1366, 768)
    panel = window.ideas
    analyze_in_news(qtbot, window, FIRST)
    qtbot.waitUntil(lambda: _zeph(panel) is not None, timeout=ENGINE_TIMEOUT_MS)
    window.tabs.setCurrentWidget(panel)
    r1 = _zeph(panel)
    assert (r1.title, r1.direction, r1.status, r1.current) == ("idea 1 r1", "short", "open", True)
    assert panel.select_idea(r1.id)
    area = panel.detail_area

    # Ranked evidence: each story once, with its copies; the history; the chart with the levels at the tick.
    qtbot.waitUntil(lambda: area.history is not None and "Opened" in panel.detail.toPlainText(),
                    timeout=ENGINE_TIMEOUT_MS)
    text = panel.detail.toPlainText()
    evidence = r1.evidence
    assert len(evidence) == 2 and sum(len(item["copies"]) for item in evidence) == 3
    positions = [text.index(item["headline"]) for item in evidence]
    assert positions == sorted(positions)  # in the engine's rank order
    assert "Evidence, ranked" in text and "1 duplicate copy counted once" in text
    assert "opens at ±0.30" in text
    assert "2 copies" in text and "calibrated (raw" in text and "weight 0." in text
    assert "Stale market data: the last bar is from 2024-05-10" in text
    # Table cells come out of toPlainText separated by whitespace.
    assert re.search(rf"Take-profit\s+{r1.take_profit:.2f} \(", text), text
    assert re.search(rf"Entry \(last close\)\s+{r1.entry:.2f}\s", text)
    assert not re.search(r"\d+\.\d{3,}", text.split("Sizing steps")[0]), "a price printed past the tick"
    qtbot.waitUntil(lambda: area.chart.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    assert area.chart.level_texts() == [f"entry {r1.entry:.2f}", f"stop {r1.stop_loss:.2f}",
                                        f"target {r1.take_profit:.2f}"]
    assert {m.signal_id for m in area.chart.markers} == {item["signal_id"] for item in evidence}

    # Click through from the evidence list to the signal.
    top = evidence[0]
    panel.detail.anchorClicked.emit(QUrl(f"signal:{top['signal_id']}"))
    qtbot.waitUntil(lambda: area.signal_dialog.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    assert area.signal_dialog.windowTitle() == f"Signal #{top['signal_id']}"
    assert "ZEPH" in area.signal_dialog.headline.text()
    area.signal_dialog.close()

    # New evidence revises the idea: r2 replaces r1 in the queue, the history shows both.
    analyze_in_news(qtbot, window, LATER)
    qtbot.waitUntil(lambda: _zeph(panel) is not None and _zeph(panel).revision == 2, timeout=ENGINE_TIMEOUT_MS)
    window.tabs.setCurrentWidget(panel)
    r2 = _zeph(panel)
    assert r2.idea_no == r1.idea_no and r2.change
    assert [i.id for i in panel.model.ideas() if i.symbol == "ZEPH"] == [r2.id]
    assert panel.select_idea(r2.id)
    qtbot.waitUntil(lambda: area.history is not None and len(area.history.revisions) == 2
                    and "Revised" in panel.detail.toPlainText(), timeout=ENGINE_TIMEOUT_MS)
    assert len(r2.evidence) == 3
    assert panel.approve_button.isEnabled() and panel.edit_button.isEnabled() and panel.reject_button.isEnabled()
    panel.detail.verticalScrollBar().setValue(0)
    QApplication.processEvents()
    save_screenshot(window, "idea_detail_revision")
    for anchor in ("evidence", "history"):
        panel.detail.scrollToAnchor(anchor)
        save_screenshot(area, f"idea_detail_{anchor}")

    # An older revision, picked in the history: only reject applies, and it is audited.
    panel.detail.anchorClicked.emit(QUrl(f"revision:{r1.id}"))
    qtbot.waitUntil(lambda: panel.selected_idea().id == r1.id and panel.audit_entries() is not None,
                    timeout=ENGINE_TIMEOUT_MS)
    assert "superseded" in panel.detail.toPlainText()
    assert not panel.approve_button.isEnabled() and not panel.edit_button.isEnabled()
    assert panel.reject_button.isEnabled()
    panel.decide_selected("reject")
    dialog = panel.decision_dialog
    dialog.note.setPlainText("Superseded; the first read was too early.")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.selected_idea().state == "rejected" and panel.audit_entries() is not None
                    and [a.action for a in panel.audit_entries()] == ["propose", "reject"], timeout=ENGINE_TIMEOUT_MS)
    assert panel.audit_entries()[-1].note == "Superseded; the first read was too early."
    assert [i.id for i in panel.model.ideas() if i.symbol == "ZEPH"] == [r2.id]  # the queue keeps the newest

    # The newest revision: approved with the key, as before.
    assert panel.select_idea(r2.id)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: panel.model.idea(r2.id).state == "approved", timeout=ENGINE_TIMEOUT_MS)
