"""The layer rules of ARCHITECTURE.md, checked on the import statements themselves."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QT_MODULES = {"PySide6", "shiboken6", "pyqtgraph", "qasync", "PyQt5", "PyQt6"}
ENGINE_RUNTIMES = {"onnxruntime", "llama_cpp", "sqlite3", "faiss", "torch"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _py_files(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"{folder}/ has no Python files"
    return files


@pytest.mark.parametrize("path", _py_files("engine"), ids=lambda p: str(p.relative_to(ROOT)))
def test_engine_never_imports_qt(path: Path) -> None:
    assert not (_imports(path) & QT_MODULES)


@pytest.mark.parametrize("path", _py_files("ui"), ids=lambda p: str(p.relative_to(ROOT)))
def test_ui_never_imports_model_runtimes_or_sql(path: Path) -> None:
    assert not (_imports(path) & ENGINE_RUNTIMES)


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom PySide6.QtCore import QObject\nimport onnxruntime as ort\n")
    assert _imports(bad) & QT_MODULES == {"PySide6"}
    assert _imports(bad) & ENGINE_RUNTIMES == {"onnxruntime"}
