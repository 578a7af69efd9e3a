"""Entity linking (issue #17): the symbol universe, the linker, and the watchlist that extends them.

``default_linker()`` is the shipped universe's linker, built once per process on first use
(~0.4 s: the package's index data, the alias files and two word lists).
"""

from __future__ import annotations

import functools

from engine.entities.linker import EntityLinker, subjects
from engine.types import EntityLink
from engine.entities.universe import Company, Universe, UniverseError, default_universe

__all__ = ["Company", "EntityLink", "EntityLinker", "Universe", "UniverseError", "default_linker",
           "default_universe", "subjects"]

@functools.cache
def default_linker() -> EntityLinker:
    """The shipped universe's linker, built once per process."""
    return EntityLinker(default_universe())
