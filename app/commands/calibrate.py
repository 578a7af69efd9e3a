"""``signaldesk calibrate --labelled FILE``: how well calibrated is the active model, before and after?

The file is any CSV with ``text`` and ``label`` columns (labels: bullish/bearish/neutral,
positive/negative/neutral, or TFNS codes 0 bearish, 1 bullish, 2 neutral). The active
sentiment model scores every row; a seeded, stratified split then fits the calibrator on one
part and reports ECE (15 equal-width bins of top-label confidence), MCE and multi-class Brier
before and after on the *other* part, so the "after" figures are never in-sample.

``--save`` also stores the fitted calibrator for the active model version (and the rows as
labelled-file outcomes) in the data folder's database, where the desk applies it, if the
acceptance rule the desk uses allows it (engine/calibration/acceptance.py): at least 300 rows,
and out of fold a lower top-label Brier than the active calibrator (or the raw confidence) on
the same rows. Otherwise nothing is saved, the reason is printed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK = 0
EXIT_NOTHING_USABLE = 1
EXIT_USAGE = 2
MIN_ROWS = 20  # below this neither part of the split says anything


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate", help="measure and fit confidence calibration on a labelled CSV",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--labelled", "-l", required=True, type=Path, metavar="FILE",
                   help="CSV with 'text' and 'label' columns")
    p.add_argument("--method", default="auto", choices=("auto", "isotonic", "platt", "temperature"),
                   help="calibrator (default auto: chosen by cross-validation on the fitting part)")
    p.add_argument("--scheme", default=None, choices=("top_label", "one_vs_rest"),
                   help="for isotonic/platt: one map on top-label confidence (default) or one per class")
    p.add_argument("--fit-fraction", type=float, default=0.5,
                   help="share of rows used to fit; the rest is for reporting (default 0.5)")
    p.add_argument("--seed", type=int, default=0, help="seed of the fit/report split (default 0)")
    p.add_argument("--batch-size", type=int, default=64, help="items per model call (default 64)")
    p.add_argument("--save", action="store_true", help="store the calibrator for the active model version")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    err = sys.stderr
    path = Path(args.labelled)
    if not path.is_file():
        print(f"calibrate: no such file: {path}", file=err)
        return EXIT_USAGE
    if not 0.05 <= args.fit_fraction <= 0.95:
        print("calibrate: --fit-fraction must be between 0.05 and 0.95", file=err)
        return EXIT_USAGE
    if args.method == "temperature" and args.scheme == "one_vs_rest":
        print("calibrate: temperature scaling has no one-vs-rest scheme", file=err)
        return EXIT_USAGE

    from engine.calibration.labelled import load_labelled_csv

    data = load_labelled_csv(path)
    for e in data.errors:
        print(f"calibrate: {path.name}:{e.line}: skipped: {e.reason}", file=err)
    if len(data.rows) < MIN_ROWS:
        print(f"calibrate: {len(data.rows)} usable row(s) in {path}; at least {MIN_ROWS} needed", file=err)
        return EXIT_NOTHING_USABLE

    import numpy as np
    from tqdm import tqdm

    from app.runtime import build_engine
    from engine.calibration.fitting import ece_noise_floor, fit_and_report, stratified_halves
    from engine.calibration.labelled import evaluate_labelled

    engine = build_engine(args)
    try:
        status = engine.sentiment_status
        if status.degraded:
            print(f"calibrate: warning: using fallback model {status.model_id}: {status.reason}", file=err)
        with tqdm(total=len(data.rows), file=err, unit="item", desc="scoring", disable=bool(args.quiet)) as bar:
            def progress(done: int, total: int) -> None:
                bar.update(done - bar.n)

            evaluation = evaluate_labelled(engine, data.rows, progress=progress, batch_size=args.batch_size)
        y = evaluation.labels
        fit_idx, rep_idx = stratified_halves(y, args.fit_fraction, args.seed)
        if len(np.unique(y[fit_idx])) < 2:
            print("calibrate: the fitting part holds a single class; nothing to calibrate", file=err)
            return EXIT_NOTHING_USABLE
        report = fit_and_report(evaluation.probs[fit_idx], y[fit_idx], evaluation.probs[rep_idx], y[rep_idx],
                                args.method, args.scheme)
        cal = report.calibrator
        result = {
            "n": int(len(y)),
            "method": cal.method,
            "scheme": cal.scheme,
            "model": f"{evaluation.model_id}@{evaluation.model_version}",
            "n_fit": int(len(fit_idx)),
            "n_report": int(len(rep_idx)),
            "skipped_rows": len(data.errors),
            "before": {k: v for k, v in report.before.to_dict().items() if k in ("ece", "mce", "brier")},
            "after": {k: v for k, v in report.after.to_dict().items() if k in ("ece", "mce", "brier")},
        }
        mean, p95 = ece_noise_floor(cal.transform(evaluation.probs[rep_idx]))
        # Context for reading "after": the ECE a perfectly calibrated model would show on this many rows.
        result["ece_noise_floor"] = {"mean": round(mean, 4), "p95": round(p95, 4)}
        if report.cv:
            result["cv_ece"] = {k: round(v, 4) for k, v in report.cv.items()}
        if args.save:
            result["saved_calibrator_id"], result["save_verdict"] = _save(engine, evaluation, report, path)
    finally:
        engine.close()

    if args.json:
        print(json.dumps(result))
    else:
        b, a = result["before"], result["after"]
        print(f"model {result['model']}: fitted {cal.name} on {result['n_fit']} rows, "
              f"reported on the other {result['n_report']}")
        print(f"{'':8s}{'ECE':>8s}{'MCE':>8s}{'Brier':>8s}")
        print(f"{'before':8s}{b['ece']:8.4f}{b['mce']:8.4f}{b['brier']:8.4f}")
        print(f"{'after':8s}{a['ece']:8.4f}{a['mce']:8.4f}{a['brier']:8.4f}")
        f = result["ece_noise_floor"]
        print(f"(a perfectly calibrated model would show ECE ~{f['mean']:.4f}, 95% under {f['p95']:.4f}, "
              f"on {result['n_report']} rows)")
    if args.save and result["saved_calibrator_id"] is None:
        print(f"calibrate: not saved: {result['save_verdict']['reason']}", file=err)
        return EXIT_NOTHING_USABLE
    return EXIT_OK


def _save(engine, evaluation, report, path: Path) -> tuple[int | None, dict]:
    """Store the calibrator if the acceptance rule allows it; (its id or None, the verdict)."""
    from engine.calibration.acceptance import judge_fit
    from engine.calibration.service import CalibrationService

    service = CalibrationService(engine.store)
    stored, active = service.active(evaluation.model_id, evaluation.model_version)
    y = evaluation.labels
    cal = report.calibrator
    verdict = judge_fit(evaluation.probs, evaluation.probs.argmax(axis=1) == y, cal.method, cal.scheme, active,
                        min_samples=service.policy.min_samples, labels=y,
                        active_label=f"the active {stored.label}" if stored else "")
    if not verdict.accepted:
        return None, verdict.to_dict()
    origin = str(path.resolve())
    service.record_labelled(evaluation, origin, refit=False)
    metrics = report.metrics_dict()
    # The policy counts outcomes since the last fit; this fit saw the file's rows.
    metrics["outcomes_at_fit"] = service.repo.count_outcomes(evaluation.model_id, evaluation.model_version)
    metrics["origin"] = origin
    metrics["acceptance"] = verdict.to_dict()
    saved = service.repo.save_calibrator(evaluation.model_id, evaluation.model_version, report.calibrator,
                                         report.n_fit, metrics, ["labelled_file"])
    return saved.id, verdict.to_dict()
