"""The bridge's operations against a real engine host: callbacks on the UI thread, one place for
errors, progress coalescing, superseded answers dropped, cancel at shutdown."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QThread

from app.bridge.host import NOT_RUNNING, EngineHost
from app.bridge.operations import Latest, Operation, Refused
from engine.config import Config
from tests.ui.conftest import ENGINE_TIMEOUT_MS


@pytest.fixture
def host(qtbot, ui_data_dir):
    engine_host = EngineHost(Config(sentiment_model="lexicon"), ui_data_dir)
    with qtbot.waitSignal(engine_host.ready, timeout=ENGINE_TIMEOUT_MS):
        engine_host.start()
    yield engine_host
    assert engine_host.shutdown()


def _wait(qtbot, seen: list, n: int = 1) -> None:
    qtbot.waitUntil(lambda: len(seen) >= n, timeout=ENGINE_TIMEOUT_MS)


def test_success_runs_the_function_on_its_lane_and_answers_on_the_ui_thread(qtbot, host) -> None:
    ran_on, answered_on, results = [], [], []

    def fn(ctx):
        ran_on.append(threading.current_thread().name)
        return ctx.engine.analyze("$ACME wins a contract", persist=False).label

    Operation(host, "Scoring", fn).on_success(lambda r: (results.append(r), answered_on.append(QThread.currentThread()))) \
        .run()
    _wait(qtbot, results)
    assert ran_on == ["engine"] and results[0] in ("bullish", "bearish", "neutral")
    assert answered_on == [qtbot_thread()]
    calib = []
    Operation(host, "On the calibration lane", lambda ctx: threading.current_thread().name, lane="calibration") \
        .on_success(calib.append).run()
    _wait(qtbot, calib)
    assert calib == ["calibration"]


def qtbot_thread():
    from PySide6.QtWidgets import QApplication

    return QApplication.instance().thread()


def test_refusals_go_to_the_caller_and_bugs_to_the_status_bar(qtbot, host) -> None:
    problems, failures = [], []
    host.problem.connect(problems.append)

    def refuse(_ctx):
        raise Refused("no market data for ZZZ")

    Operation(host, "Proposing", refuse).on_failure(failures.append).run()
    _wait(qtbot, failures)
    assert failures == ["no market data for ZZZ"] and problems == []  # a refusal is an answer, not a bug

    def bug(_ctx):
        raise KeyError("oops")

    Operation(host, "Reading things", bug).on_failure(failures.append).run()
    _wait(qtbot, failures, 2)
    assert failures[1] == "Reading things failed: 'oops'" and problems == [failures[1]]

    Operation(host, "Expected", lambda _ctx: int("x"), expected=(ValueError,)).on_failure(failures.append).run()
    _wait(qtbot, failures, 3)
    assert "invalid literal" in failures[2] and len(problems) == 1


def test_progress_is_coalesced_but_the_last_value_arrives_before_success(qtbot, host) -> None:
    seen, done = [], []

    def fn(ctx):
        for i in range(200):
            ctx.progress(i)  # far faster than 20 a second
        return "done"

    Operation(host, "Counting", fn).on_progress(seen.append).on_success(done.append).run()
    _wait(qtbot, done)
    assert seen[-1] == 199 and len(seen) < 20 and seen == sorted(seen)
    every, done2 = [], []
    Operation(host, "Every row", lambda ctx: [ctx.progress(i, every=True) for i in range(50)]) \
        .on_progress(every.append).on_success(done2.append).run()
    _wait(qtbot, done2)
    assert every == list(range(50))  # partial results are never dropped


def test_only_the_newest_of_a_series_answers(qtbot, host) -> None:
    latest, answers = Latest(), []
    gate = threading.Event()

    def slow(ctx):
        gate.wait(10)
        return "old"

    first = latest.track(Operation(host, "First page", slow).on_success(answers.append).run())
    second = latest.track(Operation(host, "First page", lambda ctx: "new").on_success(answers.append).run())
    assert latest.pending
    gate.set()
    qtbot.waitUntil(lambda: first.done and second.done, timeout=ENGINE_TIMEOUT_MS)
    assert answers == ["new"] and not latest.pending


def test_an_engine_that_is_not_running_is_said_once(qtbot, tmp_path) -> None:
    bad = tmp_path / "a-file"
    bad.write_text("not a folder")
    broken = EngineHost(Config(sentiment_model="lexicon"), bad)
    try:
        with qtbot.waitSignal(broken.failed, timeout=ENGINE_TIMEOUT_MS):
            broken.start()
        problems, failures = [], []
        broken.problem.connect(problems.append)
        for _ in range(3):
            Operation(broken, "Listing ideas", lambda ctx: 1).on_failure(failures.append).run()
        _wait(qtbot, failures, 3)
        assert failures == [NOT_RUNNING] * 3 and problems == [NOT_RUNNING]  # the status bar is not flooded
    finally:
        assert broken.shutdown()


def test_shutdown_cancels_what_is_running(qtbot, host) -> None:
    started, stopped = threading.Event(), []

    def long_job(ctx):
        started.set()
        deadline = time.monotonic() + 30
        while not ctx.cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        stopped.append(ctx.cancelled())

    Operation(host, "A long job", long_job).run()
    assert started.wait(10)
    begun = time.monotonic()
    assert host.shutdown(20_000)
    assert stopped == [True] and time.monotonic() - begun < 10
