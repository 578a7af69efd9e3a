"""Sources with real parts: an HTTP server on 127.0.0.1, a real folder, the real demo feed, real SQLite."""

from __future__ import annotations

import calendar
import json
import sqlite3
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news import NewsConfig, NewsPipeline
from engine.news.sources import FeedSource, FolderSource, ReplaySource
from engine.store import DB_FILE_NAME

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Demo wire</title><link>http://127.0.0.1/</link><description>test</description>
{items}
</channel></rss>"""
RSS_ITEM = """<item><title>{title}</title>{extra}<pubDate>Mon, 03 Mar 2025 13:{minute:02d}:00 GMT</pubDate></item>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Demo research</title><id>urn:demo:research</id>
<updated>2025-03-03T14:00:00Z</updated>
<entry><title>Barclays lifts Kestrel Aerospace target to $210</title><id>urn:demo:1</id>
<link href="http://127.0.0.1/notes/1"/><updated>2025-03-03T13:30:00Z</updated><category term="$KSTL"/></entry>
<entry><title>Bernstein starts coverage of Lattice Data with outperform rating</title><id>urn:demo:2</id>
<link href="http://127.0.0.1/notes/2"/><updated>2025-03-03T13:45:00Z</updated></entry>
</feed>"""


class FeedServer:
    """Serves /rss, /atom, /broken and /html; honours If-None-Match and If-Modified-Since; logs requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        self.rss_items = [("$ACME beats third-quarter profit estimates", '<guid>wire-1</guid>'),
                          ("$DUNE misses revenue forecasts", '<link>http://127.0.0.1/story/2</link>'),
                          ("Fed holds rates steady", "")]  # no guid, no link: deduped by text
        self.version = 1
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers)))
                if self.path == "/broken":
                    self.send_error(500, "upstream exploded")
                    return
                if self.path == "/html":
                    body, ctype, etag = b"<html><body>not a feed</body></html>", "text/html", '"h"'
                elif self.path == "/atom":
                    body, ctype, etag = ATOM.encode(), "application/atom+xml", '"atom-1"'
                else:
                    items = "\n".join(RSS_ITEM.format(title=t, extra=x, minute=i) for i, (t, x) in enumerate(server.rss_items))
                    body, ctype, etag = RSS.format(items=items).encode(), "application/rss+xml", f'"rss-{server.version}"'
                modified = formatdate(1_740_000_000 + server.version, usegmt=True)
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", modified)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FeedServer()
    yield s
    s.close()


@pytest.fixture
def pipeline(data_dir: Path):
    engine = Engine(Config(), data_dir)
    p = NewsPipeline(engine, NewsConfig(queue_capacity=256, batch_size=16, batch_timeout_ms=20))
    p.start()
    yield p
    p.stop()
    engine.close()


