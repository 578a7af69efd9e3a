"""`signaldesk worker` processes on a real redis-server, scoring with the shipped sentiment model.

What is checked is what an operator relies on: every fed headline gets exactly one result, none
is lost when a worker is SIGKILLed or Redis itself is killed and restarted, and the J8 running
sentiment counted each result once.
"""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.news.demo import synthetic_headlines
from tests.conftest import REPO_ROOT
from tests.redis.conftest import child_env, consumers, results, wait_for

NEWS, GROUP = "signaldesk:news", "scorers"


def write_headlines(path: Path, n: int, seed: int) -> list[str]:
    lines = list(dict.fromkeys(synthetic_headlines(n * 2, seed=seed)))[:n]
    assert len(lines) == n
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def feed_with_cli(url: str, path: Path, data_dir: Path) -> dict:
    run = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), "ingest", str(path), "--redis", url,
                          "--json"], cwd=REPO_ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def feed_in_process(url: str, path: Path) -> int:
    from engine.redisbus.config import RedisConfig
    from engine.redisbus.feed import feed_file

    report = feed_file(path, RedisConfig(url=url))
    assert report.complete and not report.problems
    return report.sent


def assert_each_line_once(client, lines: list[str]) -> list[dict]:
    found = results(client)
    per_text = collections.Counter(r["payload"]["text"] for r in found)
    per_news_id = collections.Counter(r["news_id"] for r in found)
    assert set(per_text) == set(lines), f"missing: {len(set(lines) - set(per_text))}"
    assert max(per_text.values()) == 1, f"scored twice: {[t for t, c in per_text.items() if c > 1][:3]}"
    assert max(per_news_id.values()) == 1
    assert client.xpending(NEWS, GROUP)["pending"] == 0
    # J8: each asset's running-sentiment count is the number of results naming it (none counted twice).
    mentions = collections.Counter(a for r in found for a in r["payload"]["entities"])
    for asset, count in list(mentions.items())[:25]:
        assert int(client.hget(f"signaldesk:running:{asset}", "count")) == count, asset
        assert client.ttl(f"signaldesk:latest:{asset}") > 0
    assert client.xlen("signaldesk:signals") == len(lines)
    return found


@pytest.mark.slow
def test_two_workers_share_the_stream_and_score_every_item_exactly_once(redis_server, workers, tmp_path: Path) -> None:
    client = redis_server.client()
    lines = write_headlines(tmp_path / "news.txt", 240, seed=11)
    a = workers(redis_server.url, "wa", "--batch", "8")
    b = workers(redis_server.url, "wb", "--batch", "8")
    wait_for(lambda: {"wa", "wb"} <= set(consumers(client)), 60, "both workers to join the group",
             on_timeout=lambda: a.stderr()[-2000:] + b.stderr()[-2000:])

    fed = feed_with_cli(redis_server.url, tmp_path / "news.txt", tmp_path / "feeder")
    assert (fed["items"], fed["sent"], fed["duplicates"], fed["invalid"]) == (240, 240, 0, 0)
    again = feed_with_cli(redis_server.url, tmp_path / "news.txt", tmp_path / "feeder")
    assert (again["sent"], again["duplicates"]) == (0, 240)  # a re-run feeds nothing twice

    wait_for(lambda: client.xlen("signaldesk:results") >= 240, 90, "240 results",
             on_timeout=lambda: a.stderr()[-2000:] + b.stderr()[-2000:])
    stats = [a.terminate(), b.terminate()]
    found = assert_each_line_once(client, lines)
    assert all(s["published"] > 0 for s in stats), stats  # both took a share
    assert sum(s["published"] for s in stats) == 240
    assert sum(s["scored"] for s in stats) == 240  # nobody scored an item twice on the way
    assert {r["worker"] for r in found} == {"wa", "wb"}
    assert all(r["payload"]["model_id"] == "finsent-minilm-l6-news" for r in found)
    print("shares:", {s["consumer"]: s["published"] for s in stats})


@pytest.mark.slow
def test_a_worker_killed_mid_batch_has_its_pending_entries_reclaimed_by_another(redis_server, workers,
                                                                                  tmp_path: Path) -> None:
    client = redis_server.client()
    lines = write_headlines(tmp_path / "news.txt", 300, seed=12)
    victim = workers(redis_server.url, "victim", "--batch", "16")
    wait_for(lambda: "victim" in consumers(client), 60, "the first worker to join", on_timeout=victim.stderr)
    assert feed_in_process(redis_server.url, tmp_path / "news.txt") == 300

    # Freeze it while it holds a batch it has read but not acknowledged, then kill it.
    held: list[str] = []
    deadline = time.monotonic() + 60
    while not held and time.monotonic() < deadline:
        if client.xpending_range(NEWS, GROUP, "-", "+", 1, consumername="victim"):
            victim.proc.send_signal(signal.SIGSTOP)
            time.sleep(0.2)  # let Redis finish whatever the worker had already sent
            held = [p["message_id"].decode() for p in
                    client.xpending_range(NEWS, GROUP, "-", "+", 1000, consumername="victim")]
            if not held:
                victim.proc.send_signal(signal.SIGCONT)
        time.sleep(0.002)
    assert held, "the worker never held a batch; feed more items"
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(10)
    done_before = client.xlen("signaldesk:results")
    assert done_before < 300

    rescuer = workers(redis_server.url, "rescuer", "--batch", "16", "--claim-idle-ms", "1000")
    wait_for(lambda: client.xlen("signaldesk:results") >= 300, 90, "all 300 results",
             on_timeout=lambda: rescuer.stderr()[-3000:])
    stats = rescuer.terminate()
    found = assert_each_line_once(client, lines)
    by_worker = collections.Counter(r["worker"] for r in found)
    assert stats["claimed"] >= len(held), stats  # XAUTOCLAIM took the dead worker's batch over
    rescued = {r["news_id"] for r in found if r["worker"] == "rescuer"}
    assert set(held) <= rescued
    assert by_worker["victim"] == done_before and by_worker["rescuer"] == 300 - done_before
    print(f"killed holding {len(held)} entries after {done_before} results; rescuer claimed {stats['claimed']}")


@pytest.mark.slow
def test_redis_killed_and_restarted_mid_run_loses_no_acknowledged_item(redis_server, workers, tmp_path: Path) -> None:
    client = redis_server.client()
    lines = write_headlines(tmp_path / "news.txt", 200, seed=13)
    worker = workers(redis_server.url, "survivor", "--batch", "8")
    wait_for(lambda: "survivor" in consumers(client), 60, "the worker to join", on_timeout=worker.stderr)
    assert feed_in_process(redis_server.url, tmp_path / "news.txt") == 200  # all 200 acknowledged by Redis
    wait_for(lambda: client.xlen("signaldesk:results") >= 30, 60, "the first results", on_timeout=worker.stderr)

    redis_server.kill()  # SIGKILL: only the append-only file (fsync always) survives
    client.close()
    time.sleep(1.0)  # the worker meets a dead server and backs off
    redis_server.start()
    client = redis_server.client()
    assert client.xlen("signaldesk:results") >= 30  # acknowledged results survived the kill

    wait_for(lambda: client.xlen("signaldesk:results") >= 200, 90, "all 200 results after the restart",
             on_timeout=lambda: worker.stderr()[-3000:])
    stats = worker.terminate()
    assert_each_line_once(client, lines)
    assert stats["connection_errors"] > 0, stats  # it really lived through the outage
    assert stats["published"] + stats["duplicates_skipped"] >= 200
    print("worker after the restart:", stats)
