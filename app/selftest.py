"""``--self-test``: prove an install works without a screen or the user's data.

It goes through the same path as the GUI (Qt event loop, the desk's engine lane, callbacks
back on the Qt thread), into a throwaway store, then reopens that store to check the row
really persisted. It also checks the real data folder (``--data-dir`` or the default) without
changing it: that it can be written, that its database is whole (SQLite's quick_check) and that
its settings load (engine/datadir.py). Any problem there makes ``"ok": false``, with the reason.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

SELF_TEST_HEADLINE = "$AAPL surges after record quarterly earnings beat, raises full-year guidance"


def run_self_test(args: argparse.Namespace, timeout_s: float = 120.0) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from app.logging_setup import setup_logging
    from app.bridge.desk import Desk
    from engine import __version__
    from engine.config import load_config
    from engine.store import DB_FILE_NAME, Store

    started = time.perf_counter()
    data_dir_check = check_real_data_dir(args)
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="signaldesk-selftest-") as tmp:
        data_dir = Path(tmp)
        setup_logging(data_dir, getattr(args, "debug", False), console=False)
        desk = Desk(load_config(data_dir), data_dir)
        outcome: dict = {}
        loop = QEventLoop()

        def done(result) -> None:
            if result.error:
                outcome.setdefault("error", result.error)
            loop.quit()

        desk.failed.connect(lambda message: (outcome.setdefault("error", message), loop.quit()))
        desk.ready.connect(lambda info: (outcome.setdefault("info", info), desk.analyze.submit(
            SELF_TEST_HEADLINE, "self-test", on_batch=lambda batch: outcome.setdefault("signals", batch.signals),
            on_done=done)))
        QTimer.singleShot(int(timeout_s * 1000), lambda: (outcome.setdefault("error", "timed out"), loop.quit()))
        desk.start()
        loop.exec()
        clean_stop = desk.shutdown()
        reopened = Store(data_dir / DB_FILE_NAME)
        stored = reopened.count_signals()
        reopened.close()

    info = outcome.get("info")
    signals = outcome.get("signals") or ()
    ok = "error" not in outcome and len(signals) == 1 and stored == 1 and clean_stop and data_dir_check["ok"]
    summary = {
        "ok": ok,
        "version": __version__,
        "python": platform.python_version(),
        "qt": pyside_version,
        "platform": app.platformName() if hasattr(app, "platformName") else os.environ["QT_QPA_PLATFORM"],
        "hardware": info.hardware.to_dict() if info else None,
        "sentiment_model": {
            "id": info.sentiment.model_id, "version": info.sentiment.version,
            "backend": info.sentiment.backend, "degraded": info.sentiment.degraded,
            "reason": info.sentiment.reason,
        } if info else None,
        "signal": signals[0].to_dict() if signals else None,
        "stored_rows": stored,
        "clean_shutdown": clean_stop,
        "data_dir": data_dir_check,
        "elapsed_s": round(time.perf_counter() - started, 3),
    }
    if "error" in outcome:
        summary["error"] = outcome["error"]
    print(json.dumps(summary, indent=2))
    for problem in data_dir_check["problems"]:
        print(f"self-test: {problem['message']}", file=sys.stderr)
    return 0 if ok else 1


def check_real_data_dir(args: argparse.Namespace) -> dict:
    """The user's data folder as every command will meet it (engine/datadir.py, thorough)."""
    from app.paths import resolve_data_dir
    from engine.datadir import check_data_dir

    try:
        return check_data_dir(resolve_data_dir(getattr(args, "data_dir", None)), thorough=True).to_dict()
    except OSError as exc:  # it cannot even be created
        where = getattr(args, "data_dir", None) or "the default data folder"
        message = f"the data folder {where} cannot be created ({exc.strerror or exc}); use --data-dir DIR"
        return {"ok": False, "path": str(where), "problems": [{"kind": "not_writable", "message": message}]}
