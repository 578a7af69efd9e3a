"""Ideas panel: the review queue for trade ideas, a detail view, decisions and export.
Its parts: the filter row (ideas_filters.py), the decision dialog (ideas_decision.py) and the
detail and portfolio HTML (ideas_html.py).

Every action goes through the ideas feature (app/bridge/ideas.py) and returns at once; answers
come back to the callback of the action (or on its feed: ``proposed``, ``audit``, ``portfolio``).
The engine is the authority
on review rules: the panel disables what cannot apply and asks for a note up front, but a
refused decision comes back as text and is shown inline. Ideas are advice: nothing here
places, routes or sends an order.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from engine.ideas.model import ALLOWED_FROM, AuditEntry, TradeIdea
from ui.widgets.files import start_folder
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
    IdeaFilterProxy,
    IdeaTableModel,
)
from ui.panels.ideas_decision import DecisionDialog
from ui.panels.ideas_detail import IdeaDetailArea
from ui.panels.ideas_filters import IdeaFilterBar
from ui.panels.ideas_html import render_portfolio
from ui.theme import MESSAGE_STYLES
from ui.widgets.tables import fit_columns, setup_record_table

if TYPE_CHECKING:
    from app.bridge.assets import AssetsFeature
    from app.bridge.ideas import AuditTrail, IdeasFeature, PortfolioSummary, PricesImported
    from engine.ideas import ProposalResult

NOTICE = ("Nothing is ever executed: ideas are advice for a human to review, never orders. "
          "This app sends nothing to a broker or an exchange.")
EMPTY_HINT = ("No trade ideas yet. The engine proposes one when a bullish or bearish headline above "
              "the idea confidence threshold names a symbol with market data. Try <b>Load demo prices</b> "
              "(ACME, DUNE, ZEPH, VOLT, FXEU: synthetic series), then paste a headline such as "
              "<i>“$ACME beats estimates and raises guidance”</i> in News, or press "
              "<b>Propose from stored news</b>.")
# Keyed by int: Qt.Key(...) raises on key codes outside the enum (IME, unusual keyboards).
EXPORT_KEYS = "Ctrl+Shift+E"
PROPOSE_KEYS = "Ctrl+Shift+I"
DECISION_KEYS = {int(Qt.Key.Key_A): "approve", int(Qt.Key.Key_R): "reject", int(Qt.Key.Key_E): "edit"}
PAST = {"approve": "approved", "reject": "rejected", "edit": "resized"}


class IdeaTableView(QTableView):
    """A/R/E decide on the current row (instead of the view's type-to-search); Ctrl+Shift+E exports."""

    decisionKey = Signal(str)
    exportKey = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Also handled here, not only by the panel's shortcut actions, so the keys work before the
        # window is active (right after launch, or under an offscreen platform).
        if event.key() == Qt.Key.Key_E and event.modifiers() == (Qt.KeyboardModifier.ControlModifier
                                                                 | Qt.KeyboardModifier.ShiftModifier):
            event.accept()
            self.exportKey.emit()
            return
        decision = DECISION_KEYS.get(int(event.key()))
        if decision and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            event.accept()
            self.decisionKey.emit(decision)
            return
        super().keyPressEvent(event)


class IdeasPanel(QWidget):
    statusMessage = Signal(str)  # short, transient text for the main window's status bar

    def __init__(self, ideas: IdeasFeature, assets: AssetsFeature, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ideasPanel")
        self._ideas = ideas
        self._listing = ideas.latest()  # only the newest list answer is applied
        self._pending: dict[int, int] = {}  # idea id -> proxy row when its decision was sent
        self._selected_id: int | None = None
        self._older: TradeIdea | None = None  # an older revision picked in the history, shown instead
        self._audit: tuple[int, tuple[AuditEntry, ...]] | None = None
        self._portfolio: PortfolioSummary | None = None
        self._last_export_dir = str(Path.home())
        self.decision_dialog: DecisionDialog | None = None

        self.notice = QLabel(NOTICE)
        self.notice.setObjectName("ideasPanelNote")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(MESSAGE_STYLES["info"])

        self.filters = IdeaFilterBar()
        self.filters.changed.connect(self._apply_filters)
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

        self.detail_area = IdeaDetailArea(ideas, assets)
        self.detail_area.revisionRequested.connect(self.show_revision)
        self.detail_area.problem.connect(self._on_idea_error)
        self.detail = self.detail_area.text

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("ideasSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail_area)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        # The detail (text over chart) gets the larger half; the queue's last column (Created) elides.
        self.splitter.setSizes([600, 740])
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.notice)
        layout.addWidget(self.filters)
        layout.addLayout(self.action_row)
        layout.addWidget(self.portfolio_label)
        layout.addWidget(self.message)
        layout.addWidget(self.empty_hint)
        layout.addWidget(self.splitter, 1)

        # Actions with shortcuts anywhere in the panel (text fields keep their letters: they override);
        # the main window lists the same actions in its Ideas menu.
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.decision_actions: dict[str, QAction] = {}
        for key, decision, text in (("A", "approve", "&Approve"), ("R", "reject", "&Reject…"),
                                    ("E", "edit", "&Edit size…")):
            act = QAction(text, self)
            act.setObjectName(f"{decision}IdeaAction")
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(context)
            act.triggered.connect(lambda _=False, d=decision: self.decide_selected(d))
            self.addAction(act)
            self.decision_actions[decision] = act
        self.propose_action = QAction("&Propose from stored news", self)
        self.propose_action.setObjectName("proposeIdeasAction")
        self.propose_action.setShortcut(QKeySequence(PROPOSE_KEYS))
        self.propose_action.setShortcutContext(context)
        self.propose_action.triggered.connect(self.propose_from_stored)
        self.export_action = QAction("E&xport ideas…", self)
        self.export_action.setObjectName("exportIdeasAction")
        self.export_action.setShortcut(QKeySequence(EXPORT_KEYS))  # Ctrl+E is Explain
        self.export_action.setShortcutContext(context)
        self.export_action.triggered.connect(self.export)
        self.addActions([self.propose_action, self.export_action])

        ideas.ready.connect(self._on_ready)
        ideas.failed.connect(self._on_failed)
        ideas.proposed.connect(self._on_auto_proposed)
        ideas.audit.connect(self._on_audit)
        ideas.portfolio.connect(self._on_portfolio)
        ideas.error.connect(self._on_idea_error)
        self._apply_filters()  # the combos start on "To review": the proxy must agree
        self._update_buttons()
        if ideas.info is not None:  # the engine may have started before the panel was built
            self.refresh()

    # -- construction -------------------------------------------------------------------
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
                                  "they are invented, not market history",
                                  lambda: self._ideas.import_demo_prices(self._on_prices_imported))
        self.export_button = button(f"Export… ({EXPORT_KEYS})", "exportButton",
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
        if self._ideas.info is None:
            self.portfolio_label.setText("Approved ideas: unavailable (the engine is not running).")
            self.show_message(f"Trade ideas are unavailable: {message}", "error")

    def refresh(self) -> None:
        """Ask for every idea and the portfolio."""
        self._listing.track(self._ideas.list(self._on_listed, self._on_idea_error))
        self._ideas.load_portfolio(self._on_idea_error)

    # -- filters ------------------------------------------------------------------------
    @Slot()
    def _apply_filters(self) -> None:
        self.proxy.set_filters(**self.filters.chosen())
        self._update_counts()
        self._keep_a_selection()

    def _update_counts(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        self.filters.show_counts(total, shown)
        self.empty_hint.setVisible(total == 0)

    # -- selection and detail -----------------------------------------------------------
    def selected_idea(self) -> TradeIdea | None:
        """The revision in the detail: the queue's current row, or an older revision picked in its history."""
        if self._older is not None:
            return self._older
        return None if self._selected_id is None else self.model.idea(self._selected_id)

    @Slot(object)
    def show_revision(self, revision: TradeIdea) -> None:
        """Show an older (or closed) revision of the selected idea; decisions then apply to it."""
        self._older = revision
        self._audit = None
        self._ideas.load_audit(revision.id, self._on_idea_error)
        self._render_detail(keep_scroll=False)
        self._update_buttons()

    def select_idea(self, idea_id: int) -> bool:
        row = self.model.row_of(idea_id)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        showing_older = self._older is not None
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(index)
        if showing_older and self._older is not None:  # the row was current already: no change signal came
            self._on_current_changed(index, QModelIndex())
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
        self._older = None
        if idea is None:
            self._selected_id = None
            self._audit = None
            self.detail_area.show_none()
            self._update_buttons()
            return
        if idea.id != self._selected_id or (self._audit or (None,))[0] != idea.id:
            self._selected_id = idea.id
            self._audit = None
            self._ideas.load_audit(idea.id, self._on_idea_error)
        self._render_detail(keep_scroll=False)
        self._update_buttons()

    def _render_detail(self, keep_scroll: bool = True) -> None:
        idea = self.selected_idea()
        if idea is None:
            self.detail.clear()
            return
        audit = self._audit[1] if self._audit and self._audit[0] == idea.id else None
        gross = self._portfolio.view.gross if self._portfolio is not None else None
        self.detail_area.show_idea(idea, audit, gross, keep_scroll)

    def _update_buttons(self) -> None:
        idea = self.selected_idea()
        busy = idea is not None and idea.id in self._pending
        for button, decision in ((self.approve_button, "approve"), (self.reject_button, "reject"),
                                 (self.edit_button, "edit")):
            # Approve and edit take the newest revision of an open idea; reject any revision not rejected.
            allowed = idea is not None and idea.state in ALLOWED_FROM[decision] and (
                decision == "reject" or idea.reviewable)
            button.setEnabled(allowed and not busy)

    # -- decisions ----------------------------------------------------------------------
    @Slot(str)
    def decide_selected(self, decision: str) -> None:
        idea = self.selected_idea()
        if idea is None:
            self.show_message("Select an idea first.", "warning")
            return
        if idea.id in self._pending:
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

    def request_decision(self, idea_id: int, decision: str, note: str = "", size: float | None = None) -> None:
        """Send a decision to the engine; the answer (recorded or refused) comes back to this panel."""
        index = self.table.selectionModel().currentIndex()
        self._pending[idea_id] = index.row() if index.isValid() else 0
        self._ideas.decide(idea_id, decision, note, size,
                           lambda idea: self._on_decided(idea, decision),
                           lambda error: self._on_refused(idea_id, decision, error))
        self._update_buttons()

    def _on_refused(self, idea_id: int, decision: str, error: str) -> None:
        self._pending.pop(idea_id, None)
        self.show_message(f"Idea #{idea_id} was not {PAST.get(decision, 'changed')}: {error}", "error")
        self._update_buttons()

    def _shown_id(self) -> int | None:
        shown = self.selected_idea()
        return shown.id if shown is not None else None

    def _on_decided(self, idea: TradeIdea, decision: str) -> None:
        proxy_row = self._pending.pop(idea.id, 0)
        if self._older is not None and self._older.id == idea.id:
            self._older = idea  # a decision on an older revision: it stays on show
        was_selected = idea.id == self._selected_id
        if self.model.idea(idea.id) is not None or idea.current:
            self.model.upsert([idea])
        self._update_counts()
        name = f"{idea.title} (#{idea.id})" if idea.idea_no is not None else f"Idea #{idea.id}"
        if decision == "edit":
            text = f"{name} ({idea.symbol}) resized to {idea.size:.2%}; still {idea.state}."
        else:
            text = f"{name} ({idea.symbol}) {idea.state}. Nothing was executed."
        self.show_message(text, "info")
        self.statusMessage.emit(text)
        if was_selected and not self.select_idea(idea.id):
            # The filter hides it now (e.g. "To review"): move on to the idea that took its place.
            self._select_proxy_row(proxy_row)
            self._sync_current()
        elif was_selected or self._older is idea:
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
        if trail.idea_id == self._shown_id():
            self._render_detail()

    def audit_entries(self) -> tuple[AuditEntry, ...] | None:
        """The shown revision's audit trail as last received (None until it arrives)."""
        if self._audit is None or self._audit[0] != self._shown_id():
            return None
        return self._audit[1]

    # -- lists and proposals ------------------------------------------------------------
    def _on_listed(self, ideas: tuple[TradeIdea, ...]) -> None:
        self.model.set_ideas(ideas)
        self._update_counts()
        self._selected_id = self._selected_id if self.model.idea(self._selected_id or -1) else None
        self._keep_a_selection()

    def _add_proposals(self, result: ProposalResult) -> int:
        self.model.upsert(result.ideas)
        if result.superseded:  # a newer revision replaced a row, or an idea closed: re-read the book
            self.refresh()
        shown = self.selected_idea()
        if shown is not None and any(c.idea_no == shown.idea_no for c in result.changes):
            self.detail_area.reload()  # its history (and the chart's sentiment) moved on
        self._update_counts()
        self._keep_a_selection()
        return len(result.ideas)

    @Slot(object)
    def _on_auto_proposed(self, result: ProposalResult) -> None:
        n = self._add_proposals(result)
        self.statusMessage.emit(f"{n} new trade idea{'' if n == 1 else 's'} to review (Ideas tab)")

    def _on_proposed(self, result: ProposalResult) -> None:
        n = self._add_proposals(result)
        skipped = len(result.skipped)
        text = f"Proposed {n} new idea{'' if n == 1 else 's'} from stored news"
        if skipped:
            text += f"; {skipped} skipped (hover for why)"
        self.show_message(text + ".", "info" if n else "warning")
        reasons = [f"{s.symbol or ''}{'' if s.signal_id is None else f' signal {s.signal_id}'}: {s.reason}"
                   for s in result.skipped[:25]]
        if skipped > 25:
            reasons.append(f"… and {skipped - 25} more")
        self.message.setToolTip("\n".join(reasons))

    @Slot()
    def propose_from_stored(self) -> None:
        self._ideas.propose(self._on_proposed, self._on_idea_error)
        self.show_message("Proposing ideas from stored news…", "info")

    @Slot(object)
    def _on_portfolio(self, summary: PortfolioSummary) -> None:
        self._portfolio = summary
        self.portfolio_label.setText(render_portfolio(summary))
        if self.selected_idea() is not None:
            self._render_detail()

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
        state = self.filters.state()
        stamp = time.strftime("%Y%m%d-%H%M")
        suggested = str(Path(start_folder(self._last_export_dir)) / f"trade-ideas-{state or 'all'}-{stamp}.csv")
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
        path = str(path)
        self._ideas.export(path, self.filters.state(), lambda count: self._on_exported(path, count),
                           lambda error: self.show_message(f"Export failed: {error}", "error"))

    def _on_exported(self, path: str, count: int) -> None:
        name = Path(path).name
        state = self.filters.state()
        scope = f"{state} " if state else ""
        self.show_message(f"Exported {count:,} {scope}idea{'' if count == 1 else 's'} to {name} "
                          "(records of advice; no orders).", "info")
        self.message.setToolTip(path)
        self.statusMessage.emit(f"Exported ideas to {path}")

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
