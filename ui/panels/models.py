"""Models panel: what this machine can run, which model serves each task, and why.

Every action goes through ``EngineClient`` and returns at once; the engine answers with
``modelsChanged`` / ``modelEvent`` / ``modelError`` / ``benchmark*`` signals, so the UI thread
never waits for a load, a hash check or a benchmark.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QSize, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont, QFontMetrics, QKeyEvent, QKeySequence, QPainter, QPaintEvent, QShowEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.hardware import HardwareProfile
from engine.models import TASKS
from engine.types import ModelStatus
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
from ui.theme import MESSAGE_STYLES, WARNING_BADGE
from ui.widgets.tables import fit_columns, setup_record_table

if TYPE_CHECKING:
    from app.worker import BenchmarkOutcome, BenchmarkProgress, EngineClient, EngineInfo, ModelsSnapshot
    from engine.models.manager import ModelEvent, ModelInfo

WAITING = "waiting for the engine…"
# Operator-requested actions whose end is announced by a model event of this kind.
_PENDING_EVENT = {"switch": "switched", "add": "added", "remove": "removed"}


def _value_label(name: str) -> QLabel:
    label = QLabel(WAITING)
    label.setObjectName(name)
    # No word wrap: wrapped labels in a form get one line of height and lose the rest; the
    # long texts (reasons, explanations) get their own wrapped labels.
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ElidedLabel(QLabel):
    """A long plain value (a path) that must not force the window wider: it shows what fits,
    cut in the middle; ``text()`` and the tooltip keep all of it."""

    def __init__(self, name: str) -> None:
        super().__init__(WAITING)
        self.setObjectName(name)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("M" * 6), super().minimumSizeHint().height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle, rect.width())
        QPainter(self).drawText(rect, int(self.alignment()), shown)


class Banner(QFrame):
    """An inline message with a dismiss button; the text stays selectable for copy-paste."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.label = QLabel()
        self.label.setObjectName(f"{name}Text")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton()
        self.close_button.setObjectName(f"{name}Close")
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_text(self, text: str, kind: str) -> None:
        # The style goes on the label (not the frame) so the button keeps the native look.
        self.label.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
        self.setProperty("kind", kind)
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        return self.label.text()

    def dismiss(self) -> None:
        self.label.clear()
        self.hide()


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

    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modelsPanel")
        self._client = client
        self._pending: tuple[str, str] | None = None  # (switch|add|remove, model id or path)
        self._bench_model: str | None = None
        self._bench_cancel_requested = False
        self._select_next: str | None = None  # model id to select once a snapshot lists it
        self._announced_degraded = ""
        self._last_dir = str(Path.home())
        self._snapshot: ModelsSnapshot | None = None

        top = QHBoxLayout()
        top.addWidget(self._build_hardware(), 3)
        top.addWidget(self._build_serving(), 2)

        self.banner = Banner("modelsBanner")  # fallbacks: stays until dismissed
        self.message = Banner("modelsMessage")  # answers to the operator's own actions

        self._build_actions()
        self._build_table()
        actions = QHBoxLayout()
        for button in (self.switch_button, self.benchmark_button, self.remove_button):
            actions.addWidget(button)
        actions.addSpacing(12)
        actions.addWidget(self.bench_progress)
        actions.addWidget(self.cancel_button)
        actions.addStretch(1)
        actions.addWidget(self.refresh_button)

        bottom = QHBoxLayout()
        bottom.addWidget(self._build_why(), 3)
        right = QVBoxLayout()
        right.addWidget(self._build_loaded(), 1)
        right.addWidget(self._build_add())
        bottom.addLayout(right, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.banner)
        layout.addWidget(self.message)
        layout.addLayout(actions)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        layout.addLayout(bottom)

        client.modelsChanged.connect(self._on_models_changed)
        client.modelEvent.connect(self._on_model_event)
        client.modelError.connect(self._on_model_error)
        client.benchmarkProgress.connect(self._on_benchmark_progress)
        client.benchmarkDone.connect(self._on_benchmark_done)
        client.failed.connect(self._on_engine_failed)
        self._update_actions()
        if client.info is not None:  # the engine started before this panel was built
            client.refresh_models()

    # -- construction -------------------------------------------------------------------
    def _build_hardware(self) -> QGroupBox:
        self.tier = _value_label("hwTier")
        self.cores = _value_label("hwCores")
        self.cpu_load = _value_label("hwCpuLoad")
        self.memory = _value_label("hwMemory")
        self.disk = _value_label("hwDisk")
        self.arch = _value_label("hwArch")
        self.os = ElidedLabel("hwOs")
        self.accelerators = _value_label("hwAccelerators")
        box = QGroupBox("This machine")
        grid = QGridLayout(box)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        grid.addWidget(QLabel("Tier:"), 0, 0)
        grid.addWidget(self.tier, 0, 1, 1, 3)
        pairs = (("CPU cores:", self.cores), ("Memory:", self.memory), ("CPU load:", self.cpu_load),
                 ("Disk free:", self.disk), ("Architecture:", self.arch), ("OS:", self.os),
                 ("Accelerators:", self.accelerators))
        for i, (name, value) in enumerate(pairs):
            row, col = 1 + i // 2, (i % 2) * 2
            grid.addWidget(QLabel(name), row, col)
            grid.addWidget(value, row, col + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        return box

    def _build_serving(self) -> QGroupBox:
        self.model_id = _value_label("sentimentModelId")
        self.model_version = _value_label("sentimentModelVersion")
        self.model_backend = _value_label("sentimentBackend")
        self.model_status = _value_label("sentimentStatus")
        self.app_version = _value_label("appVersion")
        self.data_dir = ElidedLabel("dataDir")
        box = QGroupBox("Sentiment now")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setVerticalSpacing(2)
        form.addRow("Model:", self.model_id)
        form.addRow("Version:", self.model_version)
        form.addRow("Backend:", self.model_backend)
        form.addRow("Status:", self.model_status)
        self.model_reason = QLabel()
        self.model_reason.setObjectName("sentimentReason")
        self.model_reason.setWordWrap(True)
        self.model_reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_reason.hide()
        form.addRow(self.model_reason)
        form.addRow("App version:", self.app_version)
        form.addRow("Data folder:", self.data_dir)
        return box

    def _build_actions(self) -> None:
        def action(name: str, text: str, tip: str, slot, keys: str = "") -> QAction:
            act = QAction(text, self)
            act.setObjectName(name)
            act.setToolTip(tip)
            if keys:
                act.setShortcut(QKeySequence(keys))
                act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.triggered.connect(slot)
            self.addAction(act)
            return act

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
                                     self._client.refresh_models, "F5")

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

        self.bench_progress = QProgressBar()
        self.bench_progress.setObjectName("benchmarkProgress")
        self.bench_progress.setMinimumWidth(320)
        self.bench_progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelBenchmarkButton")
        self.cancel_button.setToolTip("Stop the benchmark; nothing is saved for a cancelled run")
        self.cancel_button.clicked.connect(self.cancel_benchmark)
        self.cancel_button.hide()

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

    def _build_why(self) -> QGroupBox:
        box = QGroupBox("Why these models")
        column = QVBoxLayout(box)
        self.why = QLabel(WAITING)
        self.why.setObjectName("whyThisModel")
        self.why.setWordWrap(True)
        self.why.setTextFormat(Qt.TextFormat.RichText)
        self.why.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.why.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        note = QLabel(
            f"The model manager picks one model per task from this machine's tier, the "
            f"{html.escape(self._client.config.model_priority)} priority and benchmarks measured here; "
            "a model you switch to is remembered.")
        note.setObjectName("modelsNote")
        note.setWordWrap(True)
        note.setEnabled(False)  # secondary text: the palette's disabled colour, readable on any theme
        column.addWidget(self.why, 1)
        column.addWidget(note)
        return box

    def _build_loaded(self) -> QGroupBox:
        box = QGroupBox("Loaded models")
        column = QVBoxLayout(box)
        self.loaded_list = QListWidget()
        self.loaded_list.setObjectName("loadedModels")
        self.loaded_list.setMaximumHeight(self.fontMetrics().height() * 4 + 12)
        self.memory_bar = QProgressBar()
        self.memory_bar.setObjectName("memoryBudget")
        self.memory_bar.setTextVisible(True)
        self.memory_bar.setToolTip("Memory of the loaded models against the model memory budget "
                                   "(MODEL_MEMORY_LIMIT); the least recently used model is unloaded to make room")
        self.memory_total = QLabel(WAITING)
        self.memory_total.setObjectName("memoryTotal")
        self.memory_total.setWordWrap(True)
        column.addWidget(self.loaded_list)
        column.addWidget(self.memory_bar)
        column.addWidget(self.memory_total)
        return box

    def _build_add(self) -> QGroupBox:
        box = QGroupBox("Add your own model")
        grid = QGridLayout(box)
        self.add_folder_button = QPushButton("Add &folder…")
        self.add_folder_button.setObjectName("addFolderButton")
        self.add_folder_button.setToolTip("A sentiment classifier folder: model.onnx + tokenizer.json (ONNX) "
                                          "or config.json + *.safetensors (Hugging Face)")
        self.add_folder_button.clicked.connect(self.add_folder)
        self.add_gguf_button = QPushButton("Add &GGUF file…")
        self.add_gguf_button.setObjectName("addGgufButton")
        self.add_gguf_button.setToolTip("A generation model as a single .gguf file (llama.cpp)")
        self.add_gguf_button.clicked.connect(self.add_gguf)
        self.labels_edit = QLineEdit()
        self.labels_edit.setObjectName("addLabels")
        self.labels_edit.setPlaceholderText("class labels, e.g. negative,neutral,positive")
        self.labels_edit.setToolTip("For classifier folders: class names in the model's output order. "
                                    "Empty = read id2label from config.json")
        self.id_edit = QLineEdit()
        self.id_edit.setObjectName("addModelId")
        self.id_edit.setPlaceholderText("id (optional)")
        self.id_edit.setToolTip("The id to register the model under; empty = derived from the name")
        grid.addWidget(self.add_folder_button, 0, 0)
        grid.addWidget(self.add_gguf_button, 0, 1)
        grid.addWidget(self.id_edit, 0, 2)
        grid.addWidget(self.labels_edit, 1, 0, 1, 3)
        grid.setColumnStretch(2, 1)
        return box

    # -- engine info (from the main window) ---------------------------------------------
    def set_info(self, info: EngineInfo) -> None:
        self.set_hardware(info.hardware)
        self.set_sentiment(info.sentiment)
        self.app_version.setText(info.version)
        self.data_dir.setText(info.data_dir)

    def set_hardware(self, hw: HardwareProfile) -> None:
        self.tier.setText(f"<b>{hw.tier.upper()}</b> — {html.escape(hw.tier_reason)}")
        self.tier.setToolTip(hw.tier_reason)
        self.cores.setText(f"{hw.physical_cores} physical, {hw.logical_cores} logical")
        self.cpu_load.setText(f"{hw.cpu_load_percent:.0f}% (at engine start)")
        self.memory.setText(f"{hw.ram_available_gb:.1f} GB available of {hw.ram_total_gb:.1f} GB")
        self.disk.setText(f"{hw.disk_free_gb:.1f} GB (data folder)")
        self.arch.setText(hw.arch)
        self.os.setText(hw.os)
        self.accelerators.setText(", ".join(hw.accelerators) if hw.accelerators else "none (CPU only)")

    def set_sentiment(self, status: ModelStatus) -> None:
        self.model_id.setText(status.model_id)
        self.model_version.setText(status.version)
        self.model_backend.setText(status.backend)
        if status.degraded:
            self.model_status.setText("Degraded: fallback in use")
            self.model_status.setStyleSheet(WARNING_BADGE)
            self.model_reason.setText(f"Why: {status.reason}" if status.reason else "")
            self.model_reason.setVisible(bool(status.reason))
        else:
            self.model_status.setText("OK")
            self.model_status.setStyleSheet("")
            self.model_reason.hide()

    def set_failed(self, message: str) -> None:
        self.model_status.setText("Engine not running")
        self.model_status.setStyleSheet(MESSAGE_STYLES["error"])
        self.model_reason.setText(message)
        self.model_reason.show()

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
        if info is None:
            self.details.setText("Select a model to see why it can or cannot run here.")
            return
        mark = "✓" if usable(info) else "✗"
        head = (f"<b>{html.escape(info.id)}</b> {html.escape(info.version)} · {info.task} · {info.backend} · "
                f"{info.origin}{' · serving now' if info.active else ''}")
        bench = info.benchmark
        if bench:
            measured = "benchmarked here: " + html.escape(_benchmark_summary(info.id, bench).split(": ", 1)[1])
        else:
            measured = "not benchmarked here yet (Ctrl+B)" if usable(info) else ""
        if info.status == NOT_INSTALLED:
            self.details.setText(f"{head} — {not_installed_html(info)}")
            return
        self.details.setText(f"{head} — {mark} {html.escape(info.reason)}" + (f"<br>{measured}" if measured else ""))

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

        running = self._bench_model is not None
        can_bench = info is not None and usable(info) and not running
        self.benchmark_action.setEnabled(can_bench)
        if can_bench:
            bench_tip = f"Measure {info.id} on this machine: load, latency, memory, quality (Ctrl+B)"
        elif running:
            bench_tip = f"A benchmark of {self._bench_model} is running"
        else:
            bench_tip = why_not if info is None or not usable(info) else ""
        self.benchmark_action.setToolTip(bench_tip)

        can_remove = info is not None and info.origin == "user" and not busy
        self.remove_action.setEnabled(can_remove)
        if info is not None and info.origin != "user":
            self.remove_action.setToolTip(f"{info.id} ships with SignalDesk; only models you added can be removed")
        else:
            self.remove_action.setToolTip("Forget the selected model you added (Delete); its files are not touched")
        self.add_folder_button.setEnabled(not busy)
        self.add_gguf_button.setEnabled(not busy)

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
        self._client.switch_model(info.task, info.id)
        self._start_pending("switch", info.id,
                            f"Switching {info.task} to {info.id}: loading it first; {current} keeps "
                            "serving until it is ready…")

    @Slot()
    def benchmark_selected(self) -> None:
        info = self.selected_info()
        if self._bench_model is not None:
            self.message.show_text(f"A benchmark of {self._bench_model} is already running.", "warning")
            return
        if info is None:
            self.message.show_text("Select a model to benchmark first.", "warning")
            return
        if not usable(info):
            self.message.show_text(f"{info.id} cannot be benchmarked here: {info.reason}", "warning")
            return
        self._bench_model = info.id
        self._bench_cancel_requested = False
        self.bench_progress.setRange(0, 0)  # busy until the first progress report (loading)
        self.bench_progress.setFormat(f"{info.id}: loading…")
        self.bench_progress.show()
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.cancel_button.show()
        self.message.show_text(f"Benchmarking {info.id} on this machine; scoring carries on meanwhile.", "info")
        self._update_actions()
        self._client.run_benchmark(info.id)

    @Slot()
    def cancel_benchmark(self) -> None:
        if self._bench_model is None:
            return
        self._bench_cancel_requested = True
        self._client.cancel_benchmark()
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")

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
        self._client.remove_model(info.id)
        self._start_pending("remove", info.id, f"Removing {info.id}…")

    @Slot()
    def add_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(
            self, "Add a model folder (ONNX classifier or Hugging Face safetensors)", self._last_dir)
        if path:
            self._add(path)

    @Slot()
    def add_gguf(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a GGUF model file", self._last_dir,
                                              "GGUF models (*.gguf);;All files (*)")
        if path:
            self._add(path)

    def _add(self, path: str) -> None:
        if self._pending is not None:
            self.message.show_text("A model change is still in progress; wait for it to finish.", "warning")
            return
        self._last_dir = str(Path(path).parent)
        is_file = Path(path).suffix.lower() == ".gguf"
        # Labels only mean something for classifier folders; a GGUF is a generator.
        labels = "" if is_file else self.labels_edit.text().strip()
        self._client.add_model(path, "", labels, self.id_edit.text().strip())
        self._start_pending("add", path, f"Adding {Path(path).name}: checking and hashing its files…")

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
        self._show_why(snapshot)
        self._show_loaded(snapshot)
        self.set_sentiment(snapshot.sentiment)
        status = snapshot.sentiment
        if status.degraded and status.reason and status.reason != self._announced_degraded:
            # A fallback chosen at startup has no event to announce it: the snapshot does. Once
            # per reason, so a dismissed banner stays dismissed.
            self._announced_degraded = status.reason
            if not self.banner.isVisible():  # a fallback event is already saying it
                self._show_fallback(f"Sentiment runs on {status.model_id}, a fallback: {status.reason}")
        self._update_actions()

    def _show_why(self, snapshot: ModelsSnapshot) -> None:
        active = {m.task: m.id for m in snapshot.models if m.active}
        parts = []
        for task in TASKS:
            text = snapshot.explanations.get(task, "")
            model = active.get(task, "none")
            parts.append(f"<p style='margin:0 0 4px 0'><b>{task.capitalize()} → {html.escape(model)}</b><br>"
                         f"{html.escape(text) or 'no explanation yet'}</p>")
        self.why.setText("".join(parts))

    def _show_loaded(self, snapshot: ModelsSnapshot) -> None:
        budget = self._client.config.model_memory_limit_mb
        max_models = self._client.config.max_model_cache_size
        self.loaded_list.clear()
        total = 0.0
        for loaded in snapshot.loaded:
            total += loaded.memory_mb
            self.loaded_list.addItem(f"{loaded.id} · {loaded.task} · {loaded.memory_mb:,.0f} MB")
            item = self.loaded_list.item(self.loaded_list.count() - 1)
            item.setToolTip(f"Loaded in {loaded.load_s:.2f} s; idle {loaded.idle_s:,.0f} s when listed")
        if not snapshot.loaded:
            self.loaded_list.addItem("No model loaded")
        self.memory_bar.setRange(0, max(1, int(budget)))
        self.memory_bar.setValue(min(int(round(total)), int(budget)))
        self.memory_bar.setFormat(f"{total:,.0f} MB of {budget:,.0f} MB")
        over = total > budget
        self.memory_bar.setStyleSheet(f"QProgressBar {{ {WARNING_BADGE} }}" if over else "")
        self.memory_total.setText(
            f"{len(snapshot.loaded)} of at most {max_models} models loaded, {total:,.0f} MB of the "
            f"{budget:,.0f} MB budget" + (" (over: the next load evicts)" if over else "") + ".")

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
        elif kind == "add":
            self._select_next = event.model_id
            self.message.show_text(f"Added {event.model_id} ({event.task}). Select it and press Enter to "
                                   "switch to it, or Ctrl+B to benchmark it.", "info")
        else:
            self.message.show_text(f"Removed {event.model_id}; its files were not touched.", "info")
        self._update_actions()

    @Slot(str)
    def _on_model_error(self, text: str) -> None:
        self._pending = None
        self.message.show_text(text, "error")
        self._update_actions()

    @Slot(object)
    def _on_benchmark_progress(self, progress: BenchmarkProgress) -> None:
        if self._bench_model is None:
            return
        if self._bench_cancel_requested:
            # The worker clears the cancel flag when it starts a run, so a Cancel pressed before
            # the run began would be lost; saying it again once the run reports fixes that.
            self._client.cancel_benchmark()
        self.bench_progress.setRange(0, max(1, progress.total))
        self.bench_progress.setValue(progress.done)
        self.bench_progress.setFormat(f"{progress.model_id}: {progress.stage} %v / %m")

    @Slot(object)
    def _on_benchmark_done(self, outcome: BenchmarkOutcome) -> None:
        if self._bench_model is None:
            return
        self._bench_model = None
        self._bench_cancel_requested = False
        self.bench_progress.hide()
        self.cancel_button.hide()
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        if outcome.cancelled:
            self.message.show_text(f"Benchmark of {outcome.model_id} cancelled; nothing was saved.", "info")
            self.statusMessage.emit(f"Benchmark of {outcome.model_id} cancelled")
        elif outcome.error or outcome.result is None:
            self.message.show_text(f"Benchmark of {outcome.model_id} failed: {outcome.error or 'no result'}",
                                   "error")
        else:
            text = _benchmark_summary(outcome.model_id, outcome.result)
            self.message.show_text(text, "info")
            self.statusMessage.emit(text)
        self._update_actions()
        # The run happened off the engine thread, which therefore sent no snapshot: ask for one
        # so the figures (and any change in compatibility they cause) reach the table.
        self._client.refresh_models()

    @Slot(str)
    def _on_engine_failed(self, text: str) -> None:
        if self._pending is not None:
            self._pending = None
            self.message.show_text(text, "error")
            self._update_actions()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._client.info is not None:
            self._client.refresh_models()  # memory and idle figures move while the tab is hidden


def _benchmark_summary(model_id: str, result: dict) -> str:
    parts = [f"load {result.get('load_s', 0):.2f} s", f"p50 {result.get('p50_ms', 0):.2f} ms",
             f"p95 {result.get('p95_ms', 0):.2f} ms"]
    if result.get("weighted_f1") is not None:
        parts.append(f"weighted F1 {result['weighted_f1']:.3f}")
    if result.get("tokens_per_s") is not None:
        parts.append(f"{result['tokens_per_s']:.1f} tokens/s")
    return f"{model_id} benchmarked on this machine: " + ", ".join(parts) + "."


__all__ = ["Banner", "ModelTableView", "ModelsPanel"]
