"""Cyclic garbage collection only where it is safe for a Qt desktop.

A collection destroys whatever unreachable objects it finds, on the thread that runs it. In the
desk those can be Qt objects (a closed dialog's widgets in a reference cycle); destroyed on an
engine thread, ``~QObject`` looked up Python overrides there and waited for the GIL while the UI
thread waited for Qt: the engine lane and the window hung for good (seen in the test suite, in
``ModelCache`` closing an idle model). So the engine asks for a collection through here, and it
runs only on the main thread: the CLI's own work, or the desk's UI thread, which also collects on
a timer while automatic collection is off (``app.gui``). Elsewhere reference counting still frees
a dropped model at once; only objects in cycles wait for the UI thread's next collection.
"""

from __future__ import annotations

import gc
import threading


def collect_if_main_thread() -> int:
    """A full collection on the main thread; nothing (0) on any other."""
    if threading.current_thread() is not threading.main_thread():
        return 0
    return gc.collect()
