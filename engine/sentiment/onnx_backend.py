"""Financial sentiment from the shipped int8 ONNX model: onnxruntime + the Rust tokenizer only.

No transformers or torch here: the app must start fast and ship small. The model directory's
manifest is verified (sha256 of every file) before any file is opened by a runtime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from engine.manifest import (ModelIntegrityError, ModelManifest, has_model_file, load_verified, model_file,
                             verify_files)
from engine.onnx_feeds import padded_feeds
from engine.sentiment.base import LABELS

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"


class OnnxSentimentBackend:
    """``predict_proba(texts) -> (n, 3)`` float32 in LABELS order (bearish, bullish, neutral)."""

    def __init__(self, model_dir: Path, intra_op_threads: int = 0, batch_size: int = 64,
                 manifest: ModelManifest | None = None) -> None:
        model_dir = Path(model_dir)
        # Verify first: a tampered or truncated file must never reach the runtime. A user-added
        # folder has no manifest.json of ours; the registry passes the one it recorded instead.
        if manifest is None:
            manifest = load_verified(model_dir)
        else:
            verify_files(manifest)
        if manifest.task != "sentiment" or manifest.backend != "onnx":
            raise ModelIntegrityError(
                f"{manifest.id}: task/backend {manifest.task}/{manifest.backend}, expected sentiment/onnx")
        if tuple(manifest.labels) != LABELS:
            raise ModelIntegrityError(f"{manifest.id}: labels {manifest.labels} differ from {LABELS}")
        for name in (MODEL_FILE, TOKENIZER_FILE):
            if not has_model_file(manifest, name):  # an unlisted file would bypass the sha256 check
                raise ModelIntegrityError(f"{manifest.id}: manifest does not list {name}")

        self.model_id = manifest.id
        self.version = manifest.version
        self.labels = LABELS
        self.manifest = manifest
        self.batch_size = max(1, int(batch_size))
        self.max_length = int(manifest.extra.get("max_length", 64))

        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        self._tokenizer.enable_truncation(max_length=self.max_length)
        # Padding is done per batch below, to the longest item, never to max_length.
        self._tokenizer.no_padding()

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.intra_op_num_threads = max(0, int(intra_op_threads))  # 0 = onnxruntime's choice
        opts.inter_op_num_threads = 1  # one small graph, run sequentially: extra pools only add overhead
        self._session = ort.InferenceSession(model_file(manifest, MODEL_FILE), opts,
                                             providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}
        if not {"input_ids", "attention_mask"} <= self._input_names:
            raise ModelIntegrityError(f"{self.model_id}: unexpected model inputs {sorted(self._input_names)}")

        # Optional second opinion mixed into the output (weight chosen on the dev split; see
        # engine/training/ensemble.py). Its file is in the manifest, so it was verified above.
        self._tfidf = None
        self._tfidf_weight = 0.0
        ensemble = manifest.extra.get("ensemble")
        if ensemble:
            from engine.sentiment.tfidf_head import TfidfHead

            head_file = ensemble["tfidf_head"]
            if not has_model_file(manifest, head_file):
                raise ModelIntegrityError(f"{self.model_id}: manifest does not list {head_file}")
            self._tfidf = TfidfHead(model_file(manifest, head_file))
            self._tfidf_weight = float(ensemble["tfidf_weight"])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        n = len(texts)
        if n == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        encodings = self._tokenizer.encode_batch([t if isinstance(t, str) else str(t) for t in texts])
        ids = [e.ids for e in encodings]
        # Batches of similar length waste little work on padding; results go back in input order.
        order = np.argsort([len(r) for r in ids], kind="stable")
        out = np.empty((n, len(LABELS)), dtype=np.float32)
        for start in range(0, n, self.batch_size):
            sel = order[start : start + self.batch_size]
            out[sel] = self._run([ids[i] for i in sel])
        if self._tfidf is not None and self._tfidf_weight > 0:
            w = self._tfidf_weight
            out = ((1.0 - w) * out + w * self._tfidf.predict_proba(list(texts))).astype(np.float32)
        return out

    def feeds(self, rows: list[list[int]]) -> dict[str, np.ndarray]:
        """The session inputs for a batch of token-id rows, as this model takes them."""
        feeds = padded_feeds(rows)
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(feeds["input_ids"])
        return feeds

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        (logits,) = self._session.run(["logits"], self.feeds(rows))
        logits = logits.astype(np.float32, copy=False)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
