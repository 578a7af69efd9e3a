"""Numbered schema migrations, one module each: ``m0001_<name>.py`` defining ``SQL``.

One file per migration lets features add tables without editing a shared list; the number
in the file name is the order. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

import importlib
import pkgutil
import re

_NAME = re.compile(r"^m(\d{4})_\w+$")


def all_migrations() -> list[tuple[int, str, str]]:
    """(number, module name, SQL) sorted by number; duplicate numbers are a programming error."""
    found: dict[int, tuple[int, str, str]] = {}
    for info in pkgutil.iter_modules(__path__):
        match = _NAME.match(info.name)
        if not match:
            continue
        number = int(match.group(1))
        if number in found:
            raise RuntimeError(f"two migrations numbered {number}: {found[number][1]}, {info.name}")
        module = importlib.import_module(f"{__name__}.{info.name}")
        found[number] = (number, info.name, module.SQL)
    return [found[n] for n in sorted(found)]
