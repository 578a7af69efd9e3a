"""``prices``, ``risk`` and ``ideas`` subcommands run as a user runs them (subprocesses, real files)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from engine.store import DB_FILE_NAME, Store
from engine.types import Signal
from tests.conftest import REPO_ROOT

DEMO = REPO_ROOT / "resources" / "demo" / "prices"


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_import_a_file_then_risk_json(data_dir: Path) -> None:
    imported = _run(data_dir, "prices", "import", str(DEMO / "ACME.csv"), "--symbol", "ACME")
    assert imported.returncode == 0, imported.stderr
    assert "ACME: 900 bars" in imported.stdout

    result = _run(data_dir, "risk", "ACME", "--json", "--equity", "100000")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["regime"] == "bull_trend"
    assert report["risk"]["level"] in {"low", "medium", "high"} and 0 <= report["risk"]["score"] <= 1
    assert report["risk"]["factors"] and all(isinstance(f, str) for f in report["risk"]["factors"])
    features = report["features"]
    for key in ("realized_vol", "atr", "volume_z", "ma_fast", "ma_slow", "rsi", "drawdown"):
        assert key in features
    sizing = report["sizing"]
    assert 0 < sizing["fraction"] <= sizing["limit"] and sizing["stop_loss"] < sizing["entry"] < sizing["take_profit"]
    assert sizing["notional"] == sizing["fraction"] * 100000

    text = _run(data_dir, "risk", "ACME")
    assert text.returncode == 0 and "Regime: bull_trend" in text.stdout and "Sizing example" in text.stdout


def test_demo_import_and_a_rejected_file(data_dir: Path, tmp_path: Path) -> None:
    demo = _run(data_dir, "prices", "import", "--demo")
    assert demo.returncode == 0, demo.stderr
    assert all(f"{s}:" in demo.stdout for s in ("ACME", "DUNE", "ZEPH", "VOLT", "FXEU"))
    crash = json.loads(_run(data_dir, "risk", "ZEPH", "--json").stdout)
    assert crash["regime"] == "crash" and crash["risk"]["level"] == "high"
    assert crash["sizing"]["leverage_cap"] == 0.25

    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,0.5,x,10\n",
                   encoding="utf-8")
    rejected = _run(data_dir, "prices", "import", str(bad), "--symbol", "BAD")
    assert rejected.returncode == 1
    assert "bad.csv:3:" in rejected.stderr and "nothing was written" in rejected.stderr
    missing = _run(data_dir, "risk", "BAD")
    assert missing.returncode == 1 and "no market data for BAD" in missing.stderr
    assert _run(data_dir, "prices", "import", str(bad)).returncode == 2  # --symbol required


def test_ideas_propose_decide_list_and_export(data_dir: Path, tmp_path: Path) -> None:
    assert _run(data_dir, "prices", "import", "--demo").returncode == 0
    store = Store(data_dir / DB_FILE_NAME)
    store.add_signals([Signal(None, time.time(), "paste", "$ZEPH plunges as auditors resign", ("ZEPH",),
                              "bearish", (0.85, 0.05, 0.10), 0.85, -0.8, "lexicon-fin", "1.0", 1.0)])
    store.close()

    proposed = _run(data_dir, "ideas", "propose")
    assert proposed.returncode == 0, proposed.stderr
    assert "proposed #1 short ZEPH" in proposed.stdout
    refused = _run(data_dir, "ideas", "decide", "1", "reject")
    assert refused.returncode == 1 and "note is required" in refused.stderr
    approved = _run(data_dir, "ideas", "decide", "1", "approve", "--actor", "tester")
    assert approved.returncode == 0 and "#1 approved" in approved.stdout
    listed = _run(data_dir, "ideas", "list")
    assert "approved" in listed.stdout and "ZEPH" in listed.stdout

    out = tmp_path / "ideas.csv"
    exported = _run(data_dir, "ideas", "export", str(out))
    assert exported.returncode == 0, exported.stderr
    with open(out, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["symbol"], r["state"], r["last_decision"]) for r in rows] == [("ZEPH", "approved", "approve")]
    as_json = tmp_path / "ideas.json"
    assert _run(data_dir, "ideas", "export", str(as_json)).returncode == 0
    audit = json.loads(as_json.read_text(encoding="utf-8"))["ideas"][0]["audit"]
    assert [(a["action"], a["actor"]) for a in audit] == [("propose", "engine"), ("approve", "tester")]
