"""``signaldesk prices``: import OHLCV CSV files per symbol, load the demo set, list what is stored.

``prices import FILE --symbol SYM`` checks the whole file first. If any row is bad, every bad
row is printed with its line number and nothing is written (exit 1); fix the file and run it
again. Accepted bars merge into the symbol's series (same timestamp: replaced);
``--replace`` drops the symbol's old bars first. ``prices import --demo`` loads the synthetic
demo series shipped in resources/demo/prices/ (see the README there).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2
MAX_ERRORS_SHOWN = 50


def register(subparsers) -> None:
    p = subparsers.add_parser("prices", help="import OHLCV CSV market data; list stored symbols",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="prices_command", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="import a CSV file for one symbol, or the demo set")
    imp.add_argument("file", nargs="?", type=Path, metavar="FILE", help="an OHLCV .csv file")
    imp.add_argument("--symbol", "-s", metavar="SYM", help="the symbol the file holds (required with FILE)")
    imp.add_argument("--demo", action="store_true", help="import the shipped synthetic demo series")
    imp.add_argument("--replace", action="store_true", help="drop the symbol's stored bars first")
    imp.set_defaults(func=run)
    ls = sub.add_parser("list", help="stored symbols with bar counts and date ranges")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=run)


def _date(ts: int) -> str:
    try:
        return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M").removesuffix(" 00:00")
    except (OverflowError, OSError, ValueError):  # a bar stored before times were bounded
        return f"{ts} (out of range)"


def _report(result) -> str:
    note = f", {result.replaced} replaced" if result.replaced else ""
    adjusted = ", adjusted by Adj Close" if result.adjusted else ""
    return (f"prices: {result.symbol}: {result.rows} bars from {result.source} "
            f"({_date(result.first_ts)} .. {_date(result.last_ts)}{note}{adjusted})")


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.market.prices import MarketData, PriceImportError, normalise_symbol
    from engine.store import DB_FILE_NAME

    err = sys.stderr
    db = data_dir_from_args(args) / DB_FILE_NAME
    if args.prices_command == "list":
        market = MarketData(db)
        try:
            infos = market.symbols()
        finally:
            market.close()
        if args.json:
            print(json.dumps([i.__dict__ for i in infos], indent=2))
        elif not infos:
            print("prices: no market data stored (try 'signaldesk prices import --demo')")
        for i in infos if not args.json else ():
            print(f"{i.symbol:<10} {i.rows:>7} bars  {_date(i.first_ts)} .. {_date(i.last_ts)}")
        return EXIT_OK

    if args.demo == (args.file is not None):
        print("prices import: give either FILE --symbol SYM, or --demo", file=err)
        return EXIT_USAGE
    if args.demo:
        from engine.market.demo import demo_files

        jobs = [(path, path.stem) for path in demo_files()]
        if not jobs:
            print("prices import: no demo files found under resources/demo/prices", file=err)
            return EXIT_USAGE
    else:
        if not args.symbol:
            print("prices import: --symbol SYM is required with FILE", file=err)
            return EXIT_USAGE
        try:
            normalise_symbol(args.symbol)
        except ValueError as exc:
            print(f"prices import: {exc}", file=err)
            return EXIT_USAGE
        if not args.file.is_file():
            print(f"prices import: no such file: {args.file}", file=err)
            return EXIT_USAGE
        jobs = [(args.file, args.symbol)]

    market = MarketData(db)
    status = EXIT_OK
    try:
        for path, symbol in jobs:
            try:
                result = market.import_csv(path, symbol, replace=args.replace,
                                           source=f"demo:{path.name}" if args.demo else None)
            except PriceImportError as exc:
                for error in exc.errors[:MAX_ERRORS_SHOWN]:
                    print(f"prices: {path.name}:{error.line}: {error.message}", file=err)
                if len(exc.errors) > MAX_ERRORS_SHOWN:
                    print(f"prices: ... and {len(exc.errors) - MAX_ERRORS_SHOWN} more", file=err)
                print(f"prices: {path.name} rejected: {len(exc.errors)} problem(s); nothing was written "
                      f"for {symbol.upper()}", file=err)
                status = EXIT_REJECTED
                continue
            print(_report(result))
    finally:
        market.close()
    return status
