"""The desk's publisher and the desk without Redis: SQLite keeps working, Redis catches up later."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import Config, ConfigError
from engine.engine import Engine
from engine.redisbus import state
from engine.redisbus.config import RedisConfig, load_redis_config, redact_url
from engine.redisbus.publisher import SignalPublisher
from tests.conftest import REPO_ROOT
from tests.redis.conftest import child_env, free_port, wait_for

TEXTS = [
    "$ACME beats third-quarter profit estimates, raises full-year guidance",
    "$DUNE misses revenue forecasts as refining margins shrink",
    "$ACME agrees to buy Nimbus Cloud for $4.2 billion in cash",
    "$ZEPH shares halted after FDA rejects lead drug",
    "Fed holds rates steady, signals two cuts later this year",
]


def test_config_reads_the_redis_section_env_and_refuses_bad_values(data_dir: Path) -> None:
    (data_dir / "config.toml").write_text('[redis]\nurl = "redis://:secret@10.0.0.5:6379/2"\nbatch_size = 32\n')
    config = load_redis_config(data_dir, environ={"SIGNALDESK_REDIS_GROUP": "night"})
    assert (config.url, config.batch_size, config.group) == ("redis://:secret@10.0.0.5:6379/2", 32, "night")
    assert config.news_key == "signaldesk:news" and config.asset_keys("ACME")[2] == "signaldesk:running:ACME"
    assert "secret" not in redact_url(config.url) and "secret" not in json.dumps(config.to_dict())
    with pytest.raises(ConfigError, match="url must start with redis://"):
        RedisConfig(url="http://example.com")
    with pytest.raises(ConfigError, match="batch_size"):
        load_redis_config(data_dir, environ={"SIGNALDESK_REDIS_BATCH_SIZE": "0"})


def test_publisher_keeps_the_desk_working_without_redis_and_catches_up_once_it_is_back(
        redis_factory, data_dir: Path, monkeypatch) -> None:
    port = free_port()  # nothing listens here yet
    monkeypatch.setenv("SIGNALDESK_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("SIGNALDESK_REDIS_MAX_BACKOFF_S", "0.5")
    monkeypatch.setenv("SIGNALDESK_REDIS_CONNECT_TIMEOUT_S", "0.5")
    engine = Engine(Config(), data_dir)
    try:
        publisher = engine.redis_publisher
        assert publisher is not None
        stored = engine.analyze_batch(TEXTS)  # the desk scores and stores as usual
        assert [s.id for s in stored] == [1, 2, 3, 4, 5]
        status = wait_for(lambda: (s := publisher.status()).last_error and s, 10, "the publisher to notice")
        assert not status.connected and status.lag == 5
        assert f"127.0.0.1:{port}" in status.last_error and "unavailable" in status.last_error
        assert "the desk keeps working on SQLite" in status.message

        server = redis_factory(port)
        server.start()
        assert publisher.wait_caught_up(20), publisher.status()
        status = publisher.status()
        assert status.connected and status.published == 5 and status.lag == 0
        client = server.client()
        assert client.xlen("signaldesk:signals") == 5
        assert int(client.hget("signaldesk:running:ACME", "count")) == 2
        latest = json.loads(client.get("signaldesk:latest:ACME"))
        assert latest["signal_id"] == 3 and latest["uid"] == f"{publisher.origin}:3"
        assert 0 < client.ttl("signaldesk:latest:ACME") <= 86_400
        assert client.llen("signaldesk:history:ACME") == 2
        assert int(client.hget("signaldesk:origins", publisher.origin)) == 5

        # A crash between publishing and saving the cursor: the batch is published again, and skipped.
        config = load_redis_config(data_dir)
        state.set_value(engine.store, f"publisher.cursor@{state.target(config)}", "0")
        again = SignalPublisher(engine.store, config)
        assert again.publish_pending() == 0
        assert again.status().repeats_skipped == 5
        assert client.xlen("signaldesk:signals") == 5
        assert int(client.hget("signaldesk:running:ACME", "count")) == 2

        engine.analyze("$ACME raises dividend by 10%")
        assert publisher.wait_caught_up(10)
        assert int(client.hget("signaldesk:running:ACME", "count")) == 3

        # Redis goes down while the desk runs: scoring goes on, the gap is published on return.
        client.close()
        server.kill()
        engine.analyze_batch(["$ACME recalls 2 million cars", "$DUNE wins $3 billion contract"])
        wait_for(lambda: not publisher.status().connected, 10, "the publisher to notice the outage")
        assert publisher.status().lag == 2
        server.start()
        client = server.client()
        assert publisher.wait_caught_up(20), publisher.status()
        assert int(client.hget("signaldesk:running:ACME", "count")) == 4
        assert client.xlen("signaldesk:signals") == 8
    finally:
        engine.close()


def test_cli_without_redis_says_so_and_loses_nothing(data_dir: Path, tmp_path: Path) -> None:
    """Redis absent: local ingest still scores everything; feeding and workers refuse clearly."""
    news = tmp_path / "news.txt"
    news.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    closed = f"redis://127.0.0.1:{free_port()}/0"
    env = child_env(SIGNALDESK_REDIS_CONNECT_TIMEOUT_S="0.5")

    local = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "--redis", closed, "ingest",
                            str(news), "--json"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert local.returncode == 0, local.stderr
    summary = json.loads(local.stdout)
    assert summary["scored"] == 5
    assert summary["redis"]["connected"] is False and summary["redis"]["waiting"] == 5
    assert "unavailable" in summary["redis"]["error"]
    assert "Traceback" not in local.stderr

    fed = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "ingest", str(news), "--redis",
                          closed], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert fed.returncode == 2
    assert "unavailable" in fed.stderr and "nothing was sent" in fed.stderr and "Traceback" not in fed.stderr

    worker = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "worker", "--redis", closed,
                             "--wait", "0"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert worker.returncode == 1
    assert "is redis-server running there?" in worker.stderr and "Traceback" not in worker.stderr

    bad = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "--redis", "localhost:6379",
                          "ingest", str(news)], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "url must start with redis://" in bad.stderr
