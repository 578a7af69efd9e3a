"""What every sentiment backend provides, and the label order the whole engine shares."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

# Index == TFNS label code (0 bearish, 1 bullish, 2 neutral); probabilities use this order.
LABELS: tuple[str, str, str] = ("bearish", "bullish", "neutral")


class SentimentBackend(Protocol):
    model_id: str
    version: str

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return an (n, 3) float array of probabilities in LABELS order."""
        ...
