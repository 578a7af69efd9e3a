"""Desk-version training time for N analyst labels, against scoring the same labels once.

    python bench/bench_desk_train.py --json
    python bench/bench_desk_train.py --labels 2000

In a fresh data folder: ``--labels`` sentences of the news corpus train part (numpy seed 0) are
imported as analyst labels, then

1. baseline: the active model (finsent-minilm-l6) scores those same texts once, in batches of
   128, in this process;
2. cold: ``engine.desk.train()``, the first training in the folder: it also computes the guard
   set's (3,355 texts) and the reference's (2,000 embeddings) features and caches them;
3. warm: the same training again, with those caches, as every later training of the desk.

Reported: seconds per stage, totals, and each total as a ratio to the baseline (this machine is
shared, so the ratio is the figure to compare across runs). Not part of pytest; nothing is
asserted. The load average before and after is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from engine.config import Config  # noqa: E402
from engine.engine import Engine  # noqa: E402
from engine.sentiment.base import LABELS  # noqa: E402
from engine.training.desk_demo import news_train  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args(argv)
    load_before = os.getloadavg()
    texts, y, _ = news_train()
    picked = np.sort(np.random.default_rng(0).choice(len(texts), ns.labels, replace=False))
    data_dir = Path(tempfile.mkdtemp(prefix="bench-desk-"))
    path = data_dir / "labels.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        writer.writerows([texts[i], LABELS[y[i]]] for i in picked)
    engine = Engine(Config(sentiment_model="finsent-minilm-l6"), data_dir, publish_to_redis=False)
    try:
        engine.desk.import_labels(path, "bench")
        runtime = engine.models.runtime("finsent-minilm-l6")
        batch = [texts[i] for i in picked]
        started = time.perf_counter()
        for start in range(0, len(batch), 128):
            runtime.predict_proba(batch[start:start + 128])
        baseline = time.perf_counter() - started
        runs = {}
        for name in ("cold", "warm"):
            started = time.perf_counter()
            result = engine.desk.train(who="bench")
            total = time.perf_counter() - started
            runs[name] = {"seconds": round(total, 1), "ratio_to_baseline": round(total / baseline, 1),
                          "stages": result.seconds, "offered": result.evaluation["offered"],
                          "desk_cv_weighted_f1": result.evaluation["desk"]["candidate"]["weighted_f1"]}
    finally:
        engine.close()
    out = {"labels": ns.labels, "baseline_scoring_seconds": round(baseline, 2), "runs": runs,
           "cpu_count": os.cpu_count(), "load_before": [round(x, 2) for x in load_before],
           "load_after": [round(x, 2) for x in os.getloadavg()]}
    if ns.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{ns.labels} labels; scoring them once with the active model: {baseline:.1f} s "
              f"(load {out['load_before']} -> {out['load_after']})")
        for name, r in runs.items():
            print(f"  {name}: {r['seconds']} s = {r['ratio_to_baseline']}x the scoring pass; stages {r['stages']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
