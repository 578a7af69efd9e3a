"""Signal detail pane: one signal, its LLM explanation as it is written, the five-step chain and
the cited sources (click or Enter opens one).

Reusable: ``show_signal`` takes an ``engine.types.Signal`` (News paste table) or a live-news
``NewsRow`` (Live tab). Everything goes through the EngineClient; the pane never waits on it.
Explanations are advice only: nothing here proposes, sizes or changes an idea.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListView,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.theme import MESSAGE_STYLES, is_dark, label_colors

if TYPE_CHECKING:
    from app.worker import EngineClient

KEY_AUTO_EXPLAIN = "news/autoExplain"
CHAIN_STEPS = (("key_facts", "Key facts"), ("sentiment", "Sentiment"), ("market_context", "Market context"),
               ("impact", "Impact"), ("conclusion", "Conclusion"))
# Explanations kept for rows already seen, so going back to one shows it at once.
VIEW_CACHE_SIZE = 200
DIRECTION_COLORS = {"BUY": "bullish", "SELL": "bearish", "HOLD": "neutral"}


@dataclass(frozen=True)
class Subject:
    """What the pane shows about the selected signal, from either row type."""

    signal_id: int | None
    text: str
    label: str
    confidence: float  # raw model probability of the label
    calibrated: float | None
    assets: tuple[str, ...]
    source: str
    model: str
    received_at: float
    event: str = ""  # "earnings / results, impact high" once known


def subject_of(item) -> Subject | None:
    if item is None:
        return None
    if hasattr(item, "signal_id") and hasattr(item, "tickers"):  # engine.news.query.NewsRow
        event = (f"{item.category} / {item.subcategory}, urgency {item.urgency}, impact {item.impact}"
                 if item.category else "")
        return Subject(item.signal_id or None, item.text, item.label, float(item.confidence), None,
                       tuple(item.tickers), item.source, item.model_id, float(item.received_at), event)
    return Subject(item.id, item.text, item.label, float(item.confidence), item.calibrated_confidence,
                   tuple(item.entities), item.source, f"{item.model_id} {item.model_version}",
                   float(item.received_at))


@dataclass
class _Stream:
    """An explanation being written for one signal."""

    request_id: int
    chain: bool
    automatic: bool
    fields: dict = field(default_factory=dict)  # field -> text so far ("rationale", "chain.impact", …)
    tokens: int = 0
    attempt: int = 1
    note: str = ""


class SourceDialog(QDialog):
    """A cited signal or note, read-only. Not modal: the analyst can keep reading the pane."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourceDialog")
        self.setWindowTitle("Cited source")
        self.resize(460, 260)
        self.title = QLabel()
        self.title.setObjectName("sourceTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.text = QPlainTextEdit()
        self.text.setObjectName("sourceText")
        self.text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def show_source(self, source) -> None:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(source.at))
        if source.kind == "signal":
            facts = (f"{html.escape(source.label or '')} {source.confidence:.0%} · {html.escape(source.origin)} · "
                     f"{html.escape(source.model)} · {when}")
        else:
            about = f" · about signal #{source.signal_id}" if source.signal_id else ""
            facts = f"analyst note by {html.escape(source.origin)}{about} · {when}"
        self.setWindowTitle(f"Cited source {source.id}")
        self.title.setText(f"<b>{html.escape(source.id)}</b><br>{facts}")
        self.text.setPlainText(source.text)


