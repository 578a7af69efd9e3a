"""Shown before the main window when the data folder cannot be used as it is (issue 22 item 8).

It shows an ``engine.datadir.DataDirHealth`` (plain frozen data; the app made the check) and
offers what can be done: open a read-only copy (when the database can be read), back up the
database and start a new one (when the folder can be written), show the folder, or quit. It
only reports the choice: app/gui.py acts on it.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from engine.datadir import DataDirHealth

READ_ONLY, NEW_DATABASE, QUIT = "read_only", "new_database", "quit"


class DataDirDialog(QDialog):
    def __init__(self, health: DataDirHealth, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataDirDialog")
        self.setWindowTitle("SignalDesk: the data folder needs attention")
        self.health = health
        self.choice = QUIT
        problems = "".join(f"<li>{html.escape(p.message)}</li>" for p in health.problems)
        self.text = QLabel(f"<p>SignalDesk cannot use its data folder as it is:</p><ul>{problems}</ul>"
                           f"<p>Folder: {html.escape(health.path)}</p>")
        self.text.setObjectName("dataDirProblems")
        self.text.setWordWrap(True)

        damaged = any(p.kind.startswith("database") for p in health.problems)
        self.read_only_button = self._button(
            "Open read-only", "readOnlyButton", health.database_readable,
            "Work on a copy of the database; nothing in the data folder changes and the copy is discarded "
            "when you quit" if health.database_readable else "The database itself cannot be read")
        self.new_database_button = self._button(
            "Back up and start a new database", "newDatabaseButton", damaged and health.writable,
            "The database is renamed signaldesk.db.broken-<time> (nothing is deleted) and a new one is made"
            if health.writable else "The folder cannot be written, so nothing can be moved or made there")
        self.show_folder_button = self._button("Show the folder", "showFolderButton", True,
                                               "Open the data folder in the file manager")
        self.quit_button = self._button("Quit", "quitButton", True, "")
        self.read_only_button.clicked.connect(lambda: self._choose(READ_ONLY))
        self.new_database_button.clicked.connect(lambda: self._choose(NEW_DATABASE))
        self.show_folder_button.clicked.connect(self.show_folder)
        self.quit_button.clicked.connect(lambda: self._choose(QUIT))

        buttons = QHBoxLayout()
        for button in (self.read_only_button, self.new_database_button, self.show_folder_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addLayout(buttons)

    def _button(self, label: str, name: str, enabled: bool, tip: str) -> QPushButton:
        button = QPushButton(label)
        button.setObjectName(name)
        button.setEnabled(enabled)
        button.setToolTip(tip)
        return button

    def _choose(self, choice: str) -> None:
        self.choice = choice
        self.accept() if choice != QUIT else self.reject()

    def show_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.health.path))