def db(data_dir: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(str(data_dir / DB_FILE_NAME))
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def feed(pipeline, url: str, **kw) -> FeedSource:
    return FeedSource("rss:test", url, submit=pipeline.submit, interval_s=60, **kw)


# --- RSS / Atom -------------------------------------------------------------------------------

def test_rss_conditional_get_sends_validators_and_a_304_adds_nothing(server, pipeline, data_dir) -> None:
    source = feed(pipeline, server.url + "/rss")
    assert source.run_once()
    first = source.status()
    assert (first.items_total, first.duplicates_total, first.errors_total) == (3, 0, 0)
    assert source.etag == '"rss-1"' and source.last_modified

    assert source.run_once()
    path, headers = server.requests[-1]
    assert headers.get("If-None-Match") == '"rss-1"'
    assert headers.get("If-Modified-Since") == source.last_modified
    assert source.last_http_status == 304 and source.status().items_total == 3
    assert pipeline.wait_idle(60)
    rows = db(data_dir, "SELECT s.text, e.event_time FROM signals s JOIN news_events e ON e.signal_id = s.id ORDER BY s.id")
    assert [r[0] for r in rows] == [t for t, _x in server.rss_items]
    assert rows[0][1] == calendar.timegm((2025, 3, 3, 13, 0, 0))  # the feed's pubDate, not arrival time


def test_a_changed_feed_adds_only_new_entries_deduped_by_guid_link_and_text(server, pipeline) -> None:
    source = feed(pipeline, server.url + "/rss")
    source.run_once()
    server.rss_items = [("$ACME beats third-quarter estimates (updated)", "<guid>wire-1</guid>"),  # same guid
                        ("Different title, same story", "<link>http://127.0.0.1/story/2</link>"),  # same link
                        ("Fed holds rates steady", ""),  # same text
                        ("$VOLT names new chief executive", "<guid>wire-4</guid>")]
    server.version = 2
    assert source.run_once()
    status = source.status()
    assert (status.items_total, status.duplicates_total) == (4, 3)
    assert "1 new, 3 seen before" in status.detail


def test_atom_entries_carry_ids_links_times_and_cashtag_categories(server, pipeline, data_dir) -> None:
    source = feed(pipeline, server.url + "/atom", source_kind="analyst")
    assert source.run_once()
    assert pipeline.wait_idle(60)
    rows = db(data_dir, "SELECT i.guid, i.link, i.tickers, i.source_kind, s.entities FROM news_inbox i "
                        "JOIN signals s ON s.id = i.signal_id ORDER BY i.id")
    assert rows[0][:4] == ("urn:demo:1", "http://127.0.0.1/notes/1", '["KSTL"]', "analyst")
    assert json.loads(rows[0][4]) == ["KSTL"]


def test_http_errors_and_non_feeds_are_reported_on_the_source_and_back_off(server, pipeline) -> None:
    broken = feed(pipeline, server.url + "/broken")
    assert not broken.run_once()
    status = broken.status()
    assert status.state == "error" and status.errors_total == 1 and "HTTP 500" in status.last_error
    assert broken.wait_s() == 120  # doubled after one failure
    html = feed(pipeline, server.url + "/html")
    assert not html.run_once()
    assert "not an RSS/Atom feed" in html.status().last_error
    unreachable = feed(pipeline, "http://127.0.0.1:9/feed", timeout_s=2)
    assert not unreachable.run_once()
    assert "cannot fetch" in unreachable.status().last_error


def test_validators_are_kept_only_after_the_items_are_acknowledged(server, pipeline) -> None:
    saved = []
    source = feed(pipeline, server.url + "/rss", save_validators=lambda e, m: saved.append((e, m)))
    pipeline.stop()  # a stopping pipeline refuses: nothing acknowledged
    assert source.run_once()
    assert source.etag is None and saved == []
    pipeline.start()
    source.run_once()
    assert source.etag == '"rss-1"' and saved == [('"rss-1"', source.last_modified)]


def test_manager_persists_sources_and_their_validators_across_restarts(server, data_dir) -> None:
    engine = Engine(Config(), data_dir)
    manager = engine.news.sources
    manager.add_feed(server.url + "/rss", name="wire", interval_s=30)
    engine.news.start()
    assert manager.get("wire").run_once()
    engine.close()

    engine = Engine(Config(), data_dir)
    manager = engine.news.sources
    (status,) = manager.statuses()
    assert (status.name, status.kind, status.interval_s, status.items_total) == ("wire", "rss", 30.0, 3)
    engine.news.start()
    assert manager.get("wire").run_once()
    assert server.requests[-1][1].get("If-None-Match") == '"rss-1"'  # remembered across the restart
    with pytest.raises(ValueError, match="already exists"):
        manager.add_feed(server.url + "/rss", name="wire")
    with pytest.raises(ValueError, match="http"):
        manager.add_feed("ftp://example.test/feed")
    manager.remove("wire")
    assert manager.statuses() == ()
    engine.close()


def test_a_running_feed_thread_polls_and_stops(server, data_dir) -> None:
    engine = Engine(Config(), data_dir)
    manager = engine.news.sources
    manager.add_feed(server.url + "/rss", name="wire", interval_s=0.05)
    seen = []
    manager.subscribe(seen.append)
    manager.start()
    deadline = time.monotonic() + 30
    while sum(1 for p, _h in server.requests if p == "/rss") < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    manager.stop()
    assert sum(1 for p, _h in server.requests if p == "/rss") >= 3
    assert {s.state for s in seen} >= {"fetching", "idle"}
    assert manager.statuses()[0].state == "stopped"
    assert engine.news.wait_idle(60) and engine.store.count_signals() == 3
    engine.close()


# --- watched folder --------------------------------------------------------------------------

def folder_source(pipeline, path: Path) -> FolderSource:
    return FolderSource("folder:drop", path, store=pipeline.store, submit=pipeline.submit, interval_s=60, settle_s=0)


def test_dropped_files_are_ingested_once_and_moved_to_processed(pipeline, data_dir, tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.csv").write_text('headline,tickers,published_at\n"$ACME beats estimates",ACME,2025-03-03T13:00:00Z\n'
                                '"Fed holds rates",,\n', encoding="utf-8")
    (drop / "b.jsonl").write_text('{"text": "$DUNE misses forecasts", "kind": "analyst"}\n{broken\n', encoding="utf-8")
    (drop / "c.txt").write_text("$VOLT names new CEO\n\n$ZEPH halted\n", encoding="utf-8")
    (drop / "ignored.pdf").write_bytes(b"%PDF")
    source = folder_source(pipeline, drop)
    assert source.run_once()
    assert sorted(p.name for p in (drop / "processed").iterdir()) == ["a.csv", "b.jsonl", "c.txt"]
    assert (drop / "ignored.pdf").exists()
    status = source.status()
    assert status.items_total == 5 and "b.jsonl: 1 row skipped: line 2: invalid JSON" in status.detail
    # The same content dropped again is a duplicate, not new news.
    (drop / "c.txt").write_text("$VOLT names new CEO\n", encoding="utf-8")
    source.run_once()
    assert source.status().duplicates_total == 1 and source.status().items_total == 5
    assert pipeline.wait_idle(60)
    kinds = dict(db(data_dir, "SELECT text, source_kind FROM news_inbox"))
    assert kinds["$DUNE misses forecasts"] == "analyst"


def test_an_undecodable_file_is_refused_whole_and_explained(pipeline, data_dir, tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "bad.csv").write_bytes(b"text\n$ACME good line\n\xff\xfe broken bytes\n")
    source = folder_source(pipeline, drop)
    assert not source.run_once()
    status = source.status()
    assert status.state == "error" and "bad.csv" in status.last_error and "UTF-8" in status.last_error
    assert "line 3" in status.last_error
    assert (drop / "failed" / "bad.csv").exists()
    assert "UTF-8" in (drop / "failed" / "bad.csv.error.txt").read_text(encoding="utf-8")
    assert db(data_dir, "SELECT COUNT(*) FROM news_inbox") == [(0,)]  # nothing from it was accepted
    assert source.run_once()  # the folder is healthy again


def test_a_file_still_being_written_waits_until_it_settles(pipeline, tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    source = FolderSource("folder:drop", drop, store=pipeline.store, submit=pipeline.submit, interval_s=60, settle_s=3600)
    (drop / "growing.txt").write_text("$ACME first line\n", encoding="utf-8")
    source.run_once()
    assert source.status().items_total == 0  # first sight: maybe still being copied
    source.run_once()
    assert source.status().items_total == 1  # unchanged since the last poll: settled


def test_a_file_that_could_not_be_moved_is_not_ingested_twice(pipeline, tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "once.txt").write_text("$ACME once\n", encoding="utf-8")
    source = folder_source(pipeline, drop)
    source._move = lambda *a, **k: None  # e.g. a read-only share: the file stays where it is
    source.run_once()
    source.run_once()
    status = source.status()
    assert (status.items_total, status.duplicates_total) == (1, 0)  # remembered, not even re-read


# --- demo replay -------------------------------------------------------------------------------

def test_replay_paces_items_restamps_them_and_finishes(pipeline, data_dir) -> None:
    from engine.news.sources.replay import demo_feed_path

    total = sum(1 for _ in demo_feed_path().open(encoding="utf-8"))
    assert total >= 300
    source = ReplaySource("replay:demo", rate=1000.0, submit=pipeline.submit, interval_s=0.01)
    source.run_once()  # the first tick only starts the clock
    assert source.status().items_total == 0
    before = time.time()
    polls = 0
    while not source.finished() and polls < 10_000:
        time.sleep(0.01)
        source.run_once()
        polls += 1
        assert source.status().items_total <= total
    assert source.finished() and source.status().items_total == total and source.status().state == "finished"
    assert pipeline.wait_idle(60)
    times = db(data_dir, "SELECT MIN(event_time) FROM news_events")[0][0]
    assert times >= before - 1  # re-stamped as live, not March 2025
    sources = {r[0] for r in db(data_dir, "SELECT DISTINCT source FROM signals")}
    assert sources == {"demo-wire", "demo-research", "demo-social"}
    demo_symbols = {"ACME", "DUNE", "ZEPH", "VOLT", "FXEU"}
    assert demo_symbols <= {t for (e,) in db(data_dir, "SELECT entities FROM signals") for t in json.loads(e)}


def test_replay_never_bursts_more_than_one_second_of_items(pipeline) -> None:
    source = ReplaySource("replay:demo", rate=5.0, submit=pipeline.submit, interval_s=0.01)
    source.run_once()
    time.sleep(0.5)
    source._last_tick -= 3600  # as if the source had been held back for an hour
    source.run_once()
    assert source.status().items_total <= 5


def test_the_bundled_demo_feed_is_what_its_generator_writes() -> None:
    from engine.news.demo import render_demo_feed
    from engine.news.sources.replay import demo_feed_path

    assert demo_feed_path().read_text(encoding="utf-8") == render_demo_feed()


def test_two_replay_runs_within_one_second_are_both_new_news(pipeline) -> None:
    """Run ids were whole seconds: a replay restarted within the same second was all duplicates."""
    counts = []
    for _ in range(2):
        source = ReplaySource("replay:demo", rate=100_000.0, submit=pipeline.submit, interval_s=0.01)
        source.run_once()  # starts the clock
        while not source.finished():
            time.sleep(0.005)
            source.run_once()
        status = source.status()
        counts.append((status.items_total, status.duplicates_total))
    assert counts[0] == counts[1] and counts[1][0] > 0 and counts[1][1] == 0
