"""The .deb's metadata: one version source, Depends kept in step with the bundle, desktop entry, icon."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import engine


def test_version_comes_from_engine(build):
    assert build.app_version() == engine.__version__


def test_control_file_fields(build):
    depends = build.depends_for({"libGL.so.1": ["x"], "libxkbcommon.so.0": ["y"], "libc.so.6": ["z"],
                                 "libglib-2.0.so.0": ["w"]}, glibc="2.36")
    control = build.control_text(engine.__version__, "amd64", depends, 123456)
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", control, re.M))
    assert fields["Package"] == "signaldesk"
    assert fields["Version"] == engine.__version__
    assert fields["Installed-Size"] == "123456"
    assert "<" in fields["Maintainer"] and "@" in fields["Maintainer"]
    deps = [d.strip() for d in fields["Depends"].split(",")]
    assert deps[0] == "libc6 (>= 2.36)"  # the build host's glibc is the floor
    for lib in ("libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3"):
        assert lib in deps
    assert "libglib2.0-0 | libglib2.0-0t64" in deps  # Ubuntu's 64-bit time_t rename
    # Every continuation line of Description starts with a space, as dpkg requires.
    description = control.split("Description: ", 1)[1].splitlines()[1:]
    assert description and all(line.startswith(" ") for line in description)


def test_unknown_system_library_stops_the_build(build):
    with pytest.raises(SystemExit, match="libfancy.so.9"):
        build.depends_for({"libfancy.so.9": ["PySide6/Qt/plugins/platforms/libqfancy.so"]})


def test_needed_sonames_not_carried_by_the_bundle_are_reported(build, tmp_path):
    import _ctypes  # a compiled extension: an ELF that needs libc (and libffi)

    if not shutil.which("readelf"):
        pytest.skip("needs readelf (binutils)")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    extension = Path(_ctypes.__file__)
    shutil.copy2(extension, bundle / extension.name)
    (bundle / "libc.so.6").write_bytes(b"not really libc")  # carried by the bundle: not a system need
    wanted = build.system_libraries(bundle)
    assert wanted, "readelf found no DT_NEEDED entries"
    assert "libc.so.6" not in wanted
    assert all(users == [extension.name] for users in wanted.values())


def test_desktop_entry(build, tmp_path):
    entry = build.DESKTOP_ENTRY
    assert entry.startswith("[Desktop Entry]\n")
    fields = dict(line.split("=", 1) for line in entry.splitlines()[1:] if "=" in line)
    assert fields["Exec"] == "signaldesk" and fields["Icon"] == "signaldesk" and fields["Type"] == "Application"
    assert "Office" in fields["Categories"].split(";")
    validator = shutil.which("desktop-file-validate")
    if validator:
        path = tmp_path / "signaldesk.desktop"
        path.write_text(entry, encoding="utf-8")
        done = subprocess.run([validator, str(path)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stdout.strip(), done.stdout


def test_icons_render_from_the_svg(build, tmp_path, qapp):
    build.render_icons(build.ROOT / "resources" / "icons" / "signaldesk.svg", tmp_path)
    from PySide6.QtGui import QImage

    for size in build.ICON_SIZES:
        image = QImage(str(tmp_path / f"{size}x{size}" / "apps" / "signaldesk.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.pixelColor(size // 2, size // 2).alpha() == 255  # drawn, not blank
        assert image.pixelColor(0, 0).alpha() == 0  # rounded corner stays transparent
    assert (tmp_path / "scalable" / "apps" / "signaldesk.svg").is_file()


def test_build_refuses_an_environment_that_pyproject_rejects(build):
    assert build.unmet_requirements(["numpy>=1.0", 'torch>=1; python_version < "3.0"']) == []
    problems = build.unmet_requirements(["numpy<1.0", "surely-not-installed-xyz>=1"])
    assert len(problems) == 2
    assert problems[0].startswith("numpy ") and "does not satisfy" in problems[0]
    assert problems[1] == "surely-not-installed-xyz is not installed"
    build.check_environment()  # this environment was installed from pyproject (the README's command)
