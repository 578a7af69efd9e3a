"""The desk's GUI with Redis configured: worker results appear in the Live table like local
signals, the desk's own signals are published, and the status bar says when Redis goes away.

Real parts throughout: a real redis-server on loopback, the real engine on its QThread behind
the main window, and a real StreamWorker (its own engine, the shipped sentiment model).
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from app.bridge.desk import Desk  # noqa: E402
from engine.config import Config  # noqa: E402
from engine.engine import Engine  # noqa: E402
from engine.redisbus.config import RedisConfig  # noqa: E402
from engine.redisbus.worker import StreamWorker  # noqa: E402
from tests.redis.conftest import TEST_DESK_KEY  # noqa: E402
from tests.redis.test_subscriber import feed  # noqa: E402
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, spy, start_window  # noqa: E402
from ui.models.news_table import COL_TEXT  # noqa: E402

HEADLINES = [f"$ACME Acme Corp shares jump after contract win number {i}" for i in range(1, 6)]


@pytest.fixture
def desk(qtbot, tmp_path: Path, redis_server, monkeypatch):
    from PySide6.QtCore import QSettings

    from app.log_bridge import install_log_bridge
    from app.sampler import ProcessMonitor

    # What `signaldesk --redis URL` does: the engine thread reads it from the environment.
    monkeypatch.setenv("SIGNALDESK_REDIS_URL", redis_server.url)
    monkeypatch.setenv("SIGNALDESK_REDIS_MAX_BACKOFF_S", "1")
    monkeypatch.setenv("SIGNALDESK_REDIS_BLOCK_MS", "200")
    monkeypatch.setenv("SIGNALDESK_REDIS_HMAC_KEY", TEST_DESK_KEY)  # the workers' key, as on other machines
    data = tmp_path / "desk"
    data.mkdir()
    the_desk = Desk(Config(), data)
    monitor = ProcessMonitor(interval_s=0.5)
    bridge = install_log_bridge()
    window = start_window(qtbot, the_desk, monitor, bridge,
                          QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    yield window, the_desk
    monitor.stop()
    assert the_desk.shutdown(), "engine thread did not stop"
    import logging

    logging.getLogger().removeHandler(bridge.handler)


def live_texts(window) -> list[str]:
    model = window.news.live.model
    return [model.index(r, COL_TEXT).data() for r in range(model.rowCount())]


def test_worker_results_show_in_the_live_table_and_the_status_bar_tracks_redis(qtbot, desk, redis_server,
                                                                                tmp_path: Path) -> None:
    window, the_desk = desk
    window.tabs.setCurrentWidget(window.news)
    window.news.views.setCurrentWidget(window.news.live)
    qtbot.waitUntil(lambda: window.redis_status.isVisible() and window.redis_status.text() == "Redis ●",
                    timeout=ENGINE_TIMEOUT_MS)

    # A worker elsewhere scores headlines fed to the shared stream; the desk subscribes to its results.
    config = RedisConfig(url=redis_server.url, hmac_key=TEST_DESK_KEY, batch_size=16, block_ms=200)
    assert feed(config, HEADLINES) == len(HEADLINES)
    scorer = Engine(Config(intra_op_threads=1), tmp_path / "worker", publish_to_redis=False)
    try:
        worker = StreamWorker(scorer, config, "gui-test-worker")
        stats = worker.run(max_batches=1).to_dict()
        worker.client.close()
    finally:
        scorer.close()
    assert stats["published"] == len(HEADLINES)

    arrived: list = []
    the_desk.live.arrivals.connect(lambda arrivals: arrived.extend(arrivals.rows))
    qtbot.waitUntil(lambda: set(HEADLINES) <= set(live_texts(window)), timeout=ENGINE_TIMEOUT_MS)
    remote = [r for r in arrived if r.text in HEADLINES]
    assert remote and all(r.source.startswith("redis:") for r in remote)
    assert all(r.label in ("bullish", "bearish", "neutral") for r in remote)

    # The desk's own pasted signal goes the other way: published with the J8 keys.
    window.news.paste_box.setPlainText("$ZEPH Zephyr Labs raises full-year guidance")
    window.news.submit()
    qtbot.waitUntil(lambda: window.news.analyze_button.isEnabled(), timeout=ENGINE_TIMEOUT_MS)
    redis_client = redis_server.client()
    qtbot.waitUntil(lambda: redis_client.exists("signaldesk:latest:ZEPH") == 1, timeout=30_000)
    qtbot.waitUntil(lambda: "published" in window.redis_status.toolTip(), timeout=30_000)
    save_screenshot(window, "redis_the_deskconnected")

    # Redis goes away: the status bar says so; the desk keeps scoring on SQLite.
    redis_server.kill()
    qtbot.waitUntil(lambda: window.redis_status.text() == "Redis ○ offline", timeout=60_000)
    assert "keeps working on SQLite" in window.redis_status.toolTip() or "not connected" in window.redis_status.toolTip()
    done = spy(window.news, "_on_analysis_done")
    window.news.paste_box.setPlainText("$ZEPH Zephyr Labs shares fall after recall")
    window.news.submit()
    qtbot.waitUntil(lambda: bool(done), timeout=ENGINE_TIMEOUT_MS)
    assert done[0].scored == 1 and not done[0].error
    save_screenshot(window, "redis_the_deskoffline")
