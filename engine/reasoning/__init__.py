"""Grounded reasoning for the slow lane: retrieval (FAISS over stored signals and analyst
notes), schema-constrained LLM rationales (J6), an optional five-step chain (J2), guardrails
against untrusted text, retries, a circuit breaker and an append-only audit.

Advice only: nothing here imports or writes the risk, sizing or idea modules.
Entry points: ``Engine.explain(...)`` / ``ReasoningService``; ``Explanation`` is the result.
Attributes load lazily so that importing ``engine.reasoning.lanes`` (the engine does, at start)
does not pull in FAISS.
"""

from __future__ import annotations

import importlib

_LAZY = {"ReasoningService": "engine.reasoning.service", "Explanation": "engine.reasoning.types",
         "LaneFull": "engine.reasoning.lanes", "LaneGate": "engine.reasoning.lanes"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
