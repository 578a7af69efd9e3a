"""The team's news corpus: the test part is frozen, every row is well formed, train never copies test."""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[2] / "engine" / "training" / "data" / "news"
FROZEN_TEST_SHA256 = {"news_test.csv": "7c8166aabd73dbc1adcf7c5524603258e0cb58dd659ffd57b9936f93e84c4e01"}
LABELS = {"bearish", "bullish", "neutral"}
KINDS = {"press_release", "wire", "article", "analyst_note", "headline"}
TOPICS = {"results", "guidance", "orders", "layoffs", "mna", "financing", "dividends", "ratings", "legal",
          "management", "products", "macro", "sector", "factual", "mixed"}


def _rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_test_part_is_frozen() -> None:
    files = sorted((CORPUS / "test").glob("*.csv"))
    assert [f.name for f in files] == sorted(FROZEN_TEST_SHA256)
    for f in files:
        assert hashlib.sha256(f.read_bytes()).hexdigest() == FROZEN_TEST_SHA256[f.name], f"{f.name} changed"


@pytest.mark.parametrize("part, minimum", [("train", 4000), ("test", 800)])
def test_rows_are_well_formed_and_large_enough(part: str, minimum: int) -> None:
    rows = [r for f in sorted((CORPUS / part).glob("*.csv")) for r in _rows(f)]
    assert len(rows) >= minimum
    for r in rows:
        assert r["text"].strip() and "\n" not in r["text"]
        assert r["label"] in LABELS and r["kind"] in KINDS and r["topic"] in TOPICS, r
        assert not re.search(r"https?://|(?<!\w)\$[A-Za-z]", r["text"]), r["text"]
    assert {r["label"] for r in rows} == LABELS
    assert {r["kind"] for r in rows} == KINDS


def test_train_holds_no_copy_of_a_test_sentence() -> None:
    def words(text: str) -> frozenset[str]:
        return frozenset(re.findall(r"[a-z]+", text.lower()))

    test = [words(r["text"]) for f in (CORPUS / "test").glob("*.csv") for r in _rows(f)]
    for f in sorted((CORPUS / "train").glob("*.csv")):
        for r in _rows(f):
            w = words(r["text"])
            worst = max(len(w & t) / len(w | t) for t in test if t)
            assert worst < 0.6, (f.name, r["text"])
