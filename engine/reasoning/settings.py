"""Reasoning settings: defaults < ``[reasoning]`` table of config.toml < ``SIGNALDESK_REASONING_<KEY>``.

The per-call timeout is the engine-wide ``llm_max_inference_time_s`` (env ``LLM_TIMEOUT_S`` or
``LLM_MAX_INFERENCE_TIME``), so there is one knob for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from engine.config import Config, load_section

log = logging.getLogger(__name__)
ENV_PREFIX = "SIGNALDESK_REASONING_"


@dataclass(frozen=True)
class ReasoningSettings:
    timeout_s: float = 30.0  # per generation call; from Config.llm_max_inference_time_s
    max_tokens: int = 384  # plain mode: the J6 object at its string limits fits inside
    chain_max_tokens: int = 704  # chain mode adds five steps of up to 120 characters
    temperature: float = 0.0  # deterministic answers, reproducible audits
    retries: int = 1  # invalid answer -> one more attempt -> template
    backoff_s: float = 0.25  # first wait between attempts (exponential, capped at 2 s)
    breaker_failures: int = 3  # failed explanations in a row that open the circuit
    breaker_reset_s: float = 60.0  # how long it stays open before one probe may try
    top_k: int = 5
    min_similarity: float = 0.4  # cosine: related headlines measured 0.46-0.74, unrelated <= 0.22
    ivf_threshold: int = 20_000  # exact flat index up to this many items, IVF above
    nprobe: int = 16
    slow_share: float = 0.1  # share of a core the LLM may use while headlines are being scored
    queue_size: int = 32  # slow-lane requests waiting at most
    auto_explain: int = 0  # 1: the desk explains high-impact items as they are scored
    auto_explain_min_confidence: float = 0.8  # what counts as high impact (see service.high_impact)
    auto_explain_max_pending: int = 4  # auto-explain skips items while this many already wait


def load_reasoning_settings(config: Config, data_dir: Path | None = None,
                            environ: Mapping[str, str] | None = None) -> ReasoningSettings:
    defaults = ReasoningSettings(timeout_s=float(config.llm_max_inference_time_s))
    return load_section(defaults, data_dir, "reasoning", ENV_PREFIX, environ)
