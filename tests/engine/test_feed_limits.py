"""Feed fetches under hostile servers (issue 22 item 9): a total deadline, and no redirect from a
feed to somewhere more internal than the feed itself.

Real HTTP servers on this machine: one on loopback that drips a byte every 0.3 s, one on every
interface that redirects to loopback and is reached through this machine's own non-loopback
address (a private address here), as a feed on a LAN redirecting to a local admin port would.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.news.pipeline import SubmitResult
from engine.news.sources.base import SourceError
from engine.news.sources.rss import FeedSource, address_class, check_redirect

RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
       b"<item><title>$ACME beats estimates</title><guid>g1</guid></item></channel></rss>")


class Server:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.stop = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/drip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml")
                    self.end_headers()
                    while not outer.stop.is_set():  # one byte at a time, never the end
                        try:
                            self.wfile.write(b" ")
                            self.wfile.flush()
                        except OSError:
                            return
                        outer.stop.wait(0.3)
                    return
                if self.path == "/to-loopback":
                    self.send_response(302)
                    self.send_header("Location", f"http://127.0.0.1:{outer.port}/feed")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(RSS)))
                self.end_headers()
                self.wfile.write(RSS)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _feed(url: str, **kw) -> tuple[FeedSource, list]:
    got: list = []
    accept = lambda items: got.extend(items) or SubmitResult(len(items), 0, 0)  # noqa: E731 (the pipeline's answer)
    return FeedSource("test", url, submit=accept, interval_s=60, **kw), got


def _poll_in_thread(source: FeedSource) -> dict:
    outcome: dict = {}

    def poll() -> None:
        try:
            source.poll()
            outcome["ok"] = True
        except SourceError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    thread.join(60)  # liveness only: the deadline below is 2 s
    outcome["finished"] = not thread.is_alive()
    return outcome


def test_a_server_dripping_bytes_is_cut_off_at_the_total_deadline() -> None:
    server = Server()
    try:
        source, got = _feed(f"http://127.0.0.1:{server.port}/drip", timeout_s=5, deadline_s=2)
        outcome = _poll_in_thread(source)
    finally:
        server.close()
    assert outcome["finished"], "the fetch never ended"
    assert "no complete answer within 2 s" in outcome.get("error", ""), outcome
    assert got == []


def _own_address() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            return s.getsockname()[0]
        except OSError:
            return ""


def test_a_redirect_from_the_feed_to_loopback_is_refused() -> None:
    own = _own_address()
    if not own or own.startswith("127."):
        pytest.skip("this machine has no non-loopback address to serve a feed from")
    server = Server("0.0.0.0")
    try:
        direct, got = _feed(f"http://127.0.0.1:{server.port}/feed")
        direct.poll()  # a loopback feed itself is the operator's choice, and works
        assert [i.text for i in got] == ["$ACME beats estimates"]
        source, sneaked = _feed(f"http://{own}:{server.port}/to-loopback")
        with pytest.raises(SourceError, match=r"redirect from .* to 127\.0\.0\.1 \(a loopback or link-local "
                                              r"address\) refused"):
            source.poll()
        assert sneaked == []
    finally:
        server.close()


def test_redirect_rules_by_address_class() -> None:
    names = {"feeds.example": ["93.184.216.34"], "router.lan": ["192.168.1.1"], "metadata": ["169.254.169.254"],
             "localhost": ["127.0.0.1", "::1"], "mixed": ["93.184.216.34", "10.0.0.5"]}
    resolve = names.__getitem__
    check_redirect("https://feeds.example/rss", "https://feeds.example/rss2", resolve)  # public to public
    check_redirect("http://router.lan/feed", "http://router.lan/other", resolve)  # private to private
    for target in ("http://router.lan/", "http://metadata/latest/", "http://localhost:8080/", "http://mixed/"):
        with pytest.raises(SourceError, match="refused"):
            check_redirect("https://feeds.example/rss", target, resolve)
    with pytest.raises(SourceError, match="only http"):
        check_redirect("https://feeds.example/rss", "file:///etc/passwd", resolve)
    assert address_class("mixed", resolve) == address_class("router.lan", resolve)  # the most internal wins
