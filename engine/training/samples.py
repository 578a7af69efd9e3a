"""The shipped labelled sample (resources/demo/tfns_dev_sample.csv) that model benchmarks score.

    python -m engine.training.samples [--train ../shared/data/tfns/sent_train.csv] [--out FILE]

Drawn from the fine-tune's dev split (same function, seed and fraction), so no benchmark ever
scores a row a shipped model trained on.
"""

from __future__ import annotations

import csv
from pathlib import Path

from engine.models.benchmark import SAMPLE_FILE
from engine.resources import resources_dir


def write_labelled_sample(train_csv: Path, out: Path, size: int = 300) -> int:
    """Build the shipped sample from the fine-tune's dev split (same function, seed, fraction)."""
    from sklearn.model_selection import train_test_split

    from engine.training.data import read_tfns, train_dev_split
    from engine.training.finetune import TrainConfig

    cfg = TrainConfig()
    _, dev = train_dev_split(read_tfns(train_csv), cfg.dev_fraction, cfg.seed)
    idx = list(range(len(dev)))
    keep, _ = train_test_split(idx, train_size=size, random_state=cfg.seed, stratify=dev.labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "label"])
        for i in sorted(keep):
            writer.writerow([dev.texts[i], int(dev.labels[i])])
    return len(keep)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write the shipped labelled benchmark sample.")
    parser.add_argument("--train", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data" / "tfns" / "sent_train.csv")
    parser.add_argument("--out", type=Path, default=resources_dir() / "demo" / SAMPLE_FILE)
    ns = parser.parse_args()
    print(f"wrote {write_labelled_sample(ns.train, ns.out)} rows to {ns.out}")
