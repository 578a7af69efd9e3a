"""Ideas panel against a real engine thread and a real data folder: the review flow end to end.

Demo prices go in through the engine API (what ``signaldesk prices import --demo`` calls),
headlines go in through the News panel, ideas come out of the engine, and every decision is
made with the panel's keys and dialogs. Then the app is closed and reopened on the same
folder, and the ideas are exported.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from app.bridge.desk import Desk
from engine.config import Config
from tests.conftest import db_with_demo_prices
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, start_window
from ui.models.idea_table import COL_SIZE, COL_STATE, COL_SYMBOL, IDEA_ROLE

HEADLINES = [
    "$ACME beats estimates and raises guidance, shares surge",  # bull trend: follow, long
    "$DUNE plunges as orders collapse and guidance is cut",  # bear trend, stretched down: fade, long
    "$ZEPH plunges as auditors resign amid fraud probe",  # crash: follow, short
    "$VOLT soars on takeover bid, record profit",  # high vol: follow, long
    "$FXEU edges higher",  # neutral: no idea
    "$AAPL unveils a phone",  # no market data: no idea
]


@pytest.fixture
def demo_prices(ui_data_dir: Path) -> Path:
    db_with_demo_prices(ui_data_dir)
    return ui_data_dir


@pytest.fixture
def ideas_window(qtbot, demo_prices, desk, monitor, log_bridge, settings):
    return start_window(qtbot, desk, monitor, log_bridge, settings)


def _visible(panel) -> list:
    return [panel.proxy.index(r, 0).data(IDEA_ROLE) for r in range(panel.proxy.rowCount())]


def _by_symbol(panel) -> dict:
    return {idea.symbol: idea for idea in panel.model.ideas()}


def _wait_state(qtbot, panel, idea_id: int, state: str) -> None:
    qtbot.waitUntil(lambda: panel.model.idea(idea_id).state == state, timeout=ENGINE_TIMEOUT_MS)


def _wait_audit(qtbot, panel, idea_id: int, count: int) -> list:
    assert panel.select_idea(idea_id)
    qtbot.waitUntil(lambda: panel.audit_entries() is not None and len(panel.audit_entries()) == count,
                    timeout=ENGINE_TIMEOUT_MS)
    return list(panel.audit_entries())


def test_review_flow_decisions_audit_restart_and_export(qtbot, ideas_window, desk, monitor, log_bridge,
                                                        settings, ui_data_dir, tmp_path, monkeypatch):
    window = ideas_window
    panel = window.ideas
    window.tabs.setCurrentWidget(panel)
    assert "Nothing is ever executed" in panel.notice.text()
    qtbot.waitUntil(lambda: panel.portfolio_label.text().startswith("<b>Approved ideas:</b> 0"),
                    timeout=ENGINE_TIMEOUT_MS)
    assert panel.empty_hint.isVisible() and panel.model.rowCount() == 0

    # Headlines through News; the engine proposes ideas after scoring them.
    window.tabs.setCurrentWidget(window.news)
    window.news.paste_box.setPlainText("\n".join(HEADLINES))
    qtbot.mouseClick(window.news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 4, timeout=ENGINE_TIMEOUT_MS)
    window.tabs.setCurrentWidget(panel)
    ideas = _by_symbol(panel)
    assert set(ideas) == {"ACME", "DUNE", "ZEPH", "VOLT"}
    assert {s: (i.direction, i.strategy, i.regime) for s, i in ideas.items()} == {
        "ACME": ("long", "follow_news", "bull_trend"),
        "DUNE": ("long", "fade_stretched_move", "bear_trend"),
        "ZEPH": ("short", "follow_news", "crash"),
        "VOLT": ("long", "follow_news", "high_vol"),
    }
    assert not panel.empty_hint.isVisible()
    assert panel.filters.count_label.text() == "4 ideas"
    acme, dune, zeph, volt = (ideas[s] for s in ("ACME", "DUNE", "ZEPH", "VOLT"))

    # Filters: regime, symbol prefix (any case), strategy, risk level; then back to the queue.
    panel.filters.regime_filter.setCurrentIndex(panel.filters.regime_filter.findData("crash"))
    assert [i.symbol for i in _visible(panel)] == ["ZEPH"]
    assert panel.filters.count_label.text() == "1 of 4 ideas shown"
    panel.filters.regime_filter.setCurrentIndex(0)
    panel.filters.symbol_filter.setText("du")
    assert [i.symbol for i in _visible(panel)] == ["DUNE"]
    panel.filters.symbol_filter.clear()
    panel.filters.strategy_filter.setCurrentIndex(panel.filters.strategy_filter.findData("fade_stretched_move"))
    assert [i.symbol for i in _visible(panel)] == ["DUNE"]
    panel.filters.strategy_filter.setCurrentIndex(0)
    panel.filters.risk_filter.setCurrentIndex(panel.filters.risk_filter.findData("high"))
    assert {i.symbol for i in _visible(panel)} == {i.symbol for i in ideas.values() if i.risk_level == "high"}
    panel.filters.risk_filter.setCurrentIndex(0)
    assert len(_visible(panel)) == 4 and panel.filters.state_filter.currentData() == "proposed"
    # A letter typed into the symbol box is text, not a decision.
    qtbot.keyClicks(panel.filters.symbol_filter, "a")
    assert panel.filters.symbol_filter.text() == "a" and not panel._pending
    panel.filters.symbol_filter.clear()

    # A approves the current row; the queue ("To review") moves on to the next idea.
    assert panel.select_idea(acme.id)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_A)
    _wait_state(qtbot, panel, acme.id, "approved")
    assert acme.id not in {i.id for i in _visible(panel)}
    assert panel.selected_idea() is not None and panel.selected_idea().state == "proposed"
    assert "approved" in panel.message.text() and "Nothing was executed" in panel.message.text()
    qtbot.waitUntil(lambda: "<b>Approved ideas:</b> 1" in panel.portfolio_label.text(), timeout=ENGINE_TIMEOUT_MS)
    assert f"{acme.size:.1%}" in panel.portfolio_label.text()

    # R opens the note dialog; an empty note is refused inline and nothing is sent.
    assert panel.select_idea(zeph.id)
    qtbot.keyClick(panel.table, Qt.Key.Key_R)
    dialog = panel.decision_dialog
    assert dialog is not None and dialog.isVisible() and dialog.decision == "reject"
    dialog.note.setPlainText("   ")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.error.isVisible() and "note is required" in dialog.error.text()
    assert not panel._pending
    save_screenshot(dialog, "ideas_reject_needs_note")
    dialog.note.setPlainText("Auditor story unconfirmed; wait for a filing.")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    _wait_state(qtbot, panel, zeph.id, "rejected")
    assert panel.decision_dialog is None

    # The engine is the authority: a reject without a note sent straight to it is refused,
    # shown inline, and changes nothing.
    panel.request_decision(dune.id, "reject", "")
    qtbot.waitUntil(lambda: panel.message.property("kind") == "error", timeout=ENGINE_TIMEOUT_MS)
    assert f"Idea #{dune.id} was not rejected" in panel.message.text()
    assert "note is required" in panel.message.text()
    assert panel.model.idea(dune.id).state == "proposed"
    assert [a.action for a in _wait_audit(qtbot, panel, dune.id, 1)] == ["propose"]

    # E edits the size: the spin box stops at the idea's limit; a note is required.
    parses = panel.detail.snapshot_parses
    qtbot.keyClick(panel.table, Qt.Key.Key_E)
    dialog = panel.decision_dialog
    spin = dialog.size_spin
    assert spin.minimum() == pytest.approx(0.01) and spin.maximum() == pytest.approx(dune.size_limit * 100)
    spin.setValue(dune.size_limit * 100 + 50)
    assert spin.value() == pytest.approx(dune.size_limit * 100)  # cannot go above the limit
    new_size = round(dune.size / 2, 4)
    spin.setValue(new_size * 100)
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "note is required" in dialog.error.text()
    dialog.note.setPlainText("Half size: the bounce is on thin volume.")
    qtbot.mouseClick(dialog.buttons.button(dialog.buttons.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.idea(dune.id).size == pytest.approx(new_size), timeout=ENGINE_TIMEOUT_MS)
    edited = panel.model.idea(dune.id)
    assert edited.state == "proposed" and edited.proposed_size == dune.proposed_size
    row = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(dune.id), 0)).row()
    assert panel.proxy.index(row, COL_SIZE).data() == f"✎ {new_size:.2%}"

    # Every decision is in the audit trail, with the note and who made it.
    trail = _wait_audit(qtbot, panel, dune.id, 2)
    assert [(a.action, a.from_state, a.to_state) for a in trail] == [
        ("propose", None, "proposed"), ("edit_size", "proposed", "proposed")]
    assert trail[-1].note == "Half size: the bounce is on thin volume."
    assert trail[-1].size_before == dune.size and trail[-1].size_after == pytest.approx(new_size)
    assert trail[-1].actor and trail[-1].actor != "engine"
    assert panel.detail.snapshot_parses == parses  # same idea, same snapshot: the JSON is not parsed again
    text = panel.detail.toPlainText()
    scoring_model = dune.snapshot["model_versions"]["sentiment"].split("@")[0]  # whichever model serves
    for words in ("Rationale", "Sizing steps", "Stop-loss", "Take-profit", "Risk: ", "Regime: bear trend",
                  "Market features", "Evidence, ranked", "History", scoring_model, "edit_size", "thin volume",
                  "nothing is executed or sent as an order"):
        assert words in text, words

    # The whole book: all states, newest first; the detail shows the edited idea.
    panel.filters.set_state(None)
    assert len(_visible(panel)) == 4
    assert panel.select_idea(dune.id)
    states = {panel.proxy.index(r, COL_SYMBOL).data(): panel.proxy.index(r, COL_STATE).data()
              for r in range(panel.proxy.rowCount())}
    assert states == {"ACME": "approved", "DUNE": "proposed", "ZEPH": "rejected", "VOLT": "proposed"}
    save_screenshot(window, "ideas_review_queue")
    panel.detail.verticalScrollBar().setValue(panel.detail.verticalScrollBar().maximum())
    save_screenshot(panel.detail, "ideas_detail_audit")

    # Export CSV and JSON through the panel (the save dialog answered by the monkeypatch).
    for name, chosen in (("ideas.csv", "CSV files (*.csv)"), ("ideas", "JSON with snapshots and audit (*.json)")):
        target = tmp_path / name
        monkeypatch.setattr(QFileDialog, "getSaveFileName",
                            staticmethod(lambda *a, t=target, c=chosen, **k: (str(t), c)))
        panel.message.clear()
        qtbot.keyClick(panel.table, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        qtbot.waitUntil(lambda: panel.message.text().startswith("Exported"), timeout=ENGINE_TIMEOUT_MS)
        assert "4 ideas" in panel.message.text()
    with open(tmp_path / "ideas.csv", encoding="utf-8", newline="") as fh:
        rows = {r["symbol"]: r for r in csv.DictReader(fh)}
    assert {s: r["state"] for s, r in rows.items()} == states
    assert rows["ZEPH"]["last_note"] == "Auditor story unconfirmed; wait for a filing."
    assert rows["DUNE"]["last_decision"] == "edit_size" and float(rows["DUNE"]["size"]) == pytest.approx(new_size)
    payload = json.loads((tmp_path / "ideas.json").read_text(encoding="utf-8"))  # suffix added
    assert "Nothing was sent" in payload["notice"]
    exported = {i["symbol"]: i for i in payload["ideas"]}
    assert [a["action"] for a in exported["ACME"]["audit"]] == ["propose", "approve"]
    assert exported["DUNE"]["snapshot"]["sizing"]["fraction"] == dune.proposed_size

    # Close the app; reopen on the same data folder: the decisions are still there.
    window.close()
    assert not desk.is_running()
    desk2 = Desk(Config(), ui_data_dir)
    try:
        window2 = start_window(qtbot, desk2, monitor, log_bridge, settings)
        panel2 = window2.ideas
        qtbot.waitUntil(lambda: panel2.model.rowCount() == 4, timeout=ENGINE_TIMEOUT_MS)
        again = _by_symbol(panel2)
        assert {s: i.state for s, i in again.items()} == states
        assert again["DUNE"].size == pytest.approx(new_size)
        # The queue ("To review") holds what is still undecided, newest first.
        assert [i.id for i in _visible(panel2)] == sorted([again["DUNE"].id, again["VOLT"].id], reverse=True)
        panel2.filters.set_state("rejected")
        trail = _wait_audit(qtbot, panel2, again["ZEPH"].id, 2)
        assert trail[-1].action == "reject" and "Auditor story" in trail[-1].note
        qtbot.waitUntil(lambda: "<b>Approved ideas:</b> 1" in panel2.portfolio_label.text(),
                        timeout=ENGINE_TIMEOUT_MS)
        window2.close()
    finally:
        assert desk2.shutdown()


def test_demo_prices_button_then_propose_from_stored_news(window, qtbot):
    panel = window.ideas
    news = window.news
    news.paste_box.setPlainText("$ACME beats estimates and raises guidance, shares surge")
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.model.rowCount() == 1 and news.analyze_button.isEnabled(),
                    timeout=ENGINE_TIMEOUT_MS)
    assert panel.model.rowCount() == 0  # no market data yet, so no idea

    window.tabs.setCurrentWidget(panel)
    qtbot.mouseClick(panel.demo_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message.text().startswith("Imported"), timeout=ENGINE_TIMEOUT_MS)
    for symbol in ("ACME", "DUNE", "FXEU", "VOLT", "ZEPH"):
        assert symbol in panel.message.text()
    assert "synthetic" in panel.message.text()

    qtbot.mouseClick(panel.propose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: panel.message.text().startswith("Proposed 1 new idea"), timeout=ENGINE_TIMEOUT_MS)
    assert panel.selected_idea().symbol == "ACME"  # the queue selects its first idea
    qtbot.waitUntil(lambda: "Audit trail" in panel.detail.toPlainText()
                    and "propose" in panel.detail.toPlainText(), timeout=ENGINE_TIMEOUT_MS)

    # Proposing again finds nothing new: the same (signal, symbol) is never proposed twice.
    qtbot.mouseClick(panel.propose_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.message.text().startswith("Proposed 0 new ideas"), timeout=ENGINE_TIMEOUT_MS)
    assert "already proposed" in panel.message.toolTip()
    assert panel.model.rowCount() == 1
