"""Walking CSV records with the line numbers a person can find in an editor."""

from __future__ import annotations

import csv
from typing import Iterator


def csv_records(reader) -> Iterator[tuple[int, list[str] | None, str]]:
    """``(first line, fields, error)`` for every record after the header of a ``csv.reader``.

    A record can span lines (quoted newlines), so its first line is tracked from the reader's
    ``line_num``; a malformed record yields ``(line, None, "malformed CSV (…)")`` and the walk
    goes on, so callers can report every bad row and keep the good ones. Blank lines are
    layout, not rows, and are skipped.
    """
    prev_end = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield prev_end + 1, None, f"malformed CSV ({exc})"
            prev_end = reader.line_num
            continue
        start, prev_end = prev_end + 1, reader.line_num
        if not record or all(not field.strip() for field in record):
            continue
        yield start, record, ""
