"""Entry script of the PyInstaller bundle: the same main() as the `signaldesk` console script."""

import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":
    # A frozen executable re-runs itself for spawned worker processes; this stops such a child
    # from opening a second desk if any library ever starts one.
    multiprocessing.freeze_support()
    sys.exit(main())
