"""``signaldesk ideas propose`` as an analyst runs it after the demo replay, twice (issue 18):
one idea per asset, a second propose changes nothing, a second replay stores every headline
again and still changes nothing, and ``ideas show`` gives the ranked evidence and history."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT


def signaldesk(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    # The shipped lexicon model keeps four subprocess runs quick; the pipeline is the real one.
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SIGNALDESK_SENTIMENT_MODEL="lexicon")
    result = subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir), *args], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-2000:])
    return result


def _open_ideas(data_dir: Path) -> list[tuple]:
    listed = json.loads(signaldesk(data_dir, "ideas", "list", "--json").stdout)
    return sorted((i["idea_no"], i["revision"], i["id"], i["symbol"], i["direction"], i["size"],
                   i["snapshot_sha256"]) for i in listed)


def test_replay_twice_then_propose_changes_nothing(data_dir: Path) -> None:
    signaldesk(data_dir, "prices", "import", "--demo")
    signaldesk(data_dir, "sources", "add-replay", "--rate", "2000")
    assert "accepted 320," in signaldesk(data_dir, "sources", "run", "--seconds", "4").stdout

    first = json.loads(signaldesk(data_dir, "ideas", "propose", "--json").stdout)
    assert first["created"] >= 1 and first["updated"] == first["closed"] == 0
    created = {c["symbol"]: c for c in first["changes"]}
    assert set(created) <= {"ACME", "DUNE", "ZEPH", "VOLT", "FXEU"} and all(c["stale"] for c in created.values())
    skips = {s["symbol"]: s["reason"] for s in first["skips"]}
    assert skips["BTC.X"].startswith("no market data for BTC.X")  # every other asset says why
    ideas = _open_ideas(data_dir)
    assert len(ideas) == first["created"] and len({i[3] for i in ideas}) == len(ideas)  # one per asset

    again = signaldesk(data_dir, "ideas", "propose").stdout
    assert "ideas: 0 created, 0 updated, 0 closed" in again
    assert all(f"ideas: skipped {s}: already proposed as idea" in again for s in created)

    assert "accepted 320," in signaldesk(data_dir, "sources", "run", "--seconds", "4").stdout  # stored again
    replayed = json.loads(signaldesk(data_dir, "ideas", "propose", "--json").stdout)
    assert (replayed["created"], replayed["updated"], replayed["closed"]) == (0, 0, 0)
    assert _open_ideas(data_dir) == ideas

    revision_id = ideas[0][2]
    shown = signaldesk(data_dir, "ideas", "show", str(revision_id)).stdout
    for words in ("Evidence, ranked:", "History:", "opened", "Stale market data", "Advice for review only"):
        assert words in shown, words
    detail = json.loads(signaldesk(data_dir, "ideas", "show", str(revision_id), "--json").stdout)
    assert detail["evidence"] and detail["history"][0]["kind"] == "opened"
    weights = [e["weight"] * e["confidence"] for e in detail["evidence"]]
    assert weights == sorted(weights, reverse=True)  # ranked
