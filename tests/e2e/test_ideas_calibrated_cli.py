"""``signaldesk ideas`` with a calibrator stored for the signal's model version: the CLI
proposes from the calibrated confidence, as the desk does, and prints both figures."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from engine.calibration.calibrators import make_calibrator
from engine.calibration.repository import CalibrationRepository
from engine.store import DB_FILE_NAME, Store
from engine.types import Signal
from tests.conftest import REPO_ROOT


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_ideas_cli_proposes_from_calibrated_confidence_and_prints_both(data_dir: Path, tmp_path: Path) -> None:
    assert _run(data_dir, "prices", "import", "--demo").returncode == 0
    rng = np.random.default_rng(3)
    conf = rng.uniform(0.34, 1.0, 4000)
    correct = rng.uniform(size=conf.size) < 0.15 + 0.7 * conf  # an overconfident model
    store = Store(data_dir / DB_FILE_NAME)
    stored = CalibrationRepository(store).save_calibrator(
        "lexicon-fin", "1.0", make_calibrator("platt").fit_correctness(conf, correct), len(conf), {})
    store.add_signals([Signal(None, time.time(), "paste", "$ZEPH plunges as auditors resign", ("ZEPH",),
                              "bearish", (0.85, 0.05, 0.10), 0.85, -0.8, "lexicon-fin", "1.0", 1.0)])
    store.close()

    proposed = _run(data_dir, "ideas", "propose")
    assert proposed.returncode == 0, proposed.stderr
    assert "proposed #1 short ZEPH" in proposed.stdout

    (idea,) = json.loads(_run(data_dir, "ideas", "list", "--json").stdout)
    assert idea["raw_confidence"] == 0.85 and idea["calibrator"] == stored.label
    assert 0.70 < idea["confidence"] < 0.85  # calibrated down, still above the idea threshold
    assert idea["snapshot"]["sizing"]["win_probability"] == idea["confidence"]
    assert idea["snapshot"]["confidence"]["classifier_raw"] == 0.85

    listed = _run(data_dir, "ideas", "list").stdout
    assert f"conf {idea['confidence']:.0%} (raw 85%, {stored.label})" in listed

    out = tmp_path / "ideas.csv"
    assert _run(data_dir, "ideas", "export", str(out)).returncode == 0
    with open(out, encoding="utf-8", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert float(row["raw_confidence"]) == 0.85 and row["calibrator"] == stored.label
    assert float(row["confidence"]) == idea["confidence"]
