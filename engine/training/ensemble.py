"""Mix the int8 transformer with a TF-IDF head; the mixing weight is chosen on the dev split.

    python -m engine.training.ensemble

Run after ``python -m engine.training.finetune --out build/finsent``. It fits the TF-IDF head on the
same train split the transformer was trained on, picks the weight ``w`` of
``p = (1 - w) * p_transformer + w * p_tfidf`` by dev weighted F1, and only then looks at
``sent_valid.csv`` once to report the shipped ensemble (int8 and fp32). The transformer-only
figures stay in the manifest under ``metrics.transformer_only``.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from engine.sentiment.base import LABELS  # noqa: E402
from engine.sentiment.tfidf_head import TfidfHead, fit  # noqa: E402
from engine.training.data import read_tfns, train_dev_split  # noqa: E402
from engine.training.metrics import classification_report  # noqa: E402

HEAD_FILE = "tfidf_head.json"
REPO = Path(__file__).resolve().parents[2]
WEIGHT_GRID = [round(w, 2) for w in np.arange(0.0, 1.0001, 0.05)]


def mix(p_transformer: np.ndarray, p_tfidf: np.ndarray, w: float) -> np.ndarray:
    return (1.0 - w) * p_transformer + w * p_tfidf


def _onnx_probs(model: Path, tokenizer: Path, texts: list[str]) -> np.ndarray:
    from tokenizers import Tokenizer

    from engine.training.finetune import predict_proba_onnx

    tok = Tokenizer.from_file(str(tokenizer))
    return predict_proba_onnx(model, tok, texts)


def build(artifact: Path, build_dir: Path, data_dir: Path) -> dict:
    from sklearn.metrics import f1_score

    from engine.manifest import write_manifest

    manifest = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
    if "ensemble" in manifest:
        raise SystemExit(f"{artifact} already holds an ensemble; rebuild the transformer first")
    train_config = manifest["provenance"]["train_config"]
    full = read_tfns(data_dir / "sent_train.csv")
    train, dev = train_dev_split(full, train_config["dev_fraction"], train_config["seed"])
    head = TfidfHead(fit(train.texts, train.labels, artifact / HEAD_FILE))

    int8 = artifact / "model.onnx"
    tokenizer = artifact / "tokenizer.json"
    dev_int8 = _onnx_probs(int8, tokenizer, dev.texts)
    dev_tfidf = head.predict_proba(dev.texts)
    grid = [(w, float(f1_score(dev.labels, mix(dev_int8, dev_tfidf, w).argmax(1), average="weighted")))
            for w in WEIGHT_GRID]
    best_w, best_f1 = max(grid, key=lambda item: (round(item[1], 4), -item[0]))  # ties: less TF-IDF

    # The single look at sent_valid.csv for the ensemble.
    valid = read_tfns(data_dir / "sent_valid.csv")
    fp32 = build_dir / "onnx" / "model_fp32.onnx"
    valid_int8 = _onnx_probs(int8, tokenizer, valid.texts)
    valid_fp32 = _onnx_probs(fp32, tokenizer, valid.texts)
    valid_tfidf = head.predict_proba(valid.texts)
    ens_int8 = mix(valid_int8, valid_tfidf, best_w)
    ens_fp32 = mix(valid_fp32, valid_tfidf, best_w)
    old_metrics = manifest["metrics"]
    metrics = {
        "valid": {"int8": classification_report(ens_int8, valid.labels, LABELS),
                  "fp32": classification_report(ens_fp32, valid.labels, LABELS),
                  "tfidf_only": classification_report(valid_tfidf, valid.labels, LABELS)},
        "dev": {"int8": classification_report(mix(dev_int8, dev_tfidf, best_w), dev.labels, LABELS),
                "tfidf_only": classification_report(dev_tfidf, dev.labels, LABELS)},
        "transformer_only": old_metrics,
    }
    metrics["valid"]["int8_vs_fp32"] = {
        "weighted_f1_drop": round(metrics["valid"]["fp32"]["weighted_f1"] - metrics["valid"]["int8"]["weighted_f1"], 4),
        "label_agreement": round(float((ens_int8.argmax(1) == ens_fp32.argmax(1)).mean()), 4),
        "mean_abs_prob_diff": round(float(np.abs(ens_int8 - ens_fp32).mean()), 5),
    }

    # The agreement fixture must describe what the runtime returns: the fp32 ensemble.
    reference = json.loads((artifact / "fp32_reference.json").read_text(encoding="utf-8"))
    ref_texts = [r["text"] for r in reference["rows"]]
    ref_fp32 = mix(_onnx_probs(fp32, tokenizer, ref_texts), head.predict_proba(ref_texts), best_w)
    for row, probs in zip(reference["rows"], ref_fp32):
        row["probs"] = [round(float(p), 6) for p in probs]
    reference["note"] = (f"fp32 ONNX transformer mixed with the TF-IDF head (weight {best_w}) on dev-split "
                         "texts, for int8 agreement tests")
    (artifact / "fp32_reference.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")

    manifest.pop("files", None)
    manifest.pop("size_bytes", None)
    manifest["metrics"] = metrics
    manifest["ensemble"] = {
        "tfidf_head": HEAD_FILE, "tfidf_weight": best_w, "chosen_on": "dev split (weighted F1)",
        "dev_grid": [{"tfidf_weight": w, "dev_weighted_f1": round(f, 4)} for w, f in grid],
        "command": "python -m engine.training.ensemble",
    }
    written = write_manifest(artifact, manifest)
    write_card(artifact, written)
    return {"tfidf_weight": best_w, "dev_weighted_f1": round(best_f1, 4),
            "valid_int8_weighted_f1": metrics["valid"]["int8"]["weighted_f1"],
            "valid_fp32_weighted_f1": metrics["valid"]["fp32"]["weighted_f1"],
            "valid_transformer_only_int8": old_metrics["valid"]["int8"]["weighted_f1"],
            "valid_tfidf_only": metrics["valid"]["tfidf_only"]["weighted_f1"]}


def write_card(artifact: Path, manifest: dict) -> None:
    from engine.training.card import render_card  # adds the ensemble section itself

    (artifact / "MODEL_CARD.md").write_text(render_card(manifest), encoding="utf-8")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifact", type=Path, default=REPO / "resources" / "models" / "finsent-minilm-l6")
    parser.add_argument("--build", type=Path, default=REPO / "build" / "finsent")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "tfns")
    ns = parser.parse_args()
    print(json.dumps(build(ns.artifact, ns.build, ns.data), indent=2))
