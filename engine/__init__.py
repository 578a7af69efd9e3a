"""SignalDesk engine: pure Python, never imports Qt.

The one version source for the whole application lives here (pyproject reads it).
"""

__version__ = "0.1.0"
