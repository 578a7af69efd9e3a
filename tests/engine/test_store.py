import sqlite3
import time
from pathlib import Path

from engine.migrations import all_migrations
from engine.store import Store
from engine.types import Signal


def _signal(text: str, label: str = "bullish") -> Signal:
    return Signal(id=None, received_at=time.time(), source="test", text=text, entities=("AAPL",),
                  label=label, probs=(0.1, 0.7, 0.2), confidence=0.7, compound=0.6,
                  model_id="m", model_version="1", latency_ms=1.5, truncated=False)


def test_store_uses_wal_and_latest_migration(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    assert store.schema_version == all_migrations()[-1][0]
    mode = sqlite3.connect(tmp_path / "db.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


def test_signals_survive_reopen_with_all_fields(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    store = Store(path)
    saved = store.add_signals([_signal("first"), _signal("second", "bearish")])
    assert [s.id for s in saved] == [1, 2]
    store.close()

    reopened = Store(path)
    assert reopened.count_signals() == 2
    rows = reopened.recent_signals(10)
    assert [r.text for r in rows] == ["first", "second"]  # oldest first
    assert rows[0] == saved[0]
    assert rows[1].label == "bearish" and rows[1].entities == ("AAPL",)
    assert rows[1].probabilities == {"bearish": 0.1, "bullish": 0.7, "neutral": 0.2}
    reopened.close()


def test_reopen_does_not_rerun_migrations(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    Store(path).close()
    store = Store(path)  # would fail with "table signals already exists" if re-applied
    assert store.count_signals() == 0
    store.close()


def test_recent_is_limited_and_iteration_sees_all(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    store.add_signals([_signal(f"item {i}") for i in range(25)])
    assert [s.text for s in store.recent_signals(3)] == ["item 22", "item 23", "item 24"]
    assert sum(1 for _ in store.iter_signals(batch=7)) == 25
    store.close()


def test_a_migration_that_lands_late_is_still_applied(tmp_path: Path, monkeypatch) -> None:
    """A database at a higher version must still get a lower-numbered migration added later."""
    import engine.store as store_module

    full = all_migrations()
    late = full[1]  # pretend migration 2 was not in the tree when the database was created
    monkeypatch.setattr(store_module, "all_migrations", lambda: [m for m in full if m is not late])
    store = Store(tmp_path / "db.sqlite")
    assert late[0] not in store.applied_migrations()
    store.close()
    monkeypatch.setattr(store_module, "all_migrations", lambda: full)
    store = Store(tmp_path / "db.sqlite")
    assert store.applied_migrations() == [n for n, _, _ in full]
    store.close()


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite")
    try:
        with store.transaction() as conn:
            conn.execute("INSERT INTO signals (received_at, source, text, entities, label, probabilities, "
                         "confidence, compound, model_id, model_version, latency_ms) "
                         "VALUES (0, 's', 't', '[]', 'neutral', '{}', 0.5, 0, 'm', '1', 1)")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert store.count_signals() == 0
    saved = store.add_signals([_signal("kept")])
    assert store.get_signal(saved[0].id) == saved[0]
    assert store.get_signal(999) is None
    store.close()
