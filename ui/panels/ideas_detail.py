"""The Ideas panel's detail area: the selected revision in full (HTML from ui/panels/ideas_html.py:
rationale, ranked evidence, sizing, risk, history, audit trail) above the asset's price chart with
the revision's entry, stop and target and its evidence as markers (shown when prices exist).

It reads what it needs itself: the idea's history from the ideas feature, the chart from the
assets feature's asset view; only the newest answer of each is used. Clicking a headline (in
the evidence or on the chart) opens that signal; clicking an older revision in the history shows
it here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtWidgets import QSplitter, QTextBrowser, QWidget

from engine.ideas.model import AuditEntry, TradeIdea
from ui.panels.ideas_html import idea_levels, idea_tick, render_detail
from ui.widgets.asset_chart import AssetChart, ChartMarker
from ui.widgets.signal_view import SignalDialog

if TYPE_CHECKING:
    from app.bridge.assets import AssetsFeature, AssetView, SignalOpened
    from app.bridge.ideas import IdeaHistory, IdeasFeature


def evidence_markers(idea: TradeIdea) -> list[ChartMarker]:
    return [ChartMarker(int(item["signal_id"]), float(item["time"]), str(item.get("label", "")),
                        str(item.get("headline", "")), float(item.get("confidence", 0.0)), bool(item.get("calibrator")))
            for item in idea.evidence if isinstance(item.get("signal_id"), int) and isinstance(item.get("time"), (int, float))]


class IdeaDetailView(QTextBrowser):
    """The selected idea in full; each snapshot is parsed once."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ideaDetail")
        self.setOpenLinks(False)
        self.setPlaceholderText("Select an idea to see its evidence, rationale, risk, sizing, history and audit trail.")
        # The shown idea's parsed snapshot: TradeIdea.snapshot parses JSON on each access.
        self._snapshot: tuple[str, dict] | None = None
        self.snapshot_parses = 0

    def show_idea(self, idea: TradeIdea, audit: Sequence[AuditEntry] | None, gross: float | None,
                  keep_scroll: bool = True, history: IdeaHistory | None = None) -> None:
        bar = self.verticalScrollBar()
        position = bar.value()
        self.setHtml(render_detail(idea, self.parsed_snapshot(idea), audit, gross, history))
        if keep_scroll:
            bar.setValue(position)

    def show_none(self) -> None:
        self._snapshot = None
        self.clear()

    def parsed_snapshot(self, idea: TradeIdea) -> dict:
        # Parse once per shown snapshot; decisions change the state, never the snapshot.
        if self._snapshot is None or self._snapshot[0] != idea.snapshot_sha256:
            self._snapshot = (idea.snapshot_sha256, idea.snapshot)
            self.snapshot_parses += 1
        return self._snapshot[1]


class IdeaDetailArea(QSplitter):
    revisionRequested = Signal(object)  # TradeIdea: an older revision picked in the history
    problem = Signal(str)  # a history, chart or signal read failed

    def __init__(self, ideas: IdeasFeature, assets: AssetsFeature, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.setObjectName("ideaDetailArea")
        self.setChildrenCollapsible(False)
        self._ideas = ideas
        self._assets = assets
        self._history_read = ideas.latest()
        self._view_read = assets.latest()
        self.history: IdeaHistory | None = None
        self.view: AssetView | None = None
        self._shown: TradeIdea | None = None
        self._audit: Sequence[AuditEntry] | None = None
        self._gross: float | None = None
        self._read_for: int | None = None  # revision id whose history and chart were asked for
        self.text = IdeaDetailView()
        self.text.anchorClicked.connect(self._on_anchor)
        self.chart = AssetChart()
        self.chart.markerClicked.connect(self.open_signal)
        self.chart.hide()  # until the asset has prices
        self.signal_dialog = SignalDialog(self)
        self.addWidget(self.text)
        self.addWidget(self.chart)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 2)
        self.setSizes([440, 300])  # the text stays the main read; the chart sits under it

    def show_idea(self, idea: TradeIdea, audit: Sequence[AuditEntry] | None, gross: float | None,
                  keep_scroll: bool = True) -> None:
        self._shown = idea
        self._audit, self._gross = audit, gross  # kept to re-render when the history arrives
        if idea.id != self._read_for:  # a new revision: its history and chart may have changed too
            self._read_for = idea.id
            self.reload()
        else:
            self._draw_chart()
        self.text.show_idea(idea, audit, gross, keep_scroll, self.history)

    def show_none(self) -> None:
        self._shown, self._read_for = None, None
        self.text.show_none()
        self.chart.hide()

    @Slot()
    def reload(self) -> None:
        """Read the shown idea's history and its asset's chart again (e.g. the engine revised it)."""
        idea = self._shown
        if idea is None:
            return
        if idea.idea_no is not None:
            self._history_read.track(self._ideas.history(idea.idea_no, self._on_history, self.problem.emit))
        if self.view is None or self.view.symbol != idea.symbol:
            self.chart.hide()
        self._view_read.track(self._assets.view(idea.symbol, self._on_view, self.problem.emit))

    def _on_history(self, history: IdeaHistory) -> None:
        self.history = history
        if self._shown is not None and self._shown.idea_no == history.idea.id:
            self.text.show_idea(self._shown, self._audit, self._gross, True, history)

    def _on_view(self, view: AssetView) -> None:
        self.view = view
        self._draw_chart()

    def _draw_chart(self) -> None:
        idea, view = self._shown, self.view
        if idea is None or view is None or view.symbol != idea.symbol or not view.bars:
            self.chart.hide()
            return
        markers = evidence_markers(idea) or [ChartMarker(m.signal_id, m.time, m.label, m.headline, m.confidence,
                                                         m.calibrated) for m in view.news if m.signal_id == idea.signal_id]
        self.chart.show_data(view.bars, markers, view.sentiment,
                             idea_levels(idea, idea_tick(self.text.parsed_snapshot(idea))))
        self.chart.show()

    # -- links --------------------------------------------------------------------------------
    def _on_anchor(self, url: QUrl) -> None:
        kind, _, value = url.toString().partition(":")
        if not value.isdigit():
            return
        if kind == "signal":
            self.open_signal(int(value))
        elif kind == "revision" and self.history is not None:
            revision = next((r for r in self.history.revisions if r.id == int(value)), None)
            if revision is not None:
                self.revisionRequested.emit(revision)

    @Slot(int)
    def open_signal(self, signal_id: int) -> None:
        self._assets.signal(signal_id, self._on_signal_opened, self.problem.emit)

    def _on_signal_opened(self, opened: SignalOpened) -> None:
        self.signal_dialog.show_opened(opened)
