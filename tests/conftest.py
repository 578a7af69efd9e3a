"""Shared fixtures. Qt runs headless; every test gets its own real data folder."""

from __future__ import annotations

import faulthandler
import gc
import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests must never reach a model hub, whatever the machine's cache holds.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
# Past this, a test is deadlocked where no Python code runs (a lock held across the GIL, a C call
# that never returns): pytest-timeout's alarm cannot fire there. faulthandler's watchdog is a C
# thread: it prints every thread's stack and ends the run, so a hang costs minutes, not the CI budget.
WATCHDOG_S = int(os.environ.get("SIGNALDESK_TEST_WATCHDOG_S", "600"))
_WATCHDOG_FILE = None  # the terminal's stderr, kept before any test's output capture


def pytest_configure(config) -> None:
    global _WATCHDOG_FILE
    gc.disable()  # collections run between tests, on the main thread (below)
    _WATCHDOG_FILE = os.fdopen(os.dup(sys.__stderr__.fileno()), "w")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    faulthandler.dump_traceback_later(WATCHDOG_S, exit=True, file=_WATCHDOG_FILE or sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        # As in the app (app/gc_ui.py): cyclic garbage, a closed window's widgets among it, is
        # collected here on the main thread, never by an engine thread that happens to allocate.
        gc.collect()


def db_with_demo_prices(folder: Path) -> Path:
    """A desk database in ``folder`` holding the bundled demo prices (as Ideas → Load demo prices does)."""
    from engine.market.demo import demo_files
    from engine.market.prices import MarketData
    from engine.store import DB_FILE_NAME

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / DB_FILE_NAME
    market = MarketData(path)
    try:
        for f in demo_files():
            market.import_csv(f, f.stem, source=f"demo:{f.name}")
    finally:
        market.close()
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
