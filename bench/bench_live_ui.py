"""UI smoothness of the News panel's Live tab while the real stack streams a steady rate of news.

    python bench/bench_live_ui.py --json                       # 1,000 items/s for 40 s, main window
    python bench/bench_live_ui.py --sentiment lexicon --json   # a model fast enough to score 1,000/s here
    python bench/bench_live_ui.py --rate 1000 --seconds 60 --window panel --json
    python bench/bench_live_ui.py --seconds 20 --profile build/live_ui.prof   # cProfile of the UI thread
    python bench/bench_live_ui.py --explain-stalls --stall-stacks --json    # where long gaps come from

In one process, on a fresh temporary data folder, offscreen (``QT_QPA_PLATFORM=offscreen``
unless set): the real ``MainWindow`` (or the ``LiveNewsPanel`` alone) with its Live tab
showing, a real ``Desk`` (the engine on its lanes, the live pipeline, the live feature's
coalescing drain), and a feeder thread that submits distinct synthetic headlines
(engine/news/demo.py) to the pipeline at a steady ``--rate``, in ticks of ``--tick-ms``, as a
source does (``pipeline.submit``: committed to the inbox = acknowledged, blocking when full).

Phases:

1. warm-up: a few items through the whole path, so models and prototypes are loaded;
2. idle baseline (``--idle-seconds``): the same UI-thread probe with the pipeline idle, the
   machine's own noise (and the desk's own timers) in this very process;
3. load (``--seconds``): the feeder at ``--rate``; then the tail until the queue is empty.

The process is tuned as the desk is (app/gui.py): the interpreter's switch interval, and
``gc.freeze()`` once the engine is up (``--switch-interval``, ``--no-gc-freeze`` to compare).

Figures: the UI-thread probe (a ``--probe-ms`` QTimer: the gaps between its ticks; longest,
p99, p50, and the UI thread's own CPU time per second) in both phases and the load-minus-idle
difference; table updates applied per second (model inserts and resets), viewport paints per
second; items/s scored and accepted; row lag from acknowledgement (``submit`` returned) to the
first viewport paint after the row was put in the model (p50/p95/max; it includes the time in
the pipeline's queue; rows the view never held are not counted); event classes shed; garbage
collector pauses; RSS growth; load average before and after. A separate-process control timer
(bench_pipeline.py's) runs over the load phase: what the scheduler alone costs then.
``targets`` reports (never asserts) the issue's aims: p99 and longest stall within 50 ms of
the idle baseline, rate >= 1,000/s. Compare ratios and differences, not absolutes: the
machine is shared. The bench itself adds a little to the UI thread: the probe's ticks, one
Python call per viewport event (paint counting) and one per model insert (lag).

``--explain-stalls`` splits each gap over 25 ms into the UI thread's CPU time, its wait on the
CPU run queue, and the rest (asleep: mostly waiting for the GIL); ``--stall-stacks`` samples
every thread's Python stack while the probe is overdue; ``--hide-live`` keeps the Live tab
out of sight (what painting it costs); ``--profile`` runs cProfile on the UI thread.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

TARGET_RATE = 1000.0
TARGET_STALL_MS = 50.0


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1) + 0.5))], 2)


class StallProbe:
    """A QTimer in the UI thread; every gap between its ticks is how long the event loop was away.

    With ``explain`` it also splits each long gap (> ``long_ms``) into the UI thread's own CPU
    time (it was busy: painting, layout, our slots), its time waiting on the CPU run queue (the
    OS gave the cores to other threads or processes; from /proc/thread-self/schedstat), and the
    rest (asleep: waiting for the GIL, or the timer simply due later).
    """

    def __init__(self, interval_ms: int, explain: bool = False, long_ms: float = 25.0) -> None:
        self.interval_ms = interval_ms
        self.explain = explain and Path("/proc/thread-self/schedstat").exists()
        self.long_ms = long_ms
        self.gaps: list[float] = []
        self.long_gaps: list[tuple[float, float, float]] = []  # (gap, cpu, run queue) ms
        self._last = 0.0
        self._last_cpu = 0.0
        self._last_runq = 0.0
        self.running = False
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    @staticmethod
    def _run_queue_ms() -> float:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e6

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000.0
        self.gaps.append(gap)
        self._last = now
        if self.explain:
            cpu, runq = time.thread_time() * 1000.0, self._run_queue_ms()
            if gap > self.long_ms:
                self.long_gaps.append((gap, cpu - self._last_cpu, runq - self._last_runq))
            self._last_cpu, self._last_runq = cpu, runq

    @property
    def last(self) -> float:
        return self._last

    def start(self) -> None:
        self.gaps, self.long_gaps = [], []
        self._last = time.perf_counter()
        if self.explain:
            self._last_cpu, self._last_runq = time.thread_time() * 1000.0, self._run_queue_ms()
        self.running = True
        self._timer.start()

    def stop(self) -> dict:
        self.running = False
        self._timer.stop()
        out = {"ticks": len(self.gaps), "longest_ms": round(max(self.gaps), 2) if self.gaps else None,
               "p99_ms": _pct(self.gaps, 0.99), "p95_ms": _pct(self.gaps, 0.95), "p50_ms": _pct(self.gaps, 0.50),
               "over_50ms": sum(g > 50 for g in self.gaps)}
        if self.explain:
            total = sum(g for g, _c, _r in self.long_gaps) or 1.0
            out["long_gaps"] = {
                "count": len(self.long_gaps), "over_ms": self.long_ms,
                "share_ui_cpu": round(sum(c for _g, c, _r in self.long_gaps) / total, 3),
                "share_run_queue": round(sum(r for _g, _c, r in self.long_gaps) / total, 3),
                "worst": [[round(g, 1), round(c, 1), round(r, 1)] for g, c, r in sorted(self.long_gaps)[-5:]],
            }
        return out


class StallSampler:
    """Diagnosis: a thread that, while the UI probe is overdue, samples where every thread is.

    If the main thread shows only the event loop (``exec``), it is in Qt's C++ (painting,
    layout) or waiting for the GIL; the other threads' frames show who was running Python.
    The sampler needs the GIL itself, so its own lateness is reported too (GIL holders, or the OS).
    """

    def __init__(self, probe: StallProbe, threshold_ms: float = 25.0) -> None:
        import collections

        self.probe = probe
        self.threshold_s = threshold_ms / 1000.0
        self.main_id = threading.main_thread().ident
        self.main_at: collections.Counter = collections.Counter()
        self.others_at: collections.Counter = collections.Counter()
        self.late_ms: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    @staticmethod
    def _where(frame, depth: int = 3) -> str:
        parts = []
        while frame is not None and len(parts) < depth:
            parts.append(f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}")
            frame = frame.f_back
        return " < ".join(parts)

    def _run(self) -> None:
        while not self._stop.is_set():
            asked = time.perf_counter()
            time.sleep(0.002)
            now = time.perf_counter()
            self.late_ms.append((now - asked) * 1000.0)
            if self.probe.running and now - self.probe.last > self.threshold_s:
                for ident, frame in sys._current_frames().items():
                    if ident == self.main_id:
                        self.main_at[self._where(frame)] += 1
                    elif ident != threading.get_ident():
                        name = next((t.name for t in threading.enumerate() if t.ident == ident), "?")
                        self.others_at[f"{name}: {self._where(frame, 2)}"] += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"sampler_late_p99_ms": _pct(self.late_ms, 0.99),
                "sampler_late_max_ms": round(max(self.late_ms), 1) if self.late_ms else None,
                "main_thread": self.main_at.most_common(12), "other_threads": self.others_at.most_common(20)}


class GcWatch:
    """Pauses of Python's cyclic garbage collector (any thread): while it runs, every thread waits."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0
        self.active = False

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self.active:
            self.pauses[info["generation"]].append((time.perf_counter() - self._started) * 1000.0)

    def report(self) -> dict:
        return {f"gen{g}": {"count": len(p), "longest_ms": round(max(p), 2) if p else 0.0,
                            "total_ms": round(sum(p), 1)} for g, p in self.pauses.items()}


