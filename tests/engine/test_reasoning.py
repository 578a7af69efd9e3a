"""Explanations end to end with the shipped SmolLM2 (via the model manager), the real embedder
and a real SQLite file. LLM calls are few and short: the machine is shared."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from engine.config import Config
from engine.engine import Engine
from engine.reasoning.audit import latest_for_signal, read_audit
from engine.reasoning.schema import INSUFFICIENT_PREFIX, J6_SCHEMA
from engine.reasoning.service import ReasoningService
from engine.store import DB_FILE_NAME

J6 = Draft202012Validator(J6_SCHEMA)
NEWS = ["Apple shares rise as iPhone demand stays strong", "Apple raises dividend after strong quarter",
        "Oil prices slump on OPEC output hike", "Exxon profit drops as oil prices fall",
        "Boeing deliveries fall for a third month"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    data_dir = tmp_path_factory.mktemp("reasoning")
    eng = Engine(Config(), data_dir)
    eng.analyze_batch(NEWS)
    eng.reasoning.add_note("AAPL: services margin keeps expanding; iPhone cycle strong", author="tester")
    yield eng
    eng.close()


def _valid(x) -> None:
    assert not list(J6.iter_errors(x.signal)), x.signal
    assert set(x.cited) <= {r.id for r in x.retrieved}
    assert x.cited == tuple(x.signal["cited"])


def test_explain_on_the_slow_lane_streams_tokens_and_is_audited(engine: Engine) -> None:
    pieces: list[str] = []
    texts: dict[str, str] = {}
    threads: set[str] = set()

    def on_token(piece: str) -> None:
        pieces.append(piece)
        threads.add(threading.current_thread().name)

    future = engine.reasoning.submit("Apple beats earnings estimates as iPhone sales hit a record", on_token=on_token,
                                     on_text=lambda f, t: texts.__setitem__(f, texts.get(f, "") + t),
                                     on_retry=lambda *_: texts.clear())  # a view starts the retry afresh
    x = future.result(timeout=300)
    _valid(x)
    assert threads == {"reasoning"}  # generated on the slow lane, not the caller's thread
    assert x.retrieved and x.retrieved[0].id in {"signal:1", "signal:2", "note:1"}
    assert not x.insufficient_data and x.chain == ()
    assert x.model_id == "smollm2-135m-instruct"
    assert x.prompt_tokens > 100 and x.completion_tokens == len(pieces) > 10

    record = read_audit(engine.store, x.audit_id)
    assert record.signal_id == x.signal_id and record.mode == "plain" and record.status == x.status
    assert record.raw_output[-1]["text"] == "".join(pieces[-record.raw_output[-1]["completion_tokens"]:])
    assert record.retrieved == [{"id": r.id, "score": round(r.score, 4)} for r in x.retrieved]
    assert record.prompt[0]["role"] == "system" and "untrusted" in record.prompt[0]["content"]
    assert record.parsed_output == {"signal": x.signal, "chain": [], "cited": list(x.cited)}
    assert record.prompt_tokens == x.prompt_tokens and record.latency_ms > 0
    if not x.fallback_used:
        assert texts.get("rationale") == x.signal["rationale"]  # the readable stream matches the result
    assert latest_for_signal(engine.store, x.signal_id)["signal"] == x.signal


def test_chain_mode_gives_five_visible_steps_stored_with_the_signal(engine: Engine) -> None:
    x = engine.explain("Exxon to cut 2,000 jobs as oil prices slump", chain=True)
    _valid(x)
    assert [s["step"] for s in x.chain] == ["key_facts", "sentiment", "market_context", "impact", "conclusion"]
    assert all(s["text"] for s in x.chain)
    stored = latest_for_signal(engine.store, x.signal_id)
    assert stored["mode"] == "chain" and stored["chain"] == list(x.chain) and stored["cited"] == list(x.cited)


def test_nothing_relevant_means_insufficient_data_and_hold(engine: Engine) -> None:
    x = engine.explain("Volcanic ash cloud closes Icelandic airports", persist=False)
    _valid(x)
    assert x.retrieved == () and x.insufficient_data and x.signal_id is None
    assert x.signal["direction"] == "HOLD" and x.signal["cited"] == []
    assert x.signal["rationale"].startswith(INSUFFICIENT_PREFIX)


def _service(engine: Engine, **changes) -> ReasoningService:
    sleeps: list[float] = []
    service = ReasoningService(engine, dataclasses.replace(engine.reasoning.settings, **changes),
                               sleep=sleeps.append)
    service.sleeps = sleeps
    return service


def test_invalid_answer_is_retried_once_then_the_template_answers(engine: Engine) -> None:
    service = _service(engine, max_tokens=6)  # the JSON is cut by the token limit: invalid, for real
    x = service.explain("Oil rebounds as OPEC signals output cuts", persist=False)
    _valid(x)
    assert x.fallback_used and x.status == "fallback_invalid" and x.attempts == 2
    assert len(service.sleeps) == 1 and service.sleeps[0] > 0  # tenacity backed off before the retry
    assert x.signal["rationale"].startswith("Evidence-based explanation") and "cited" in x.signal
    record = read_audit(engine.store, x.audit_id)
    assert [r["attempt"] for r in record.raw_output] == [1, 2]
    assert [r["temperature"] for r in record.raw_output] == [0.0, 0.5]  # the retry is not a replay
    assert all(e.startswith(("attempt 1", "attempt 2")) for e in record.errors)
    assert record.fallback_used and record.parsed_output["signal"] == x.signal


def test_timeout_stops_generation_and_is_not_retried(engine: Engine) -> None:
    service = _service(engine, timeout_s=0.0)
    x = service.explain("Oil rebounds as OPEC signals output cuts", persist=False)
    _valid(x)
    assert x.status == "fallback_timeout" and x.attempts == 1 and x.completion_tokens <= 2
    assert service.sleeps == []


def test_circuit_opens_after_repeated_failures_and_a_half_open_probe_closes_it(engine: Engine) -> None:
    now = [0.0]
    service = ReasoningService(engine, dataclasses.replace(engine.reasoning.settings, timeout_s=0.0,
                                                           breaker_failures=2, breaker_reset_s=60),
                               sleep=lambda s: None, clock=lambda: now[0])
    assert [service.explain("Gold edges higher", persist=False).status for _ in range(2)] == ["fallback_timeout"] * 2
    x = service.explain("Gold edges higher", persist=False)
    assert x.status == "fallback_breaker_open" and x.attempts == 0 and x.completion_tokens == 0
    now[0] = 61.0  # half-open: one probe goes to the model
    service.settings = dataclasses.replace(service.settings, timeout_s=120.0)
    probe = service.explain("Gold edges higher", persist=False)
    assert probe.attempts >= 1 and probe.status in ("ok", "ok_after_retry", "fallback_invalid", "fallback_checks")
    if not probe.fallback_used:
        assert service.breaker.state == "closed"
    else:  # an invalid probe counts as a failure and opens the circuit again
        assert service.breaker.state == "open"


def test_a_model_exception_is_retried(engine: Engine, monkeypatch) -> None:
    real_acquire = engine.models.acquire
    calls = []

    class Flaky:
        def __init__(self, inner) -> None:
            self.inner = inner

        def chat(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("llama_decode returned -3")
            return self.inner.chat(*args, **kwargs)

    def acquire(task):
        model, spec = real_acquire(task)
        return (Flaky(model), spec) if task == "generation" else (model, spec)

    service = _service(engine)
    monkeypatch.setattr(engine.models, "acquire", acquire)
    x = service.explain("Gold edges higher as the dollar slips", persist=False)
    _valid(x)
    assert len(calls) == 2 and x.attempts == 2 and len(service.sleeps) == 1
    assert x.status in ("ok_after_retry", "fallback_invalid", "fallback_checks")
    assert "RuntimeError: llama_decode returned -3" in read_audit(engine.store, x.audit_id).errors[0]


def test_cancel_ends_in_the_template_without_tripping_the_breaker(engine: Engine) -> None:
    service = _service(engine)
    x = service.explain("Gold edges higher as the dollar slips", persist=False, should_stop=lambda: True)
    _valid(x)
    assert x.status == "fallback_cancelled" and service.breaker.failures == 0
    # Stopped inside the prompt evaluation: not a single token was generated.
    assert x.completion_tokens == 0 and x.first_token_ms is None


def test_the_audit_is_append_only(engine: Engine) -> None:
    conn = sqlite3.connect(engine.data_dir / DB_FILE_NAME)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE reasoning_audit SET status = 'ok'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM reasoning_audit")
    finally:
        conn.close()


def test_empty_text_is_a_caller_error(engine: Engine) -> None:
    with pytest.raises(ValueError, match="empty"):
        engine.explain("   ")
    with pytest.raises(ValueError, match="no stored signal"):
        engine.explain(10 ** 9)
