"""Alerts in the desk: the notification (a system tray message where the desktop has a tray, an
in-app toast otherwise), the alerts log dialog and the alert settings dialog.

The engine decides and rate-limits alerts (engine/alerts.py); this module only shows what the
alerts feature (app/bridge/alerts.py) delivers, and writes the settings through it: they are saved
to ``[alerts]`` in config.toml and apply to the next scored batch.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Sequence

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSystemTrayIcon,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.alerts import ALERT_LABELS, IMPACT_ORDER
from ui.models.base import Index, RowTableModel
from ui.theme import MESSAGE_STYLES, is_dark, label_colors
from ui.widgets.tables import fit_columns, setup_record_table
from ui.widgets.toast import Toast

if TYPE_CHECKING:
    from app.bridge.alerts import Alert, AlertsFeature, AlertSettings, AlertsRaised

NOTIFY_MS = 10_000
LOG_COLUMNS = ("Time", "Symbol", "Label", "Conf.", "Impact", "Headline")


def alert_title(alerts: Sequence[Alert]) -> str:
    if len(alerts) == 1:
        a = alerts[0]
        return f"Alert: {a.symbol} {a.label} {a.confidence:.0%}"
    return f"{len(alerts)} alerts: {', '.join(dict.fromkeys(a.symbol for a in alerts))}"


def alert_body(alerts: Sequence[Alert]) -> str:
    lines = [f"{a.symbol}: {a.headline}" if len(alerts) > 1 else f"{a.headline}\n{a.reason}" for a in alerts[:3]]
    if len(alerts) > 3:
        lines.append(f"… and {len(alerts) - 3} more in the alerts log")
    return "\n".join(lines)


class AlertNotifier(QObject):
    """Shows every alert batch once: in the system tray when there is one, else as a toast."""

    shown = Signal(str)  # the title, for the status bar
    openLog = Signal()  # the tray message or the toast was clicked

    def __init__(self, alerts: AlertsFeature, window: QWidget, icon: QIcon) -> None:
        super().__init__(window)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon, self)
            self.tray.setToolTip("SignalDesk")
            self.tray.messageClicked.connect(self.openLog)
            self.tray.show()
        self.toast = Toast(window)
        self.toast.clicked.connect(self.openLog)
        self.last: tuple[str, str, str] | None = None  # (where, title, body) of the newest notification
        alerts.raised.connect(self.notify)

    @Slot(object)
    def notify(self, raised: AlertsRaised) -> None:
        alerts = raised.alerts
        if not alerts:
            return
        title, body = alert_title(alerts), alert_body(alerts)
        if self.tray is not None:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, NOTIFY_MS)
            self.last = ("tray", title, body)
        else:
            self.toast.show_message(title, body, NOTIFY_MS)
            self.last = ("toast", title, body)
        self.shown.emit(title)


class AlertLogModel(RowTableModel):
    columns = LOG_COLUMNS
    header_tips = ("When the alert was raised", "Watchlist symbol", "Sentiment label",
                   "Confidence it was raised on (calibrated when the model has a calibrator)",
                   "Event impact (class)", "The headline; hover for why it alerted")

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[Alert] = []

    def set_alerts(self, alerts: Sequence[Alert]) -> None:
        self.beginResetModel()
        self._rows = list(alerts)
        self.endResetModel()

    def add_newest(self, alerts: Sequence[Alert]) -> None:
        known = {a.id for a in self._rows}
        fresh = [a for a in alerts if a.id not in known]
        if fresh:
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self._rows[:0] = sorted(fresh, key=lambda a: a.id or 0, reverse=True)
            self.endInsertRows()

    def alert_at(self, row: int) -> Alert:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        a, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return (time.strftime("%m-%d %H:%M:%S", time.localtime(a.created_at)), a.symbol, a.label,
                    f"{a.confidence:.0%}", f"{a.impact} ({a.category})", a.headline)[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{a.headline}\n{a.reason}\nsignal #{a.signal_id}"
        if role in (Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.BackgroundRole) and col == 2:
            colors = label_colors(a.label, is_dark())
            return None if colors is None else colors[0 if role == Qt.ItemDataRole.ForegroundRole else 1]
        return None


class AlertsLogDialog(QDialog):
    """The alerts log, newest first; new alerts join it while it is open. Double-click a row to
    open its symbol's asset view."""

    assetRequested = Signal(str)

    def __init__(self, alerts: AlertsFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertsLogDialog")
        self.setWindowTitle("Alerts log")
        self.resize(900, 420)
        self._alerts = alerts
        self._reading = alerts.latest()
        self.model = AlertLogModel(self)
        self.table = QTableView()
        self.table.setObjectName("alertsTable")
        self.table.setModel(self.model)
        setup_record_table(self.table, single_selection=True)
        fit_columns(self.table, {0: "12-31 23:59:59", 1: "VOW3.DE", 2: "bullish", 3: "100%",
                                 4: "high (regulatory)"}, pad=18)
        self.table.doubleClicked.connect(self._on_activated)
        self.table.activated.connect(self._on_activated)
        self.symbol_filter = QLineEdit()
        self.symbol_filter.setObjectName("alertsSymbolFilter")
        self.symbol_filter.setPlaceholderText("Symbol (all when empty)")
        self.symbol_filter.setMaxLength(16)
        self.symbol_filter.setMinimumWidth(200)
        self.symbol_filter.returnPressed.connect(self.reload)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.reload)
        self.status = QLabel()
        self.status.setObjectName("alertsStatus")
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.symbol_filter)
        row.addWidget(self.refresh_button)
        row.addStretch(1)
        row.addWidget(self.status)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        alerts.raised.connect(self._on_raised)

    @Slot()
    def reload(self) -> None:
        symbol = self.symbol_filter.text().strip() or None
        self.status.setText("Reading…")
        self._reading.track(self._alerts.recent(self._on_listed, self._on_failed, symbol=symbol))

    def _on_listed(self, alerts: tuple[Alert, ...]) -> None:
        self.model.set_alerts(alerts)
        self.status.setText(f"{len(alerts):,} alert{'' if len(alerts) == 1 else 's'}")

    def _on_failed(self, error: str) -> None:
        self.status.setText(error)

    @Slot(object)
    def _on_raised(self, raised: AlertsRaised) -> None:
        symbol = self.symbol_filter.text().strip().upper()
        self.model.add_newest([a for a in raised.alerts if not symbol or a.symbol == symbol])
        self.status.setText(f"{self.model.rowCount():,} alerts")

    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.assetRequested.emit(self.model.alert_at(index.row()).symbol)


