"""The frozen result of an explanation: advice-only data for display, audit and ranking."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

from engine.reasoning.checks import Check
from engine.reasoning.rag.index import Retrieved
from engine.types import Signal

_DIRECTION_LABEL = {"BUY": "bullish", "SELL": "bearish", "HOLD": "neutral"}


@dataclass(frozen=True)
class Explanation:
    signal: dict  # the J6 structured signal (schema-valid), including "cited"
    chain: tuple  # five {"step", "title", "text"} dicts in chain mode, () in plain mode
    cited: tuple[str, ...]  # always a subset of the retrieved ids
    retrieved: tuple[Retrieved, ...]  # what the model was shown, best first
    fallback_used: bool  # True: the deterministic evidence-based explanation, not the model, wrote this
    # ok | ok_after_retry | fallback_<checks|invalid|timeout|error|breaker_open|no_model|prompt_guard|cancelled>
    status: str
    insufficient_data: bool  # nothing relevant was retrieved, so the direction is HOLD
    audit_id: int | None
    source: Signal  # the classifier's signal that was explained
    model_id: str
    model_version: str
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    first_token_ms: float | None
    latency_ms: float
    errors: tuple[str, ...]
    # The faithfulness checks of what is returned (engine/reasoning/checks.py); all blocking ones
    # passed, or it would not be returned. The sentiment check may be a marked disagreement.
    checks: tuple[Check, ...] = ()
    model_source: str = ""  # "local file X.gguf" | "endpoint HOST, model NAME"; "" when no model was asked

    @property
    def sentiment_disagreement(self) -> bool:
        """The answer's sentiment differs from the classifier's (kept, and shown as such)."""
        return any(c.name == "sentiment" and not c.passed for c in self.checks)

    @property
    def signal_id(self) -> int | None:
        return self.source.id

    def opinion(self) -> dict:
        """Keyword arguments for ``engine.ideas.LlmOpinion``: confidence blending for ranking only
        (see engine/ideas/blend.py); limits, sizes and states never read it."""
        return {"label": _DIRECTION_LABEL[self.signal["direction"]], "confidence": float(self.signal["confidence"]),
                "model_id": self.model_id or "template", "model_version": self.model_version}

    def to_dict(self) -> dict:
        """JSON-ready copy; ``signal``, ``chain`` and ``cited`` are the CLI's ``--json`` contract."""
        return {
            "signal": copy.deepcopy(self.signal),
            "chain": [dict(step) for step in self.chain],
            "cited": list(self.cited),
            "retrieved": [r.to_dict() for r in self.retrieved],
            "fallback_used": self.fallback_used,
            "status": self.status,
            "insufficient_data": self.insufficient_data,
            "audit_id": self.audit_id,
            "signal_id": self.signal_id,
            "classifier": {"label": self.source.label, "confidence": self.source.confidence,
                           "model": f"{self.source.model_id}@{self.source.model_version}"},
            "model": {"id": self.model_id, "version": self.model_version, "source": self.model_source},
            "checks": [c.to_dict() for c in self.checks],
            "sentiment_disagreement": self.sentiment_disagreement,
            "attempts": self.attempts,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "first_token_ms": self.first_token_ms,
            "latency_ms": self.latency_ms,
            "errors": list(self.errors),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, allow_nan=False)
