"""The hand-written TF-IDF featurization must equal sklearn's, which it was fitted with."""

from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.linear_model import LogisticRegression

from engine.sentiment.tfidf_head import TfidfHead, _vectorizers, char_wb_ngrams, fit, word_ngrams
from engine.training.data import read_tfns
from tests.conftest import SHARED_DATA


def test_analyzers_match_sklearn() -> None:
    word, char = _vectorizers()
    for text in ["$AAPL  cuts to Neutral https://t.co/x1", "Fed's Powell: rates on hold", "a", "  "]:
        assert word_ngrams(text) == word.build_analyzer()(text)
        assert char_wb_ngrams(text) == char.build_analyzer()(text)


def test_head_reproduces_sklearn_probabilities(tmp_path: Path) -> None:
    rows = read_tfns(SHARED_DATA / "tfns" / "sent_train.csv")
    texts, labels = rows.texts[:600], rows.labels[:600]
    path = fit(texts, labels, tmp_path / "tfidf.json", c=10.0)
    head = TfidfHead(path)
    # Reference: the same fit done entirely in sklearn.
    word, char = _vectorizers()
    x = hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    clf = LogisticRegression(C=10.0, max_iter=3000).fit(x, labels)
    probe = rows.texts[600:700]
    expected = clf.predict_proba(hstack([word.transform(probe), char.transform(probe)]).tocsr())
    got = head.predict_proba(probe)
    assert got.shape == (100, 3)
    assert np.abs(got - expected).max() < 1e-3  # stored weights are rounded to 4 decimals
    assert head.predict_proba([]).shape == (0, 3)
