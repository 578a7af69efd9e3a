"""Before the desk opens a window: can Qt's window plugin load here? Say why not in one line.

Qt aborts the process (SIGABRT, "Could not load the Qt platform plugin…") when its X11 plugin
misses a system library, which on a fresh Debian/Ubuntu desktop is typically libxcb-cursor0
(needed since Qt 6.5) or libxcb-icccm4 / libxcb-keysyms1. We ask the dynamic linker first
(``ldd`` on the plugin) and name the missing libraries and the packages that carry them.

    python -m app.platform_check            # one line; exit 0 when the window can open
    python -m app.platform_check --packages # the Debian/Ubuntu packages to install (for the installer script)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

# Debian names a library package after its soname; these few do not follow the rule.
PACKAGE_EXCEPTIONS = {"libglib-2.0.so.0": "libglib2.0-0", "libgthread-2.0.so.0": "libglib2.0-0",
                      "libGL.so.1": "libgl1", "libGLX.so.0": "libglx0", "libGLdispatch.so.0": "libglvnd0",
                      "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1"}
WINDOW_PLATFORMS = ("xcb", "wayland")


def package_for(soname: str) -> str:
    """libxcb-cursor.so.0 -> libxcb-cursor0; libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (Debian policy)."""
    if soname in PACKAGE_EXCEPTIONS:
        return PACKAGE_EXCEPTIONS[soname]
    match = re.fullmatch(r"(lib[\w.+-]+?)\.so\.(\d+)(?:\.\d+)*", soname)
    if not match:
        return soname
    name, version = match.group(1).lower(), match.group(2)
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def missing_from_ldd(output: str) -> list[str]:
    """Sonames ``ldd`` could not resolve, in order, once each."""
    found = [line.split("=>")[0].strip() for line in output.splitlines() if "not found" in line]
    return list(dict.fromkeys(found))


def xcb_plugin() -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_window_libraries(plugin: Path | None = None) -> list[str]:
    plugin = plugin or xcb_plugin()
    if plugin is None or not sys.platform.startswith("linux"):
        return []
    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []  # no ldd: let Qt try
    return missing_from_ldd(out)


def window_problem(environ: dict[str, str] | None = None) -> str:
    """One line saying why no window can open here, or "" when it can (or when Qt is not asked for one)."""
    env = os.environ if environ is None else environ
    platform = env.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform and platform not in WINDOW_PLATFORMS:
        return ""  # offscreen, vnc, eglfs…: not the X11 plugin
    if platform == "wayland" or (not platform and env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
        return ""
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return ("SignalDesk cannot open a window: no display (DISPLAY is not set). Start it from a desktop "
                "session, or check the install headless with: QT_QPA_PLATFORM=offscreen signaldesk --self-test")
    missing = missing_window_libraries()
    if not missing:
        return ""
    packages = " ".join(dict.fromkeys(package_for(s) for s in missing))
    return (f"SignalDesk cannot open a window: Qt's X11 plugin needs {', '.join(missing)}, missing on this "
            f"system. Install them (Debian/Ubuntu: sudo apt-get install {packages}, or run "
            "packaging/system-deps.sh) and start again.")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if "--packages" in args:
        print(" ".join(dict.fromkeys(package_for(s) for s in missing_window_libraries())))
        return 0
    problem = window_problem()
    print(problem or "ok: the window can open")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())
