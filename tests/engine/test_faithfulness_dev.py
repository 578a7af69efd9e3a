"""The development set for explanation decoding comes from training sentences only."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from engine.evaluation import faithfulness_dev
from engine.evaluation.faithfulness import load_set


def _texts(folder: Path) -> set[str]:
    out: set[str] = set()
    for path in folder.glob("*.csv"):
        with open(path, encoding="utf-8", newline="") as fh:
            out |= {r["text"].strip() for r in csv.DictReader(fh) if r.get("text")}
    return out


def test_dev_set_is_reproducible_and_never_draws_a_test_sentence(tmp_path: Path) -> None:
    out = tmp_path / "dev.jsonl"
    assert faithfulness_dev.main(["--out", str(out), "--size", "40", "--seed", "3"]) == 0
    rows = load_set(out)  # the evaluator reads it as it reads the frozen set
    assert len(rows) == 40 and rows == faithfulness_dev.build(40, 3)
    test_texts = _texts(faithfulness_dev.NEWS_TRAIN.parent / "test")
    frozen = {json.loads(line)["headline"] for line in
              (Path(__file__).resolve().parents[1] / "data" / "faithfulness_set.jsonl").read_text().splitlines() if line}
    for row in rows:
        assert row["headline"] not in test_texts and row["headline"] not in frozen
        assert all(r["text"] not in test_texts for r in row["related"])
    assert any(row["related"] for row in rows) and any(not row["related"] for row in rows)
