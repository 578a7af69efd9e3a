"""Bring your own model: explanations through an OpenAI-compatible endpoint. A real llama.cpp
server (llama-cpp-python's server extra) serves the shipped SmolLM2 on 127.0.0.1 with an API
key; the desk registers it, checks its health, streams from it with its JSON-schema mode,
validates and checks what comes back, and never writes the key anywhere."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.generation.endpoint_backend import EndpointError, EndpointGenerator, check_config, normalise_url
from engine.models.registry import ModelRegistryError
from engine.reasoning.audit import read_audit
from engine.reasoning.service import ReasoningService
from tests.llm_server import API_KEY, MODEL_ALIAS, LlamaServer, free_port, running_server

KEY_ENV = "SIGNALDESK_TEST_ENDPOINT_KEY"
# The server evaluates a cold ~1,000-token prompt on one thread: on a shared, busy machine that
# alone can pass the desk's default 30 s, and these tests are about behaviour, not speed.
SLOW_MACHINE = Config(llm_max_inference_time_s=600.0)
NEWS = ["Apple shares rise as iPhone demand stays strong", "Oil prices slump on OPEC output hike"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from running_server(tmp_path_factory)


@pytest.fixture(scope="module")
def engine(tmp_path_factory, server):
    os.environ[KEY_ENV] = API_KEY
    eng = Engine(SLOW_MACHINE, tmp_path_factory.mktemp("endpoint-desk"))
    eng.analyze_batch(NEWS)
    info = eng.models.add_endpoint(server.url, MODEL_ALIAS, api_key_env=KEY_ENV)
    eng.models.switch("generation", info.id)
    yield eng
    eng.close()
    os.environ.pop(KEY_ENV, None)


def test_urls_and_names_are_validated_before_anything_is_stored() -> None:
    assert normalise_url("http://127.0.0.1:8080") == "http://127.0.0.1:8080/v1"
    assert normalise_url("https://llm.example/v1/") == "https://llm.example/v1"
    for bad in ("ftp://host/v1", "localhost:8080", "http://user:secret@host/v1", "http://host/v1?key=1"):
        with pytest.raises(EndpointError):
            normalise_url(bad)
    with pytest.raises(EndpointError, match="must name an environment variable"):
        check_config("http://127.0.0.1:1/v1", "m", "MY KEY")
    # A key pasted where its variable's name belongs is refused without being repeated anywhere.
    pasted = "sk-live-0123456789abcdef"
    with pytest.raises(EndpointError) as refused:
        check_config("http://127.0.0.1:1/v1", "m", pasted)
    assert pasted not in str(refused.value) and "sk-" not in str(refused.value)


def test_health_check_refuses_a_wrong_model_a_missing_key_and_a_dead_port(server, tmp_path) -> None:
    os.environ[KEY_ENV] = API_KEY
    assert MODEL_ALIAS in EndpointGenerator(check_config(server.url, MODEL_ALIAS, KEY_ENV)).health()["models"]
    with pytest.raises(EndpointError, match="does not serve 'gpt-9'"):
        EndpointGenerator(check_config(server.url, "gpt-9", KEY_ENV)).health()
    with pytest.raises(EndpointError, match="HTTP 401"):
        EndpointGenerator(check_config(server.url, MODEL_ALIAS)).health()  # no key sent
    with pytest.raises(EndpointError, match="NOT_SET_ANYWHERE .*is not set"):
        EndpointGenerator(check_config(server.url, MODEL_ALIAS, "NOT_SET_ANYWHERE")).health()
    dead = check_config(f"http://127.0.0.1:{free_port()}/v1", MODEL_ALIAS)
    with pytest.raises(EndpointError, match="endpoint 127.0.0.1"):
        EndpointGenerator(dead).health()
    desk = Engine(Config(), tmp_path)
    try:
        with pytest.raises(ModelRegistryError, match="health check failed"):
            desk.models.add_endpoint(dead.url, MODEL_ALIAS)
        assert not [m for m in desk.models.all_models() if m.backend == "openai"]
    finally:
        desk.close()


def test_explain_through_the_endpoint_streams_checked_json(engine: Engine, server) -> None:
    pieces: list[str] = []
    x = engine.explain("Apple beats earnings estimates as iPhone sales hit a record", on_token=pieces.append)
    assert x.model_id == "endpoint-smollm2" and x.model_version == MODEL_ALIAS
    assert x.model_source == f"endpoint 127.0.0.1:{server.port}, model {MODEL_ALIAS}"
    assert x.attempts >= 1 and len(pieces) >= x.attempts and x.first_token_ms is not None
    assert all(c.passed for c in x.checks if c.blocking)  # shown only after passing its checks
    assert x.status in ("ok", "ok_after_retry", "fallback_checks")
    record = read_audit(engine.store, x.audit_id)
    assert record.model_source == x.model_source and record.checks == [c.to_dict() for c in x.checks]
    if not x.fallback_used:
        assert "".join(pieces[-record.raw_output[-1]["completion_tokens"]:]) == record.raw_output[-1]["text"]
    model, _ = engine.models.acquire("generation")
    # llama-cpp-python's server refuses OpenAI's json_schema form and speaks its own schema form
    assert model._mode == "json_object_schema"


def test_the_key_is_never_written_to_disk_or_logs(engine: Engine) -> None:
    engine.explain("Oil slides as OPEC raises output", persist=True)
    rows = engine.store.query("SELECT manifest FROM user_models WHERE backend = 'openai'")
    assert KEY_ENV in rows[0][0] and API_KEY not in rows[0][0]
    for path in Path(engine.data_dir).rglob("*"):
        if path.is_file():
            assert API_KEY.encode() not in path.read_bytes(), path


def test_timeout_and_cancel_stop_an_endpoint_call(engine: Engine) -> None:
    sleeps: list[float] = []
    service = ReasoningService(engine, engine.reasoning.settings.__class__(
        **{**engine.reasoning.settings.__dict__, "timeout_s": 0.0}), sleep=sleeps.append)
    x = service.explain("Fed holds rates steady and signals patience", persist=False)
    assert x.status == "fallback_timeout" and x.attempts == 1 and sleeps == []
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    started = time.perf_counter()
    x = engine.reasoning.explain("Fed holds rates steady and signals patience", persist=False,
                                 should_stop=stop.is_set)
    assert x.status == "fallback_cancelled" and time.perf_counter() - started < 30


def test_an_endpoint_that_goes_away_trips_the_breaker(tmp_path: Path) -> None:
    srv = LlamaServer(tmp_path / "server.log")
    desk = Engine(SLOW_MACHINE, tmp_path / "desk")
    try:
        srv.wait_ready()
        info = desk.models.add_endpoint(srv.url, MODEL_ALIAS)
        desk.models.switch("generation", info.id)
        service = ReasoningService(desk, desk.reasoning.settings.__class__(
            **{**desk.reasoning.settings.__dict__, "breaker_failures": 2}), sleep=lambda s: None)
        srv.stop()  # the endpoint is gone after it was loaded
        first = service.explain("Gold climbs as the dollar slips", persist=False)
        assert first.status == "fallback_error" and first.attempts == 2
        assert any("ConnectionRefusedError" in e for e in first.errors)
        second = service.explain("Gold climbs as the dollar slips", persist=False)
        third = service.explain("Gold climbs as the dollar slips", persist=False)
        assert second.status == "fallback_error" and third.status == "fallback_breaker_open"
        assert third.attempts == 0 and third.fallback_used
    finally:
        srv.stop()
        desk.close()


def test_cli_adds_an_endpoint_by_url_with_the_key_variable_only(server, tmp_path: Path) -> None:
    env = {**os.environ, KEY_ENV: API_KEY, "QT_QPA_PLATFORM": "offscreen"}
    cmd = [sys.executable, "-m", "app", "--data-dir", str(tmp_path), "models", "add-endpoint", server.url,
           "--model", MODEL_ALIAS, "--api-key-env", KEY_ENV]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert f"endpoint 127.0.0.1:{server.port}, model {MODEL_ALIAS}" in done.stdout
    assert "models switch generation endpoint-smollm2" in done.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300,
                           cwd=Path(__file__).resolve().parents[2])
    assert again.returncode == 2 and "already exists" in again.stderr and len(again.stderr.splitlines()) == 1
    assert API_KEY not in done.stdout + done.stderr + again.stderr


def test_an_endpoint_serves_only_once_the_operator_switches_to_it(server, tmp_path: Path) -> None:
    os.environ[KEY_ENV] = API_KEY
    desk = Engine(Config(), tmp_path)
    try:
        info = desk.models.add_endpoint(server.url, MODEL_ALIAS, api_key_env=KEY_ENV, model_id="my-endpoint")
        assert info.status == "available" and info.source.startswith("endpoint 127.0.0.1")
    finally:
        desk.close()
    restarted = Engine(Config(), tmp_path)  # a new session ranks every model again
    try:
        assert restarted.models.active("generation").id == "smollm2-135m-instruct"
        restarted.models.switch("generation", "my-endpoint")
    finally:
        restarted.close()
    again = Engine(Config(), tmp_path)
    try:
        assert again.models.active("generation").id == "my-endpoint"  # the operator's choice is remembered
    finally:
        again.close()
