"""Redis results are untrusted input (issue 22 item 1): signed by workers, verified and validated by
the desk; passwords, ACL users and TLS; news entries with hostile fields are dead-lettered.

Real parts: redis-server on loopback (with TLS and an ACL user where it says so, certificates
made in the test), real engines scoring with the shipped models, the real CLI in subprocesses.
Forged entries are written with the plain redis client, as an attacker with write access would.
The wire format of a signature is spelled out here on purpose (HMAC-SHA256 over
``signaldesk-result-v1\\n<news id>\\n<payload>``), so a change to it breaks this test first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.config import Config, ConfigError
from engine.engine import Engine
from engine.redisbus.config import RedisConfig, load_redis_config
from engine.redisbus.subscriber import ResultsSubscriber
from engine.redisbus.worker import StreamWorker
from engine.store import DB_FILE_NAME, Store
from tests.conftest import REPO_ROOT, db_with_demo_prices
from tests.redis.conftest import TEST_DESK_KEY, RedisServer, child_env, make_tls_files, wait_for
from tests.redis.test_subscriber import feed

PASSWORD = "pw-Zq81-never-in-a-log"
OTHER_KEY = "77" * 32


def _sign(key_hex: str, news_id: str, body: str) -> tuple[str, str]:
    key = bytes.fromhex(key_hex)
    sig = hmac.new(key, b"\n".join((b"signaldesk-result-v1", news_id.encode(), body.encode())), hashlib.sha256)
    kid = hashlib.sha256(b"signaldesk-key-id\n" + key).hexdigest()[:12]
    return sig.hexdigest(), kid


def _payload(news_id: str, symbol: str = "ZEPH", p_bullish: float = 0.99, **changes) -> dict:
    rest = (1 - p_bullish) / 2
    now = time.time()
    payload = {
        "uid": f"signaldesk:news:{news_id}", "news_id": news_id, "news_stream": "signaldesk:news",
        "worker": "forger", "origin": "", "signal_id": None, "text": f"${symbol} soars on takeover talk",
        "source": "wire", "source_kind": "news", "entities": [symbol], "label": "bullish",
        "probabilities": {"bearish": rest, "bullish": p_bullish, "neutral": rest}, "confidence": p_bullish,
        "compound": p_bullish - rest, "model_id": "finsent-minilm-l6", "model_version": "forged",
        "latency_ms": 1.0, "truncated": False, "received_at": now, "event_time": now,
        "event": {"category": "corporate", "subcategory": "m&a", "urgency": "high", "impact": "high",
                  "method": "rules", "confidence": 0.9},
        "published_at": now,
    }
    payload.update(changes)
    return payload


def _forge(client, news_id: str, payload: dict, key_hex: str | None) -> None:
    body = json.dumps(payload)
    fields = {"news_id": news_id, "worker": "forger", "payload": body}
    if key_hex:
        fields["sig"], fields["kid"] = _sign(key_hex, news_id, body)
    client.xadd("signaldesk:results", fields)


def _cli(data_dir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], cwd=REPO_ROOT,
                          env=env or child_env(), capture_output=True, text=True, timeout=300)


@pytest.fixture
def scorer(tmp_path: Path):
    engine = Engine(Config(intra_op_threads=1, sentiment_model="lexicon"), tmp_path / "worker", publish_to_redis=False)
    yield engine
    engine.close()


@pytest.mark.slow
def test_forged_results_are_dead_lettered_and_never_become_trade_ideas(redis_server, scorer, tmp_path: Path,
                                                                        monkeypatch) -> None:
    desk = tmp_path / "desk"
    db_with_demo_prices(desk)
    monkeypatch.setenv("SIGNALDESK_REDIS_HMAC_KEY", TEST_DESK_KEY)  # the desk's settings name the key
    config = load_redis_config(desk, url=redis_server.url)
    client = redis_server.client()

    # One genuine result: fed, scored and signed by a real worker holding the desk key.
    worker_config = load_redis_config(tmp_path / "worker", url=redis_server.url, batch_size=8, block_ms=200)
    assert feed(worker_config, ["$ACME Acme Corp raises guidance after record quarter"]) == 1
    worker = StreamWorker(scorer, worker_config, "honest")
    assert worker.run(max_batches=1).published == 1
    worker.client.close()

    # Forged ones, as anyone who can write to the results stream could add them.
    _forge(client, "1-1", _payload("1-1"), None)  # a bullish 0.99 on ZEPH, unsigned
    _forge(client, "1-2", _payload("1-2"), OTHER_KEY)  # signed, but not with the desk key
    _forge(client, "1-3", _payload("1-3", confidence=7.5), TEST_DESK_KEY)  # a key holder's bad field
    _forge(client, "1-4", _payload("1-4", label="moon"), TEST_DESK_KEY)
    _forge(client, "1-5", _payload("1-5", entities=[f"T{i}" for i in range(50_000)]), TEST_DESK_KEY)
    _forge(client, "1-6", _payload("1-6", received_at=float("nan")), TEST_DESK_KEY)
    genuine = client.xrange("signaldesk:results", count=1)[0]
    body = genuine[1][b"payload"].decode().replace("Acme Corp raises", "Acme Corp slashes")
    client.xadd("signaldesk:results", {**genuine[1], b"news_id": b"1-7", b"payload": body.encode()})  # tampered

    store = Store(desk / DB_FILE_NAME)
    sub = ResultsSubscriber(store, config=config)
    stored = sub.poll_once()
    sub.stop()
    texts = [i.signal.text for i in stored]
    store.close()
    assert texts == ["$ACME Acme Corp raises guidance after record quarter"]
    letters = {f[b"result_id"].decode() if b"result_id" in f else "": f[b"reason"].decode()
               for _id, f in client.xrange("signaldesk:deadletter")}
    assert len(letters) == 7, letters
    reasons = " | ".join(sorted(letters.values()))
    for expected in ("unsigned", "signed with key", "confidence 7.5", "label 'moon'", "bytes (at most",
                     "not finite", "bad signature"):
        assert expected in reasons, reasons

    proposed = _cli(desk, "ideas", "propose")
    assert proposed.returncode == 0, proposed.stderr
    assert "ZEPH" not in proposed.stdout and "Traceback" not in proposed.stderr
    ideas = json.loads(_cli(desk, "ideas", "list", "--json").stdout)
    assert {i["symbol"] for i in ideas} <= {"ACME"}


def test_worker_dead_letters_hostile_news_fields_and_scores_the_rest(redis_server, scorer) -> None:
    config = RedisConfig(url=redis_server.url, hmac_key=TEST_DESK_KEY, batch_size=16, block_ms=200)
    client = redis_server.client()
    feed(config, ["$ACME good headline one", "$DUNE good headline two"])
    many = ",".join(f"T{i}" for i in range(50_000))[:4000].rsplit(",", 1)[0]  # under the 4 KB field cap
    client.xadd(config.news_key, {"text": "$ACME hundreds of tickers", "tickers": many})
    client.xadd(config.news_key, {"text": "$ACME tickers", "tickers": "ACME,<script>"})
    client.xadd(config.news_key, {"text": "x" * (2 << 20)})  # a 2 MB field
    client.xadd(config.news_key, {"text": "$ACME nan time", "published_at": "nan"})
    client.xadd(config.news_key, {"text": "$ACME epoch ms", "published_at": str(1.7e15)})
    client.xadd(config.news_key, {"text": "$ACME deep", "tickers": "[" * 3000})
    client.xadd(config.news_key, {"text": "\x00\x00\x00"})
    worker = StreamWorker(scorer, config, "careful")
    stats = worker.run(max_batches=1).to_dict()
    worker.client.close()
    assert stats["published"] == 2 and stats["dead_lettered"] == 7, stats
    reasons = sorted(f[b"reason"].decode() for _id, f in client.xrange(config.dead_letter_key))
    joined = " | ".join(reasons)
    for expected in ("tickers (at most 32", "is not a symbol", "bytes (at most", "not finite", "out of range",
                     "not a JSON list", "blank text"):
        assert expected in joined, joined
    assert client.xpending(config.news_key, config.group)["pending"] == 0


def test_a_worker_without_the_desk_key_refuses_to_start_and_says_where_to_get_it(tmp_path: Path) -> None:
    env = child_env()
    env.pop("SIGNALDESK_REDIS_HMAC_KEY")
    done = _cli(tmp_path / "w", "worker", "--redis", "redis://127.0.0.1:1/0", "--wait", "0", env=env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no desk key" in lines[0] and "SIGNALDESK_REDIS_HMAC_KEY" in lines[0], done.stderr


def test_the_desk_key_is_made_once_with_mode_0600_and_a_readable_key_file_is_refused(tmp_path: Path) -> None:
    from engine.redisbus.signing import KeyProblem, desk_key, key_file

    first = desk_key("", tmp_path, create=True)
    assert len(first) == 32 and desk_key("", tmp_path, create=True) == first
    assert stat.S_IMODE(key_file(tmp_path).stat().st_mode) == 0o600
    os.chmod(key_file(tmp_path), 0o644)
    with pytest.raises(KeyProblem, match="chmod 600"):
        desk_key("", tmp_path, create=False)
    with pytest.raises(ConfigError, match="at least 32 hex"):
        desk_key("abcd", None, create=False)
    assert "pw" not in repr(RedisConfig(url="redis://h:1/0", password="pw", hmac_key=TEST_DESK_KEY))
    assert RedisConfig(url="redis://:pw@h:1/0", password="pw").to_dict()["password"] == "***"


@pytest.mark.slow
def test_tls_acl_user_and_password_from_the_environment_end_to_end_with_no_password_in_any_log(
        redis_factory, workers, scorer, tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    server = redis_factory(name="tls-redis")
    server.tls, server.users, server.requirepass = tls, {"desk": PASSWORD}, "default-" + PASSWORD
    server.start()
    env = child_env(SIGNALDESK_REDIS_USERNAME="desk", SIGNALDESK_REDIS_PASSWORD=PASSWORD,
                    SIGNALDESK_REDIS_TLS_CA_FILE=str(tls.ca))
    worker = workers(server.url, "tlsw", "--batch", "8", env=env)
    news = tmp_path / "news.txt"
    news.write_text("\n".join(f"$ACME Acme wins contract number {i}" for i in range(12)) + "\n", encoding="utf-8")
    # The feeder gives user and password in the URL, as an operator may: redacted wherever it shows.
    url_with_password = server.url.replace("rediss://", f"rediss://desk:{PASSWORD}@")
    fed = _cli(tmp_path / "feeder", "ingest", str(news), "--redis", url_with_password, "--json",
               env=child_env(SIGNALDESK_REDIS_TLS_CA_FILE=str(tls.ca)))
    assert fed.returncode == 0, fed.stderr
    assert json.loads(fed.stdout)["sent"] == 12

    config = RedisConfig(url=server.url, username="desk", password=PASSWORD, tls_ca_file=str(tls.ca),
                         hmac_key=TEST_DESK_KEY, block_ms=200)
    store = Store(tmp_path / "desk" / DB_FILE_NAME)
    sub = ResultsSubscriber(store, config=config)
    got: list = []
    wait_for(lambda: got.extend(sub.poll_once()) or len(got) >= 12, 120, "12 verified results over TLS",
             on_timeout=lambda: worker.stderr()[-2000:])
    sub.stop()
    store.close()
    stats = worker.terminate()
    assert stats["published"] == 12

    # Certificates are checked: without the CA the same URL is refused, and so is a wrong password.
    refused = _cli(tmp_path / "w2", "worker", "--redis", server.url, "--wait", "1",
                   env=child_env(SIGNALDESK_REDIS_USERNAME="desk", SIGNALDESK_REDIS_PASSWORD=PASSWORD))
    assert refused.returncode == 1 and "certificate verify failed" in refused.stderr, refused.stderr
    wrong = _cli(tmp_path / "w3", "worker", "--redis", server.url.replace("rediss://", "rediss://desk:nope@"),
                 "--wait", "1", env=child_env(SIGNALDESK_REDIS_TLS_CA_FILE=str(tls.ca)))
    assert wrong.returncode == 1 and "rediss://desk:***@" in wrong.stderr, wrong.stderr

    everything = [fed.stdout, fed.stderr, refused.stderr, wrong.stderr, worker.stderr(), json.dumps(stats)]
    everything += [p.read_text(errors="replace") for p in tmp_path.rglob("*.log") if "redis" not in p.parts[-2]]
    assert len(everything) > 6  # the log files were found
    assert not [text for text in everything if PASSWORD in text]
