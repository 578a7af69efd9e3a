import shutil
from pathlib import Path

import numpy as np
import pytest

from engine.embeddings.onnx_embedder import DEFAULT_EMBEDDING_MODEL, OnnxEmbedder
from engine.manifest import ModelIntegrityError, load_manifest
from engine.resources import models_dir


@pytest.fixture(scope="module")
def embedder() -> OnnxEmbedder:
    return OnnxEmbedder()


def test_shipped_embedder_is_verified_and_unit_length(embedder: OnnxEmbedder) -> None:
    vecs = embedder.embed(["Fed raises rates", "Apple beats estimates", ""])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-3)
    assert embedder.embed([]).shape == (0, 384)


def test_related_headlines_are_nearer_than_unrelated(embedder: OnnxEmbedder) -> None:
    a, b, c = embedder.embed([
        "Federal Reserve raises interest rates by a quarter point",
        "Fed hikes rates 25 basis points to fight inflation",
        "Tesla recalls vehicles over a steering fault",
    ])
    assert a @ b > a @ c + 0.2


def test_batching_changes_results_only_slightly(embedder: OnnxEmbedder) -> None:
    # Dynamic int8 picks activation scales per batch tensor (pads included), so batch-mates
    # nudge a text's vector a little; order must still be restored exactly.
    texts = ["short", "a much longer headline about quarterly earnings and guidance for next year", "mid length news"]
    together = embedder.embed(texts)
    alone = np.vstack([embedder.embed([t]) for t in texts])
    assert ((together * alone).sum(axis=1) > 0.97).all()
    assert (np.argmax(together @ alone.T, axis=1) == np.arange(3)).all()


def test_recorded_fidelity_is_high() -> None:
    metrics = load_manifest(models_dir() / DEFAULT_EMBEDDING_MODEL).metrics
    assert metrics["int8_vs_fp32_cosine_mean"] >= 0.98
    assert metrics["nearest_neighbour_agreement"] >= 0.9


def test_tampered_embedder_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "embed"
    shutil.copytree(models_dir() / DEFAULT_EMBEDDING_MODEL, copy)
    data = bytearray((copy / "tokenizer.json").read_bytes())
    data[100] ^= 0x01
    (copy / "tokenizer.json").write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError):
        OnnxEmbedder(copy)
