"""RSS and Atom feeds over HTTP(S), with conditional GET.

urllib fetches (so timeouts, size limits and status codes are ours), feedparser parses.
The ETag and Last-Modified of a 200 response are sent back as If-None-Match and
If-Modified-Since next time; a 304 costs the server and us almost nothing. They are kept only
after the items of that response are acknowledged, so a crash or a refused submit refetches.

A fetch has a total deadline as well as a per-read timeout: a server that drips a byte every
few seconds would otherwise keep a source "fetching" for the whole run; at the deadline the
connection is shut and the fetch fails with that reason. Redirects may not lead somewhere more
internal than where the feed is: a public feed that redirects to a private or loopback address
(a router page, a cloud metadata service, a local admin port) is refused, and so is a private
one redirecting to loopback. Only http and https are followed.
"""

from __future__ import annotations

import calendar
import html
import http.client
import ipaddress
import re
import socket
import threading
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


# How internal an address is; a redirect may not go lower than where it came from.
_PUBLIC, _PRIVATE, _LOCAL = 2, 1, 0


def address_class(host: str, resolve: Callable[[str], list[str]] | None = None) -> int:
    """The most internal class among the host's addresses (loopback, link-local and unspecified
    count as local; RFC 1918, ULA and reserved ranges as private)."""
    addresses = (resolve or _resolve)(host)
    if not addresses:
        raise SourceError(f"{host}: no address")
    worst = _PUBLIC
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%")[0])
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
            worst = min(worst, _LOCAL)
        elif ip.is_private or ip.is_reserved or not ip.is_global:
            worst = min(worst, _PRIVATE)
    return worst


def _resolve(host: str) -> list[str]:
    try:
        return sorted({info[4][0] for info in socket.getaddrinfo(host, None)})
    except OSError as exc:
        raise SourceError(f"cannot resolve {host}: {exc}") from None


def check_redirect(origin: str, target: str, resolve: Callable[[str], list[str]] | None = None) -> None:
    """Raise SourceError unless following ``origin`` -> ``target`` is allowed (see the module docstring)."""
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"redirect to {target[:200]!r} refused: only http(s) URLs are followed")
    names = {_PUBLIC: "a public address", _PRIVATE: "a private address", _LOCAL: "a loopback or link-local address"}
    before = address_class(urlsplit(origin).hostname or "", resolve)
    after = address_class(parts.hostname, resolve)
    if after < before:
        raise SourceError(f"redirect from {urlsplit(origin).hostname} ({names[before]}) to {parts.hostname} "
                          f"({names[after]}) refused")


class _Redirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_redirect(req.full_url, newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


class _Deadline:
    """Shuts every socket of one fetch when its total time is up (a per-read timeout cannot stop
    a server that sends one byte just often enough)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        for sock in list(self.sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> "_Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()

    def opener(self) -> urllib.request.OpenerDirector:
        sockets = self.sockets

        def tracked(base):
            class Connection(base):
                def connect(self) -> None:
                    super().connect()
                    sockets.append(self.sock)
            return Connection

        plain, tls = tracked(http.client.HTTPConnection), tracked(http.client.HTTPSConnection)

        class Http(urllib.request.HTTPHandler):
            def http_open(self, req):
                return self.do_open(plain, req)

        class Https(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(tls, req, context=self._context)

        return urllib.request.build_opener(Http, Https, _Redirects)


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

    def __init__(self, name: str, url: str, *, timeout_s: float = 15.0, deadline_s: float = 60.0,
                 max_chars: int = 2000, etag: str | None = None, last_modified: str | None = None,
                 save_validators: Callable[[str | None, str | None], None] | None = None, **kwargs) -> None:
        super().__init__(name, check_feed_url(url), **kwargs)
        self.url = self.target
        self.timeout_s = timeout_s  # each connect or read
        self.deadline_s = deadline_s  # the whole fetch, redirects included
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
        deadline = _Deadline(self.deadline_s)
        try:
            with deadline, deadline.opener().open(request, timeout=self.timeout_s) as response:
                status = response.status
                headers = response.headers
                body = response.read(MAX_FEED_BYTES + 1)
        except urllib.error.HTTPError as exc:
            self.last_http_status = exc.code
            if exc.code == 304:
                self.detail = "not modified (304)"
                return
            raise SourceError(f"HTTP {exc.code} {exc.reason} from {self.url}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if deadline.expired:
                raise SourceError(f"{self.url}: no complete answer within {self.deadline_s:g} s; gave up") from None
            reason = getattr(exc, "reason", exc)
            raise SourceError(f"cannot fetch {self.url}: {reason}") from None
        if deadline.expired:  # the shut socket may look like an early end of the body
            raise SourceError(f"{self.url}: no complete answer within {self.deadline_s:g} s; gave up")
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
