"""Monitor panel against a real engine thread and the engine's own sampler: live charts,
latency after scoring, queue depth, pause and zoom, history that survives a restart, CSV and
PNG export, and memory actions carried out on the engine lane."""

from __future__ import annotations

import csv
import time

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from app.bridge.desk import Desk
from engine.config import Config
from engine.monitoring import MetricsHistory, MetricsSample, UnloadIdleModels
from engine.store import DB_FILE_NAME, Store
from tests.ui.conftest import ENGINE_TIMEOUT_MS, save_screenshot, spy, start_window

FAST = 0.1  # seconds between samples: enough samples for a test in a second or two


@pytest.fixture
def fast_window(qtbot, ui_data_dir, monitor, log_bridge, settings):
    desk = Desk(Config(monitor_interval_s=FAST), ui_data_dir)
    try:
        window = start_window(qtbot, desk, monitor, log_bridge, settings)
        window.tabs.setCurrentWidget(window.monitor_panel)
        yield window
    finally:
        assert desk.shutdown()


def _xy(curve) -> tuple[np.ndarray, np.ndarray]:
    x, y = curve.getData()
    return (np.zeros(0), np.zeros(0)) if x is None else (x, y)


def _wheel(widget, steps: int = 3) -> None:
    """Mouse-wheel zoom at the centre of a chart, as a user does it."""
    view = widget.viewport()
    centre = QPointF(view.width() / 2, view.height() / 2)
    for _ in range(steps):
        event = QWheelEvent(centre, view.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
                            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                            False)
        QApplication.sendEvent(view, event)


def test_charts_grow_with_samples_show_latency_queue_pause_and_zoom(fast_window, qtbot):
    window = fast_window
    panel = window.monitor_panel
    charts = panel.charts
    qtbot.waitUntil(lambda: len(_xy(charts.rss_curve)[0]) >= 3, timeout=ENGINE_TIMEOUT_MS)
    first = len(_xy(charts.rss_curve)[0])
    qtbot.waitUntil(lambda: len(_xy(charts.rss_curve)[0]) >= first + 5, timeout=ENGINE_TIMEOUT_MS)
    x, rss = _xy(charts.rss_curve)
    assert x[-1] == 0 and x[0] < 0 and (rss > 10).all()  # seconds ago; tens of MB at least
    assert len(_xy(charts.cpu_curve)[0]) == len(x) and len(_xy(charts.queue_curve)[0]) == len(x)
    assert panel.rss_value.text().endswith("MB") and panel.budget_value.text().endswith("%")
    # The budget sits on the startup baseline: the process's size before any model loaded.
    baseline = panel._info.policy.baseline_mb
    assert 10 < baseline < rss.max() and charts.baseline_line.isVisible() and charts.baseline_line.value() == baseline
    assert panel.baseline_value.text() == f"{baseline:,.0f} MB"
    assert charts.budget_line.isVisible()
    assert charts.budget_line.value() == pytest.approx(baseline + window._desk.config.model_memory_limit_mb)
    assert charts.rss_plot.getPlotItem().getViewBox().viewRange()[1][1] >= charts.budget_line.value()
    assert charts.latency_empty.isVisible() and not charts.latency_curves  # nothing scored yet

    # Scoring a large paste: the queue fills and drains, latency per model and throughput appear.
    news = window.news
    news.paste_box.setPlainText("\n".join(f"Bank {i} beats estimates" for i in range(5000)))
    news.submit()
    qtbot.waitUntil(lambda: panel.samples[-1].queue_depth > 0, timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not news.progress.isVisible(), timeout=ENGINE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: panel.samples[-1].queue_depth == 0, timeout=ENGINE_TIMEOUT_MS)
    status = window._desk.info.sentiment
    key = f"{status.model_id}@{status.version}"
    qtbot.waitUntil(lambda: key in charts.latency_curves and len(_xy(charts.latency_curves[key][1])[0]) > 0,
                    timeout=ENGINE_TIMEOUT_MS)
    p50, p95 = (_xy(c)[1] for c in charts.latency_curves[key])
    assert len(p50) == len(p95) and (p50 > 0).all() and (p95 >= p50).all()
    assert not charts.latency_empty.isVisible()
    assert _xy(charts.queue_curve)[1].max() > 0 and _xy(charts.throughput_curve)[1].max() > 0
    # The legend (top left) sits above the highest p95 point: it no longer covers the line.
    view = charts.latency_plot.getPlotItem().getViewBox()

    def legend_clear_of_p95() -> bool:  # scene y grows downwards
        legend_bottom = charts.latency_legend.mapRectToScene(charts.latency_legend.boundingRect()).bottom()
        highest = view.mapViewToScene(pg.Point(0, float(np.nanmax(_xy(charts.latency_curves[key][1])[1])))).y()
        return legend_bottom < highest

    qtbot.waitUntil(legend_clear_of_p95, timeout=10_000)  # from the next redraw (1 s) on
    save_screenshot(window, "monitor_panel_live")

    # Pause: samples keep arriving, the charts stay as they were; Resume catches up.
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Resume" and "paused" in panel.state_label.text()
    frozen = _xy(charts.rss_curve)[0].copy()
    count = len(panel.samples)
    qtbot.waitUntil(lambda: len(panel.samples) >= count + 3, timeout=ENGINE_TIMEOUT_MS)
    assert np.array_equal(_xy(charts.rss_curve)[0], frozen)
    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.pause_button.text() == "Pause"
    # Redrawn with the samples that arrived meanwhile (on a loaded machine the 1-minute window may
    # already be full, so the count of points need not grow: the points themselves move).
    assert not np.array_equal(_xy(charts.rss_curve)[0], frozen)

    # Zoom with the mouse wheel: every chart follows in time, and stops following new samples.
    before = charts.cpu_plot.getPlotItem().getViewBox().viewRange()[0]
    _wheel(charts.rss_plot)
    assert panel.reset_zoom_button.isEnabled() and "zoomed" in panel.state_label.text()
    zoomed = charts.rss_plot.getPlotItem().getViewBox().viewRange()[0]
    assert zoomed[1] - zoomed[0] < (before[1] - before[0]) * 0.9
    for widget in charts.plots:
        assert np.allclose(widget.getPlotItem().getViewBox().viewRange()[0], zoomed)
    count = len(panel.samples)
    qtbot.waitUntil(lambda: len(panel.samples) >= count + 2, timeout=ENGINE_TIMEOUT_MS)
    assert np.allclose(charts.cpu_plot.getPlotItem().getViewBox().viewRange()[0], zoomed)
    qtbot.mouseClick(panel.reset_zoom_button, Qt.MouseButton.LeftButton)
    assert not panel.reset_zoom_button.isEnabled()
    lo, hi = charts.cpu_plot.getPlotItem().getViewBox().viewRange()[0]
    assert hi >= 0 > lo and hi - lo > zoomed[1] - zoomed[0]

    # Longer windows read in minutes.
    panel.window_combo.setCurrentText("15 min")
    assert charts.rss_plot.getPlotItem().getAxis("bottom").labelText == "minutes ago"
    x15 = _xy(charts.rss_curve)[0]
    assert x15[-1] == 0 and x15[0] > -15


