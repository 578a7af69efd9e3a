"""OHLCV bars per symbol: CSV import with column detection, and reading series back.

Import policy (all or nothing): the whole file is checked first and every bad row is
reported with its line number; if any row is bad the import is rejected and nothing is
written. A risk figure computed from a series with silently dropped rows would look fine
and be wrong, so the analyst fixes the file and imports it again. An accepted file is
written in one transaction and merged into the symbol's series (a bar with the same
timestamp is replaced); ``replace=True`` drops the symbol's old bars first.

Columns are matched by name, case- and punctuation-insensitively: a time column (Date,
Datetime, Timestamp, Time, or the unnamed first column pandas writes for its index; a
separate Date and Time pair is joined), Open, High, Low, Close, optional Adj Close and
optional Volume. With Adj Close present, open/high/low/close are scaled by Adj Close /
Close so returns and ranges share one basis across splits and dividends.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from engine.csvrows import csv_records
from engine.market.db import Database, DbRef
from engine.validation import MAX_TIMESTAMP, SYMBOL_PATTERN


# normalised header name -> field
_ALIASES = {
    "date": "date", "datetime": "date", "timestamp": "date", "dt": "date", "ts": "date",
    "time": "time", "day": "date",
    "open": "open", "o": "open", "openprice": "open",
    "high": "high", "h": "high", "highprice": "high",
    "low": "low", "l": "low", "lowprice": "low",
    "close": "close", "c": "close", "closeprice": "close", "last": "close",
    "adjclose": "adj_close", "adjustedclose": "adj_close", "adjcloseprice": "adj_close",
    "volume": "volume", "vol": "volume", "v": "volume", "tickvolume": "volume",
}
_REQUIRED = ("open", "high", "low", "close")
# Prices a hair outside their own high/low are float noise from the exporter, not bad data.
_RANGE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based physical line in the file; 1 is the header
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class PriceImportError(ValueError):
    """The file was rejected; ``errors`` lists every problem found, by line."""

    def __init__(self, errors: list[RowError] | tuple[RowError, ...], source: str = "") -> None:
        self.errors = tuple(errors)
        self.source = source
        first = "; ".join(str(e) for e in self.errors[:3])
        more = f" (and {len(self.errors) - 3} more)" if len(self.errors) > 3 else ""
        super().__init__(f"{source or 'price file'} rejected, nothing written: {first}{more}")


@dataclass(frozen=True)
class Bars:
    """A symbol's series, oldest first. Arrays are read-only so a Bars can be shared."""

    symbol: str
    ts: np.ndarray  # int64 unix seconds UTC
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray  # NaN where unknown

    def __post_init__(self) -> None:
        for name in ("ts", "open", "high", "low", "close", "volume"):
            getattr(self, name).flags.writeable = False

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def has_volume(self) -> bool:
        return bool(len(self)) and not bool(np.isnan(self.volume).all())

    def tail(self, n: int) -> "Bars":
        """The newest ``n`` bars."""
        n = max(0, int(n))
        return self._slice(slice(len(self) - n, None) if n < len(self) else slice(None))

    def without_last(self) -> "Bars":
        return self._slice(slice(0, max(0, len(self) - 1)))

    def _slice(self, sl: slice) -> "Bars":
        return Bars(self.symbol, self.ts[sl], self.open[sl], self.high[sl], self.low[sl],
                    self.close[sl], self.volume[sl])


@dataclass(frozen=True)
class ParsedPrices:
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    adjusted: bool
    columns: dict  # field -> header text as written in the file

    def __len__(self) -> int:
        return int(self.ts.shape[0])


@dataclass(frozen=True)
class ImportResult:
    symbol: str
    source: str
    rows: int
    replaced: int  # bars that already existed at the same timestamps and were overwritten
    first_ts: int
    last_ts: int
    adjusted: bool
    sha256: str


@dataclass(frozen=True)
class SymbolInfo:
    symbol: str
    rows: int
    first_ts: int
    last_ts: int


def normalise_symbol(symbol: str) -> str:
    value = (symbol or "").strip().upper()
    if not SYMBOL_PATTERN.match(value):
        raise ValueError(f"not a valid symbol: {symbol!r} (letters, digits and . - = ^ / _ up to 20)")
    return value


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.strip().lower())


def _detect_columns(header: list[str]) -> tuple[dict[str, int], list[RowError]]:
    found: dict[str, int] = {}
    errors: list[RowError] = []
    for index, name in enumerate(header):
        field = _ALIASES.get(_header_key(name))
        if field is None:
            continue
        if field in found:
            errors.append(RowError(1, f"two columns mean {field!r}: "
                                      f"{header[found[field]]!r} and {name!r}"))
            continue
        found[field] = index
    if "date" not in found and "time" in found:
        found["date"] = found.pop("time")  # a lone Time column holds full timestamps
    if "date" not in found and header and _header_key(header[0]) == "":
        found["date"] = 0  # pandas writes its DatetimeIndex as an unnamed first column
    missing = [f for f in ("date", *_REQUIRED) if f not in found]
    if missing:
        names = ", ".join(repr(h) for h in header) or "none"
        errors.append(RowError(1, f"missing column(s) {', '.join(missing)} (found: {names})"))
    return found, errors


