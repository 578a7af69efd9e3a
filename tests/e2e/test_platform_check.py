"""A desk that cannot open its window says why in one line instead of Qt's abort."""

from __future__ import annotations

import os
import subprocess
import sys

from app.platform_check import missing_from_ldd, package_for, window_problem
from tests.conftest import REPO_ROOT

LDD = """\
\tlinux-vdso.so.1 (0x00007ffc)
\tlibQt6XcbQpa.so.6 => /site/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f10)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxkbcommon-x11.so.0 => not found
\tlibxcb-cursor.so.0 => not found
"""


def test_missing_libraries_are_read_from_ldd_and_named_as_debian_packages() -> None:
    missing = missing_from_ldd(LDD)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxkbcommon-x11.so.0"]
    assert [package_for(s) for s in missing] == ["libxcb-cursor0", "libxcb-icccm4", "libxkbcommon-x11-0"]
    assert package_for("libEGL.so.1") == "libegl1" and package_for("libdbus-1.so.3") == "libdbus-1-3"
    assert package_for("libglib-2.0.so.0") == "libglib2.0-0"


def test_offscreen_and_wayland_need_no_x11_plugin_but_no_display_is_named() -> None:
    assert window_problem({"QT_QPA_PLATFORM": "offscreen"}) == ""
    assert window_problem({"WAYLAND_DISPLAY": "wayland-0"}) == ""
    problem = window_problem({})
    assert "no display" in problem and "--self-test" in problem and "\n" not in problem


def test_the_desk_started_without_a_display_exits_with_one_clear_line() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "app"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1  # not SIGABRT (-6)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("SignalDesk cannot open a window: no display"), proc.stderr
    assert "Traceback" not in proc.stderr
