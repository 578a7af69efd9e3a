"""``signaldesk ingest FILE``: feed a CSV/JSONL/TXT file of headlines through the live-news pipeline.

The same pipeline the desk uses (``engine.news``): every item is committed to the inbox
(acknowledged) before it is scored, duplicates (same guid, link or text from the same
source) are skipped, and items left unscored by an interrupted run are resumed first.
Columns/keys: ``text`` (or ``headline``/``title``); optional ``published_at``, ``tickers``,
``source``, ``kind`` (news, analyst, social), ``guid``, ``link``. A file that is not UTF-8 is
refused before anything is accepted; bad rows are skipped and reported by line.

Exit codes: 0 all readable items acknowledged and scored; 1 nothing readable, or some items
failed scoring (kept in the inbox with the error); 2 usage error or undecodable file.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
PROBLEMS_SHOWN = 20


def register(subparsers) -> None:
    p = subparsers.add_parser("ingest", help="feed a file of headlines through the live-news pipeline",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE", help="a .csv, .jsonl/.ndjson or .txt file")
    p.add_argument("--source", default=None, metavar="NAME",
                   help="source name for rows without their own (default file:<name>)")
    p.add_argument("--kind", choices=("news", "analyst", "social"), default="news",
                   help="source kind for rows without their own, for multi-source weighting (default news)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from app.runtime import build_engine
    from engine.config import ConfigError
    from engine.news.files import NEWS_FILE_SUFFIXES
    from engine.textinput import InputDecodeError

    err = sys.stderr
    path: Path = args.file
    if not path.is_file():
        print(f"ingest: no such file: {path}", file=err)
        return EXIT_USAGE
    if path.suffix.lower() not in NEWS_FILE_SUFFIXES:
        print(f"ingest: {path.name}: use a {', '.join(sorted(NEWS_FILE_SUFFIXES))} file", file=err)
        return EXIT_USAGE
    try:
        engine = build_engine(args)
        pipeline = engine.news
    except ConfigError as exc:
        print(f"ingest: {exc}", file=err)
        return EXIT_USAGE
    started = time.perf_counter()
    interrupted = False
    try:
        pipeline.start()
        try:
            report = pipeline.ingest_file(path, source=args.source, kind=args.kind)
        except InputDecodeError as exc:
            print(f"ingest: {exc}", file=err)
            return EXIT_USAGE
        try:
            pipeline.wait_idle()
        except KeyboardInterrupt:
            interrupted = True
        stats = pipeline.stats()
    except KeyboardInterrupt:
        print("ingest: interrupted; acknowledged items stay in the inbox and are scored on the next run", file=err)
        return EXIT_INCOMPLETE
    finally:
        engine.close()
    summary = {
        "file": str(path), "source": report.source, "items": report.items, "accepted": report.accepted,
        "duplicates": report.duplicates, "invalid": len(report.problems), "scored": stats.scored,
        "resumed": stats.resumed, "failed": stats.failed, "dropped": stats.dropped, "refused": report.refused,
        "events_embedded": stats.embedded, "elapsed_s": round(time.perf_counter() - started, 3),
        "problems": [{"line": p.line, "reason": p.reason} for p in report.problems[:PROBLEMS_SHOWN]],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"ingest {path.name}: {report.items} item(s) read in {summary['elapsed_s']:.1f}s")
        print(f"  accepted    {report.accepted:>8}  (committed to the inbox)")
        print(f"  duplicates  {report.duplicates:>8}  (already in the inbox)")
        print(f"  invalid     {len(report.problems):>8}  (rows skipped)")
        resumed = f"  (incl. {stats.resumed} resumed from an earlier run)" if stats.resumed else ""
        print(f"  scored      {stats.scored:>8}{resumed}")
        print(f"  failed      {stats.failed:>8}")
        print(f"  dropped     {stats.dropped:>8}")
        for problem in report.problems[:PROBLEMS_SHOWN]:
            print(f"  skipped {problem}", file=err)
        if len(report.problems) > PROBLEMS_SHOWN:
            print(f"  ... and {len(report.problems) - PROBLEMS_SHOWN} more skipped row(s)", file=err)
    if interrupted:
        print("ingest: interrupted; acknowledged items stay in the inbox and are scored on the next run", file=err)
        return EXIT_INCOMPLETE
    if stats.failed or (report.items == 0):
        return EXIT_INCOMPLETE
    return EXIT_OK
