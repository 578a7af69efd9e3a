"""``signaldesk sources``: manage live-news sources and run them headless.

  sources list [--json]                        every source with its status
  sources add-feed URL [--name N] [--interval S] [--kind news|analyst|social]
  sources add-folder DIR [--name N] [--interval S] [--kind ...]
  sources add-replay [--rate R] [--loop]       the bundled demo feed, R items/s
  sources remove NAME | enable NAME | disable NAME
  sources run [--seconds S] [--json]           run every enabled source through the pipeline

Feeds are polled with conditional GET (ETag / Last-Modified); a watched folder ingests CSV,
JSONL and TXT files dropped into it and moves them to processed/ (or failed/, with the reason).
The desk's News panel manages the same list (it lives in the database).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import datetime, timezone

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("sources", help="manage and run live-news sources (feeds, folders, demo replay)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="sources_command", metavar="ACTION")
    lst = sub.add_parser("list", help="every source with its status")
    lst.add_argument("--json", action="store_true")
    for action, what in (("add-feed", "URL"), ("add-folder", "DIR")):
        a = sub.add_parser(action, help=f"add an {'RSS/Atom feed' if what == 'URL' else 'watched folder'}")
        a.add_argument("target", metavar=what)
        a.add_argument("--name", default=None)
        a.add_argument("--interval", type=float, default=None, metavar="S", help="seconds between polls")
        a.add_argument("--kind", choices=("news", "analyst", "social"), default="news")
    r = sub.add_parser("add-replay", help="replay the bundled demo feed")
    r.add_argument("--rate", type=float, default=None, metavar="R", help="items per second")
    r.add_argument("--loop", action="store_true", help="start over at the end")
    for action in ("remove", "enable", "disable"):
        a = sub.add_parser(action, help=f"{action} a source")
        a.add_argument("name", metavar="NAME")
    run_p = sub.add_parser("run", help="run every enabled source through the pipeline")
    run_p.add_argument("--seconds", type=float, default=None, metavar="S", help="stop after S seconds (default: Ctrl+C)")
    run_p.add_argument("--json", action="store_true", help="print the final summary as JSON")
    p.set_defaults(func=run)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%S") if ts else "never"


def _print_statuses(statuses) -> None:
    if not statuses:
        print("no sources; add one with `signaldesk sources add-feed URL`, `add-folder DIR` or `add-replay`")
        return
    for s in statuses:
        flag = "" if s.enabled else " (disabled)"
        print(f"{s.name}{flag}  [{s.kind}, {s.source_kind}, every {s.interval_s:g}s]  {s.target}")
        print(f"    last fetch {_when(s.last_fetch_at)}, items {s.items_total}, duplicates {s.duplicates_total}, "
              f"errors {s.errors_total}" + (f", last error: {s.last_error}" if s.last_error else ""))


def run(args: argparse.Namespace) -> int:
    from app.runtime import build_engine
    from engine.config import ConfigError
    from engine.news.sources.manager import SourceError

    action = getattr(args, "sources_command", None)
    if action is None:
        print("sources: choose an action (list, add-feed, add-folder, add-replay, remove, enable, disable, run)",
              file=sys.stderr)
        return EXIT_USAGE
    try:
        engine = build_engine(args)
    except ConfigError as exc:
        print(f"sources: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        manager = engine.news.sources
        if action == "list":
            statuses = manager.statuses()
            if args.json:
                print(json.dumps([s.to_dict() for s in statuses]))
            else:
                _print_statuses(statuses)
        elif action == "add-feed":
            _print_statuses([manager.add_feed(args.target, args.name, args.interval, args.kind)])
        elif action == "add-folder":
            _print_statuses([manager.add_folder(args.target, args.name, args.interval, args.kind)])
        elif action == "add-replay":
            _print_statuses([manager.add_replay(args.rate, args.loop)])
        elif action == "remove":
            manager.remove(args.name)
            print(f"removed {args.name}")
        elif action in ("enable", "disable"):
            _print_statuses([manager.set_enabled(args.name, action == "enable")])
        elif action == "run":
            return _run_sources(engine, manager, args)
        return EXIT_OK
    except SourceError as exc:
        print(f"sources: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        engine.close()


def _run_sources(engine, manager, args) -> int:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = time.monotonic()
    manager.start()
    try:
        while not stop.wait(0.5):
            if args.seconds is not None and time.monotonic() - started >= args.seconds:
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    manager.stop()
    engine.news.wait_idle(30)
    stats = engine.news.stats()
    statuses = manager.statuses()
    if args.json:
        print(json.dumps({"pipeline": stats.to_dict(), "sources": [s.to_dict() for s in statuses]}))
    else:
        print(f"accepted {stats.accepted}, duplicates {stats.duplicates}, scored {stats.scored}, "
              f"failed {stats.failed}, dropped {stats.dropped}")
        _print_statuses(statuses)
    return EXIT_OK
