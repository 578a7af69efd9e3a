"""News panel: paste or drop headlines, analyze them on the engine lane, list the signals;
the detail pane beside the table shows the selected signal and its LLM explanation.

It is given the features it shows: analyze (pasting), feedback (verdicts), explain (the detail
pane) and live (the Live tab)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QSettings, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolButton,
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
    COL_TEXT,
    COL_TICKERS,
    COL_TIME,
    COL_VERDICT,
    SORT_ROLE,
    SignalTableModel,
)
from ui.panels.live_news import LiveNewsPanel
from ui.panels.news_feedback import FEEDBACK_KEYS, FeedbackBar
from ui.panels.signal_detail import SignalDetailPane
from ui.theme import MESSAGE_STYLES
from ui.widgets.tables import fit_columns, remember_columns, setup_record_table

if TYPE_CHECKING:
    from app.bridge.analyze import AnalysisDone, AnalyzeFeature, SignalBatch
    from app.bridge.explain import ExplainFeature
    from app.bridge.feedback import FeedbackFeature, FeedbackResult
    from app.bridge.live import LiveFeature
    from app.bridge.watchlist import WatchlistFeature

# A paste box holding more than this would make the UI thread crawl; the engine cuts items anyway.
MAX_FILE_BYTES = 16 * 1024 * 1024

EXPLAIN_KEYS = "Ctrl+E"  # explain the current row (with the chain if the pane's box is ticked)
KEY_DETAIL_SPLITTER = "news/detailSplitter"
KEY_SHOW_HISTORY = "news/showStoredHistory"
KEY_COLUMNS = "news/columns"  # order, widths and hidden columns of the paste table
HISTORY_KEYS = "Ctrl+H"


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

    def __init__(self, analyze: AnalyzeFeature, feedback: FeedbackFeature, explain: ExplainFeature,
                 live: LiveFeature, settings: QSettings | None = None, parent: QWidget | None = None, *,
                 watchlist: WatchlistFeature | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newsPanel")
        self._analyze = analyze
        self._settings = settings if settings is not None else QSettings()
        self._active = None  # the paste being analysed (its operation)
        self._active_rows = 0
        self._submitted_text = ""
        # The table shows what was pasted since the desk opened; earlier pastes are one click away.
        self._history: tuple = ()
        self._session: list = []
        self.setAcceptDrops(True)

        self.paste_box = PasteBox()
        self.paste_box.setObjectName("pasteBox")
        self.paste_box.setPlaceholderText(
            "One headline per line…  (paste text, drop a .txt file, or File ▸ Open; Ctrl+Enter analyzes)"
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
        self.history_action = QAction("Show stored history", self)
        self.history_action.setObjectName("showHistoryAction")
        self.history_action.setCheckable(True)
        self.history_action.setShortcut(QKeySequence(HISTORY_KEYS))
        self.history_action.setToolTip(f"Add the headlines pasted in earlier sessions (the last 5,000) to the table "
                                       f"({HISTORY_KEYS}); feeds and the demo replay are in the Live tab")
        self.history_action.setChecked(str(self._settings.value(KEY_SHOW_HISTORY, "false")).lower() == "true")
        self.history_action.toggled.connect(self.show_stored_history)
        self.history_button = QToolButton()
        self.history_button.setObjectName("showHistoryButton")
        self.history_button.setDefaultAction(self.history_action)

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
        self.feedback = FeedbackBar(feedback, self.selected_signals)
        self.feedback.statusMessage.connect(self.statusMessage)
        self.feedback.messageRequested.connect(self.show_message)
        self.feedback.recorded.connect(self._show_verdict)
        self._build_actions()

        buttons = QHBoxLayout()
        buttons.addWidget(self.analyze_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress)
        buttons.addStretch(1)
        buttons.addWidget(self.row_count)
        buttons.addWidget(self.history_button)

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
        table_layout.addWidget(self.feedback)
        # The selected signal and its explanation beside the table.
        self.detail = SignalDetailPane(explain, self._settings)
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
        self.live = LiveNewsPanel(live, explain, watchlist=watchlist, feedback=feedback)
        self.live.statusMessage.connect(self.statusMessage)
        self.views = QTabWidget()
        self.views.setObjectName("newsViews")
        self.views.setDocumentMode(True)
        self.views.addTab(self.splitter, "Paste && score")
        self.views.addTab(self.live, "Live")
        self.views.currentChanged.connect(self._update_feedback_actions)
        self.live.table.selectionModel().selectionChanged.connect(self._update_feedback_actions)
        layout = QVBoxLayout(self)
        layout.addWidget(self.views)

        # Ctrl+Enter from anywhere in the panel (e.g. while the table has focus); in the News menu too.
        self.analyze_action = QAction("&Analyze pasted text", self)
        self.analyze_action.setObjectName("analyzeAction")
        self.analyze_action.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.analyze_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.analyze_action.triggered.connect(self.submit)
        self.addAction(self.analyze_action)

        analyze.ready.connect(self._on_ready)
        analyze.history.connect(self._on_history)
        analyze.failed.connect(self._on_failed)
        feedback.verdicts.connect(self.model.set_verdicts)
        self._update_row_count()
        self._update_feedback_actions()

    def _setup_table(self) -> None:
        view = self.table
        view.setSortingEnabled(False)
        header = setup_record_table(view, per_pixel_scroll=True, text_column=COL_TEXT)
        pad = 28  # cell margins plus room for the sort arrow
        fit_columns(view, {COL_TIME: "00:00:00", COL_SOURCE: "Source", COL_TICKERS: "AAPL, MSFT", COL_LABEL: "bullish",
                           COL_CONFIDENCE: "Confidence", COL_VERDICT: "✗ → bearish", COL_MODEL: "finsent 1.0.0"}, pad)
        header.setMinimumSectionSize(view.fontMetrics().horizontalAdvance("Label") + pad)
        # The headline gets the room: the model is in the detail pane's header and the status bar,
        # so its column starts hidden (the header's menu shows it again; the choice is remembered).
        view.setColumnHidden(COL_MODEL, True)
        remember_columns(view, self._settings, KEY_COLUMNS)
        # Unsorted (source order = arrival order, newest at the bottom) until the user clicks a header.
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        view.setSortingEnabled(True)

    def _build_actions(self) -> None:
        """Explain and the verdict keys, anywhere in the panel and in the table's context menu."""
        verdicts = self.feedback.verdict_actions
        self.addActions(verdicts)
        separator = QAction(self)
        separator.setSeparator(True)
        self.explain_action = QAction("&Explain", self)
        self.explain_action.setObjectName("explainAction")
        self.explain_action.setShortcut(QKeySequence(EXPLAIN_KEYS))
        self.explain_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.explain_action.setToolTip(f"LLM rationale for the current row ({EXPLAIN_KEYS}); advice only")
        self.explain_action.triggered.connect(lambda: self.explain_current())
        self.explain_chain_action = QAction("Explain with &chain", self)
        self.explain_chain_action.setObjectName("explainChainAction")
        self.explain_chain_action.setToolTip("LLM rationale in five visible steps (slower)")
        self.explain_chain_action.triggered.connect(lambda: self.explain_current(chain=True))
        self.addActions([self.explain_action, self.history_action])
        explain_separator = QAction(self)
        explain_separator.setSeparator(True)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addActions([self.explain_action, self.explain_chain_action, explain_separator]
                              + verdicts[:2] + [separator] + verdicts[2:])
        self.table.feedbackRequested.connect(self.feedback.give)
        self.table.explainRequested.connect(self.explain_current)
        self.table.selectionModel().selectionChanged.connect(self._update_feedback_actions)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)

    def _show_verdict(self, result: FeedbackResult) -> None:
        self.model.set_verdict(result.signal_id, bool(result.correct), result.label)

    def _live_shown(self) -> bool:
        return getattr(self, "views", None) is not None and self.views.currentWidget() is self.live

    def selected_signals(self) -> list:
        """The selected signals of the tab on show: the verdict keys act on what the analyst sees."""
        if self._live_shown():
            return self.live.selected_signals()
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [self.model.signal_at(self.proxy.mapToSource(index).row()) for index in rows]

    @Slot()
    def _update_feedback_actions(self, *_args) -> None:
        stored = [s for s in self.selected_signals() if s.id is not None]
        self.feedback.set_available(bool(stored))
        # On the Live tab Ctrl+E explains the live table's current row (it says so when there is none).
        live_shown = self._live_shown()
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

    # -- actions ------------------------------------------------------------------------
    @Slot()
    def submit(self) -> None:
        if self._active is not None:
            self.show_message("Still analyzing the previous paste: wait for it or press Cancel.", "warning")
            return
        text = self.paste_box.toPlainText()
        try:
            submission = self._analyze.submit(text, "paste", on_batch=self._on_signals_added,
                                              on_done=self._on_analysis_done)
        except EmptyInputError as exc:
            self.show_message(str(exc), "warning")
            self.paste_box.setFocus()
            return
        self._active = submission.operation
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
            self._analyze.cancel()
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
        n = len(self._session)
        text = f"{n:,} pasted this session"
        if self.history_action.isChecked():
            earlier = self.model.rowCount() - n
            text += f" · {earlier:,} from earlier sessions"
        self.row_count.setText(text)

    @Slot(bool)
    def show_stored_history(self, shown: bool) -> None:
        """Earlier sessions' pasted signals above this session's, or this session's only."""
        self._settings.setValue(KEY_SHOW_HISTORY, "true" if shown else "false")
        if shown:
            self.model.set_signals(self._history)  # keeps this session's rows after them
        else:
            self.model.reset(self._session)
        self._update_row_count()
        self.table.scrollToBottom()

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
        session = {s.id for s in self._session if s.id is not None}
        self._history = tuple(s for s in signals if s.id not in session)
        if self.history_action.isChecked():
            self.model.set_signals(self._history)
            self.table.scrollToBottom()
        self._update_row_count()

    def _on_signals_added(self, batch: SignalBatch) -> None:
        follow = self._at_bottom()
        self._session.extend(batch.signals)
        self.model.append(batch.signals)
        self._update_row_count()
        if follow:
            self.table.scrollToBottom()
        self._active_rows += len(batch.signals)
        self.progress.setRange(0, max(1, batch.total))
        self.progress.setValue(batch.done)

    def _on_analysis_done(self, done: AnalysisDone) -> None:
        self._active = None
        self._set_running(False)
        if done.error:
            self.show_message(done.error, "error")
            if self._active_rows == 0 and not self.paste_box.toPlainText().strip():
                self.paste_box.setPlainText(self._submitted_text)  # nothing scored: give the text back
        if done.cancelled:
            self.show_message(f"Cancelled: {done.scored:,} of {done.total:,} items were scored and kept.", "info")
        took = f"{done.elapsed_s * 1000:.0f} ms" if done.elapsed_s < 1 else f"{done.elapsed_s:.1f} s"
        self.statusMessage.emit(
            f"Scored {done.scored:,} of {done.total:,} item{'' if done.total == 1 else 's'} in {took}"
        )

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        """The engine could not start."""
        self.show_message(message, "error")
