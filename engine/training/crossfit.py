"""Cross-fitted (out-of-fold) predictions of the shipped sentiment recipe on sent_train.csv.

Calibration data for ``finsent-minilm-l6``: the dev split alone (955 rows) is too small to fit
and choose a calibrator reliably (a 15-bin ECE on 955 rows has a noise floor near 0.025). Here
the non-dev train rows are cut into K stratified folds; for each fold the *whole* shipped recipe
(fine-tune with the manifest's train config, export, fuse, int8-quantize, TF-IDF head fitted on
the same rows, mixed with the manifest's weight) is rebuilt on the other folds and scores the
held-out fold. Every row then has a prediction from a model that never trained on it. This is
scikit-learn's ``CalibratedClassifierCV(ensemble=False)`` scheme: cross-fitted predictions
calibrate the model trained on all rows.

    python -m engine.training.crossfit --fold 0 --threads 1 &   # one fold (~12 min on an idle core)
    python -m engine.training.crossfit --fold 1 --threads 1 &   # two folds at a time on 2 cores
    ...                                                          # folds 2, 3, 4 likewise
    python -m engine.training.crossfit --collect     # writes resources/models/finsent-minilm-l6/crossfit_oof.json

sent_valid.csv is never read here.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import json
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from engine.training.data import DEFAULT_DATA_DIR, LABELS, REPO_ROOT, read_tfns, train_dev_split

ARTIFACT = REPO_ROOT / "resources" / "models" / "finsent-minilm-l6"
OOF_FILE = "crossfit_oof.json"
DEFAULT_FOLDS = 5
COMMAND = "python -m engine.training.crossfit --fold K (for each K) && python -m engine.training.crossfit --collect"


def shipped_recipe(artifact: Path) -> tuple[dict, float, str]:
    """(train config, TF-IDF mixing weight, int8 variant) recorded in the shipped manifest."""
    manifest = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
    cfg = manifest["provenance"]["train_config"]
    weight = float(manifest.get("ensemble", {}).get("tfidf_weight", 0.0))
    return cfg, weight, manifest["quantization"]["variant"]


def fold_indices(labels: list[int], folds: int, seed: int) -> list[np.ndarray]:
    """Held-out row positions (within the non-dev train rows) of each fold."""
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [np.sort(test) for _, test in splitter.split(np.zeros(len(y)), y)]


def _int8_from_checkpoint(ckpt: Path, work: Path, variant: str) -> Path:
    from engine.training.finetune import export_onnx, fuse_transformer_ops, quantize_int8

    fp32 = work / "model_fp32.onnx"
    export_onnx(ckpt, fp32)
    source = fp32
    if variant.startswith("fused"):
        source = work / "model_fp32_fused.onnx"
        fuse_transformer_ops(fp32, source)
    int8 = work / "model_int8.onnx"
    quantize_int8(source, int8, per_channel="per_channel" in variant, exclude_classifier="fp32_head" in variant)
    return int8


def run_fold(k: int, folds: int, out: Path, data_dir: Path, artifact: Path, threads: int,
             max_steps: int = 0) -> Path:
    import torch

    from engine.sentiment.tfidf_head import TfidfHead, fit
    from engine.training.ensemble import mix
    from engine.training.finetune import (TrainConfig, log, predict_proba_onnx, save_checkpoint, train)
    from engine.training.metrics import classification_report

    torch.set_num_threads(threads)
    cfg_dict, weight, variant = shipped_recipe(artifact)
    known = {f.name for f in fields(TrainConfig)}
    cfg = TrainConfig(**{k_: v for k_, v in cfg_dict.items() if k_ in known})
    if max_steps:
        cfg.max_steps = max_steps
    from engine.training.data import make_tokenizer

    tok = make_tokenizer(cfg.max_length, cfg.strip_urls)
    rest, dev = train_dev_split(read_tfns(data_dir / "sent_train.csv"), cfg.dev_fraction, cfg.seed)
    held = fold_indices(rest.labels, folds, cfg.seed)[k]
    held_set = set(held.tolist())
    fit_rows = rest.take([i for i in range(len(rest)) if i not in held_set])
    held_rows = rest.take(held.tolist())
    log(f"fold {k}/{folds}: train on {len(fit_rows)} rows, predict {len(held_rows)} held-out rows")

    work = out / f"fold{k}"
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    model, history = train(cfg, fit_rows, dev, tok)
    train_seconds = time.time() - t0
    save_checkpoint(model, tok, cfg, work / "fp32")
    int8 = _int8_from_checkpoint(work / "fp32", work, variant)
    head = TfidfHead(fit(fit_rows.texts, fit_rows.labels, work / "tfidf_head.json"))
    held_probs = mix(predict_proba_onnx(int8, tok, held_rows.texts), head.predict_proba(held_rows.texts), weight)
    dev_probs = mix(predict_proba_onnx(int8, tok, dev.texts), head.predict_proba(dev.texts), weight)
    record = {
        "fold": k, "folds": folds, "train_config": asdict(cfg), "tfidf_weight": weight, "int8_variant": variant,
        "train_rows": len(fit_rows), "train_minutes": round(train_seconds / 60, 1), "history": history,
        "held_out": {"positions": held.tolist(), "labels": held_rows.labels,
                     "probs": np.round(held_probs, 6).tolist(),
                     "report": classification_report(held_probs, held_rows.labels, LABELS)},
        "dev": {"probs": np.round(dev_probs, 6).tolist(),
                "report": classification_report(dev_probs, dev.labels, LABELS)},
    }
    path = work / "oof.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    log(f"fold {k}: held-out weighted F1 {record['held_out']['report']['weighted_f1']}, "
        f"dev weighted F1 {record['dev']['report']['weighted_f1']}, {record['train_minutes']} min -> {path}")
    return path


def collect(out: Path, folds: int, data_dir: Path, artifact: Path) -> Path:
    """Merge the folds into one file in the artifact: every non-dev train row, once, out of fold."""
    from engine.training.card import update_artifact_section

    cfg, weight, variant = shipped_recipe(artifact)
    rest, _ = train_dev_split(read_tfns(data_dir / "sent_train.csv"), cfg["dev_fraction"], cfg["seed"])
    probs = np.full((len(rest), len(LABELS)), np.nan)
    per_fold = []
    for k in range(folds):
        rec = json.loads((out / f"fold{k}" / "oof.json").read_text(encoding="utf-8"))
        if rec["folds"] != folds or rec["tfidf_weight"] != weight:
            raise SystemExit(f"fold {k} was built with another recipe ({rec['folds']} folds, weight "
                             f"{rec['tfidf_weight']}); rebuild it")
        pos = np.asarray(rec["held_out"]["positions"])
        if not np.isnan(probs[pos]).all():
            raise SystemExit(f"fold {k} overlaps another fold")
        probs[pos] = rec["held_out"]["probs"]
        per_fold.append({"fold": k, "train_rows": rec["train_rows"], "train_minutes": rec["train_minutes"],
                         "held_out_weighted_f1": rec["held_out"]["report"]["weighted_f1"],
                         "dev_weighted_f1": rec["dev"]["report"]["weighted_f1"]})
    if np.isnan(probs).any():
        raise SystemExit(f"{int(np.isnan(probs).any(axis=1).sum())} rows have no out-of-fold prediction")
    data = {
        "model_id": artifact.name, "labels": list(LABELS),
        "note": ("Out-of-fold probabilities of the shipped recipe on the non-dev rows of TFNS sent_train.csv "
                 f"({folds} folds; each row scored by a model that never trained on it). Rows are in the order of "
                 "engine.training.data.train_dev_split(sent_train.csv, dev_fraction, seed). Calibration data only."),
        "dev_fraction": cfg["dev_fraction"], "seed": cfg["seed"], "folds": folds,
        "labels_true": rest.labels,
        "probs": np.round(probs, 6).tolist(),
    }
    path = artifact / OOF_FILE
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    # The manifest lists the new file (sha256) and how it was made.
    update_artifact_section(artifact, "crossfit", {"file": OOF_FILE, "rows": len(rest), "folds": folds,
                                                   "command": COMMAND, "per_fold": per_fold})
    return path


def load_oof(artifact: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(probs, labels) of the shipped out-of-fold file, or None when the model has none."""
    path = Path(artifact) / OOF_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return np.asarray(data["probs"], dtype=np.float64), np.asarray(data["labels_true"], dtype=np.int64)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--fold", type=int, help="build and score one fold (0-based)")
    what.add_argument("--collect", action="store_true", help="merge finished folds into the artifact")
    p.add_argument("--folds", type=int, default=DEFAULT_FOLDS)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "crossfit")
    p.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    p.add_argument("--artifact", type=Path, default=ARTIFACT)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--max-steps", type=int, default=0, help=argparse.SUPPRESS)  # pipeline dry runs only
    ns = p.parse_args(argv)
    if ns.collect:
        print(collect(ns.out, ns.folds, ns.data_dir, ns.artifact))
    else:
        if not 0 <= ns.fold < ns.folds:
            p.error(f"--fold must be in 0..{ns.folds - 1}")
        run_fold(ns.fold, ns.folds, ns.out, ns.data_dir, ns.artifact, ns.threads, ns.max_steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
