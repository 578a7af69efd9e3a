"""The faithfulness set (tests/data/faithfulness_set.jsonl) is frozen: written by the team before
the explanation checks and prompts were tuned, and measured with ``python -m
engine.evaluation.faithfulness``. Changing it changes every figure reported against it, so its
sha256 is pinned here; a new version is a new file with its own hash, never an edit."""

from __future__ import annotations

import collections
import hashlib
import json
from pathlib import Path

SET = Path(__file__).resolve().parents[1] / "data" / "faithfulness_set.jsonl"
FROZEN_SHA256 = "7d9268c333d386f7f73b4fd3f7e65fff7a46b2690a9b82969896e4c1924a89ba"


def _rows() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_set_is_frozen() -> None:
    assert hashlib.sha256(SET.read_bytes()).hexdigest() == FROZEN_SHA256


def test_the_set_is_large_and_varied() -> None:
    rows = _rows()
    assert len(rows) >= 60 and len({r["id"] for r in rows}) == len(rows)
    kinds = collections.Counter(r["kind"] for r in rows)
    for kind in ("results", "mna", "macro", "recall", "no_company", "numbers"):
        assert kinds[kind] >= 3, kind
    assert sum(1 for r in rows if not r["entities"]) >= 4  # headlines naming no company at all
    assert sum(1 for r in rows if r["related"]) >= 15  # some have related items on record, some none
    formats = {"%": "%", "per cent": "per cent", "bn": "bn", "billion": "billion", "m": "m", ",": ",", "pc": "pc",
               "€": "€", "£": "£", "¥": "¥", "cents": "cents"}
    numbers = " ".join(n for r in rows for n in r["numbers"])
    assert all(token in numbers for token in formats.values())


def test_every_listed_fact_occurs_in_its_text() -> None:
    """The facts are what an explanation may use: each is written in the headline or related item."""
    for row in _rows():
        for fact in row["entities"] + row["numbers"]:
            assert fact.casefold() in row["headline"].casefold(), (row["id"], fact)
        for related in row["related"]:
            for fact in related["entities"] + related["numbers"]:
                assert fact.casefold() in related["text"].casefold(), (row["id"], fact)
