"""News panel: paste or drop headlines, analyse them on the engine thread, list the signals;
the detail pane beside the table shows the selected signal and its LLM explanation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QSettings, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from engine.textinput import EmptyInputError
from engine.textinput import InputDecodeError, read_text_file
from ui.models.signal_table import (
    COL_CONFIDENCE,
    COL_LABEL,
    COL_MODEL,
    COL_SOURCE,
    COL_TICKERS,
    COL_TIME,
    COL_VERDICT,
    SORT_ROLE,
    SignalTableModel,
)
from ui.panels.live_news import LiveNewsPanel
from ui.panels.signal_detail import SignalDetailPane
from ui.theme import MESSAGE_STYLES
from ui.widgets.tables import fit_columns, setup_record_table

if TYPE_CHECKING:
    from app.worker import AnalysisDone, EngineClient, FeedbackResult, SignalBatch

# A paste box holding more than this would make the UI thread crawl; the engine cuts items anyway.
MAX_FILE_BYTES = 16 * 1024 * 1024

# Analyst feedback keys: (keys, right, label). Up / Down / Neutral name the right label.
FEEDBACK_KEYS = (("Ctrl+Shift+R", True, None), ("Ctrl+Shift+W", False, None), ("Ctrl+Shift+U", None, "bullish"),
                 ("Ctrl+Shift+D", None, "bearish"), ("Ctrl+Shift+N", None, "neutral"))
EXPLAIN_KEYS = "Ctrl+E"  # explain the current row (with the chain if the pane's box is ticked)
KEY_DETAIL_SPLITTER = "news/detailSplitter"


def local_files(mime: QMimeData) -> list[Path]:
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class PasteBox(QPlainTextEdit):
    """The paste box: Ctrl+Enter submits, dropped files are handed to the panel, not pasted as paths."""

    submitRequested = Signal()
    filesDropped = Signal(list)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Also handled here (not only by the panel's QShortcut) so it works before the
        # window is active, e.g. right after launch or under an offscreen platform.
        if (event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            event.accept()
            self.submitRequested.emit()
            return
        super().keyPressEvent(event)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:
        return bool(local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:
        files = local_files(source)
        if files:
            self.filesDropped.emit(files)
        else:
            super().insertFromMimeData(source)


class SignalTableView(QTableView):
    """Feedback keys on the table itself as well as panel shortcuts: shortcuts need an active
    window, key presses do not (offscreen, or right after launch)."""

    feedbackRequested = Signal(object, object)  # right (bool | None), label (str | None)
    explainRequested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        pressed = QKeySequence(event.keyCombination())
        if pressed.matches(QKeySequence(EXPLAIN_KEYS)) == QKeySequence.SequenceMatch.ExactMatch:
            event.accept()
            self.explainRequested.emit()
            return
        for keys, right, label in FEEDBACK_KEYS:
            if pressed.matches(QKeySequence(keys)) == QKeySequence.SequenceMatch.ExactMatch:
                event.accept()
                self.feedbackRequested.emit(right, label)
                return
        super().keyPressEvent(event)


class NewsPanel(QWidget):
    statusMessage = Signal(str)  # short, transient text for the main window's status bar

    def __init__(self, client: EngineClient, settings: QSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newsPanel")
        self._client = client
        self._settings = settings if settings is not None else QSettings()
        self._active: int | None = None  # request id of the paste being analysed
        self._active_rows = 0
        self._submitted_text = ""
        self.setAcceptDrops(True)

        self.paste_box = PasteBox()
        self.paste_box.setObjectName("pasteBox")
        self.paste_box.setPlaceholderText(
            "One headline per line…  (paste text, drop a .txt file, or File ▸ Open; Ctrl+Enter analyses)"
        )
        self.paste_box.setTabChangesFocus(True)
        self.paste_box.submitRequested.connect(self.submit)
        self.paste_box.filesDropped.connect(self.load_files)

        self.analyze_button = QPushButton("Analyze")
        self.analyze_button.setObjectName("analyzeButton")
        self.analyze_button.setToolTip("Score every non-blank line (Ctrl+Enter)")
        self.analyze_button.clicked.connect(self.submit)

        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Stop after the current batch; rows already scored are kept")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()

        self.progress = QProgressBar()
        self.progress.setObjectName("analyzeProgress")
        self.progress.setFormat("%v / %m items")
        self.progress.setMaximumWidth(260)
        self.progress.hide()

        self.message = QLabel()
        self.message.setObjectName("newsMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        self.row_count = QLabel()
        self.row_count.setObjectName("rowCountLabel")

        self.model = SignalTableModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setObjectName("signalProxy")
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.table = SignalTableView()
        self.table.setObjectName("signalTable")
        self.table.setModel(self.proxy)
        self._setup_table()
        self._feedback_pending: dict[int, str] = {}  # request id -> what was said, for the confirmation
        feedback_bar = self._build_feedback()

        buttons = QHBoxLayout()
        buttons.addWidget(self.analyze_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress)
        buttons.addStretch(1)
        buttons.addWidget(self.row_count)

        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.paste_box, 1)
        top_layout.addLayout(buttons)
        top_layout.addWidget(self.message)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("newsSplitter")
        self.splitter.setChildrenCollapsible(False)
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.addWidget(self.table, 1)
        table_layout.addLayout(feedback_bar)
        # The selected signal and its explanation beside the table.
        self.detail = SignalDetailPane(client, self._settings)
        self.detail.statusMessage.connect(self.statusMessage)
        self.detail_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.detail_splitter.setObjectName("newsDetailSplitter")
        self.detail_splitter.setChildrenCollapsible(False)
        self.detail_splitter.addWidget(table_box)
        self.detail_splitter.addWidget(self.detail)
        self.detail_splitter.setStretchFactor(0, 3)
        self.detail_splitter.setStretchFactor(1, 2)
        saved = self._settings.value(KEY_DETAIL_SPLITTER)
        if not saved or not self.detail_splitter.restoreState(saved):
            self.detail_splitter.setSizes([600, 400])  # scaled to the real width: the pane gets ~40 %
        self.detail_splitter.splitterMoved.connect(
            lambda *_: self._settings.setValue(KEY_DETAIL_SPLITTER, self.detail_splitter.saveState()))
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.detail_splitter)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 3)

        # Paste-and-score and the live stream side by side as tabs: the paste table stays as it was.
        self.live = LiveNewsPanel(client)
        self.live.statusMessage.connect(self.statusMessage)
        self.views = QTabWidget()
        self.views.setObjectName("newsViews")
        self.views.setDocumentMode(True)
        self.views.addTab(self.splitter, "Paste && score")
        self.views.addTab(self.live, "Live")
        self.views.currentChanged.connect(self._update_feedback_actions)
        layout = QVBoxLayout(self)
        layout.addWidget(self.views)

        # Ctrl+Enter from anywhere in the panel (e.g. while the table has focus).
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.submit)

        client.ready.connect(self._on_ready)
        client.history.connect(self._on_history)
        client.signalsAdded.connect(self._on_signals_added)
        client.analysisDone.connect(self._on_analysis_done)
        client.failed.connect(self._on_failed)
        client.feedbackRecorded.connect(self._on_feedback_recorded)
        client.verdictsLoaded.connect(self.model.set_verdicts)
        self._update_row_count()
        self._update_feedback_actions()

    def _setup_table(self) -> None:
        view = self.table
        view.setSortingEnabled(False)
        header = setup_record_table(view, per_pixel_scroll=True)
        pad = 28  # cell margins plus room for the sort arrow
        fit_columns(view, {COL_TIME: "00:00:00", COL_SOURCE: "Source", COL_TICKERS: "AAPL, MSFT", COL_LABEL: "bullish",
                           COL_CONFIDENCE: "Confidence", COL_VERDICT: "✗ → bearish", COL_MODEL: "lexicon-fin 1.0.0"}, pad)
        header.setMinimumSectionSize(view.fontMetrics().horizontalAdvance("Text") + pad)
        # Unsorted (source order = arrival order, newest at the bottom) until the user clicks a header.
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        view.setSortingEnabled(True)

    def _build_feedback(self) -> QHBoxLayout:
        """Analyst feedback on the selected rows: an outcome for calibration (source b)."""
        self.feedback_actions: list[QAction] = []
        names = {(True, None): ("markRightAction", "Mark right"), (False, None): ("markWrongAction", "Mark wrong")}
        for keys, right, label in FEEDBACK_KEYS:
            name, text = names.get((right, label), (f"markLabel_{label}", f"Right label: {label}"))
            act = QAction(text, self)
            act.setObjectName(name)
            act.setShortcut(QKeySequence(keys))
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            act.setToolTip(f"{text} for the selected signal(s) ({keys}); recorded as an analyst outcome")
            act.triggered.connect(lambda _=False, r=right, lab=label: self.give_feedback(r, lab))
            self.addAction(act)
            self.feedback_actions.append(act)
        self.mark_right_action, self.mark_wrong_action = self.feedback_actions[:2]
        separator = QAction(self)
        separator.setSeparator(True)
        self.explain_action = QAction("Explain", self)
        self.explain_action.setObjectName("explainAction")
        self.explain_action.setShortcut(QKeySequence(EXPLAIN_KEYS))
        self.explain_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.explain_action.setToolTip(f"LLM rationale for the current row ({EXPLAIN_KEYS}); advice only")
        self.explain_action.triggered.connect(lambda: self.explain_current())
        self.explain_chain_action = QAction("Explain with chain", self)
        self.explain_chain_action.setObjectName("explainChainAction")
        self.explain_chain_action.setToolTip("LLM rationale in five visible steps (slower)")
        self.explain_chain_action.triggered.connect(lambda: self.explain_current(chain=True))
        self.addAction(self.explain_action)
        explain_separator = QAction(self)
        explain_separator.setSeparator(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addActions([self.explain_action, self.explain_chain_action, explain_separator]
                              + self.feedback_actions[:2] + [separator] + self.feedback_actions[2:])
        self.table.feedbackRequested.connect(self.give_feedback)
        self.table.explainRequested.connect(self.explain_current)
        self.table.selectionModel().selectionChanged.connect(self._update_feedback_actions)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)

        self.right_button = QPushButton("✓ Right")
        self.right_button.setObjectName("feedbackRightButton")
        self.right_button.clicked.connect(self.mark_right_action.trigger)
        self.wrong_button = QPushButton("✗ Wrong")
        self.wrong_button.setObjectName("feedbackWrongButton")
        self.wrong_button.clicked.connect(self.mark_wrong_action.trigger)
        self.label_combo = QComboBox()
        self.label_combo.setObjectName("feedbackLabelCombo")
        self.label_combo.addItem("Right label is…")
        # Labels are read back from this list, not itemData(): see ui/panels/calibration.py _key.
        self._combo_labels = [None] + [label for _, right, label in FEEDBACK_KEYS if label is not None]
        for label in self._combo_labels[1:]:
            self.label_combo.addItem(label, label)
        self.label_combo.setToolTip("Give the label that was right (Ctrl+Shift+U bullish, D bearish, N neutral)")
        self.label_combo.activated.connect(self._on_label_chosen)
        self.feedback_note = QLineEdit()
        self.feedback_note.setObjectName("feedbackNote")
        self.feedback_note.setPlaceholderText("note (optional), sent with the verdict")
        self.feedback_note.setClearButtonEnabled(True)
        row = QHBoxLayout()
        caption = QLabel("Feedback on selected:")
        caption.setToolTip("Verdicts become calibration outcomes for the signal's model version")
        row.addWidget(caption)
        row.addWidget(self.right_button)
        row.addWidget(self.wrong_button)
        row.addWidget(self.label_combo)
        row.addWidget(self.feedback_note, 1)
        return row

    def selected_signals(self) -> list:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [self.model.signal_at(self.proxy.mapToSource(index).row()) for index in rows]

    @Slot()
    def _update_feedback_actions(self, *_args) -> None:
        stored = [s for s in self.selected_signals() if s.id is not None]
        for widget in (*self.feedback_actions, self.right_button, self.wrong_button, self.label_combo):
            widget.setEnabled(bool(stored))
        # On the Live tab Ctrl+E explains the live table's current row (it says so when there is none).
        live_shown = getattr(self, "views", None) is not None and self.views.currentWidget() is self.live
        for action in (self.explain_action, self.explain_chain_action):
            action.setEnabled(bool(stored) or live_shown)

    def current_signal(self):
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.signal_at(self.proxy.mapToSource(index).row())

    def _on_current_row(self, current, _previous) -> None:
        self.detail.show_signal(self.model.signal_at(self.proxy.mapToSource(current).row())
                                if current.isValid() else None)

    def explain_current(self, chain: bool | None = None) -> int | None:
        """Explain the current row in the detail pane (Ctrl+E, context menu, the pane's button)."""
        if self.views.currentWidget() is self.live:  # Ctrl+E is panel-wide: the tab on show decides
            return self.live.explain_current(chain)
        sig = self.current_signal()
        if sig is None:
            self.show_message("Select a signal to explain first.", "warning")
            return None
        self.detail.show_signal(sig)
        if chain is not None:
            self.detail.chain_check.setChecked(chain)
        return self.detail.explain()

    @Slot(int)
    def _on_label_chosen(self, index: int) -> None:
        label = self._combo_labels[index] if 0 <= index < len(self._combo_labels) else None
        self.label_combo.setCurrentIndex(0)  # a command, not a setting: back to the prompt
        if label:
            self.give_feedback(None, label)

    def give_feedback(self, right: bool | None, label: str | None) -> None:
        """Record the verdict for every selected stored signal; confirmations come back per signal."""
        signals = self.selected_signals()
        stored = [s for s in signals if s.id is not None]
        if not stored:
            self.show_message("Select a scored signal first: feedback is recorded per stored signal.", "warning")
            return
        note = self.feedback_note.text().strip()
        said = f"right label {label}" if label is not None else ("right" if right else "wrong")
        for sig in stored:
            request_id = self._client.record_feedback(sig.id, right=right, label=label, note=note)
            self._feedback_pending[request_id] = said
        self.statusMessage.emit(f"Recording feedback on {len(stored)} signal{'s' if len(stored) != 1 else ''}…")

    @Slot(object)
    def _on_feedback_recorded(self, result: FeedbackResult) -> None:
        said = self._feedback_pending.pop(result.request_id, None)
        if said is None:
            return  # feedback given elsewhere
        if result.error:
            self.show_message(f"Feedback on signal #{result.signal_id} was not recorded: {result.error}", "error")
            return
        self.model.set_verdict(result.signal_id, bool(result.correct), result.label)
        if not self._feedback_pending:
            self.feedback_note.clear()  # the note went with the verdict
        refit = " A calibrator refit has started." if result.refit_started else ""
        self.show_message(f"Recorded: signal #{result.signal_id} marked {said}. {result.outcomes:,} outcomes for "
                          f"its model version; {result.explanation}.{refit}", "info")
        self.statusMessage.emit(f"Feedback recorded: #{result.signal_id} {said}")

    # -- actions ------------------------------------------------------------------------
    @Slot()
    def submit(self) -> None:
        if self._active is not None:
            self.show_message("Still analysing the previous paste: wait for it or press Cancel.", "warning")
            return
        text = self.paste_box.toPlainText()
        try:
            submission = self._client.submit_text(text, "paste")
        except EmptyInputError as exc:
            self.show_message(str(exc), "warning")
            self.paste_box.setFocus()
            return
        self._active = submission.request_id
        self._active_rows = 0
        self._submitted_text = text
        # Accepted: clear via a cursor edit, not clear(), so Ctrl+Z can still bring the text back.
        cursor = QTextCursor(self.paste_box.document())
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.removeSelectedText()
        if submission.notice:
            self.show_message(f"{submission.notice}.", "warning")
        else:
            self.hide_message()
        self._set_running(True, submission.items)

    @Slot()
    def cancel(self) -> None:
        if self._active is not None:
            self._client.cancel()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setText("Cancelling…")

    def load_files(self, paths: list[Path]) -> None:
        for path in paths:
            if not self.load_file(path):
                break

    def load_file(self, path: str | Path) -> bool:
        """Append a UTF-8 text file to the paste box; on any error say why and change nothing."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InputDecodeError(
                    f"{path.name} is {size / 1_048_576:.1f} MB; the paste box takes files up to "
                    f"{MAX_FILE_BYTES // 1_048_576} MB. Split the file and try again; nothing was imported."
                )
            text = read_text_file(path)
        except (InputDecodeError, OSError) as exc:
            if isinstance(exc, InputDecodeError):
                reason = str(exc)
            else:
                reason = f"{path.name}: {exc.strerror or exc}. Nothing was imported."
            # Inline too, so the reason is still on screen after the dialog is dismissed.
            self.show_message(reason, "error")
            QMessageBox.critical(self, "Cannot open file", reason)
            return False
        lines = sum(1 for line in text.splitlines() if line.strip())
        if not lines:
            self.show_message(f"{path.name} holds no text; nothing was added.", "warning")
            return True
        existing = self.paste_box.toPlainText()
        cursor = QTextCursor(self.paste_box.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if existing and not existing.endswith("\n"):
            cursor.insertText("\n")
        cursor.insertText(text)  # appended, so anything already pasted is kept
        self.paste_box.setTextCursor(cursor)
        self.show_message(
            f"Loaded {lines:,} line{'s' if lines != 1 else ''} from {path.name}. "
            "Press Analyze (Ctrl+Enter) to score them.", "info")
        self.statusMessage.emit(f"Loaded {path.name}")
        return True

    # -- inline message -----------------------------------------------------------------
    def show_message(self, text: str, kind: str = "info") -> None:
        self.message.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
        self.message.setProperty("kind", kind)
        self.message.setText(text)
        self.message.show()

    def hide_message(self) -> None:
        self.message.clear()
        self.message.hide()

    # -- drag and drop onto the panel (table, buttons, margins) --------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if local_files(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.load_files(files)

    # -- engine results -----------------------------------------------------------------
    def _set_running(self, running: bool, total: int = 0) -> None:
        self.analyze_button.setEnabled(not running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.progress.setVisible(running)
        if running:
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(0)

    def _at_bottom(self) -> bool:
        bar = self.table.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def _update_row_count(self) -> None:
        n = self.model.rowCount()
        self.row_count.setText(f"{n:,} signal{'' if n == 1 else 's'}")

    def _fit_model_column(self, names: set[str]) -> None:
        """Widen the Model column for the names in use (ids vary: lexicon-fin, finsent-minilm-l6, …)."""
        if not names:
            return
        fm = self.table.fontMetrics()
        needed = max(fm.horizontalAdvance(name) for name in names) + 28
        if needed > self.table.columnWidth(COL_MODEL):
            self.table.setColumnWidth(COL_MODEL, needed)

    @Slot(object)
    def _on_ready(self, info) -> None:
        self._fit_model_column({f"{info.sentiment.model_id} {info.sentiment.version}"})

    @Slot(object)
    def _on_history(self, signals) -> None:
        self._fit_model_column({f"{s.model_id} {s.model_version}" for s in signals})
        self.model.set_signals(signals)
        self._update_row_count()
        self.table.scrollToBottom()

    @Slot(object)
    def _on_signals_added(self, batch: SignalBatch) -> None:
        follow = self._at_bottom()
        self.model.append(batch.signals)
        self._update_row_count()
        if follow:
            self.table.scrollToBottom()
        if batch.request_id == self._active:
            self._active_rows += len(batch.signals)
            self.progress.setRange(0, max(1, batch.total))
            self.progress.setValue(batch.done)

    @Slot(object)
    def _on_analysis_done(self, done: AnalysisDone) -> None:
        if done.request_id != self._active:
            return
        self._active = None
        self._set_running(False)
        if done.cancelled:
            self.show_message(f"Cancelled: {done.scored:,} of {done.total:,} items were scored and kept.", "info")
        took = f"{done.elapsed_s * 1000:.0f} ms" if done.elapsed_s < 1 else f"{done.elapsed_s:.1f} s"
        self.statusMessage.emit(
            f"Scored {done.scored:,} of {done.total:,} item{'' if done.total == 1 else 's'} in {took}"
        )

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.show_message(message, "error")
        if self._active is None:
            return
        # The worker may not send analysisDone after a failure; end the request here.
        self._active = None
        self._set_running(False)
        if self._active_rows == 0 and not self.paste_box.toPlainText().strip():
            self.paste_box.setPlainText(self._submitted_text)  # nothing scored: give the text back
