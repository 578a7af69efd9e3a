"""``signaldesk watchlist add|remove|list``: the symbols the desk watches, with your own aliases.

``add`` takes a symbol or a company name ("TSLA", "Tesla", "$SHEL", "Volkswagen") and stores the
company's canonical symbol; a symbol the shipped universe does not know is stored as written, and
``--alias`` names let the entity linker find it in headlines ("add ACME --alias 'Acme Widgets'").
Aliases added here take part in linking from the next scored item on (a running desk picks the
change up within a second). ``remove SYMBOL`` drops the symbol; ``remove SYMBOL --alias NAME`` only
that alias. ``list --json``: ``[{"symbol", "name", "aliases", "added_at", "known"}]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("watchlist", help="the watched symbols and their aliases (add, remove, list)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="watchlist_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="watch a symbol or company (optionally with aliases)")
    add.add_argument("query", metavar="SYMBOL_OR_NAME")
    add.add_argument("--alias", "-a", action="append", default=[], metavar="NAME",
                     help="a name headlines use for it (repeat for several)")
    add.add_argument("--name", metavar="NAME", help="display name (default: the universe's name, or the symbol)")
    rm = sub.add_parser("remove", help="stop watching a symbol, or drop some of its aliases")
    rm.add_argument("query", metavar="SYMBOL_OR_NAME")
    rm.add_argument("--alias", "-a", action="append", default=[], metavar="NAME", help="only drop this alias")
    ls = sub.add_parser("list", help="the watched symbols")
    ls.add_argument("--json", action="store_true", help="print JSON")
    for action in (add, rm, ls):
        action.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.entities import default_universe
    from engine.entities.watchlist import Watchlist, WatchlistError
    from engine.store import DB_FILE_NAME, Store

    store = Store(data_dir_from_args(args) / DB_FILE_NAME)
    try:
        watchlist = Watchlist(store, default_universe())
        if args.watchlist_command == "add":
            try:
                entry = watchlist.add(args.query, args.alias, args.name)
            except WatchlistError as exc:
                print(f"watchlist: {exc}", file=sys.stderr)
                return EXIT_FAILED
            known = "" if entry.known else " (not in the universe: linked by symbol and your aliases)"
            aliases = f"; aliases: {', '.join(entry.aliases)}" if entry.aliases else ""
            print(f"watchlist: watching {entry.symbol} ({entry.name}){known}{aliases}")
            return EXIT_OK
        if args.watchlist_command == "remove":
            if not watchlist.remove(args.query, args.alias):
                print(f"watchlist: {args.query} is not on the watchlist", file=sys.stderr)
                return EXIT_FAILED
            what = f"alias(es) {', '.join(args.alias)} of " if args.alias else ""
            print(f"watchlist: removed {what}{args.query}")
            return EXIT_OK
        entries = watchlist.entries()
    finally:
        store.close()
    if args.json:
        print(json.dumps([e.to_dict() for e in entries]))
        return EXIT_OK
    if not entries:
        print("watchlist: empty (add one with: signaldesk watchlist add TSLA)")
    for e in entries:
        since = datetime.fromtimestamp(e.added_at, timezone.utc).strftime("%Y-%m-%d")
        aliases = f"  aliases: {', '.join(e.aliases)}" if e.aliases else ""
        print(f"{e.symbol:<12} {e.name:<32} since {since}{'' if e.known else '  (not in the universe)'}{aliases}")
    return EXIT_OK
