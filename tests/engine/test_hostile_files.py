"""Hostile files in the watched folder and in file ingestion (issue 22 items 4, 5 and 9).

Real folder, real pipeline, real SQLite. The deep JSON line is 200,000 levels; the link points
at a file outside the folder, as ``x.txt -> /etc/passwd`` would.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.news import NewsConfig, NewsPipeline
from engine.news.files import RowProblem, iter_news_file
from engine.news.sources.folder import FolderSource
from engine.store import DB_FILE_NAME

DEEP = "[" * 200_000 + "]" * 200_000


@pytest.fixture
def pipeline(data_dir: Path):
    engine = Engine(Config(sentiment_model="lexicon"), data_dir)
    p = NewsPipeline(engine, NewsConfig(queue_capacity=256, batch_size=16, batch_timeout_ms=20))
    p.start()
    yield p
    p.stop()
    engine.close()


def _folder(pipeline, path: Path) -> FolderSource:
    return FolderSource("folder:drop", path, store=pipeline.store, submit=pipeline.submit, interval_s=60, settle_s=0)


def _texts(data_dir: Path) -> list[str]:
    conn = sqlite3.connect(str(data_dir / DB_FILE_NAME))
    try:
        return [r[0] for r in conn.execute("SELECT text FROM news_inbox ORDER BY id")]
    finally:
        conn.close()


def test_a_deeply_nested_file_goes_to_failed_and_a_newer_good_file_is_still_ingested(pipeline, data_dir,
                                                                                       tmp_path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    bad = drop / "a_deep.jsonl"
    bad.write_text(DEEP + "\n", encoding="utf-8")
    good = drop / "b_good.txt"
    good.write_text("$ACME beats estimates\n", encoding="utf-8")
    os.utime(bad, (1_700_000_000, 1_700_000_000))  # the older file is read first
    source = _folder(pipeline, drop)
    source.run_once()
    assert (drop / "failed" / "a_deep.jsonl").exists()
    assert "JSON nested too deeply" in (drop / "failed" / "a_deep.jsonl.error.txt").read_text()
    assert (drop / "processed" / "b_good.txt").exists()
    assert pipeline.wait_idle(60)
    assert _texts(data_dir) == ["$ACME beats estimates"]


def test_links_are_not_followed_out_of_the_folder_and_say_so(pipeline, data_dir, tmp_path, caplog) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("".join(f"user{i}:x:{1000 + i}:{1000 + i}::/home/user{i}:/bin/sh\n" for i in range(24)))
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "x.txt").symlink_to(secret)
    os.link(secret, drop / "y.txt")  # a hard link: the same content under a new name
    (drop / "z.txt").write_text("$DUNE misses forecasts\n", encoding="utf-8")
    source = _folder(pipeline, drop)
    with caplog.at_level("WARNING"):
        source.run_once()
    assert pipeline.wait_idle(60)
    assert _texts(data_dir) == ["$DUNE misses forecasts"]
    assert (drop / "failed" / "x.txt").is_symlink() and secret.exists()  # the link moved, its target untouched
    assert "symbolic link" in (drop / "failed" / "x.txt.error.txt").read_text()
    assert "hard links" in (drop / "failed" / "y.txt.error.txt").read_text()
    assert "links are not followed" in caplog.text


def test_a_file_moves_to_processed_only_after_its_commit_is_durable(pipeline, data_dir, tmp_path,
                                                                     monkeypatch) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "c.txt").write_text("$VOLT names new CEO\n$ZEPH halted\n", encoding="utf-8")
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(f"fsync:{os.readlink(f'/proc/self/fd/{fd}')}")
        return real_fsync(fd)

    def replace(src, dst):
        events.append(f"replace:{Path(src).name}")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    _folder(pipeline, drop).run_once()
    moved = events.index("replace:c.txt")
    assert any(e.startswith("fsync:") and e.endswith(f"{DB_FILE_NAME}-wal") for e in events[:moved]), events


def test_file_rows_cannot_claim_another_source_a_higher_kind_or_bad_fields(tmp_path) -> None:
    path = tmp_path / "rows.jsonl"
    many = " ".join(f"T{i}" for i in range(50_000))
    path.write_text("\n".join([
        '{"text": "$ACME one", "source": "wire", "kind": "social"}',
        '{"text": "$ACME two", "source": "wire", "kind": "news"}',  # above the file's kind
        f'{{"text": "$ACME three", "tickers": "{many}"}}',
        '{"text": "$ACME four", "published_at": "NaN"}',
        '{"text": "$ACME five", "published_at": 99999999999999999999}',
        '{"text": "\\u0000\\u0000\\u0000"}',
        '{"text": "$ACME six", "published_at": 1700000000000}',  # epoch milliseconds
        DEEP,
    ]) + "\n", encoding="utf-8")
    entries = list(iter_news_file(path, "file:rows.jsonl", "analyst"))
    problems = {e.line: e.reason for e in entries if isinstance(e, RowProblem)}
    items = [e for e in entries if not isinstance(e, RowProblem)]
    assert [(i.text, i.source, i.source_kind) for i in items] == [
        ("$ACME one", "file:rows.jsonl/wire", "social"), ("$ACME six", "file:rows.jsonl", "analyst")]
    assert items[1].published_at == 1_700_000_000.0
    assert "above this file's kind" in problems[2]
    assert "tickers (at most 32" in problems[3]
    assert "not a time" in problems[4] or "not finite" in problems[4]
    assert "out of range" in problems[5]
    assert problems[6] == "blank text"
    assert problems[8] == "JSON nested too deeply"
