"""Per-source figures for finsent-minilm-l6 1.0.0 and finsent-minilm-l6-news (1.1.0 and later), through `signaldesk score`.

    python -m engine.training.ms_report [--out build/ms-report] [--write]

For each model (switched to in a fresh data folder with `signaldesk models switch`), every set
is written as CSV and scored by `signaldesk score` (the product command, subprocess): the dev
splits of the three TRAIN sources (the only figures any choice is made on) and the reporting
sets (TFNS sent_valid.csv, the frozen news test set, the SEntFiN eval part), read here for
reported figures only. ECE is measured on raw probabilities and after each model's shipped
calibrator. ``--write`` records everything in the new model's manifest, sets ``supersedes``
when the news model beats 1.0.0 on the mean dev weighted F1 with no source's dev split more than
DEV_TOLERANCE worse (otherwise ``"automatic": false``: it serves only when chosen by name), and
re-renders its model card.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from engine.training.data import LABELS, REPO_ROOT
from engine.training.metrics import classification_report
from engine.training.sources import reporting_sets, train_sources

NEW, OLD = "finsent-minilm-l6-news", "finsent-minilm-l6"
COMMAND = "python -m engine.training.ms_report --write"
DEV_TOLERANCE = 0.01


def _write_set(path: Path, split) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["text", "gold"])
        for text, label in zip(split.texts, split.labels):
            w.writerow([text, LABELS[label]])


def _cli(data_dir: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], check=True, env=env,
                   cwd=REPO_ROOT, stdout=subprocess.DEVNULL)


def score_with(model_id: str, sets: dict[str, Path], work: Path) -> dict[str, tuple[np.ndarray, np.ndarray, str]]:
    """{set: (probs, gold, model@version)} for every set, scored by `signaldesk score`."""
    data_dir = work / f"data-{model_id}"
    data_dir.mkdir(parents=True, exist_ok=True)
    _cli(data_dir, "models", "switch", "sentiment", model_id)
    out = {}
    for name, path in sets.items():
        scored = work / f"{model_id}-{name}.csv"
        _cli(data_dir, "score", "--input", str(path), "--output", str(scored), "--quiet")
        with open(scored, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        probs = np.array([[float(r["p_bearish"]), float(r["p_bullish"]), float(r["p_neutral"])] for r in rows])
        gold = np.array([LABELS.index(r["gold"]) for r in rows])
        out[name] = (probs, gold, rows[0]["model"])
    return out


def _shipped_calibrator(model_id: str):
    from engine.calibration.calibrators import calibrator_from_dict

    manifest = json.loads((REPO_ROOT / "resources" / "models" / model_id / "manifest.json").read_text())
    shipped = (manifest.get("calibration") or {}).get("shipped")
    return calibrator_from_dict(shipped["calibrator"]) if shipped else None


def figures(scored: dict, calibrator) -> dict:
    from engine.calibration.fitting import ece_noise_floor
    from engine.calibration.metrics import calibration_metrics

    out = {}
    for name, (probs, gold, model) in scored.items():
        rep = classification_report(probs, gold.tolist(), LABELS)
        rep["model"] = model
        rep["ece_raw"] = round(calibration_metrics(probs, gold).ece, 4)
        if calibrator is not None:
            calibrated = calibrator.transform(probs)
            rep["ece_calibrated"] = round(calibration_metrics(calibrated, gold).ece, 4)
            # A 0.02 target is read against this: what a perfectly calibrated model with these
            # confidences would show on this many rows (binned ECE is biased upwards on small sets).
            rep["ece_noise_floor"] = [round(x, 4) for x in ece_noise_floor(calibrated)]
        out[name] = rep
    return out


def run(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    sets: dict[str, Path] = {}
    for source, (_, dev) in train_sources(0.1, 42).items():
        sets[f"dev_{source}"] = out_dir / f"dev_{source}.csv"
        _write_set(sets[f"dev_{source}"], dev)
    for source, split in reporting_sets().items():
        sets[f"report_{source}"] = out_dir / f"report_{source}.csv"
        _write_set(sets[f"report_{source}"], split)
    result = {"command": COMMAND, "models": {}}
    with tempfile.TemporaryDirectory(dir=out_dir) as tmp:
        for model_id in (OLD, NEW):
            result["models"][model_id] = figures(score_with(model_id, sets, Path(tmp)), _shipped_calibrator(model_id))
    for model_id, figs in result["models"].items():
        devs = [figs[k]["weighted_f1"] for k in figs if k.startswith("dev_")]
        figs["dev_mean_weighted_f1"] = round(float(np.mean(devs)), 4)
    new, old = result["models"][NEW], result["models"][OLD]
    # Rule fixed before any figure was seen: a higher mean dev weighted F1 across the three sources,
    # and no source's dev weighted F1 lower by more than DEV_TOLERANCE.
    result["default_rule"] = (f"mean dev weighted F1 higher, and no source's dev weighted F1 lower by more "
                              f"than {DEV_TOLERANCE}")
    result["new_better_on_dev"] = bool(new["dev_mean_weighted_f1"] > old["dev_mean_weighted_f1"] and all(
        new[k]["weighted_f1"] >= old[k]["weighted_f1"] - DEV_TOLERANCE for k in new if k.startswith("dev_") and isinstance(new[k], dict)))
    (out_dir / "report.json").write_text(json.dumps(result, indent=2))
    return result


def summary_lines(result: dict) -> list[str]:
    lines = []
    for model_id, figs in result["models"].items():
        lines.append(f"{model_id}: mean dev weighted F1 {figs['dev_mean_weighted_f1']}")
        for name, rep in figs.items():
            if isinstance(rep, dict):
                lines.append(f"  {name:15s} n={rep['n']:5d} wF1 {rep['weighted_f1']:.4f} macro {rep['macro_f1']:.4f} "
                             f"ECE raw {rep['ece_raw']:.4f} calibrated {rep.get('ece_calibrated', float('nan')):.4f} "
                             f"(noise floor mean/p95 {rep.get('ece_noise_floor')}) "
                             f"confusion {rep['confusion_matrix']}")
    lines.append(f"{NEW} better than {OLD} on the dev splits ({result['default_rule']}): {result['new_better_on_dev']}")
    return lines


def write_into_artifact(result: dict) -> None:
    from engine.manifest import write_manifest
    from engine.training.ms_card import render_card

    art = REPO_ROOT / "resources" / "models" / NEW
    fields = json.loads((art / "manifest.json").read_text(encoding="utf-8"))
    fields.pop("files", None)
    fields.pop("size_bytes", None)
    fields["metrics"]["through_score"] = result
    new = result["models"][NEW]
    # The registry's quality figure is TFNS sent_valid weighted F1 (as for 1.0.0).
    fields["metrics"]["valid"] = {"int8": {k: new["report_tfns"][k] for k in ("n", "weighted_f1", "macro_f1",
                                                                           "accuracy")}}
    # Which version serves by default is decided on the dev splits only, never by the reporting sets.
    if result["new_better_on_dev"]:
        fields["supersedes"] = OLD
        fields.pop("automatic", None)
    else:
        fields.pop("supersedes", None)
        fields["automatic"] = False
    manifest = write_manifest(art, fields)
    (art / "MODEL_CARD.md").write_text(render_card(manifest), encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=REPO_ROOT / "build" / "ms-report")
    p.add_argument("--write", action="store_true", help="record the figures in the news model's manifest and card")
    args = p.parse_args(argv)
    result = run(args.out)
    print("\n".join(summary_lines(result)))
    if args.write:
        write_into_artifact(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
