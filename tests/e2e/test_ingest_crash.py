"""Crash test: SIGKILL ``signaldesk ingest`` mid-run, run it again, and check exactly-once.

"Acknowledged" means committed to ``news_inbox``: that is the moment a source may forget an
item. The test reads the inbox with its own connection right after the kill (so it sees only
what was committed), then restarts the same command and checks that every acknowledged item
is stored exactly once (one inbox row, one signal), nothing is left pending, and the whole
file ends up ingested exactly once as well.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.news.demo import synthetic_headlines
from tests.conftest import REPO_ROOT

LINES = 20_000
KILL_AFTER_ACKED = 3_000


def inbox_state(db_path: Path) -> tuple[int, int]:
    """(acknowledged rows, of which pending), or (0, 0) before the table exists."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        total, pending = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(state = 'pending'), 0) FROM news_inbox").fetchone()
        return int(total), int(pending)
    except sqlite3.OperationalError:  # not created or migrated yet
        return 0, 0
    finally:
        conn.close()


def command(data_dir: Path, big: Path) -> list[str]:
    return [sys.executable, "-m", "app", "--data-dir", str(data_dir), "ingest", str(big), "--json"]


@pytest.mark.slow
def test_sigkill_mid_ingest_then_restart_stores_every_acknowledged_item_exactly_once(data_dir: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    lines = list(synthetic_headlines(LINES, seed=7))
    big.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db_path = data_dir / "signaldesk.db"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")

    proc = subprocess.Popen(command(data_dir, big), cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    acked = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if db_path.exists():
            acked, _pending = inbox_state(db_path)
            if acked >= KILL_AFTER_ACKED:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the file bigger"
    assert acked >= KILL_AFTER_ACKED, "ingest made no progress"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(str(db_path))
    acknowledged = {text for (text,) in conn.execute("SELECT text FROM news_inbox")}
    pending_after_kill = conn.execute("SELECT COUNT(*) FROM news_inbox WHERE state = 'pending'").fetchone()[0]
    # Scoring commits signal + inbox row together: a done row always has its signal, and no signal is orphaned.
    assert conn.execute("SELECT COUNT(*) FROM news_inbox WHERE state = 'done' AND signal_id IS NULL").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM signals").fetchone()[0] == \
        conn.execute("SELECT COUNT(*) FROM news_inbox WHERE state = 'done'").fetchone()[0]
    conn.close()
    assert KILL_AFTER_ACKED <= len(acknowledged) < LINES
    # Intake outruns scoring, so the bounded queue is full when the kill lands: the restart must resume.
    assert pending_after_kill > 0
    print(f"killed with {len(acknowledged)} acknowledged, {pending_after_kill} of them not yet scored")

    rerun = subprocess.run(command(data_dir, big), cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["resumed"] == pending_after_kill
    assert summary["duplicates"] == len(acknowledged)  # the re-read file's acknowledged part is recognised
    assert summary["accepted"] == LINES - len(acknowledged)
    assert summary["failed"] == 0 and summary["dropped"] == 0

    conn = sqlite3.connect(str(db_path))
    per_text = dict(conn.execute(
        "SELECT i.text, COUNT(s.id) FROM news_inbox i LEFT JOIN signals s ON s.id = i.signal_id GROUP BY i.text"))
    states = dict(conn.execute("SELECT state, COUNT(*) FROM news_inbox GROUP BY state"))
    signal_texts = conn.execute("SELECT COUNT(*), COUNT(DISTINCT text) FROM signals").fetchone()
    conn.close()
    assert all(per_text.get(text) == 1 for text in acknowledged), "an acknowledged item is missing or doubled"
    assert states == {"done": LINES}
    assert signal_texts == (LINES, LINES)
    assert set(per_text) == set(lines)
