"""Case-insensitive text search that folds every script, the same in SQL and in Python.

SQLite's LIKE and NOCASE fold only the ASCII letters, so a search for "ÉLAN" would miss "élan".
``fold`` is Unicode full case folding (``str.casefold``, so "ß" matches "SS") between NFKC
normalisations (so a composed "é" matches a decomposed one, and "ﬁ" matches "fi"). Each stored
headline keeps its folded copy in ``signals.search_text`` (written with the row, backfilled by
migration 13), and a search is ``search_text GLOB '*<folded query>*'``: an exact, case-sensitive
substring test on folded text, so the scan runs in C with no Python call per row. A per-row SQL
function would need one (about three times slower on 100k rows, and each call takes the GIL from
the pipeline's threads); GLOB measured faster than LIKE or instr() on the folded column. Streamed
rows are matched in Python with ``matches`` so they obey exactly the same rule as the query.
"""

from __future__ import annotations

import unicodedata

# The same folding as an SQL function on the Store's connection: the migration backfills with
# it, and the query falls back to it for a row written without ``search_text`` (outside Store).
SQL_FUNCTION = "signaldesk_fold"


def fold(text: str) -> str:
    """``text`` as searches compare it: NFKC, full case folding, NFKC again (folding can denormalise)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def sql_fold(text: str | None) -> str | None:
    """``fold`` for SQLite: NULL stays NULL."""
    return None if text is None else fold(text if isinstance(text, str) else str(text))


def glob_pattern(query: str) -> str:
    """The GLOB pattern for "contains the folded query"; GLOB's own metacharacters made literal."""
    needle = fold(query.strip())
    return "*" + "".join(f"[{c}]" if c in "*?[" else c for c in needle) + "*"


def matches(text: str, query: str) -> bool:
    """Whether ``text`` contains ``query`` as the paged search decides it; a blank query matches all."""
    needle = fold(query.strip())
    return not needle or needle in fold(text)
