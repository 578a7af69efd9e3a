"""User-added Hugging Face sequence classifiers (torch backend).

Torch and transformers are imported only when such a model is loaded: the shipped path
(ONNX Runtime) never pays for them. Only safetensors weights are accepted (no pickles), and
nothing is fetched from a hub (local_files_only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from engine.sentiment.base import LABELS


class HFSentimentBackend:
    def __init__(self, model_dir: Path, model_id: str, version: str, labels: Sequence[str],
                 threads: int = 0, batch_size: int = 32, max_length: int = 128) -> None:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model_id = model_id
        self.version = version
        self._tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self._model = AutoModelForSequenceClassification.from_pretrained(
            str(model_dir), local_files_only=True, use_safetensors=True).eval()
        # Column j of our output is the model's class whose name maps to LABELS[j].
        self._order = [list(labels).index(name) for name in LABELS]
        self._batch_size = batch_size
        self._max_length = max_length

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        for start in range(0, len(texts), self._batch_size):
            chunk = [str(t) for t in texts[start:start + self._batch_size]]
            enc = self._tokenizer(chunk, padding=True, truncation=True, max_length=self._max_length,
                                  return_tensors="pt")
            with self._torch.inference_mode():
                logits = self._model(**enc).logits
            probs = self._torch.softmax(logits, dim=-1).numpy()
            out[start:start + len(chunk)] = probs[:, self._order]
        return out
