"""``signaldesk asset SYMBOL_OR_NAME [--days N] [--json]``: what the asset view shows for one symbol.

The engine's one call for the asset view (engine/assets.py): OHLCV bars, the symbol's news with
time, label, calibrated confidence, event and signal id, the decayed sentiment line, the J8
features, the market regime and the open trade idea. The text output summarises; ``--json``
prints everything (bars as ``[ts, open, high, low, close, volume]``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import datetime, timezone

EXIT_OK, EXIT_NOT_FOUND, EXIT_USAGE = 0, 1, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("asset", help="one symbol's prices, news, decayed sentiment, regime and open idea",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("query", metavar="SYMBOL_OR_NAME", help="a ticker, cashtag or company name")
    p.add_argument("--days", type=float, default=30.0, help="the window, in days (default 30)")
    p.add_argument("--json", action="store_true", help="print the whole view as JSON")
    p.set_defaults(func=run)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M")


def run(args: argparse.Namespace) -> int:
    from app.runtime import build_engine

    engine = build_engine(args)
    try:
        view = engine.asset_view(args.query, days=args.days)
    except ValueError as exc:
        print(f"asset: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LookupError as exc:
        print(f"asset: {exc}", file=sys.stderr)
        return EXIT_NOT_FOUND
    finally:
        engine.close()
    if args.json:
        data = asdict(view)
        data["bars"] = [[b.ts, b.open, b.high, b.low, b.close, b.volume] for b in view.bars]
        data["open_idea"] = view.open_idea.to_dict(with_snapshot=False) if view.open_idea else None
        print(json.dumps(data))
        return EXIT_OK
    watched = ", watched" if view.watched else ""
    print(f"{view.symbol} ({view.name}{watched}): {_when(view.since)} .. {_when(view.now)} UTC")
    if view.bars:
        last = view.bars[-1]
        print(f"  prices: {len(view.bars)} bars, last close {last.close:.2f} ({_when(last.ts)})")
    print(f"  regime: {view.regime or 'none'}" + (f" ({'; '.join(view.regime_reasons)})" if view.regime_reasons else ""))
    print(f"  decayed sentiment now: {view.sentiment[-1][1]:+.3f}   features: "
          + ", ".join(f"{k} {v:+.2f}" for k, v in view.features.items()))
    idea = view.open_idea
    print(f"  open idea: #{idea.id} {idea.direction} {idea.size:.2%} ({idea.state})" if idea else "  open idea: none")
    print(f"  news: {len(view.news)}")
    for m in view.news[-20:]:
        kind = "cal" if m.calibrated else "raw"
        print(f"    {_when(m.time)}  #{m.signal_id:<6} {m.label:<8} {m.confidence:4.0%} {kind}  "
              f"{m.category}/{m.impact}  {m.headline[:90]}")
    return EXIT_OK
