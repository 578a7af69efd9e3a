"""384-d sentence embeddings from the shipped int8 ONNX MiniLM: onnxruntime + tokenizers only.

Mean pooling and L2 normalisation are inside the exported graph, so a dot product of two
outputs is their cosine similarity and the runtime side stays a single session call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from engine.onnx_feeds import padded_feeds
from engine.manifest import ModelIntegrityError, load_verified, model_file
from engine.resources import models_dir

DEFAULT_EMBEDDING_MODEL = "minilm-l6-embed"


class OnnxEmbedder:
    def __init__(self, model_dir: Path | None = None, intra_op_threads: int = 0, batch_size: int = 64) -> None:
        model_dir = Path(model_dir) if model_dir else models_dir() / DEFAULT_EMBEDDING_MODEL
        manifest = load_verified(model_dir)
        if manifest.task != "embedding" or manifest.backend != "onnx":
            raise ModelIntegrityError(f"{manifest.id}: not an ONNX embedding model")
        self.model_id = manifest.id
        self.version = manifest.version
        self.manifest = manifest
        self.dim = int(manifest.extra.get("dim", 384))
        self.batch_size = max(1, batch_size)
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=int(manifest.extra.get("max_length", 128)))
        self._tokenizer.no_padding()
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = max(0, int(intra_op_threads))
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model_file(manifest, "model.onnx"), opts,
                                             providers=["CPUExecutionProvider"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) float32, unit length rows."""
        n = len(texts)
        out = np.zeros((n, self.dim), dtype=np.float32)
        if n == 0:
            return out
        ids = [e.ids for e in self._tokenizer.encode_batch([str(t) for t in texts])]
        order = np.argsort([len(r) for r in ids], kind="stable")  # less padding per batch
        for start in range(0, n, self.batch_size):
            sel = order[start:start + self.batch_size]
            out[sel] = self._session.run(["embedding"], padded_feeds([ids[i] for i in sel]))[0]
        return out
