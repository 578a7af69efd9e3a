"""``signaldesk ingest FILE --redis URL``: feed a file's headlines to the news stream for the workers.

The file is read and checked exactly as the local ingest does (engine/news/files.py: a file that
is not UTF-8 is refused before anything is sent; bad rows are skipped and reported by line).
Items go out in pipelined chunks of ``feed_chunk``, each through the ``feed_news`` script: an
item whose dedupe key (guid, link or text per source, engine/news/items.py) was fed within
``news_dedupe_ttl_s`` is not fed again, so re-running a file after an interruption sends only
what is missing. An item counts as sent once Redis has replied with its entry id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from engine.news.files import RowProblem, iter_news_file
from engine.news.items import NewsItem
from engine.redisbus import scripts as lua
from engine.redisbus.client import TRANSIENT_ERRORS, RedisUnavailable, connect, describe_error, ping
from engine.redisbus.config import RedisConfig
from engine.redisbus.messages import news_fields


@dataclass
class FeedReport:
    path: str
    source: str
    stream: str
    items: int = 0  # readable items in the file
    sent: int = 0  # added to the stream (Redis replied with an id)
    duplicates: int = 0  # fed within news_dedupe_ttl_s (or earlier in this file): not sent again
    not_sent: int = 0  # left unsent because Redis went away
    problems: list[RowProblem] = field(default_factory=list)
    first_id: str = ""
    last_id: str = ""
    elapsed_s: float = 0.0
    error: str = ""

    @property
    def complete(self) -> bool:
        return not self.error


def feed_items(items: list[NewsItem], config: RedisConfig, client: Any, scripts: lua.Scripts, report: FeedReport) -> None:
    pipe = client.pipeline(transaction=False)
    for item in items:
        args: list = [config.news_dedupe_ttl_s]
        for name, value in news_fields(item).items():
            args.extend((name, value))
        scripts.feed_news(keys=[config.news_key, config.seen_key(item.key)], args=args, client=pipe)
    for entry_id in pipe.execute():
        if entry_id is None:
            report.duplicates += 1
            continue
        entry = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
        report.sent += 1
        report.first_id = report.first_id or entry
        report.last_id = entry


def feed_file(path: Path, config: RedisConfig, *, source: str | None = None, kind: str = "news",
              max_chars: int = 2000, client: Any = None,
              on_progress: Callable[[FeedReport], None] | None = None) -> FeedReport:
    """Send a file's items to the news stream. Raises RedisUnavailable before reading when Redis does
    not answer, and InputDecodeError (nothing sent) for a file that is not UTF-8. A connection lost
    midway ends the feed with ``report.error`` set; the items sent so far stay sent."""
    path = Path(path)
    source = source or f"file:{path.name}"
    if client is None:
        client = connect(config, decode_responses=False)
        try:
            return feed_file(path, config, source=source, kind=kind, max_chars=max_chars, client=client,
                             on_progress=on_progress)
        finally:
            client.close()
    ping(client, config)
    scripts = lua.Scripts(client)
    report = FeedReport(str(path), source, config.news_key)
    started = time.perf_counter()
    chunk: list[NewsItem] = []
    # iter_news_file checks the whole file is UTF-8 before it yields anything, then streams it.
    for entry in iter_news_file(path, source, kind, max_chars):
        if isinstance(entry, RowProblem):
            report.problems.append(entry)
            continue
        report.items += 1
        if report.error:
            report.not_sent += 1
            continue
        chunk.append(entry)
        if len(chunk) >= config.feed_chunk:
            _flush(chunk, config, client, scripts, report, on_progress)
    if chunk:
        _flush(chunk, config, client, scripts, report, on_progress)
    report.elapsed_s = round(time.perf_counter() - started, 3)
    return report


def _flush(chunk: list[NewsItem], config: RedisConfig, client: Any, scripts: lua.Scripts, report: FeedReport,
           on_progress) -> None:
    try:
        if not report.error:
            feed_items(chunk, config, client, scripts, report)
    except TRANSIENT_ERRORS as exc:
        # The chunk's fate is unknown (sent or not): a re-run sends only what is missing (dedupe keys).
        report.error = describe_error(config, exc)
        report.not_sent += len(chunk)
    chunk.clear()
    if on_progress is not None:
        on_progress(report)


__all__ = ["FeedReport", "RedisUnavailable", "feed_file", "feed_items"]
