"""Signal detail pane: one signal, its LLM explanation as it is written, the five-step chain and
the cited sources (click or Enter opens one). The pane asks, streams, caches and opens; how an
explanation looks is ui/panels/signal_explanation.py.

Reusable: ``show_signal`` takes an ``engine.types.Signal`` (News paste table) or a live-news
``NewsRow`` (Live tab). Everything goes through the explain feature (app/bridge/explain.py); the
pane never waits on it.
Explanations are advice only: nothing here proposes, sizes or changes an idea.
"""

from __future__ import annotations

import html
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ui.panels.signal_explanation import ExplanationDisplay, StreamedExplanation, label_badge
from ui.theme import MESSAGE_STYLES, is_dark

if TYPE_CHECKING:
    from app.bridge.explain import ExplainFeature, ExplanationLoaded, NoteAdded
    from engine.reasoning.lookup import CitedSource

KEY_AUTO_EXPLAIN = "news/autoExplain"
# Explanations kept for rows already seen, so going back to one shows it at once.
VIEW_CACHE_SIZE = 200


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
    first_shown: Any = None  # engine.types.ShownConfidence: what it was shown with when scored


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
                   float(item.received_at), first_shown=item.first_shown if item.view_changed else None)


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

    def __init__(self, explain: ExplainFeature, settings: QSettings | None = None, parent: QWidget | None = None, *,
                 auto_explain_toggle: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("signalDetailPane")
        self._explain = explain
        self._settings = settings if settings is not None else QSettings()
        self._subject: Subject | None = None
        self._asked: dict[int, int] = {}  # request id -> signal id, asked by this pane, not started yet
        self._running: dict[int, int] = {}  # request id -> signal id, started (this pane, auto-explain, …)
        self._streams: dict[int, StreamedExplanation] = {}  # signal id -> what is being written for it
        self._views: OrderedDict[int, object] = OrderedDict()  # signal id -> ExplanationView (LRU)
        self._events: dict[int, str] = {}
        self.shown_view = None  # the ExplanationView on display, None while streaming or empty

        self._build(auto_explain_toggle)
        explain.started.connect(self._on_started)
        explain.chunk.connect(self._on_chunk)
        explain.finished.connect(self._on_ready)
        explain.refused.connect(self._on_failed)
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
            self._explain.set_auto_explain(True)

        self.banner = QLabel()
        self.banner.setObjectName("detailBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()

        self.explanation = ExplanationDisplay()
        self.explanation.sourceRequested.connect(self.open_source)
        # The explanation scrolls as one page: its parts keep their readable heights at any pane size,
        # so nothing is squeezed into another (word-wrapped labels size by height-for-width in here).
        self.explanation_scroll = QScrollArea()
        self.explanation_scroll.setObjectName("detailScroll")
        self.explanation_scroll.setWidget(self.explanation)
        self.explanation_scroll.setWidgetResizable(True)
        self.explanation_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.explanation_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

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

        # The signal, the actions and the note stay in view; the explanation takes the spare room.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.headline)
        layout.addWidget(self.meta)
        layout.addLayout(actions)
        layout.addWidget(self.auto_check)
        layout.addWidget(self.banner)
        layout.addWidget(self.explanation_scroll, 1)
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
            self._explain.load(sid, self._on_loaded)  # stored explanation and event class

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
        request_id = self._explain.explain(s.signal_id, chain=self.chain_check.isChecked())
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
            self._explain.cancel(request_id)
        if ids:
            self.cancel_button.setEnabled(False)
            self.busy_label.setText("Cancelling…")

    @Slot(bool)
    def set_auto_explain(self, on: bool) -> None:
        self._settings.setValue(KEY_AUTO_EXPLAIN, bool(on))
        if self.auto_check.isChecked() != bool(on):
            self.auto_check.setChecked(bool(on))  # re-enters once through toggled
            return
        self._explain.set_auto_explain(bool(on))
        self.statusMessage.emit("Auto-explain of high-impact items " + ("on" if on else "off"))

    @Slot()
    def add_note(self) -> None:
        text = self.note_edit.text().strip()
        if not text:
            self.show_banner("Write the note first; nothing was stored.", "warning")
            return
        sid = self._subject.signal_id if self._subject else None
        self._explain.add_note(text, sid, self._on_note_added, self._on_note_refused)
        self.note_button.setEnabled(False)

    def open_source(self, cited_id: str) -> None:
        self._explain.open_source(cited_id, self._on_source_opened, lambda error: self.show_banner(error, "error"))

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
        badge = label_badge(html.escape(s.label), s.label, is_dark(self.palette()))
        conf = f"{s.confidence:.0%} raw"
        conf += f" · {s.calibrated:.0%} calibrated" if s.calibrated is not None else " · not calibrated"
        if s.first_shown is not None:  # a later calibrator's view differs: what was shown stays first
            conf = (f"<b>{s.first_shown.confidence:.0%} as shown</b> "
                    f"({html.escape(s.first_shown.calibrator or 'uncalibrated')}) · now {conf}")
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

    def _render_empty(self) -> None:
        self.shown_view = None
        self.explanation.show_empty(self._subject is not None and self._subject.signal_id is not None)
        self._update_buttons()

    def _render_stream(self, stream: StreamedExplanation) -> None:
        self.shown_view = None
        self.explanation.show_stream(stream)
        self._update_buttons()
        self._set_busy(True, f"Generating… {stream.tokens} tokens" if stream.tokens else "Preparing…")
        if stream.note:
            self.show_banner(stream.note, "warning")

    def _render_view(self, view) -> None:
        self.shown_view = view
        self.explanation.show_view(view)
        self._update_buttons()
        if view.fallback_used:
            degraded = view.engine_status in ("fallback_breaker_open", "fallback_no_model", "fallback_timeout",
                                              "fallback_error")
            extra = (" The LLM is unavailable or degraded, so this text was built from the classifier's signal."
                     if degraded else " This text was built from the classifier's signal.")
            if view.insufficient_data:
                extra += " Nothing related is on record, so the call is HOLD."
            # The engine's banner says why (which check failed after the retry); older audits lack it.
            said = (view.fallback_banner or view.reason).rstrip()
            self.show_banner(f"{said}{'' if said.endswith('.') else '.'}{extra}", "warning")
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

    # -- the explain feature's feed and answers ----------------------------------------
    @Slot(object)
    def _on_started(self, started) -> None:
        self._asked.pop(started.request_id, None)
        self._running[started.request_id] = started.signal_id
        self._streams[started.signal_id] = StreamedExplanation(started.request_id, started.chain, started.automatic)
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

    def _on_loaded(self, loaded: ExplanationLoaded) -> None:
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

    def _on_source_opened(self, source: CitedSource) -> None:
        self.source_dialog.show_source(source)
        self.source_dialog.show()
        self.source_dialog.raise_()

    def _on_note_refused(self, error: str) -> None:
        self.note_button.setEnabled(self._subject is not None and self._subject.signal_id is not None)
        self.show_banner(error, "error")

    def _on_note_added(self, added: NoteAdded) -> None:
        self.note_button.setEnabled(self._subject is not None and self._subject.signal_id is not None)
        if self.note_edit.text().strip() == added.text:
            self.note_edit.clear()  # kept until stored, so a refusal loses nothing
        about = f" about #{added.signal_id}" if added.signal_id else ""
        self.show_banner(f"Note #{added.note_id}{about} stored; later explanations can retrieve and cite it "
                         f"as note:{added.note_id}.", "info")
        self.statusMessage.emit(f"Analyst note #{added.note_id} stored")

