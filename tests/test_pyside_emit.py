"""Guards the PySide6 pin: 6.12.0 drops a reference to True on every Signal.emit()."""

import os
import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Emitter(QObject):
    fired = Signal(object)
e = Emitter(); seen = []
e.fired.connect(seen.append)
before = sys.getrefcount(True)
for i in range(5000):
    e.fired.emit(i)
print(sys.getrefcount(True) - before, len(seen))
"""


def test_emitting_signals_does_not_leak_or_drop_references() -> None:
    # A subprocess, because the broken release aborts the interpreter outright.
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr[-500:]
    delta, seen = map(int, result.stdout.split())
    assert seen == 5000
    assert abs(delta) < 10
