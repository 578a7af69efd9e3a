"""Reading news files (CSV, JSONL, TXT) into items: shared by the watched folder and ``signaldesk ingest``.

- ``.csv``: a ``text`` (or ``headline`` / ``title``) column; optional ``published_at`` (or
  ``timestamp`` / ``time`` / ``date``), ``tickers``, ``source``, ``kind``, ``guid`` (or ``id``), ``link`` (or ``url``).
- ``.jsonl`` / ``.ndjson``: one object per line with the same keys.
- ``.txt``: one headline per line.

A file that is not UTF-8 is refused as a whole with the offending line, before any item is
accepted (the same rule as a paste). Bad rows (no text, broken JSON, unknown kind) are skipped
and reported with their line numbers; they never stop the good rows.

Files are read line by line with bounded memory (engine/textinput.py ``iter_lines``): a CSV or
JSONL line over 1 MB is skipped with its size, a TXT line that long is cut (as every item is
cut to ``max_chars``), and JSON nested too deeply is a bad row, not a crash.

What a row may say about itself is bounded: its ``source`` is kept under the file's own source
(``file:news.csv/wire``), so a row cannot pass for a feed or another source, and one file may
name at most 16 sources; its ``kind`` may lower the file's kind (news > analyst > social), not
raise it; at most 32 tickers, each a symbol; a time must be finite, between 1970 and 9999
(epoch milliseconds are read as such).
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from engine.csvrows import csv_records
from engine.news.config import SOURCE_KINDS
from engine.news.items import NewsItem, make_item
from engine.textinput import MAX_LINE_BYTES, InputDecodeError, Line, check_utf8, iter_lines
from engine.validation import check_name, check_timestamp, clean_tickers

NEWS_FILE_SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "txt"}
TEXT_KEYS = ("text", "headline", "title")
TIME_KEYS = ("published_at", "timestamp", "time", "date", "published")
_TICKER_SPLIT = re.compile(r"[\s,;|]+")
MAX_ROW_SOURCES = 16  # distinct self-declared sources in one file (each one is a vote in the consensus)
EPOCH_MS_ABOVE = 1e11  # a number this large is epoch milliseconds (year 5138 in seconds)

__all__ = ["InputDecodeError", "NEWS_FILE_SUFFIXES", "RowProblem", "iter_news_file", "parse_timestamp"]


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def parse_timestamp(raw: Any) -> float | None:
    """Unix seconds from a number (seconds or milliseconds), ISO 8601 or RFC 2822 text; naive
    times are taken as UTC. ValueError for anything else, or a time that is not finite or not
    between 1970 and 9999."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValueError(f"not a time: {raw!r}")
    if isinstance(raw, (int, float)):
        return _seconds(float(raw))
    text = str(raw).strip()[:100]
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        return _seconds(number)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            raise ValueError(f"not a time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return _seconds(moment.timestamp())


def _seconds(value: float) -> float:
    if abs(value) > EPOCH_MS_ABOVE:
        value /= 1000.0
    return check_timestamp(value, "published_at")


def _tickers(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    values = raw if isinstance(raw, list) else _TICKER_SPLIT.split(str(raw)[:4096])
    return clean_tickers(str(v) if isinstance(v, (int, float)) else v for v in values)


def _first(record: dict, keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = record.get(key)
        if value not in (None, ""):
            return value
    return None


class _RowRules:
    """What rows of one file may say about themselves (see the module docstring)."""

    def __init__(self, source: str, kind: str, trusted: bool) -> None:
        self.source = source
        self.kind = kind
        self.trusted = trusted  # a file shipped with the app (the demo feed): its sources stand as written
        self.sources: set[str] = set()

    def row_source(self, record: dict) -> str:
        declared = str(record.get("source") or "").strip()
        if not declared:
            return self.source
        declared = check_name(declared, "source", 64)
        name = declared if self.trusted else f"{self.source}/{declared}"
        if name not in self.sources and len(self.sources) >= MAX_ROW_SOURCES:
            raise ValueError(f"more than {MAX_ROW_SOURCES} sources named in one file")
        self.sources.add(name)
        return name

    def row_kind(self, record: dict) -> str:
        kind = str(record.get("kind") or record.get("source_kind") or self.kind).strip().lower()
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown kind {kind[:20]!r} (one of {', '.join(SOURCE_KINDS)})")
        if SOURCE_KINDS.index(kind) < SOURCE_KINDS.index(self.kind):
            raise ValueError(f"kind {kind!r} is above this file's kind {self.kind!r} (the file's kind is the most "
                             "a row may claim; set it with --kind or the folder's kind)")
        return kind


def _item_from_record(record: dict, line: int, rules: _RowRules, max_chars: int) -> NewsItem | RowProblem:
    text = _first(record, TEXT_KEYS)
    if not isinstance(text, str) or not text.strip():
        return RowProblem(line, "no text (expected a 'text', 'headline' or 'title' value)")
    try:
        row_kind = rules.row_kind(record)
        source = rules.row_source(record)
        published = parse_timestamp(_first(record, TIME_KEYS))
        tickers = _tickers(record.get("tickers"))
    except ValueError as exc:
        return RowProblem(line, str(exc))
    guid = _first(record, ("guid", "id"))
    link = _first(record, ("link", "url"))
    item = make_item(text[: max_chars * 4], source, max_chars, source_kind=row_kind, published_at=published,
                     guid=str(guid)[:1000] if guid is not None else None,
                     link=str(link)[:2000] if link is not None else None, tickers=tickers)
    if item is not None and len(text) > max_chars * 4:
        item = replace(item, truncated=True)
    return item if item is not None else RowProblem(line, "blank text")


def _too_long(line: Line) -> RowProblem:
    return RowProblem(line.number, f"line is {line.describe_size()}, over the {MAX_LINE_BYTES // (1 << 20)} MB "
                                   "limit for one row; skipped")


def _iter_csv(lines: Iterator[Line], rules: _RowRules, max_chars: int) -> Iterator[NewsItem | RowProblem]:
    problems: list[RowProblem] = []

    def texts() -> Iterator[str]:
        for line in lines:
            if line.cut:
                problems.append(_too_long(line))
                yield "\n"  # keeps the reader's line count
            else:
                yield (line.text or "") + "\n"

    reader = csv.reader(texts())
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        return
    except csv.Error as exc:
        yield RowProblem(1, f"malformed CSV header ({exc})")
        return
    if not any(k in header for k in TEXT_KEYS):
        yield RowProblem(1, f"no text column (expected one of {', '.join(TEXT_KEYS)}; found {', '.join(header)[:200] or 'none'})")
        return
    for start, record, error in csv_records(reader):
        yield from problems
        problems.clear()
        if error:
            yield RowProblem(start, error)
            continue
        yield _item_from_record(dict(zip(header, record)), start, rules, max_chars)
    yield from problems


def _iter_jsonl(lines: Iterator[Line], rules: _RowRules, max_chars: int) -> Iterator[NewsItem | RowProblem]:
    for line in lines:
        if line.cut:
            yield _too_long(line)
            continue
        if not (line.text or "").strip():
            continue
        try:
            record = json.loads(line.text)
        except json.JSONDecodeError as exc:
            yield RowProblem(line.number, f"invalid JSON ({exc.msg})")
            continue
        except RecursionError:
            yield RowProblem(line.number, "JSON nested too deeply")
            continue
        if not isinstance(record, dict):
            yield RowProblem(line.number, "not a JSON object")
            continue
        yield _item_from_record(record, line.number, rules, max_chars)


def _iter_txt(lines: Iterator[Line], rules: _RowRules, max_chars: int) -> Iterator[NewsItem | RowProblem]:
    for line in lines:
        item = make_item((line.text or "")[: max_chars * 4], rules.source, max_chars, source_kind=rules.kind)
        if item is not None:
            # blank lines are layout in a text file, not problems; a cut line is flagged as cut
            yield replace(item, truncated=True) if line.cut and not item.truncated else item


def iter_news_file(path: Path, source: str, kind: str = "news", max_chars: int = 2000, *,
                   trusted: bool = False, no_follow: bool = False) -> Iterator[NewsItem | RowProblem]:
    """Items and problems in file order. Raises InputDecodeError (nothing yielded) for non-UTF-8 files
    and ValueError for an unsupported extension. ``trusted`` (files shipped with the app only) keeps
    the rows' own source names as written; ``no_follow`` refuses a symbolic link (OSError)."""
    path = Path(path)
    fmt = NEWS_FILE_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path.name}: unsupported file type (use {', '.join(sorted(NEWS_FILE_SUFFIXES))})")
    if kind not in SOURCE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(SOURCE_KINDS)}")
    fh = _open(path, no_follow)
    try:
        check_utf8(fh, path.name)  # the whole file, streamed, before anything is yielded
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    reader = {"csv": _iter_csv, "jsonl": _iter_jsonl, "txt": _iter_txt}[fmt]
    return _read(fh, reader, _RowRules(source, kind, trusted), max_chars)


def _open(path: Path, no_follow: bool) -> BinaryIO:
    """The file, opened once for both passes; with ``no_follow`` a symbolic link is refused (ELOOP)
    even if it replaced the file after the caller looked."""
    if not no_follow:
        return open(path, "rb")
    return os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb")


def _read(fh: BinaryIO, reader, rules: _RowRules, max_chars: int) -> Iterator[NewsItem | RowProblem]:
    with fh:
        yield from reader(iter_lines(fh), rules, max_chars)
