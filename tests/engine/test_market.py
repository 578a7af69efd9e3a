"""OHLCV import: column detection, per-row errors by line, all-or-nothing writes, real SQLite."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from engine.market import demo
from engine.market.prices import MarketData, PriceImportError, parse_ohlcv_csv, parse_timestamp
from engine.store import DB_FILE_NAME, Store

GOOD = """Date,Open,High,Low,Close,Volume
2024-01-02,10,11,9,10.5,1000
2024-01-03,10.5,12,10,11.5,1500
2024-01-04,11.5,11.8,10.9,11,1200
"""


def _ts(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp())


@pytest.fixture
def market(data_dir: Path):
    m = MarketData(data_dir / DB_FILE_NAME)
    yield m
    m.close()


def _write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text", [
    GOOD,
    GOOD.replace("Date,Open,High,Low,Close,Volume", "date,open,high,low,close,volume"),
    GOOD.replace("Date,Open,High,Low,Close,Volume", "DATETIME,OPEN,HIGH,LOW,CLOSE,VOL"),
    GOOD.replace("Date,Open,High,Low,Close,Volume", ",Open,High,Low,Close,Volume"),  # pandas index
    GOOD.replace(",", ";"),
    GOOD.replace(",", "\t"),
    "Timestamp,Open,High,Low,Close,Volume\n" + "\n".join(
        f"{_ts(d)},{rest}" for d, rest in (("2024-01-02", "10,11,9,10.5,1000"),
                                           ("2024-01-03", "10.5,12,10,11.5,1500"),
                                           ("2024-01-04", "11.5,11.8,10.9,11,1200"))) + "\n",
])
def test_common_column_names_are_detected(text: str) -> None:
    parsed = parse_ohlcv_csv(text.encode())
    assert len(parsed) == 3
    assert parsed.ts.tolist() == [_ts("2024-01-02"), _ts("2024-01-03"), _ts("2024-01-04")]
    assert parsed.close.tolist() == [10.5, 11.5, 11.0]
    assert parsed.volume.tolist() == [1000, 1500, 1200]


def test_an_unnamed_index_column_beside_a_date_column_is_ignored() -> None:
    text = GOOD.replace("Date,", ",Date,").replace("\n2024", "\n7,2024")
    parsed = parse_ohlcv_csv(text.encode())
    assert parsed.ts.tolist()[0] == _ts("2024-01-02") and len(parsed) == 3


def test_separate_date_and_time_columns_without_volume() -> None:
    text = "Date,Time,Open,High,Low,Close\n2024-01-02,09:00,1.1,1.2,1.0,1.15\n2024-01-02,10:00,1.15,1.2,1.1,1.12\n"
    parsed = parse_ohlcv_csv(text.encode())
    assert parsed.ts.tolist() == [_ts("2024-01-02T09:00"), _ts("2024-01-02T10:00")]
    assert np.isnan(parsed.volume).all()


def test_adj_close_rescales_open_high_low_close() -> None:
    text = "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-02,100,110,90,100,50,10\n"
    parsed = parse_ohlcv_csv(text.encode())
    assert parsed.adjusted
    assert (parsed.open[0], parsed.high[0], parsed.low[0], parsed.close[0]) == (50, 55, 45, 50)


def test_rows_are_sorted_by_time_whatever_the_file_order() -> None:
    lines = GOOD.strip().split("\n")
    parsed = parse_ohlcv_csv(("\n".join([lines[0], lines[3], lines[1], lines[2]]) + "\n").encode())
    assert parsed.ts.tolist() == sorted(parsed.ts.tolist())
    assert parsed.close.tolist() == [10.5, 11.5, 11.0]


@pytest.mark.parametrize("value, expected", [
    ("2024-01-31", "2024-01-31T00:00:00+00:00"),
    ("2024-1-5", "2024-01-05T00:00:00+00:00"),
    ("2024/01/31", "2024-01-31T00:00:00+00:00"),
    ("20240131", "2024-01-31T00:00:00+00:00"),
    ("2024-01-31 15:30:00", "2024-01-31T15:30:00+00:00"),
    ("2024-01-31T15:30:00Z", "2024-01-31T15:30:00+00:00"),
    ("2024-01-31T16:30:00+01:00", "2024-01-31T15:30:00+00:00"),
    ("1706715000", "2024-01-31T15:30:00+00:00"),
    ("1706715000000", "2024-01-31T15:30:00+00:00"),
])
def test_timestamp_formats(value: str, expected: str) -> None:
    assert parse_timestamp(value) == int(datetime.fromisoformat(expected).timestamp())


def test_every_bad_row_is_reported_with_its_line_number() -> None:
    text = (
        "Date,Open,High,Low,Close,Volume\n"   # 1
        "2024-01-02,10,11,9,10.5,1000\n"      # 2 fine
        "\n"                                  # 3 blank: ignored
        "2024-01-03,10,9,11,10,1000\n"        # 4 high below low
        "not-a-date,10,11,9,10,1000\n"        # 5
        "2024-01-05,10,11,9,abc,1000\n"       # 6
        "2024-01-06,10,11,9,nan,1000\n"       # 7
        "2024-01-07,10,11,9,12,1000\n"        # 8 close above high
        "2024-01-08,10,11,9,10,-5\n"          # 9
        "2024-01-02,10,11,9,10.5,1000\n"      # 10 duplicate of line 2
        "2024-01-09,10,11\n"                  # 11 short row
        "2024-01-10,0,11,9,10,1000\n"         # 12 zero price
    )
    with pytest.raises(PriceImportError) as caught:
        parse_ohlcv_csv(text.encode(), "t.csv")
    errors = {e.line: e.message for e in caught.value.errors}
    assert sorted(errors) == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert "below low" in errors[4]
    assert "unrecognised date" in errors[5]
    assert "not a number" in errors[6]
    assert "not finite" in errors[7]
    assert "outside the bar's range" in errors[8]
    assert "negative" in errors[9]
    assert "first on line 2" in errors[10]
    assert "fields" in errors[11]
    assert "above zero" in errors[12]
    assert "nothing written" in str(caught.value)


@pytest.mark.parametrize("data, line, words", [
    (b"", 1, "empty"),
    (b"Date,Open,High,Low,Close\n", 1, "no data rows"),
    (b"Date,Open,High,Close\n2024-01-02,1,2,1.5\n", 1, "missing column(s) low"),
    (b"Date,Close,Last,Open,High,Low\n", 1, "two columns mean 'close'"),
    (b"Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1\n2024-01-03,1,2,0.5,\xff\n", 3, "not UTF-8"),
])
def test_file_level_problems(data: bytes, line: int, words: str) -> None:
    with pytest.raises(PriceImportError) as caught:
        parse_ohlcv_csv(data)
    assert caught.value.errors[0].line == line
    assert words in caught.value.errors[0].message


def test_rejected_file_writes_nothing_and_keeps_existing_bars(market: MarketData, tmp_path: Path) -> None:
    market.import_csv(_write(tmp_path, GOOD), "ACME")
    before = market.bars("ACME")
    bad = GOOD.replace("2024-01-04,11.5,11.8,10.9,11,1200", "2024-01-04,11.5,11.8,10.9,oops,1200") + \
        "2024-01-05,20,21,19,20.5,1000\n"
    with pytest.raises(PriceImportError) as caught:
        market.import_csv(_write(tmp_path, bad, "bad.csv"), "ACME", replace=True)
    assert [e.line for e in caught.value.errors] == [4]
    after = market.bars("ACME")
    assert after.ts.tolist() == before.ts.tolist() and after.close.tolist() == before.close.tolist()
    with pytest.raises(PriceImportError):
        market.import_csv(_write(tmp_path, bad, "bad.csv"), "NEWSYM")
    assert not market.has_data("NEWSYM")
    imports = sqlite3.connect(market.path).execute("SELECT COUNT(*) FROM price_imports").fetchone()[0]
    assert imports == 1


def test_a_failure_while_writing_rolls_back_the_whole_file(market: MarketData, tmp_path: Path) -> None:
    # Make the database itself refuse the third row, after two have been inserted.
    conn = sqlite3.connect(market.path)
    conn.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON prices WHEN NEW.ts = {_ts('2024-01-04')} "
                 "BEGIN SELECT RAISE(ABORT, 'disk said no'); END")
    conn.commit()
    conn.close()
    with pytest.raises(sqlite3.DatabaseError, match="disk said no"):
        market.import_csv(_write(tmp_path, GOOD), "ACME")
    assert len(market.bars("ACME")) == 0
    assert market.symbols() == []


def test_reimport_merges_and_replace_drops_old_bars(market: MarketData, tmp_path: Path) -> None:
    first = market.import_csv(_write(tmp_path, GOOD), "acme")
    assert (first.symbol, first.rows, first.replaced) == ("ACME", 3, 0)
    newer = "Date,Open,High,Low,Close,Volume\n2024-01-04,11,12,10,11.9,1\n2024-01-05,12,13,11,12.5,1\n"
    merged = market.import_csv(_write(tmp_path, newer, "n.csv"), "ACME")
    assert merged.replaced == 1
    bars = market.bars("ACME")
    assert len(bars) == 4 and bars.close.tolist()[-2:] == [11.9, 12.5]
    market.import_csv(_write(tmp_path, newer, "n.csv"), "ACME", replace=True)
    assert len(market.bars("ACME")) == 2
    assert market.bars("ACME", limit=1).close.tolist() == [12.5]


def test_bars_survive_reopening_and_live_in_the_shared_database(data_dir: Path, tmp_path: Path) -> None:
    path = data_dir / DB_FILE_NAME
    store = Store(path)  # the engine's own store on the same file
    m = MarketData(store)
    m.import_csv(_write(tmp_path, GOOD), "ACME")
    m.close()
    store.close()
    again = MarketData(path)
    try:
        bars = again.bars("ACME")
        assert bars.close.tolist() == [10.5, 11.5, 11.0]
        assert [(s.symbol, s.rows) for s in again.symbols()] == [("ACME", 3)]
        with pytest.raises(ValueError):
            bars.close[0] = 1.0  # read-only arrays: a Bars can be shared across threads
    finally:
        again.close()
    assert Store(path).schema_version >= 3


@pytest.mark.parametrize("symbol", ["", "a b", "$AAPL", "X" * 21])
def test_invalid_symbols_are_refused(market: MarketData, tmp_path: Path, symbol: str) -> None:
    with pytest.raises(ValueError):
        market.import_csv(_write(tmp_path, GOOD), symbol)


def test_shipped_demo_files_are_exactly_what_the_seeded_generator_writes(tmp_path: Path) -> None:
    shipped = {p.name: p.read_bytes() for p in demo.demo_files()}
    assert set(shipped) == {f"{s.symbol}.csv" for s in demo.DEMO_SERIES}
    regenerated = {p.name: p.read_bytes() for p in demo.write_demo_files(tmp_path)}
    assert regenerated == shipped


def test_demo_files_import_cleanly(market: MarketData) -> None:
    for path in demo.demo_files():
        result = market.import_csv(path, path.stem)
        expected = sum(seg.bars for seg in next(s for s in demo.DEMO_SERIES if s.symbol == path.stem).segments)
        assert result.rows == expected


def test_bars_until_a_time(market: MarketData, tmp_path: Path) -> None:
    market.import_csv(_write(tmp_path, GOOD), "ACME")
    assert market.bars("ACME", until=_ts("2024-01-03") + 1).close.tolist() == [10.5, 11.5]
    assert market.bars("ACME", limit=1, until=_ts("2024-01-03")).close.tolist() == [11.5]
    assert len(market.bars("ACME", until=_ts("2023-12-31"))) == 0
    bars = market.bars("ACME")
    assert bars.tail(2).close.tolist() == [11.5, 11.0] and bars.tail(10).close.tolist() == [10.5, 11.5, 11.0]
    assert bars.without_last().close.tolist() == [10.5, 11.5]
