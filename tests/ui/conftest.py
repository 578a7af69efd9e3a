"""Fixtures for widget tests: a real engine on its own lanes (a real Desk), real monitor, real log bridge."""

from __future__ import annotations

import logging
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QWidget  # noqa: E402

from app.log_bridge import LogBridge, install_log_bridge  # noqa: E402
from app.sampler import ProcessMonitor  # noqa: E402
from app.bridge.desk import Desk  # noqa: E402
from engine.config import Config  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
# Generous: the machine's CPUs are shared with model training. Waits end as soon as the condition holds.
ENGINE_TIMEOUT_MS = 120_000


def save_screenshot(widget: QWidget, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    assert widget.grab().save(str(path)), f"could not save {path}"
    return path


@pytest.fixture
def ui_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "signaldesk.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def log_bridge(qtbot):
    bridge = install_log_bridge()
    yield bridge
    logging.getLogger().removeHandler(bridge.handler)


@pytest.fixture
def desk(qtbot, ui_data_dir: Path):
    the_desk = Desk(Config(), ui_data_dir)
    yield the_desk
    assert the_desk.shutdown(), "engine threads did not stop"


@pytest.fixture
def monitor(qtbot):
    process_monitor = ProcessMonitor(interval_s=0.2)  # fast, so the Monitor test need not wait long
    yield process_monitor
    process_monitor.stop()


def start_window(qtbot, desk: Desk, monitor: ProcessMonitor, bridge: LogBridge,
                 settings: QSettings) -> MainWindow:
    window = MainWindow(desk, monitor, bridge, settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(desk.ready, timeout=ENGINE_TIMEOUT_MS):
        desk.start()
        monitor.start()
    return window


@pytest.fixture
def window(qtbot, desk, monitor, log_bridge, settings) -> MainWindow:
    return start_window(qtbot, desk, monitor, log_bridge, settings)


def spy(obj, method: str) -> list:
    """Record every call of ``obj.method`` (a panel's handler for an operation's answer) and still run it.

    Install it before the action that passes the handler to an operation: the handler is looked up then.
    """
    calls: list = []
    original = getattr(obj, method)

    def recording(*args):
        calls.append(args[0] if len(args) == 1 else args)
        return original(*args)

    setattr(obj, method, recording)
    return calls


def analyze_in_news(qtbot, window: MainWindow, lines: list[str]) -> None:
    """Paste ``lines`` into News → Paste & score, press Analyze and wait until their rows are shown."""
    from PySide6.QtCore import Qt

    news = window.news
    window.tabs.setCurrentWidget(news)
    news.views.setCurrentWidget(news.splitter)
    news.paste_box.setPlainText("\n".join(lines))
    before = news.model.rowCount()
    qtbot.mouseClick(news.analyze_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: news.model.rowCount() == before + len(lines), timeout=ENGINE_TIMEOUT_MS)
