"""Measure calibration of the active sentiment model on TFNS, the way the model card reports it.

    python -m engine.training.calibrate [--model auto|lexicon|MODEL_ID] [--method auto|isotonic|platt|temperature] [--json]

- Fit set (``--fit-on auto``, the default): when the model ships cross-fitted predictions
  (``crossfit_oof.json``, written by ``engine.training.crossfit``), every row of ``sent_train.csv``
  scored by a model that never trained on it: the out-of-fold rows plus the dev split scored by
  the shipped model itself. Otherwise (``dev``) the dev split alone -- the rows the fine-tuned
  model held out for model selection, made by ``engine.training.data.train_dev_split`` with the
  seed and fraction from the model's manifest (so the split is identical; 0.1 / 42 by default).
- Report set: the whole of ``sent_valid.csv``, used only to *report* figures here. Nothing is
  fitted or chosen on it: the method (``auto``) is chosen by cross-validation on the fit set.
- With cross-fitted data a transfer check runs on the dev split only: a calibrator fitted on
  the out-of-fold rows (other models) is applied to the shipped model's dev predictions.
- The ECE noise floor (what a perfectly calibrated model would show on the same number of
  items with the same confidences) is printed beside the figures: a 15-bin ECE cannot be
  read more finely than that.

Caveat for the lexicon: its logistic layer was fitted on all of ``sent_train.csv``, dev rows
included, so for it the dev split is not unseen data (33 parameters, so the effect is small).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from engine.calibration.fitting import CANDIDATES, ece_noise_floor, fit_and_report
from engine.calibration.metrics import calibration_metrics

DEFAULT_DEV_FRACTION = 0.1  # engine.training.finetune.TrainConfig defaults (not imported: it needs torch)
DEFAULT_SEED = 42


def dev_split_params(model_dir: Path | None) -> tuple[float, int]:
    """(dev_fraction, seed) the model was trained with, from its manifest when recorded."""
    if model_dir is not None and (Path(model_dir) / "manifest.json").is_file():
        manifest = json.loads((Path(model_dir) / "manifest.json").read_text(encoding="utf-8"))
        prov = manifest.get("provenance", {})
        cfg = prov.get("train_config", {})
        return float(cfg.get("dev_fraction", DEFAULT_DEV_FRACTION)), int(cfg.get("seed", prov.get("seed", DEFAULT_SEED)))
    return DEFAULT_DEV_FRACTION, DEFAULT_SEED


def tfns_dev_split(data_dir: Path, model_dir: Path | None = None, part: str = "dev"):
    """The dev split of sent_train.csv exactly as the fine-tuning run made it (``part="rest"``: the other rows)."""
    from engine.training.data import read_tfns, train_dev_split

    fraction, seed = dev_split_params(model_dir)
    train, dev = train_dev_split(read_tfns(Path(data_dir) / "sent_train.csv"), fraction, seed)
    return dev if part == "dev" else train


def _score(engine, texts: list[str], batch: int = 128) -> np.ndarray:
    parts = [np.array([s.probs for s in engine.analyze_batch(texts[i:i + batch], source="calibration", persist=False)])
             for i in range(0, len(texts), batch)]
    return np.vstack(parts)


def _oof(model_dir: Path):
    from engine.training.crossfit import load_oof

    return load_oof(model_dir)


def measure(engine, data_dir: Path, methods: list[tuple[str, str | None]] | None = None,
            fit_on: str = "auto") -> dict[str, Any]:
    from engine.resources import models_dir
    from engine.training.data import read_tfns

    status = engine.sentiment_status
    model_dir = models_dir() / status.model_id
    oof = _oof(model_dir) if fit_on in ("auto", "crossfit") else None
    if fit_on == "crossfit" and oof is None:
        raise SystemExit(f"{model_dir} has no cross-fitted predictions (python -m engine.training.crossfit)")
    dev = tfns_dev_split(data_dir, model_dir, "rest" if fit_on == "rest" else "dev")
    valid = read_tfns(Path(data_dir) / "sent_valid.csv")  # reporting only
    p_dev, y_dev = _score(engine, dev.texts), np.array(dev.labels)
    p_val, y_val = _score(engine, valid.texts), np.array(valid.labels)
    fraction, seed = dev_split_params(model_dir)
    split = f"dev fraction {fraction}, seed {seed}"
    if oof is not None:
        p_oof, y_oof = oof
        p_fit, y_fit = np.vstack([p_oof, p_dev]), np.concatenate([y_oof, y_dev])
        fit_set = (f"all of TFNS sent_train.csv, each row scored by a model that never trained on it: "
                   f"{len(y_oof)} out-of-fold rows (cross-fitted copies of the recipe) + the {len(y_dev)}-row "
                   f"dev split scored by the shipped model ({split}), n={len(y_fit)}")
    else:
        p_fit, y_fit = p_dev, y_dev
        fit_set = (f"TFNS sent_train.csv {'dev split' if fit_on != 'rest' else 'non-dev rows'} "
                   f"({split}), n={len(y_dev)}")
    out: dict[str, Any] = {
        "model": f"{status.model_id}@{status.version}",
        "fit_set": fit_set,
        "report_set": f"TFNS sent_valid.csv (reporting only), n={len(y_val)}",
        "dev_raw": calibration_metrics(p_dev, y_dev).to_dict(),
        "fit_raw": calibration_metrics(p_fit, y_fit).to_dict(),
        "before": calibration_metrics(p_val, y_val).to_dict(),
        "noise_floor_before": [round(x, 4) for x in ece_noise_floor(p_val)],
        "after": {},
    }
    if oof is not None:
        # Do calibrators learnt from the fold models carry over to the shipped model? Checked on dev only.
        check = fit_and_report(p_oof, y_oof, p_dev, y_dev, "auto")
        out["transfer_check_on_dev"] = {"calibrator": check.calibrator.name, "n_fit": check.n_fit,
                                        "before": check.before.to_dict(), "after": check.after.to_dict(),
                                        "noise_floor": [round(x, 4) for x in ece_noise_floor(p_dev)]}
    for method, scheme in methods or [("auto", None), *CANDIDATES]:
        rep = fit_and_report(p_fit, y_fit, p_val, y_val, method, scheme)
        name = "auto -> " + rep.calibrator.name if method == "auto" else rep.calibrator.name
        entry = rep.after.to_dict()
        entry["noise_floor"] = [round(x, 4) for x in ece_noise_floor(rep.calibrator.transform(p_val))]
        if rep.cv:
            entry["cv_ece_on_fit_set"] = {k: round(v, 4) for k, v in rep.cv.items()}
        if method == "auto":
            out["default_calibrator"] = rep.calibrator.to_dict()
        out["after"][name] = entry
    return out


TARGET_ECE = 0.02  # the project's target for calibrated confidence on unseen labelled data


def card_note(result: dict[str, Any]) -> str:
    """A plain reading of the figures: what the default gives, and whether it meets the target."""
    auto_name, auto = next((k, v) for k, v in result["after"].items() if k.startswith("auto"))
    met = auto["ece"] <= TARGET_ECE
    text = (f"The default (`{auto_name}`) gives ECE {auto['ece']:.4f} on the report set: the target "
            f"(<= {TARGET_ECE} after calibration on a split the model never trained on) is "
            f"{'met' if met else 'not met'}. Raw ECE is {result.get('fit_raw', result['dev_raw'])['ece']:.4f} on the fit set and "
            f"{result['before']['ece']:.4f} on the report set.")
    floor = auto.get("noise_floor")
    if floor:
        text += (f" A perfectly calibrated model with the calibrated confidences would show {floor[0]:.4f} on "
                 f"average (95th percentile {floor[1]:.4f}) on this many rows.")
    if not met:
        text += (" Other methods may score lower on the report set, but choosing one by that figure would "
                 "be tuning on the evaluation split, so the default stays with the fit-set choice.")
    return text


def record_in_card(result: dict[str, Any]) -> None:
    """Write the measured figures into the serving model's manifest and card."""
    import datetime as dt

    from engine.resources import models_dir
    from engine.training.card import update_artifact_section

    model_id = result["model"].split("@", 1)[0]
    artifact = models_dir() / model_id
    cv = next((a.get("cv_ece_on_fit_set") for a in result["after"].values() if a.get("cv_ece_on_fit_set")), {})
    section = {
        "measured": dt.date.today().isoformat(),
        "command": "python -m engine.training.calibrate --model " + model_id + " --update-artifact",
        "fit_set": result["fit_set"], "report_set": result["report_set"],
        "dev_raw": result["dev_raw"], "fit_raw": result["fit_raw"], "before": result["before"],
        "noise_floor_before": result["noise_floor_before"],
        "after": {k: {m: v[m] for m in ("ece", "mce", "brier", "accuracy", "noise_floor") if m in v}
                  for k, v in result["after"].items()},
        "cv_ece_on_fit_set": cv,
        "transfer_check_on_dev": result.get("transfer_check_on_dev"),
        "note": card_note(result),
        # The engine stores this as the model version's first calibrator (CalibrationService).
        "shipped": {"calibrator": result["default_calibrator"], "n_fit": int(result["fit_raw"]["n"]),
                    "fit_set": result["fit_set"], "measured": dt.date.today().isoformat(),
                    "report_set": result["report_set"], "report_ece_before": result["before"]["ece"],
                    "report_ece_after": next(v["ece"] for k, v in result["after"].items() if k.startswith("auto"))},
    }
    update_artifact_section(artifact, "calibration", section)


