"""Logging to a rotating file in the data folder, to stderr, and to the in-app log view."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

from app.paths import log_dir

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"
LOG_FILE_NAME = "signaldesk.log"


def resolve_level(debug: bool) -> int:
    if debug:
        return logging.DEBUG
    name = os.environ.get("SIGNALDESK_LOG_LEVEL", "INFO").upper()
    return logging.getLevelName(name) if isinstance(logging.getLevelName(name), int) else logging.INFO


def setup_logging(data_dir: Path, debug: bool = False, *, console: bool = True) -> Path:
    """Idempotent: re-running replaces our handlers instead of stacking duplicates."""
    level = resolve_level(debug)
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        if getattr(handler, "_signaldesk", False):
            root.removeHandler(handler)
            handler.close()
    path = Path(data_dir) / "logs" / LOG_FILE_NAME
    try:
        file_handler = logging.handlers.RotatingFileHandler(log_dir(data_dir) / LOG_FILE_NAME, maxBytes=2_000_000,
                                                            backupCount=5, encoding="utf-8")
    except OSError as exc:  # a read-only data folder: the app still says what is wrong, on stderr
        file_handler = None
        log_error = f"no log file: {path} cannot be written ({exc.strerror or exc})"
    if file_handler is not None:
        file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
        file_handler._signaldesk = True  # type: ignore[attr-defined]
        root.addHandler(file_handler)
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        stream.setLevel(max(level, logging.WARNING))  # keep CLI output clean unless it matters
        stream._signaldesk = True  # type: ignore[attr-defined]
        root.addHandler(stream)
    if file_handler is None:
        logging.getLogger(__name__).warning("%s", log_error)
    return path