class TableWatch(QObject):
    """Counts what reaches the table and when: model updates, viewport paints, and per-row lag."""

    def __init__(self, table, acked: dict[str, float]) -> None:
        super().__init__()
        self.table = table
        self.model = table.model()
        self.acked = acked  # headline -> perf_counter when its submit returned (acknowledged)
        self.active = False
        self.updates = 0
        self.rows_inserted = 0
        self.resets = 0
        self.paints = 0
        self.lags_ms: list[float] = []
        self._waiting: list[float] = []  # ack times of rows in the model, not yet painted
        self._seen: set[str] = set()
        self.model.rowsInserted.connect(self._inserted)
        self.model.modelReset.connect(self._reset)
        table.viewport().installEventFilter(self)

    def _note(self, first: int, last: int) -> None:
        for row in range(first, last + 1):
            text = self.model.row_at(row).text
            at = self.acked.get(text)
            if at is not None and text not in self._seen:
                self._seen.add(text)
                self._waiting.append(at)

    def _inserted(self, parent, first: int, last: int) -> None:
        if self.active:
            self.updates += 1
            self.rows_inserted += last - first + 1
            if first == 0:  # streamed at the top; older pages appended at the bottom are not news
                self._note(first, last)

    def _reset(self) -> None:
        if self.active:
            self.updates += 1
            self.resets += 1
            self._note(0, min(self.model.rowCount(), 200) - 1)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Paint:
            if self.active:
                self.paints += 1
            if self._waiting:
                now = time.perf_counter()
                self.lags_ms.extend((now - at) * 1000.0 for at in self._waiting)
                self._waiting.clear()
        return False


