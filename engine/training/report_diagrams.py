"""Reliability diagrams of a shipped model on its report set, before and after its shipped calibrator.

The model card quotes the shipped calibrator's ECE on the report set (TFNS sent_valid.csv, rows
neither the model nor the calibrator saw); these are the diagrams behind those figures, stored in
the manifest (``calibration.shipped.report_diagrams``) so the Calibration panel can plot them before
the analyst has outcomes of their own. Run once when the model or its calibrator is rebuilt:

    python -m engine.training.report_diagrams --model finsent-minilm-l6 --data /work/shared/data/tfns
    python -m engine.training.report_diagrams --model finsent-minilm-l6-news --all-reporting-sets

1.1.0 was built for more than tweets: its report set is the three reporting sets together (TFNS
sent_valid.csv, the frozen news test set, the SEntFiN eval part), none read in its training,
selection or calibration.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def report_diagrams(model_id: str, data_dir: Path | None, all_reporting_sets: bool = False) -> dict:
    """{"set", "n", "before": diagram dict, "after": diagram dict} on sent_valid.csv, or on every
    reporting set of the multi-source build."""
    from engine.calibration.calibrators import calibrator_from_dict
    from engine.calibration.metrics import calibration_metrics, reliability_diagram
    from engine.config import Config
    from engine.engine import Engine
    from engine.resources import models_dir
    from engine.training.calibrate import _score
    from engine.training.data import read_tfns

    manifest = json.loads((models_dir() / model_id / "manifest.json").read_text(encoding="utf-8"))
    shipped = manifest["calibration"]["shipped"]
    if all_reporting_sets:
        from engine.training.sources import reporting_sets

        sets = reporting_sets()
        texts = [t for split in sets.values() for t in split.texts]
        labels = [y for split in sets.values() for y in split.labels]
        name = ("TFNS sent_valid.csv + the frozen news test set + the SEntFiN eval part "
                f"({', '.join(f'{k} {len(v.texts):,}' for k, v in sets.items())}; reporting only)")
    else:
        rows = read_tfns(Path(data_dir) / "sent_valid.csv")
        texts, labels, name = list(rows.texts), list(rows.labels), shipped.get("report_set", "TFNS sent_valid.csv")
    engine = Engine(Config(sentiment_model=model_id), None)
    try:
        probs = _score(engine, texts)
    finally:
        engine.close()
    y = np.asarray(labels, dtype=np.int64)
    calibrated = calibrator_from_dict(shipped["calibrator"]).transform(probs)
    return {"set": name, "n": int(len(y)),
            "ece_before": round(calibration_metrics(probs, y).ece, 4),
            "ece_after": round(calibration_metrics(calibrated, y).ece, 4),
            "before": reliability_diagram(probs, y).to_dict(), "after": reliability_diagram(calibrated, y).to_dict()}


def main(argv: list[str] | None = None) -> int:
    from engine.resources import models_dir
    from engine.training.card import update_artifact_section

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", type=Path, help="folder holding TFNS sent_valid.csv")
    source.add_argument("--all-reporting-sets", action="store_true",
                        help="the multi-source build's three reporting sets together")
    args = parser.parse_args(argv)
    result = report_diagrams(args.model, args.data, args.all_reporting_sets)
    artifact = models_dir() / args.model
    calibration = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))["calibration"]
    shipped = calibration["shipped"]
    shipped["report_diagrams"] = result
    # What the Calibration panel quotes beside the diagrams ("model card: ECE … raw, … calibrated").
    shipped.setdefault("report_set", result["set"])
    shipped["report_ece_before"], shipped["report_ece_after"] = result["ece_before"], result["ece_after"]
    render = None
    if args.all_reporting_sets:
        from engine.training.ms_card import render_card as render
    update_artifact_section(artifact, "calibration", calibration, render=render)
    print(json.dumps({k: v for k, v in result.items() if k not in ("before", "after")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
