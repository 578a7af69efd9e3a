"""Keyboard and menus (issue 20 item 7): every action in a menu with its shortcut, no key meaning
two things, Help ▸ Keyboard shortcuts built from the real actions, and a Settings dialog whose
values round-trip through the data folder's config.toml (real file, real desk)."""

from __future__ import annotations

import tomllib

from PySide6.QtGui import QAction, QShortcut

from app.bridge.settings import read_desk_settings
from tests.ui.conftest import save_screenshot
from ui.widgets.shortcuts_dialog import shortcut_rows

# The actions the issue names, by what a menu calls them, with the keys they must have.
EXPECTED = {"Analyze pasted text": "Ctrl+Return", "Explain": "Ctrl+E", "Pause / resume live": "Ctrl+P",
            "Approve": "A", "Reject…": "R", "Edit size…": "E", "Export ideas…": "Ctrl+Shift+E",
            "Run benchmark": "Ctrl+B", "Evaluate on labelled file…": "Ctrl+Shift+L",
            "Propose from stored news": "Ctrl+Shift+I", "Settings…": "Ctrl+Alt+S",
            "Show stored history": "Ctrl+H", "Mark right": "Ctrl+Shift+R", "Keyboard shortcuts": "F1"}


def test_every_action_in_a_menu_with_a_unique_shortcut_listed_in_help(window, qtbot):
    rows = shortcut_rows(window.menuBar())
    listed = {action: keys for _, action, keys in rows}
    for action, keys in EXPECTED.items():
        assert listed.get(action, "").split(", ")[0] == keys, (action, listed.get(action))

    owners: dict[str, list[str]] = {}
    for action in window.findChildren(QAction):
        for sequence in action.shortcuts():
            owners.setdefault(sequence.toString(), []).append(action.text())
    for shortcut in window.findChildren(QShortcut):
        owners.setdefault(shortcut.key().toString(), []).append(f"shortcut in {shortcut.parent().objectName()}")
    clashes = {k: v for k, v in owners.items() if k and len(v) > 1}
    assert not clashes, clashes
    assert len(rows) >= 30  # tabs, file, news, ideas, models, assets, help

    window.shortcuts_action.trigger()
    dialog = window.shortcuts_dialog
    assert dialog.isVisible()
    assert dialog.rows()[:len(rows)] == [tuple(r) for r in rows]  # exactly the menus' actions
    assert ("News ▸ Live", "Pause / resume (live table focused)", "Space") in dialog.rows()
    save_screenshot(dialog, "shortcuts_dialog")
    dialog.close()

    # Chosen from a menu, a panel's action brings its panel forward.
    window.tabs.setCurrentWidget(window.models)
    window.news.history_action.trigger()
    assert window.tabs.currentWidget() is window.news and window.news.history_action.isChecked()


def test_settings_dialog_round_trips_through_config_toml(window, qtbot, ui_data_dir):
    config = ui_data_dir / "config.toml"
    config.write_text("# my notes\nbatch_size = 16\n\n[risk]\nidea_min_confidence = 0.72\n", encoding="utf-8")
    window.settings_action.trigger()
    dialog = window.settings_dialog
    assert dialog.isVisible() and dialog.idea_min_confidence.value() == 72  # read from the file
    dialog.idea_min_confidence.setValue(65)
    dialog.alerts_enabled.setChecked(False)
    dialog.alert_min_confidence.setValue(90)
    dialog.auto_explain.setChecked(True)
    dialog.llm_threads.setValue(2)
    dialog.memory_budget.setValue(3072)
    dialog.redis_url.setText("redis://127.0.0.1:6399/2")
    save_screenshot(dialog, "settings_dialog")
    with qtbot.waitSignal(dialog.saved):
        dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    assert not dialog.isVisible()

    written = tomllib.loads(config.read_text(encoding="utf-8"))
    assert written["batch_size"] == 16 and config.read_text(encoding="utf-8").startswith("# my notes")
    assert written["risk"]["idea_min_confidence"] == 0.65 and written["llm_threads"] == 2
    assert written["alerts"] == {"enabled": False, "min_confidence": 0.9}
    assert written["reasoning"]["auto_explain"] == 1 and written["model_memory_limit_mb"] == 3072
    assert written["redis"]["url"] == "redis://127.0.0.1:6399/2"
    saved = read_desk_settings(ui_data_dir)
    assert (saved.idea_min_confidence, saved.alerts_enabled, saved.auto_explain, saved.redis_url) == \
        (0.65, False, True, "redis://127.0.0.1:6399/2")

    # Opened again: the saved values; a refused value is one line in the dialog and nothing is written.
    window.settings_action.trigger()
    again = window.settings_dialog
    assert again is not dialog and again.llm_threads.value() == 2 and again.redis_url.text().endswith("/2")
    before = config.read_text(encoding="utf-8")
    again.redis_url.setText("http://example.com")
    assert not again.save()
    assert again.error.isVisible() and "url must start with redis://" in again.error.text()
    assert config.read_text(encoding="utf-8") == before
    again.reject()
