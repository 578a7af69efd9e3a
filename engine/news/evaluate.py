"""Measure event classification on a hand-labelled CSV: ``python -m engine.news.evaluate [--split test]``.

The CSV (``tests/data/events_labelled.csv``) has ``split,category,text``. Rules and prototypes
were tuned on the ``dev`` rows only; the ``test`` rows are the honest figure.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from engine.news.config import CATEGORIES
from engine.news.events import METHODS, EventClassifier

DEFAULT_LABELLED = Path(__file__).resolve().parents[2] / "tests" / "data" / "events_labelled.csv"


@dataclass(frozen=True)
class MethodScore:
    method: str
    n: int
    accuracy: float
    macro_f1: float
    per_class_f1: dict


def load_labelled(path: Path = DEFAULT_LABELLED, split: str | None = None) -> list[tuple[str, str]]:
    with Path(path).open(encoding="utf-8", newline="") as fh:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(fh) if split in (None, "all", r["split"])]
    unknown = {c for _t, c in rows} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"unknown categories in {path}: {sorted(unknown)}")
    return rows


def score(method: str, truth: list[str], predicted: list[str]) -> MethodScore:
    per_class = {}
    for c in CATEGORIES:
        tp = sum(t == c and p == c for t, p in zip(truth, predicted))
        fp = sum(t != c and p == c for t, p in zip(truth, predicted))
        fn = sum(t == c and p != c for t, p in zip(truth, predicted))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per_class[c] = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    accuracy = sum(t == p for t, p in zip(truth, predicted)) / len(truth)
    return MethodScore(method, len(truth), round(accuracy, 4), round(sum(per_class.values()) / len(CATEGORIES), 4), per_class)


def evaluate(classifier: EventClassifier, rows: list[tuple[str, str]]) -> dict[str, MethodScore]:
    texts = [t for t, _c in rows]
    truth = [c for _t, c in rows]
    results = {}
    for method in METHODS:
        predicted = [e.category for e in classifier.classify(texts, method=method)]
        results[method] = score(method, truth, predicted)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--labelled", type=Path, default=DEFAULT_LABELLED)
    parser.add_argument("--split", default="test", choices=("dev", "test", "all"))
    parser.add_argument("--errors", action="store_true", help="list the combined method's mistakes")
    args = parser.parse_args(argv)
    from engine.embeddings.onnx_embedder import OnnxEmbedder

    embedder = OnnxEmbedder()
    classifier = EventClassifier(lambda: embedder, mode="fallback")
    rows = load_labelled(args.labelled, args.split)
    results = evaluate(classifier, rows)
    report = {m: asdict(s) for m, s in results.items()}
    report["embedded_share_combined"] = None
    fresh = EventClassifier(lambda: embedder, mode="fallback")
    fresh.classify([t for t, _c in rows])
    report["embedded_share_combined"] = round(fresh.stats().embedded / len(rows), 4)
    print(json.dumps(report, indent=2))
    if args.errors:
        for (text, truth), event in zip(rows, classifier.classify([t for t, _c in rows])):
            if event.category != truth:
                print(f"{truth:>10} -> {event.category:<10} [{event.method}] {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
