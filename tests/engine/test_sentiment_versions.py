"""finsent-minilm-l6-news (1.1.0, then 1.2.0) beside 1.0.0: batch-independent scores, packed files, version choice."""

from __future__ import annotations

import csv
import json
import lzma
from pathlib import Path

import numpy as np
import pytest

from engine.config import Config
from engine.hardware import detect_hardware
from engine.manifest import (ModelIntegrityError, load_verified, main as manifest_cli, model_file, pack_file,
                             write_manifest)
from engine.models.manager import ModelManager
from engine.sentiment.onnx_backend import OnnxSentimentBackend
from engine.store import Store
from tests.conftest import REPO_ROOT

MODELS = REPO_ROOT / "resources" / "models"
NEW, OLD = "finsent-minilm-l6-news", "finsent-minilm-l6"
NEWS_TRAIN = REPO_ROOT / "engine" / "training" / "data" / "news" / "train"
# 1.1.0 added news text; 1.2.0 (5 epochs) replaced it under the build's dev rule (ms_build.replaces_shipped).
NEW_VERSIONS = ("1.1.0", "1.2.0")


def _headlines(n: int = 500) -> list[str]:
    """Evenly spaced rows of the news corpus TRAIN part: short headlines to long wire sentences."""
    texts = []
    for path in sorted(NEWS_TRAIN.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            texts += [row["text"] for row in csv.DictReader(fh)]
    idx = np.linspace(0, len(texts) - 1, n).round().astype(int)
    return [texts[i] for i in idx]


@pytest.fixture(scope="module")
def new_backend() -> OnnxSentimentBackend:
    return OnnxSentimentBackend(MODELS / NEW, intra_op_threads=2)


def test_same_text_same_scores_whatever_its_batch(new_backend: OnnxSentimentBackend) -> None:
    texts = _headlines()
    assert len(set(texts)) > 450
    single = np.vstack([new_backend.predict_proba([t]) for t in texts])
    rng = np.random.default_rng(7)
    for batch_size in (8, 64):
        order = rng.permutation(len(texts))
        shuffled = [texts[i] for i in order]
        batched = np.vstack([new_backend.predict_proba(shuffled[i : i + batch_size])
                             for i in range(0, len(shuffled), batch_size)])
        back = np.empty_like(batched)
        back[order] = batched
        assert (back.argmax(1) == single.argmax(1)).all(), batch_size
        assert np.abs(back - single).max() < 1e-4, batch_size
    # Not a constant model: the 500 headlines get all three labels.
    assert set(single.argmax(1)) == {0, 1, 2}


def test_new_version_ships_static_int8_packed_and_verified() -> None:
    manifest = load_verified(MODELS / NEW)
    assert manifest.version in NEW_VERSIONS
    replaced = manifest.extra.get("replaces_version")
    if replaced:  # what the replaced version was on dev stays on record, with the rule's verdict
        assert replaced["version"] in NEW_VERSIONS and replaced["version"] != manifest.version
        dev = json.loads((MODELS / NEW / "manifest.json").read_text(encoding="utf-8"))["metrics"]["dev"]["int8"]
        assert replaced["dev_int8_weighted_f1"]["mean"] < dev["mean_weighted_f1"]
    assert "model.onnx.xz" in manifest.files and "model.onnx" not in manifest.files
    assert manifest.extra["quantization"]["variant"].startswith("static")
    assert manifest.extra["calibration"]["shipped"]["calibrator"]
    licences = " ".join(d["licence"] + d["name"] for d in manifest.extra["provenance"]["datasets"])
    assert "TFNS" in licences and "SEntFiN" in licences and "news corpus" in licences
    card = (MODELS / NEW / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "SEntFiN" in card and "MIT" in card


def test_packed_file_is_refused_when_its_content_differs(tmp_path: Path) -> None:
    folder = tmp_path / "packed"
    folder.mkdir()
    payload = b"onnx bytes stand-in " * 1000
    (folder / "model.onnx").write_bytes(payload)
    fields = {"id": "packed", "version": "1", "task": "sentiment", "backend": "onnx",
              "unpacked": {"model.onnx": pack_file(folder, "model.onnx")}}
    write_manifest(folder, fields)
    assert not (folder / "model.onnx").exists()
    assert model_file(load_verified(folder), "model.onnx") == payload
    # Packed bytes whose content differs from the recorded unpacked sha256 (the packed file's own
    # sha256 recorded anew, as a careless repack would) are refused before any runtime sees them.
    (folder / "model.onnx.xz").write_bytes(lzma.compress(payload + b"!"))
    write_manifest(folder, fields)
    with pytest.raises(ModelIntegrityError, match="unpacked model.onnx"):
        model_file(load_verified(folder), "model.onnx")
    # A corrupt packed file fails its own sha256 first.
    (folder / "model.onnx.xz").write_bytes(b"\xfd7zXZ\x00garbage")
    with pytest.raises(ModelIntegrityError, match="sha256 mismatch for model.onnx.xz"):
        load_verified(folder)


def test_pack_command_keeps_what_is_loaded_and_refuses_a_tampered_folder(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "shipped"
    folder.mkdir()
    payload = b"weights " * 5000
    (folder / "model.onnx").write_bytes(payload)
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    write_manifest(folder, {"id": "shipped", "version": "1.0.0", "task": "sentiment", "backend": "onnx",
                            "metrics": {"valid": 0.9}})
    assert manifest_cli(["pack", str(folder), "model.onnx"]) == 0
    manifest = load_verified(folder)
    assert set(manifest.files) == {"model.onnx.xz", "tokenizer.json"} and manifest.metrics == {"valid": 0.9}
    assert model_file(manifest, "model.onnx") == payload  # the same bytes as measured
    assert "packed" in capsys.readouterr().out
    # Nothing is packed from a folder that fails its own manifest, and a file it does not list is refused.
    (folder / "tokenizer.json").write_text("{ }", encoding="utf-8")
    assert manifest_cli(["pack", str(folder), "tokenizer.json"]) == 1
    assert "sha256" in capsys.readouterr().out and (folder / "tokenizer.json").is_file()
    (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    assert manifest_cli(["pack", str(folder), "weights.bin"]) == 1
    assert "not an unpacked file" in capsys.readouterr().out


def test_both_versions_selectable_and_default_follows_supersedes(tmp_path: Path) -> None:
    store = Store(tmp_path / "signaldesk.db")
    profile = detect_hardware(tmp_path)
    manager = ModelManager(Config(), tmp_path, store, lambda: profile)
    ids = {s.id: s for s in manager.specs("sentiment")}
    assert ids[NEW].version in NEW_VERSIONS and ids[OLD].version == "1.0.0"
    # The manifest records the dev-split decision (engine/training/ms_report.py): either the news model
    # supersedes 1.0.0, or it is not chosen automatically.
    supersedes = ids[NEW].manifest.get("supersedes")
    assert supersedes == OLD or ids[NEW].manifest.get("automatic") is False
    assert manager.active("sentiment").id == (NEW if supersedes == OLD else OLD), manager.explain("sentiment")
    assert manager.switch("sentiment", OLD).id == OLD  # the earlier version stays selectable by name
    assert manager.switch("sentiment", NEW).id == NEW


def test_a_new_version_replaces_the_shipped_one_only_when_it_wins_on_dev() -> None:
    from engine.training.ms_build import REPLACE_MARGIN, rebuild_command, replaces_shipped

    shipped = {"mean_weighted_f1": 0.85, "tfns": {"weighted_f1": 0.87}, "news": {"weighted_f1": 0.83}}

    def dev(tfns: float, news: float) -> dict:
        return {"mean_weighted_f1": round((tfns + news) / 2, 4), "tfns": {"weighted_f1": tfns},
                "news": {"weighted_f1": news}}

    assert replaces_shipped(dev(0.87, 0.85), shipped)[0]  # +0.01 mean, no source lower
    within_noise = dev(0.87, 0.83 + REPLACE_MARGIN)  # +0.0025 mean: one seed's noise, not a win
    verdict, reason = replaces_shipped(within_noise, shipped)
    assert not verdict and "not above" in reason
    verdict, reason = replaces_shipped(dev(0.855, 0.87), shipped)  # +0.0125 mean, but TFNS -0.015
    assert not verdict and reason.startswith("tfns")
    # The command recorded in the manifest rebuilds exactly the settings that differ from the defaults.
    cmd = rebuild_command({"epochs": 5, "lr": 1e-4, "max_length": 64, "news_repeat": 2, "seed": 42}, "1.2.0")
    assert "train --out build/finsent-ms --epochs 5 &&" in cmd and cmd.endswith("--version 1.2.0")


def test_news_model_card_is_rendered_from_its_manifest() -> None:
    from engine.training.ms_card import render_card

    manifest = json.loads((MODELS / NEW / "manifest.json").read_text(encoding="utf-8"))
    assert (MODELS / NEW / "MODEL_CARD.md").read_text(encoding="utf-8") == render_card(manifest)
