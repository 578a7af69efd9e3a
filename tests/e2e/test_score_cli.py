"""`python -m app score`: a user's round trip through files, with bad rows among good ones."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT

NEWS_VERSION = json.loads((REPO_ROOT / "resources" / "models" / "finsent-minilm-l6-news" / "manifest.json")
                          .read_text(encoding="utf-8"))["version"]

SCORE_COLUMNS = ["label", "p_bearish", "p_bullish", "p_neutral", "confidence", "model", "tickers", "event", "impact"]


def _score(tmp_path: Path, inp: Path, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "app", "--data-dir", str(tmp_path / "data"), "score",
         "--input", str(inp), "--output", str(out)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=180)


def test_csv_round_trip_with_a_bad_row(tmp_path: Path) -> None:
    inp = tmp_path / "headlines.csv"
    inp.write_text(
        "id,text,desk\n"
        "a1,Apple shares surge after record quarterly earnings beat,tech\n"
        "a2,,tech\n"  # line 3: empty text
        'a3,"XYZ plunges after guidance cut, CEO resigns",industrials\n'
        "a4,Company to hold annual shareholder meeting on May 5,misc\n",
        encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = _score(tmp_path, inp, out)
    assert result.returncode == 0, result.stderr
    assert "headlines.csv:3" in result.stderr and "empty text" in result.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["a1", "a3", "a4"]
    assert [r["desk"] for r in rows] == ["tech", "industrials", "misc"]
    assert list(rows[0].keys()) == ["id", "text", "desk", *SCORE_COLUMNS]
    assert [r["label"] for r in rows] == ["bullish", "bearish", "neutral"]
    for r in rows:
        probs = [float(r["p_bearish"]), float(r["p_bullish"]), float(r["p_neutral"])]
        assert abs(sum(probs) - 1.0) < 1e-3
        assert float(r["confidence"]) == max(probs)
        assert r["model"] == f"finsent-minilm-l6-news@{NEWS_VERSION}"  # the default: it superseded 1.0.0
    # Companies by name and by bare ticker (XYZ is Block's symbol), as the live desk links them; event classes too.
    assert [json.loads(r["tickers"]) for r in rows] == [["AAPL"], ["XYZ"], []]
    assert rows[0]["event"].startswith("earnings/") and rows[1]["event"] == "corporate/management"
    assert all(r["impact"] in ("low", "medium", "high") for r in rows)


def test_jsonl_in_jsonl_out_with_invalid_lines(tmp_path: Path) -> None:
    inp = tmp_path / "feed.jsonl"
    good = json.dumps({"id": 7, "text": "$TSLA upgraded to Buy, shares jump", "meta": {"src": "x"}})
    inp.write_bytes(
        (good + "\n" + "{not json\n" + json.dumps({"id": 9}) + "\n").encode()
        + b'{"id": 10, "text": "caf\xe9 chain sales fall"}\n')
    out = tmp_path / "scored.jsonl"
    result = _score(tmp_path, inp, out)
    assert result.returncode == 0, result.stderr
    for line in (2, 3, 4):
        assert f"feed.jsonl:{line}" in result.stderr
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1
    assert rows[0]["id"] == 7 and rows[0]["meta"] == {"src": "x"}
    assert rows[0]["label"] == "bullish"
    assert rows[0]["tickers"] == ["TSLA"] and "/" in rows[0]["event"]


def test_txt_input(tmp_path: Path) -> None:
    inp = tmp_path / "items.txt"
    inp.write_text("Stocks rally as inflation cools\n\nBank shares tumble on credit fears\n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = _score(tmp_path, inp, out)
    assert result.returncode == 0, result.stderr
    assert "items.txt:2" in result.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["line"] for r in rows] == ["1", "3"]
    assert [r["label"] for r in rows] == ["bullish", "bearish"]


def test_only_bad_rows_exit_non_zero(tmp_path: Path) -> None:
    inp = tmp_path / "bad.csv"
    inp.write_text("id,text\n1,\n2,   \n", encoding="utf-8")
    out = tmp_path / "scored.csv"
    result = _score(tmp_path, inp, out)
    assert result.returncode != 0
    assert "bad.csv:2" in result.stderr and "bad.csv:3" in result.stderr
    assert not out.exists()
