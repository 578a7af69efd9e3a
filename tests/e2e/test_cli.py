"""The installed entry points, run as a user would run them (subprocesses)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def _run(*args: str, env_extra: dict | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_self_test_prints_json_and_exits_zero(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = _run("--self-test", env_extra={"HOME": str(home), "XDG_DATA_HOME": str(home / "xdg")})
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["ok"] is True
    assert summary["stored_rows"] == 1 and summary["clean_shutdown"] is True
    assert summary["signal"]["label"] == "bullish"
    assert summary["signal"]["entities"] == ["AAPL"]
    assert summary["hardware"]["tier"] in {"low", "mid", "high"}
    # The self-test must use a temporary store, never the user's data folder.
    assert not (home / "xdg").exists() or not any((home / "xdg").rglob("signaldesk.db"))
    assert "QThread" not in result.stderr


def test_version_matches_the_one_source() -> None:
    from engine import __version__

    result = _run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"SignalDesk {__version__}"


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    marker = 'pip install -e ".[dev]" && python -m pytest'
    lines = [line for line in readme.splitlines() if marker in line]
    assert lines, "README must give the install-and-test command"
    # .ci/run must pick exactly that line and run it.
    picked = subprocess.run(["bash", "-c", "grep -m1 'pip install -e \"\\.\\[dev\\]\" && python -m pytest' README.md"],
                            cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    assert picked == lines[0]
    assert "grep -m1 'pip install -e \"\\.\\[dev\\]\" && python -m pytest' README.md" in ci
    assert 'bash -c "$cmd"' in ci
    # Nothing is installed before it: whatever the tests need, the README's command brings.
    commands = [line.strip() for line in ci.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert not [c for c in commands if "apt-get" in c or c.split()[0] in ("pip", "pip3", "sudo", "$sudo")]
