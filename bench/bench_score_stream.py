"""``signaldesk score`` on a large file: rows/s and peak RSS of the streamed command (issue 22 item 4).

    python bench/bench_score_stream.py --rows 1000000 --model lexicon --json
    python bench/bench_score_stream.py --rows 50000 --json            # the default (ONNX) model

Writes a CSV of ``--rows`` TFNS train headlines (repeated, each with an id column) to a temporary
folder, then runs the real CLI (``python -m app score``) as a child and reads its peak RSS from
``getrusage(RUSAGE_CHILDREN)``. Baseline, measured in this process on the same machine and
model: ``Engine.analyze_batch`` alone over the first ``--baseline-rows`` rows in batches of 64.
``ratio`` is the command's rate over that model-only rate: what reading, parsing, writing and the
progress bar cost. Machines here are shared and noisy: compare ratios, not absolute rates.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TFNS = REPO.parent / "shared" / "data" / "tfns" / "sent_train.csv"


def write_rows(path: Path, rows: int) -> list[str]:
    with open(TFNS, encoding="utf-8", newline="") as fh:
        texts = [r["text"] for r in csv.DictReader(fh)]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        for i in range(rows):
            writer.writerow([i, texts[i % len(texts)]])
    return texts


# The model under test scores every row: the latency fallback (a p95 over the budget moves to a
# lighter model) would otherwise switch a loaded machine to the lexicon halfway through the file.
NO_FALLBACK = {"SIGNALDESK_SENTIMENT_LATENCY_BUDGET_MS": "1000000"}


def baseline_rate(texts: list[str], rows: int, model: str, data_dir: Path) -> float:
    os.environ["SIGNALDESK_SENTIMENT_MODEL"] = model
    os.environ.update(NO_FALLBACK)
    from engine.config import load_config
    from engine.engine import Engine

    engine = Engine(load_config(data_dir), data_dir, publish_to_redis=False)
    try:
        sample = [texts[i % len(texts)] for i in range(rows)]
        engine.analyze_batch(sample[:64], persist=False)  # warm
        started = time.perf_counter()
        for i in range(0, len(sample), 64):
            engine.analyze_batch(sample[i:i + 64], persist=False)
        return len(sample) / (time.perf_counter() - started)
    finally:
        engine.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--model", default="auto", help="sentiment_model setting: auto (the default model) or lexicon")
    parser.add_argument("--baseline-rows", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-score-") as tmp:
        tmp_path = Path(tmp)
        data_dir = tmp_path / "data"
        source = tmp_path / "rows.csv"
        texts = write_rows(source, args.rows)
        base = baseline_rate(texts, min(args.baseline_rows, args.rows), args.model, data_dir)
        env = dict(os.environ, SIGNALDESK_SENTIMENT_MODEL=args.model, QT_QPA_PLATFORM="offscreen", **NO_FALLBACK)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "score", "-i", str(source),
                               "-o", str(tmp_path / "scored.csv")], cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        models: dict[str, int] = {}
        if done.returncode == 0:
            with open(tmp_path / "scored.csv", encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh):  # quoted fields may hold newlines: count records
                    models[row["model"]] = models.get(row["model"], 0) + 1
        scored = sum(models.values())
        progress = [line for line in done.stderr.replace("\r", "\n").splitlines() if "scoring" in line]
        result = {
            "rows": args.rows, "model": args.model, "returncode": done.returncode, "scored": scored,
            "rows_by_model": models,
            "file_mb": round(source.stat().st_size / 1e6, 1), "wall_s": round(wall, 1),
            "rows_per_s": round(scored / wall, 1), "peak_rss_mb": round(peak_mb, 1),
            "baseline_model_rows_per_s": round(base, 1), "ratio_to_model_only": round(scored / wall / base, 3),
            "load_average": os.getloadavg(), "last_progress_line": progress[-1].strip() if progress else "",
            "stderr_tail": done.stderr[-300:] if done.returncode else "",
        }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
