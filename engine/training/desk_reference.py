"""Write the reference texts a desk version's gate learns "not the desk's kind of text" from.

    python -m engine.training.desk_reference

A seeded sample of TFNS ``sent_train.csv`` rows outside the dev split that finsent-minilm-l6 was
selected on (the split ``engine.training.calibrate.tfns_dev_split`` rebuilds), texts only, into
``resources/desklearn/reference.csv``, with its sha256 in ``manifest.json`` beside it. TFNS train
is what the shipped model learned from, so "looks like these" means "the shipped model's own
ground": there a desk version leaves the shipped model's answer almost untouched
(engine/desklearn/__init__.py). Never sent_valid.csv: that is part of the guard set.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from engine.manifest import sha256_file
from engine.resources import models_dir, resources_dir
from engine.training.calibrate import tfns_dev_split
from engine.training.data import DEFAULT_DATA_DIR

ROWS = 2000
SEED = 7


def write_reference(tfns_dir: Path, out_dir: Path, rows: int = ROWS, seed: int = SEED) -> dict:
    rest = tfns_dev_split(tfns_dir, models_dir() / "finsent-minilm-l6", part="rest")
    idx = np.sort(np.random.default_rng(seed).choice(len(rest), rows, replace=False))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "reference.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text"])
        for i in idx:
            writer.writerow([rest.texts[int(i)]])
    manifest = {
        "id": "desk-reference", "version": "1", "file": path.name, "sha256": sha256_file(path), "rows": rows,
        "source": f"TFNS sent_train.csv (MIT), {rows} rows drawn with numpy seed {seed} from the rows outside "
                  "finsent-minilm-l6's dev split; texts only",
        "command": "python -m engine.training.desk_reference",
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tfns", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--out", type=Path, default=resources_dir() / "desklearn")
    ns = parser.parse_args()
    print(json.dumps(write_reference(ns.tfns, ns.out), indent=2))
