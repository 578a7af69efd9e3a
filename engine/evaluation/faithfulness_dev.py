"""A development set for explanation decoding and prompts, drawn from training sentences only.

    python -m engine.evaluation.faithfulness_dev --out FILE [--size N] [--seed S]
    python -m engine.evaluation.faithfulness --set FILE --model smollm2-135m-instruct

The frozen faithfulness set (tests/data/faithfulness_set.jsonl) is for reporting: changes to
decoding, prompts or checks are tried on this set instead. Its headlines come from the team news
corpus' train files and from TFNS ``sent_train.csv`` (never a test or valid split), in the same
JSONL shape, each with up to two related items of the same topic from the same training files
(so retrieval has something to cite about half of the time). ``entities`` and ``numbers`` are
filled mechanically from the text (capitalised names, digit strings): the unlisted-fact figures on
this set are therefore rough; the pass and fallback shares and the refusal reasons are what it is for.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from pathlib import Path

from engine.reasoning.checks import candidate_entities, number_strings

ROOT = Path(__file__).resolve().parents[2]
NEWS_TRAIN = ROOT / "engine" / "training" / "data" / "news" / "train"
TFNS_TRAIN = ROOT.parent / "shared" / "data" / "tfns" / "sent_train.csv"
TWEET_SHARE = 0.25
MAX_CHARS = 300  # one sentence or headline, as analysts paste them


def _facts(text: str) -> dict:
    return {"text": text, "entities": candidate_entities([text]), "numbers": number_strings([text])}


def _news_rows() -> list[dict]:
    rows = []
    for path in sorted(NEWS_TRAIN.glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as fh:
            rows += [{"text": r["text"].strip(), "kind": r["kind"], "topic": r["topic"]} for r in csv.DictReader(fh)
                     if r.get("text") and len(r["text"]) <= MAX_CHARS]
    return rows


def _tweet_rows() -> list[dict]:
    if not TFNS_TRAIN.is_file():
        return []
    with open(TFNS_TRAIN, encoding="utf-8", newline="") as fh:
        # Links carry nothing an explanation may use; they are cut as the desk's own cleaning does.
        return [{"text": " ".join(w for w in r["text"].split() if not w.startswith("http")), "kind": "tweet",
                 "topic": "tweet"} for r in csv.DictReader(fh) if r.get("text") and len(r["text"]) <= MAX_CHARS]


def build(size: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    news, tweets = _news_rows(), _tweet_rows()
    n_tweets = round(size * TWEET_SHARE) if tweets else 0
    picked = rng.sample(news, size - n_tweets) + rng.sample(tweets, n_tweets)
    used = {p["text"] for p in picked}
    by_topic: dict[str, list[dict]] = {}
    for row in news:
        if row["text"] not in used:
            by_topic.setdefault(row["topic"], []).append(row)
    out = []
    for i, row in enumerate(picked, 1):
        pool = by_topic.get(row["topic"], [])
        # Half the items have related ones on record, as on a desk that has been running a while.
        related = rng.sample(pool, min(len(pool), rng.choice((1, 2)))) if pool and rng.random() < 0.5 else []
        facts = _facts(row["text"])
        out.append({"id": f"D{i:03d}", "kind": row["kind"], "headline": row["text"], "entities": facts["entities"],
                    "numbers": facts["numbers"], "related": [_facts(r["text"]) for r in related]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rows = build(args.size, args.seed)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} headlines to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