def main(argv: list[str] | None = None) -> int:
    from engine.config import Config
    from engine.engine import Engine
    from engine.training.data import DEFAULT_DATA_DIR

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="auto", help="sentiment_model setting: auto, lexicon or a model id")
    parser.add_argument("--method", default="all", help="auto, isotonic, platt, temperature, or all (default)")
    parser.add_argument("--scheme", default=None, help="top_label or one_vs_rest (isotonic/platt only)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--fit-on", choices=("auto", "crossfit", "dev", "rest"), default="auto",
                        help="auto (default): crossfit when the model ships crossfit_oof.json, else dev. "
                             "crossfit: out-of-fold train rows + dev. dev: the held-out dev split. "
                             "rest: the other train rows -- only "
                             "meaningful for the lexicon, which saw all of sent_train anyway; a fine-tuned "
                             "model is over-confident on its own training rows")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--update-artifact", action="store_true",
                        help="store the before/after figures in the model's manifest and model card "
                             "(only with the default --method all --fit-on dev)")
    ns = parser.parse_args(argv)
    engine = Engine(Config(sentiment_model=ns.model), None)
    methods = None if ns.method == "all" else [(ns.method, ns.scheme)]
    result = measure(engine, ns.data, methods, ns.fit_on)
    if ns.update_artifact:
        if methods is not None or ns.fit_on != "auto":
            parser.error("--update-artifact records the full default protocol: drop --method/--fit-on")
        record_in_card(result)
    if ns.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['model']}\n  fit:    {result['fit_set']}\n  report: {result['report_set']}")
        b = result["before"]
        print(f"  before: ECE {b['ece']:.4f}  MCE {b['mce']:.4f}  Brier {b['brier']:.4f}  "
              f"(noise floor mean/p95 {result['noise_floor_before']})")
        for name, a in result["after"].items():
            print(f"  {name:32s} ECE {a['ece']:.4f}  MCE {a['mce']:.4f}  Brier {a['brier']:.4f}  acc {a['accuracy']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
