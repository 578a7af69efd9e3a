"""Monitor panel: live latency per model, memory against the budget, CPU, throughput, queue depth.

Samples come from the engine's own sampler thread (``EngineClient.sampled``), so the charts
keep moving while the engine thread is busy scoring. The sampler also writes every sample to
SQLite; on start the panel asks for the last hour (``request_metrics_history``) so the charts
pick up where they were before a restart. Memory events and what the worker did about them
(unload idle models, switch to a lighter model) are listed under the numbers.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine.monitoring import WINDOWS_S, MemoryRecovered, MemoryWarning, MetricsSample
from ui.panels.models import Banner

if TYPE_CHECKING:
    from app.worker import EngineClient, MemoryAction, MetricsExport, MetricsHistoryResult, MonitorInfo

HISTORY_S = max(WINDOWS_S.values())  # the most any window shows; older points are dropped
CHARTED = ("rss_mb", "cpu_percent", "queue_depth", "throughput_per_s", "latency_p50_ms", "latency_p95_ms")
MIN_SPAN_S = 10.0  # until there is more history, the x axis spans the data itself
MAX_EVENTS = 200  # memory events kept in the list
RSS_COLOR = "#2563eb"
CPU_COLOR = "#ea580c"
THROUGHPUT_COLOR = "#16a34a"
QUEUE_COLOR = "#9333ea"
BUDGET_COLOR = "#dc2626"
WARN_COLOR = "#d97706"
BASELINE_COLOR = "#6b7280"
MODEL_COLORS = ("#2563eb", "#16a34a", "#9333ea", "#db2777", "#0891b2", "#ca8a04")


class _Series:
    """One metric's (time, value) points, oldest first, trimmed to the longest window."""

    __slots__ = ("at", "value")

    def __init__(self) -> None:
        self.at: collections.deque[float] = collections.deque()
        self.value: collections.deque[float] = collections.deque()

    def append(self, at: float, value: float) -> None:
        if self.at and at <= self.at[-1]:
            return  # already there (history and live overlap by a sample or two)
        self.at.append(at)
        self.value.append(value)
        while self.at and self.at[0] < at - HISTORY_S:
            self.at.popleft()
            self.value.popleft()

    def arrays(self, since: float) -> tuple[np.ndarray, np.ndarray]:
        at = np.fromiter(self.at, dtype=float, count=len(self.at))
        value = np.fromiter(self.value, dtype=float, count=len(self.value))
        keep = at >= since
        return at[keep], value[keep]


