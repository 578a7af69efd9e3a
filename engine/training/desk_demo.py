"""Demonstration: a simulated analyst corrects signals, the desk learns a desk version from them.

    python -m engine.training.desk_demo [--base finsent-minilm-l6] [--labels 300] [--seed 0] [--json]

In a fresh data folder, with ``--base`` as the active model:

1. ``--labels`` sentences drawn (numpy seed ``--seed``) from the team's news corpus TRAIN part
   (engine/training/data/news/train) arrive as signals and are scored and stored;
2. a simulated analyst gives each one a verdict exactly as the desk's feedback buttons do: "right"
   where the model's label is the corpus label, otherwise the corpus label;
3. ``engine.desk.train()`` trains a desk version from those labels and evaluates it (held-out
   desk labels, guard set: TFNS valid + the news test set) against the active model;
4. both the adapted and the shipped version score the REST of the news train part (rows neither
   saw: the shipped model never trained on this corpus), reported as weighted F1 overall and per
   kind of text;
5. if offered, the version is promoted, one headline is scored, the promotion is rolled back and
   the same headline scored again: each stored signal names the version that scored it.

The news TEST set is only ever the guard here. Prints what it measured; ``--json`` for the record.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from engine.calibration.labelled import parse_label
from engine.config import Config
from engine.engine import Engine
from engine.sentiment.base import LABELS

NEWS_TRAIN = Path(__file__).resolve().parent / "data" / "news" / "train"
HEADLINE = "Operating profit rose to EUR 14.2 mn from EUR 9.8 mn, the company said."


def news_train() -> tuple[list[str], np.ndarray, list[str]]:
    texts, labels, kinds = [], [], []
    for path in sorted(NEWS_TRAIN.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                texts.append(row["text"])
                labels.append(parse_label(row["label"]))
                kinds.append(row["kind"])
    return texts, np.array(labels, dtype=np.int64), kinds


def _scores(y: np.ndarray, probs: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    pred = probs.argmax(axis=1)
    return {"n": int(len(y)), "weighted_f1": round(float(f1_score(y, pred, average="weighted")), 4),
            "macro_f1": round(float(f1_score(y, pred, average="macro")), 4),
            "accuracy": round(float(accuracy_score(y, pred)), 4)}


def run(base: str, n_labels: int, seed: int, data_dir: Path) -> dict:
    texts, y, kinds = news_train()
    picked = np.sort(np.random.default_rng(seed).choice(len(texts), n_labels, replace=False))
    rest = np.setdiff1d(np.arange(len(texts)), picked)
    engine = Engine(Config(sentiment_model=base), data_dir, publish_to_redis=False)
    try:
        signals = []
        for start in range(0, len(picked), 64):
            part = picked[start:start + 64]
            signals += engine.analyze_batch([texts[i] for i in part], source="demo: news train")
        corrected = 0
        for sig, i in zip(signals, picked):
            truth = LABELS[y[i]]
            if sig.label == truth:
                engine.calibration.record_feedback(sig.id, right=True, analyst="simulated analyst", refit=False)
            else:
                engine.calibration.record_feedback(sig.id, label=truth, analyst="simulated analyst", refit=False)
                corrected += 1

        def progress(p) -> None:
            print(f"\r{p.stage:17s} {p.done}/{p.total}   ", end="", file=sys.stderr, flush=True)

        started = time.perf_counter()
        result = engine.desk.train(who="simulated analyst", progress=progress)
        train_s = time.perf_counter() - started
        print(file=sys.stderr)
        version = result.version.id
        held_out = [texts[i] for i in rest]
        shipped = np.asarray(engine.models.runtime(base).predict_proba(held_out), dtype=np.float64)
        adapted = np.asarray(engine.models.runtime(version).predict_proba(held_out), dtype=np.float64)
        by_kind = {}
        for kind in sorted(set(kinds)):
            rows = np.array([k == kind for k in np.array(kinds)[rest]])
            by_kind[kind] = {"shipped": _scores(y[rest][rows], shipped[rows]),
                             "adapted": _scores(y[rest][rows], adapted[rows])}
        out = {
            "base": base, "labels": int(n_labels), "seed": seed, "corrected": corrected,
            "confirmed": int(n_labels - corrected), "version": version,
            "train_seconds": round(train_s, 1), "stage_seconds": result.seconds,
            "evaluation": result.evaluation,
            "rest_of_news_train": {"shipped": _scores(y[rest], shipped), "adapted": _scores(y[rest], adapted),
                                   "by_kind": by_kind},
        }
        if result.evaluation["offered"]:
            engine.desk.promote(version, who="simulated analyst")
            during = engine.analyze(HEADLINE, source="demo")
            back = engine.desk.rollback(who="simulated analyst")
            after = engine.analyze(HEADLINE, source="demo")
            stored = [engine.store.get_signal(s.id) for s in (during, after)]
            out["promotion"] = {"promoted_signal": [stored[0].model_id, stored[0].model_version, stored[0].label],
                                "after_rollback_signal": [stored[1].model_id, stored[1].model_version, stored[1].label],
                                "active_after_rollback": list(back),
                                "audit": [(e.action, e.who, e.model_id) for e in engine.desk.repo.audit()]}
        return out
    finally:
        engine.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="finsent-minilm-l6")
    parser.add_argument("--labels", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a new temporary folder")
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args(argv)
    data_dir = ns.data_dir or Path(tempfile.mkdtemp(prefix="desk-demo-"))
    out = run(ns.base, ns.labels, ns.seed, data_dir)
    out["data_dir"] = str(data_dir)
    if ns.json:
        print(json.dumps(out, indent=2))
        return 0
    ev, rest = out["evaluation"], out["rest_of_news_train"]
    print(f"{out['labels']} signals from the news corpus train part scored by {out['base']}: the simulated analyst "
          f"confirmed {out['confirmed']} and corrected {out['corrected']}")
    print(f"trained {out['version']} in {out['train_seconds']} s {out['stage_seconds']}")
    for reason in ev["reasons"]:
        print(f"  {reason}")
    for name, g in ev["guard"].items():
        print(f"  guard {name:10s} adapted {g['candidate']['weighted_f1']:.4f}  shipped {g['active']['weighted_f1']:.4f}  "
              f"({g['delta']:+.4f})")
    print(f"rest of the news train part ({rest['shipped']['n']} rows): weighted F1 adapted "
          f"{rest['adapted']['weighted_f1']:.4f} vs shipped {rest['shipped']['weighted_f1']:.4f}")
    for kind, s in rest["by_kind"].items():
        print(f"  {kind:14s} adapted {s['adapted']['weighted_f1']:.4f}  shipped {s['shipped']['weighted_f1']:.4f}  "
              f"(n={s['shipped']['n']})")
    if "promotion" in out:
        print(f"promoted, then rolled back: {out['promotion']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
