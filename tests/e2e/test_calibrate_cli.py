"""``signaldesk calibrate`` run as a user runs it, on a labelled CSV built from TFNS *train* rows."""

from __future__ import annotations

import csv
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, SHARED_DATA

NAMES = {0: ("bearish", "Negative", "0"), 1: ("Bullish", "positive", "1"), 2: ("NEUTRAL", "neutral", "2")}
BAD_LINES = {3: "empty text", 5: "unknown label 'sideways'"}


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def labelled_csv(tmp_path_factory) -> tuple[Path, int]:
    """400 random TFNS train rows (never sent_valid.csv), labels in every accepted spelling, 2 bad rows."""
    with open(SHARED_DATA / "tfns" / "sent_train.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rng = random.Random(11)
    picked = rng.sample(rows, 400)
    body = [["tfns", " ".join(r["text"].split()), NAMES[int(r["label"])][i % 3]] for i, r in enumerate(picked)]
    body.insert(1, ["bad", "", "bullish"])  # file line 3 (header is line 1)
    body.insert(3, ["bad", "Shares drift", "sideways"])  # file line 5
    path = tmp_path_factory.mktemp("labelled") / "train_sample.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["source", "text", "label"])
        w.writerows(body)
    return path, 400


def test_calibrate_json_reports_before_and_after_on_the_held_out_part(tmp_path: Path, labelled_csv) -> None:
    path, good = labelled_csv
    result = _run("--data-dir", str(tmp_path / "data"), "calibrate", "--labelled", str(path),
                  "--method", "isotonic", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["n"] == good and out["method"] == "isotonic" and out["scheme"] == "top_label"
    assert out["n_fit"] + out["n_report"] == good and abs(out["n_fit"] - out["n_report"]) <= 1
    for side in ("before", "after"):
        assert set(out[side]) == {"ece", "mce", "brier"}
        assert 0 <= out[side]["ece"] <= out[side]["mce"] <= 1 and 0 <= out[side]["brier"] <= 2
    assert out["skipped_rows"] == 2
    for line, reason in BAD_LINES.items():
        assert f"train_sample.csv:{line}: skipped: " in result.stderr and reason in result.stderr
    assert "scoring" in result.stderr and f"{good}/{good}" in result.stderr  # progress goes to stderr


def test_calibrate_text_output_and_save(tmp_path: Path, labelled_csv) -> None:
    path, good = labelled_csv
    data = tmp_path / "data"
    result = _run("--data-dir", str(data), "calibrate", "--labelled", str(path), "--method", "platt", "--save", "-q")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("model ") and "fitted platt" in lines[0]
    assert lines[2].startswith("before") and lines[3].startswith("after")
    conn = sqlite3.connect(data / "signaldesk.db")
    rows = conn.execute("SELECT method, params, n, sources FROM calibrators ORDER BY id").fetchall()
    # The model's shipped calibrator (stored when the engine first used it), then the one saved here.
    assert [json.loads(r[3]) for r in rows[:-1]] in ([], [["shipped"]])
    method, params, n, _sources = rows[-1]
    assert method == "platt" and json.loads(params)["params"]["map"]["kind"] == "platt" and n == good // 2
    assert conn.execute("SELECT COUNT(*) FROM outcomes WHERE source = 'labelled_file'").fetchone()[0] == good


def test_calibrate_usage_errors(tmp_path: Path) -> None:
    missing = _run("--data-dir", str(tmp_path / "d"), "calibrate", "--labelled", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("headline,label\nStocks rally,1\n", encoding="utf-8")
    result = _run("--data-dir", str(tmp_path / "d"), "calibrate", "--labelled", str(bad))
    assert result.returncode == 1 and "missing column(s) text" in result.stderr
