"""RSS and Atom feeds over HTTP(S), with conditional GET.

urllib fetches (so timeouts, size limits and status codes are ours), feedparser parses.
The ETag and Last-Modified of a 200 response are sent back as If-None-Match and
If-Modified-Since next time; a 304 costs the server and us almost nothing. They are kept only
after the items of that response are acknowledged, so a crash or a refused submit refetches.
"""

from __future__ import annotations

import calendar
import html
import re
import urllib.error
import urllib.request
from typing import Callable
from urllib.parse import urlsplit

import feedparser

from engine import __version__
from engine.news.items import NewsItem, make_item
from engine.news.sources.base import PolledSource, SourceError

MAX_FEED_BYTES = 10 * 1024 * 1024
USER_AGENT = f"SignalDesk/{__version__} (+feed reader)"
_TAGS = re.compile(r"<[^>]+>")
_CASHTAG_TERM = re.compile(r"^\$([A-Za-z][A-Za-z0-9]{0,5}(?:\.[A-Za-z]{1,2})?)$")


def check_feed_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an http(s) feed URL: {url!r}")
    return url.strip()


def _entry_text(entry) -> str:
    title = entry.get("title") or ""
    if not title.strip():
        title = entry.get("summary") or ""
    return html.unescape(_TAGS.sub(" ", title))


def _entry_time(entry) -> float | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return float(calendar.timegm(parsed)) if parsed else None


def _entry_tickers(entry) -> tuple[str, ...]:
    found = []
    for tag in entry.get("tags") or ():
        match = _CASHTAG_TERM.match((tag.get("term") or "").strip())
        if match:
            found.append(match.group(1).upper())
    return tuple(dict.fromkeys(found))


class FeedSource(PolledSource):
    kind = "rss"

    def __init__(self, name: str, url: str, *, timeout_s: float = 15.0, max_chars: int = 2000,
                 etag: str | None = None, last_modified: str | None = None,
                 save_validators: Callable[[str | None, str | None], None] | None = None, **kwargs) -> None:
        super().__init__(name, check_feed_url(url), **kwargs)
        self.url = self.target
        self.timeout_s = timeout_s
        self.max_chars = max_chars
        self.etag = etag
        self.last_modified = last_modified
        self._save_validators = save_validators
        self.last_http_status: int | None = None

    def poll(self) -> None:
        request = urllib.request.Request(self.url, headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1",
        })
        if self.etag:
            request.add_header("If-None-Match", self.etag)
        if self.last_modified:
            request.add_header("If-Modified-Since", self.last_modified)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                status = response.status
                headers = response.headers
                body = response.read(MAX_FEED_BYTES + 1)
        except urllib.error.HTTPError as exc:
            self.last_http_status = exc.code
            if exc.code == 304:
                self.detail = "not modified (304)"
                return
            raise SourceError(f"HTTP {exc.code} {exc.reason} from {self.url}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SourceError(f"cannot fetch {self.url}: {reason}") from None
        self.last_http_status = status
        if len(body) > MAX_FEED_BYTES:
            raise SourceError(f"{self.url}: feed larger than {MAX_FEED_BYTES // (1024 * 1024)} MB, not read")
        parsed = feedparser.parse(body, response_headers={"content-type": headers.get("Content-Type", ""),
                                                          "content-location": self.url})
        if parsed.bozo and not parsed.entries:
            raise SourceError(f"{self.url}: not an RSS/Atom feed ({parsed.get('bozo_exception')})")
        items: list[NewsItem] = []
        for entry in parsed.entries:
            item = make_item(_entry_text(entry), self.name, self.max_chars, source_kind=self.source_kind,
                             published_at=_entry_time(entry), guid=entry.get("id") or None,
                             link=entry.get("link") or None, tickers=_entry_tickers(entry))
            if item is not None:
                items.append(item)
        before = self.status()
        if not self.deliver(items):
            self.detail = "pipeline stopping: items not acknowledged, will refetch"
            return
        after = self.status()
        self.detail = (f"{len(items)} entries: {after.items_total - before.items_total} new, "
                       f"{after.duplicates_total - before.duplicates_total} seen before")
        # Only now, with every entry acknowledged, remember what the server sent.
        self.etag = headers.get("ETag") or None
        self.last_modified = headers.get("Last-Modified") or None
        if self._save_validators is not None:
            self._save_validators(self.etag, self.last_modified)