def parse_timestamp(text: str) -> int:
    """Unix seconds UTC from ISO dates/times, YYYYMMDD, or epoch seconds/milliseconds."""
    value = text.strip()
    if not value:
        raise ValueError("empty timestamp")
    if re.fullmatch(r"\d{8}", value):
        parsed = datetime.strptime(value, "%Y%m%d")
    elif re.fullmatch(r"-?\d+(\.\d+)?", value):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds since the epoch
            seconds /= 1000.0
        # Refused before anything is stored: a bar beyond year 9999 cannot be shown by any date call
        # (it was stored, and `prices list` then failed on it for good).
        if not math.isfinite(seconds) or not 0 < seconds <= MAX_TIMESTAMP:
            raise ValueError(f"epoch timestamp out of range: {value[:30]!r} (seconds or milliseconds since "
                             "1970, up to year 9999)")
        return int(round(seconds))
    else:
        candidate = value
        if re.match(r"^\d{4}/\d{1,2}/\d{1,2}", candidate):
            candidate = candidate.replace("/", "-", 2)
        # Zero-pad 2004-8-9 style dates, which fromisoformat refuses.
        candidate = re.sub(r"^(\d{4})-(\d{1,2})-(\d{1,2})",
                           lambda m: f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}",
                           candidate)
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            raise ValueError(f"unrecognised date/time {value!r} (use ISO 8601, e.g. 2024-01-31 "
                             "or 2024-01-31 15:30:00)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def _number(text: str, name: str) -> float:
    value = text.strip()
    if not value:
        raise ValueError(f"{name} is empty")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} is not finite: {value!r}")
    return number


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_ohlcv_csv(data: bytes, source: str = "") -> ParsedPrices:
    """Check every row; raise :class:`PriceImportError` listing all bad rows, or return them all."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PriceImportError([RowError(line, "not UTF-8 text")], source) from None
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(first_line))
    try:
        header = next(reader)
    except StopIteration:
        raise PriceImportError([RowError(1, "the file is empty")], source) from None
    columns, errors = _detect_columns(header)
    if errors:
        raise PriceImportError(errors, source)
    separate_time = columns.get("time")
    needed = max(columns.values()) + 1

    ts: list[int] = []
    values: list[tuple[float, float, float, float, float]] = []
    first_line_of: dict[int, int] = {}
    for line, record, error in csv_records(reader):
        if error:
            errors.append(RowError(line, error))
            continue
        if len(record) < needed:
            errors.append(RowError(line, f"expected at least {needed} fields, found {len(record)}"))
            continue
        problems: list[str] = []
        stamp_text = record[columns["date"]]
        if separate_time is not None:
            stamp_text = f"{stamp_text.strip()} {record[separate_time].strip()}"
        try:
            stamp = parse_timestamp(stamp_text)
        except ValueError as exc:
            problems.append(str(exc))
            stamp = None
        prices: dict[str, float] = {}
        for field in (*_REQUIRED, "adj_close"):
            if field not in columns:
                continue
            try:
                prices[field] = _number(record[columns[field]], header[columns[field]].strip() or field)
            except ValueError as exc:
                problems.append(str(exc))
        volume = math.nan
        if "volume" in columns:
            try:
                volume = _number(record[columns["volume"]], header[columns["volume"]].strip())
                if volume < 0:
                    problems.append(f"volume is negative ({volume:g})")
            except ValueError as exc:
                problems.append(str(exc))
        if len(prices) == len(_REQUIRED) + ("adj_close" in columns):
            problems.extend(_price_problems(prices))
        if stamp is not None and stamp in first_line_of:
            problems.append(f"duplicate timestamp {stamp_text.strip()!r} (first on line {first_line_of[stamp]})")
        if problems:
            errors.append(RowError(line, "; ".join(problems)))
            continue
        assert stamp is not None
        first_line_of[stamp] = line
        factor = prices["adj_close"] / prices["close"] if "adj_close" in prices else 1.0
        ts.append(stamp)
        values.append((prices["open"] * factor, prices["high"] * factor, prices["low"] * factor,
                       prices["close"] * factor, volume))
    if not errors and not ts:
        errors.append(RowError(1, "no data rows after the header"))
    if errors:
        raise PriceImportError(errors, source)

    order = np.argsort(np.asarray(ts, dtype=np.int64), kind="stable")
    table = np.asarray(values, dtype=np.float64)[order]
    return ParsedPrices(
        ts=np.asarray(ts, dtype=np.int64)[order],
        open=table[:, 0], high=table[:, 1], low=table[:, 2], close=table[:, 3], volume=table[:, 4],
        adjusted="adj_close" in columns,
        columns={field: header[index] for field, index in columns.items()},
    )


def _price_problems(p: dict[str, float]) -> list[str]:
    problems = [f"{name} must be above zero ({p[name]:g})" for name in (*_REQUIRED, "adj_close")
                if name in p and p[name] <= 0]
    if problems:
        return problems
    top = p["high"] * (1 + _RANGE_TOLERANCE)
    bottom = p["low"] * (1 - _RANGE_TOLERANCE)
    if p["high"] < p["low"]:
        problems.append(f"high {p['high']:g} is below low {p['low']:g}")
    elif max(p["open"], p["close"]) > top or min(p["open"], p["close"]) < bottom:
        problems.append(f"open {p['open']:g} / close {p['close']:g} outside the bar's range "
                        f"{p['low']:g}..{p['high']:g}")
    return problems


class MarketData:
    """Price series in the shared database: import CSV files, read bars back."""

    def __init__(self, db: DbRef) -> None:
        self._db = Database(db)
        self.path = self._db.path

    def close(self) -> None:
        self._db.close()

    def import_csv(self, path: str | Path, symbol: str, *, replace: bool = False,
                   source: str | None = None) -> ImportResult:
        path = Path(path)
        return self.import_bytes(path.read_bytes(), symbol, source=source or path.name, replace=replace)

    def import_bytes(self, data: bytes, symbol: str, *, source: str, replace: bool = False) -> ImportResult:
        symbol = normalise_symbol(symbol)
        parsed = parse_ohlcv_csv(data, source)
        digest = hashlib.sha256(data).hexdigest()
        volume = [None if math.isnan(v) else float(v) for v in parsed.volume]
        rows = [(symbol, int(t), float(o), float(h), float(lo), float(c), v)
                for t, o, h, lo, c, v in zip(parsed.ts, parsed.open, parsed.high, parsed.low,
                                             parsed.close, volume)]
        with self._db.transaction() as conn:
            if replace:
                conn.execute("DELETE FROM prices WHERE symbol = ?", (symbol,))
            before = conn.execute("SELECT COUNT(*) FROM prices WHERE symbol = ?", (symbol,)).fetchone()[0]
            conn.executemany(
                "INSERT INTO prices (symbol, ts, open, high, low, close, volume) VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(symbol, ts) DO UPDATE SET open=excluded.open, high=excluded.high, "
                "low=excluded.low, close=excluded.close, volume=excluded.volume",
                rows,
            )
            after = conn.execute("SELECT COUNT(*) FROM prices WHERE symbol = ?", (symbol,)).fetchone()[0]
            conn.execute(
                "INSERT INTO price_imports (symbol, source, sha256, imported_at, rows, first_ts, last_ts, "
                "adjusted) VALUES (?,?,?,?,?,?,?,?)",
                (symbol, source, digest, time.time(), len(rows), int(parsed.ts[0]), int(parsed.ts[-1]),
                 int(parsed.adjusted)),
            )
        return ImportResult(symbol, source, len(rows), len(rows) - (after - before),
                            int(parsed.ts[0]), int(parsed.ts[-1]), parsed.adjusted, digest)

    def bars(self, symbol: str, limit: int | None = None, until: float | None = None) -> Bars:
        """The newest ``limit`` bars (all by default) stamped at or before ``until``, oldest
        first; empty if the symbol is unknown."""
        symbol = normalise_symbol(symbol)
        sql = "SELECT ts, open, high, low, close, volume FROM prices WHERE symbol = ?"
        params: list = [symbol]
        if until is not None:
            sql += " AND ts <= ?"
            params.append(int(math.floor(until)))
        sql += " ORDER BY ts DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        rows = self._db.query(sql, tuple(params))[::-1]
        if not rows:
            empty = np.empty(0)
            return Bars(symbol, np.empty(0, dtype=np.int64), empty, empty.copy(), empty.copy(),
                        empty.copy(), empty.copy())
        ts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        table = np.array([[r[1], r[2], r[3], r[4], np.nan if r[5] is None else r[5]] for r in rows],
                         dtype=np.float64)
        return Bars(symbol, ts, table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy(),
                    table[:, 3].copy(), table[:, 4].copy())

    def symbols(self) -> list[SymbolInfo]:
        rows = self._db.query("SELECT symbol, COUNT(*), MIN(ts), MAX(ts) FROM prices GROUP BY symbol "
                              "ORDER BY symbol")
        return [SymbolInfo(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]

    def has_data(self, symbol: str) -> bool:
        try:
            symbol = normalise_symbol(symbol)
        except ValueError:
            return False
        return bool(self._db.query("SELECT 1 FROM prices WHERE symbol = ? LIMIT 1", (symbol,)))
