"""Per-asset sentiment gauges for the Live tab: one gauge per asset, drawn into a pixmap, in a strip."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from ui.theme import is_dark


class AssetGauge(QLabel):
    """One asset: running sentiment as a centre-zero bar and a sparkline of its history.

    Drawn into a pixmap when a new snapshot arrives (all gauges in one go, in the slot), and
    shown by QLabel's own C++ painting. A Python ``paintEvent`` per gauge would enter Python a
    dozen times per repaint, each time waiting for the GIL while the pipeline's threads run
    Python: measured as 50-60 ms UI stalls at 1,000 items/s (bench/bench_live_ui.py).
    """

    SPARK_POINTS = 120
    SIZE = QSize(168, 78)

    def __init__(self, asset: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.asset = asset
        self.setObjectName(f"gauge_{asset}")
        self.running = 0.0
        self.series: tuple[float, ...] = ()
        self.snapshot = None
        self.setFixedSize(self.SIZE)

    def set_snapshot(self, snap) -> bool:
        """Show a snapshot; False (and nothing redrawn) when it shows nothing new."""
        series = tuple(snap.running_series)
        running = float(snap.running_sentiment)
        latest = snap.latest
        if (self.snapshot is not None and running == self.running and series == self.series
                and snap.age_hours == self.snapshot.age_hours and latest == self.snapshot.latest):
            return False
        self.snapshot, self.running, self.series = snap, running, series
        f = snap.features
        self.setToolTip(
            f"{snap.asset}: running sentiment {self.running:+.2f}\n"
            + (f"latest {latest.label} {latest.confidence:.0%} ({latest.category}, {snap.age_hours:.1f} h ago)\n"
               if latest is not None and snap.age_hours is not None else "no live signal\n")
            + "\n".join(f"{k}: {v:+.3f}" for k, v in f.items()))
        self.render_pixmap()
        return True

    def render_pixmap(self) -> None:
        """Draw the gauge for the current palette (again after a palette change)."""
        ratio = self.devicePixelRatioF()
        pixmap = QPixmap(self.SIZE * ratio)
        pixmap.setDevicePixelRatio(ratio)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        dark = is_dark(pal)
        rect = QRectF(0, 0, self.SIZE.width(), self.SIZE.height()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(rect, 4, 4)
        up = QColor("#86efac" if dark else "#16a34a")
        down = QColor("#fca5a5" if dark else "#dc2626")
        colour = up if self.running > 0.05 else down if self.running < -0.05 else pal.color(QPalette.ColorRole.Mid)

        text = pal.color(QPalette.ColorRole.Text)
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(text)
        p.drawText(QRectF(6, 3, 90, 18), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self.asset)
        p.setPen(colour if abs(self.running) > 0.05 else text)
        p.drawText(QRectF(rect.width() - 66, 3, 60, 18), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   f"{self.running:+.2f}")

        # Centre-zero bar: left of centre is bearish, right is bullish.
        bar = QRectF(6, 23, rect.width() - 12, 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color(QPalette.ColorRole.AlternateBase))
        p.drawRect(bar)
        mid = bar.center().x()
        width = max(-1.0, min(1.0, self.running)) * bar.width() / 2
        p.setBrush(colour)
        p.drawRect(QRectF(min(mid, mid + width), bar.top(), abs(width), bar.height()))

        # Sparkline of the running sentiment after each signal, on a fixed -1..1 scale with a zero line.
        area = QRectF(6, 34, rect.width() - 12, rect.height() - 40)
        zero_y, half = area.center().y(), area.height() / 2
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(area.left(), zero_y), QPointF(area.right(), zero_y))
        points = self.series[-self.SPARK_POINTS:]
        if len(points) >= 2:
            step = area.width() / (len(points) - 1)
            p.setPen(QPen(colour, 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPolyline(QPolygonF([QPointF(area.left() + i * step, zero_y - max(-1.0, min(1.0, v)) * half)
                                      for i, v in enumerate(points)]))
        p.end()
        self.setPixmap(pixmap)


class GaugeStrip(QWidget):
    """The most recently active assets' gauges in a row, reusing widgets between updates."""

    @staticmethod
    def height_needed(scroll_bar: int) -> int:
        """The height of a scroll area showing one row of gauges above its horizontal scroll bar."""
        return AssetGauge.SIZE.height() + scroll_bar + 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("gaugeStrip")
        self.gauges: dict[str, AssetGauge] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.empty = QLabel("No asset gauges yet: they appear as news about tickers is scored.")
        self._layout.addWidget(self.empty)
        self._layout.addStretch(1)

    def set_snapshots(self, snaps) -> None:
        wanted = [s.asset for s in snaps]
        for asset in list(self.gauges):
            if asset not in wanted:
                gauge = self.gauges.pop(asset)
                self._layout.removeWidget(gauge)
                gauge.deleteLater()
        for pos, snap in enumerate(snaps):
            gauge = self.gauges.get(snap.asset)
            if gauge is None:
                gauge = self.gauges[snap.asset] = AssetGauge(snap.asset, self)
            gauge.set_snapshot(snap)  # repaints only when the snapshot shows something new
            if self._layout.indexOf(gauge) != pos:
                self._layout.removeWidget(gauge)
                self._layout.insertWidget(pos, gauge)
        self.empty.setVisible(not snaps)

    def restyle(self) -> None:
        """Redraw the gauges for the current palette: they are pictures drawn for one."""
        for gauge in self.gauges.values():
            if gauge.snapshot is not None:
                gauge.render_pixmap()
