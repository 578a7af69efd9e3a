"""One stored signal, opened from a chart marker or an idea's evidence: the headline with each linked
company highlighted where the text names it, its label, calibrated and raw confidence, event class,
source, time and model. Read-only and not modal, so the analyst keeps the chart in view.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from app.bridge.assets import SignalOpened
    from engine.types import EntityLink

HIGHLIGHT = "background-color:#fde68a; color:#111827;"  # readable on light and dark palettes


def highlight_links(text: str, links: Sequence[EntityLink]) -> str:
    """``text`` as HTML with every linked span marked (its symbol and how it was linked in the title).

    Spans that overlap an earlier one, or fall outside the text, are left plain: the text is never
    cut or repeated to fit a bad span.
    """
    spans = sorted((link for link in links if 0 <= link.start < link.end <= len(text)), key=lambda l: l.start)
    out, pos = [], 0
    for link in spans:
        if link.start < pos:
            continue
        out.append(html.escape(text[pos:link.start]))
        tip = html.escape(f"{link.symbol} ({link.method}, {link.role})", quote=True)
        out.append(f"<span style='{HIGHLIGHT}' title='{tip}'>{html.escape(text[link.start:link.end])}</span>"
                   f"<sup>{html.escape(link.symbol)}</sup>")
        pos = link.end
    out.append(html.escape(text[pos:]))
    return "".join(out)


class SignalDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signalDialog")
        self.setWindowTitle("Signal")
        self.resize(520, 240)
        self.headline = QLabel()
        self.headline.setObjectName("signalDialogHeadline")
        self.headline.setWordWrap(True)
        self.headline.setTextFormat(Qt.TextFormat.RichText)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.headline.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.headline.setFont(font)
        self.facts = QLabel()
        self.facts.setObjectName("signalDialogFacts")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.headline)
        layout.addWidget(self.facts, 1)
        layout.addWidget(buttons)

    def show_opened(self, opened: SignalOpened) -> None:
        s, e = opened.signal, opened.event
        self.setWindowTitle(f"Signal #{s.id}")
        self.headline.setText(highlight_links(s.text, s.links))
        conf = (f"{s.calibrated_confidence:.0%} calibrated (raw {s.confidence:.0%})"
                if s.calibrated_confidence is not None else f"{s.confidence:.0%} (no calibrator)")
        if s.view_changed:  # what it was shown with stays; the current view beside it
            conf = (f"{s.first_shown.confidence:.0%} as shown ({html.escape(s.first_shown.calibrator or 'uncalibrated')})"
                    f"; now {conf}")
        event = f"{e.category} / {e.subcategory}, impact {e.impact}" if e is not None else "–"
        linked = ", ".join(dict.fromkeys(link.symbol for link in s.links)) or ", ".join(s.entities) or "none"
        rows = (("Label", f"<b>{html.escape(s.label)}</b> {conf}"), ("Event", html.escape(event)),
                ("Companies", html.escape(linked)), ("Source", html.escape(s.source)),
                ("Received", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(s.received_at))),
                ("Model", html.escape(f"{s.model_id} {s.model_version}")))
        self.facts.setText("<table cellpadding='2'>" + "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
                           + "</table>")
        self.show()
        self.raise_()
