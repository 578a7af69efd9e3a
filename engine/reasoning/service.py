"""ReasoningService: retrieve -> prompt -> constrained generation -> validate -> audit.

``explain`` never raises for anything the model or retrieval does: a timeout, an exception, an
open circuit, an answer that fails the schema or the faithfulness checks (engine/reasoning/
checks.py) twice all end in the deterministic evidence-based explanation, marked
``fallback_used`` with the reason in ``status``. Whatever is returned has passed the checks, and
their results travel on the Explanation and into the audit. Only caller mistakes (empty text, an
unknown signal id) raise ``ValueError``.

Threads: ``submit`` runs an explanation on the slow lane and returns a Future; ``explain`` runs
in the calling thread. Generations are serialised by a lock because one llama.cpp context must
not be driven from two threads at once.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable

from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from engine.reasoning.audit import write_audit
from engine.reasoning.breaker import CircuitBreaker
from engine.reasoning.chain import EventClass, template_result
from engine.reasoning.checks import (Evidence, candidate_entities, capital_words, check_explanation,
                                     number_strings)
from engine.reasoning.guardrails import check_prompt
from engine.reasoning.lanes import LaneGate, SlowLane
from engine.models.spec import model_source
from engine.reasoning.lookup import (CitedSource, StoredExplanation, cited_source, describe_fallback, signal_event,
                                    stored_explanation)
from engine.reasoning.prompts import SESSION_NONCE, build_prompt, retry_messages, source_line, unsupported_words
from engine.reasoning.rag.index import RagIndex, Retrieved
from engine.reasoning.schema import InvalidOutput, check_result, decoding_schema, parse_output
from engine.reasoning.settings import ReasoningSettings, load_reasoning_settings
from engine.reasoning.stream import TextStream
from engine.reasoning.types import Explanation
from engine.types import Signal

log = logging.getLogger(__name__)

RETRY_TEMPERATURE = 0.5  # at temperature 0 a retry would repeat the same invalid answer


class LlmTimeout(RuntimeError):
    pass


class Cancelled(RuntimeError):
    pass


class CheckFailed(InvalidOutput):
    """A schema-valid answer that failed a faithfulness check (retried like an invalid one)."""


def _retryable(exc: BaseException) -> bool:
    return not isinstance(exc, (LlmTimeout, Cancelled))


class ReasoningService:
    def __init__(self, engine: Any, settings: ReasoningSettings | None = None, *,
                 gate: LaneGate | None = None, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self.settings = settings or load_reasoning_settings(engine.config, engine.data_dir)
        if gate is None:
            gate = getattr(engine, "lanes", None) or LaneGate()
            gate.slow_share = min(1.0, max(0.01, float(self.settings.slow_share)))
        self.gate = gate
        self.breaker = CircuitBreaker(self.settings.breaker_failures, self.settings.breaker_reset_s, clock)
        self.lane = SlowLane("reasoning", self.settings.queue_size)
        folder = Path(engine.data_dir) / "rag" if engine.data_dir else None
        self.rag = RagIndex(engine.store, folder, self._embedder, ivf_threshold=self.settings.ivf_threshold,
                            nprobe=self.settings.nprobe) if engine.store is not None else None
        self._sleep = sleep
        self._gen_lock = threading.Lock()

    def _embedder(self) -> tuple[Any, str]:
        model, spec = self._engine.models.acquire("embedding")
        return model, f"{spec.id}@{spec.version}"

    # --- public API ----------------------------------------------------------------------
    def submit(self, item: Signal | str | int, **kwargs: Any) -> Future:
        """Explain on the slow lane; the Future resolves to an Explanation (LaneFull when busy)."""
        return self.lane.submit(self.explain, item, **kwargs)

    def high_impact(self, signal: Signal, *, enabled: bool | None = None) -> bool:
        """Worth an automatic explanation: directional, confident, naming a ticker, stored, and the
        slow lane not already backed up (auto-explain must never flood it). ``enabled`` overrides
        the ``auto_explain`` setting (the desk's own toggle)."""
        s = self.settings
        on = bool(s.auto_explain) if enabled is None else bool(enabled)
        return (on and signal.id is not None and signal.label in ("bullish", "bearish")
                and bool(signal.entities)
                and float(getattr(signal, "shown_confidence", signal.confidence)) >= s.auto_explain_min_confidence
                and self.lane.pending < s.auto_explain_max_pending)

    def add_note(self, text: str, *, signal_id: int | None = None, author: str = "analyst") -> int:
        if self.rag is None:
            raise ValueError("analyst notes need a store")
        return self.rag.add_note(text, signal_id=signal_id, author=author)

    def source(self, cited_id: str) -> CitedSource:
        """What a cited id ("signal:12", "note:3") points at, to show it; ValueError if unknown."""
        if self._engine.store is None:
            raise ValueError("cited sources need a store")
        return cited_source(self._engine.store, cited_id)

    def latest(self, signal_id: int) -> StoredExplanation | None:
        """The newest explanation stored with a signal (shown again without generating)."""
        if self._engine.store is None:
            return None
        return stored_explanation(self._engine.store, signal_id)

    def explain(self, item: Signal | str | int, *, chain: bool = False,
                on_token: Callable[[str], None] | None = None,
                on_text: Callable[[str, str], None] | None = None,
                on_retry: Callable[[int, str], None] | None = None,
                should_stop: Callable[[], bool] | None = None, persist: bool = True) -> Explanation:
        started = time.perf_counter()
        signal = self._resolve(item, persist)
        retrieved, retrieval_error = self._retrieve(signal)
        ids = [r.id for r in retrieved]
        prompt = build_prompt(signal, retrieved, chain=chain, nonce=SESSION_NONCE)
        evidence = Evidence(signal.text, signal.label, float(getattr(signal, "shown_confidence", signal.confidence)),
                            float(signal.compound), tuple(signal.entities),
                            {r.id: source_line(r) for r in retrieved})
        texts = [signal.text, *(r.text for r in retrieved)]
        # Decoding may name only what the evidence holds; the checks below still judge the answer.
        schema = decoding_schema(ids, chain=chain, entities=candidate_entities(texts, signal.entities),
                                 numbers=number_strings(texts), capitals=capital_words(texts, signal.entities))
        run = _Run(evidence)
        run.shown_texts = [*texts, *signal.entities]
        if retrieval_error:
            run.errors.append(f"retrieval failed: {retrieval_error}")

        guard = check_prompt(prompt.messages, prompt.nonce, prompt.segments)
        spec = None
        if not guard.ok:  # cannot happen with build_prompt; refuse rather than trust it
            run.fail("fallback_prompt_guard", "; ".join(guard.problems))
        elif not self.breaker.allow():
            run.fail("fallback_breaker_open", "circuit open after repeated LLM failures")
        else:
            # Pinned for the whole generation: the model cache must not evict or idle-unload
            # (close) the generator while llama.cpp is still decoding with it.
            with ExitStack() as pinned:
                try:
                    model, spec = pinned.enter_context(self._engine.models.in_use("generation"))
                except Exception as exc:
                    self.breaker.record_failure()
                    run.fail("fallback_no_model", f"no generation model: {exc}")
                else:
                    self._attempts(run, model, prompt, schema, ids, chain, on_token, on_text, on_retry, should_stop)

        if run.result is None:
            reason = describe_fallback(run.status)
            event = signal_event(self._engine.store, signal.id, signal.text)
            run.result = template_result(signal, retrieved, reason,
                                         EventClass(event.category, event.subcategory, event.impact))
        result, steps = run.result
        if not chain:
            steps = []
        try:
            check_result(result, steps, ids)  # the evidence-based answer passes the same gates as the model
            report = check_explanation(result, steps, evidence)
            if not report.ok:
                raise CheckFailed(report.summary())
        except InvalidOutput as exc:  # a template bug must still not reach callers or crash them
            log.error("evidence-based result refused: %s", exc)
            run.fail("fallback_error", f"evidence-based answer refused: {exc}")
            result, steps = _last_resort(signal, chain)
            report = check_explanation(result, steps, evidence)
        checks = [c.to_dict() for c in report.checks]
        parsed = {"signal": result, "chain": steps, "cited": list(result["cited"])}
        latency_ms = (time.perf_counter() - started) * 1000.0
        source = model_source(spec) if spec is not None else ""
        audit_id = None
        if self._engine.store is not None:
            audit_id = self._audit(
                self._engine.store, signal_id=signal.id, mode="chain" if chain else "plain",
                model_id=spec.id if spec else "", model_version=spec.version if spec else "",
                status=run.status, fallback_used=run.fallback, attempts=run.attempts, prompt=prompt.messages,
                response_schema=schema, retrieved=[{"id": r.id, "score": round(r.score, 4)} for r in retrieved],
                raw_output=run.raw, errors=run.errors, parsed_output=parsed, latency_ms=latency_ms,
                first_token_ms=run.first_token_ms, prompt_tokens=run.prompt_tokens,
                completion_tokens=run.completion_tokens, checks=checks, model_source=source,
                # A cancelled run's template is audited but is not the signal's explanation.
                link=run.status != "fallback_cancelled")
        return Explanation(
            signal=result, chain=tuple(steps), cited=tuple(result["cited"]), retrieved=tuple(retrieved),
            fallback_used=run.fallback, status=run.status, insufficient_data=not retrieved, audit_id=audit_id,
            source=signal, model_id=spec.id if spec else "", model_version=spec.version if spec else "",
            attempts=run.attempts, prompt_tokens=run.prompt_tokens, completion_tokens=run.completion_tokens,
            first_token_ms=run.first_token_ms, latency_ms=latency_ms, errors=tuple(run.errors),
            checks=report.checks, model_source=source)

    def close(self) -> None:
        self.lane.close()

    def _audit(self, store: Any, **row: Any) -> int | None:
        try:
            return write_audit(store, **row)
        except Exception:  # the caller still gets its explanation; the log says what was lost
            log.exception("reasoning audit row could not be written")
            return None

    # --- steps ---------------------------------------------------------------------------
    def _resolve(self, item: Signal | str | int, persist: bool) -> Signal:
        if isinstance(item, Signal):
            return item
        store = self._engine.store
        if isinstance(item, int) and not isinstance(item, bool):
            if store is None:
                raise ValueError("explaining a stored signal needs a store")
            stored = store.get_signal(item)
            if stored is None:
                raise ValueError(f"no stored signal #{item}")
            return stored
        text = str(item or "").strip()
        if not text:
            raise ValueError("nothing to explain: the text is empty")
        text = text[: self._engine.config.max_item_chars]
        return self._engine.analyze(text, source="explain", persist=persist and store is not None)

    def _retrieve(self, signal: Signal) -> tuple[list[Retrieved], str]:
        if self.rag is None:
            return [], ""
        try:
            self.rag.sync()
            exclude = [f"signal:{signal.id}"] if signal.id is not None else []
            hits = self.rag.search(signal.text, k=self.settings.top_k, min_score=self.settings.min_similarity,
                                   exclude=exclude)
            return hits, ""
        except Exception as exc:  # retrieval is an aid: without it the answer is HOLD, not a crash
            log.exception("retrieval failed")
            return [], str(exc)

    def _attempts(self, run: "_Run", model: Any, prompt: Any, schema: dict, ids: list[str], chain: bool,
                  on_token, on_text, on_retry, should_stop) -> None:
        s = self.settings
        max_tokens = s.chain_max_tokens if chain else s.max_tokens

        def before_sleep(state) -> None:
            if on_retry is not None:
                on_retry(state.attempt_number + 1, run.errors[-1] if run.errors else "")

        retrying = Retrying(stop=stop_after_attempt(1 + max(0, s.retries)),
                            wait=wait_exponential(multiplier=s.backoff_s, max=2.0),
                            retry=retry_if_exception(_retryable), reraise=True, sleep=self._sleep,
                            before_sleep=before_sleep)
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    temperature = s.temperature if number == 1 else max(s.temperature, RETRY_TEMPERATURE)
                    messages = (prompt.messages if number == 1 else
                                retry_messages(prompt.messages, run.failed, run.avoid))
                    try:
                        text = self._generate(run, model, messages, schema, max_tokens, temperature,
                                              on_token, on_text, should_stop)
                        if number > 1:
                            run.raw[-1]["retry_rules"] = list(run.failed)  # what the retry was reminded of
                            run.raw[-1]["retry_avoid"] = list(run.avoid)
                        run.result = parse_output(text, ids, chain=chain, schema=schema)
                        report = check_explanation(*run.result, run.evidence)
                        run.raw[-1]["checks"] = [c.to_dict() for c in report.checks]
                        if not report.ok:
                            run.failed = [c.name for c in report.failures]
                            run.avoid = unsupported_words([*report.invented_entities, *report.invented_numbers],
                                                          run.shown_texts)
                            raise CheckFailed(f"checks: {report.summary()}")
                    except (LlmTimeout, Cancelled):
                        raise
                    except CheckFailed as exc:
                        run.errors.append(f"attempt {number}: {exc}")
                        raise
                    except InvalidOutput as exc:
                        run.failed = ["schema"]
                        run.errors.append(f"attempt {number}: {exc}")
                        raise
                    except Exception as exc:
                        run.errors.append(f"attempt {number}: {type(exc).__name__}: {exc}")
                        raise
            run.status = "ok" if run.attempts == 1 else "ok_after_retry"
            run.fallback = False
            self.breaker.record_success()
        except Cancelled:
            self.breaker.release()
            run.fail("fallback_cancelled", "cancelled")
        except LlmTimeout as exc:
            self.breaker.record_failure()
            run.fail("fallback_timeout", str(exc))
        except CheckFailed:
            # The model answered, in form: a fact it could not back is not an outage.
            self.breaker.record_success()
            run.fail("fallback_checks", "")
        except InvalidOutput:
            self.breaker.record_failure()
            run.fail("fallback_invalid", "")
        except Exception as exc:
            log.warning("generation failed after %d attempt(s): %s", run.attempts, exc)
            self.breaker.record_failure()
            run.fail("fallback_error", "")

    def _generate(self, run: "_Run", model: Any, messages: list[dict], schema: dict, max_tokens: int,
                  temperature: float, on_token, on_text, should_stop) -> str:
        stream = TextStream(on_text) if on_text is not None else None
        pace = self.gate.pacer()
        state = {"timeout": False, "cancel": False, "deadline": 0.0}

        def token(piece: str) -> None:
            try:
                if on_token is not None:
                    on_token(piece)
                if stream is not None:
                    stream.feed(piece)
            except Exception:  # a broken display callback must not lose the answer
                log.exception("token callback failed")

        def abort() -> bool:
            """Cancel or deadline; also asked during the prompt evaluation (so it never sleeps)."""
            if self.lane.closed or (should_stop is not None and should_stop()):
                state["cancel"] = True
                return True
            if time.monotonic() >= state["deadline"]:
                state["timeout"] = True
                return True
            return False

        def stop() -> bool:
            if abort():
                return True
            # Time spent yielding to the fast lane is not the model's: extend the deadline by it.
            state["deadline"] += pace()
            return False

        with self._gen_lock:
            state["deadline"] = time.monotonic() + self.settings.timeout_s
            run.attempts += 1
            gen = model.chat(messages, max_tokens=max_tokens, temperature=temperature,
                             response_format={"type": "json_object", "schema": schema},
                             on_token=token, should_stop=stop, should_abort=abort)
        run.raw.append({"attempt": run.attempts, "temperature": temperature, "text": gen.text,
                        "completion_tokens": gen.completion_tokens,
                        "stopped": "timeout" if state["timeout"] else "cancel" if state["cancel"] else ""})
        run.prompt_tokens += gen.prompt_tokens
        run.completion_tokens += gen.completion_tokens
        if run.first_token_ms is None and gen.completion_tokens:
            run.first_token_ms = round(gen.first_token_ms, 2)
        if state["cancel"]:
            raise Cancelled("cancelled")
        if state["timeout"]:
            raise LlmTimeout(f"no complete answer within {self.settings.timeout_s:g} s")
        return gen.text


def _last_resort(signal: Signal, chain: bool) -> tuple[dict, list[dict]]:
    from engine.reasoning.schema import CHAIN_STEPS, INSUFFICIENT_PREFIX

    text = f"{INSUFFICIENT_PREFIX}no usable explanation could be produced, so the call is HOLD."
    result = {"direction": "HOLD", "confidence": 0.0, "sentiment": signal.label, "entities": [], "events": [],
              "timeframe": "days", "magnitude": "low", "rationale": text, "cited": []}
    steps = [{"step": s, "title": t, "text": f"HOLD: {text}" if s == "conclusion" else text}
             for s, t in CHAIN_STEPS] if chain else []
    return result, steps


class _Run:
    """Mutable bookkeeping of one explanation (never leaves this module)."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence
        self.failed: list[str] = []  # what the last refused attempt broke (check names, or "schema")
        self.avoid: list[str] = []  # what it invented, quoted back to the retry (prompts.unsupported_words)
        self.shown_texts: list[str] = []  # every untrusted text the prompt showed
        self.status = "fallback_error"
        self.fallback = True
        self.result: tuple[dict, list[dict]] | None = None
        self.errors: list[str] = []
        self.raw: list[dict] = []
        self.attempts = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.first_token_ms: float | None = None

    def fail(self, status: str, error: str) -> None:
        self.status, self.fallback, self.result = status, True, None
        if error:
            self.errors.append(error)
