"""One asset's chart: price candlesticks, its news as markers coloured by sentiment, the decayed
sentiment line below, and optional price levels (an idea's entry, stop-loss and take-profit).

Used by the asset view (ui/panels/assets.py) and the idea detail (ui/panels/ideas_detail.py).
Hovering a marker shows its headline; clicking one emits ``markerClicked(signal_id)``.

News and prices share one time axis when they overlap. The demo prices end in 2024 while news
is scored today: then the two plots keep their own time axes and a note says so, rather than
squeezing two years of gap between candles and markers. Markers always sit on the sentiment line;
they also sit above the candle of their bar when that bar is in the chart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPalette, QPicture
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

LABEL_COLORS = {"bullish": "#16a34a", "bearish": "#dc2626", "neutral": "#6b7280"}
UP_COLOR, DOWN_COLOR = "#16a34a", "#dc2626"
SENTIMENT_COLOR = "#2563eb"
LEVEL_COLORS = {"entry": "#2563eb", "stop": "#dc2626", "target": "#16a34a"}
MARKER_SIZE = 11
DAY_S = 86400.0


@dataclass(frozen=True)
class ChartMarker:
    """A headline on the chart (an asset view's news marker, or an idea's evidence)."""

    signal_id: int
    time: float
    label: str
    headline: str
    confidence: float  # shown: calibrated when ``calibrated``
    calibrated: bool


@dataclass(frozen=True)
class PriceLevel:
    name: str  # entry | stop | target
    price: float
    text: str  # as printed beside the line, e.g. "stop 95.20"


def marker_tip(marker: ChartMarker) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(marker.time))
    kind = "calibrated" if marker.calibrated else "raw"
    return f"{marker.headline}\n{marker.label} {marker.confidence:.0%} ({kind}) · {when} · #{marker.signal_id}"


class CandlestickItem(pg.GraphicsObject):
    """OHLC candles drawn once into a QPicture (redrawn only when the bars change)."""

    def __init__(self) -> None:
        super().__init__()
        self._picture = QPicture()
        self._bounds = QRectF()
        self.count = 0  # candles drawn

    def set_bars(self, ts: np.ndarray, o: np.ndarray, h: np.ndarray, low: np.ndarray, c: np.ndarray) -> None:
        self.prepareGeometryChange()
        picture = QPicture()
        painter = QPainter(picture)
        if len(ts):
            spacing = float(np.median(np.diff(ts))) if len(ts) > 1 else DAY_S
            half = spacing * 0.35
            for colour, rising in ((UP_COLOR, True), (DOWN_COLOR, False)):
                painter.setPen(pg.mkPen(colour, width=1, cosmetic=True))
                painter.setBrush(pg.mkBrush(colour))
                for i in np.flatnonzero((c >= o) == rising):
                    x = float(ts[i])
                    painter.drawLine(QPointF(x, float(low[i])), QPointF(x, float(h[i])))
                    top, bottom = float(max(o[i], c[i])), float(min(o[i], c[i]))
                    painter.drawRect(QRectF(x - half, bottom, 2 * half, max(top - bottom, 1e-9)))
            self._bounds = QRectF(float(ts[0]) - half, float(low.min()), float(ts[-1] - ts[0]) + 2 * half,
                                  float(h.max() - low.min()))
        else:
            self._bounds = QRectF()
        painter.end()
        self._picture = picture
        self.count = len(ts)
        self.update()

    def paint(self, painter: QPainter, *_args) -> None:
        painter.drawPicture(0, 0, self._picture)

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)


class AssetChart(QWidget):
    markerClicked = Signal(int)  # the signal id of a clicked news marker

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("assetChart")
        self.markers: tuple[ChartMarker, ...] = ()
        self.linked = False  # prices and news share one time axis
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setObjectName("assetChartGraphics")
        self.graphics.setMinimumHeight(220)
        self.price_plot = self.graphics.addPlot(row=0, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.sentiment_plot = self.graphics.addPlot(row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.graphics.ci.layout.setRowStretchFactor(0, 3)
        self.graphics.ci.layout.setRowStretchFactor(1, 1)
        for plot in (self.price_plot, self.sentiment_plot):
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.hideButtons()
            plot.getAxis("left").setWidth(60)  # both plots line up
        self.sentiment_plot.setYRange(-1, 1, padding=0.05)
        self.candles = CandlestickItem()
        self.price_plot.addItem(self.candles)
        self.price_markers = self._scatter()
        self.price_plot.addItem(self.price_markers)
        self.sentiment_line = pg.PlotDataItem(pen=pg.mkPen(SENTIMENT_COLOR, width=2))
        self.sentiment_plot.addItem(self.sentiment_line)
        self.sentiment_plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#9ca3af", style=Qt.PenStyle.DashLine)))
        self.sentiment_markers = self._scatter()
        self.sentiment_plot.addItem(self.sentiment_markers)
        self._levels: list[pg.InfiniteLine] = []

        self.note = QLabel()
        self.note.setObjectName("assetChartNote")
        self.note.setWordWrap(True)
        self.note.setStyleSheet("font-style: italic;")
        self.note.hide()
        # Until an asset is shown: a line saying so, not empty axes with meaningless ticks.
        self.placeholder = QLabel("No asset on show. Its daily prices, news markers and sentiment "
                                  "line appear here.")
        self.placeholder.setObjectName("assetChartPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setMinimumHeight(220)
        self.placeholder.setEnabled(False)  # drawn in the palette's disabled (grey) text colour
        self.graphics.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.graphics, 1)
        layout.addWidget(self.note)
        self._apply_palette()

    def _scatter(self) -> pg.ScatterPlotItem:
        scatter = pg.ScatterPlotItem(size=MARKER_SIZE, hoverable=True, hoverSize=MARKER_SIZE + 5,
                                     tip=lambda x, y, data: marker_tip(data))
        scatter.sigClicked.connect(self._on_clicked)
        return scatter

    def _on_clicked(self, _item, points, _event=None) -> None:
        if len(points):
            self.markerClicked.emit(int(points[0].data().signal_id))

    # -- data ------------------------------------------------------------------------------------
    def show_data(self, bars: Sequence, markers: Sequence[ChartMarker], sentiment: Sequence[tuple[float, float]],
                  levels: Sequence[PriceLevel] = ()) -> None:
        """Draw ``bars`` (objects with ts/open/high/low/close), ``markers`` and the sentiment line."""
        self.markers = tuple(sorted(markers, key=lambda m: m.time))
        self.placeholder.hide()
        self.graphics.show()
        ts = np.array([b.ts for b in bars], dtype=float)
        o, h, low, c = (np.array([getattr(b, f) for b in bars], dtype=float) for f in ("open", "high", "low", "close"))
        self.candles.set_bars(ts, o, h, low, c)
        self.price_plot.setVisible(len(ts) > 0)

        at = np.array([t for t, _ in sentiment], dtype=float)
        value = np.array([v for _, v in sentiment], dtype=float)
        self.sentiment_line.setData(at, value)
        times = np.array([m.time for m in self.markers], dtype=float)
        on_line = np.interp(times, at, value) if len(at) else np.zeros(len(times))
        self.sentiment_markers.setData(self._spots(times, on_line, self.markers))

        in_bars = self._marker_bars(ts, times)
        shown = [i for i, bar in enumerate(in_bars) if bar >= 0]
        span = float(np.ptp(h)) if len(h) else 0.0
        above = [float(h[in_bars[i]]) + 0.04 * span for i in shown]
        self.price_markers.setData(self._spots(times[shown], np.array(above), [self.markers[i] for i in shown]))
        self._set_levels(levels)
        self._link(ts, times, len(shown))
        self.price_plot.autoRange()
        self.sentiment_plot.enableAutoRange(axis="x")
        self.sentiment_plot.setYRange(-1, 1, padding=0.05)

    @staticmethod
    def _marker_bars(ts: np.ndarray, times: np.ndarray) -> np.ndarray:
        """Index of the bar each marker falls in (-1 outside the bars' span)."""
        if not len(ts):
            return np.full(len(times), -1)
        spacing = float(np.median(np.diff(ts))) if len(ts) > 1 else DAY_S
        index = np.searchsorted(ts, times, side="right") - 1
        outside = (index < 0) | (times > ts[-1] + spacing)
        return np.where(outside, -1, index)

    @staticmethod
    def _spots(x: np.ndarray, y: np.ndarray, markers: Sequence[ChartMarker]) -> list[dict]:
        return [{"pos": (float(px), float(py)), "data": m, "brush": pg.mkBrush(LABEL_COLORS.get(m.label, "#6b7280")),
                 "pen": pg.mkPen("#ffffff", width=1), "symbol": "t1" if m.label == "bullish" else
                 ("t" if m.label == "bearish" else "o")} for px, py, m in zip(x, y, markers)]

    def _set_levels(self, levels: Sequence[PriceLevel]) -> None:
        for line in self._levels:
            self.price_plot.removeItem(line)
        self._levels = []
        for level in levels:
            colour = LEVEL_COLORS.get(level.name, "#6b7280")
            line = pg.InfiniteLine(pos=level.price, angle=0, pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine),
                                   label=level.text, labelOpts={"position": 0.05, "color": colour, "anchors": [(0, 1), (0, 1)]})
            self.price_plot.addItem(line)
            self._levels.append(line)

    def _link(self, ts: np.ndarray, times: np.ndarray, markers_on_bars: int) -> None:
        """One time axis when prices and news overlap, else two, with a note saying why."""
        self.linked = bool(len(ts)) and (not len(times) or markers_on_bars > 0)
        self.sentiment_plot.setXLink(self.price_plot if self.linked else None)
        if not len(ts):
            self.note.setText("No prices for this symbol: import them (Ideas → Load demo prices, or "
                              "signaldesk prices import FILE --symbol SYM) to see candles.")
        elif not self.linked:
            last = time.strftime("%Y-%m-%d", time.localtime(ts[-1]))
            gap = (times.min() - ts[-1]) / DAY_S
            where = f"{gap:,.0f} days before the first headline shown" if gap > 0 else "outside the news window"
            self.note.setText(f"Prices end on {last}, {where}: the news markers are on the sentiment line "
                              "below, on its own time axis.")
        self.note.setVisible(not self.linked)

    def level_texts(self) -> list[str]:
        return [line.label.toPlainText() for line in self._levels if line.label is not None]

    def clear(self) -> None:
        self.show_data((), (), ())

    # -- palette ---------------------------------------------------------------------------------
    def _apply_palette(self) -> None:
        # pyqtgraph ignores the Qt palette: copy its colours so the chart reads on light and dark themes.
        pal = self.palette()
        fg, bg = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base)
        self.graphics.setBackground(bg)
        for plot, unit in ((self.price_plot, "price"), (self.sentiment_plot, "sentiment")):
            plot.setLabel("left", unit, color=fg.name())
            for side in ("left", "bottom"):
                plot.getAxis(side).setPen(pg.mkPen(fg))
                plot.getAxis(side).setTextPen(pg.mkPen(fg))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()