class AlertSettingsDialog(QDialog):
    """The off switch and thresholds; Save writes ``[alerts]`` and applies them to the running desk."""

    saved = Signal(object)  # AlertSettings

    def __init__(self, alerts: AlertsFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertSettingsDialog")
        self.setWindowTitle("Alert settings")
        self._alerts = alerts
        self.enabled = QCheckBox("Raise alerts for watchlist symbols")
        self.enabled.setObjectName("alertsEnabled")
        self.min_confidence = QDoubleSpinBox()
        self.min_confidence.setObjectName("alertsMinConfidence")
        self.min_confidence.setRange(0, 100)
        self.min_confidence.setDecimals(0)
        self.min_confidence.setSuffix(" %")
        self.min_confidence.setToolTip("Calibrated confidence a signal needs (raw when its model has no calibrator)")
        self.min_impact = QComboBox()
        self.min_impact.setObjectName("alertsMinImpact")
        for impact in IMPACT_ORDER:
            self.min_impact.addItem(f"{impact} or higher", impact)
        self.labels = {label: QCheckBox(label) for label in ALERT_LABELS}
        self.rate_limit = QDoubleSpinBox()
        self.rate_limit.setObjectName("alertsRateLimit")
        self.rate_limit.setRange(0, 24 * 60)
        self.rate_limit.setDecimals(0)
        self.rate_limit.setSuffix(" min")
        self.rate_limit.setToolTip("At most one alert per symbol in this window; a burst of news raises one")
        self.max_age = QDoubleSpinBox()
        self.max_age.setObjectName("alertsMaxAge")
        self.max_age.setRange(0.5, 24 * 30)
        self.max_age.setDecimals(1)
        self.max_age.setSuffix(" h")
        self.max_age.setToolTip("News published longer ago than this never alerts (a replayed old file stays quiet)")
        labels_row = QHBoxLayout()
        for box in self.labels.values():
            box.setObjectName(f"alertsLabel_{box.text()}")
            labels_row.addWidget(box)
        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("Minimum confidence", self.min_confidence)
        form.addRow("Minimum impact", self.min_impact)
        form.addRow("Labels", labels_row)
        form.addRow("One alert per symbol every", self.rate_limit)
        form.addRow("Only news younger than", self.max_age)
        self.error = QLabel()
        self.error.setObjectName("alertsSettingsError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.note = QLabel("Saved to [alerts] in config.toml; applies to the next news scored.")
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.enabled.toggled.connect(self._update_enabled)
        if alerts.current is not None:
            self.load(alerts.current)

    def load(self, settings: AlertSettings) -> None:
        c = settings.config
        self.enabled.setChecked(c.enabled)
        self.min_confidence.setValue(round(c.min_confidence * 100))
        self.min_impact.setCurrentIndex(self.min_impact.findData(c.min_impact))
        for label, box in self.labels.items():
            box.setChecked(label in c.label_set)
        self.rate_limit.setValue(c.rate_limit_s / 60)
        self.max_age.setValue(c.max_age_hours)
        if settings.overridden:
            self.note.setText(self.note.text() + " Set by environment variables, which win over the file: "
                              + ", ".join(settings.overridden) + ".")
        self._update_enabled()

    def values(self) -> dict:
        return {"enabled": self.enabled.isChecked(), "min_confidence": self.min_confidence.value() / 100,
                "min_impact": self.min_impact.currentData(),
                "labels": ",".join(label for label, box in self.labels.items() if box.isChecked()),
                "rate_limit_s": self.rate_limit.value() * 60, "max_age_hours": self.max_age.value()}

    def _update_enabled(self) -> None:
        on = self.enabled.isChecked()
        for widget in (self.min_confidence, self.min_impact, self.rate_limit, self.max_age, *self.labels.values()):
            widget.setEnabled(on)

    @Slot()
    def save(self) -> None:
        values = self.values()
        if not values["labels"]:
            self.show_error("Tick at least one label, or switch alerts off.")
            return
        self.buttons.setEnabled(False)
        self._alerts.save_settings(values, self._on_saved, self._on_refused)

    def _on_saved(self, settings: AlertSettings) -> None:
        self.buttons.setEnabled(True)
        self.saved.emit(settings)
        self.accept()

    def _on_refused(self, error: str) -> None:
        self.buttons.setEnabled(True)
        self.show_error(error)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setStyleSheet(MESSAGE_STYLES["error"])
        self.error.show()