def wait_until(app: QApplication, condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def spin(app: QApplication, seconds: float) -> None:
    """Run the real event loop (timers, queued signals, paints) for a while.

    A local QEventLoop, not app.exec()/quit(): Qt 6's quit() also closes the top-level windows.
    """
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000.0, help="items per second fed to the pipeline")
    parser.add_argument("--seconds", type=float, default=40.0, help="length of the load phase")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="length of the idle baseline phase")
    parser.add_argument("--tick-ms", type=float, default=50.0, help="the feeder submits every this often")
    parser.add_argument("--probe-ms", type=int, default=5, help="UI-thread probe timer interval")
    parser.add_argument("--window", choices=("main", "panel"), default="main",
                        help="the whole main window on its Live tab, or the LiveNewsPanel alone")
    parser.add_argument("--shed-backlog", type=int, default=None,
                        help="prototype_shed_backlog for the pipeline (0 = never shed; default: the config's)")
    parser.add_argument("--no-control-probe", action="store_true", help="skip the separate-process control timer")
    parser.add_argument("--profile", type=Path, default=None,
                        help="cProfile the UI thread during the load phase; stats saved here, top lines on stderr")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval in seconds; default: the desk's (app/gui.py UI_SWITCH_INTERVAL_S)")
    parser.add_argument("--hide-live", action="store_true",
                        help="diagnosis: keep another tab in front during the load, so the Live tab does not paint")
    parser.add_argument("--explain-stalls", action="store_true",
                        help="split long UI gaps into UI-thread CPU, CPU run-queue wait and the rest (GIL, sleep)")
    parser.add_argument("--stall-stacks", action="store_true",
                        help="diagnosis: sample every thread's Python stack while the UI probe is overdue")
    parser.add_argument("--no-gc-freeze", action="store_true",
                        help="skip the gc.freeze() the desk does once the engine is ready (app/gui.py)")
    parser.add_argument("--sentiment", default=None,
                        help="sentiment model for this run (e.g. lexicon); default: the config's (auto)")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--json", action="store_true", help="JSON only on stdout")
    args = parser.parse_args(argv)

    from app.gui import UI_SWITCH_INTERVAL_S, freeze_startup_heap

    sys.setswitchinterval(UI_SWITCH_INTERVAL_S if args.switch_interval is None else args.switch_interval)
    if args.sentiment:
        os.environ["SIGNALDESK_SENTIMENT_MODEL"] = args.sentiment
    if args.shed_backlog is not None:
        os.environ["SIGNALDESK_NEWS_PROTOTYPE_SHED_BACKLOG"] = str(args.shed_backlog)
    load_before = [round(x, 2) for x in os.getloadavg()]

    from app.log_bridge import install_log_bridge
    from app.sampler import ProcessMonitor
    from app.bridge.desk import Desk
    from bench.bench_pipeline import ControlProbe
    from engine.config import load_config
    from engine.news import NewsItem
    from engine.news.demo import synthetic_headlines
    from ui.main_window import MainWindow
    from ui.panels.live_news import LiveNewsPanel

    app = QApplication.instance() or QApplication([])
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="signaldesk-bench-ui-"))
    desk = Desk(load_config(data_dir), data_dir)
    monitor = ProcessMonitor(1.0)
    bridge = install_log_bridge()
    if args.window == "main":
        settings = QSettings(str(data_dir / "ui.ini"), QSettings.Format.IniFormat)
        top = MainWindow(desk, monitor, bridge, settings)
        top.resize(1500, 950)
        top.tabs.setCurrentWidget(top.news)
        top.news.views.setCurrentWidget(top.news.live)
        live = top.news.live
    else:
        top = live = LiveNewsPanel(desk.live, desk.explain)
        top.resize(1500, 900)
    top.show()
    desk.start()
    monitor.start()
    wait_until(app, lambda: desk.info is not None, 300, "the engine")
    engine = desk.host.engine  # the bench feeds the pipeline the way a source does
    pipeline = engine.news
    wait_until(app, lambda: pipeline.running, 60, "the pipeline")

    acked: dict[str, float] = {}
    headlines = synthetic_headlines(int(args.rate * args.seconds) + 10_000, seed=7)

    def submit(texts: list[str]) -> int:
        items = [NewsItem(text=t, source="bench-ui", guid=f"ui-{t}") for t in texts]
        result = pipeline.submit(items)
        now = time.perf_counter()
        for t in texts:
            acked[t] = now
        return result.accepted

    # 1. warm-up: models, prototypes and the first paint of the table.
    warm = [next(headlines) for _ in range(64)]
    submit(warm)
    wait_until(app, lambda: pipeline.stats().scored >= 64, 300, "the warm-up items")
    spin(app, 1.0)

    if args.hide_live and args.window == "main":
        top.news.views.setCurrentIndex(0)
    tracked_objects = len(gc.get_objects())
    if not args.no_gc_freeze:
        freeze_startup_heap()  # as the desk does once the engine is ready
    watch = TableWatch(live.table, acked)
    gc_watch = GcWatch()
    gc.callbacks.append(gc_watch)
    probe = StallProbe(args.probe_ms, explain=args.explain_stalls)
    process = psutil.Process()

    # 2. idle baseline, same process, same window, pipeline idle.
    probe.start()
    cpu0, wall0 = time.thread_time(), time.perf_counter()
    spin(app, args.idle_seconds)
    idle = probe.stop()
    idle["ui_thread_cpu_ms_per_s"] = round((time.thread_time() - cpu0) * 1000 / (time.perf_counter() - wall0), 1)

    # 3. load: a steady rate from a feeder thread.
    fed = {"submitted": 0, "accepted": 0, "behind_s": 0.0}

    def feed() -> None:
        tick = args.tick_ms / 1000.0
        started = time.perf_counter()
        while True:
            elapsed = time.perf_counter() - started
            if elapsed >= args.seconds:
                break
            due = int(args.rate * elapsed) - fed["submitted"]  # a blocked submit is made up afterwards
            if due > 0:
                texts = [next(headlines) for _ in range(due)]
                fed["submitted"] += due
                fed["accepted"] += submit(texts)
            next_at = started + (int((time.perf_counter() - started) / tick) + 1) * tick
            time.sleep(max(0.0, next_at - time.perf_counter()))
        fed["behind_s"] = round(max(0.0, (time.perf_counter() - started) - args.seconds), 2)
        fed["feed_s"] = round(time.perf_counter() - started, 2)

    stats0 = pipeline.stats()
    rss0 = process.memory_info().rss
    rss_peak = [rss0]

    def sample_rss() -> None:
        rss_peak[0] = max(rss_peak[0], process.memory_info().rss)

    rss_timer = QTimer()
    rss_timer.setInterval(200)
    rss_timer.timeout.connect(sample_rss)
    rss_timer.start()

    profiler = None
    if args.profile is not None:
        import cProfile

        profiler = cProfile.Profile()  # the main (UI) thread only: threads are not profiled by default
    control = None if args.no_control_probe else ControlProbe()
    if control is not None:
        control.__enter__()
    feeder = threading.Thread(target=feed, name="bench-feeder", daemon=True)
    watch.active = gc_watch.active = True
    probe.start()
    sampler = StallSampler(probe) if args.stall_stacks else None
    if sampler is not None:
        sampler.start()
    if profiler is not None:
        profiler.enable()
    load_started = time.perf_counter()
    cpu0 = time.thread_time()  # the UI thread's own CPU time: robust to the machine's load
    feeder.start()
    while feeder.is_alive():
        spin(app, 0.25)
    feed_elapsed = time.perf_counter() - load_started
    stats1 = pipeline.stats()
    load = probe.stop()
    load["ui_thread_cpu_ms_per_s"] = round((time.thread_time() - cpu0) * 1000 / feed_elapsed, 1)
    stall_stacks = sampler.stop() if sampler is not None else None
    # The tail: the queue empties and the last rows reach the table (not part of the stall figure).
    tail_started = time.perf_counter()
    while True:
        s = pipeline.stats()
        if s.queue_depth == 0 and s.scored - stats0.scored >= fed["accepted"]:
            break
        spin(app, 0.1)
        if time.perf_counter() - tail_started > 300:
            break
    spin(app, 0.5)
    if profiler is not None:
        profiler.disable()
    watch.active = gc_watch.active = False
    gc.callbacks.remove(gc_watch)
    tail_s = time.perf_counter() - tail_started
    total_s = time.perf_counter() - load_started
    rss_timer.stop()
    if control is not None:
        control.__exit__(None, None, None)
    stats2 = pipeline.stats()
    load_after = [round(x, 2) for x in os.getloadavg()]

    scored_during_feed = stats1.scored - stats0.scored
    scored_total = stats2.scored - stats0.scored
    shed = stats2.events_shed - stats0.events_shed
    embedded = stats2.embedded - stats0.embedded
    classified = stats2.classified - stats0.classified
    report = {
        "rate_asked_per_s": args.rate,
        "load_seconds": args.seconds,
        "window": args.window,
        "idle_probe": idle,
        "load_probe": load,
        "stall_excess_over_idle_ms": {
            "longest": round(load["longest_ms"] - idle["longest_ms"], 2),
            "p99": round(load["p99_ms"] - idle["p99_ms"], 2),
        },
        "control_probe": control.result if control is not None else None,
        "table_updates_per_s": round(watch.updates / total_s, 1),
        "table_updates": {"inserts_and_resets": watch.updates, "resets": watch.resets,
                          "rows_inserted": watch.rows_inserted},
        "viewport_paints_per_s": round(watch.paints / total_s, 1),
        "row_lag_ms": {"rows": len(watch.lags_ms), "p50": _pct(watch.lags_ms, 0.5),
                       "p95": _pct(watch.lags_ms, 0.95),
                       "max": round(max(watch.lags_ms), 1) if watch.lags_ms else None},
        "accepted_per_s": round(fed["accepted"] / feed_elapsed, 1),
        "scored_per_s_during_feed": round(scored_during_feed / feed_elapsed, 1),
        "scored_per_s_overall": round(scored_total / total_s, 1),
        "tail_s": round(tail_s, 2),
        "feeder": fed,
        "events_shed_share": round(shed / max(1, scored_total), 3),
        "embedded_share": round(embedded / max(1, classified), 3),
        "peak_queue_depth": stats2.peak_queue_depth,
        "gc_pauses_during_load": gc_watch.report(),
        "gc_tracked_objects_at_start": tracked_objects,
        "gc_frozen": not args.no_gc_freeze,
        **({"stall_stacks": stall_stacks} if stall_stacks is not None else {}),
        "dropped": stats2.dropped,
        "failed": stats2.failed,
        "rss_growth_mb": round((rss_peak[0] - rss0) / 2**20, 1),
        "rss_mb": round(rss_peak[0] / 2**20, 1),
        "shown_rows": live.model.rowCount(),
        "sentiment_model": desk.info.sentiment.model_id if desk.info else None,
        "config": {"switch_interval_s": sys.getswitchinterval(),
                   "prototype_shed_backlog": pipeline.config.prototype_shed_backlog,
                   "batch_size": pipeline.config.batch_size, "queue_capacity": pipeline.config.queue_capacity,
                   "tick_ms": args.tick_ms, "probe_ms": args.probe_ms, "cpu_count": os.cpu_count()},
        "load_average_before": load_before,
        "load_average_after": load_after,
        "targets": {
            "p99_within_50ms_of_idle": load["p99_ms"] - idle["p99_ms"] < TARGET_STALL_MS,
            "longest_within_50ms_of_idle": load["longest_ms"] - idle["longest_ms"] < TARGET_STALL_MS,
            # The feeder offers exactly --rate, so "kept up" is scoring (nearly) all of it while fed.
            "kept_up_with_1000_per_s": (args.rate >= TARGET_RATE
                                        and scored_during_feed / feed_elapsed >= 0.98 * args.rate),
            "updates_le_20_per_s_ish": watch.updates / total_s <= 25,
        },
    }
    if profiler is not None:
        import io
        import pstats

        args.profile.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(str(args.profile))
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue(), file=sys.stderr)
    if args.window == "main":
        top._shut_down = True  # closing below must not write a settings file the bench does not keep
    monitor.stop()
    desk.shutdown()
    top.close()
    import logging

    logging.getLogger().removeHandler(bridge.handler)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
