"""How the detail pane shows one explanation: the rationale, its fields, the faithfulness checks
(and a disagreement with the classifier), the five-step chain, the sources it retrieved and cited,
the model that wrote it and a footer with its figures.

Rendering only: what is asked, streamed or cached is the pane's (ui/panels/signal_detail.py).
A click (or Enter) on a source asks for it through ``sourceRequested``.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from ui.theme import MESSAGE_STYLES, is_dark, label_colors

CHAIN_STEPS = (("key_facts", "Key facts"), ("sentiment", "Sentiment"), ("market_context", "Market context"),
               ("impact", "Impact"), ("conclusion", "Conclusion"))
DIRECTION_COLORS = {"BUY": "bullish", "SELL": "bearish", "HOLD": "neutral"}
FIELDS = (("direction", "Direction"), ("confidence", "Confidence"), ("sentiment", "Sentiment"),
          ("timeframe", "Timeframe"), ("magnitude", "Magnitude"), ("status", "Status"),
          ("entities", "Entities"), ("events", "Events"))
# The checks of engine/reasoning/checks.py, in the order the engine runs them, as the pane names them.
CHECK_TITLES = {"entities": "entities", "numbers": "numbers", "citations": "citations",
                "consistency": "agreement", "sentiment": "sentiment vs classifier"}


@dataclass
class StreamedExplanation:
    """An explanation being written for one signal."""

    request_id: int
    chain: bool
    automatic: bool
    fields: dict = field(default_factory=dict)  # field -> text so far ("rationale", "chain.impact", …)
    tokens: int = 0
    attempt: int = 1
    note: str = ""


def label_badge(escaped_text: str, label: str, dark: bool) -> str:
    """``escaped_text`` in the label's colours (bullish, bearish, neutral); unchanged for another label."""
    colors = label_colors(label, dark)
    if not colors:
        return escaped_text
    return (f'<span style="color:{colors[0].name()}; background:{colors[1].name()};">'
            f'&nbsp;{escaped_text}&nbsp;</span>')


