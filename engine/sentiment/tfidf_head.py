"""A TF-IDF + logistic-regression sentiment head, stored as plain JSON (no pickle).

Word 1-2-grams and character 2-5-grams (within word boundaries) catch surface cues, such as
tickers, "cut to", "downgrades" and number formats, that a small transformer partly misses. Its
errors differ from the transformer's, so mixing the two probability vectors helps. At run time
the vectorizers are rebuilt from the stored vocabulary and IDF weights, so the features match
training exactly.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

from engine.sentiment.base import LABELS

_URL = re.compile(r"https?://\S+")


def normalise(text: str) -> str:
    return _URL.sub(" http ", text).lower()


def _vectorizers(word_vocab=None, char_vocab=None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, preprocessor=normalise,
                           vocabulary=word_vocab, dtype=np.float32)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                           preprocessor=normalise, vocabulary=char_vocab, dtype=np.float32)
    return word, char


_WORD_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # sklearn's default token_pattern
_MULTI_SPACE = re.compile(r"\s\s+")


def word_ngrams(text: str) -> list[str]:
    """Exactly sklearn's word analyzer for ngram_range=(1, 2) on normalised text."""
    tokens = _WORD_TOKEN.findall(normalise(text))
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def char_wb_ngrams(text: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Exactly sklearn's ``char_wb`` analyzer (words padded with one space each side)."""
    out: list[str] = []
    for word in _MULTI_SPACE.sub(" ", normalise(text)).split():
        w = f" {word} "
        for n in range(lo, hi + 1):
            offset = 0
            out.append(w[offset:offset + n])
            while offset + n < len(w):
                offset += 1
                out.append(w[offset:offset + n])
            if offset == 0:  # the word is shorter than n: one n-gram, and no longer ones
                break
    return out


class TfidfHead:
    """Pure-Python featurization (dict lookups) + a dense dot over the few active columns.

    sklearn's vectorizers cost ~2.5 ms per single headline in call overhead; this path does the
    same arithmetic in a fraction of that, which matters for the single-headline latency budget.
    """

    def __init__(self, path: Path | str | bytes) -> None:
        # bytes: the file's content, already unpacked and sha256-checked (engine.manifest.model_file).
        text = path.decode("utf-8") if isinstance(path, bytes) else Path(path).read_text(encoding="utf-8")
        data = json.loads(text)
        if tuple(data["labels"]) != LABELS:
            where = "tfidf head" if isinstance(path, bytes) else path
            raise ValueError(f"{where}: labels {data['labels']} differ from {LABELS}")
        # Stored as lists (position = column) to keep the file small.
        self._word_vocab = {g: i for i, g in enumerate(data["word_vocab"])}
        self._char_vocab = {g: i for i, g in enumerate(data["char_vocab"])}
        self._word_idf = np.asarray(data["word_idf"], dtype=np.float64)
        self._char_idf = np.asarray(data["char_idf"], dtype=np.float64)
        coef = np.asarray(data["coef"], dtype=np.float64)  # (3, n_word + n_char)
        n_word = len(self._word_idf)
        self._word_coef = np.ascontiguousarray(coef[:, :n_word].T)  # rows = features
        self._char_coef = np.ascontiguousarray(coef[:, n_word:].T)
        self._intercept = np.asarray(data["intercept"], dtype=np.float64)

    @staticmethod
    def _block(grams: list[str], vocab: dict[str, int], idf: np.ndarray, coef: np.ndarray) -> np.ndarray:
        counts: dict[int, int] = {}
        for g in grams:
            j = vocab.get(g)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return np.zeros(coef.shape[1])
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        weights = tf * idf[idx]
        weights /= np.sqrt((weights * weights).sum())  # l2 per vectorizer, as sklearn does
        return weights @ coef[idx]

    def logits(self, text: str) -> np.ndarray:
        return (self._block(word_ngrams(text), self._word_vocab, self._word_idf, self._word_coef)
                + self._block(char_wb_ngrams(text), self._char_vocab, self._char_idf, self._char_coef)
                + self._intercept)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        logits = np.vstack([self.logits(str(t)) for t in texts])
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fit(texts: Sequence[str], labels: Sequence[int], out: Path, c: float = 10.0) -> Path:
    """Fit on the given rows only (the caller passes the train split, never dev or valid)."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    word, char = _vectorizers()
    x = hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    clf = LogisticRegression(C=c, max_iter=3000).fit(x, list(labels))
    def by_column(vocab: dict[str, int]) -> list[str]:
        ordered = [""] * len(vocab)
        for gram, column in vocab.items():
            ordered[column] = gram
        return ordered

    data = {
        "labels": list(LABELS),
        "word_vocab": by_column(word.vocabulary_),
        "char_vocab": by_column(char.vocabulary_),
        "word_idf": [round(float(v), 4) for v in word.idf_],
        "char_idf": [round(float(v), 4) for v in char.idf_],
        "coef": [[round(float(v), 4) for v in row] for row in clf.coef_],
        "intercept": [float(v) for v in clf.intercept_],
        "c": c,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    return out
