"""The hidden --quit-after flag the installer smoke test uses to open and close the real desk."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_quit_after_is_hidden_from_help():
    from app.cli import build_parser

    parser = build_parser()
    assert "--quit-after" not in parser.format_help()
    assert parser.parse_args(["--quit-after", "2.5"]).quit_after == 2.5
    assert parser.parse_args([]).quit_after is None


@pytest.mark.slow
def test_gui_opens_offscreen_and_closes_cleanly(data_dir):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    env.pop("SIGNALDESK_DATA_DIR", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "--quit-after", "3"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - started
    assert done.returncode == 0, done.stderr[-3000:]
    assert elapsed >= 3
    assert "Traceback" not in done.stderr
    log = (data_dir / "logs" / "signaldesk.log").read_text(encoding="utf-8")
    assert "starting; data in" in log
    assert (data_dir / "ui.ini").is_file()  # closed through the window: layout saved on close
