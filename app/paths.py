"""Platform folders for user data and logs (QStandardPaths), with ``--data-dir`` overriding."""

from __future__ import annotations

import os
from pathlib import Path

from app import APP_NAME, ORG_NAME


def default_data_dir() -> Path:
    # Static setters work without a QCoreApplication, so CLI commands get the same folder.
    from PySide6.QtCore import QCoreApplication, QStandardPaths

    QCoreApplication.setOrganizationName(ORG_NAME)
    QCoreApplication.setApplicationName(APP_NAME)
    location = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(location) if location else Path.home() / ".signaldesk"


def resolve_data_dir(cli_value: str | os.PathLike | None) -> Path:
    chosen = Path(cli_value).expanduser() if cli_value else None
    if chosen is None and os.environ.get("SIGNALDESK_DATA_DIR"):
        chosen = Path(os.environ["SIGNALDESK_DATA_DIR"]).expanduser()
    path = (chosen or default_data_dir()).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir(data_dir: Path) -> Path:
    path = data_dir / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
