"""Where a file dialog starts: a folder that exists.

Qt's dialog puts the last part of a folder that does not exist into the file-name box (a fresh
machine has no ~/Documents, so the box read "Documents"); an existing folder opens as a folder.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def start_folder(*preferred: str | Path | None) -> str:
    """The first of ``preferred`` that is an existing folder, else Documents when it exists, else home."""
    documents = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    for candidate in (*preferred, documents):
        if candidate and Path(candidate).is_dir():
            return str(candidate)
    return str(Path.home())
