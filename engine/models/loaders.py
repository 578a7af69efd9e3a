"""Turning a verified ModelSpec into a ready, warmed-up runtime object."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from engine.config import Config
from engine.hardware import inference_threads
from engine.manifest import ModelManifest
from engine.models.registry import verify_spec_files
from engine.models.spec import ModelSpec
from engine.sentiment.base import LABELS

WARM_UP_TEXT = "Shares rise after earnings beat estimates"


class _ReorderedBackend:
    """Presents a classifier whose classes are in another order as LABELS-ordered."""

    def __init__(self, inner: Any, model_labels: Sequence[str]) -> None:
        self._inner = inner
        self._order = [list(model_labels).index(name) for name in LABELS]
        self.model_id = inner.model_id
        self.version = inner.version

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self._inner.predict_proba(texts)[:, self._order]


def _manifest_for(spec: ModelSpec) -> ModelManifest:
    return ModelManifest(id=spec.id, version=spec.version, task=spec.task, backend=spec.backend,
                         files=spec.manifest.get("files", {}), directory=spec.path,
                         labels=tuple(LABELS), extra=dict(spec.manifest))


def load_model(spec: ModelSpec, config: Config) -> Any:
    """Verify (sha256), construct and warm up; raises on any failure."""
    verify_spec_files(spec)
    threads = inference_threads(config.intra_op_threads)
    if spec.task == "sentiment":
        if spec.backend == "lexicon":
            from engine.sentiment.lexicon import LexiconSentimentBackend

            model: Any = LexiconSentimentBackend(spec.path)
        elif spec.backend == "onnx":
            from engine.sentiment.onnx_backend import OnnxSentimentBackend

            if spec.origin == "user":
                # The user's folder has no manifest.json of ours; the registry holds it.
                inner = OnnxSentimentBackend(spec.path, intra_op_threads=threads, manifest=_manifest_for(spec))
                model = _ReorderedBackend(inner, spec.manifest["labels"])
            else:
                model = OnnxSentimentBackend(spec.path, intra_op_threads=threads)
        elif spec.backend == "desk":
            from engine.sentiment.desk_backend import DeskSentimentBackend

            model = DeskSentimentBackend(spec.path, intra_op_threads=threads)
        elif spec.backend == "hf":
            from engine.sentiment.hf_backend import HFSentimentBackend

            model = HFSentimentBackend(spec.path, spec.id, spec.version, spec.manifest["labels"], threads)
        else:
            raise ValueError(f"{spec.id}: no sentiment backend {spec.backend!r}")
        model.predict_proba([WARM_UP_TEXT])
        return model
    if spec.task == "embedding" and spec.backend == "onnx":
        from engine.embeddings.onnx_embedder import OnnxEmbedder

        model = OnnxEmbedder(spec.path, intra_op_threads=config.embedding_threads)
        model.embed([WARM_UP_TEXT])
        return model
    if spec.task == "generation" and spec.backend == "llama_cpp":
        from engine.generation.llama_backend import LlamaGenerator

        model = LlamaGenerator(spec.path, n_threads=config.llm_threads, n_threads_batch=config.llm_batch_threads)
        model.count_tokens(WARM_UP_TEXT)  # a full generation would cost seconds at start-up
        return model
    if spec.task == "generation" and spec.is_endpoint:
        from engine.generation.endpoint_backend import EndpointGenerator, check_config

        endpoint = spec.manifest["endpoint"]
        model = EndpointGenerator(check_config(endpoint["url"], endpoint["model"], endpoint.get("api_key_env", "")))
        model.health()  # it answers and serves the model, or loading fails (and the manager falls back)
        return model
    raise ValueError(f"{spec.id}: cannot load task {spec.task!r} with backend {spec.backend!r}")
