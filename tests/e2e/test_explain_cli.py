"""``signaldesk explain`` run as a user runs it: a subprocess, a real data folder, the shipped models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator

from engine.reasoning.schema import J6_SCHEMA
from engine.store import DB_FILE_NAME, Store
from tests.conftest import REPO_ROOT


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "explain", *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_explain_json_prints_a_schema_valid_signal_with_cited_ids(data_dir: Path) -> None:
    result = _run(data_dir, "Apple beats earnings estimates as iPhone sales hit a record", "--json",
                  "--note", "AAPL: iPhone demand strong, services margin expanding")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert {"signal", "chain", "cited"} <= set(out)
    assert not list(Draft202012Validator(J6_SCHEMA).iter_errors(out["signal"]))
    assert out["chain"] == [] and out["cited"] == out["signal"]["cited"]
    assert set(out["cited"]) <= {r["id"] for r in out["retrieved"]}
    assert [r["id"] for r in out["retrieved"]] == ["note:1"]  # the note is retrieved and citable
    assert out["audit_id"] == 1 and out["signal_id"] == 1
    store = Store(data_dir / DB_FILE_NAME)
    try:  # stored like a pasted headline, with its explanation beside it
        assert store.count_signals() == 1
        assert store.query("SELECT COUNT(*) FROM signal_reasoning WHERE signal_id = 1")[0][0] == 1
    finally:
        store.close()


def test_explain_chain_prints_the_five_steps(data_dir: Path) -> None:
    result = _run(data_dir, "Exxon to cut 2,000 jobs as oil prices slump", "--chain", "--no-store")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Direction: ") and any(line.startswith("Rationale: ") for line in lines)
    chain = lines[lines.index("Chain:") + 1:][:5]
    assert [line.split(":")[0].strip() for line in chain] == [
        "1. Key facts", "2. Sentiment", "3. Market context", "4. Impact", "5. Conclusion"]
    assert "Insufficient data" in result.stdout  # an empty store has nothing to ground the call
    assert "Advice only" in result.stdout


def test_explain_refuses_empty_text(data_dir: Path) -> None:
    result = _run(data_dir, "   ")
    assert result.returncode == 2 and "empty" in result.stderr
