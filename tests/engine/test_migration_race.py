"""Several processes opening one data dir at the same moment (issue 22 item 2).

Five real processes (spawned once, so each trial costs a database open and not an interpreter
start) meet at a barrier and open the same database together: three through ``Store`` (the
engine, a worker, a CLI), two through ``engine.market.db.Database`` (the idea book and prices
beside an open desk). 20 trials on a fresh folder and 20 on a database one migration behind;
every open must succeed and the ledger must list each migration exactly once.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import traceback
from pathlib import Path

import pytest

from engine.migrations import all_migrations

PROCESSES = 5
TRIALS = 20


def _opener(index: int, barrier, jobs, results) -> None:
    from engine.market.db import Database
    from engine.store import Store

    while True:
        path = jobs.get()
        if path is None:
            return
        barrier.wait(30)
        try:
            if index < 3:
                Store(Path(path)).close()
            else:
                Database(Path(path)).close()
            results.put((index, path, ""))
        except BaseException:  # the figure under test: any failure at all, with its text
            results.put((index, path, traceback.format_exc(limit=3)))


def _one_behind(path: Path) -> None:
    """A database with every migration but the newest applied (an upgraded install's first start)."""
    import engine.store as store_module

    migrations = all_migrations()
    original = store_module.all_migrations
    store_module.all_migrations = lambda: migrations[:-1]
    try:
        store_module.Store(path).close()
    finally:
        store_module.all_migrations = original


@pytest.mark.slow
def test_five_processes_open_fresh_and_outdated_databases_at_once(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    jobs = [context.Queue() for _ in range(PROCESSES)]
    results = context.Queue()
    procs = [context.Process(target=_opener, args=(i, barrier, jobs[i], results), daemon=True)
             for i in range(PROCESSES)]
    for p in procs:
        p.start()
    failures: list[str] = []
    paths: list[Path] = []
    try:
        for scenario in ("fresh", "one_behind"):
            for trial in range(TRIALS):
                folder = tmp_path / f"{scenario}-{trial}"
                folder.mkdir()
                path = folder / "signaldesk.db"
                if scenario == "one_behind":
                    _one_behind(path)
                paths.append(path)
                for q in jobs:
                    q.put(str(path))
                for _ in range(PROCESSES):
                    index, _path, error = results.get(timeout=120)
                    if error:
                        failures.append(f"{scenario} trial {trial}, process {index}: {error}")
    finally:
        for q in jobs:
            q.put(None)
        for p in procs:
            p.join(30)
    assert failures == [], f"{len(failures)} of {2 * TRIALS * PROCESSES} opens failed:\n" + "\n".join(failures[:5])
    expected = [n for n, _, _ in all_migrations()]
    for path in paths:
        conn = sqlite3.connect(path)
        ledger = [r[0] for r in conn.execute("SELECT number FROM schema_migrations ORDER BY number")]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(signals)")]
        conn.close()
        assert ledger == expected, path
        assert columns.count("search_text") == 1
