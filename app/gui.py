"""Start the desktop app: QApplication, logging, engine thread, main window."""

from __future__ import annotations

import argparse
import logging
import sys

from app import APP_NAME, ORG_NAME, __version__

log = logging.getLogger(__name__)


def run_gui(args: argparse.Namespace) -> int:
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.log_bridge import install_log_bridge
    from app.logging_setup import setup_logging
    from app.runtime import data_dir_from_args
    from app.sampler import ProcessMonitor
    from app.worker import EngineClient
    from engine.config import load_config
    from engine.resources import resources_dir
    from ui.main_window import MainWindow

    QApplication.setOrganizationName(ORG_NAME)
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setDesktopFileName("signaldesk")  # Wayland docks match the window to signaldesk.desktop
    app = QApplication.instance() or QApplication(sys.argv[:1])
    icon = resources_dir() / "icons" / "signaldesk.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    data_dir = data_dir_from_args(args)
    log_path = setup_logging(data_dir, args.debug)
    bridge = install_log_bridge()
    config = load_config(data_dir)
    log.info("%s %s starting; data in %s; log at %s", APP_NAME, __version__, data_dir, log_path)

    settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
    client = EngineClient(config, data_dir)
    monitor = ProcessMonitor(config.monitor_interval_s)
    window = MainWindow(client, monitor, bridge, settings)
    window.show()
    if getattr(args, "quit_after", None):
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    client.start()
    monitor.start()
    code = app.exec()
    monitor.stop()
    client.shutdown()
    logging.getLogger().removeHandler(bridge.handler)
    return code
