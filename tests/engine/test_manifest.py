import json
from pathlib import Path

import pytest

from engine.manifest import ModelIntegrityError, load_verified, write_manifest


def _model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "m"
    d.mkdir()
    (d / "weights.bin").write_bytes(b"\x00\x01" * 100)
    (d / "MODEL_CARD.md").write_text("# card")
    write_manifest(d, {"id": "m", "version": "1", "task": "sentiment", "backend": "onnx"})
    return d


def test_manifest_hashes_every_model_file_but_not_itself(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    data = json.loads((d / "manifest.json").read_text())
    assert set(data["files"]) == {"weights.bin"}
    assert data["size_bytes"] == 200
    assert load_verified(d).id == "m"


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    (d / "weights.bin").write_bytes(b"\x00\x02" * 100)
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch"):
        load_verified(d)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    d = _model_dir(tmp_path)
    (d / "weights.bin").unlink()
    with pytest.raises(ModelIntegrityError, match="missing file"):
        load_verified(d)


def test_no_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="no manifest"):
        load_verified(tmp_path)
