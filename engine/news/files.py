"""Reading news files (CSV, JSONL, TXT) into items: shared by the watched folder and ``signaldesk ingest``.

- ``.csv``: a ``text`` (or ``headline`` / ``title``) column; optional ``published_at`` (or
  ``timestamp`` / ``time`` / ``date``), ``tickers``, ``source``, ``kind``, ``guid`` (or ``id``), ``link`` (or ``url``).
- ``.jsonl`` / ``.ndjson``: one object per line with the same keys.
- ``.txt``: one headline per line.

A file that is not UTF-8 is refused as a whole with the offending line, before any item is
accepted (the same rule as a paste). Bad rows (no text, broken JSON, unknown kind) are skipped
and reported with their line numbers; they never stop the good rows.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator

from engine.news.config import SOURCE_KINDS
from engine.news.items import NewsItem, make_item
from engine.textinput import InputDecodeError, read_text_file

NEWS_FILE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}
TEXT_KEYS = ("text", "headline", "title")
TIME_KEYS = ("published_at", "timestamp", "time", "date", "published")
_TICKER_SPLIT = re.compile(r"[\s,;|]+")

__all__ = ["InputDecodeError", "NEWS_FILE_SUFFIXES", "RowProblem", "iter_news_file", "parse_timestamp"]


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def parse_timestamp(raw: Any) -> float | None:
    """Unix seconds from a number, ISO 8601 or RFC 2822 text; naive times are taken as UTC."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError(f"not a time: {raw!r}")
    if isinstance(raw, (int, float)):
        return float(raw)
    text = str(raw).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"not a time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _tickers(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = raw if isinstance(raw, list) else _TICKER_SPLIT.split(str(raw))
    cleaned = (str(v).strip().lstrip("$").upper() for v in values)
    return tuple(dict.fromkeys(v for v in cleaned if v))


def _first(record: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None


def _item_from_record(record: dict, line: int, source: str, kind: str, max_chars: int) -> NewsItem | RowProblem:
    text = _first(record, TEXT_KEYS)
    if not isinstance(text, str) or not text.strip():
        return RowProblem(line, "no text (expected a 'text', 'headline' or 'title' value)")
    row_kind = str(record.get("kind") or record.get("source_kind") or kind).strip().lower()
    if row_kind not in SOURCE_KINDS:
        return RowProblem(line, f"unknown kind {row_kind!r} (one of {', '.join(SOURCE_KINDS)})")
    try:
        published = parse_timestamp(_first(record, TIME_KEYS))
    except ValueError as exc:
        return RowProblem(line, str(exc))
    guid = _first(record, ("guid", "id"))
    link = _first(record, ("link", "url"))
    row_source = str(record.get("source") or "").strip()
    item = make_item(text, row_source or source, max_chars, source_kind=row_kind, published_at=published,
                     guid=str(guid) if guid is not None else None,
                     link=str(link) if link is not None else None,
                     tickers=_tickers(record.get("tickers")))
    return item if item is not None else RowProblem(line, "blank text")


def _iter_csv(text: str, source: str, kind: str, max_chars: int) -> Iterator[NewsItem | RowProblem]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return
    if not any(k in header for k in TEXT_KEYS):
        yield RowProblem(1, f"no text column (expected one of {', '.join(TEXT_KEYS)}; found {', '.join(header) or 'none'})")
        return
    previous_end = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowProblem(previous_end + 1, f"malformed CSV ({exc})")
            previous_end = reader.line_num
            continue
        start, previous_end = previous_end + 1, reader.line_num
        if not record or all(not f.strip() for f in record):
            continue  # a blank line is layout, not a row
        yield _item_from_record(dict(zip(header, record)), start, source, kind, max_chars)


def _iter_jsonl(text: str, source: str, kind: str, max_chars: int) -> Iterator[NewsItem | RowProblem]:
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowProblem(number, f"invalid JSON ({exc.msg})")
            continue
        if not isinstance(record, dict):
            yield RowProblem(number, "not a JSON object")
            continue
        yield _item_from_record(record, number, source, kind, max_chars)


def _iter_txt(text: str, source: str, kind: str, max_chars: int) -> Iterator[NewsItem | RowProblem]:
    for number, line in enumerate(text.split("\n"), start=1):
        item = make_item(line, source, max_chars, source_kind=kind)
        if item is not None:
            yield item  # blank lines are layout in a text file, not problems


def iter_news_file(path: Path, source: str, kind: str = "news", max_chars: int = 2000) -> Iterator[NewsItem | RowProblem]:
    """Items and problems in file order. Raises InputDecodeError (nothing yielded) for non-UTF-8 files
    and ValueError for an unsupported extension."""
    path = Path(path)
    fmt = NEWS_FILE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path.name}: unsupported file type (use {', '.join(sorted(NEWS_FILE_SUFFIXES))})")
    if kind not in SOURCE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SOURCE_KINDS)}")
    text = read_text_file(path)  # decodes the whole file first: refuse before accepting anything
    reader = {"csv": _iter_csv, "jsonl": _iter_jsonl, "txt": _iter_txt}[fmt]
    return reader(text, source, kind, max_chars)
