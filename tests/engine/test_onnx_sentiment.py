"""The shipped int8 ONNX sentiment model: integrity, behaviour, and agreement with fp32."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.config import Config
from engine.engine import Engine
from engine.manifest import ModelIntegrityError, has_model_file, load_verified, sha256_file
from engine.sentiment.base import LABELS
from engine.sentiment.onnx_backend import OnnxSentimentBackend
from tests.conftest import REPO_ROOT

MODEL_DIR = REPO_ROOT / "resources" / "models" / "finsent-minilm-l6"


@pytest.fixture(scope="module")
def backend() -> OnnxSentimentBackend:
    return OnnxSentimentBackend(MODEL_DIR, intra_op_threads=2)


def test_shipped_artifact_matches_its_manifest() -> None:
    manifest = load_verified(MODEL_DIR)
    assert manifest.id == "finsent-minilm-l6"
    assert manifest.task == "sentiment" and manifest.backend == "onnx"
    assert manifest.labels == LABELS
    assert {"tokenizer.json", "fp32_reference.json"} <= set(manifest.files) and has_model_file(manifest, "model.onnx")
    for name, info in manifest.files.items():
        path = MODEL_DIR / name
        assert sha256_file(path) == info["sha256"]
        assert path.stat().st_size == info["size"]
    total = sum(p.stat().st_size for p in MODEL_DIR.rglob("*") if p.is_file())
    assert total <= 30 * 1024 * 1024
    assert "MIT" in manifest.licence and "Apache-2.0" in manifest.licence
    valid = manifest.metrics["valid"]
    # The shipped model (transformer + TF-IDF mix, valid weighted F1 0.884) must meet the 0.88 bar;
    # the transformer alone (0.873) is kept under metrics.transformer_only for comparison.
    assert valid["int8"]["weighted_f1"] >= 0.88
    assert manifest.metrics["transformer_only"]["valid"]["int8"]["weighted_f1"] < valid["int8"]["weighted_f1"]
    assert valid["fp32"]["weighted_f1"] - valid["int8"]["weighted_f1"] <= 0.005
    assert (MODEL_DIR / "MODEL_CARD.md").is_file()


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / MODEL_DIR.name
    shutil.copytree(MODEL_DIR, target)
    return target


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    shipped = "model.onnx" if (copy / "model.onnx").is_file() else "model.onnx.xz"  # packed or not
    data = bytearray((copy / shipped).read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit deep inside the weights
    (copy / shipped).write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match="sha256"):
        OnnxSentimentBackend(copy)


def test_missing_tokenizer_is_refused(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "tokenizer.json").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        OnnxSentimentBackend(copy)


def test_engine_falls_back_to_lexicon_on_tampering(tmp_path: Path, monkeypatch) -> None:
    resources = tmp_path / "resources"
    shutil.copytree(MODEL_DIR, resources / "models" / MODEL_DIR.name)
    shutil.copytree(REPO_ROOT / "resources" / "models" / "lexicon-fin", resources / "models" / "lexicon-fin")
    shutil.copytree(REPO_ROOT / "resources" / "entities", resources / "entities")  # the linker's universe
    monkeypatch.setenv("SIGNALDESK_RESOURCES", str(resources))
    assert Engine(Config(), None).sentiment_status.model_id == "finsent-minilm-l6"
    tok = resources / "models" / MODEL_DIR.name / "tokenizer.json"
    tok.write_text(tok.read_text(encoding="utf-8").replace("[UNK]", "[UNX]", 1), encoding="utf-8")
    status = Engine(Config(), None).sentiment_status
    assert status.degraded and status.backend == "lexicon"
    assert "sha256" in status.reason


def test_identity_and_output_contract(backend: OnnxSentimentBackend) -> None:
    assert backend.model_id == "finsent-minilm-l6"
    assert backend.labels == LABELS
    assert backend.version
    empty = backend.predict_proba([])
    assert empty.shape == (0, 3) and empty.dtype == np.float32
    probs = backend.predict_proba(["Stocks rise", "", "x " * 500])  # empty and over-long inputs
    assert probs.shape == (3, 3) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Apple shares surge after record quarterly earnings beat", "bullish"),
        ("$NVDA upgraded to Buy at Goldman, price target raised to $600", "bullish"),
        ("XYZ plunges after guidance cut and CEO resignation", "bearish"),
        ("$CCL downgraded to Sell as bookings collapse", "bearish"),
        ("Company to hold annual shareholder meeting on May 5", "neutral"),
        ("Federal Reserve releases minutes of its March policy meeting", "neutral"),
    ],
)
def test_clear_headlines(backend: OnnxSentimentBackend, text: str, expected: str) -> None:
    probs = backend.predict_proba([text])[0]
    assert LABELS[int(probs.argmax())] == expected, dict(zip(LABELS, probs.round(3)))


def test_batching_keeps_order_and_values(backend: OnnxSentimentBackend) -> None:
    reference = json.loads((MODEL_DIR / "fp32_reference.json").read_text(encoding="utf-8"))
    texts = [r["text"] for r in reference["rows"][:70]]
    batched = backend.predict_proba(texts)  # two batches of mixed lengths
    single = np.vstack([backend.predict_proba([t]) for t in texts])
    # Dynamic int8 quantization scales activations per batch tensor (pads included), so a row's
    # probabilities depend a little on its batch-mates. Measured on 200 dev texts: labels agree
    # 99%, mean max-abs shift 0.013, p99 0.12, worst 0.21 (documented in the model card).
    shift = np.abs(batched - single).max(axis=1)
    assert (batched.argmax(1) == single.argmax(1)).mean() >= 0.97
    assert shift.mean() < 0.03
    assert np.quantile(shift, 0.95) < 0.1


def test_int8_agrees_with_fp32_reference(backend: OnnxSentimentBackend) -> None:
    reference = json.loads((MODEL_DIR / "fp32_reference.json").read_text(encoding="utf-8"))
    assert reference["labels"] == list(LABELS)
    rows = reference["rows"]
    assert len(rows) >= 150
    fp32 = np.array([r["probs"] for r in rows], dtype=np.float32)
    int8 = backend.predict_proba([r["text"] for r in rows])
    agreement = float((fp32.argmax(1) == int8.argmax(1)).mean())
    assert agreement >= 0.97, agreement
    assert float(np.abs(fp32 - int8).mean()) < 0.02


def test_runtime_imports_neither_torch_nor_transformers() -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from engine.sentiment.onnx_backend import OnnxSentimentBackend\n"
        f"b = OnnxSentimentBackend(Path({str(MODEL_DIR)!r}))\n"
        "b.predict_proba(['Shares rise'])\n"
        "bad = [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, check=True, timeout=120)
