"""Turning raw analyst input (a paste, a dropped file) into items the engine can score.

Bad input never raises half-way: empties are counted, over-long items are cut with a count
the UI can show, and undecodable files raise one clear error before anything is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class InputDecodeError(ValueError):
    """A file's bytes are not text in a supported encoding."""


class EmptyInputError(ValueError):
    """Nothing to analyse: the paste or file held only blank lines."""


@dataclass(frozen=True)
class PreparedItems:
    items: tuple[str, ...]
    truncated: tuple[bool, ...]
    empty_lines: int
    cut_items: int
    max_item_chars: int

    @property
    def notice(self) -> str:
        """A one-line summary for the UI, empty when nothing needs saying."""
        parts = []
        if self.cut_items:
            parts.append(
                f"{self.cut_items} item(s) longer than {self.max_item_chars:,} characters were cut"
            )
        return "; ".join(parts)


def prepare_items(raw: str, max_item_chars: int) -> PreparedItems:
    """One item per non-blank line, whitespace-trimmed, cut to max_item_chars."""
    items: list[str] = []
    truncated: list[bool] = []
    empty = 0
    for line in raw.splitlines():
        text = line.strip()
        if not text:
            empty += 1
            continue
        cut = len(text) > max_item_chars
        items.append(text[:max_item_chars] if cut else text)
        truncated.append(cut)
    return PreparedItems(tuple(items), tuple(truncated), empty, sum(truncated), max_item_chars)


def read_text_file(path: Path) -> str:
    """Read UTF-8 (with or without BOM); anything else is a clear, located error."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputDecodeError(
            f"{Path(path).name}: not valid UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}, line {line}). Save the file as UTF-8 and try again; nothing was imported."
        ) from exc
