"""CLI subcommands, one module each, found automatically.

A module here that defines ``register(subparsers)`` (adding its parser and setting
``func=run``) becomes ``signaldesk <name>``; ``run(args) -> int`` is its exit code.
"""

from __future__ import annotations

import importlib
import pkgutil


def register_all(subparsers) -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
