"""Start the desktop app: QApplication, logging, engine thread, main window."""

from __future__ import annotations

import argparse
import logging
import sys

from app import APP_NAME, ORG_NAME, __version__

log = logging.getLogger(__name__)


# The UI thread takes the GIL for every slot and paint it runs in Python; while the engine's
# threads run Python, each such entry waits up to the interpreter's switch interval (5 ms by
# default) for its turn, and a few in a row make a visible stall. 1 ms keeps those waits short:
# longest UI stall 47-52 ms instead of 66-121 ms while news streamed at ~500 items/s, with the
# same scoring throughput (bench/bench_live_ui.py).
UI_SWITCH_INTERVAL_S = 0.001


def freeze_startup_heap() -> None:
    """Put every object alive now out of the cyclic garbage collector's reach (``gc.freeze``).

    Once the engine and window are up, a full collection walks every tracked object (~100k:
    libraries, models, widgets) and holds the GIL meanwhile, so every thread stops: 90-190 ms
    measured while news streamed (bench/bench_live_ui.py), the longest UI stall of those runs.
    These objects live as long as the app anyway; frozen, later collections only walk what was
    made since.
    """
    import gc

    gc.collect()
    gc.freeze()


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

    sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
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
    client.ready.connect(lambda _info: freeze_startup_heap())
    client.start()
    monitor.start()
    code = app.exec()
    monitor.stop()
    client.shutdown()
    logging.getLogger().removeHandler(bridge.handler)
    return code
