"""Models panel: what this machine can run, which model serves each task, and why.

Every action goes through the models feature (app/bridge/models.py) and returns at once; the
answers come on its ``snapshot`` / ``event`` / ``error`` / ``benchmark*`` feed, so the UI thread
never waits for a load, a hash check or a benchmark.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.models.model_table import (
    COL_BACKEND,
    COL_MEMORY,
    COL_MODEL,
    COL_P50,
    COL_P95,
    COL_QUALITY,
    COL_SIZE,
    COL_SOURCE,
    COL_STATUS,
    COL_TASK,
    COL_VERSION,
    MODEL_ROLE,
    NOT_INSTALLED,
    SORT_ROLE,
    ModelTableModel,
    not_installed_html,
    usable,
)
from ui.panels.models_add import AddModelBox, fit_prompt
from ui.panels.models_benchmark import BenchmarkRun, benchmark_summary
from ui.panels.models_desk import DeskVersionsBox
from ui.panels.models_endpoint import EndpointDialog
from ui.panels.models_summary import LoadedModelsBox, MachineBox, SentimentNowBox, WhyModelsBox
from ui.widgets.actions import panel_action
from ui.widgets.banner import Banner
from ui.widgets.tables import fit_columns, setup_record_table

if TYPE_CHECKING:
    from app.bridge.desklearn import DeskLearningFeature
    from app.bridge.host import EngineInfo
    from app.bridge.models import GgufFit, ModelsFeature, ModelsSnapshot
    from engine.models.manager import ModelEvent, ModelInfo

# Operator-requested actions whose end is announced by a model event of this kind.
_PENDING_EVENT = {"switch": "switched", "add": "added", "remove": "removed"}


def details_html(info: ModelInfo | None) -> str:
    """The selected model in full: why it can or cannot run, where it comes from (file, endpoint host),
    whether a GGUF fits from its header, and what was measured here."""
    if info is None:
        return "Select a model to see why it can or cannot run here."
    mark = "✓" if usable(info) else "✗"
    head = (f"<b>{html.escape(info.id)}</b> {html.escape(info.version)} · {info.task} · {info.backend} · "
            f"{info.origin}{' · serving now' if info.active else ''}")
    if info.status == NOT_INSTALLED:
        return f"{head} — {not_installed_html(info)}"
    extra = [html.escape(info.source)] if info.source else []
    if info.memory_estimate:  # a GGUF generator: will it fit, from its header, before it loads
        fit = info.memory_estimate
        text = html.escape(str(fit.get("text", "")))
        extra.append(f"<span style='color:#b91c1c'>⚠ memory: {text}</span>" if fit.get("fits") is False
                     else f"memory: {text}")
    if info.benchmark:
        extra.append("benchmarked here: " + html.escape(benchmark_summary(info.id, info.benchmark).split(": ", 1)[1]))
    elif usable(info):
        extra.append("not benchmarked here yet (Ctrl+B)")
    return f"{head} — {mark} {html.escape(info.reason)}" + "".join(f"<br>{e}" for e in extra)


class ModelTableView(QTableView):
    """Keys on the table itself as well as panel shortcuts: shortcuts need an active window,
    key presses do not (offscreen, or right after launch)."""

    switchRequested = Signal()
    benchmarkRequested = Signal()
    removeRequested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key, mods = event.key(), event.modifiers()
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not mods & ~Qt.KeyboardModifier.KeypadModifier:
            event.accept()
            self.switchRequested.emit()
            return
        if key == Qt.Key.Key_B and mods == Qt.KeyboardModifier.ControlModifier:
            event.accept()
            self.benchmarkRequested.emit()
            return
        if key == Qt.Key.Key_Delete and not mods:
            event.accept()
            self.removeRequested.emit()
            return
        super().keyPressEvent(event)


class ModelsPanel(QWidget):
    statusMessage = Signal(str)  # short, transient text for the main window's status bar
    alertMessage = Signal(str)  # a fallback: the status bar keeps it on show for longer

    def __init__(self, models: ModelsFeature, parent: QWidget | None = None, *,
                 desklearn: DeskLearningFeature | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        self._models = models
        self._pending: tuple[str, str] | None = None  # (switch|add|remove, model id or path)
        self._select_next: str | None = None  # model id to select once a snapshot lists it
        self._announced_degraded = ""
        self._snapshot: ModelsSnapshot | None = None
        self.endpoint_dialog: EndpointDialog | None = None  # made on first use
        self.fit_box: QMessageBox | None = None  # the open "may not fit" warning, if any

        self.machine = MachineBox()
        self.serving = SentimentNowBox()
        top = QHBoxLayout()
        top.addWidget(self.machine, 3)
        top.addWidget(self.serving, 2)

        self.banner = Banner("modelsBanner")  # fallbacks: stays until dismissed
        self.message = Banner("modelsMessage")  # answers to the operator's own actions

        self._build_actions()
        self._build_table()
        actions = QHBoxLayout()
        for button in (self.switch_button, self.benchmark_button, self.remove_button):
            actions.addWidget(button)
        actions.addSpacing(12)
        actions.addWidget(self.benchmark)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)

        config = models.config
        self.reasons = WhyModelsBox(config.model_priority)
        self.loaded = LoadedModelsBox(config.model_memory_limit_mb, config.max_model_cache_size)
        self.adding = AddModelBox()
        self.adding.addRequested.connect(self._add)
        self.adding.endpointRequested.connect(self.open_endpoint_dialog)
        # Desk-adapted sentiment versions (#21): only when the desk-learning feature is given.
        self.desk_versions = DeskVersionsBox(desklearn) if desklearn is not None else None
        if self.desk_versions is not None:
            self.desk_versions.statusMessage.connect(self.statusMessage)
            self.refresh_action.triggered.connect(self.desk_versions.refresh)
            desklearn.trained.connect(lambda _outcome: models.refresh())  # a new version joins the table
        bottom = QHBoxLayout()
        bottom.addWidget(self.reasons, 3)
        right = QVBoxLayout()
        right.addWidget(self.loaded, 1)
        right.addWidget(self.adding)
        bottom.addLayout(right, 2)

        # One page that scrolls when the window is small (a laptop screen): the sections keep their
        # readable sizes instead of setting the whole window's minimum height.
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addLayout(actions)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        if self.desk_versions is not None:
            layout.addWidget(self.desk_versions)
        layout.addLayout(bottom)
        self.table.setMinimumHeight(self.table.verticalHeader().defaultSectionSize() * 6)
        scroll = QScrollArea()
        scroll.setObjectName("modelsScroll")
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        models.snapshot.connect(self._on_models_changed)
        models.event.connect(self._on_model_event)
        models.error.connect(self._on_model_error)
        models.failed.connect(self._on_engine_failed)
        self._update_actions()
        if models.info is not None:  # the engine started before this panel was built
            models.refresh()

    # -- construction -------------------------------------------------------------------
    def _build_actions(self) -> None:
        def action(name: str, text: str, tip: str, slot, keys: str = "") -> QAction:
            return panel_action(self, name, text, tip, slot, keys)

        self.switch_action = action("switchModelAction", "Switch to selected",
                                    "Make the selected model serve its task (Enter or double-click)",
                                    self.switch_selected)
        self.benchmark_action = action("benchmarkAction", "Run benchmark",
                                       "Measure load time, latency, memory and quality on this machine (Ctrl+B)",
                                       self.benchmark_selected, "Ctrl+B")
        self.remove_action = action("removeModelAction", "Remove…",
                                    "Forget a model you added (Delete); its files are not touched",
                                    self.remove_selected)
        self.refresh_action = action("refreshModelsAction", "Refresh", "Ask the engine for the current state (F5)",
                                     self._models.refresh, "F5")

        def button(act: QAction, name: str) -> QPushButton:
            # Push buttons mirror their action (enabled state, tooltip) so both stay in step.
            btn = QPushButton(act.text())
            btn.setObjectName(name)
            btn.clicked.connect(act.trigger)
            act.changed.connect(lambda a=act, b=btn: (b.setEnabled(a.isEnabled()), b.setToolTip(a.toolTip())))
            return btn

        self.switch_button = button(self.switch_action, "switchButton")
        self.benchmark_button = button(self.benchmark_action, "benchmarkButton")
        self.remove_button = button(self.remove_action, "removeButton")
        self.refresh_button = button(self.refresh_action, "refreshButton")

        self.benchmark = BenchmarkRun(self._models)
        self.benchmark.statusMessage.connect(self.statusMessage)
        self.benchmark.messageRequested.connect(self.message.show_text)
        self.benchmark.finished.connect(self._update_actions)

    def _build_table(self) -> None:
        self.model = ModelTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setObjectName("modelProxy")
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.table = ModelTableView()
        self.table.setObjectName("modelTable")
        self.table.setModel(self.proxy)
        view = self.table
        setup_record_table(view, single_selection=True)
        fit_columns(view, {COL_TASK: "generation", COL_MODEL: "● smollm2-135m-instruct", COL_STATUS: "not installed",
                           COL_SOURCE: "package", COL_BACKEND: "llama_cpp", COL_VERSION: "1.0.0", COL_SIZE: "253 MB",
                           COL_MEMORY: "Memory", COL_P50: "p50 ms", COL_P95: "p95 ms",
                           COL_QUALITY: "F1 0.708 (card)"}, pad=24)
        # Grouped by task (engine order) until the operator sorts by another column.
        view.setSortingEnabled(True)
        view.sortByColumn(COL_TASK, Qt.SortOrder.AscendingOrder)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        view.addActions([self.switch_action, self.benchmark_action, self.remove_action])
        view.selectionModel().selectionChanged.connect(self._update_actions)
        view.doubleClicked.connect(self.switch_selected)
        view.switchRequested.connect(self.switch_selected)
        view.benchmarkRequested.connect(self.benchmark_selected)
        view.removeRequested.connect(self.remove_selected)
        # The selected row in full: the table cuts long reasons, this line does not.
        self.details = QLabel("Select a model to see why it can or cannot run here.")
        self.details.setObjectName("modelDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def _fit_model_column(self) -> None:
        """Widen the Model column to the longest id in use (user ids can be anything)."""
        bold = QFont(self.table.font())
        bold.setBold(True)  # active rows are bold, and wider
        fm = QFontMetrics(bold)
        needed = max((fm.horizontalAdvance(f"● {m.id}") for m in self.model.models()), default=0) + 24
        if needed > self.table.columnWidth(COL_MODEL):
            self.table.setColumnWidth(COL_MODEL, min(needed, fm.horizontalAdvance("M" * 24)))

    # -- engine info (from the main window) ---------------------------------------------
    def set_info(self, info: EngineInfo) -> None:
        self.machine.set_hardware(info.hardware)
        self.serving.set_info(info)

    def set_failed(self, message: str) -> None:
        self.serving.set_failed(message)

    @property
    def snapshot(self) -> ModelsSnapshot | None:
        """The last state the engine reported (None until the first one arrives)."""
        return self._snapshot

    # -- selection and action state -----------------------------------------------------
    def selected_info(self) -> ModelInfo | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].data(MODEL_ROLE) if rows else None

    def select_model(self, model_id: str) -> bool:
        row = self.model.row_of(model_id)
        if row < 0:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def _show_details(self, info: ModelInfo | None) -> None:
        self.details.setText(details_html(info))

    @Slot()
    def _update_actions(self) -> None:
        info = self.selected_info()
        self._show_details(info)
        busy = self._pending is not None
        if info is None:
            why_not = "Select a model in the table first"
            can_switch = False
        elif not usable(info):
            why_not, can_switch = f"{info.id} cannot run here: {info.reason}", False
        elif info.active:
            why_not, can_switch = f"{info.id} already serves {info.task}", False
        elif busy:
            why_not, can_switch = "Wait for the current model change to finish", False
        else:
            why_not, can_switch = "", True
        self.switch_action.setEnabled(can_switch)
        self.switch_action.setToolTip(
            f"Make {info.id} serve {info.task} (Enter or double-click)" if can_switch else why_not)

        running = self.benchmark.model_id is not None
        can_bench = info is not None and usable(info) and not running
        self.benchmark_action.setEnabled(can_bench)
        if can_bench:
            bench_tip = f"Measure {info.id} on this machine: load, latency, memory, quality (Ctrl+B)"
        elif running:
            bench_tip = f"A benchmark of {self.benchmark.model_id} is running"
        else:
            bench_tip = why_not if info is None or not usable(info) else ""
        self.benchmark_action.setToolTip(bench_tip)

        can_remove = info is not None and info.origin == "user" and not busy
        self.remove_action.setEnabled(can_remove)
        if info is not None and info.origin != "user":
            self.remove_action.setToolTip(f"{info.id} ships with SignalDesk; only models you added can be removed")
        else:
            self.remove_action.setToolTip("Forget the selected model you added (Delete); its files are not touched")
        self.adding.set_busy(busy)

    def _start_pending(self, kind: str, key: str, text: str) -> None:
        self._pending = (kind, key)
        self.message.show_text(text, "info")
        self._update_actions()

    # -- operator actions ---------------------------------------------------------------
    @Slot()
    def switch_selected(self) -> None:
        info = self.selected_info()
        if info is None:
            self.message.show_text("Select a model in the table first.", "warning")
            return
        if not usable(info):
            # Enter or double-click on a greyed row: say why instead of failing silently.
            self.message.show_text(f"{info.id} cannot be used here: {info.reason}", "warning")
            return
        if info.active:
            self.message.show_text(f"{info.id} already serves {info.task}.", "info")
            return
        if self._pending is not None:
            self.message.show_text("A model change is still in progress; wait for it to finish.", "warning")
            return
        current = next((m.id for m in self.model.models() if m.task == info.task and m.active), "none")
        self._models.switch(info.task, info.id)
        self._start_pending("switch", info.id,
                            f"Switching {info.task} to {info.id}: loading it first; {current} keeps "
                            "serving until it is ready…")

    @Slot()
    def benchmark_selected(self) -> None:
        info = self.selected_info()
        if self.benchmark.model_id is not None:
            self.message.show_text(f"A benchmark of {self.benchmark.model_id} is already running.", "warning")
            return
        if info is None:
            self.message.show_text("Select a model to benchmark first.", "warning")
            return
        if not usable(info):
            self.message.show_text(f"{info.id} cannot be benchmarked here: {info.reason}", "warning")
            return
        self.benchmark.start(info.id)
        self.message.show_text(f"Benchmarking {info.id} on this machine; scoring carries on meanwhile.", "info")
        self._update_actions()

    @Slot()
    def remove_selected(self) -> None:
        info = self.selected_info()
        if info is None or info.origin != "user":
            if info is not None:
                self.message.show_text(f"{info.id} ships with SignalDesk and cannot be removed.", "warning")
            return
        if self._pending is not None:
            self.message.show_text("A model change is still in progress; wait for it to finish.", "warning")
            return
        extra = f" It serves {info.task} now; the next best model takes over." if info.active else ""
        answer = QMessageBox.question(
            self, "Remove model",
            f"Remove {info.id} from SignalDesk?{extra}\n\nIts files stay where they are.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        self._models.remove(info.id)
        self._start_pending("remove", info.id, f"Removing {info.id}…")

    @Slot(str, str, str)
    def _add(self, path: str, labels: str, model_id: str) -> None:
        if self._pending is not None:
            self.message.show_text("A model change is still in progress; wait for it to finish.", "warning")
            return
        if Path(path).suffix.lower() == ".gguf":
            # Will it fit? From the header (milliseconds), before hashing gigabytes or loading anything.
            self._start_pending("add", path, f"Reading {Path(path).name}'s header: will it fit this machine?…")
            # A file that is not a GGUF is refused on the feature's error feed, like any refused add.
            self._models.estimate_gguf(path, lambda fit: self._on_gguf_fit(fit, model_id))
            return
        self._models.add(path, "", labels, model_id)
        self._start_pending("add", path, f"Adding {Path(path).name}: checking and hashing its files…")

    def _on_gguf_fit(self, fit: GgufFit, model_id: str) -> None:
        name = Path(fit.path).name

        def add() -> None:
            self._models.add(fit.path, "", "", model_id)
            self._start_pending("add", fit.path, f"Adding {name} ({fit.describe()}): checking and hashing its "
                                f"{fit.size_mb:,.0f} MB…")

        if fit.fits:
            add()
            return
        self._pending = None  # nothing runs while the operator decides
        self.message.show_text(f"⚠ {name} may not fit this machine: {fit.describe()}. Add it anyway, or cancel.",
                               "warning")
        self._update_actions()

        def cancelled() -> None:
            self.fit_box = None
            self.message.show_text(f"Not added: {name} would not fit this machine ({fit.describe()}).", "info")

        def added() -> None:
            self.fit_box = None
            if self._pending is not None:  # another change started while the warning was open
                self.message.show_text("A model change is still in progress; add the file again after it.",
                                       "warning")
                return
            add()

        self.fit_box = fit_prompt(self, fit, added, cancelled)

    @Slot()
    def open_endpoint_dialog(self) -> EndpointDialog:
        """Not modal: the desk keeps working while a slow server answers the health check."""
        if self.endpoint_dialog is None:
            self.endpoint_dialog = EndpointDialog(self._models, self)
            self.endpoint_dialog.addRequested.connect(self._add_endpoint)
        if not self.endpoint_dialog.isVisible():
            self.endpoint_dialog.reset()
        self.endpoint_dialog.show()
        self.endpoint_dialog.raise_()
        return self.endpoint_dialog

    @Slot(str, str, str, str)
    def _add_endpoint(self, url: str, model: str, key_env: str, model_id: str) -> None:
        if self._pending is not None:
            self.endpoint_dialog.adding_refused("a model change is still in progress; wait for it to finish")
            return
        self._models.add_endpoint(url, model, key_env, model_id)
        self._start_pending("add", f"endpoint:{url}", f"Adding the endpoint {model} at {url}: checking its "
                            "health…")

    # -- engine answers -----------------------------------------------------------------
    @Slot(object)
    def _on_models_changed(self, snapshot: ModelsSnapshot) -> None:
        self._snapshot = snapshot
        selected = self.selected_info()
        self.model.set_models(snapshot.models)
        self._fit_model_column()
        wanted = self._select_next or (selected.id if selected else None)
        if wanted and (self.selected_info() is None or self._select_next):
            if self.select_model(wanted) and wanted == self._select_next:
                self._select_next = None
        self.reasons.show_snapshot(snapshot)
        self.loaded.show_snapshot(snapshot)
        self.serving.set_sentiment(snapshot.sentiment)
        status = snapshot.sentiment
        if status.degraded and status.reason and status.reason != self._announced_degraded:
            # A fallback chosen at startup has no event to announce it: the snapshot does. Once
            # per reason, so a dismissed banner stays dismissed.
            self._announced_degraded = status.reason
            if not self.banner.isVisible():  # a fallback event is already saying it
                self._show_fallback(f"Sentiment runs on {status.model_id}, a fallback: {status.reason}")
        self._update_actions()

    def _show_fallback(self, text: str) -> None:
        self.banner.show_text(f"⚠ {text}", "warning")

    @Slot(object)
    def _on_model_event(self, event: ModelEvent) -> None:
        if event.kind in ("fallback", "failed"):
            self._show_fallback(f"Model fallback for {event.task}: {event.message}" if event.kind == "fallback"
                                else f"{event.task}: {event.message}")
            self.alertMessage.emit(f"⚠ Model fallback: {event.message}" if event.kind == "fallback"
                                   else f"⚠ {event.message}")
        else:
            self.statusMessage.emit(f"Models: {event.message}")
        if self._pending is None or _PENDING_EVENT[self._pending[0]] != event.kind:
            return
        kind, key = self._pending
        if kind != "add" and key != event.model_id:
            return
        self._pending = None
        if kind == "switch":
            self.message.show_text(f"{event.task.capitalize()} now uses {event.model_id}.", "info")
        elif kind == "add" and key.startswith("endpoint:"):
            self._select_next = event.model_id
            text = (f"Added {event.model_id}: the health check passed ({event.message}). It is selected below: "
                    "press Enter to use it for explanations, or Ctrl+B to benchmark it.")
            self.message.show_text(text, "info")
            if self.endpoint_dialog is not None:
                self.endpoint_dialog.adding_done(text)
        elif kind == "add":
            self._select_next = event.model_id
            self.message.show_text(f"Added {event.model_id} ({event.task}). Select it and press Enter to "
                                   "switch to it, or Ctrl+B to benchmark it.", "info")
        else:
            self.message.show_text(f"Removed {event.model_id}; its files were not touched.", "info")
        self._update_actions()

    @Slot(str)
    def _on_model_error(self, text: str) -> None:
        if self._pending is not None and self._pending[1].startswith("endpoint:") and self.endpoint_dialog:
            self.endpoint_dialog.adding_refused(text)  # kept open with what was typed, to fix it
        self._pending = None
        self.message.show_text(text, "error")
        self._update_actions()

    @Slot(str)
    def _on_engine_failed(self, text: str) -> None:
        if self._pending is not None:
            self._pending = None
            self.message.show_text(text, "error")
            self._update_actions()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._models.info is not None:
            self._models.refresh()  # memory and idle figures move while the tab is hidden


__all__ = ["ModelTableView", "ModelsPanel"]
