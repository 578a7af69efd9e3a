"""The labelled training sources beside TFNS: the team news corpus and SEntFiN 1.0.

Every source gets its own dev split carved from its TRAIN part (stratified, fixed seed), so the
model is selected on how it does on each kind of text. SEntFiN has no official split: a stratified
15 % "eval" part (seed 42) is set aside here and only ever used for reported figures.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from engine.training.data import LABELS, REPO_ROOT, Split, read_tfns, train_dev_split

SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
NEWS_DIR = Path(__file__).resolve().parent / "data" / "news"
SENTFIN_CSV = SHARED_DATA / "sentfin" / "SEntFiN.csv"
SENTFIN_EVAL_FRACTION = 0.15
SOURCES = ("tfns", "news", "sentfin")

_SENTFIN_LABEL = {"negative": LABELS.index("bearish"), "positive": LABELS.index("bullish"),
                  "neutral": LABELS.index("neutral")}
# The label values of the dict-like Decisions column; entity names may hold unescaped quotes,
# so only the values are matched (never eval/literal_eval).
_DECISION_VALUE = re.compile(r":\s*'(positive|negative|neutral)'\s*[,}]")


def read_news(folder: Path) -> Split:
    texts, labels = [], []
    for path in sorted(folder.glob("*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                label = row["label"].strip().lower()
                if label not in LABELS:
                    raise ValueError(f"{path}: unexpected label {label!r}")
                texts.append(row["text"])
                labels.append(LABELS.index(label))
    return Split(texts, labels)


def read_sentfin(path: Path = SENTFIN_CSV) -> Split:
    """Headline-level rows: headlines whose entities all share one label.

    The ~1,230 headlines that give different entities different labels are left out: a headline
    classifier has no entity marker to tell them apart.
    """
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            values = set(_DECISION_VALUE.findall(row["Decisions"]))
            if len(values) == 1:
                texts.append(row["Title"].strip())
                labels.append(_SENTFIN_LABEL[values.pop()])
    return Split(texts, labels)


def sentfin_train_eval(seed: int = 42) -> tuple[Split, Split]:
    """(train part, eval part); the eval part is for reporting only."""
    return train_dev_split(read_sentfin(), SENTFIN_EVAL_FRACTION, seed)


def train_sources(dev_fraction: float, seed: int) -> dict[str, tuple[Split, Split]]:
    """{source: (train, dev)}, each dev split carved from that source's train part only."""
    tfns = read_tfns(SHARED_DATA / "tfns" / "sent_train.csv")
    news = read_news(NEWS_DIR / "train")
    sentfin_train, _ = sentfin_train_eval(seed)
    return {name: train_dev_split(split, dev_fraction, seed)
            for name, split in (("tfns", tfns), ("news", news), ("sentfin", sentfin_train))}


def reporting_sets(seed: int = 42) -> dict[str, Split]:
    """The sets never trained, tuned or selected on: read only for reported figures."""
    return {"tfns": read_tfns(SHARED_DATA / "tfns" / "sent_valid.csv"),
            "news": read_news(NEWS_DIR / "test"),
            "sentfin": sentfin_train_eval(seed)[1]}
