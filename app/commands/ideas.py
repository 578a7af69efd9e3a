"""``signaldesk ideas``: the trade-idea review queue from the command line.

``ideas list`` shows the newest revision of each open idea (newest first; ``--status`` for
closed ones or all); ``ideas show ID`` shows one revision with its ranked evidence and its
idea's revision history; ``ideas export FILE`` writes them to .csv or .json (JSON includes
each snapshot, audit trail and history); ``ideas propose`` re-evaluates every asset with
stored news (or ``--symbol``) and prints what it created, updated and closed and why it
skipped the rest (``--json`` too); running it again with no new evidence changes nothing.
``ideas decide ID approve|reject|edit`` records a review of revision ID (a note is required to
reject or edit); ``ideas portfolio`` shows exposure, concentration and correlation of what is
approved. Ideas are advice: nothing is ever sent as an order.

Confidence is the calibrated one when the signals' model version has a calibrator (as in the
desk); the raw one is kept: ``raw_confidence`` and ``calibrator`` in JSON and CSV, "raw" in
the list. An idea on market data older than ``stale_after_days`` is marked STALE.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2


def register(subparsers) -> None:
    p = subparsers.add_parser("ideas", help="list, propose, review and export trade ideas",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="ideas_command", metavar="ACTION", required=True)

    ls = sub.add_parser("list", help="the newest revision of each idea, newest first")
    ls.add_argument("--state", choices=("proposed", "approved", "rejected"))
    ls.add_argument("--status", choices=("open", "closed", "legacy", "all"), default=None,
                    help="open ideas and per-headline ones from before revisions (default), or these")
    ls.add_argument("--json", action="store_true", help="print JSON (with snapshots)")

    sh = sub.add_parser("show", help="one revision: rationale, ranked evidence, the idea's revision history")
    sh.add_argument("idea_id", type=int, metavar="ID", help="revision id (as in list and decide)")
    sh.add_argument("--json", action="store_true")

    ex = sub.add_parser("export", help="write ideas to a .csv or .json file")
    ex.add_argument("file", type=Path, metavar="FILE")
    ex.add_argument("--state", choices=("proposed", "approved", "rejected"))

    pr = sub.add_parser("propose", help="create, update or close ideas from the evidence stored on each asset")
    pr.add_argument("--symbol", action="append", metavar="SYM", help="only this asset (repeatable)")
    pr.add_argument("--tolerance", choices=("low", "medium", "high", "aggressive"), default=None,
                    help="risk tolerance for sizing (default: [risk] tolerance)")
    pr.add_argument("--json", action="store_true", help="print what changed and every skip reason as JSON")

    de = sub.add_parser("decide", help="approve, reject or edit the size of an idea")
    de.add_argument("idea_id", type=int, metavar="ID")
    de.add_argument("decision", choices=("approve", "reject", "edit"))
    de.add_argument("--note", default="", help="why (required to reject or edit)")
    de.add_argument("--size", type=float, help="new size as a fraction of equity (edit)")
    de.add_argument("--actor", default=None, help="who decides (default: the OS user name)")

    po = sub.add_parser("portfolio", help="exposure, concentration and correlation of approved ideas")
    po.add_argument("--json", action="store_true")
    for parser in (ls, sh, ex, pr, de, po):
        parser.set_defaults(func=run)


def _actor(value: str | None) -> str:
    if value:
        return value
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers; the audit still needs a name
        return "analyst"


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.config import ConfigError
    from engine.ideas import DecisionError, IdeaBook
    from engine.news.config import load_news_config
    from engine.risk.config import load_risk_config
    from engine.store import DB_FILE_NAME, Store

    err = sys.stderr
    data_dir = data_dir_from_args(args)
    try:
        cfg = load_risk_config(data_dir)
        news = load_news_config(data_dir)
    except ConfigError as exc:
        print(f"ideas: {exc}", file=err)
        return EXIT_USAGE
    store = Store(data_dir / DB_FILE_NAME)
    book = IdeaBook(store, config=cfg, tolerance=getattr(args, "tolerance", None) or cfg.tolerance,
                    actor=_actor(getattr(args, "actor", None)), news=news)
    try:
        command = args.ideas_command
        if command == "list":
            _list(book.list(args.state, status=args.status), args)
        elif command == "show":
            return _show(book, args)
        elif command == "export":
            try:
                count = book.export(args.file, args.state)
            except ValueError as exc:
                print(f"ideas export: {exc}", file=err)
                return EXIT_USAGE
            print(f"ideas: {count} idea(s) -> {args.file}")
        elif command == "propose":
            _propose(book, args)
        elif command == "decide":
            try:
                idea = book.decide(args.idea_id, args.decision, args.note, args.size)
            except DecisionError as exc:
                print(f"ideas decide: refused: {exc}", file=err)
                return EXIT_REFUSED
            print(f"ideas: #{idea.id} {idea.state}, size {idea.size:.2%}")
        elif command == "portfolio":
            view = book.portfolio()
            if args.json:
                print(json.dumps(view.to_dict(), indent=2))
                return EXIT_OK
            print(f"Approved ideas: {len(view.positions)}; gross {view.gross:.2%}, net {view.net:+.2%}, "
                  f"concentration (HHI) {view.herfindahl:.2f}")
            for e in view.exposures:
                print(f"  {e.symbol:<8} net {e.net:+.2%}  {e.share_of_gross:.0%} of gross")
            for c in view.correlations:
                rho = "n/a" if c.correlation is None else f"{c.correlation:+.2f}"
                print(f"  corr {c.a}/{c.b}: {rho} over {c.overlap} returns")
            for w in view.warnings:
                print(f"  ! {w}")
        return EXIT_OK
    finally:
        book.close()
        store.close()


def _line(i) -> str:
    stale = "  STALE PRICES" if i.stale else ""
    closed = "  (closed)" if i.status == "closed" else ""
    return (f"#{i.id:<5} {i.title:<12} {i.state:<9} {i.symbol:<8} {i.direction:<5} {i.size:>7.2%}  "
            f"{i.strategy:<20} {i.regime:<10} risk {i.risk_level:<6} conf {i.confidence_text}{stale}{closed}")


def _list(ideas, args) -> None:
    if args.json:
        print(json.dumps([i.to_dict() for i in ideas], indent=2, ensure_ascii=False))
        return
    if not ideas:
        print("ideas: none" + (f" {args.state}" if args.state else ""))
    for i in ideas:
        print(_line(i))


def _propose(book, args) -> None:
    result = book.propose(args.symbol) if args.symbol else book.propose()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    for c in result.changes:
        if c.revision is None:
            print(f"ideas: closed idea {c.idea_no} on {c.symbol}: {c.reason}")
            continue
        r = c.revision
        what = f"created idea {c.idea_no}" if c.action == "created" else \
            f"updated idea {c.idea_no} to revision {r.revision}"
        stale = ", STALE PRICES" if r.stale else ""
        print(f"ideas: {what}: proposed #{r.id} {r.direction} {r.symbol} {r.size:.2%} "
              f"({r.strategy}, {r.regime}, {r.horizon}{stale}): {c.reason}")
    for s in result.skipped:
        signal = f" signal {s.signal_id}" if s.signal_id is not None else ""
        print(f"ideas: skipped {s.symbol or ''}{signal}: {s.reason}")
    counts = result.to_dict()
    print(f"ideas: {counts['created']} created, {counts['updated']} updated, {counts['closed']} closed, "
          f"{counts['skipped']} skipped")


def _show(book, args) -> int:
    try:
        idea = book.get(args.idea_id)
    except KeyError as exc:
        print(f"ideas show: {exc.args[0]}", file=sys.stderr)
        return EXIT_REFUSED
    revisions = book.revisions(idea.idea_no) if idea.idea_no is not None else [idea]
    events = book.events(idea.idea_no) if idea.idea_no is not None else []
    if args.json:
        print(json.dumps({"revision": idea.to_dict(), "evidence": idea.evidence,
                          "revisions": [r.to_dict(with_snapshot=False) for r in revisions],
                          "history": [e.to_dict() for e in events],
                          "audit": [a.to_dict() for a in book.audit(idea.id)]},
                         indent=2, ensure_ascii=False))
        return EXIT_OK
    print(_line(idea))
    print(idea.rationale)
    print("Evidence, ranked:")
    for rank, item in enumerate(idea.evidence, start=1):
        copies = f" +{len(item['copies']) - 1} cop{'y' if len(item['copies']) == 2 else 'ies'}" \
            if len(item["copies"]) > 1 else ""
        print(f"  {rank:>2}. signal {item['signal_id']} {item['label']:<8} {item['confidence']:.0%} weight "
              f"{item['weight']:.3f}  {', '.join(item['sources'])}{copies}: {item['headline']}")
    print("History:")
    for e in events:
        print(f"  {e.kind:<8} {_iso(e.at)}{f' revision #{e.revision_id}' if e.revision_id else ''}: {e.reason}")
    for r in revisions:
        shown = "  <- shown" if r.id == idea.id else ""
        print(f"  r{r.revision} #{r.id} {r.state:<9} {r.direction} {r.size:.2%}{shown}")
    return EXIT_OK


def _iso(ts: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")
