"""Loads packaging/*.py by file path: a `packaging` package would shadow PyPI's `packaging`."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"


def load_packaging_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"signaldesk_packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def plan() -> ModuleType:
    return load_packaging_module("bundle_plan")


@pytest.fixture(scope="session")
def build() -> ModuleType:
    return load_packaging_module("build")