class MonitorPanel(QWidget):
    statusMessage = Signal(str)
    alertMessage = Signal(str)  # a memory action changed the loaded models: keep it on show

    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("monitorPanel")
        self._client = client
        pg.setConfigOptions(antialias=True)
        # Live samples as they arrived (the numbers row reads the newest); the charts read _series.
        self.samples: collections.deque[MetricsSample] = collections.deque(maxlen=4000)
        self._series: dict[tuple[str, str], _Series] = {}
        self._info: MonitorInfo | None = None
        self._peak_rss = 0.0
        self._window_s = WINDOWS_S["1 min"]
        self._paused = False
        self._zoomed = False
        self._dirty = False
        self._history_loaded = False
        documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
        self._last_dir = documents or str(Path.home())

        layout = QVBoxLayout(self)
        layout.addLayout(self._build_numbers())
        layout.addLayout(self._build_controls())
        self.banner = Banner("monitorBanner")
        layout.addWidget(self.banner)
        self.events = QListWidget()
        self.events.setObjectName("memoryEvents")
        self.events.setMaximumHeight(self.fontMetrics().height() * 5 + 12)
        self.events.setToolTip("Memory warnings and what was done about them, newest first")
        self.events.hide()  # shown with the first event; an empty box only takes room
        layout.addWidget(self.events)
        layout.addWidget(self._build_charts(), 1)

        client.monitorStarted.connect(self._on_monitor_started)
        client.sampled.connect(self.add_sample)
        client.memoryEvent.connect(self._on_memory_event)
        client.memoryAction.connect(self._on_memory_action)
        client.metricsHistory.connect(self._on_history)
        client.metricsExported.connect(self._on_exported)
        client.failed.connect(self._on_failed)

    # -- construction -------------------------------------------------------------------
    def _build_numbers(self) -> QGridLayout:
        self.rss_value = self._big_label("monitorRss")
        self.cpu_value = self._big_label("monitorCpu")
        self.threads_value = self._big_label("monitorThreads")
        self.peak_value = self._big_label("monitorPeakRss")
        self.budget_value = self._big_label("monitorBudget")
        self.baseline_value = self._big_label("monitorBaseline")
        self.baseline_value.setToolTip("Process memory after startup, before any model loaded; the model "
                                       "budget sits on top of it")
        self.throughput_value = self._big_label("monitorThroughput")
        self.queue_value = self._big_label("monitorQueue")
        self.budget_value.setToolTip("Memory charged to the model budget (MODEL_MEMORY_LIMIT) as a share of it: "
                                     "growth above the startup baseline, or the loaded models' measured "
                                     "memory when larger")
        numbers = QGridLayout()
        for col, (title, label) in enumerate((
                ("Memory (RSS)", self.rss_value), ("Startup baseline", self.baseline_value),
                ("Of budget", self.budget_value), ("CPU", self.cpu_value),
                ("Threads", self.threads_value), ("Peak RSS", self.peak_value),
                ("Throughput", self.throughput_value), ("Queue", self.queue_value))):
            caption = QLabel(title)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            numbers.addWidget(caption, 0, col)
            numbers.addWidget(label, 1, col)
        return numbers

    def _build_controls(self) -> QHBoxLayout:
        self.window_combo = QComboBox()
        self.window_combo.setObjectName("monitorWindow")
        self.window_combo.addItems(list(WINDOWS_S))
        self.window_combo.setToolTip("How much history the charts show; the last hour survives a restart")
        self.window_combo.currentTextChanged.connect(self.set_window)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("monitorPause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Freeze the charts to read them; samples are still collected")
        self.pause_button.toggled.connect(self.set_paused)
        self.reset_zoom_button = QPushButton("Reset zoom")
        self.reset_zoom_button.setObjectName("monitorResetZoom")
        self.reset_zoom_button.setToolTip("Back to the whole window, following new samples "
                                          "(zoom: mouse wheel or right-drag on a chart)")
        self.reset_zoom_button.setEnabled(False)
        self.reset_zoom_button.clicked.connect(self.reset_zoom)
        self.export_png_button = QPushButton("Export PNG…")
        self.export_png_button.setObjectName("monitorExportPng")
        self.export_png_button.setToolTip("Save the charts as they are shown as a PNG image")
        self.export_png_button.clicked.connect(self.export_png)
        self.export_csv_button = QPushButton("Export CSV…")
        self.export_csv_button.setObjectName("monitorExportCsv")
        self.export_csv_button.setToolTip("Save the stored samples of the selected window as CSV "
                                          "(at, resolution_s, metric, key, value)")
        self.export_csv_button.clicked.connect(self.export_csv)
        self.state_label = QLabel("waiting for the engine…")
        self.state_label.setObjectName("monitorState")
        self.state_label.setEnabled(False)  # secondary text
        row = QHBoxLayout()
        row.addWidget(QLabel("Window:"))
        row.addWidget(self.window_combo)
        row.addWidget(self.pause_button)
        row.addWidget(self.reset_zoom_button)
        row.addSpacing(12)
        row.addWidget(self.state_label)
        row.addStretch(1)
        row.addWidget(self.export_png_button)
        row.addWidget(self.export_csv_button)
        return row

    def _build_charts(self) -> QWidget:
        self.charts = QWidget()
        self.charts.setObjectName("monitorCharts")
        grid = QGridLayout(self.charts)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(6)
        self.latency_plot = self._plot("latencyPlot", "Latency per item: p50 (solid), p95 (dashed)", "ms")
        self.rss_plot = self._plot("rssPlot", "Memory: resident set size, startup baseline and budget", "MB")
        self.cpu_plot = self._plot("cpuPlot", "CPU: % of one core", "%")
        self.throughput_plot = self._plot("throughputPlot", "Throughput", "items/s")
        self.queue_plot = self._plot("queuePlot", "Queue depth", "items")
        self.plots = (self.latency_plot, self.rss_plot, self.cpu_plot, self.throughput_plot, self.queue_plot)
        grid.addWidget(self.latency_plot, 0, 0, 1, 2)
        grid.addWidget(self.rss_plot, 1, 0)
        grid.addWidget(self.cpu_plot, 1, 1)
        grid.addWidget(self.throughput_plot, 2, 0)
        grid.addWidget(self.queue_plot, 2, 1)
        for row in range(3):
            grid.setRowStretch(row, 1)

        self.rss_curve = self._curve(self.rss_plot, RSS_COLOR, fill=True)
        self.cpu_curve = self._curve(self.cpu_plot, CPU_COLOR, fill=True)
        self.throughput_curve = self._curve(self.throughput_plot, THROUGHPUT_COLOR)
        self.queue_curve = self._curve(self.queue_plot, QUEUE_COLOR)
        self.latency_curves: dict[str, tuple[pg.PlotDataItem, pg.PlotDataItem]] = {}
        self.latency_legend = self.latency_plot.getPlotItem().addLegend(offset=(8, 8), labelTextSize="8pt")
        self.latency_empty = pg.TextItem("No model calls yet: latency appears once news is scored.",
                                         anchor=(0.5, 0.5))
        self.latency_plot.addItem(self.latency_empty, ignoreBounds=True)
        # Labels at opposite ends (budget right, warn left): close lines must not overprint.
        self.budget_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen(BUDGET_COLOR, width=1.5),
                                           label="budget {value:,.0f} MB",
                                           labelOpts={"position": 0.98, "anchors": [(1, 1), (1, 1)],
                                                      "color": BUDGET_COLOR})
        self.warn_line = pg.InfiniteLine(angle=0, movable=False,
                                         pen=pg.mkPen(WARN_COLOR, width=1, style=Qt.PenStyle.DashLine),
                                         label="warn {value:,.0f} MB",
                                         labelOpts={"position": 0.02, "anchors": [(0, 1), (0, 1)],
                                                    "color": WARN_COLOR})
        # The budget is for models: it sits on top of what the process held after startup.
        self.baseline_line = pg.InfiniteLine(angle=0, movable=False,
                                             pen=pg.mkPen(BASELINE_COLOR, width=1, style=Qt.PenStyle.DotLine),
                                             label="startup baseline {value:,.0f} MB",
                                             # below its line: the RSS curve runs just above it
                                             labelOpts={"position": 0.02, "anchors": [(0, 0), (0, 0)],
                                                        "color": BASELINE_COLOR})
        for line in (self.budget_line, self.warn_line, self.baseline_line):
            line.hide()
            self.rss_plot.addItem(line, ignoreBounds=True)
        self._apply_palette(self.latency_plot)  # again, now that the legend and hint exist
        self._apply_x_label()
        return self.charts

    @staticmethod
    def _big_label(name: str) -> QLabel:
        label = QLabel("–")
        label.setObjectName(name)
        label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        font = label.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        label.setFont(font)
        return label

    def _plot(self, name: str, title: str, unit: str) -> pg.PlotWidget:
        widget = pg.PlotWidget()
        widget.setObjectName(name)
        widget.setProperty("chartTitle", title)
        widget.setProperty("chartUnit", unit)
        widget.setMinimumHeight(120)
        self._apply_palette(widget)
        item = widget.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        item.getAxis("left").setWidth(54)  # one width for all: charts line up, "10,000" still fits
        item.hideButtons()  # the panel's Reset zoom button replaces the small "A"
        item.setXRange(-MIN_SPAN_S, 0, padding=0)
        item.setYRange(0, 1, padding=0)
        # A manual zoom or pan stops the charts from following new samples until Reset zoom.
        item.getViewBox().sigRangeChangedManually.connect(lambda *_: self._on_manual_zoom(widget))
        return widget

    @staticmethod
    def _curve(widget: pg.PlotWidget, color: str, fill: bool = False, dashed: bool = False,
               name: str | None = None) -> pg.PlotDataItem:
        pen = pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        kwargs = {}
        if fill:
            brush = QColor(color)
            brush.setAlpha(45)
            kwargs = {"fillLevel": 0, "brush": brush}
        curve = widget.getPlotItem().plot(pen=pen, name=name, **kwargs)
        # An hour at 1 s is 3,600 points a series: more than a chart has pixels.
        curve.setDownsampling(auto=True, method="peak")
        return curve

    def _apply_palette(self, widget: pg.PlotWidget) -> None:
        # pyqtgraph does not follow the Qt palette; copy it so light and dark themes both read well.
        pal = self.palette()
        bg = pal.color(QPalette.ColorRole.Base)
        fg = pal.color(QPalette.ColorRole.Text)
        widget.setBackground(bg)
        item = widget.getPlotItem()
        item.setTitle(widget.property("chartTitle"), color=fg.name(), size="9pt")
        item.setLabel("left", widget.property("chartUnit"), color=fg.name())
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(pg.mkPen(fg))
            item.getAxis(axis).setTextPen(pg.mkPen(fg))
        if getattr(self, "latency_empty", None) is not None and widget is self.latency_plot:
            self.latency_empty.setColor(pal.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text))
        legend = getattr(self, "latency_legend", None)
        if legend is not None and widget is self.latency_plot:
            legend.setLabelTextColor(fg)
            legend.setBrush(pg.mkBrush(QColor(bg.red(), bg.green(), bg.blue(), 200)))

    def _unit(self) -> tuple[float, str]:
        """Seconds for the one-minute window, minutes for the longer ones."""
        return (1.0, "seconds ago") if self._window_s <= 60 else (60.0, "minutes ago")

    def _apply_x_label(self) -> None:
        fg = self.palette().color(QPalette.ColorRole.Text).name()
        for widget in self.plots:
            widget.getPlotItem().setLabel("bottom", self._unit()[1], color=fg)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "plots"):
            for widget in self.plots:
                self._apply_palette(widget)
            self._apply_x_label()

    # -- controls -----------------------------------------------------------------------
    @Slot(str)
    def set_window(self, name: str) -> None:
        if name not in WINDOWS_S:
            return
        if self.window_combo.currentText() != name:
            self.window_combo.setCurrentText(name)  # comes back here through the signal
            return
        self._window_s = WINDOWS_S[name]
        self._zoomed = False
        self.reset_zoom_button.setEnabled(False)
        self._apply_x_label()
        self._redraw(force=True)

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        self.pause_button.setChecked(paused)
        self.pause_button.setText("Resume" if paused else "Pause")
        self._update_state()
        if not paused:
            self._redraw()

    @Slot()
    def reset_zoom(self) -> None:
        self._zoomed = False
        self.reset_zoom_button.setEnabled(False)
        self._update_state()
        self._redraw(force=True)

    def _on_manual_zoom(self, source: pg.PlotWidget) -> None:
        # Zooming one chart in time zooms them all. Not pyqtgraph's setXLink: it lines charts up
        # by screen position, which only works for charts stacked exactly above each other.
        lo, hi = source.getPlotItem().getViewBox().viewRange()[0]
        for widget in self.plots:
            if widget is not source:
                widget.setXRange(lo, hi, padding=0)
        self._zoomed = True
        self.reset_zoom_button.setEnabled(True)
        self._update_state()

    def _update_state(self) -> None:
        if self._info is None:
            return
        parts = ["paused" if self._paused else "live"]
        if self._zoomed:
            parts.append("zoomed")
        parts.append(f"a sample every {self._info.interval_s:g} s")
        self.state_label.setText(" · ".join(parts))

    def _default_path(self, suffix: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return str(Path(self._last_dir) / f"signaldesk-monitor-{stamp}.{suffix}")

    @Slot()
    def export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export charts as PNG", self._default_path("png"),
                                              "PNG images (*.png)")
        if path:
            self.save_png(path)

    def save_png(self, path: str | Path) -> bool:
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_suffix(".png")
        self._last_dir = str(path.parent)
        # A grab of the widgets draws exactly what is on screen, titles and lines included.
        if self.charts.grab().save(str(path), "PNG"):
            self.banner.show_text(f"Saved the charts to {path}.", "info")
            self.statusMessage.emit(f"Saved {path.name}")
            return True
        self.banner.show_text(f"Could not write {path}: check the folder exists and is writable.", "error")
        return False

    @Slot()
    def export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export samples as CSV", self._default_path("csv"),
                                              "CSV files (*.csv)")
        if not path:
            return
        if not path.lower().endswith(".csv"):
            path += ".csv"
        self._last_dir = str(Path(path).parent)
        self.export_csv_button.setEnabled(False)  # until the engine answers
        self._client.export_metrics(path, time.time() - self._window_s)

    @Slot(object)
    def _on_exported(self, result: MetricsExport) -> None:
        self.export_csv_button.setEnabled(True)
        if result.error:
            self.banner.show_text(f"The samples were not exported: {result.error}", "error")
            return
        self.banner.show_text(f"Exported {result.rows:,} stored sample rows "
                              f"({self.window_combo.currentText()}) to {result.path}.", "info")
        self.statusMessage.emit(f"Exported {result.rows:,} rows to {Path(result.path).name}")

    # -- engine -------------------------------------------------------------------------
    @Slot(object)
    def _on_monitor_started(self, info: MonitorInfo) -> None:
        self._info = info
        policy = info.policy
        baseline = policy.baseline_mb
        for line in (self.budget_line, self.warn_line, self.baseline_line):
            line.show()  # first: a hidden line's label ignores new values
        self.baseline_line.setVisible(baseline > 0)
        self.baseline_value.setText(f"{baseline:,.0f} MB" if baseline > 0 else "–")
        if baseline > 0:
            self.budget_line.label.setFormat(f"budget {{value:,.0f}} MB (baseline + {policy.limit_mb:,.0f} MB)")
        self.budget_line.setValue(policy.budget_rss_mb)
        self.warn_line.setValue(baseline + policy.limit_mb * policy.warn_fraction)
        self.baseline_line.setValue(baseline)
        self.warn_line.setToolTip(f"At {policy.warn_fraction:.0%} of the budget the guard warns; at "
                                  f"{policy.unload_fraction:.0%} it unloads idle models; at "
                                  f"{policy.switch_fraction:.0%} it switches to a lighter model")
        self.baseline_line.setToolTip(
            f"The process held {baseline:,.0f} MB after startup, before any model loaded. The "
            f"{policy.limit_mb:,.0f} MB budget is for what comes on top (or for the loaded models' measured "
            "memory, when that is larger).")
        self._update_state()
        # Backfill every window from the stored history, once per engine start.
        self._client.request_metrics_history(time.time() - HISTORY_S, CHARTED)

    @Slot(object)
    def _on_history(self, result: MetricsHistoryResult) -> None:
        if result.error:
            self.banner.show_text(result.error, "warning")
            return
        merged: dict[tuple[str, str], _Series] = {}
        for key, points in result.series.items():
            series = _Series()
            for at, value in points:
                series.append(at, value)
            live = self._series.get(key)
            if live is not None:  # samples that arrived while the history was read
                for at, value in zip(live.at, live.value):
                    series.append(at, value)
            merged[key] = series
        for key, live in self._series.items():
            merged.setdefault(key, live)
        self._series = merged
        self._history_loaded = True
        rss = self._series.get(("rss_mb", ""))
        if rss is not None and rss.value:
            self._peak_rss = max(self._peak_rss, max(rss.value))
        self._redraw(force=True)

    @Slot(object)
    def add_sample(self, sample: MetricsSample) -> None:
        self.samples.append(sample)
        for metric, key, value in sample.rows():
            if metric == "queue_depth" and value < 0:
                continue  # the provider failed: unknown, not negative
            self._series.setdefault((metric, key), _Series()).append(sample.at, value)
        self._peak_rss = max(self._peak_rss, sample.rss_mb)
        self.rss_value.setText(f"{sample.rss_mb:,.0f} MB")
        if sample.memory_limit_mb > 0:
            used = sample.rss_mb if sample.memory_used_mb is None else sample.memory_used_mb
            self.budget_value.setText(f"{used / sample.memory_limit_mb:.0%}")
        self.cpu_value.setText(f"{sample.cpu_percent:.0f}%")
        self.threads_value.setText(str(sample.threads))
        self.peak_value.setText(f"{self._peak_rss:,.0f} MB")
        self.throughput_value.setText(f"{sample.throughput_per_s:,.1f}/s")
        self.queue_value.setText("?" if sample.queue_depth < 0 else f"{sample.queue_depth:,}")
        self._redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._redraw()

    def _redraw(self, force: bool = False) -> None:
        if not self.isVisible() or (self._paused and not force):
            self._dirty = True  # no point drawing a hidden or frozen chart; catch up later
            return
        self._dirty = False
        latest = self.samples[-1].at if self.samples else max(
            (s.at[-1] for s in self._series.values() if s.at), default=None)
        if latest is None:
            return
        since = latest - self._window_s
        scale, _ = self._unit()
        gap = 5.0 * (self._info.interval_s if self._info else 1.0)

        def xy(metric: str, key: str = "") -> tuple[np.ndarray, np.ndarray]:
            series = self._series.get((metric, key))
            if series is None:
                return np.zeros(0), np.zeros(0)
            at, value = series.arrays(since)
            # No line (and no fill) across a stretch without samples, e.g. while the app was
            # closed: a NaN point breaks the curve there (drawn with connect="finite").
            breaks = np.flatnonzero(np.diff(at) > max(gap, 5.0)) + 1 if len(at) > 1 else np.zeros(0, dtype=int)
            if len(breaks):
                at = np.insert(at, breaks, np.nan)
                value = np.insert(value, breaks, np.nan)
            return (at - latest) / scale, value

        spans = []
        for curve, metric in ((self.rss_curve, "rss_mb"), (self.cpu_curve, "cpu_percent"),
                              (self.throughput_curve, "throughput_per_s"), (self.queue_curve, "queue_depth")):
            x, y = xy(metric)
            curve.setData(x, y, connect="finite")
            if len(x):
                spans.append(-x[0])
        latency_max = 0.0
        for key in sorted({k for m, k in self._series if m in ("latency_p50_ms", "latency_p95_ms")}):
            p50_curve, p95_curve = self._latency_curves(key)
            for curve, metric in ((p50_curve, "latency_p50_ms"), (p95_curve, "latency_p95_ms")):
                x, y = xy(metric, key)
                curve.setData(x, y, connect="finite")
                if len(y):
                    latency_max = max(latency_max, float(np.nanmax(y)))
                    spans.append(-x[0])
        self.latency_empty.setVisible(latency_max == 0.0)
        if self._zoomed:
            return
        # Grow the window with the data up to the chosen window, so a fresh start is not a sliver.
        span = min(max(max(spans, default=0.0), MIN_SPAN_S / scale), self._window_s / scale)
        for widget in self.plots:
            widget.setXRange(-span, 0, padding=0.01)
        _y_range(self.latency_plot, max(latency_max * 1.15, 1.0))
        self.latency_empty.setPos(-span / 2, 0.5)
        # Keep zero in view so small changes don't look like cliffs; RSS always shows the budget.
        _, rss = xy("rss_mb")
        top = max(float(np.nanmax(rss)) * 1.1 if len(rss) else 1.0, 1.0)
        if self._info is not None:
            top = max(top, self._info.policy.budget_rss_mb * 1.15)  # room for the line's label above it
            # The baseline's label hangs below its line; near the axis it would be cut off (the
            # numbers row shows the baseline anyway).
            self.baseline_line.label.setVisible(self._info.policy.baseline_mb >= 0.15 * top)
        _y_range(self.rss_plot, top)
        for widget, metric, floor in ((self.cpu_plot, "cpu_percent", 10.0),
                                      (self.throughput_plot, "throughput_per_s", 1.0),
                                      (self.queue_plot, "queue_depth", 1.0)):
            _, y = xy(metric)
            _y_range(widget, max(float(np.nanmax(y)) * 1.15 if len(y) else 0.0, floor))

    def _latency_curves(self, key: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        if key not in self.latency_curves:
            color = MODEL_COLORS[len(self.latency_curves) % len(MODEL_COLORS)]
            name = key.replace("@", " ")
            self.latency_curves[key] = (self._curve(self.latency_plot, color, name=f"{name} p50"),
                                        self._curve(self.latency_plot, color, dashed=True, name=f"{name} p95"))
        return self.latency_curves[key]

    # -- memory events ------------------------------------------------------------------
    def _add_event(self, at: float, text: str, kind: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(at))
        item = QListWidgetItem(f"{stamp}  {text}")
        colors = {"error": "#b91c1c", "warning": "#a16207"}
        if kind in colors:
            item.setForeground(QColor(colors[kind]))
        self.events.insertItem(0, item)
        while self.events.count() > MAX_EVENTS:
            self.events.takeItem(self.events.count() - 1)
        self.events.show()

    @Slot(object)
    def _on_memory_event(self, event) -> None:
        if isinstance(event, MemoryRecovered):
            kind, mark = "info", "✓"
        elif isinstance(event, MemoryWarning):
            kind, mark = "warning", "⚠"
        else:
            kind, mark = "error", "⚠"
        text = event.message[:1].upper() + event.message[1:]
        self._add_event(event.at, f"{mark} {text}", kind)
        self.banner.show_text(f"Memory: {text}.", kind)
        self.statusMessage.emit(f"Memory: {event.message}")

    @Slot(object)
    def _on_memory_action(self, action: MemoryAction) -> None:
        self._add_event(time.time(), f"→ {action.message}", "info" if action.ok else "warning")
        self.banner.show_text(f"Memory action: {action.message}", "info" if action.ok else "warning")
        if action.ok:
            self.alertMessage.emit(f"⚠ Memory: {action.message}")
        else:
            self.statusMessage.emit(f"Memory: {action.message}")

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._client.info is None:  # only a failed start leaves the charts without a source
            self.state_label.setText("engine not running: no samples")
            self.banner.show_text(message, "error")


def _y_range(widget: pg.PlotWidget, top: float) -> None:
    # Zero stays in view so small changes don't look like cliffs; a sliver below it keeps a
    # line at zero visible above the axis.
    widget.setYRange(-0.03 * top, top, padding=0)
