"""``signaldesk alerts list [--hours H] [--symbol SYM] [--limit N] [--json]``: the alerts log, newest first.

An alert is raised when a signal on a watchlist symbol has a confidence (calibrated when a calibrator
exists) and an event impact at or above the thresholds in the ``[alerts]`` table of config.toml
(``enabled``, ``min_confidence``, ``min_impact``, ``labels``, ``rate_limit_s``, ``max_age_hours``;
see engine/alerts.py), at most one per symbol per ``rate_limit_s``. ``alerts settings`` prints the
settings in force. JSON: a list of ``{id, created_at, symbol, signal_id, label, confidence, impact,
category, headline, reason}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone

EXIT_OK, EXIT_USAGE = 0, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("alerts", help="the alerts log for watchlist symbols, and the alert settings",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="alerts, newest first")
    ls.add_argument("--hours", type=float, default=None, metavar="H", help="only the last H hours")
    ls.add_argument("--symbol", "-s", default=None, metavar="SYM", help="only this symbol")
    ls.add_argument("--limit", type=int, default=100, metavar="N", help="at most N alerts (default 100)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    st = sub.add_parser("settings", help="the alert settings in force")
    st.add_argument("--json", action="store_true", help="print JSON")
    for action in (ls, st):
        action.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.alerts import load_alert_config, recent_alerts
    from engine.config import ConfigError
    from engine.store import DB_FILE_NAME, Store

    data_dir = data_dir_from_args(args)
    if args.alerts_command == "settings":
        try:
            config = load_alert_config(data_dir)
        except ConfigError as exc:
            print(f"alerts: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if args.json:
            print(json.dumps(config.to_dict()))
        else:
            for key, value in config.to_dict().items():
                print(f"{key:<16} {value}")
        return EXIT_OK
    if args.limit < 1 or (args.hours is not None and not args.hours > 0):
        print("alerts: --limit must be at least 1 and --hours positive", file=sys.stderr)
        return EXIT_USAGE
    since = time.time() - args.hours * 3600.0 if args.hours is not None else None
    store = Store(data_dir / DB_FILE_NAME)
    try:
        alerts = recent_alerts(store, limit=args.limit, since=since, symbol=args.symbol)
    finally:
        store.close()
    if args.json:
        print(json.dumps([a.to_dict() for a in alerts]))
        return EXIT_OK
    if not alerts:
        print("alerts: none")
    for a in alerts:
        when = datetime.fromtimestamp(a.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        print(f"{when}  {a.symbol:<10} {a.reason}  signal #{a.signal_id}")
        print(f"    {a.headline}")
    return EXIT_OK
