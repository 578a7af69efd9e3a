"""A panel's own QAction: named, with a tooltip, and a shortcut that works anywhere in the panel."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget


def panel_action(panel: QWidget, name: str, text: str, tip: str, slot: Callable, keys: str = "") -> QAction:
    """An action added to ``panel``; its shortcut (if any) is the panel's, so a key means one thing
    per panel and the main window's menus can list the same action."""
    act = QAction(text, panel)
    act.setObjectName(name)
    act.setToolTip(tip)
    if keys:
        act.setShortcut(QKeySequence(keys))
        act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    act.triggered.connect(slot)
    panel.addAction(act)
    return act
