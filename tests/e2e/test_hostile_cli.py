"""Hostile and broken inputs through the real CLI (issue 22): one clear message, never a traceback,
and nothing that was good is lost because something next to it was bad."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from engine.store import DB_FILE_NAME, Store
from engine.types import Signal
from tests.conftest import REPO_ROOT, db_with_demo_prices


def run_cli(data_dir: Path, *args: str, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], cwd=REPO_ROOT,
                          env=dict(os.environ, QT_QPA_PLATFORM="offscreen", **env), capture_output=True, text=True,
                          timeout=timeout)


def _signal(text: str, symbol: str, label: str, p: tuple[float, float, float], confidence: float) -> Signal:
    return Signal(None, time.time(), "redis:wire", text, (symbol,), label, p, confidence, p[1] - p[0],
                  "lexicon-fin", "1.0", 1.0)


def test_one_bad_stored_signal_never_stops_ideas_propose(data_dir: Path) -> None:
    db_with_demo_prices(data_dir)
    store = Store(data_dir / DB_FILE_NAME)
    # As a forged Redis result was stored before results were signed: confidence 7.5 (DUNE's regime
    # routes a bearish signal to a fade, which reached the confidence blend: a ValueError traceback).
    bad, _good = store.add_signals([
        _signal("$DUNE Dune Energy collapses on fraud probe", "DUNE", "bearish", (0.98, 0.01, 0.01), 7.5),
        _signal("$ZEPH plunges as auditors resign", "ZEPH", "bearish", (0.9, 0.04, 0.06), 0.9),
    ])
    store.close()
    done = run_cli(data_dir, "ideas", "propose")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"skipped DUNE signal {bad.id}: invalid stored signal: confidence 7.5" in done.stdout
    assert "short ZEPH" in done.stdout and "1 created" in done.stdout


def test_ingest_says_when_acknowledged_items_are_unscored_lists_them_and_retries_them(data_dir: Path,
                                                                                       tmp_path: Path) -> None:
    import json

    from engine.news.inbox import Inbox
    from engine.news.items import NewsItem

    # What an earlier run left: three acknowledged items dead-lettered after six failed attempts.
    store = Store(data_dir / DB_FILE_NAME)
    inbox = Inbox(store)
    rows, _ = inbox.accept([NewsItem(text=f"$ACME stranded headline {i}", source="feed:wire") for i in range(3)])
    inbox.record_failures({}, [r.id for r in rows], "OperationalError: database is locked", {r.id: 6 for r in rows})
    store.close()
    news = tmp_path / "news.txt"
    news.write_text("$ZEPH Zephyr raises guidance\n$DUNE Dune misses estimates\n", encoding="utf-8")

    first = run_cli(data_dir, "ingest", str(news), "--json", SIGNALDESK_SENTIMENT_MODEL="lexicon")
    assert first.returncode == 1, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["scored"], summary["dead_letters"], summary["unscored"]) == (2, 3, 3)
    assert "3 acknowledged items not scored" in first.stderr and "ingest --failed" in first.stderr

    listed = run_cli(data_dir, "ingest", "--failed", "--json")
    assert listed.returncode == 1
    failed = json.loads(listed.stdout)
    assert [f["text"] for f in failed] == [f"$ACME stranded headline {i}" for i in range(3)]
    assert all(f["attempts"] == 6 and "database is locked" in f["error"] for f in failed)

    retried = run_cli(data_dir, "ingest", "--retry-failed", "--json", SIGNALDESK_SENTIMENT_MODEL="lexicon")
    assert retried.returncode == 0, retried.stderr
    after = json.loads(retried.stdout)
    assert (after["retried_failed"], after["scored"], after["dead_letters"]) == (3, 3, 0)
    assert run_cli(data_dir, "ingest", "--failed").returncode == 0


# Runs a command as its only child and prints that child's peak RSS (KiB) on the last stderr line.
_PEAK_RSS = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(done.returncode)")


def test_score_gives_every_line_size_one_message_with_bounded_memory(data_dir: Path, tmp_path: Path) -> None:
    text_in = tmp_path / "huge.txt"
    with open(text_in, "w", encoding="utf-8") as fh:
        fh.write("$ACME beats estimates\n")
        fh.write("$DUNE " + "misses forecasts " * ((40 << 20) // 17) + "\n")  # one 40 MB line
        fh.write("\x00\x00\n$ZEPH halted\n")
    json_in = tmp_path / "rows.jsonl"
    json_in.write_text('{"text": "$ACME beats"}\n' + '{"text": "' + "x" * (12 << 20) + '"}\n'
                       + "[" * 200_000 + "]" * 200_000 + '\n{"text": "$ZEPH halted"}\n', encoding="utf-8")
    stderr = {}
    for inp, out in ((text_in, tmp_path / "huge.csv"), (json_in, tmp_path / "rows.csv")):
        done = subprocess.run([sys.executable, "-c", _PEAK_RSS, sys.executable, "-m", "app", "--data-dir",
                               str(data_dir), "score", "-q", "-i", str(inp), "-o", str(out)], cwd=REPO_ROOT,
                              env=dict(os.environ, SIGNALDESK_SENTIMENT_MODEL="lexicon", QT_QPA_PLATFORM="offscreen"),
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        peak_mb = int(done.stderr.strip().splitlines()[-1]) / 1024
        assert peak_mb < 600, f"{inp.name}: peak RSS {peak_mb:.0f} MB"
        stderr[inp.name] = done.stderr
    assert not list(tmp_path.glob("*.part"))
    assert "huge.txt:2: line is 40 MB; scored from its beginning (cut)" in stderr["huge.txt"]
    assert "huge.txt:3: skipped: empty line" in stderr["huge.txt"]  # NUL bytes only
    assert "1 item longer than 2,000 characters was cut" in stderr["huge.txt"]
    assert "rows.jsonl:2: skipped: line is 12 MB, over the 1 MB limit" in stderr["rows.jsonl"]
    assert "rows.jsonl:3: skipped: JSON nested too deeply" in stderr["rows.jsonl"]
    assert len((tmp_path / "huge.csv").read_text(encoding="utf-8").splitlines()) == 1 + 3
    assert len((tmp_path / "rows.csv").read_text(encoding="utf-8").splitlines()) == 1 + 2


def test_ingest_skips_a_deeply_nested_line_and_scores_the_rest(data_dir: Path, tmp_path: Path) -> None:
    import json

    news = tmp_path / "news.jsonl"
    news.write_text('{"text": "$ACME beats estimates"}\n' + "[" * 200_000 + "]" * 200_000 + "\n"
                    + '{"text": "$ZEPH halted"}\n', encoding="utf-8")
    done = run_cli(data_dir, "ingest", str(news), "--json", SIGNALDESK_SENTIMENT_MODEL="lexicon")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["scored"], summary["invalid"]) == (2, 1)
    assert summary["problems"] == [{"line": 2, "reason": "JSON nested too deeply"}]


def test_calibrate_save_refuses_a_fit_on_sixty_easy_rows(data_dir: Path, tmp_path: Path) -> None:
    import csv

    from tests.conftest import SHARED_DATA

    with open(SHARED_DATA / "tfns" / "sent_train.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    easy = ([r for r in rows if r["label"] == "1" and "beat" in r["text"].lower()][:40]
            + [r for r in rows if r["label"] == "0" and "miss" in r["text"].lower()][:20])
    labelled = tmp_path / "easy.csv"
    with open(labelled, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["text", "label"]] + [[r["text"], r["label"]] for r in easy])
    done = run_cli(data_dir, "calibrate", "--labelled", str(labelled), "--save", "-q", "--json")
    assert done.returncode == 1, done.stderr
    assert "not saved: 60 outcomes: a calibrator needs at least 300" in done.stderr
    import json

    assert json.loads(done.stdout)["saved_calibrator_id"] is None
    import sqlite3

    conn = sqlite3.connect(data_dir / DB_FILE_NAME)
    sources = [json.loads(r[0]) for r in conn.execute("SELECT sources FROM calibrators")]
    conn.close()
    assert sources in ([], [["shipped"]])  # nothing of these 60 rows was saved


def test_an_out_of_range_epoch_timestamp_is_refused_before_anything_is_stored(data_dir: Path,
                                                                             tmp_path: Path) -> None:
    bars = tmp_path / "bars.csv"
    bars.write_text("timestamp,open,high,low,close,volume\n"
                    "1700000000000,10,11,9,10.5,100\n"  # epoch milliseconds: fine
                    "99999999999999999,10,11,9,10.5,100\n", encoding="utf-8")  # year 3 million
    done = run_cli(data_dir, "prices", "import", str(bars), "--symbol", "ACME")
    assert done.returncode != 0 and "bars.csv:3: epoch timestamp out of range" in done.stderr, done.stderr
    listed = run_cli(data_dir, "prices", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert "ACME" not in listed.stdout  # nothing of the file was written