def _synthetic(at: float, rss: float) -> MetricsSample:
    return MetricsSample(at=at, rss_mb=rss, cpu_percent=5.0, threads=4, queue_depth=0, throughput_per_s=0.0,
                         memory_limit_mb=2048.0)


def test_history_survives_a_restart_and_exports(qtbot, ui_data_dir, monitor, log_bridge, settings, tmp_path,
                                                monkeypatch):
    desk = Desk(Config(monitor_interval_s=FAST), ui_data_dir)
    try:
        window = start_window(qtbot, desk, monitor, log_bridge, settings)
        window.tabs.setCurrentWidget(window.monitor_panel)
        qtbot.waitUntil(lambda: len(window.monitor_panel.samples) >= 10, timeout=ENGINE_TIMEOUT_MS)
        first_session = [s.at for s in window.monitor_panel.samples]
        window.close()
    finally:
        assert desk.shutdown()

    # Ten minutes earlier, a session the panel never saw: written straight into the history table.
    store = Store(ui_data_dir / DB_FILE_NAME)
    try:
        old = time.time() - 600
        history = MetricsHistory(store)
        for i in range(5):
            history.append(_synthetic(old + i, 777.0))
    finally:
        store.close()

    desk2 = Desk(Config(monitor_interval_s=0.5), ui_data_dir)
    try:
        window2 = start_window(qtbot, desk2, monitor, log_bridge, settings)
        assert window2.tabs.currentWidget() is window2.monitor_panel  # the tab is remembered too
        panel = window2.monitor_panel
        qtbot.waitUntil(lambda: panel._history_loaded, timeout=ENGINE_TIMEOUT_MS)  # asked for at the monitor's start
        stored = panel._series[("rss_mb", "")].at
        assert {round(at, 3) for at in first_session} <= {round(at, 3) for at in stored}
        qtbot.waitUntil(lambda: len(panel.samples) >= 1, timeout=ENGINE_TIMEOUT_MS)
        # One minute: the first session's samples are drawn before the first live one.
        x, _ = _xy(panel.charts.rss_curve)
        assert len(x) >= len(first_session) + len(panel.samples)
        # Fifteen minutes: the older session too, with no line drawn across the ten-minute gap.
        panel.window_combo.setCurrentText("15 min")
        x, rss = _xy(panel.charts.rss_curve)
        assert (rss == 777.0).sum() == 5 and np.nanmin(x) < -9.5
        # One break (a NaN point) right after the older session: no line across the gap.
        assert np.isnan(rss[5]) and np.isnan(x[5]) and np.isfinite(rss[:5]).all() and np.isfinite(rss[6:]).all()
        save_screenshot(window2, "monitor_panel_after_restart")

        csv_path = tmp_path / "metrics.csv"
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(csv_path), "")))
        exported = spy(panel, "_on_exported")
        qtbot.mouseClick(panel.export_csv_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(exported), timeout=ENGINE_TIMEOUT_MS)
        written = exported[0][1]
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == ["at", "resolution_s", "metric", "key", "value"]
        assert len(rows) - 1 == written > 0
        metrics = {r[2] for r in rows[1:]}
        assert {"rss_mb", "cpu_percent", "queue_depth", "throughput_per_s"} <= metrics
        assert any(float(r[4]) == 777.0 for r in rows[1:] if r[2] == "rss_mb")  # the 15-min window's data
        assert f"{written:,}" in panel.banner.text()

        png_path = tmp_path / "charts"  # no suffix: the panel adds .png
        monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(png_path), "")))
        qtbot.mouseClick(panel.export_png_button, Qt.MouseButton.LeftButton)
        image = QImage(str(png_path.with_suffix(".png")))
        assert not image.isNull() and image.width() >= 300 and image.height() >= 200
        assert "Saved the charts" in panel.banner.text()
        window2.close()
    finally:
        desk2.shutdown()


