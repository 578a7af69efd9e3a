"""What the registry knows about a model before loading it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    id: str
    task: str  # sentiment | embedding | generation
    backend: str  # onnx | lexicon | hf | llama_cpp | desk
    version: str
    origin: str  # shipped | package | user | desk (trained here on analyst labels, engine/desklearn)
    path: Path | None  # model directory, or the .gguf file; None when not resolvable here
    size_bytes: int
    min_ram_mb: int
    min_cores: int
    licence: str
    quality: float | None = None  # weighted F1 on TFNS valid, for classifiers that report it
    reference_latency_ms: float | None = None  # per item (classifiers) or per token (generators)
    description: str = ""
    missing_reason: str = ""  # set when the files cannot be found (package not installed…)
    # Set only when the files are absent because an optional package that carries them is not in
    # this installation (Gemma in the default installer): nothing is broken, and these are the
    # ways to add the model, for people. Empty with a missing_reason = a real integrity problem.
    how_to_add: tuple[str, ...] = ()
    manifest: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def present(self) -> bool:
        return not self.missing_reason

    @property
    def not_installed(self) -> bool:
        """An optional model left out of this installation (as opposed to missing files)."""
        return not self.present and bool(self.how_to_add)

    @property
    def is_endpoint(self) -> bool:
        """Served by an OpenAI-compatible endpoint: no local files, no local memory to speak of."""
        return self.backend == "openai"

    def memory_estimate(self, available_mb: float | None = None):
        """For a GGUF file: weights, KV cache and compute from its header (engine/models/gguf.py),
        against ``available_mb``; None for other models or a header that cannot be read."""
        if self.backend != "llama_cpp" or self.path is None or not self.path.is_file():
            return None
        from engine.models.gguf import CONTEXT_TOKENS, GGUFError, cached_header, estimate_memory

        try:
            return estimate_memory(cached_header(self.path), CONTEXT_TOKENS, available_mb)
        except (GGUFError, OSError):
            return None

    def estimated_ram_mb(self) -> float:
        """Resident cost once loaded; measured RSS deltas replace it after a benchmark."""
        size_mb = self.size_bytes / 1e6
        if self.is_endpoint:
            return 5.0  # an HTTP client
        if self.backend == "llama_cpp":
            estimate = self.memory_estimate()
            if estimate is not None:
                return max(float(self.min_ram_mb), estimate.total_mb)
            return max(self.min_ram_mb, size_mb * 1.3 + 60)  # weights + KV cache at 2k context
        if self.backend == "hf":
            return max(self.min_ram_mb, size_mb * 2.5 + 300)  # torch runtime overhead
        if self.backend in ("onnx", "desk"):
            return max(self.min_ram_mb, size_mb * 3 + 40)  # int8 weights dequantised workspaces
        return float(max(self.min_ram_mb, 20))


def model_source(spec: ModelSpec) -> str:
    """What the model is, for people: the local file, the endpoint's host and model name, or the folder."""
    endpoint = spec.manifest.get("endpoint") if isinstance(spec.manifest, dict) else None
    if endpoint:
        from urllib.parse import urlsplit

        return f"endpoint {urlsplit(endpoint['url']).netloc}, model {endpoint['model']}"
    if spec.path is None:
        return ""
    return f"local file {spec.path.name}" if spec.backend == "llama_cpp" else f"folder {spec.path.name}"
