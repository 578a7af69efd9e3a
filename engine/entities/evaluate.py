"""``python -m engine.entities.evaluate [FILE ...] [--json] [--errors N]``: precision, recall and F1
of entity linking on a labelled JSONL file (``text`` and ``gold``; default: the frozen test set,
tests/data/entities_test.jsonl), and every error, by headline.

Counts are micro-averaged over (headline, symbol) pairs: a predicted symbol that is not gold is a
false positive, a gold symbol not predicted a false negative. The linker is the engine's own
(``engine.entities.default_linker``), with the shipped universe.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

DEFAULT_SET = Path(__file__).resolve().parents[2] / "tests" / "data" / "entities_test.jsonl"


@dataclass
class Report:
    headlines: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    errors: list[dict] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict:
        return {"headlines": self.headlines, "tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "errors": self.errors}


def load_labelled(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("text"), str) or not isinstance(row.get("gold"), list):
            raise ValueError(f"{path.name}:{n}: needs 'text' (string) and 'gold' (list of symbols)")
        rows.append(row)
    return rows


def evaluate(rows: Iterable[dict], predict: Callable[[Sequence[str]], list[Sequence[str]]]) -> Report:
    """``predict`` maps a batch of texts to their linked symbols (the engine's analyze_batch, or the linker)."""
    rows = list(rows)
    report = Report(headlines=len(rows))
    for row, predicted in zip(rows, predict([r["text"] for r in rows])):
        gold, got = set(row["gold"]), set(predicted)
        report.tp += len(gold & got)
        report.fp += len(got - gold)
        report.fn += len(gold - got)
        if gold != got:
            report.errors.append({"id": row.get("id"), "text": row["text"], "gold": sorted(gold),
                                  "predicted": sorted(got), "missed": sorted(gold - got), "wrong": sorted(got - gold)})
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.entities.evaluate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, help=f"labelled JSONL (default {DEFAULT_SET.name})")
    parser.add_argument("--json", action="store_true", help="one JSON object per file")
    parser.add_argument("--errors", type=int, default=1000, metavar="N", help="list at most N errors (default all)")
    args = parser.parse_args(argv)
    from engine.entities import default_linker

    linker = default_linker()
    for path in args.files or [DEFAULT_SET]:
        report = evaluate(load_labelled(path), lambda texts: [linker.entities(t) for t in texts])
        if args.json:
            print(json.dumps({"file": str(path), **report.to_dict()}))
            continue
        print(f"{path.name}: {report.headlines} headlines, {report.tp + report.fn} gold links")
        print(f"  precision {report.precision:.3f}  recall {report.recall:.3f}  F1 {report.f1:.3f}  "
              f"(tp {report.tp}, fp {report.fp}, fn {report.fn})")
        for error in report.errors[:args.errors]:
            detail = "  ".join(f"{k} {','.join(error[k])}" for k in ("missed", "wrong") if error[k])
            print(f"  #{error['id']}: {detail} | {error['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
