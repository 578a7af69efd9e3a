"""A damaged database or a read-only data folder (issue 22 item 8): ``--self-test`` reports it, and
every command gives one clear line instead of a traceback.

The database is a real one, truncated to half its size. The read-only folder is a real read-only
bind mount in a private mount namespace (``unshare -m``); where this machine does not allow that,
those cases skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store import DB_FILE_NAME, Store
from engine.types import Signal
from tests.conftest import REPO_ROOT

COMMANDS = [("ideas", "list"), ("prices", "list"), ("sources", "list"), ("ingest", "--failed"),
            ("features", "ACME"), ("ideas", "propose")]


def _env() -> dict:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", SIGNALDESK_SENTIMENT_MODEL="lexicon")


def _app(data_dir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args]


def _run(argv: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=timeout)


def _database(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    store = Store(folder / DB_FILE_NAME)
    store.add_signals([Signal(None, 1.7e9, "t", f"$ACME item {i}", ("ACME",), "bullish", (0.1, 0.8, 0.1), 0.8, 0.7,
                              "lexicon-fin", "1", 1.0) for i in range(400)])
    store.close()
    return folder / DB_FILE_NAME


def _truncate(db: Path) -> None:
    for side in ("-wal", "-shm"):
        db.with_name(db.name + side).unlink(missing_ok=True)
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)


def _read_only(folder: Path, argv: list[str]) -> list[str]:
    """``argv`` run with ``folder`` mounted read-only for it alone."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare is not installed")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount --bind {folder} {folder} && "
                            f"mount -o remount,bind,ro {folder}"], capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"this machine does not allow a read-only bind mount here: {probe.stderr.strip()[:200]}")
    quoted = " ".join(f"'{a}'" for a in argv)
    return ["unshare", "-m", "sh", "-c", f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && "
                                         f"exec {quoted}"]


def _self_test(argv: list[str]) -> tuple[int, dict, str]:
    done = _run(argv)
    return done.returncode, json.loads(done.stdout[done.stdout.index("{"):]), done.stderr


def _assert_one_clear_line(done: subprocess.CompletedProcess, command: str, *needles: str) -> None:
    assert done.returncode == 3, (command, done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("signaldesk ")]
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.mark.slow
def test_self_test_reports_a_truncated_database_and_every_command_says_so_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _truncate(_database(data))
    code, summary, stderr = _self_test(_app(data, "--self-test"))
    assert code == 1 and summary["ok"] is False
    assert summary["stored_rows"] == 1  # the install itself works: the problem is the user's database
    (problem,) = summary["data_dir"]["problems"]
    assert problem["kind"] == "database_damaged" and "is truncated" in problem["message"]
    assert "self-test: the database" in stderr
    for command in COMMANDS:
        _assert_one_clear_line(_run(_app(data, *command)), " ".join(command), "is truncated", "--self-test")


@pytest.mark.slow
def test_self_test_reports_a_read_only_data_folder_and_commands_say_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _database(data)
    code, summary, _stderr = _self_test(_read_only(data, _app(data, "--self-test")))
    assert code == 1 and summary["ok"] is False
    kinds = [p["kind"] for p in summary["data_dir"]["problems"]]
    assert kinds == ["not_writable"] and "cannot be written" in summary["data_dir"]["problems"][0]["message"]
    news = tmp_path / "news.txt"
    news.write_text("$ACME beats estimates\n", encoding="utf-8")
    done = _run(_read_only(data, _app(data, "ingest", str(news))))
    _assert_one_clear_line(done, "ingest", "cannot be written", "--self-test")