def test_memory_over_budget_unloads_idle_models_and_says_so(qtbot, ui_data_dir, monitor, log_bridge, settings):
    # The budget is charged with growth above the startup baseline: after startup the process
    # grows 256 MB, far over a 64 MB budget; any loaded model counts as idle.
    config = Config(monitor_interval_s=FAST, model_memory_limit_mb=64, model_idle_unload_s=0.0)
    desk = Desk(config, ui_data_dir)
    actions, events = [], []
    desk.monitor.memoryAction.connect(actions.append)
    desk.monitor.memoryEvent.connect(events.append)
    unloaded = []
    desk.models.event.connect(lambda e: unloaded.append(e.model_id) if e.kind == "unloaded" else None)
    try:
        window = start_window(qtbot, desk, monitor, log_bridge, settings)
        window.tabs.setCurrentWidget(window.monitor_panel)
        panel = window.monitor_panel
        assert not actions  # the lexicon alone stays within 64 MB of the baseline
        # The baseline is taken again just before the growth: memory the allocator hands back
        # between startup and here (earlier tests' objects freed late) would hide part of it.
        desk.host.engine.monitor.measure_baseline()
        # One C-level fill under the GIL: the sampler thread sees all of it or none, never a half.
        ballast = b"\x01" * (256 * 1024 * 1024)
        qtbot.waitUntil(lambda: len(actions) >= 2, timeout=ENGINE_TIMEOUT_MS)
        status = desk.info.sentiment
        names = [type(e).__name__ for e in events]
        first_unload = names.index("UnloadIdleModels")
        assert names[first_unload - 1:first_unload + 2] == ["MemoryWarning", "UnloadIdleModels",
                                                              "SwitchToLighterModel"]
        assert "startup baseline" in events[first_unload - 1].message  # the growth is what is charged
        assert isinstance(actions[0].event, UnloadIdleModels)
        unload, switch = actions[0], actions[1]
        assert unload.ok and status.model_id in unload.models and status.model_id in unloaded
        assert "Unloaded 1 idle model" in unload.message
        # The lexicon is the lightest sentiment model there is: nothing to switch to, and it says so.
        assert not switch.ok and switch.action == "switch" and "No lighter sentiment model" in switch.message
        texts = [panel.events.item(i).text() for i in range(panel.events.count())]
        assert any("budget" in t and "⚠" in t for t in texts)
        assert any("Unloaded 1 idle model" in t for t in texts) and any("No lighter" in t for t in texts)
        assert panel.events.isVisible() and panel.banner.isVisible()
        assert "Memory" in window.statusBar().currentMessage()
        qtbot.waitUntil(lambda: len(panel.samples) >= 10, timeout=ENGINE_TIMEOUT_MS)  # a line, not a dot
        save_screenshot(window, "monitor_panel_memory_events")

        # The unloaded model comes back on the next use: scoring still works.
        news = window.news
        news.paste_box.setPlainText("Oil prices rise on supply worries")
        news.submit()
        qtbot.waitUntil(lambda: news.proxy.rowCount() == 1, timeout=ENGINE_TIMEOUT_MS)
        window.close()
        del ballast
    finally:
        assert desk.shutdown()
