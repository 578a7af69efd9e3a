"""SignalDesk application layer: process entry, CLI, settings and the Qt <-> engine bridge."""

from engine import __version__

APP_NAME = "SignalDesk"
ORG_NAME = "SignalDesk"

__all__ = ["APP_NAME", "ORG_NAME", "__version__"]
