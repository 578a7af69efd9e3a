"""Counts in words: "1 item", "2 items", never "1 item(s)"."""

from __future__ import annotations


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` with ``noun`` or its plural (``noun + "s"`` unless ``many`` is given), e.g. "1,200 rows"."""
    return f"{count:,} {noun if count == 1 else (many or noun + 's')}"
