"""Colours that stay readable on light and dark palettes.

Every coloured element sets both its foreground and background, so it never depends on the
platform palette for contrast; the pairs are still chosen per palette so they look native.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QLabel


def is_dark(palette: QPalette | None = None) -> bool:
    pal = palette if palette is not None else QGuiApplication.palette()
    return pal.color(QPalette.ColorRole.Base).lightness() < 128


# label -> ((light fg, light bg), (dark fg, dark bg)); Tailwind-like 800/100 and 300/900 pairs.
_LABEL_HEX = {
    "bullish": (("#166534", "#dcfce7"), ("#86efac", "#14532d")),
    "bearish": (("#991b1b", "#fee2e2"), ("#fca5a5", "#7f1d1d")),
    "neutral": (("#374151", "#e5e7eb"), ("#d1d5db", "#374151")),
}
_LABEL_COLORS = {
    label: tuple((QColor(fg), QColor(bg)) for fg, bg in pairs) for label, pairs in _LABEL_HEX.items()
}


def label_colors(label: str, dark: bool) -> tuple[QColor, QColor] | None:
    """(foreground, background) for a sentiment label, or None for an unknown label."""
    pairs = _LABEL_COLORS.get(label)
    return pairs[1 if dark else 0] if pairs else None


# Inline messages and status badges: explicit fg + bg, readable whatever the palette.
_BOX = "border-radius:4px; padding:4px 8px; border:1px solid {border}; color:{fg}; background:{bg};"
MESSAGE_STYLES = {
    "info": _BOX.format(fg="#1e3a8a", bg="#dbeafe", border="#93c5fd"),
    "warning": _BOX.format(fg="#422006", bg="#fef3c7", border="#f59e0b"),
    "error": _BOX.format(fg="#7f1d1d", bg="#fee2e2", border="#f87171"),
}


def show_message_in(label: QLabel, text: str, kind: str = "info") -> None:
    """Show ``text`` in an inline message label styled for ``kind`` (info, warning, error); the kind is
    also kept as the label's ``kind`` property, which tests and style sheets read."""
    label.setText(text)
    label.setStyleSheet(MESSAGE_STYLES.get(kind, MESSAGE_STYLES["info"]))
    label.setProperty("kind", kind)
    label.show()


WARNING_BADGE = "color:#422006; background:#fde68a; border:1px solid #d97706; border-radius:3px; padding:0 6px;"
ERROR_BADGE = "color:#ffffff; background:#b91c1c; border-radius:3px; padding:0 6px;"


def log_level_color(levelno: int, dark: bool) -> QColor | None:
    """Text colour for a log line; None keeps the palette's normal text colour."""
    if levelno >= 40:
        return QColor("#f87171" if dark else "#b91c1c")
    if levelno >= 30:
        return QColor("#fbbf24" if dark else "#a16207")
    if levelno < 20:
        return QColor("#9ca3af" if dark else "#6b7280")
    return None
