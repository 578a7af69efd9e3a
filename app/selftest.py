"""``--self-test``: prove an install works without a screen or the user's data.

It goes through the same path as the GUI (Qt event loop, engine on its QThread, signals
back), into a throwaway store, then reopens that store to check the row really persisted.
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
    from app.worker import EngineClient
    from engine import __version__
    from engine.config import load_config
    from engine.store import DB_FILE_NAME, Store

    started = time.perf_counter()
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory(prefix="signaldesk-selftest-") as tmp:
        data_dir = Path(tmp)
        setup_logging(data_dir, getattr(args, "debug", False), console=False)
        client = EngineClient(load_config(data_dir), data_dir)
        outcome: dict = {}
        loop = QEventLoop()
        client.failed.connect(lambda message: (outcome.setdefault("error", message), loop.quit()))
        client.signalsAdded.connect(lambda batch: outcome.setdefault("signals", batch.signals))
        client.analysisDone.connect(lambda done: loop.quit())
        client.ready.connect(lambda info: (outcome.setdefault("info", info),
                                           client.submit_text(SELF_TEST_HEADLINE, "self-test")))
        QTimer.singleShot(int(timeout_s * 1000), lambda: (outcome.setdefault("error", "timed out"), loop.quit()))
        client.start()
        loop.exec()
        clean_stop = client.shutdown()
        reopened = Store(data_dir / DB_FILE_NAME)
        stored = reopened.count_signals()
        reopened.close()

    info = outcome.get("info")
    signals = outcome.get("signals") or ()
    ok = "error" not in outcome and len(signals) == 1 and stored == 1 and clean_stop
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
        "elapsed_s": round(time.perf_counter() - started, 3),
    }
    if "error" in outcome:
        summary["error"] = outcome["error"]
    print(json.dumps(summary, indent=2))
    return 0 if ok else 1
