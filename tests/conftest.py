"""Shared fixtures. Qt runs headless; every test gets its own real data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Tests must never reach a model hub, whatever the machine's cache holds.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
ARTIFACTS = REPO_ROOT / "tests" / "artifacts"


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
