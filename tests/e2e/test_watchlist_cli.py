"""`signaldesk watchlist`, `alerts` and `asset` as a user runs them: separate processes, one data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from tests.conftest import REPO_ROOT


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_watchlist_then_a_burst_of_news_then_one_alert_and_the_asset_view(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "config.toml").write_text('[alerts]\nmin_confidence = 0.0\nmin_impact = "low"\n'
                                      'labels = "bullish,bearish,neutral"\n', encoding="utf-8")
    added = _run(data, "watchlist", "add", "Tesla")
    assert added.returncode == 0 and "watching TSLA (Tesla, Inc.)" in added.stdout, added.stderr
    assert _run(data, "watchlist", "add", "ACMEW", "--alias", "Acme Widgets").returncode == 0
    refused = _run(data, "watchlist", "add", "not a company or ticker!")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "watchlist:" in refused.stderr
    listed = json.loads(_run(data, "watchlist", "list", "--json").stdout)
    assert [(e["symbol"], e["aliases"], e["known"]) for e in listed] == [("ACMEW", ["Acme Widgets"], False),
                                                                        ("TSLA", [], True)]

    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    feed = tmp_path / "burst.jsonl"
    lines = [f"Tesla cuts prices again as demand slows, shares drop {n}%" for n in range(2, 9)]
    lines += ["Acme Widgets wins record order", "Fed holds rates steady"]
    feed.write_text("".join(json.dumps({"text": t, "published_at": now, "guid": f"g{i}"}) + "\n"
                            for i, t in enumerate(lines)), encoding="utf-8")
    ingested = _run(data, "ingest", str(feed), "--json")
    assert ingested.returncode == 0, ingested.stderr

    alerts = json.loads(_run(data, "alerts", "list", "--json").stdout)
    assert sorted(a["symbol"] for a in alerts) == ["ACMEW", "TSLA"]  # one each, the Tesla burst rate-limited
    assert _run(data, "alerts", "list", "--symbol", "TSLA").stdout.count("TSLA") == 1

    view = json.loads(_run(data, "asset", "$TSLA", "--json").stdout)
    assert view["symbol"] == "TSLA" and view["watched"] is True
    assert [m["headline"] for m in view["news"]] == lines[:7]
    assert view["bars"] == [] and "no prices for TSLA" in view["regime_reasons"][0]

    # Features and gauges see the company named in the headlines, asked for by name or symbol.
    features = json.loads(_run(data, "features", "Tesla", "--json").stdout)
    assert features["asset"] == "TSLA" and features["features"]["live_sources"] == 1.0

    assert _run(data, "watchlist", "remove", "tesla").returncode == 0
    assert [e["symbol"] for e in json.loads(_run(data, "watchlist", "list", "--json").stdout)] == ["ACMEW"]
