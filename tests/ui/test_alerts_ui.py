"""Alerts in the desk (#17 item 5): a burst on a watched symbol shows one notification (a toast here:
the offscreen platform has no system tray), the alerts log lists it, and the settings dialog's off
switch and thresholds are written to [alerts] in config.toml and apply to the running desk at once.
"""

from __future__ import annotations

import tomllib

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QSystemTrayIcon

from tests.ui.conftest import ENGINE_TIMEOUT_MS, analyze_in_news, save_screenshot, start_window

BURST = ["Acme Corp beats estimates and raises guidance, shares surge",
         "Acme Corp smashes earnings estimates, record profit",
         "$ACME beats estimates again as profit soars"]


def _action(window, name: str) -> QAction:
    action = window.findChild(QAction, name)
    assert action is not None, name
    return action


def test_one_alert_per_burst_log_and_settings_applied_live(qtbot, ui_data_dir, desk, monitor, log_bridge, settings):
    config = ui_data_dir / "config.toml"
    config.write_text("# my desk\nbatch_size = 16  # kept\n", encoding="utf-8")
    window = start_window(qtbot, desk, monitor, log_bridge, settings)
    window.resize(1366, 768)
    box = window.assets.watchlist_box
    box.symbol_edit.setText("ACME")
    qtbot.mouseClick(box.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.symbols() == ["ACME"], timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: desk.alerts.current is not None, timeout=ENGINE_TIMEOUT_MS)
    notifier = window.alert_notifier
    assert (notifier.tray is not None) == QSystemTrayIcon.isSystemTrayAvailable()

    # A burst of strong news on one watched symbol: one alert, the rest rate-limited by the engine.
    with qtbot.waitSignal(desk.alerts.raised, timeout=ENGINE_TIMEOUT_MS) as raised:
        analyze_in_news(qtbot, window, BURST)
    alerts = raised.args[0].alerts
    assert [a.symbol for a in alerts] == ["ACME"]
    where, title, body = notifier.last
    assert where == ("tray" if notifier.tray is not None else "toast")
    assert title.startswith("Alert: ACME ") and alerts[0].headline in body
    if where == "toast":
        assert notifier.toast.isVisible() and notifier.toast.title.text() == title
        save_screenshot(window, "alert_toast")

    # The alerts log, from its menu action (Ctrl+Shift+A): the one alert, newest first.
    _action(window, "alertsLogAction").trigger()
    log = window.alerts_log
    qtbot.waitUntil(lambda: log.model.rowCount() == 1 and log.status.text() == "1 alert", timeout=ENGINE_TIMEOUT_MS)
    assert log.model.alert_at(0).id == alerts[0].id
    save_screenshot(log, "alerts_log")

    # Settings (Ctrl+,): no labels is refused inline; off, with no rate limit, is written and applied at once.
    _action(window, "alertSettingsAction").trigger()
    dialog = window.alert_settings
    assert dialog.enabled.isChecked() and dialog.min_confidence.value() == 80
    for check in dialog.labels.values():
        check.setChecked(False)
    dialog.save()
    assert dialog.error.isVisible() and "at least one label" in dialog.error.text()
    dialog.labels["bullish"].setChecked(True)
    dialog.labels["bearish"].setChecked(True)
    dialog.rate_limit.setValue(0)
    dialog.enabled.setChecked(False)
    assert not dialog.min_impact.isEnabled()  # the thresholds wait while alerts are off
    save_screenshot(dialog, "alert_settings")
    with qtbot.waitSignal(dialog.saved, timeout=ENGINE_TIMEOUT_MS):
        dialog.save()
    written = tomllib.loads(config.read_text(encoding="utf-8"))
    assert written["alerts"]["enabled"] is False and written["alerts"]["rate_limit_s"] == 0
    assert written["batch_size"] == 16 and "# kept" in config.read_text(encoding="utf-8")
    assert desk.alerts.current.config.enabled is False
    analyze_in_news(qtbot, window, BURST[:1])  # alerts off: nothing raised for it

    # Back on (rate limit still 0): the next strong headline alerts again, without a restart.
    _action(window, "alertSettingsAction").trigger()
    dialog = window.alert_settings
    assert not dialog.enabled.isChecked() and dialog.rate_limit.value() == 0
    dialog.enabled.setChecked(True)
    with qtbot.waitSignal(dialog.saved, timeout=ENGINE_TIMEOUT_MS):
        dialog.save()
    with qtbot.waitSignal(desk.alerts.raised, timeout=ENGINE_TIMEOUT_MS):
        analyze_in_news(qtbot, window, BURST[1:2])
    # The log, open all along, took the new alert in; read again, the store holds exactly two:
    # the burst while off (processed before the one after it) raised none.
    qtbot.waitUntil(lambda: log.model.rowCount() == 2, timeout=ENGINE_TIMEOUT_MS)
    log.reload()
    qtbot.waitUntil(lambda: log.status.text() == "2 alerts", timeout=ENGINE_TIMEOUT_MS)
    assert log.model.alert_at(0).headline == BURST[1]

    # Double-clicking an alert opens its symbol's asset view.
    log.table.doubleClicked.emit(log.model.index(0, 0))
    assert window.tabs.currentWidget() is window.assets
    qtbot.waitUntil(lambda: window.assets.view is not None and window.assets.view.symbol == "ACME",
                    timeout=ENGINE_TIMEOUT_MS)
