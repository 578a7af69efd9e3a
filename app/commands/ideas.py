"""``signaldesk ideas``: the trade-idea review queue from the command line.

``ideas list`` shows ideas (newest first); ``ideas export FILE`` writes them to .csv or .json
(JSON includes each idea's snapshot and audit trail); ``ideas propose`` proposes ideas from
the stored signals; ``ideas decide ID approve|reject|edit`` records a review (a note is
required to reject or edit); ``ideas portfolio`` shows exposure, concentration and
correlation of approved ideas. Ideas are advice: nothing is ever sent as an order.

Confidence is the calibrated one when the signal's model version has a calibrator (as in the
desk); the raw one is kept: ``raw_confidence`` and ``calibrator`` in JSON and CSV, "raw" in
the list.
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

    ls = sub.add_parser("list", help="ideas, newest first")
    ls.add_argument("--state", choices=("proposed", "approved", "rejected"))
    ls.add_argument("--json", action="store_true", help="print JSON (with snapshots)")

    ex = sub.add_parser("export", help="write ideas to a .csv or .json file")
    ex.add_argument("file", type=Path, metavar="FILE")
    ex.add_argument("--state", choices=("proposed", "approved", "rejected"))

    pr = sub.add_parser("propose", help="propose ideas from the stored signals")
    pr.add_argument("--limit", type=int, default=500, help="newest signals to consider (default 500)")
    pr.add_argument("--tolerance", choices=("low", "medium", "high", "aggressive"), default="medium")

    de = sub.add_parser("decide", help="approve, reject or edit the size of an idea")
    de.add_argument("idea_id", type=int, metavar="ID")
    de.add_argument("decision", choices=("approve", "reject", "edit"))
    de.add_argument("--note", default="", help="why (required to reject or edit)")
    de.add_argument("--size", type=float, help="new size as a fraction of equity (edit)")
    de.add_argument("--actor", default=None, help="who decides (default: the OS user name)")

    po = sub.add_parser("portfolio", help="exposure, concentration and correlation of approved ideas")
    po.add_argument("--json", action="store_true")
    for parser in (ls, ex, pr, de, po):
        parser.set_defaults(func=run)


def _actor(value: str | None) -> str:
    if value:
        return value
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers; the audit still needs a name
        return "analyst"


def _calibrated(store, signals: list) -> list:
    """Attach each model version's calibrated view, as the desk's engine does before proposing."""
    from engine.calibration.service import CalibrationService

    return CalibrationService(store).attach(signals)


def run(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.config import ConfigError
    from engine.ideas import DecisionError, IdeaBook
    from engine.risk.config import load_risk_config
    from engine.store import DB_FILE_NAME, Store

    err = sys.stderr
    data_dir = data_dir_from_args(args)
    try:
        cfg = load_risk_config(data_dir)
    except ConfigError as exc:
        print(f"ideas: {exc}", file=err)
        return EXIT_USAGE
    store = Store(data_dir / DB_FILE_NAME)
    book = IdeaBook(store, config=cfg, tolerance=getattr(args, "tolerance", "medium"),
                    actor=_actor(getattr(args, "actor", None)))
    try:
        command = args.ideas_command
        if command == "list":
            ideas = book.list(args.state)
            if args.json:
                print(json.dumps([i.to_dict() for i in ideas], indent=2, ensure_ascii=False))
            elif not ideas:
                print("ideas: none" + (f" {args.state}" if args.state else ""))
            for i in ideas if not args.json else ():
                print(f"#{i.id:<5} {i.state:<9} {i.symbol:<8} {i.direction:<5} {i.size:>7.2%}  "
                      f"{i.strategy:<20} {i.regime:<10} risk {i.risk_level:<6} conf {i.confidence_text}")
        elif command == "export":
            try:
                count = book.export(args.file, args.state)
            except ValueError as exc:
                print(f"ideas export: {exc}", file=err)
                return EXIT_USAGE
            print(f"ideas: {count} idea(s) -> {args.file}")
        elif command == "propose":
            result = book.propose_from_signals(_calibrated(store, store.recent_signals(max(1, args.limit))))
            for i in result.ideas:
                print(f"ideas: proposed #{i.id} {i.direction} {i.symbol} {i.size:.2%} ({i.strategy}, {i.regime})")
            for s in result.skipped:
                print(f"ideas: skipped signal {s.signal_id}{' ' + s.symbol if s.symbol else ''}: {s.reason}",
                      file=err)
            print(f"ideas: {len(result.ideas)} proposed, {len(result.skipped)} skipped")
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
