"""``signaldesk risk SYM [--json]``: regime, risk and features of a symbol, with a sizing example.

Reads the stored bars (``signaldesk prices import``), recent stored headlines naming the
symbol (``news_window_hours``, default 24) and the gross exposure of approved ideas. The
sizing example is what an idea in the given direction would get; nothing is proposed or
stored. Thresholds come from the ``[risk]`` table of config.toml.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone

EXIT_OK, EXIT_NO_DATA, EXIT_USAGE = 0, 1, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("risk", help="regime, risk score and a sizing example for a symbol",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("symbol", metavar="SYM")
    p.add_argument("--json", action="store_true", help="print JSON (regime, risk, features, sizing)")
    p.add_argument("--direction", choices=("long", "short"), default="long",
                   help="direction of the sizing example (default long)")
    p.add_argument("--tolerance", choices=("low", "medium", "high", "aggressive"), default="medium",
                   help="risk tolerance of the sizing example (default medium)")
    p.add_argument("--win-probability", type=float, default=0.6, metavar="P",
                   help="calibrated win probability for the Kelly cap (default 0.6)")
    p.add_argument("--equity", type=float, default=None, metavar="AMOUNT",
                   help="account equity, to show the example size in money")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.config import ConfigError
    from engine.ideas import IdeaBook
    from engine.market.features import InsufficientData
    from engine.market.prices import normalise_symbol
    from engine.risk.config import load_risk_config
    from engine.risk.sizing import SizingError, SizingRequest, size_position
    from engine.risk.symbol import UnknownSymbol, assess_symbol, news_for
    from engine.store import DB_FILE_NAME, Store

    err = sys.stderr
    data_dir = data_dir_from_args(args)
    try:
        symbol = normalise_symbol(args.symbol)
        cfg = load_risk_config(data_dir)
    except (ValueError, ConfigError) as exc:
        print(f"risk: {exc}", file=err)
        return EXIT_USAGE
    db = data_dir / DB_FILE_NAME
    store = Store(db)
    book = IdeaBook(store, config=cfg, tolerance=args.tolerance)
    try:
        since = time.time() - cfg.news_window_hours * 3600
        news = news_for(store.recent_signals(5000), symbol, since)
        try:
            assessed = assess_symbol(book.market, symbol, cfg, news)
        except (UnknownSymbol, InsufficientData) as exc:
            print(f"risk: {exc}", file=err)
            return EXIT_NO_DATA
        f = assessed.features
        try:
            sizing = size_position(SizingRequest(
                direction=args.direction, entry=f.close, atr=f.atr, realized_vol=f.realized_vol,
                ma_gap=f.ma_gap, regime=assessed.regime.name, win_probability=args.win_probability,
                tolerance=args.tolerance, current_exposure=book.gross_exposure(), equity=args.equity), cfg)
        except SizingError as exc:
            print(f"risk: sizing example: {exc}", file=err)
            return EXIT_USAGE
        as_of = datetime.fromtimestamp(f.as_of, tz=timezone.utc).isoformat(timespec="seconds")
        if args.json:
            print(json.dumps({
                "symbol": symbol, "as_of": as_of, "bars": f.bars, "news_items": len(news),
                "regime": assessed.regime.name, "regime_reasons": list(assessed.regime.reasons),
                "risk": assessed.risk.to_dict(), "features": f.to_dict(),
                "sizing": {"tolerance": args.tolerance, **sizing.to_dict()},
            }, indent=2, allow_nan=False))
            return EXIT_OK
        print(f"{symbol}  as of {as_of}  ({f.bars} bars, {f.periods_per_year:g} a year)")
        print(f"Regime: {assessed.regime.name} - {'; '.join(assessed.regime.reasons)}")
        print(f"Risk: {assessed.risk.level} ({assessed.risk.score:.2f})")
        for factor in assessed.risk.factors:
            print(f"  - {factor}")
        volume = "n/a" if f.volume_z is None else f"{f.volume_z:+.1f}"
        print(f"Features: close {f.close:.6g}, realized vol {f.realized_vol:.0%}, ATR {f.atr:.4g} "
              f"({f.atr_pct:.1%}), RSI {f.rsi:.0f}, MA gap {f.ma_gap:+.1%}, drawdown {f.drawdown:.1%}, "
              f"volume z {volume}")
        money = f" = {sizing.notional:,.0f}" if sizing.notional is not None else ""
        print(f"Sizing example ({args.direction}, {args.tolerance} tolerance, win probability "
              f"{sizing.win_probability:.0%}): {sizing.fraction:.2%} of equity{money}, set by the "
              f"{sizing.binding} (limit {sizing.limit:.2%}); stop {sizing.stop_loss:.6g}, "
              f"target {sizing.take_profit:.6g}, round-trip fees {sizing.fees_round_trip:.2%}")
        return EXIT_OK
    finally:
        book.close()
        store.close()