class SignalDetailPane(QWidget):
    statusMessage = Signal(str)

    def __init__(self, client: EngineClient, settings: QSettings | None = None, parent: QWidget | None = None, *,
                 auto_explain_toggle: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("signalDetailPane")
        self._client = client
        self._settings = settings if settings is not None else QSettings()
        self._subject: Subject | None = None
        self._asked: dict[int, int] = {}  # request id -> signal id, asked by this pane, not started yet
        self._running: dict[int, int] = {}  # request id -> signal id, started (this pane, auto-explain, …)
        self._streams: dict[int, _Stream] = {}  # signal id -> what is being written for it
        self._views: OrderedDict[int, object] = OrderedDict()  # signal id -> ExplanationView (LRU)
        self._events: dict[int, str] = {}
        self._notes: dict[int, int | None] = {}  # note request id -> signal id
        self._opening: set[int] = set()  # open_source request ids
        self.shown_view = None  # the ExplanationView on display, None while streaming or empty

        self._build(auto_explain_toggle)
        client.explanationStarted.connect(self._on_started)
        client.explanationChunk.connect(self._on_chunk)
        client.explanationReady.connect(self._on_ready)
        client.explanationFailed.connect(self._on_failed)
        client.explanationLoaded.connect(self._on_loaded)
        client.sourceOpened.connect(self._on_source_opened)
        client.noteAdded.connect(self._on_note_added)
        self.show_signal(None)

    # -- construction -------------------------------------------------------------------
    def _build(self, auto_explain_toggle: bool) -> None:
        self.headline = QLabel()
        self.headline.setObjectName("detailHeadline")
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.headline.setFont(font)
        self.meta = QLabel()
        self.meta.setObjectName("detailMeta")
        self.meta.setWordWrap(True)
        self.meta.setTextFormat(Qt.TextFormat.RichText)

        self.explain_button = QPushButton("Explain")
        self.explain_button.setObjectName("explainButton")
        self.explain_button.setToolTip("Ask the local LLM for a grounded rationale of this signal (Ctrl+E)")
        self.explain_button.clicked.connect(self.explain)
        self.chain_check = QCheckBox("with chain")
        self.chain_check.setObjectName("explainChainCheck")
        self.chain_check.setToolTip("Reason in five visible steps first (slower)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("explainCancelButton")
        self.cancel_button.setToolTip("Stop this explanation; nothing is stored with the signal")
        self.cancel_button.clicked.connect(self.cancel)
        self.busy = QProgressBar()
        self.busy.setObjectName("explainBusy")
        self.busy.setRange(0, 0)  # indeterminate: the length of an answer is not known
        self.busy.setTextVisible(False)
        self.busy.setMaximumWidth(80)
        self.busy.setMaximumHeight(12)
        self.busy_label = QLabel()
        self.busy_label.setObjectName("explainBusyLabel")
        actions = QHBoxLayout()
        actions.addWidget(self.explain_button)
        actions.addWidget(self.chain_check)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.busy)
        actions.addWidget(self.busy_label, 1)

        self.auto_check = QCheckBox("Auto-explain high-impact items")
        self.auto_check.setObjectName("autoExplainCheck")
        self.auto_check.setToolTip("Explain newly scored items that are directional, confident and name a ticker, "
                                   "a few at a time (the queue is never flooded)")
        on = self._settings.value(KEY_AUTO_EXPLAIN, False, type=bool)
        self.auto_check.setChecked(on)
        self.auto_check.toggled.connect(self.set_auto_explain)
        self.auto_check.setVisible(auto_explain_toggle)
        if on and auto_explain_toggle:
            self._client.set_auto_explain(True)

        self.banner = QLabel()
        self.banner.setObjectName("detailBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.rationale = QPlainTextEdit()
        self.rationale.setObjectName("detailRationale")
        self.rationale.setReadOnly(True)
        self.rationale.setPlaceholderText("The rationale appears here as it is written.")
        self.rationale.setMinimumHeight(self.fontMetrics().lineSpacing() * 3 + 12)

        fields_box = QWidget()
        grid = QGridLayout(fields_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(2)
        self.field_labels: dict[str, QLabel] = {}
        names = (("direction", "Direction"), ("confidence", "Confidence"), ("sentiment", "Sentiment"),
                 ("timeframe", "Timeframe"), ("magnitude", "Magnitude"), ("status", "Status"),
                 ("entities", "Entities"), ("events", "Events"))
        for i, (key, title) in enumerate(names):
            caption = QLabel(f"{title}:")
            caption.setStyleSheet("color: palette(placeholder-text);")
            value = QLabel("–")
            value.setObjectName(f"field_{key}")
            value.setTextFormat(Qt.TextFormat.RichText if key == "direction" else Qt.TextFormat.PlainText)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            wide = key in ("entities", "events")
            value.setWordWrap(wide)
            row, col = (3 + (i - 6), 0) if wide else (i // 2, (i % 2) * 2)
            grid.addWidget(caption, row, col)
            grid.addWidget(value, row, col + 1, 1, 3 if wide else 1)
            self.field_labels[key] = value
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        # A list (not labels in a scroll area): it wraps and scrolls by itself however small the pane.
        self.chain_list = QListWidget()
        self.chain_list.setObjectName("detailChain")
        self.chain_list.setWordWrap(True)
        self.chain_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.chain_list.setUniformItemSizes(False)
        self.chain_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.chain_list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.chain_list.setMinimumHeight(self.fontMetrics().lineSpacing() * 3 + 8)

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

        self.footer = QLabel()
        self.footer.setObjectName("detailFooter")
        self.footer.setWordWrap(True)
        self.footer.setStyleSheet("color: palette(placeholder-text);")

        self.note_edit = QLineEdit()
        self.note_edit.setObjectName("detailNoteEdit")
        self.note_edit.setPlaceholderText("Analyst note on this signal (retrievable, citable)…")
        self.note_edit.setClearButtonEnabled(True)
        self.note_edit.returnPressed.connect(self.add_note)
        self.note_button = QPushButton("Add note")
        self.note_button.setObjectName("detailNoteButton")
        self.note_button.clicked.connect(self.add_note)
        note_row = QHBoxLayout()
        note_row.addWidget(self.note_edit, 1)
        note_row.addWidget(self.note_button)

        # No scroll area around the whole pane: word-wrapped labels get their real height only in
        # a plain layout. The rationale and the chain scroll by themselves and take the spare room.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.headline)
        layout.addWidget(self.meta)
        layout.addLayout(actions)
        layout.addWidget(self.auto_check)
        layout.addWidget(self.banner)
        layout.addWidget(_caption("Rationale"))
        layout.addWidget(self.rationale, 2)
        layout.addWidget(fields_box)
        layout.addWidget(_caption("Reasoning chain"))
        layout.addWidget(self.chain_list, 3)
        layout.addWidget(_caption("Sources (click or Enter to open)"))
        layout.addWidget(self.sources_list)
        layout.addWidget(self.sources_empty)
        layout.addWidget(self.footer)
        layout.addLayout(note_row)
        self.setMinimumWidth(300)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.source_dialog = SourceDialog(self)

    # -- public -------------------------------------------------------------------------
    @property
    def subject(self) -> Subject | None:
        return self._subject

    def show_signal(self, item) -> None:
        """Show a signal (``engine.types.Signal`` or ``NewsRow``; None clears the pane)."""
        subject = subject_of(item)
        same = subject is not None and self._subject is not None and subject.signal_id == self._subject.signal_id
        self._subject = subject
        self._render_subject()
        if same:
            return
        self.hide_banner()
        sid = subject.signal_id if subject else None
        if sid is not None and sid in self._streams:
            self._render_stream(self._streams[sid])
        elif sid is not None and sid in self._views:
            self._render_view(self._views[sid])
        else:
            self._render_empty()
        if sid is not None:
            self._client.load_explanation(sid)  # stored explanation and event class

    @Slot()
    def explain(self) -> int | None:
        """Explain the shown signal; returns the request id (None when refused)."""
        s = self._subject
        if s is None:
            self.show_banner("Select a signal to explain.", "warning")
            return None
        if s.signal_id is None:
            self.show_banner("Only stored signals can be explained.", "warning")
            return None
        if s.signal_id in self._streams:
            self.show_banner("This signal is already being explained.", "info")
            return None
        request_id = self._client.explain(s.signal_id, chain=self.chain_check.isChecked())
        self._asked[request_id] = s.signal_id
        self.hide_banner()
        self._set_busy(True, "Queued…")
        self.explain_button.setEnabled(False)
        self.statusMessage.emit(f"Explaining signal #{s.signal_id}…")
        return request_id

    @Slot()
    def cancel(self) -> None:
        sid = self._subject.signal_id if self._subject else None
        stream = self._streams.get(sid) if sid is not None else None
        ids = [stream.request_id] if stream else [r for r, s in self._asked.items() if s == sid]
        for request_id in ids:
            self._client.cancel_explain(request_id)
        if ids:
            self.cancel_button.setEnabled(False)
            self.busy_label.setText("Cancelling…")

    @Slot(bool)
    def set_auto_explain(self, on: bool) -> None:
        self._settings.setValue(KEY_AUTO_EXPLAIN, bool(on))
        if self.auto_check.isChecked() != bool(on):
            self.auto_check.setChecked(bool(on))  # re-enters once through toggled
            return
        self._client.set_auto_explain(bool(on))
        self.statusMessage.emit("Auto-explain of high-impact items " + ("on" if on else "off"))

    @Slot()
    def add_note(self) -> None:
        text = self.note_edit.text().strip()
        if not text:
            self.show_banner("Write the note first; nothing was stored.", "warning")
            return
        sid = self._subject.signal_id if self._subject else None
        request_id = self._client.add_note(text, sid)
        self._notes[request_id] = sid
        self.note_button.setEnabled(False)

    def open_source(self, cited_id: str) -> int:
        request_id = self._client.open_source(cited_id)
        self._opening.add(request_id)
        return request_id

    # -- banner -------------------------------------------------------------------------
    def show_banner(self, text: str, kind: str = "info") -> None:
        self.banner.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
        self.banner.setProperty("kind", kind)
        self.banner.setText(text)
        self.banner.show()

    def hide_banner(self) -> None:
        self.banner.clear()
        self.banner.setProperty("kind", "")
        self.banner.hide()

    # -- rendering ----------------------------------------------------------------------
    def _render_subject(self) -> None:
        s = self._subject
        has = s is not None
        for w in (self.chain_check, self.note_edit, self.note_button):
            w.setEnabled(has and s.signal_id is not None)
        if not has:
            self.headline.setText("No signal selected")
            self.meta.setText("Select a row to see its signal and explanation; Ctrl+E explains it.")
            self._update_buttons()
            return
        self.headline.setText(s.text)
        dark = is_dark(self.palette())
        colors = label_colors(s.label, dark)
        badge = html.escape(s.label)
        if colors:
            badge = (f'<span style="color:{colors[0].name()}; background:{colors[1].name()};">'
                     f'&nbsp;{badge}&nbsp;</span>')
        conf = f"{s.confidence:.0%} raw"
        conf += f" · {s.calibrated:.0%} calibrated" if s.calibrated is not None else " · not calibrated"
        event = s.event or (self._events.get(s.signal_id, "") if s.signal_id is not None else "")
        parts = [badge, conf, f"event: {html.escape(event or '…')}",
                 f"assets: {html.escape(', '.join(s.assets) or 'none named')}",
                 f"#{s.signal_id}" if s.signal_id is not None else "not stored",
                 html.escape(f"{s.source} · {s.model}")]
        self.meta.setText(" · ".join(parts))
        self._update_buttons()

    def _update_buttons(self) -> None:
        sid = self._subject.signal_id if self._subject else None
        running = sid is not None and (sid in self._streams or sid in self._asked.values())
        self.explain_button.setEnabled(sid is not None and not running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.busy.setVisible(running)
        self.busy_label.setVisible(running)

    def _set_busy(self, busy: bool, text: str = "") -> None:
        self.busy.setVisible(busy)
        self.busy_label.setVisible(busy)
        self.busy_label.setText(text)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)

    def _set_fields(self, values: dict[str, str]) -> None:
        for key, label in self.field_labels.items():
            label.setText(values.get(key, "–"))

    def _set_chain(self, texts: dict[str, str], active: str = "") -> None:
        """The five steps, always all listed; ``active`` marks the step being written."""
        if self.chain_list.count() != len(CHAIN_STEPS):
            self.chain_list.clear()
            for step, _title in CHAIN_STEPS:
                item = QListWidgetItem()
                item.setData(Qt.ItemDataRole.UserRole, step)
                self.chain_list.addItem(item)
        bold = self.chain_list.font()
        bold.setBold(True)
        for number, (step, title) in enumerate(CHAIN_STEPS, 1):
            item = self.chain_list.item(number - 1)
            text = texts.get(step, "")
            mark = " ✎" if step == active else ""
            item.setText(f"{number}. {title}{mark} — {text or '…'}")
            item.setToolTip(text)
            item.setForeground(self.palette().text() if text else self.palette().placeholderText())

    def _set_no_chain(self, text: str = "No chain: explained without it (tick \"with chain\" and Explain "
                                         "again).") -> None:
        self.chain_list.clear()
        item = QListWidgetItem(text)
        item.setForeground(self.palette().placeholderText())
        self.chain_list.addItem(item)

    def chain_texts(self) -> list[str]:
        return [self.chain_list.item(i).text() for i in range(self.chain_list.count())]

    def _set_sources(self, view) -> None:
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

    def _render_empty(self) -> None:
        self.shown_view = None
        self.rationale.clear()
        has = self._subject is not None and self._subject.signal_id is not None
        self.rationale.setPlaceholderText("Not explained yet: press Explain (Ctrl+E)." if has
                                          else "The rationale appears here as it is written.")
        self._set_fields({})
        self._set_chain({})
        self._set_sources(None)
        self.footer.setText("")
        self._update_buttons()

    def _render_stream(self, stream: _Stream) -> None:
        self.shown_view = None
        self.rationale.setPlainText(stream.fields.get("rationale", ""))
        self.rationale.moveCursor(QTextCursor.MoveOperation.End)
        self.rationale.setPlaceholderText("Writing…" if stream.tokens else "Retrieving related items and reading "
                                                                          "the prompt…")
        self._set_fields({"status": "writing…"})
        if stream.chain:
            steps = {k.removeprefix("chain."): v for k, v in stream.fields.items() if k.startswith("chain.")}
            active = next(reversed(stream.fields), "") if stream.fields else ""
            self._set_chain(steps, active.removeprefix("chain.") if active.startswith("chain.") else "")
        else:
            self._set_no_chain("No chain: a plain explanation is being written.")
        self._set_sources(None)
        self.sources_empty.setText("Listed when the answer is complete.")
        who = "auto-explain" if stream.automatic else ("with chain" if stream.chain else "plain")
        attempt = f", attempt {stream.attempt}" if stream.attempt > 1 else ""
        self.footer.setText(f"Generating ({who}{attempt})…")
        self._update_buttons()
        self._set_busy(True, f"Generating… {stream.tokens} tokens" if stream.tokens else "Preparing…")
        if stream.note:
            self.show_banner(stream.note, "warning")

    def _render_view(self, view) -> None:
        self.shown_view = view
        self.rationale.setPlainText(view.rationale)
        dark = is_dark(self.palette())
        colors = label_colors(DIRECTION_COLORS.get(view.direction, ""), dark)
        direction = html.escape(view.direction)
        if colors:
            direction = (f'<b><span style="color:{colors[0].name()}; background:{colors[1].name()};">'
                         f'&nbsp;{direction}&nbsp;</span></b>')
        self._set_fields({
            "direction": direction, "confidence": f"{view.confidence:.2f}", "sentiment": view.sentiment,
            "timeframe": view.timeframe, "magnitude": view.magnitude, "status": view.status,
            "entities": ", ".join(view.entities) or "–", "events": ", ".join(view.events) or "–"})
        if view.chain:
            self._set_chain({c.step: c.text for c in view.chain})
        else:
            self._set_no_chain()
        self._set_sources(view)
        when = time.strftime("%H:%M:%S", time.localtime(view.created_at)) if view.created_at else "?"
        parts = [view.model_id or "template"]
        if view.latency_ms:
            parts.append(f"{view.latency_ms / 1000:.1f} s")
        if view.first_token_ms:
            parts.append(f"first token {view.first_token_ms / 1000:.1f} s")
        parts.append(f"{view.completion_tokens} tokens")
        if view.audit_id is not None:
            parts.append(f"audit #{view.audit_id}")
        parts.append(("stored " if view.stored else "explained ") + when + (" (auto)" if view.automatic else ""))
        self.footer.setText(" · ".join(parts) + ". Advice only: nothing is proposed or executed.")
        self._update_buttons()
        if view.fallback_used:
            degraded = view.engine_status in ("fallback_breaker_open", "fallback_no_model", "fallback_timeout",
                                              "fallback_error")
            extra = (" The LLM is unavailable or degraded, so this text was built from the classifier's signal."
                     if degraded else " This text was built from the classifier's signal.")
            if view.insufficient_data:
                extra += " Nothing related is on record, so the call is HOLD."
            self.show_banner(f"{view.reason}{extra}", "warning")
        elif view.insufficient_data:
            self.show_banner(view.reason, "info")
        else:
            self.hide_banner()

    def _remember(self, view) -> None:
        if view.signal_id is None:
            return
        self._views[view.signal_id] = view
        self._views.move_to_end(view.signal_id)
        while len(self._views) > VIEW_CACHE_SIZE:
            self._views.popitem(last=False)

    def _is_current(self, signal_id: int | None) -> bool:
        return signal_id is not None and self._subject is not None and self._subject.signal_id == signal_id

    # -- client answers -----------------------------------------------------------------
    @Slot(object)
    def _on_started(self, started) -> None:
        self._asked.pop(started.request_id, None)
        self._running[started.request_id] = started.signal_id
        self._streams[started.signal_id] = _Stream(started.request_id, started.chain, started.automatic)
        if self._is_current(started.signal_id):
            self.hide_banner()
            self._render_stream(self._streams[started.signal_id])

    @Slot(object)
    def _on_chunk(self, chunk) -> None:
        stream = self._streams.get(chunk.signal_id)
        if stream is None or stream.request_id != chunk.request_id:
            return
        if chunk.attempt != stream.attempt:  # a retry: the earlier text is void
            stream.fields.clear()
            stream.attempt = chunk.attempt
        if chunk.note:
            stream.note = chunk.note
        for name, text in chunk.pieces:
            stream.fields[name] = stream.fields.get(name, "") + text
        stream.tokens = chunk.tokens
        if self._is_current(chunk.signal_id):
            self._render_stream(stream)

    @Slot(object)
    def _on_ready(self, view) -> None:
        self._running.pop(view.request_id, None)
        self._asked.pop(view.request_id, None)
        stream = self._streams.get(view.signal_id)
        if stream is not None and stream.request_id == view.request_id:
            del self._streams[view.signal_id]
        self._remember(view)
        if self._is_current(view.signal_id):
            self._set_busy(False)
            self._render_view(view)
        kind = "template" if view.fallback_used else view.status
        self.statusMessage.emit(f"Signal #{view.signal_id} explained{' automatically' if view.automatic else ''}: "
                                f"{view.direction} ({kind})")

    @Slot(int, str)
    def _on_failed(self, request_id: int, message: str) -> None:
        sid = self._running.pop(request_id, None)
        asked = self._asked.pop(request_id, None)
        sid = sid if sid is not None else asked
        if sid is None:
            return  # another pane's or an unknown request
        stream = self._streams.get(sid)
        if stream is not None and stream.request_id == request_id:
            del self._streams[sid]
        if self._is_current(sid):
            self._set_busy(False)
            if sid in self._views:
                self._render_view(self._views[sid])
            else:
                self._render_empty()
            self.show_banner(message, "info" if message.startswith("Cancelled") else "error")
        self.statusMessage.emit(f"Signal #{sid}: {message}")

    @Slot(object)
    def _on_loaded(self, loaded) -> None:
        sid = loaded.signal_id
        if loaded.event is not None:
            e = loaded.event
            self._events[sid] = f"{e.category} / {e.subcategory}, urgency {e.urgency}, impact {e.impact}"
        view = loaded.explanation
        if view is not None:
            known = self._views.get(sid)
            # Only a newer one replaces what this pane saw arrive (that one knows more: snippets, auto).
            if known is None or (view.audit_id or 0) > (known.audit_id or 0):
                self._remember(view)
        if not self._is_current(sid):
            return
        if not self._subject.event and sid in self._events:
            self._render_subject()
        if sid in self._streams:
            return  # the live stream stays on show
        if loaded.error:
            self.show_banner(loaded.error, "error")
        elif sid in self._views and self._views[sid] is not self.shown_view:
            self._render_view(self._views[sid])

    def _open_item(self, item: QListWidgetItem) -> None:
        cited_id = item.data(Qt.ItemDataRole.UserRole)
        if cited_id:
            self.open_source(cited_id)

    @Slot(object)
    def _on_source_opened(self, opened) -> None:
        if opened.request_id not in self._opening:
            return
        self._opening.discard(opened.request_id)
        if opened.error:
            self.show_banner(opened.error, "error")
            return
        self.source_dialog.show_source(opened.source)
        self.source_dialog.show()
        self.source_dialog.raise_()

    @Slot(object)
    def _on_note_added(self, added) -> None:
        if added.request_id not in self._notes:
            return
        self._notes.pop(added.request_id)
        self.note_button.setEnabled(self._subject is not None and self._subject.signal_id is not None)
        if added.error:
            self.show_banner(added.error, "error")
            return
        if self.note_edit.text().strip() == added.text:
            self.note_edit.clear()  # kept until stored, so a refusal loses nothing
        about = f" about #{added.signal_id}" if added.signal_id else ""
        self.show_banner(f"Note #{added.note_id}{about} stored; later explanations can retrieve and cite it "
                         f"as note:{added.note_id}.", "info")
        self.statusMessage.emit(f"Analyst note #{added.note_id} stored")


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label
