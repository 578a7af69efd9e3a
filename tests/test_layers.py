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


# --- import cycles ---------------------------------------------------------------------------
# Every import statement counts, also those inside functions (a lazy import still makes the two
# packages depend on each other); only ``if TYPE_CHECKING:`` blocks are left out (never run).
PACKAGES = ("engine", "app", "ui")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path, known: set[str]) -> set[str]:
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    resolved = set()
    for target in found:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.add(target)
    return resolved


def _import_graph() -> dict[str, set[str]]:
    files = [p for folder in PACKAGES for p in _py_files(folder)]
    known = {_module_name(p) for p in files}
    return {_module_name(p): _runtime_imports(p, known) for p in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _package(module: str) -> str:
    """engine.calibration.service -> engine.calibration; engine.engine -> engine.engine."""
    return ".".join(module.split(".")[:2])


def test_no_module_import_cycles() -> None:
    assert _cycles(_import_graph()) == []


def test_no_package_import_cycles() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in _import_graph().items():
        here = _package(module)
        packages.setdefault(here, set()).update(_package(t) for t in targets if _package(t) != here)
    assert _cycles(packages) == []


def test_the_cycle_finder_sees_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    lazy = Path(__file__).parent / "artifacts" / "lazy_cycle_probe.py"
    lazy.parent.mkdir(exist_ok=True)
    lazy.write_text("def f():\n    from engine.engine import Engine\n", encoding="utf-8")
    assert "engine.engine" in _runtime_imports(lazy, {"engine.engine"})  # a function-level import counts