class ExplanationDisplay(QWidget):
    sourceRequested = Signal(str)  # a cited id ("signal:12", "note:3")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rationale = QPlainTextEdit()
        self.rationale.setObjectName("detailRationale")
        self.rationale.setReadOnly(True)
        self.rationale.setPlaceholderText("The rationale appears here as it is written.")
        self.rationale.setMinimumHeight(self.fontMetrics().lineSpacing() * 5 + 12)

        # A list (not labels in a scroll area): it wraps and scrolls by itself however small the pane.
        self.chain_list = QListWidget()
        self.chain_list.setObjectName("detailChain")
        self.chain_list.setWordWrap(True)
        self.chain_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.chain_list.setUniformItemSizes(False)
        self.chain_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chain_list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # The five steps' titles at least; long steps wrap and the list scrolls.
        self.chain_list.setMinimumHeight(self.fontMetrics().lineSpacing() * 7 + 8)

        self.sources_list = QListWidget()
        self.sources_list.setObjectName("detailSources")
        self.sources_list.setToolTip("Click or press Enter to open a source")
        self.sources_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sources_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.sources_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sources_list.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sources_list.itemClicked.connect(self._open_item)
        self.sources_list.itemActivated.connect(self._open_item)  # Enter / Return, double click
        self.sources_empty = QLabel("–")
        self.sources_empty.setObjectName("detailSourcesEmpty")
        self.sources_empty.setWordWrap(True)

        self.checks = QLabel("–")
        self.checks.setObjectName("detailChecks")
        self.checks.setTextFormat(Qt.TextFormat.RichText)
        self.checks.setWordWrap(True)
        self.disagreement = QLabel()
        self.disagreement.setObjectName("detailDisagreement")
        self.disagreement.setWordWrap(True)
        self.disagreement.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.disagreement.setStyleSheet(MESSAGE_STYLES["warning"])
        self.disagreement.hide()
        self.model_label = QLabel("–")
        self.model_label.setObjectName("detailModel")
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.footer = QLabel()
        self.footer.setObjectName("detailFooter")
        self.footer.setWordWrap(True)
        self.footer.setStyleSheet("color: palette(placeholder-text);")

        # The rationale and the chain scroll by themselves and take the spare room.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(_caption("Rationale"))
        layout.addWidget(self.rationale, 2)
        layout.addWidget(self._build_fields())
        layout.addWidget(self.disagreement)
        checks_row = QHBoxLayout()
        checks_row.setSpacing(6)
        checks_row.addWidget(_caption("Checks:"), 0, Qt.AlignmentFlag.AlignTop)
        checks_row.addWidget(self.checks, 1)
        layout.addLayout(checks_row)
        model_row = QHBoxLayout()
        model_row.setSpacing(6)
        model_row.addWidget(_caption("Model:"), 0, Qt.AlignmentFlag.AlignTop)
        model_row.addWidget(self.model_label, 1)
        layout.addLayout(model_row)
        layout.addWidget(_caption("Reasoning chain"))
        layout.addWidget(self.chain_list, 3)
        layout.addWidget(_caption("Sources (click or Enter to open)"))
        layout.addWidget(self.sources_list)
        layout.addWidget(self.sources_empty)
        layout.addWidget(self.footer)

    def _build_fields(self) -> QWidget:
        fields_box = QWidget()
        grid = QGridLayout(fields_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.field_labels: dict[str, QLabel] = {}
        for i, (key, title) in enumerate(FIELDS):
            caption = QLabel(f"{title}:")
            caption.setStyleSheet("color: palette(placeholder-text);")
            value = QLabel("–")
            value.setObjectName(f"field_{key}")
            value.setTextFormat(Qt.TextFormat.RichText if key == "direction" else Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            wide = key in ("entities", "events")
            value.setWordWrap(True)  # a long value takes more lines, never the room of the next field
            row, col = (3 + (i - 6), 0) if wide else (i // 2, (i % 2) * 2)
            grid.addWidget(caption, row, col, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, col + 1, 1, 3 if wide else 1, Qt.AlignmentFlag.AlignTop)
            self.field_labels[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        return fields_box

    # -- the three states -----------------------------------------------------------------
    def show_empty(self, explainable: bool) -> None:
        """Nothing explained (yet); ``explainable``: a stored signal is selected."""
        self.rationale.clear()
        self.rationale.setPlaceholderText("Not explained yet: press Explain (Ctrl+E)." if explainable
                                          else "The rationale appears here as it is written.")
        self.set_fields({})
        self.set_chain({})
        self.set_sources(None)
        self.set_checks(None)
        self.model_label.setText("–")
        self.footer.setText("")

    def show_stream(self, stream: StreamedExplanation) -> None:
        """The answer so far, as it is written."""
        self.rationale.setPlainText(stream.fields.get("rationale", ""))
        self.rationale.moveCursor(QTextCursor.MoveOperation.End)
        self.rationale.setPlaceholderText("Writing…" if stream.tokens else "Retrieving related items and reading "
                                                                          "the prompt…")
        self.set_fields({"status": "writing…"})
        if stream.chain:
            steps = {k.removeprefix("chain."): v for k, v in stream.fields.items() if k.startswith("chain.")}
            active = next(reversed(stream.fields), "") if stream.fields else ""
            self.set_chain(steps, active.removeprefix("chain.") if active.startswith("chain.") else "")
        else:
            self.set_no_chain("No chain: a plain explanation is being written.")
        self.set_sources(None)
        self.sources_empty.setText("Listed when the answer is complete.")
        self.set_checks(None, "checked against the headline and its sources when the answer is complete")
        self.model_label.setText("–")
        who = "auto-explain" if stream.automatic else ("with chain" if stream.chain else "plain")
        attempt = f", attempt {stream.attempt}" if stream.attempt > 1 else ""
        self.footer.setText(f"Generating ({who}{attempt})…")

    def show_view(self, view) -> None:
        """A complete explanation (``app.bridge.explain.ExplanationView``)."""
        self.rationale.setPlainText(view.rationale)
        direction = html.escape(view.direction)
        label = DIRECTION_COLORS.get(view.direction)
        if label:  # BUY, SELL, HOLD: bold, in the colours of the label they follow from
            direction = f"<b>{label_badge(direction, label, is_dark(self.palette()))}</b>"
        self.set_fields({
            "direction": direction, "confidence": f"{view.confidence:.2f}", "sentiment": view.sentiment,
            "timeframe": view.timeframe, "magnitude": view.magnitude, "status": view.status,
            "entities": ", ".join(view.entities) or "–", "events": ", ".join(view.events) or "–"})
        if view.chain:
            self.set_chain({c.step: c.text for c in view.chain})
        else:
            self.set_no_chain()
        self.set_sources(view)
        self.set_checks(view)
        self.model_label.setText(view.model_line)
        self.model_label.setToolTip("The model that wrote this answer, its version and where it ran (a local file, "
                                    "or an endpoint's host: never its key)")
        when = time.strftime("%H:%M:%S", time.localtime(view.created_at)) if view.created_at else "?"
        parts = [view.model_id or "evidence-based template"]
        if view.latency_ms:
            parts.append(f"{view.latency_ms / 1000:.1f} s")
        if view.first_token_ms:
            parts.append(f"first token {view.first_token_ms / 1000:.1f} s")
        parts.append(f"{view.completion_tokens} tokens")
        if view.audit_id is not None:
            parts.append(f"audit #{view.audit_id}")
        parts.append(("stored " if view.stored else "explained ") + when + (" (auto)" if view.automatic else ""))
        self.footer.setText(" · ".join(parts) + ". Advice only: nothing is proposed or executed.")

    # -- the parts --------------------------------------------------------------------------
    def set_fields(self, values: dict[str, str]) -> None:
        for key, label in self.field_labels.items():
            label.setText(values.get(key, "–"))

    def set_checks(self, view, waiting: str = "–") -> None:
        """One mark per check (✓ passed, ✗ failed, ⚠ a disagreement shown, not a refusal); the details in
        the tooltip, and the disagreement with the classifier on its own line."""
        checks = tuple(view.checks) if view is not None else ()
        self.disagreement.setVisible(view is not None and view.sentiment_disagreement)
        if view is not None and view.sentiment_disagreement:
            detail = next(c.detail for c in checks if c.name == "sentiment" and not c.passed)
            detail = detail.removeprefix("disagreement: ")
            self.disagreement.setText(f"⚠ Disagreement with the classifier: {detail}.")
            self.disagreement.setToolTip("The explanation's sentiment differs from the classifier's label. The "
                                         "answer is shown as written: weigh it against the signal above.")
        if not checks:
            self.checks.setText(html.escape(waiting if view is None else "not recorded for this explanation"))
            self.checks.setToolTip("")
            return
        marks, tips = [], []
        for c in checks:
            title = CHECK_TITLES.get(c.name, c.name)
            if c.passed:
                mark, color = "✓", "#15803d"
            elif c.blocking:
                mark, color = "✗", "#b91c1c"
            else:
                mark, color = "⚠", "#b45309"
            marks.append(f'<span style="color:{color}; font-weight:bold;">{mark}</span>&nbsp;{html.escape(title)}')
            tips.append(f"{mark} {title}: {c.detail}")
        # After a fallback these are the checks of the evidence-based text on show; the banner says why the
        # model's own answer was not shown.
        on_what = " &nbsp; <i>(of the evidence-based text shown)</i>" if view.fallback_used else ""
        self.checks.setText(" &nbsp; ".join(marks) + on_what)
        self.checks.setToolTip("\n".join(tips))

    def check_marks(self) -> dict[str, str]:
        """check name -> ✓ / ✗ / ⚠ as shown (for tests and accessibility)."""
        shown = self.checks.toolTip().splitlines()
        titles = {v: k for k, v in CHECK_TITLES.items()}
        out = {}
        for line in shown:
            mark, _, rest = line.partition(" ")
            title = rest.split(": ", 1)[0]
            out[titles.get(title, title)] = mark
        return out

    def set_chain(self, texts: dict[str, str], active: str = "") -> None:
        """The five steps, always all listed; ``active`` marks the step being written."""
        if self.chain_list.count() != len(CHAIN_STEPS):
            self.chain_list.clear()
            for step, _title in CHAIN_STEPS:
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, step)
                self.chain_list.addItem(item)
        for number, (step, title) in enumerate(CHAIN_STEPS, 1):
            item = self.chain_list.item(number - 1)
            text = texts.get(step, "")
            mark = " ✎" if step == active else ""
            item.setText(f"{number}. {title}{mark} — {text or '…'}")
            item.setToolTip(text)
            item.setForeground(self.palette().text() if text else self.palette().placeholderText())

    def set_no_chain(self, text: str = "No chain: explained without it (tick \"with chain\" and Explain "
                                        "again).") -> None:
        self.chain_list.clear()
        item = QListWidgetItem(text)
        item.setForeground(self.palette().placeholderText())
        self.chain_list.addItem(item)

    def chain_texts(self) -> list[str]:
        return [self.chain_list.item(i).text() for i in range(self.chain_list.count())]

    def set_sources(self, view) -> None:
        self.sources_list.clear()
        ids = view.source_ids if view is not None else ()
        retrieved = {r.id: r for r in view.retrieved} if view is not None else {}
        for cited_id in ids:
            r = retrieved.get(cited_id)
            mark = "★" if cited_id in view.cited else "·"
            score = f"{r.score:.2f}" if r else "   "
            snippet = f"  {r.snippet}" if r and r.snippet else ""
            item = QListWidgetItem(f"{mark} {cited_id}  {score}{snippet}")
            item.setData(Qt.ItemDataRole.UserRole, cited_id)
            item.setToolTip(("Cited by the rationale" if cited_id in view.cited else "Retrieved, not cited")
                            + f"; similarity {score.strip() or '?'}. Click or Enter opens it.")
            self.sources_list.addItem(item)
        n = self.sources_list.count()
        self.sources_list.setVisible(n > 0)
        if n:
            row_h = self.sources_list.sizeHintForRow(0)
            self.sources_list.setFixedHeight(row_h * min(n, 5) + 2 * self.sources_list.frameWidth() + 2)
        if view is None:
            self.sources_empty.setText("–")
        elif not n:
            self.sources_empty.setText("Nothing related on record: the call is HOLD (insufficient data).")
        self.sources_empty.setVisible(n == 0)

    def _open_item(self, item: QListWidgetItem) -> None:
        cited_id = item.data(Qt.ItemDataRole.UserRole)
        if cited_id:
            self.sourceRequested.emit(cited_id)


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label
