"""``signaldesk features ASSET [--json]``: the J8 news feature vector of an asset.

Built from the stored signals (the same cache the live pipeline keeps; no model is loaded):
sentiment and decayed confidence of the latest live signal, their product, a high-impact
flag, the running (EWMA) sentiment, and the multi-source aggregate with its consensus share.
engine/news/cache.py defines each value; decay half-lives per event class are in the
``[news]`` table of config.toml. JSON: ``{"asset": ..., "features": {name: value}}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone

EXIT_OK, EXIT_USAGE = 0, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("features", help="the news feature vector (J8) of an asset",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("asset", metavar="ASSET", help="a ticker or company name, e.g. ACME, $SHEL or Tesla")
    p.add_argument("--json", action="store_true", help='print {"asset": ..., "features": {...}}')
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.config import ConfigError
    from engine.news.cache import SignalCache, normalise_asset
    from engine.news.config import load_news_config
    from engine.news.pipeline import warm_cache
    from engine.store import DB_FILE_NAME, Store

    from engine.entities import default_universe

    # Signals carry canonical symbols (the entity linker's): "Tesla", "$SHEL" or "SHEL" name TSLA and SHEL.L.
    company = default_universe().resolve(args.asset) if args.asset.strip() else None
    asset = company.symbol if company is not None else normalise_asset(args.asset)
    if not asset:
        print("features: give an asset, e.g. ACME", file=sys.stderr)
        return EXIT_USAGE
    data_dir = data_dir_from_args(args)
    try:
        config = load_news_config(data_dir)
    except ConfigError as exc:
        print(f"features: {exc}", file=sys.stderr)
        return EXIT_USAGE
    store = Store(data_dir / DB_FILE_NAME)
    try:
        cache = SignalCache(config)
        now = time.time()
        warm_cache(cache, store, now)
        snap = cache.snapshot(asset, now)
        latest_text = ""
        if snap.latest is not None and snap.latest.signal_id is not None:
            rows = store.query("SELECT text FROM signals WHERE id = ?", (snap.latest.signal_id,))
            latest_text = rows[0][0] if rows else ""
    finally:
        store.close()
    if args.json:
        print(json.dumps({"asset": asset, "features": snap.features}))
        return EXIT_OK
    as_of = datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds")
    print(f"{asset}: news features as of {as_of}")
    for name, value in snap.features.items():
        print(f"  {name:<20} {value:+.4f}")
    if snap.latest is None:
        seen = f"{len(snap.history)} older signal(s), none live" if snap.history else "no stored news names it"
        print(f"  ({seen})")
    else:
        e = snap.latest
        print(f"latest ({snap.age_hours:.1f} h ago, {e.source}, {e.category}/{e.subcategory}, impact {e.impact}): "
              f"{e.label} {e.confidence:.0%}")
        if latest_text:
            print(f"  {latest_text}")
    return EXIT_OK
