"""Model files are untrusted until verified (issue 22 item 6): every file a model loads is covered
by sha256, links never lead out of a model folder, and adding a model never activates it.

Real parts: the shipped sentiment model re-saved with ONNX external data (``weights.bin``) as a
user's folder, the real ModelManager on a real SQLite file.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from engine.config import Config
from engine.hardware import detect_hardware
from engine.models.manager import ModelManager, ModelSwitchError
from engine.models.registry import ModelRegistryError
from engine.manifest import load_verified, model_file
from engine.resources import models_dir
from engine.store import Store

BEARISH = "Shares plunge after the company slashes its outlook"


def _manager(data_dir: Path) -> ModelManager:
    profile = detect_hardware(data_dir)
    return ModelManager(Config(), data_dir, Store(data_dir / "signaldesk.db"), lambda: profile)


def _shipped_onnx_bytes() -> bytes:
    """The shipped classifier's ONNX bytes (the installer carries the file xz-packed)."""
    found = model_file(load_verified(models_dir() / "finsent-minilm-l6"), "model.onnx")
    return found if isinstance(found, bytes) else Path(found).read_bytes()


def _external_data_folder(folder: Path) -> Path:
    """The shipped classifier as a user brings it: model.onnx + weights.bin (external data) + tokenizer."""
    import onnx

    folder.mkdir()
    model = onnx.load_from_string(_shipped_onnx_bytes())
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=4096)
    shutil.copy(models_dir() / "finsent-minilm-l6" / "tokenizer.json", folder / "tokenizer.json")
    assert (folder / "weights.bin").stat().st_size > (folder / "model.onnx").stat().st_size
    return folder


def test_onnx_external_data_is_covered_by_the_sha256_list(tmp_path: Path, data_dir: Path) -> None:
    folder = _external_data_folder(tmp_path / "ext")
    manager = _manager(data_dir)
    manager.add_user_model(folder, model_id="ext", labels=["bearish", "bullish", "neutral"])
    manager.switch("sentiment", "ext")
    model, _spec = manager.acquire("sentiment")
    assert model.predict_proba([BEARISH])[0].argmax() == 0
    manager.switch("sentiment", "lexicon-fin")
    manager._cache.unload("ext")

    weights = bytearray((folder / "weights.bin").read_bytes())
    weights[len(weights) // 2: len(weights) // 2 + 4096] = bytes(4096)  # tampered weights
    (folder / "weights.bin").write_bytes(bytes(weights))
    with pytest.raises(ModelSwitchError, match="sha256 mismatch for weights.bin"):
        manager.switch("sentiment", "ext")


def test_links_out_of_a_model_folder_and_files_that_appear_later_are_refused(tmp_path: Path, data_dir: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    shutil.copy(models_dir() / "finsent-minilm-l6" / "tokenizer.json", outside)
    folder = tmp_path / "linked"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(_shipped_onnx_bytes())
    (folder / "tokenizer.json").symlink_to(outside)
    manager = _manager(data_dir)
    with pytest.raises(ModelRegistryError, match="outside the model folder"):
        manager.add_user_model(folder, model_id="linked")

    (folder / "tokenizer.json").unlink()
    shutil.copy(outside, folder / "tokenizer.json")
    manager.add_user_model(folder, model_id="linked", labels=["bearish", "bullish", "neutral"])
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer.json").symlink_to(outside)  # same bytes, but now a link out
    with pytest.raises(ModelSwitchError, match="leads outside the model folder"):
        manager.switch("sentiment", "linked")
    (folder / "tokenizer.json").unlink()
    shutil.copy(outside, folder / "tokenizer.json")
    (folder / "extra.bin").write_bytes(b"\x00" * 64)  # could be loaded without ever being hashed
    with pytest.raises(ModelSwitchError, match="not in its manifest appeared"):
        manager.switch("sentiment", "linked")


def _gguf(path: Path, size: int, tensors: int = 12, metadata: int = 8) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, tensors, metadata) + bytes(max(0, size - 24)))
    return path


def test_adding_a_model_never_makes_it_active_by_itself(tmp_path: Path, data_dir: Path) -> None:
    manager = _manager(data_dir)
    before = manager.active("generation").id
    with pytest.raises(ModelRegistryError, match="too small|not a usable GGUF"):
        manager.add_user_model(_gguf(tmp_path / "fake.gguf", 24, tensors=0, metadata=0))  # the 24-byte fake
    # A header that passes the checks, far smaller than any shipped generator: it used to win the
    # automatic choice on size alone and be parsed at every start.
    manager.add_user_model(_gguf(tmp_path / "small.gguf", 2 << 20), model_id="small-gguf")
    fresh = _manager(data_dir)  # the next start
    assert fresh.active("generation").id == before != "small-gguf"
    assert "small-gguf" not in {m.id for m in fresh.loaded()}
    assert fresh.info("small-gguf").status == "available"
