"""What the detail pane is handed about an explanation (app/bridge/explain.py ExplanationView):
the checks and whether the sentiment disagrees with the classifier, the fallback banner, and what
the model was, the same whether the explanation was just made or read back from the store."""

from __future__ import annotations

import dataclasses

from app.bridge.explain import view_from_explanation, view_from_stored
from engine.config import Config
from engine.engine import Engine
from engine.reasoning.checks import Check


def test_a_fallback_view_carries_its_checks_banner_and_model_line(tmp_path) -> None:
    engine = Engine(Config(), tmp_path)
    try:
        engine.analyze_batch(["Apple shares rise as iPhone demand stays strong"])
        breaker = engine.reasoning.breaker
        for _ in range(breaker.failure_threshold):
            breaker.record_failure()  # an open circuit: the evidence-based answer, without a model call
        x = engine.explain("Apple raises its dividend after a strong quarter")
        fresh = view_from_explanation(x, request_id=7)
        stored = view_from_stored(engine.reasoning.latest(x.signal_id))
    finally:
        engine.close()
    assert x.status == "fallback_breaker_open" and fresh.fallback_used
    assert [c.name for c in fresh.checks] == ["entities", "numbers", "citations", "consistency", "sentiment"]
    assert all(c.passed for c in fresh.checks)
    assert fresh.fallback_banner.startswith("Evidence-based explanation from the classifier")
    assert "circuit breaker" in fresh.fallback_banner and fresh.model_line == "no language model was asked"
    assert fresh.rationale.startswith("Evidence-based explanation")
    assert x.retrieved and all(r.label for r in fresh.retrieved)  # the similar item and its label
    assert [(r.id, r.label) for r in fresh.retrieved] == [(r.id, r.label) for r in x.retrieved]
    for name in ("checks", "fallback_banner", "model_source", "rationale", "chain", "cited"):
        assert getattr(stored, name) == getattr(fresh, name), name


def test_a_model_answer_view_names_the_model_and_marks_a_disagreement(tmp_path) -> None:
    engine = Engine(Config(), tmp_path)
    try:
        breaker = engine.reasoning.breaker
        for _ in range(breaker.failure_threshold):
            breaker.record_failure()
        x = engine.explain("Oil slides as OPEC raises output", persist=False)
    finally:
        engine.close()
    disagreeing = dataclasses.replace(
        x, fallback_used=False, status="ok", model_id="endpoint-smollm2", model_version="smollm2",
        model_source="endpoint 127.0.0.1:8080, model smollm2",
        checks=(*x.checks[:-1], Check("sentiment", False, "disagreement: the answer says bullish, the classifier "
                                                          "says bearish (90%)", blocking=False)))
    view = view_from_explanation(disagreeing, request_id=1)
    assert view.sentiment_disagreement and not view.fallback_banner
    assert view.model_line == "endpoint-smollm2 smollm2 · endpoint 127.0.0.1:8080, model smollm2"
    assert view.reason == "Written by endpoint-smollm2; nothing related is on record, so the call is HOLD."
