"""``signaldesk ingest``, ``features`` and ``sources`` run as a user runs them (subprocesses, real data folder)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

FEATURES = ["sentiment", "decayed_confidence", "weighted_sentiment", "high_impact", "running_sentiment",
            "aggregate_sentiment", "consensus_share", "live_sources"]


def signaldesk(data_dir: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def db(data_dir: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(str(data_dir / "signaldesk.db"))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_ingest_reports_accepted_duplicates_invalid_and_scored(data_dir: Path, tmp_path: Path) -> None:
    news = tmp_path / "news.csv"
    news.write_text(
        "text,tickers,source,kind\n"
        '"$ACME beats third-quarter profit estimates, raises full-year guidance",ACME,wire,news\n'
        '"Acme Corp agrees to buy Nimbus Cloud for $4.2 billion",ACME,desk,analyst\n'
        ",,wire,news\n"
        '"$DUNE misses revenue forecasts as refining margins shrink",,wire,news\n'
        '"$ACME beats third-quarter profit estimates, raises full-year guidance",ACME,wire,news\n'
        '"ACME to the moon",ACME,@trader,social\n', encoding="utf-8")
    result = signaldesk(data_dir, "ingest", str(news), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("items", "accepted", "duplicates", "invalid", "scored", "failed", "dropped")} == \
        {"items": 5, "accepted": 4, "duplicates": 1, "invalid": 1, "scored": 4, "failed": 0, "dropped": 0}
    assert summary["problems"] == [{"line": 4, "reason": "no text (expected a 'text', 'headline' or 'title' value)"}]

    again = signaldesk(data_dir, "ingest", str(news))
    assert again.returncode == 0, again.stderr
    assert "accepted           0" in again.stdout and "duplicates         5" in again.stdout
    assert db(data_dir, "SELECT COUNT(*) FROM signals") == [(4,)]

    features = signaldesk(data_dir, "features", "$acme", "--json")
    assert features.returncode == 0, features.stderr
    payload = json.loads(features.stdout)
    assert payload["asset"] == "ACME" and list(payload["features"]) == FEATURES
    assert payload["features"]["live_sources"] == 3.0  # wire, desk, @trader
    assert 0 < payload["features"]["consensus_share"] <= 1
    text = signaldesk(data_dir, "features", "ACME")
    assert text.returncode == 0 and "decayed_confidence" in text.stdout and "latest (" in text.stdout


def test_ingest_refuses_an_undecodable_file_before_accepting_anything(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("$ACME fine\n$DUNE caf\xe9 closes\n".encode("latin-1"))
    result = signaldesk(data_dir, "ingest", str(bad))
    assert result.returncode == 2
    assert "not valid UTF-8" in result.stderr and "line 2" in result.stderr and "nothing was imported" in result.stderr
    assert db(data_dir, "SELECT COUNT(*) FROM news_inbox") == [(0,)]
    missing = signaldesk(data_dir, "ingest", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_sources_cli_adds_lists_and_runs_a_watched_folder(data_dir: Path, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "morning.txt").write_text("$ACME raises dividend by 8%\n$VOLT shares halted pending news\n", encoding="utf-8")
    added = signaldesk(data_dir, "sources", "add-folder", str(drop), "--name", "drop", "--interval", "0.2")
    assert added.returncode == 0, added.stderr
    ran = signaldesk(data_dir, "sources", "run", "--seconds", "3", "--json")
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report["pipeline"]["scored"] == 2 and report["pipeline"]["dropped"] == 0
    (status,) = report["sources"]
    assert status["name"] == "drop" and status["items_total"] == 2
    assert (drop / "processed" / "morning.txt").exists()
    listed = json.loads(signaldesk(data_dir, "sources", "list", "--json").stdout)
    assert listed[0]["items_total"] == 2 and listed[0]["last_fetch_at"] is not None
    assert signaldesk(data_dir, "sources", "remove", "nope").returncode == 1
