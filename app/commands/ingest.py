"""``signaldesk ingest FILE``: feed a CSV/JSONL/TXT file of headlines through the live-news pipeline.

The same pipeline the desk uses (``engine.news``): every item is committed to the inbox
(acknowledged) before it is scored, duplicates (same guid, link or text from the same
source) are skipped, and items left unscored by an interrupted run are resumed first.
Columns/keys: ``text`` (or ``headline``/``title``); optional ``published_at``, ``tickers``,
``source``, ``kind`` (news, analyst, social), ``guid``, ``link``. A file that is not UTF-8 is
refused before anything is accepted; bad rows are skipped and reported by line.

With ``--redis URL`` the file feeds the shared news stream instead (engine/redisbus/feed.py):
nothing is scored here; ``signaldesk worker`` processes score it. Counts: read, sent (Redis
replied with an entry id), duplicates (fed within ``news_dedupe_ttl_s``: a re-run sends only what
is missing), invalid rows. (The global ``signaldesk --redis URL ingest FILE`` is different: it
scores locally and publishes the signals to Redis as the desk does.)

Items that fail scoring are retried with backoff while the command runs (``[news]`` max_retries,
retry_backoff_s, max_attempts) and on the next run; after ``max_attempts`` they go to the
dead-letter list: ``signaldesk ingest --failed`` lists it (attempts and last error),
``--retry-failed`` puts those items back and scores them.

Exit codes: 0 all readable items acknowledged and scored (or sent), and the dead-letter list is
empty; 1 nothing readable, anything acknowledged left unscored (dead-lettered now or earlier:
the summary says how many), or Redis went away midway; 2 usage error, undecodable file, or Redis
unreachable (nothing sent).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from engine.wording import plural

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
PROBLEMS_SHOWN = 20


def register(subparsers) -> None:
    p = subparsers.add_parser("ingest", help="feed a file of headlines through the live-news pipeline",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", type=Path, metavar="FILE", nargs="?", help="a .csv, .jsonl/.ndjson or .txt file")
    p.add_argument("--source", default=None, metavar="NAME",
                   help="source name for rows without their own (default file:<name>)")
    p.add_argument("--kind", choices=("news", "analyst", "social"), default="news",
                   help="source kind for rows without their own, for multi-source weighting (default news)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--redis", dest="feed_redis", metavar="URL", default=None,
                   help="feed the Redis news stream at URL for `signaldesk worker` instead of scoring here")
    p.add_argument("--failed", action="store_true",
                   help="list the dead-letter list: items acknowledged but not scored, with attempts and last error")
    p.add_argument("--retry-failed", action="store_true",
                   help="put the dead-lettered items back and score them now (with FILE: before the file)")
    p.set_defaults(func=run)


def usable_news_file(path: Path) -> bool:
    """An existing CSV/JSONL/TXT file; otherwise says why on stderr."""
    from engine.news.files import NEWS_FILE_SUFFIXES

    if not path.is_file():
        print(f"ingest: no such file: {path}", file=sys.stderr)
        return False
    if path.suffix.lower() not in NEWS_FILE_SUFFIXES:
        print(f"ingest: {path.name}: use a {', '.join(sorted(NEWS_FILE_SUFFIXES))} file", file=sys.stderr)
        return False
    return True


def run(args: argparse.Namespace) -> int:
    if args.failed:
        return list_failed(args)
    if args.file is None and not args.retry_failed:
        print("ingest: give a FILE (or --failed, --retry-failed)", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "feed_redis", None):
        if args.file is None:
            print("ingest: --redis needs a FILE to feed", file=sys.stderr)
            return EXIT_USAGE
        return run_redis_feed(args)
    from app.runtime import build_engine
    from engine.config import ConfigError
    from engine.news.pipeline import FileIngestReport
    from engine.textinput import InputDecodeError

    err = sys.stderr
    path: Path | None = args.file
    if path is not None and not usable_news_file(path):
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
        retried = pipeline.retry_failed() if args.retry_failed else 0
        pipeline.start()
        try:
            report = (pipeline.ingest_file(path, source=args.source, kind=args.kind) if path is not None
                      else FileIngestReport("", "", 0, 0, 0, 0, ()))
        except InputDecodeError as exc:
            print(f"ingest: {exc}", file=err)
            return EXIT_USAGE
        try:
            pipeline.wait_idle()
        except KeyboardInterrupt:
            interrupted = True
        stats = pipeline.stats()
        inbox = pipeline.inbox.counts()
        publisher = engine.redis_publisher  # --redis URL (global) or [redis] url: signals also go to Redis
        redis_status = None
        if publisher is not None and not interrupted:
            publisher.wait_caught_up(10.0 if publisher.status().connected else 0.0)
            redis_status = publisher.status()
    except KeyboardInterrupt:
        print("ingest: interrupted; acknowledged items stay in the inbox and are scored on the next run", file=err)
        return EXIT_INCOMPLETE
    finally:
        engine.close()
    summary = {
        "file": str(path or ""), "source": report.source, "items": report.items, "accepted": report.accepted,
        "duplicates": report.duplicates, "invalid": len(report.problems), "scored": stats.scored,
        "resumed": stats.resumed, "failed": stats.failed, "dropped": stats.dropped, "refused": report.refused,
        "retried": stats.retried, "retried_failed": retried, "dead_letters": inbox.failed,
        "unscored": inbox.failed + stats.retrying,
        "events_embedded": stats.embedded, "elapsed_s": round(time.perf_counter() - started, 3),
        "problems": [{"line": p.line, "reason": p.reason} for p in report.problems[:PROBLEMS_SHOWN]],
    }
    if redis_status is not None:
        summary["redis"] = {"connected": redis_status.connected, "published": redis_status.published,
                            "waiting": redis_status.lag, "error": redis_status.last_error}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"ingest {path.name if path else '(dead-letter list)'}: {report.items} item(s) read in "
              f"{summary['elapsed_s']:.1f}s" + (f", {retried} dead-lettered item(s) put back" if retried else ""))
        print(f"  accepted    {report.accepted:>8}  (committed to the inbox)")
        print(f"  duplicates  {report.duplicates:>8}  (already in the inbox)")
        print(f"  invalid     {len(report.problems):>8}  (rows skipped)")
        resumed = f"  (incl. {stats.resumed} resumed from an earlier run)" if stats.resumed else ""
        print(f"  scored      {stats.scored:>8}{resumed}")
        print(f"  failed      {stats.failed:>8}  (dead-lettered this run)")
        print(f"  dropped     {stats.dropped:>8}")
        if redis_status is not None:
            print(f"  {redis_status.message}")
        for problem in report.problems[:PROBLEMS_SHOWN]:
            print(f"  skipped {problem}", file=err)
        if len(report.problems) > PROBLEMS_SHOWN:
            print(f"  ... and {len(report.problems) - PROBLEMS_SHOWN} more skipped row(s)", file=err)
    if interrupted:
        print("ingest: interrupted; acknowledged items stay in the inbox and are scored on the next run", file=err)
        return EXIT_INCOMPLETE
    if summary["unscored"]:
        # Acknowledged means kept: say so whenever anything acknowledged is not scored.
        print(f"ingest: {plural(summary['unscored'], 'acknowledged item')} not scored ({inbox.failed} in the dead-letter "
              "list: `signaldesk ingest --failed` shows why, `--retry-failed` tries them again)", file=err)
        return EXIT_INCOMPLETE
    if report.items == 0 and not retried:
        return EXIT_INCOMPLETE
    return EXIT_OK


def list_failed(args: argparse.Namespace) -> int:
    """``ingest --failed``: the dead-letter list, oldest first. Exit 0 when it is empty, 1 otherwise."""
    from app.runtime import data_dir_from_args
    from engine.news.inbox import Inbox
    from engine.store import DB_FILE_NAME, Store

    store = Store(data_dir_from_args(args) / DB_FILE_NAME)
    try:
        failed = Inbox(store).failed()
    finally:
        store.close()
    if args.json:
        print(json.dumps([f.to_dict() for f in failed], ensure_ascii=False))
    else:
        for f in failed:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(f.failed_at)) if f.failed_at else "?"
            print(f"#{f.id:<7} {f.source:<24.24} {f.attempts} attempt(s), last {when}: {f.error}")
            print(f"         {f.text[:110]}")
        print(f"ingest: {len(failed)} item(s) in the dead-letter list"
              + ("; `signaldesk ingest --retry-failed` tries them again" if failed else ""))
    return EXIT_INCOMPLETE if failed else EXIT_OK


def run_redis_feed(args: argparse.Namespace) -> int:
    from app.runtime import data_dir_from_args
    from engine.config import ConfigError, load_config
    from engine.redisbus.config import load_redis_config
    from engine.redisbus.feed import RedisUnavailable, feed_file
    from engine.textinput import InputDecodeError

    err = sys.stderr
    path: Path = args.file
    if not usable_news_file(path):
        return EXIT_USAGE
    data_dir = data_dir_from_args(args)
    try:
        config = load_redis_config(data_dir, url=args.feed_redis)
        max_chars = load_config(data_dir).max_item_chars
    except ConfigError as exc:
        print(f"ingest: {exc}", file=err)
        return EXIT_USAGE
    try:
        report = feed_file(path, config, source=args.source, kind=args.kind, max_chars=max_chars)
    except RedisUnavailable as exc:
        print(f"ingest: {exc}; nothing was sent", file=err)
        return EXIT_USAGE
    except InputDecodeError as exc:
        print(f"ingest: {exc}", file=err)
        return EXIT_USAGE
    summary = {
        "file": str(path), "source": report.source, "stream": report.stream, "items": report.items,
        "sent": report.sent, "duplicates": report.duplicates, "invalid": len(report.problems),
        "not_sent": report.not_sent, "first_id": report.first_id, "last_id": report.last_id,
        "elapsed_s": report.elapsed_s, "error": report.error,
        "problems": [{"line": p.line, "reason": p.reason} for p in report.problems[:PROBLEMS_SHOWN]],
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"ingest {path.name} -> {report.stream}: {report.items} item(s) read in {report.elapsed_s:.1f}s")
        print(f"  sent        {report.sent:>8}  (on the stream, for the workers)")
        print(f"  duplicates  {report.duplicates:>8}  (fed recently: not sent again)")
        print(f"  invalid     {len(report.problems):>8}  (rows skipped)")
        if report.not_sent:
            print(f"  not sent    {report.not_sent:>8}  (Redis went away; run the same command again)")
        for problem in report.problems[:PROBLEMS_SHOWN]:
            print(f"  skipped {problem}", file=err)
        if len(report.problems) > PROBLEMS_SHOWN:
            print(f"  ... and {len(report.problems) - PROBLEMS_SHOWN} more skipped row(s)", file=err)
    if report.error:
        print(f"ingest: {report.error}; {report.not_sent} item(s) not sent, run the same command again "
              "to send only what is missing", file=err)
        return EXIT_INCOMPLETE
    return EXIT_OK if report.items else EXIT_INCOMPLETE
