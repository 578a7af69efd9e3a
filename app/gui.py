"""Start the desktop app: QApplication, logging, engine thread, main window."""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path
from typing import Callable

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
    from app.platform_check import window_problem

    problem = window_problem()
    if problem:  # Qt would abort the process with a plugin error; say what is missing instead
        print(problem, file=sys.stderr)
        return 1
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app.log_bridge import install_log_bridge
    from app.logging_setup import setup_logging
    from app.runtime import data_dir_from_args
    from app.sampler import ProcessMonitor
    from app.bridge.desk import Desk
    from engine.config import load_config
    from engine.resources import resources_dir
    from ui.main_window import MainWindow

    sys.setswitchinterval(UI_SWITCH_INTERVAL_S)
    QApplication.setOrganizationName(ORG_NAME)
    QApplication.setApplicationName(APP_NAME)
    QApplication.setApplicationVersion(__version__)
    QApplication.setDesktopFileName("signaldesk")  # Wayland docks match the window to signaldesk.desktop
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from app.gc_ui import UiThreadGarbageCollector

    app.garbage_collector = UiThreadGarbageCollector(app)  # never on an engine thread (app/gc_ui.py)
    icon = resources_dir() / "icons" / "signaldesk.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    try:
        data_dir = data_dir_from_args(args)
    except OSError as exc:
        _fatal(f"The data folder cannot be created ({exc.strerror or exc}). Start SignalDesk with --data-dir "
               "and a folder you can write.")
        return EXIT_DATA
    setup_logging(data_dir, args.debug)
    data_dir, read_only_copy = prepare_data_dir(data_dir, _ask_with_dialog)
    if data_dir is None:
        return EXIT_DATA
    log_path = setup_logging(data_dir, args.debug)
    bridge = install_log_bridge()
    config = load_config(data_dir)
    log.info("%s %s starting; data in %s; log at %s", APP_NAME, __version__, data_dir, log_path)

    settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
    desk = Desk(config, data_dir)
    monitor = ProcessMonitor(config.monitor_interval_s)
    window = MainWindow(desk, monitor, bridge, settings)
    if read_only_copy is not None:
        window.setWindowTitle(f"{window.windowTitle()} (read-only copy: changes are discarded at exit)")
    window.show()
    if getattr(args, "quit_after", None):
        QTimer.singleShot(int(args.quit_after * 1000), window.close)
    desk.ready.connect(lambda _info: freeze_startup_heap())
    desk.start()
    monitor.start()
    code = app.exec()
    monitor.stop()
    desk.shutdown()
    logging.getLogger().removeHandler(bridge.handler)
    if read_only_copy is not None:
        shutil.rmtree(read_only_copy, ignore_errors=True)
    return code


EXIT_DATA = 3  # the data folder could not be used and the user chose to quit


def prepare_data_dir(data_dir: Path, ask: Callable) -> tuple[Path | None, Path | None]:
    """The folder this session runs in, before any engine opens it: ``data_dir`` when it is
    usable; otherwise whatever ``ask(health)`` chooses (ui/widgets/data_dir_dialog.py): a
    read-only copy (returned twice: the caller removes it at exit), the same folder with its
    database backed up and a new one started, or (None, None) to quit."""
    from engine.datadir import backup_database, check_data_dir, read_only_copy
    from ui.widgets.data_dir_dialog import NEW_DATABASE, READ_ONLY

    while True:
        health = check_data_dir(data_dir)
        if health.ok:
            return data_dir, None
        log.warning("data folder problem: %s", health.message)
        choice = ask(health)
        if choice == READ_ONLY:
            copy = read_only_copy(data_dir)
            log.warning("working on a read-only copy of %s in %s; nothing is saved", data_dir, copy)
            return copy, copy
        if choice != NEW_DATABASE:
            return None, None
        try:
            backup = backup_database(data_dir)
        except OSError as exc:
            _fatal(f"The database could not be moved aside ({exc.strerror or exc}); nothing was changed.")
            return None, None
        log.warning("the damaged database was moved to %s; a new one is made", backup)


def _ask_with_dialog(health) -> str:
    from ui.widgets.data_dir_dialog import DataDirDialog

    dialog = DataDirDialog(health)
    dialog.exec()
    return dialog.choice


def _fatal(message: str) -> None:
    from PySide6.QtWidgets import QMessageBox

    log.error("%s", message)
    QMessageBox.critical(None, "SignalDesk", message)
