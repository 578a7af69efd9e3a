"""A desk-adapted sentiment version at run time: the shipped model, the shipped encoder and a desk head.

Everything runs on ONNX Runtime and numpy (no torch). The version's folder (in the data folder,
written by engine/desklearn) is verified by sha256 first; the shipped model and encoder it was
trained on must be installed in exactly the versions its manifest names, since the head's
inputs are their outputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from engine.embeddings.onnx_embedder import OnnxEmbedder
from engine.manifest import ModelIntegrityError, load_verified
from engine.resources import models_dir
from engine.sentiment.base import LABELS
from engine.sentiment.desk_head import DeskHead
from engine.sentiment.onnx_backend import OnnxSentimentBackend

HEAD_FILE = "head.json"


class DeskSentimentBackend:
    """``predict_proba(texts) -> (n, 3)`` in LABELS order, like every sentiment backend."""

    def __init__(self, folder: Path, intra_op_threads: int = 0, models_root: Path | None = None) -> None:
        manifest = load_verified(Path(folder))
        if manifest.task != "sentiment" or manifest.backend != "desk":
            raise ModelIntegrityError(f"{manifest.id}: task/backend {manifest.task}/{manifest.backend}, "
                                      "expected sentiment/desk")
        if tuple(manifest.labels) != LABELS:
            raise ModelIntegrityError(f"{manifest.id}: labels {manifest.labels} differ from {LABELS}")
        if HEAD_FILE not in manifest.files:  # an unlisted file would bypass the sha256 check
            raise ModelIntegrityError(f"{manifest.id}: manifest does not list {HEAD_FILE}")
        root = Path(models_root) if models_root else models_dir()
        base, embedding = manifest.extra["base"], manifest.extra["embedding"]
        self.base = OnnxSentimentBackend(root / base["id"], intra_op_threads=intra_op_threads)
        self.embedder = OnnxEmbedder(root / embedding["id"], intra_op_threads=intra_op_threads)
        for role, loaded, need in (("base", self.base, base), ("embedding", self.embedder, embedding)):
            if (loaded.model_id, loaded.version) != (need["id"], need["version"]):
                raise ModelIntegrityError(f"{manifest.id} was trained on {role} model {need['id']} {need['version']}, "
                                          f"installed is {loaded.model_id} {loaded.version}")
        try:
            self.head = DeskHead.load(Path(folder) / HEAD_FILE)
        except (ValueError, KeyError, TypeError) as exc:
            raise ModelIntegrityError(f"{manifest.id}: {exc}") from exc
        if self.head.dim != self.embedder.dim:
            raise ModelIntegrityError(f"{manifest.id}: head expects {self.head.dim}-d embeddings, "
                                      f"{embedding['id']} gives {self.embedder.dim}")
        self.model_id = manifest.id
        self.version = manifest.version
        self.manifest = manifest

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        texts = list(texts)
        return self.head.predict_proba(self.base.predict_proba(texts), self.embedder.embed(texts)).astype(np.float32)
