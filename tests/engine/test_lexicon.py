import csv

import numpy as np
import pytest
from sklearn.metrics import f1_score

from engine.sentiment.base import LABELS
from engine.sentiment.lexicon import LexiconSentimentBackend
from tests.conftest import SHARED_DATA


@pytest.fixture(scope="module")
def lexicon() -> LexiconSentimentBackend:
    return LexiconSentimentBackend()


def test_probabilities_are_distributions(lexicon: LexiconSentimentBackend) -> None:
    probs = lexicon.predict_proba(["$AAPL jumps", "", "Fed minutes at 2pm"])
    assert probs.shape == (3, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert lexicon.predict_proba([]).shape == (0, 3)


@pytest.mark.parametrize(
    "text, label",
    [
        ("$NVDA surges after blowout earnings beat, raises guidance", "bullish"),
        ("Goldman upgrades $F to Buy, price target raised", "bullish"),
        ("$CCL plunges as Nomura downgrades, cut to Neutral on weak bookings", "bearish"),
        ("$XYZ slashes outlook, shares tumble to worst day since 2008", "bearish"),
        ("Company to present at investor conference on Tuesday", "neutral"),
    ],
)
def test_clear_headlines(lexicon: LexiconSentimentBackend, text: str, label: str) -> None:
    assert LABELS[int(np.argmax(lexicon.predict_proba([text])[0]))] == label


def test_reported_quality_on_tfns_valid(lexicon: LexiconSentimentBackend) -> None:
    """Reporting, not tuning: the manifest's figure must be what the shipped weights really do."""
    with open(SHARED_DATA / "tfns" / "sent_valid.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    pred = lexicon.predict_proba([r["text"] for r in rows]).argmax(axis=1)
    weighted = f1_score([int(r["label"]) for r in rows], pred, average="weighted")
    from engine.manifest import load_manifest
    from engine.sentiment.lexicon import DEFAULT_DIR

    recorded = load_manifest(DEFAULT_DIR).metrics["valid"]["weighted_f1"]
    assert weighted == pytest.approx(recorded, abs=0.002)
    assert weighted > 0.518  # the published VADER-alone figure on this split
