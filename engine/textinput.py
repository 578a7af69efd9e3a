"""Turning raw analyst input (a paste, a dropped file) into items the engine can score.

Bad input never raises half-way: empties are counted, over-long items are cut with a count
the UI can show, and undecodable files raise one clear error before anything is accepted.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from engine.wording import plural

# The longest line read into memory whole: a headline with its columns or JSON fits many times
# over. Longer lines are read on in chunks and dropped (their first MAX_LINE_BYTES kept), so any
# line size costs bounded memory and gets its own message.
MAX_LINE_BYTES = 1 << 20
_READ_CHUNK = 1 << 20


class InputDecodeError(ValueError):
    """A file's bytes are not text in a supported encoding."""


class EmptyInputError(ValueError):
    """Nothing to analyze: the paste or file held only blank lines."""


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
                f"{plural(self.cut_items, 'item')} longer than {self.max_item_chars:,} characters "
                f"{'was' if self.cut_items == 1 else 'were'} cut"
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


@dataclass(frozen=True)
class Line:
    """One line of a file read by ``iter_lines``: at most ``MAX_LINE_BYTES`` of it kept."""

    number: int  # 1-based, as an editor counts
    text: str | None  # without its newline; None when the kept bytes are not UTF-8
    size: int  # bytes of the whole line, newline excluded
    cut: bool  # longer than the limit: ``text`` is its beginning

    def describe_size(self) -> str:
        return f"{self.size:,} bytes" if self.size < 10 << 20 else f"{self.size / (1 << 20):,.0f} MB"


def iter_lines(fh: BinaryIO, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[Line]:
    """Lines of a binary file with bounded memory, whatever their length (a BOM is dropped)."""
    number = 0
    while True:
        head = fh.readline(max_line_bytes + 1)
        if not head:
            return
        number += 1
        size = len(head)
        ended = head.endswith(b"\n")
        while not ended and size > max_line_bytes:  # too long: read the rest in chunks, keep none of it
            more = fh.readline(_READ_CHUNK)
            if not more:
                break
            size += len(more)
            ended = more.endswith(b"\n")
        if ended:
            size -= 1
        data = head[:min(size, max_line_bytes)]
        if number == 1 and data.startswith(codecs.BOM_UTF8):
            data, size = data[3:], size - 3
        cut = size > len(data)
        if cut:
            data = _whole_characters(data)
        try:
            text: str | None = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        yield Line(number, text, size, cut)


def _whole_characters(data: bytes) -> bytes:
    """``data`` without a UTF-8 sequence cut at its end (a line cut at a byte limit)."""
    end = len(data)
    back = 0
    while back < 4 and end - back > 0 and (data[end - back - 1] & 0xC0) == 0x80:
        back += 1  # continuation bytes
    if end - back > 0 and data[end - back - 1] >= 0xC0:
        return data[:end - back - 1]  # a lead byte whose sequence was cut
    return data


def check_utf8(fh: BinaryIO, name: str) -> None:
    """Raise InputDecodeError (located, as ``read_text_file``) unless the rest of the binary file
    ``fh`` is UTF-8; reads in chunks, so a file of any size costs bounded memory."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = lines = 0
    while True:
        chunk = fh.read(_READ_CHUNK)
        try:
            decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # exc.object is the decoder's held-back bytes (part of one character) plus this chunk.
            position = offset - (len(exc.object) - len(chunk)) + exc.start
            line = lines + exc.object[:exc.start].count(b"\n") + 1
            raise InputDecodeError(
                f"{name}: not valid UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {position}, "
                f"line {line}). Save the file as UTF-8 and try again; nothing was imported.") from None
        if not chunk:
            return
        lines += chunk.count(b"\n")
        offset += len(chunk)
