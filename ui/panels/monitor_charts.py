"""The Monitor panel's charts: latency per model, memory against the budget, CPU, throughput and
queue depth over the chosen window, drawn with pyqtgraph in the palette's colours.

The panel keeps the samples (``MetricSeries`` per metric) and decides when to draw; this widget
draws them. Zooming or panning one chart by hand moves them all in time and says so
(``zoomedByHand``); they follow new samples again once the panel draws with ``follow``.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QGridLayout, QWidget

from engine.monitoring import WINDOWS_S

if TYPE_CHECKING:
    from engine.monitoring import MemoryPolicy

HISTORY_S = max(WINDOWS_S.values())  # the most any window shows; older points are dropped
MIN_SPAN_S = 10.0  # until there is more history, the x axis spans the data itself
RSS_COLOR = "#2563eb"
CPU_COLOR = "#ea580c"
THROUGHPUT_COLOR = "#16a34a"
QUEUE_COLOR = "#9333ea"
BUDGET_COLOR = "#dc2626"
WARN_COLOR = "#d97706"
BASELINE_COLOR = "#6b7280"
MODEL_COLORS = ("#2563eb", "#16a34a", "#9333ea", "#db2777", "#0891b2", "#ca8a04")


class MetricSeries:
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


class MonitorCharts(QWidget):
    zoomedByHand = Signal()

    def __init__(self, window_s: float, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.setObjectName("monitorCharts")
        self._window_s = window_s
        self._policy: MemoryPolicy | None = None
        grid = QGridLayout(self)
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

        self.rss_curve = _curve(self.rss_plot, RSS_COLOR, fill=True)
        self.cpu_curve = _curve(self.cpu_plot, CPU_COLOR, fill=True)
        self.throughput_curve = _curve(self.throughput_plot, THROUGHPUT_COLOR)
        self.queue_curve = _curve(self.queue_plot, QUEUE_COLOR)
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

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # Handled here, not by the panel: a parent hears of a new palette before its children have it.
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "plots"):
            for widget in self.plots:
                self._apply_palette(widget)
            self._apply_x_label()

    def _unit(self) -> tuple[float, str]:
        """Seconds for the one-minute window, minutes for the longer ones."""
        return (1.0, "seconds ago") if self._window_s <= 60 else (60.0, "minutes ago")

    def _apply_x_label(self) -> None:
        fg = self.palette().color(QPalette.ColorRole.Text).name()
        for widget in self.plots:
            widget.getPlotItem().setLabel("bottom", self._unit()[1], color=fg)

    def set_window(self, window_s: float) -> None:
        self._window_s = window_s
        self._apply_x_label()

    def _on_manual_zoom(self, source: pg.PlotWidget) -> None:
        # Zooming one chart in time zooms them all. Not pyqtgraph's setXLink: it lines charts up
        # by screen position, which only works for charts stacked exactly above each other.
        lo, hi = source.getPlotItem().getViewBox().viewRange()[0]
        for widget in self.plots:
            if widget is not source:
                widget.setXRange(lo, hi, padding=0)
        self.zoomedByHand.emit()

    def set_policy(self, policy: MemoryPolicy) -> None:
        """The memory guard's lines on the memory chart: budget, warning level, startup baseline."""
        self._policy = policy
        baseline = policy.baseline_mb
        for line in (self.budget_line, self.warn_line, self.baseline_line):
            line.show()  # first: a hidden line's label ignores new values
        self.baseline_line.setVisible(baseline > 0)
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

    def draw(self, series: dict[tuple[str, str], MetricSeries], latest: float, gap_s: float, follow: bool) -> None:
        """The window up to ``latest``; a stretch longer than ``gap_s`` without samples is left blank.

        ``follow``: fit the axes to the window (not while zoomed by hand).
        """
        since = latest - self._window_s
        scale, _ = self._unit()

        def xy(metric: str, key: str = "") -> tuple[np.ndarray, np.ndarray]:
            points = series.get((metric, key))
            if points is None:
                return np.zeros(0), np.zeros(0)
            at, value = points.arrays(since)
            # No line (and no fill) across a stretch without samples, e.g. while the app was
            # closed: a NaN point breaks the curve there (drawn with connect="finite").
            breaks = np.flatnonzero(np.diff(at) > max(gap_s, 5.0)) + 1 if len(at) > 1 else np.zeros(0, dtype=int)
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
        for key in sorted({k for m, k in series if m in ("latency_p50_ms", "latency_p95_ms")}):
            p50_curve, p95_curve = self._latency_curves(key)
            for curve, metric in ((p50_curve, "latency_p50_ms"), (p95_curve, "latency_p95_ms")):
                x, y = xy(metric, key)
                curve.setData(x, y, connect="finite")
                if len(y):
                    latency_max = max(latency_max, float(np.nanmax(y)))
                    spans.append(-x[0])
        self.latency_empty.setVisible(latency_max == 0.0)
        if not follow:
            return
        # Grow the window with the data up to the chosen window, so a fresh start is not a sliver.
        span = min(max(max(spans, default=0.0), MIN_SPAN_S / scale), self._window_s / scale)
        for widget in self.plots:
            widget.setXRange(-span, 0, padding=0.01)
        _y_range(self.latency_plot, self._latency_top(latency_max))
        self.latency_empty.setPos(-span / 2, 0.5)
        # Keep zero in view so small changes don't look like cliffs; RSS always shows the budget.
        _, rss = xy("rss_mb")
        top = max(float(np.nanmax(rss)) * 1.1 if len(rss) else 1.0, 1.0)
        if self._policy is not None:
            top = max(top, self._policy.budget_rss_mb * 1.15)  # room for the line's label above it
            # The baseline's label hangs below its line; near the axis it would be cut off (the
            # numbers row shows the baseline anyway).
            self.baseline_line.label.setVisible(self._policy.baseline_mb >= 0.15 * top)
        _y_range(self.rss_plot, top)
        for widget, metric, floor in ((self.cpu_plot, "cpu_percent", 10.0),
                                      (self.throughput_plot, "throughput_per_s", 1.0),
                                      (self.queue_plot, "queue_depth", 1.0)):
            _, y = xy(metric)
            _y_range(widget, max(float(np.nanmax(y)) * 1.15 if len(y) else 0.0, floor))

    def _latency_top(self, latency_max: float) -> float:
        """The latency axis' top: the curves stay below the legend (top left), which covered the
        p95 line when the range ended just above it."""
        top = max(latency_max * 1.15, 1.0)
        view_h = self.latency_plot.getPlotItem().getViewBox().height()
        legend_h = self.latency_legend.boundingRect().height() + 12 if self.latency_legend.items else 0.0
        share = min(legend_h / view_h, 0.6) if view_h > 0 else 0.0
        return top / (1.0 - share)

    def _latency_curves(self, key: str) -> tuple[pg.PlotDataItem, pg.PlotDataItem]:
        if key not in self.latency_curves:
            color = MODEL_COLORS[len(self.latency_curves) % len(MODEL_COLORS)]
            name = key.replace("@", " ")
            self.latency_curves[key] = (_curve(self.latency_plot, color, name=f"{name} p50"),
                                        _curve(self.latency_plot, color, dashed=True, name=f"{name} p95"))
        return self.latency_curves[key]


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


def _y_range(widget: pg.PlotWidget, top: float) -> None:
    # Zero stays in view so small changes don't look like cliffs; a sliver below it keeps a
    # line at zero visible above the axis.
    widget.setYRange(-0.03 * top, top, padding=0)
