"""Ideas panel: the review queue for trade ideas, a detail view, decisions and export.

Every action goes through ``EngineClient`` and returns at once; the engine answers with
signals (``ideasListed``, ``ideaDecided``, ``auditLoaded``, ...). The engine is the authority
on review rules: the panel disables what cannot apply and asks for a note up front, but a
refused decision comes back as text and is shown inline. Ideas are advice: nothing here
places, routes or sends an order.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine.ideas.model import ALLOWED_FROM, AuditEntry, TradeIdea
from engine.risk.config import REGIMES
from ui.models.idea_table import (
    COL_CONFIDENCE,
    COL_CREATED,
    COL_ID,
    COL_REGIME,
    COL_RISK,
    COL_SIDE,
    COL_SIZE,
    COL_STATE,
    COL_STRATEGY,
    COL_SYMBOL,
    STRATEGY_NAMES,
    IdeaFilterProxy,
    IdeaTableModel,
    humanise,
)
from ui.theme import MESSAGE_STYLES
from ui.widgets.tables import fit_columns, setup_record_table

if TYPE_CHECKING:
    from app.worker import (AuditTrail, EngineClient, IdeaDecision, IdeaList, IdeaProposals, IdeasExport,
                            PortfolioSummary, PricesImported)

NOTICE = ("Nothing is ever executed: ideas are advice for a human to review, never orders. "
          "This app sends nothing to a broker or an exchange.")
EMPTY_HINT = ("No trade ideas yet. The engine proposes one when a bullish or bearish headline above "
              "the idea confidence threshold names a symbol with market data. Try <b>Load demo prices</b> "
              "(ACME, DUNE, ZEPH, VOLT, FXEU: synthetic series), then paste a headline such as "
              "<i>“$ACME beats estimates and raises guidance”</i> in News, or press "
              "<b>Propose from stored news</b>.")
# Keyed by int: Qt.Key(...) raises on key codes outside the enum (IME, unusual keyboards).
DECISION_KEYS = {int(Qt.Key.Key_A): "approve", int(Qt.Key.Key_R): "reject", int(Qt.Key.Key_E): "edit"}
PAST = {"approve": "approved", "reject": "rejected", "edit": "resized"}


class IdeaTableView(QTableView):
    """A/R/E decide on the current row (instead of the view's type-to-search); Ctrl+E exports."""

    decisionKey = Signal(str)
    exportKey = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Also handled here, not only by the panel's QShortcuts, so the keys work before the
        # window is active (right after launch, or under an offscreen platform).
        if event.key() == Qt.Key.Key_E and event.modifiers() == Qt.KeyboardModifier.ControlModifier:
            event.accept()
            self.exportKey.emit()
            return
        decision = DECISION_KEYS.get(int(event.key()))
        if decision and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            self.decisionKey.emit(decision)
            return
        super().keyPressEvent(event)


class DecisionDialog(QDialog):
    """Reject or edit-size: a note is required; the size is bounded by the idea's limit.

    The engine checks the same rules again; this dialog only saves a round trip.
    """

    def __init__(self, idea: TradeIdea, decision: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        assert decision in ("reject", "edit")
        self.setObjectName("ideaDecisionDialog")
        self.idea = idea
        self.decision = decision
        title = f"Reject idea #{idea.id}" if decision == "reject" else f"Edit the size of idea #{idea.id}"
        self.setWindowTitle(title)
        self.setMinimumWidth(440)

        summary = QLabel(
            f"<b>{html.escape(idea.direction)} {html.escape(idea.symbol)}</b> · "
            f"{html.escape(STRATEGY_NAMES.get(idea.strategy, humanise(idea.strategy)))} · "
            f"{html.escape(humanise(idea.regime))} · risk {html.escape(idea.risk_level)} · "
            f"size {idea.size:.2%} (limit {idea.size_limit:.2%})")
        summary.setObjectName("dialogSummary")
        summary.setTextFormat(Qt.TextFormat.RichText)

        form = QFormLayout()
        self.size_spin: QDoubleSpinBox | None = None
        if decision == "edit":
            spin = QDoubleSpinBox()
            spin.setObjectName("sizeSpin")
            spin.setDecimals(2)  # sizes are multiples of 0.01 % of equity
            spin.setSuffix(" % of equity")
            spin.setSingleStep(0.1)
            spin.setRange(0.01, max(0.01, idea.size_limit * 100))
            spin.setValue(idea.size * 100)
            spin.setToolTip("Between 0.01 % and this idea's limit: the smallest of the position cap, "
                            "the Kelly cap and the leverage headroom when it was proposed.")
            form.addRow("New size", spin)
            self.size_spin = spin
        self.note = QPlainTextEdit()
        self.note.setObjectName("noteEdit")
        self.note.setPlaceholderText("Why? Required; saved in the audit trail.  (Ctrl+Enter saves)")
        self.note.setTabChangesFocus(True)
        self.note.setFixedHeight(self.note.fontMetrics().lineSpacing() * 4 + 12)
        form.addRow("Note", self.note)

        self.error = QLabel()
        self.error.setObjectName("dialogError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(MESSAGE_STYLES["error"])
        self.error.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Reject idea" if decision == "reject" else "Save size")
        ok.setObjectName("dialogOk")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.accept)

        layout = QVBoxLayout(self)
        layout.addWidget(summary)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        (self.size_spin or self.note).setFocus()

    def note_text(self) -> str:
        return self.note.toPlainText().strip()

    def size(self) -> float | None:
        if self.size_spin is None:
            return None
        # Back to a fraction, rounded so 2.17 % is 0.0217 and not 0.021699999999999997.
        return round(self.size_spin.value() / 100, 6)

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

    def accept(self) -> None:
        if not self.note_text():
            verb = "reject" if self.decision == "reject" else "change the size of"
            self.show_error(f"A note is required to {verb} an idea: say why, for the audit trail.")
            self.note.setFocus()
            return
        if self.decision == "edit" and abs(self.size() - self.idea.size) < 5e-5:
            self.show_error("The size is unchanged: pick a new size, or Cancel.")
            self.size_spin.setFocus()
            return
        super().accept()


class IdeasPanel(QWidget):
    statusMessage = Signal(str)  # short, transient text for the main window's status bar

    def __init__(self, client: EngineClient, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ideasPanel")
        self._client = client
        self._list_request: int | None = None
        self._propose_request: int | None = None
        self._pending: dict[int, tuple[int, int]] = {}  # request id -> (idea id, proxy row then)
        self._selected_id: int | None = None
        # The selected idea's parsed snapshot: TradeIdea.snapshot parses JSON on each access.
        self._snapshot: tuple[str, dict] | None = None
        self.snapshot_parses = 0
        self._audit: tuple[int, tuple[AuditEntry, ...]] | None = None
        self._portfolio: PortfolioSummary | None = None
        self._last_export_dir = str(Path.home())
        self.decision_dialog: DecisionDialog | None = None

        self.notice = QLabel(NOTICE)
        self.notice.setObjectName("ideasPanelNote")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(MESSAGE_STYLES["info"])

        self._build_filters()
        self._build_actions()

        self.portfolio_label = QLabel("Approved ideas: loading…")
        self.portfolio_label.setObjectName("ideasPortfolio")
        self.portfolio_label.setWordWrap(True)
        self.portfolio_label.setTextFormat(Qt.TextFormat.RichText)
        self.portfolio_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.message = QLabel()
        self.message.setObjectName("ideasMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        self.empty_hint = QLabel(EMPTY_HINT)
        self.empty_hint.setObjectName("ideasEmptyHint")
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setTextFormat(Qt.TextFormat.RichText)

        self.model = IdeaTableModel(self)
        self.proxy = IdeaFilterProxy(self)
        self.proxy.setObjectName("ideaProxy")
        self.proxy.setSourceModel(self.model)
        self.table = IdeaTableView()
        self.table.setObjectName("ideasTable")
        self.table.setModel(self.proxy)
        self._setup_table()
        self.table.decisionKey.connect(self.decide_selected)
        self.table.exportKey.connect(self.export)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_changed)

        self.detail = QTextBrowser()
        self.detail.setObjectName("ideaDetail")
        self.detail.setOpenLinks(False)
        self.detail.setPlaceholderText("Select an idea to see its rationale, risk, sizing and audit trail.")

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("ideasSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([620, 380])  # the queue's columns fit beside a readable detail pane
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.notice)
        layout.addLayout(self.filter_row)
        layout.addLayout(self.action_row)
        layout.addWidget(self.portfolio_label)
        layout.addWidget(self.message)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.splitter, 1)

        # Shortcuts anywhere in the panel; text fields keep their letters (they override).
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for key, decision in (("A", "approve"), ("R", "reject"), ("E", "edit")):
            QShortcut(QKeySequence(key), self, context=context,
                      activated=lambda d=decision: self.decide_selected(d))
        QShortcut(QKeySequence("Ctrl+E"), self, context=context, activated=self.export)

        client.ready.connect(self._on_ready)
        client.failed.connect(self._on_failed)
        client.ideasListed.connect(self._on_listed)
        client.ideasProposed.connect(self._on_proposed)
        client.ideaDecided.connect(self._on_decided)
        client.auditLoaded.connect(self._on_audit)
        client.ideasExported.connect(self._on_exported)
        client.portfolioReady.connect(self._on_portfolio)
        client.pricesImported.connect(self._on_prices_imported)
        client.ideaError.connect(self._on_idea_error)
        self._apply_filters()  # the combos start on "To review": the proxy must agree
        self._update_buttons()
        if client.info is not None:  # the engine may have started before the panel was built
            self.refresh()

    # -- construction -------------------------------------------------------------------
    def _build_filters(self) -> None:
        self.state_filter = QComboBox()
        self.state_filter.setObjectName("stateFilter")
        for text, value in (("To review", "proposed"), ("Approved", "approved"), ("Rejected", "rejected"),
                            ("All states", None)):
            self.state_filter.addItem(text, value)
        self.symbol_filter = QLineEdit()
        self.symbol_filter.setObjectName("symbolFilter")
        self.symbol_filter.setPlaceholderText("Symbol…")
        self.symbol_filter.setClearButtonEnabled(True)
        self.symbol_filter.setMaximumWidth(140)
        self.regime_filter = QComboBox()
        self.regime_filter.setObjectName("regimeFilter")
        self.regime_filter.addItem("Any regime", None)
        for regime in REGIMES:
            self.regime_filter.addItem(humanise(regime), regime)
        self.strategy_filter = QComboBox()
        self.strategy_filter.setObjectName("strategyFilter")
        self.strategy_filter.addItem("Any strategy", None)
        for strategy, name in STRATEGY_NAMES.items():
            self.strategy_filter.addItem(name, strategy)
        self.risk_filter = QComboBox()
        self.risk_filter.setObjectName("riskFilter")
        self.risk_filter.addItem("Any risk", None)
        for level in ("low", "medium", "high"):
            self.risk_filter.addItem(f"{level} risk", level)
        self.count_label = QLabel()
        self.count_label.setObjectName("ideasCount")

        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        for widget in (self.state_filter, self.symbol_filter, self.regime_filter, self.strategy_filter,
                       self.risk_filter):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.count_label)
        self.filter_row = row
        for combo in (self.state_filter, self.regime_filter, self.strategy_filter, self.risk_filter):
            combo.currentIndexChanged.connect(self._apply_filters)
        self.symbol_filter.textChanged.connect(self._apply_filters)

    def _build_actions(self) -> None:
        def button(text: str, name: str, tip: str, slot) -> QPushButton:
            b = QPushButton(text)
            b.setObjectName(name)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            return b

        self.approve_button = button("Approve (A)", "approveButton",
                                     "Approve the selected idea as advice. Nothing is executed.",
                                     lambda: self.decide_selected("approve"))
        self.reject_button = button("Reject… (R)", "rejectButton", "Reject the selected idea; a note is required",
                                    lambda: self.decide_selected("reject"))
        self.edit_button = button("Edit size… (E)", "editButton",
                                  "Change the size within the idea's limit; a note is required",
                                  lambda: self.decide_selected("edit"))
        self.propose_button = button("Propose from stored news", "proposeButton",
                                     "Propose ideas from the newest stored headlines, e.g. after importing "
                                     "market data for them", self.propose_from_stored)
        self.demo_button = button("Load demo prices", "demoPricesButton",
                                  "Import the shipped synthetic demo series (ACME, DUNE, ZEPH, VOLT, FXEU); "
                                  "they are invented, not market history", self._client.import_demo_prices)
        self.export_button = button("Export… (Ctrl+E)", "exportButton",
                                    "Write the ideas in the chosen state filter, with their audit trail, "
                                    "to a .csv or .json file", self.export)
        row = QHBoxLayout()
        for b in (self.approve_button, self.reject_button, self.edit_button):
            row.addWidget(b)
        row.addStretch(1)
        for b in (self.propose_button, self.demo_button, self.export_button):
            row.addWidget(b)
        self.action_row = row

    def _setup_table(self) -> None:
        view = self.table
        header = setup_record_table(view, single_selection=True)
        fit_columns(view, {COL_ID: "9999", COL_CREATED: "12-31 23:59", COL_SYMBOL: "SYMBOL",
                           COL_SIDE: "short", COL_STRATEGY: "Fade stretch", COL_REGIME: "bear trend",
                           COL_RISK: "medium 0.50", COL_CONFIDENCE: "100%", COL_SIZE: "✎ 25.00%",
                           COL_STATE: "proposed"}, pad=14)  # cell margins plus room for the sort arrow
        # Newest first, as a queue reads; the user may sort by any column.
        header.setSortIndicator(COL_ID, Qt.SortOrder.DescendingOrder)
        view.setSortingEnabled(True)

    # -- engine lifecycle ---------------------------------------------------------------
    @Slot(object)
    def _on_ready(self, _info) -> None:
        self.refresh()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        if self._client.info is None:
            self.portfolio_label.setText("Approved ideas: unavailable (the engine is not running).")
            self.show_message(f"Trade ideas are unavailable: {message}", "error")

    def refresh(self) -> None:
        """Ask for every idea and the portfolio; answers arrive as signals."""
        self._list_request = self._client.list_ideas(None)
        self._client.load_portfolio()

    # -- filters ------------------------------------------------------------------------
    @Slot()
    def _apply_filters(self) -> None:
        self.proxy.set_filters(state=self.state_filter.currentData(), symbol=self.symbol_filter.text(),
                               regime=self.regime_filter.currentData(),
                               strategy=self.strategy_filter.currentData(), risk=self.risk_filter.currentData())
        self._update_counts()
        self._keep_a_selection()

    def set_state_filter(self, state: str | None) -> None:
        self.state_filter.setCurrentIndex(self.state_filter.findData(state))

    def _update_counts(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.count_label.setText(f"{total:,} idea{'' if total == 1 else 's'}" if shown == total
                                 else f"{shown:,} of {total:,} ideas shown")
        self.empty_hint.setVisible(total == 0)

    # -- selection and detail -----------------------------------------------------------
    def selected_idea(self) -> TradeIdea | None:
        return None if self._selected_id is None else self.model.idea(self._selected_id)

    def select_idea(self, idea_id: int) -> bool:
        row = self.model.row_of(idea_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        return True

    def _select_proxy_row(self, row: int) -> None:
        if self.proxy.rowCount() == 0:
            return
        row = min(max(row, 0), self.proxy.rowCount() - 1)
        index = self.proxy.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)

    def _keep_a_selection(self) -> None:
        # Keyboard review needs a current row: keep the selected idea, else take the first one.
        if self._selected_id is not None and self.select_idea(self._selected_id):
            return
        if not self.table.selectionModel().currentIndex().isValid():
            self._select_proxy_row(0)

    @Slot(QModelIndex, QModelIndex)
    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        idea = self.proxy.idea_at(current.row()) if current.isValid() else None
        if idea is None:
            self._selected_id = None
            self._snapshot = None
            self._audit = None
            self.detail.clear()
            self._update_buttons()
            return
        if idea.id != self._selected_id:
            self._selected_id = idea.id
            self._audit = None
            self._client.load_audit(idea.id)
        self._render_detail(keep_scroll=False)
        self._update_buttons()

    def _parsed_snapshot(self, idea: TradeIdea) -> dict:
        # Parse once per selected snapshot; decisions change the state, never the snapshot.
        if self._snapshot is None or self._snapshot[0] != idea.snapshot_sha256:
            self._snapshot = (idea.snapshot_sha256, idea.snapshot)
            self.snapshot_parses += 1
        return self._snapshot[1]

    def _render_detail(self, keep_scroll: bool = True) -> None:
        idea = self.selected_idea()
        if idea is None:
            self.detail.clear()
            return
        audit = self._audit[1] if self._audit and self._audit[0] == idea.id else None
        gross = self._portfolio.view.gross if self._portfolio is not None else None
        bar = self.detail.verticalScrollBar()
        position = bar.value()
        self.detail.setHtml(render_detail(idea, self._parsed_snapshot(idea), audit, gross))
        if keep_scroll:
            bar.setValue(position)

    def _update_buttons(self) -> None:
        idea = self.selected_idea()
        busy = idea is not None and any(pending[0] == idea.id for pending in self._pending.values())
        for button, decision in ((self.approve_button, "approve"), (self.reject_button, "reject"),
                                 (self.edit_button, "edit")):
            button.setEnabled(idea is not None and not busy and idea.state in ALLOWED_FROM[decision])

    # -- decisions ----------------------------------------------------------------------
    @Slot(str)
    def decide_selected(self, decision: str) -> None:
        idea = self.selected_idea()
        if idea is None:
            self.show_message("Select an idea first.", "warning")
            return
        if any(pending[0] == idea.id for pending in self._pending.values()):
            return  # a decision on this idea is on its way; a second key press is not another vote
        if decision == "approve":
            self.request_decision(idea.id, "approve")
            return
        dialog = DecisionDialog(idea, decision, self)
        dialog.accepted.connect(lambda: self.request_decision(idea.id, decision, dialog.note_text(),
                                                              dialog.size()))
        dialog.finished.connect(self._on_dialog_finished)
        self.decision_dialog = dialog
        dialog.open()  # window-modal and non-blocking: the UI thread never sits in exec()

    @Slot(int)
    def _on_dialog_finished(self, _result: int) -> None:
        dialog, self.decision_dialog = self.decision_dialog, None
        if dialog is not None:
            dialog.deleteLater()
        self.table.setFocus()

    def request_decision(self, idea_id: int, decision: str, note: str = "", size: float | None = None) -> int:
        """Send a decision to the engine; it answers with ``ideaDecided`` (recorded or refused)."""
        index = self.table.selectionModel().currentIndex()
        request_id = self._client.decide_idea(idea_id, decision, note, size)
        self._pending[request_id] = (idea_id, index.row() if index.isValid() else 0)
        self._update_buttons()
        return request_id

    @Slot(object)
    def _on_decided(self, outcome: IdeaDecision) -> None:
        idea_id, proxy_row = self._pending.pop(outcome.request_id, (outcome.idea_id, 0))
        if outcome.idea is None:
            self.show_message(f"Idea #{idea_id} was not {PAST.get(outcome.decision, 'changed')}: "
                              f"{outcome.error}", "error")
            self._update_buttons()
            return
        idea: TradeIdea = outcome.idea
        was_selected = idea.id == self._selected_id
        self.model.upsert([idea])
        self._update_counts()
        if outcome.decision == "edit":
            text = f"Idea #{idea.id} ({idea.symbol}) resized to {idea.size:.2%}; still {idea.state}."
        else:
            text = f"Idea #{idea.id} ({idea.symbol}) {idea.state}. Nothing was executed."
        self.show_message(text, "info")
        self.statusMessage.emit(text)
        if was_selected and not self.select_idea(idea.id):
            # The filter hides it now (e.g. "To review"): move on to the idea that took its place.
            self._select_proxy_row(proxy_row)
            self._sync_current()
        elif was_selected:
            self._render_detail()
        self._update_buttons()

    def _sync_current(self) -> None:
        # Qt may move the current index itself when a row is filtered out; follow it.
        current = self.table.selectionModel().currentIndex()
        shown = self.proxy.idea_at(current.row()) if current.isValid() else None
        if (shown.id if shown else None) != self._selected_id:
            self._on_current_changed(current, QModelIndex())

    @Slot(object)
    def _on_audit(self, trail: AuditTrail) -> None:
        self._audit = (trail.idea_id, tuple(trail.entries))
        if trail.idea_id == self._selected_id:
            self._render_detail()

    def audit_entries(self) -> tuple[AuditEntry, ...] | None:
        """The selected idea's audit trail as last received (None until it arrives)."""
        if self._audit is None or self._audit[0] != self._selected_id:
            return None
        return self._audit[1]

    # -- lists and proposals ------------------------------------------------------------
    @Slot(object)
    def _on_listed(self, listing: IdeaList) -> None:
        if listing.request_id != self._list_request:
            return
        self._list_request = None
        self.model.set_ideas(listing.ideas)
        self._update_counts()
        self._selected_id = self._selected_id if self.model.idea(self._selected_id or -1) else None
        self._keep_a_selection()

    @Slot(object)
    def _on_proposed(self, proposals: IdeaProposals) -> None:
        result = proposals.result
        self.model.upsert(result.ideas)
        self._update_counts()
        self._keep_a_selection()
        n = len(result.ideas)
        if proposals.automatic:
            self.statusMessage.emit(f"{n} new trade idea{'' if n == 1 else 's'} to review (Ideas tab)")
            return
        if proposals.request_id != self._propose_request:
            return
        self._propose_request = None
        skipped = len(result.skipped)
        text = f"Proposed {n} new idea{'' if n == 1 else 's'} from stored news"
        if skipped:
            text += f"; {skipped} headline/symbol pair{'' if skipped == 1 else 's'} skipped (hover for why)"
        self.show_message(text + ".", "info" if n else "warning")
        reasons = [f"signal {s.signal_id}{' ' + s.symbol if s.symbol else ''}: {s.reason}"
                   for s in result.skipped[:25]]
        if skipped > 25:
            reasons.append(f"… and {skipped - 25} more")
        self.message.setToolTip("\n".join(reasons))

    @Slot()
    def propose_from_stored(self) -> None:
        self._propose_request = self._client.propose_ideas()
        self.show_message("Proposing ideas from stored news…", "info")

    @Slot(object)
    def _on_portfolio(self, summary: PortfolioSummary) -> None:
        self._portfolio = summary
        self.portfolio_label.setText(render_portfolio(summary))
        if self.selected_idea() is not None:
            self._render_detail()

    @Slot(object)
    def _on_prices_imported(self, imported: PricesImported) -> None:
        if imported.results:
            symbols = ", ".join(r.symbol for r in imported.results)
            bars = sum(r.rows for r in imported.results)
            text = f"Imported {bars:,} bars for {symbols}."
            demo = any(r.source.startswith("demo:") for r in imported.results)
            if demo:
                text += " These demo series are synthetic, not market history."
            text += " Press “Propose from stored news” to turn stored headlines into ideas."
            kind = "warning" if imported.errors else "info"
            if imported.errors:
                text += " Problems: " + " ".join(imported.errors[:5])
            self.show_message(text, kind)
            self.statusMessage.emit(f"Imported market data for {symbols}")
        else:
            self.show_message("Nothing was imported. " + " ".join(imported.errors[:10]), "error")

    @Slot(str)
    def _on_idea_error(self, message: str) -> None:
        self.show_message(message, "error")

    # -- export -------------------------------------------------------------------------
    @Slot()
    def export(self) -> None:
        state = self.state_filter.currentData()
        stamp = time.strftime("%Y%m%d-%H%M")
        suggested = str(Path(self._last_export_dir) / f"trade-ideas-{state or 'all'}-{stamp}.csv")
        path, chosen = QFileDialog.getSaveFileName(self, "Export trade ideas", suggested,
                                                   "CSV files (*.csv);;JSON with snapshots and audit (*.json)")
        if not path:
            return
        if Path(path).suffix.lower() not in (".csv", ".json"):
            path += ".json" if "json" in chosen.lower() else ".csv"
        self._last_export_dir = str(Path(path).parent)
        self.export_to(path)

    def export_to(self, path: str | Path) -> None:
        """Export the ideas in the current state filter (all states when "All states")."""
        self._client.export_ideas(path, self.state_filter.currentData())

    @Slot(object)
    def _on_exported(self, result: IdeasExport) -> None:
        if result.error:
            self.show_message(f"Export failed: {result.error}", "error")
            return
        name = Path(result.path).name
        state = self.state_filter.currentData()
        scope = f"{state} " if state else ""
        self.show_message(f"Exported {result.count:,} {scope}idea{'' if result.count == 1 else 's'} to {name} "
                          "(records of advice; no orders).", "info")
        self.message.setToolTip(result.path)
        self.statusMessage.emit(f"Exported ideas to {result.path}")

    # -- inline message -----------------------------------------------------------------
    def show_message(self, text: str, kind: str = "info") -> None:
        self.message.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
        self.message.setProperty("kind", kind)
        self.message.setText(text)
        self.message.setToolTip("")
        self.message.show()

    def hide_message(self) -> None:
        self.message.clear()
        self.message.hide()


# -- rendering (plain functions: easy to test, no widget state) ---------------------------

def _pct(value: Any, digits: int = 2, signed: bool = False) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    return f"{value:+.{digits}%}" if signed else f"{value:.{digits}%}"


def _num(value: Any, fmt: str = ".6g") -> str:
    return "–" if not isinstance(value, (int, float)) else format(value, fmt)


def _date(ts: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "–" if not isinstance(ts, (int, float)) else time.strftime(fmt, time.localtime(ts))


def _rows(pairs: Sequence[tuple[str, str]]) -> str:
    return "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in pairs)


def _table(body: str, header: Sequence[str] = ()) -> str:
    # No width='100%': QTextDocument then overflows by a pixel and shows a horizontal scroll bar.
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in header)
    return (f"<table cellspacing='0' cellpadding='2'>"
            f"{'<tr>' + head + '</tr>' if head else ''}{body}</table>")


def _signal_confidence(trigger: dict) -> str:
    """The headline's confidence as the idea used it: calibrated first, the raw one beside it."""
    raw, calibrated = trigger.get("confidence"), trigger.get("calibrated_confidence")
    if not isinstance(calibrated, (int, float)):
        return f"{_pct(raw, 0)} (uncalibrated)"
    return f"{_pct(calibrated, 0)} (raw {_pct(raw, 0)}, {html.escape(str(trigger.get('calibrator', '')))})"


def _blend_text(confidence: dict) -> str:
    note = html.escape(str(confidence.get("note", "")))
    if confidence.get("calibrator"):  # snapshots from before calibration have no raw side
        note += f"; raw {_pct(confidence.get('value_raw'), 0)}, {html.escape(str(confidence['calibrator']))}"
    return f"{_pct(confidence.get('value'), 0)} ({note})"


def render_detail(idea: TradeIdea, snap: dict, audit: Sequence[AuditEntry] | None,
                  gross: float | None = None) -> str:
    """The detail view's HTML, from the idea, its parsed snapshot and its audit trail."""
    e = html.escape
    sizing = snap.get("sizing") or {}
    risk = snap.get("risk") or {}
    regime = snap.get("regime") or {}
    strategy = snap.get("strategy") or {}
    features = snap.get("features") or {}
    trigger = snap.get("trigger_signal") or {}
    confidence = snap.get("confidence") or {}
    parts: list[str] = []

    edited = f" (proposed {idea.proposed_size:.2%})" if idea.size != idea.proposed_size else ""
    parts.append(f"<h3>#{idea.id} · {e(idea.direction)} {e(idea.symbol)} · {e(idea.state)}</h3>")
    parts.append(
        f"<p>{e(STRATEGY_NAMES.get(idea.strategy, humanise(idea.strategy)))} in a {e(humanise(idea.regime))} · "
        f"risk <b>{e(idea.risk_level)}</b> ({idea.risk_score:.2f}) · confidence {e(idea.confidence_text)} · "
        f"size <b>{idea.size:.2%}</b>{edited} of equity, limit {idea.size_limit:.2%}</p>")
    cap = sizing.get("leverage_cap")
    if idea.state == "proposed" and gross is not None and isinstance(cap, (int, float)):
        after = gross + idea.size
        verdict = "within" if after <= cap + 1e-12 else "<b>above</b>"
        parts.append(f"<p>Approving at {idea.size:.2%} would take gross exposure from {gross:.2%} to "
                     f"{after:.2%}, {verdict} the {e(humanise(idea.regime))} leverage cap {cap:.2f}x.</p>")

    parts.append("<h4>Rationale</h4><p>" + "<br>".join(e(line) for line in idea.rationale.splitlines())
                 + "</p>")

    parts.append("<h4>Entry, stop-loss and take-profit</h4>")
    parts.append(_table(_rows([
        ("Entry (last close)", _num(idea.entry)),
        ("Stop-loss", f"{_num(idea.stop_loss)} ({_pct(sizing.get('stop_pct'), 1)} away)"),
        ("Take-profit", f"{_num(idea.take_profit)} ({_pct(sizing.get('take_profit_pct'), 1)} away)"),
        ("Round-trip fees", _pct(sizing.get("fees_round_trip"))),
        ("Payoff after fees (b)", _num(sizing.get("payoff"), ".2f")),
        ("Win probability used", _pct(sizing.get("win_probability"), 0)),
        ("Expected return per unit", _pct(sizing.get("expected_return"), 2, signed=True)),
    ])))

    steps = sizing.get("steps") or []
    parts.append(f"<h4>Sizing steps</h4><p>Set by the {e(str(sizing.get('binding', '–')))}; "
                 f"tolerance {e(str(snap.get('tolerance', '–')))}.</p>")
    parts.append(_table(_rows([(str(s.get("step", "")), _pct(s.get("fraction"))) for s in steps])))

    parts.append(f"<h4>Risk: {e(str(risk.get('level', idea.risk_level)))} "
                 f"({_num(risk.get('score', idea.risk_score), '.2f')})</h4>")
    # Lists, not wide tables: the detail pane is narrow and the factors are sentences.
    comps = risk.get("components") or []
    parts.append("<ul>" + "".join(
        f"<li><b>{e(str(c.get('name', '')))}</b> {_num(c.get('score'), '.2f')} "
        f"(weight {_num(c.get('weight'), '.2f')}): {e(str(c.get('factor', '')))}</li>" for c in comps) + "</ul>")

    parts.append(f"<h4>Regime: {e(humanise(str(regime.get('name', idea.regime))))}</h4><ul>"
                 + "".join(f"<li>{e(str(r))}</li>" for r in regime.get("reasons") or []) + "</ul>")
    if strategy.get("reason"):
        parts.append(f"<p>Strategy: {e(str(strategy['reason']))}.</p>")

    parts.append("<h4>Market features</h4>")
    parts.append(_table(_rows([
        ("Last bar", f"{_date(features.get('as_of'), '%Y-%m-%d')} ({_num(features.get('bars'), 'd')} bars; "
                     f"data {_num(snap.get('data_age_days'), '.0f')} days old at the news)"),
        ("Close", _num(features.get("close"))),
        ("Return, last bar / lookback", f"{_pct(features.get('return_1'), 2, True)} / "
                                        f"{_pct(features.get('return_lookback'), 2, True)}"),
        ("Realized volatility (short / long)", f"{_pct(features.get('realized_vol'), 0)} / "
                                               f"{_pct(features.get('realized_vol_long'), 0)}"),
        ("ATR", f"{_num(features.get('atr'))} ({_pct(features.get('atr_pct'))} of price)"),
        ("RSI", _num(features.get("rsi"), ".0f")),
        ("Moving averages (fast / slow)", f"{_num(features.get('ma_fast'))} / {_num(features.get('ma_slow'))} "
                                          f"(gap {_pct(features.get('ma_gap'), 1, True)})"),
        ("Stretch", f"{_num(features.get('stretch_atr'), '+.1f')} ATR from the fast MA"),
        ("Drawdown (current / max)", f"{_pct(features.get('drawdown'), 1)} / "
                                     f"{_pct(features.get('max_drawdown'), 1)}"),
        ("Volume z-score", _num(features.get("volume_z"), "+.1f")),
    ])))

    models = snap.get("model_versions") or {}
    parts.append("<h4>Where it came from</h4>")
    parts.append(_table(_rows([
        ("Headline", f"“{e(str(trigger.get('text', '')))}”"),
        ("News", f"{e(str(trigger.get('label', '')))} {_signal_confidence(trigger)} · "
                 f"{e(str(trigger.get('source', '')))} · {_date(trigger.get('received_at'))}"),
        ("Confidence", _blend_text(confidence)),
        ("Signal ids", e(", ".join(str(i) for i in snap.get("signal_ids") or [idea.signal_id]))),
        ("Model versions", e(", ".join(f"{k}: {v}" for k, v in sorted(models.items())))),
        ("Engine", e(str(snap.get("engine_version", "–")))),
        ("Risk config", e(str(snap.get("risk_config_fingerprint", "–")))),
        ("Snapshot sha256", f"<span style='font-family:monospace'>{e(idea.snapshot_sha256[:16])}…</span>"),
    ])))

    parts.append("<h4>Audit trail</h4>")
    if audit is None:
        parts.append("<p>Loading…</p>")
    else:
        items = []
        for a in audit:
            size = _pct(a.size_after)
            if a.size_before is not None and a.size_before != a.size_after:
                size = f"{_pct(a.size_before)} → {size}"
            move = f"{e(a.from_state)} → {e(a.to_state)}" if a.from_state else e(a.to_state)
            note = f"<br><i>“{e(a.note)}”</i>" if a.note else ""
            items.append(f"<li><b>{e(a.action)}</b> · {move} · size {size} · by {e(a.actor)} · "
                         f"{_date(a.at, '%Y-%m-%d %H:%M:%S')}{note}</li>")
        parts.append("<ol>" + "".join(items) + "</ol>")
    parts.append("<p><i>Advice for review only: nothing is executed or sent as an order.</i></p>")
    return "".join(parts)


def _caps_text(caps: Sequence[tuple[str, float]], gross: float) -> str:
    grouped: dict[float, list[str]] = {}
    for regime, cap in caps:
        grouped.setdefault(cap, []).append(humanise(regime))
    return ", ".join(f"{' / '.join(names)} {max(0.0, cap - gross):.1%}"
                     for cap, names in sorted(grouped.items(), reverse=True))


def render_portfolio(summary: PortfolioSummary) -> str:
    view = summary.view
    n = len(view.positions)
    parts = [f"<b>Approved ideas:</b> {n} · gross exposure <b>{view.gross:.1%}</b> of equity, "
             f"net {view.net:+.1%}"]
    if n:
        parts.append(f"concentration (HHI) {view.herfindahl:.2f}")
        known = [c for c in view.correlations if c.correlation is not None]
        if known:
            parts.append("correlation " + ", ".join(f"{html.escape(c.a)}/{html.escape(c.b)} "
                                                    f"{c.correlation:+.2f}" for c in known[:4]))
    text = " · ".join(parts)
    text += f"<br>Headroom under the leverage caps: {_caps_text(summary.leverage_caps, view.gross)}"
    if view.warnings:
        text += "<br>" + "<br>".join(f"<span style='color:#b45309'>⚠ {html.escape(w)}</span>"
                                     for w in view.warnings)
    return text
