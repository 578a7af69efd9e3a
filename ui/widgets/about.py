"""About dialog: app version and licence, shipped models with versions and licences, data terms.

It shows an ``app.about.AboutInfo`` (plain frozen data read from the model manifests by the app
layer); it never reads manifests itself.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (QAbstractItemView, QDialog, QDialogButtonBox, QHBoxLayout, QHeaderView, QLabel,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

if TYPE_CHECKING:
    from app.about import AboutInfo
    from app.bridge.host import EngineInfo
    from engine.types import ModelStatus

MODEL_COLUMNS = ("Model", "Task", "Version", "Licence")


class AboutDialog(QDialog):
    def __init__(self, about: AboutInfo, engine_info: EngineInfo | None = None,
                 sentiment: ModelStatus | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(f"About {about.app_name}")
        self.about = about

        header = QHBoxLayout()
        if about.icon_path:
            icon = QLabel()
            icon.setObjectName("aboutIcon")
            icon.setPixmap(QIcon(about.icon_path).pixmap(64, 64))
            header.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        self.title = QLabel(f"<h3>{html.escape(about.app_name)} {html.escape(about.version)}</h3>"
                            "<p>A desk for market news: headlines scored by local models. Trade ideas "
                            "are advice for human review; nothing is ever executed.</p>"
                            f"<p>Licence: {html.escape(about.app_licence)}</p>")
        self.title.setObjectName("aboutVersion")
        self.title.setWordWrap(True)
        header.addWidget(self.title, 1)

        # The serving model can differ from the one picked at start (switch, fallback), so the
        # caller passes the current status when it has one.
        status = sentiment or (engine_info.sentiment if engine_info else None)
        running = []
        if status is not None:
            running.append(f"Sentiment model in use: {html.escape(status.model_id)} {html.escape(status.version)}"
                           + (" (fallback)" if status.degraded else ""))
        if engine_info is not None:
            running.append(f"Data folder: {html.escape(engine_info.data_dir)}")
        self.running = QLabel("<br>".join(running))
        self.running.setObjectName("aboutRunning")
        self.running.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.running.setVisible(bool(running))

        self.models = QTableWidget(len(about.models), len(MODEL_COLUMNS))
        self.models.setObjectName("aboutModels")
        self.models.setHorizontalHeaderLabels(list(MODEL_COLUMNS))
        self.models.verticalHeader().setVisible(False)
        self.models.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.models.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.models.setWordWrap(True)
        self.models.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # read-only: no focus frame on a cell
        for row, model in enumerate(about.models):
            version = model.version if model.available else f"{model.version} (not installed)"
            for column, text in enumerate((model.model_id, model.task, version, model.licence)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.models.setItem(row, column, item)
        header_view = self.models.horizontalHeader()
        for column in range(len(MODEL_COLUMNS) - 1):
            header_view.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header_view.setSectionResizeMode(len(MODEL_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.models.resizeRowsToContents()

        items = [f"<li>{html.escape(name)}: {html.escape(terms)}</li>"
                 for name, terms in about.data_licences + about.components]
        self.licences = QLabel("<p><b>Data and components</b></p><ul>" + "".join(items) + "</ul>")
        self.licences.setObjectName("aboutLicences")
        self.licences.setWordWrap(True)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.running)
        layout.addWidget(QLabel("<b>Models</b>"))
        layout.addWidget(self.models)
        layout.addWidget(self.licences)
        layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(900, 540)  # fits a 1366x768 screen with every model row on show

    def _fit_models(self) -> None:
        """Every model row visible, no inner scrolling: rows wrap to the licence column's width,
        then the table asks for their height (capped so the dialog still fits a laptop screen)."""
        self.models.resizeRowsToContents()
        rows = sum(self.models.rowHeight(r) for r in range(self.models.rowCount()))
        frame = 2 * self.models.frameWidth()
        self.models.setFixedHeight(min(rows + self.models.horizontalHeader().height() + frame, 420))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_models()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_models()


def show_about(parent: QWidget | None, engine_info: EngineInfo | None = None, *,
               sentiment: ModelStatus | None = None, about: AboutInfo | None = None) -> AboutDialog:
    """Open the dialog window-modal without blocking (tests and the event loop keep running)."""
    if about is None:
        from pathlib import Path

        from app.about import about_info

        about = about_info(Path(engine_info.data_dir) if engine_info else None)
    dialog = AboutDialog(about, engine_info, sentiment, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog
