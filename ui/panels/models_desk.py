"""The Models panel's desk-adapted versions: sentiment versions trained on the desk's analyst labels,
their figures side by side with the active model's, which one serves and why, and the actions:
train (a background job with progress and Cancel), promote and roll back (one click each, confirmed
in a non-blocking dialog, audited by the engine), import and export the analyst labels.

Everything goes through the desk-learning feature (app/bridge/desklearn.py); its ``overview`` feed
refreshes the box after any change, whoever made it. The actions are QActions (``train_action``,
``promote_action``, ``rollback_action``, ``import_labels_action``, ``export_labels_action``) so the
main window can put them in a menu.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ui.widgets.actions import panel_action
from ui.widgets.banner import Banner

if TYPE_CHECKING:
    from app.bridge.desklearn import DeskLearningFeature, TrainOutcome

COLUMNS = ("Version", "State", "Labels", "Desk-label F1 (this vs active)", "Guard-set F1 (this vs active)",
           "Worst guard part", "Calibrator", "Trained", "Last action")
COL_VERSION, COL_STATE, COL_LABELS, COL_DESK, COL_GUARD, COL_WORST, COL_CALIBRATOR, COL_TRAINED, COL_LAST = \
    range(len(COLUMNS))
STATE_TEXT = {"active": "● active", "offered": "offered", "refused": "not offered", "missing": "missing"}
MIN_LABELS = 30  # engine/desklearn/service.py MIN_LABELS: said in the tooltip, the engine decides


def _f1(part: dict | None) -> str:
    """ "0.812 vs 0.701 (+0.111)" from an evaluation part {"candidate", "active", "delta"}."""
    if not part:
        return "–"
    cand, act = part.get("candidate", {}), part.get("active", {})
    return f"{cand.get('weighted_f1', 0):.3f} vs {act.get('weighted_f1', 0):.3f} ({part.get('delta', 0):+.3f})"


def _worst_guard(evaluation: dict) -> tuple[str, dict | None]:
    guard = evaluation.get("guard") or {}
    parts = {k: v for k, v in guard.items() if k != "all"} or guard
    if not parts:
        return "", None
    name = min(parts, key=lambda k: parts[k].get("delta", 0))
    return name, parts[name]


def _stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else "?"


class DeskVersionsBox(QGroupBox):
    statusMessage = Signal(str)

    def __init__(self, desk: DeskLearningFeature) -> None:
        super().__init__("Desk-adapted sentiment versions (learned from analyst labels)")
        self.setObjectName("deskVersionsBox")
        self._desk = desk
        self.overview = None  # the last engine.desklearn.service.DeskOverview
        self._training = False
        self._confirm: QMessageBox | None = None  # the open confirmation, if any
        self._last_dir = str(Path.home())

        self.why = QLabel("waiting for the engine…")
        self.why.setObjectName("deskWhy")
        self.why.setWordWrap(True)
        self.why.setTextFormat(Qt.TextFormat.RichText)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.labels_line = QLabel()
        self.labels_line.setObjectName("deskLabels")
        self.labels_line.setWordWrap(True)
        self.message = Banner("deskMessage")

        self._build_actions()
        self._build_table()
        self.progress = QProgressBar()
        self.progress.setObjectName("deskTrainProgress")
        self.progress.setRange(0, 1000)
        self.progress.setFormat("%p%")
        self.progress.hide()
        self.stage = QLabel()
        self.stage.setObjectName("deskTrainStage")
        self.stage.hide()

        self.train_button = self._button(self.train_action, "deskTrainButton")
        self.cancel_button = self._button(self.cancel_action, "deskCancelButton")
        self.promote_button = self._button(self.promote_action, "deskPromoteButton")
        self.rollback_button = self._button(self.rollback_action, "deskRollbackButton")
        self.import_button = self._button(self.import_labels_action, "deskImportButton")
        self.export_button = self._button(self.export_labels_action, "deskExportButton")
        buttons = QHBoxLayout()
        for widget in (self.train_button, self.cancel_button, self.progress, self.stage, self.promote_button,
                       self.rollback_button, self.import_button, self.export_button):
            buttons.addWidget(widget, 1 if widget is self.progress else 0)
        buttons.addStretch(1)

        self.details = QLabel("Select a version to see why it is or is not offered for promotion.")
        self.details.setObjectName("deskDetails")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addWidget(self.why)
        layout.addWidget(self.labels_line)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        layout.addWidget(self.details)

        desk.overview.connect(self.show_overview)
        desk.trainProgress.connect(self._on_progress)
        desk.trained.connect(self._on_trained)
        self._update_actions()
        if desk.info is not None:  # the engine started before this box was built: its overview went by
            desk.refresh()

    def refresh(self) -> None:
        self._desk.refresh()

    # -- construction -------------------------------------------------------------------
    def _build_actions(self) -> None:
        def action(name: str, text: str, tip: str, slot, keys: str = "") -> QAction:
            return panel_action(self, name, text, tip, slot, keys)

        self.train_action = action("trainDeskAction", "Train desk version",
                                   "Train a sentiment version on every analyst label, in the background "
                                   "(Ctrl+Shift+T)", self.train, "Ctrl+Shift+T")
        self.cancel_action = action("cancelTrainingAction", "Cancel", "Stop the training; nothing is written",
                                    self.cancel_training)
        self.promote_action = action("promoteDeskAction", "Promote…",
                                     "Make the selected version the active sentiment model (audited)", self.promote)
        self.rollback_action = action("rollbackDeskAction", "Roll back…",
                                      "Undo the last promotion: the model active before it serves again (audited)",
                                      self.rollback)
        self.import_labels_action = action("importLabelsAction", "Import labels…",
                                           "Import a labelled CSV (text,label) as your analyst labels",
                                           self.import_labels)
        self.export_labels_action = action("exportLabelsAction", "Export labels…",
                                           "Write every analyst label (who, when, model version) to a CSV file",
                                           self.export_labels)

    @staticmethod
    def _button(act: QAction, name: str) -> QPushButton:
        btn = QPushButton(act.text())
        btn.setObjectName(name)
        btn.clicked.connect(act.trigger)
        btn.setToolTip(act.toolTip())
        act.changed.connect(lambda a=act, b=btn: (b.setEnabled(a.isEnabled()), b.setToolTip(a.toolTip()),
                                                  b.setVisible(a.isVisible())))
        return btn

    def _build_table(self) -> None:
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("deskVersionsTable")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        row_h = self.table.verticalHeader().defaultSectionSize()
        # A few versions at a glance, scrolling beyond: the box must not push the rest of the page away.
        self.table.setMinimumHeight(row_h * 3 + self.table.horizontalHeader().sizeHint().height())
        self.table.setMaximumHeight(row_h * 6 + self.table.horizontalHeader().sizeHint().height() + 24)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addActions([self.promote_action, self.rollback_action])
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.itemDoubleClicked.connect(lambda _item: self.promote())

    # -- the overview --------------------------------------------------------------------
    @Slot(object)
    def show_overview(self, overview) -> None:
        selected = self.selected_version()
        self.overview = overview
        active_id, active_version = overview.active
        self.why.setText(f"<b>Serving sentiment: {html.escape(active_id)} {html.escape(active_version)}</b> — "
                         f"{html.escape(overview.why)}")
        labels = overview.labels
        by_label = ", ".join(f"{n:,} {name}" for name, n in sorted(labels.by_label.items())) or "none"
        analysts = ", ".join(f"{who} {n:,}" for who, n in sorted(labels.by_analyst.items())) or "nobody yet"
        self.labels_line.setText(
            f"Analyst labels: {labels.total:,} ({labels.usable:,} usable for training: {by_label}; "
            f"{labels.wrong_without_label:,} 'wrong' without the right label; {labels.in_guard_set:,} in the "
            f"guard set). By analyst: {analysts}.")
        self.table.setRowCount(len(overview.versions))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for row, v in enumerate(overview.versions):
            ev = v.evaluation or {}
            worst_name, worst = _worst_guard(ev)
            against = ev.get("against", {})
            cells = [f"{v.id} ({v.version})", STATE_TEXT.get(v.state, v.state), f"{v.labels:,}",
                     _f1(ev.get("desk")), _f1((ev.get("guard") or {}).get("all")),
                     f"{worst_name} {worst['delta']:+.3f}" if worst else "–", v.calibrator,
                     f"{_stamp(v.created_at)} by {v.created_by}", v.last_action or "–"]
            reasons = "\n".join(ev.get("reasons", []))
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, v.id)
                if v.state == "active":
                    item.setFont(bold)
                tip = reasons
                if col in (COL_DESK, COL_GUARD, COL_WORST) and against:
                    tip = f"Against {against.get('id')} {against.get('version')}:\n{reasons}"
                if col == COL_STATE and v.state == "missing":
                    tip = v.missing_reason
                item.setToolTip(tip)
                self.table.setItem(row, col, item)
        if selected is not None:
            self.select_version(selected.id)
        elif overview.versions:
            self.select_version(overview.versions[-1].id)  # the newest: what the analyst just trained
        self._update_actions()

    def version(self, model_id: str):
        versions = self.overview.versions if self.overview is not None else ()
        return next((v for v in versions if v.id == model_id), None)

    def selected_version(self):
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or self.overview is None:
            return None
        item = self.table.item(rows[0].row(), 0)
        return self.version(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def select_version(self, model_id: str) -> bool:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == model_id:
                self.table.selectRow(row)
                return True
        return False

    def cell(self, model_id: str, col: int) -> str:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).data(Qt.ItemDataRole.UserRole) == model_id:
                return self.table.item(row, col).text()
        raise KeyError(model_id)

    # -- action state --------------------------------------------------------------------
    @Slot()
    def _update_actions(self) -> None:
        v = self.selected_version()
        self._show_details(v)
        usable = self.overview.labels.usable if self.overview is not None else 0
        self.train_action.setEnabled(not self._training and self.overview is not None)
        self.train_action.setToolTip(
            "A desk version is being trained" if self._training else
            f"Train a sentiment version on the {usable:,} usable analyst labels (at least {MIN_LABELS}), in the "
            "background; it is evaluated before anyone can use it (Ctrl+Shift+T)")
        self.cancel_action.setVisible(self._training)
        self.cancel_action.setEnabled(self._training)
        confirming = self._confirm is not None and self._confirm.isVisible()
        can_promote = v is not None and v.state == "offered" and not confirming
        self.promote_action.setEnabled(can_promote)
        if v is None:
            self.promote_action.setToolTip("Select a desk version first")
        elif v.state == "offered":
            self.promote_action.setToolTip(f"Make {v.id} the active sentiment model: {v.summary}")
        else:
            self.promote_action.setToolTip(f"{v.id} is {STATE_TEXT.get(v.state, v.state)}: {v.summary}"
                                           if v.state != "missing" else f"{v.id} is missing: {v.missing_reason}")
        active_is_desk = any(x.state == "active" for x in (self.overview.versions if self.overview else ()))
        self.rollback_action.setEnabled(active_is_desk and not confirming)
        self.rollback_action.setToolTip(
            "Undo the last promotion: the model active before it serves again (audited)" if active_is_desk
            else "Nothing to roll back: no desk version serves now")

    def _show_details(self, v) -> None:
        if v is None:
            self.details.setText("Select a version to see why it is or is not offered for promotion.")
            return
        ev = v.evaluation or {}
        against = ev.get("against", {})
        verdict = {"active": "serving now", "offered": "offered for promotion",
                   "refused": "not offered for promotion", "missing": f"missing: {v.missing_reason}"}[v.state] \
            if v.state in STATE_TEXT else v.state
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in ev.get("reasons", []))
        self.details.setText(
            f"<b>{html.escape(v.id)}</b> {html.escape(v.version)} on {html.escape(v.base[0])} {html.escape(v.base[1])}"
            f" · {html.escape(verdict)} · evaluated against {html.escape(str(against.get('id', '?')))} "
            f"{html.escape(str(against.get('version', '')))} · calibrator {html.escape(v.calibrator)}"
            + (f"<ul style='margin:2px 0 0 -20px'>{reasons}</ul>" if reasons else ""))

    # -- training -------------------------------------------------------------------------
    @Slot()
    def train(self) -> None:
        if self._training:
            self.message.show_text("A desk version is being trained already.", "warning")
            return
        if self._desk.train() is None:
            return  # refused at once: the outcome says why
        self._training = True
        self.progress.setValue(0)
        self.progress.show()
        self.stage.setText("starting…")
        self.stage.show()
        self.message.show_text("Training a desk version in the background; scoring carries on. It is evaluated on "
                               "held-out labels and the guard set before it can be promoted.", "info")
        self.statusMessage.emit("Training a desk version…")
        self._update_actions()

    @Slot()
    def cancel_training(self) -> None:
        if self._training:
            self._desk.cancel_training()
            self.stage.setText("cancelling…")
            self.cancel_action.setEnabled(False)

    @Slot(object)
    def _on_progress(self, progress) -> None:
        if not self._training or not hasattr(progress, "fraction"):
            return  # an evaluation's or import's progress, not a training's
        self.progress.setValue(int(progress.fraction * 1000))
        counted = f" {progress.done:,}/{progress.total:,}" if progress.total > 1 else ""
        self.stage.setText(f"{progress.stage}{counted}")

    @Slot(object)
    def _on_trained(self, outcome: TrainOutcome) -> None:
        self._training = False
        self.progress.hide()
        self.stage.hide()
        if outcome.cancelled:
            self.message.show_text("Training cancelled; no version was written.", "info")
        elif outcome.error:
            self.message.show_text(f"No desk version was trained: {outcome.error}", "error")
        else:
            v = outcome.version
            took = sum(outcome.seconds.values()) if outcome.seconds else 0.0
            offer = ("Offered for promotion: select it and press Promote." if v.state == "offered"
                     else "Not offered for promotion (see why below).")
            self.message.show_text(f"Trained {v.id} ({v.version}) on {v.labels:,} labels in {took:.0f} s: "
                                   f"{v.summary}. {offer}", "info" if v.state == "offered" else "warning")
            self.select_version(v.id)
        self.statusMessage.emit("Desk training " + ("cancelled" if outcome.cancelled else
                                                    "failed" if outcome.error else "finished"))
        self._update_actions()

    # -- promotion and rollback -------------------------------------------------------------
    def _ask(self, title: str, text: str, yes: str, on_yes) -> None:
        """A confirmation that does not block the desk: the answer arrives through ``finished``."""
        box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("deskConfirm")
        go = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def answered(_result: int) -> None:
            self._confirm = None
            if box.clickedButton() is go:
                on_yes()
            self._update_actions()
            box.deleteLater()

        box.finished.connect(answered)
        self._confirm = box
        box.open()
        self._update_actions()

    @Slot()
    def promote(self) -> None:
        v = self.selected_version()
        if v is None or v.state != "offered":
            self.message.show_text("Select a version offered for promotion first." if v is None else
                                   f"{v.id} cannot be promoted: {v.summary}", "warning")
            return
        active = self.overview.active
        self._ask("Promote desk version",
                  f"Make {v.id} ({v.version}) the active sentiment model?\n\n{v.summary}\n\n{active[0]} "
                  f"({active[1]}) stops serving; Roll back brings it back. Signals already scored keep the version "
                  "that scored them.", "Promote",
                  lambda: self._switch_started(f"Promoting {v.id}…",
                                               self._desk.promote(v.id, self._on_switched, self._on_refused)))

    @Slot()
    def rollback(self) -> None:
        active = self.overview.active if self.overview is not None else ("?", "")
        self._ask("Roll back promotion",
                  f"Undo the last promotion? {active[0]} ({active[1]}) stops serving and the model active before "
                  "it serves again.", "Roll back",
                  lambda: self._switch_started("Rolling back…", self._desk.rollback(self._on_switched,
                                                                                    self._on_refused)))

    def _switch_started(self, text: str, _op) -> None:
        self.message.show_text(text, "info")

    def _on_switched(self, text: str) -> None:
        self.message.show_text(f"{text}. Recorded in the audit trail.", "info")
        self.statusMessage.emit(text)

    def _on_refused(self, text: str) -> None:
        self.message.show_text(text, "error")

    # -- labels ----------------------------------------------------------------------------
    @Slot()
    def export_labels(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export analyst labels", str(Path(self._last_dir) /
                                                                                  "analyst-labels.csv"),
                                              "CSV files (*.csv);;All files (*)")
        if not path:
            return
        self._last_dir = str(Path(path).parent)
        self._desk.export_labels(
            path, lambda n: self.message.show_text(f"Exported {n:,} analyst labels to {path}.", "info"),
            lambda error: self.message.show_text(f"Labels were not exported: {error}", "error"))

    @Slot()
    def import_labels(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import analyst labels (CSV: text,label)", self._last_dir,
                                              "CSV files (*.csv);;All files (*)")
        if not path:
            return
        self._last_dir = str(Path(path).parent)
        self.message.show_text(f"Importing {Path(path).name}…", "info")
        self._desk.import_labels(path, self._on_imported,
                                 lambda error: self.message.show_text(f"Nothing was imported: {error}", "error"))

    def _on_imported(self, report) -> None:
        extra = f"; {len(report.errors):,} rows skipped" if report.errors else ""
        replaced = f", replacing {report.replaced:,} earlier" if report.replaced else ""
        self.message.show_text(f"Imported {report.imported:,} analyst labels as {report.analyst}{replaced}{extra}.",
                               "info" if not report.errors else "warning")
