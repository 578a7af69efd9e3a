"""Named values in SQLite (table ``redis_state``, migration 0011): origin, cursors."""

from __future__ import annotations

import time
import uuid
from typing import Any

from engine.redisbus.config import RedisConfig, redact_url

ORIGIN = "origin"


def get_value(store: Any, name: str) -> str | None:
    rows = store.query("SELECT value FROM redis_state WHERE name = ?", (name,))
    return rows[0][0] if rows else None


def set_statement(name: str, value: str) -> tuple[str, tuple]:
    """An upsert, for callers that commit it together with their own writes."""
    return ("INSERT INTO redis_state (name, value, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (name, value, time.time()))


def set_value(store: Any, name: str, value: str) -> None:
    sql, params = set_statement(name, value)
    store.execute(sql, params)


def set_default(store: Any, name: str, value: str) -> str:
    """Store ``value`` unless the name already has one; return whichever is kept (race-free)."""
    store.execute("INSERT INTO redis_state (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING",
                  (name, value, time.time()))
    return get_value(store, name) or value


def origin(store: Any) -> str:
    """This desk's id in Redis (``origins`` hash, signal uids): random once, then kept in its database."""
    return set_default(store, ORIGIN, uuid.uuid4().hex[:16])


def target(config: RedisConfig) -> str:
    """Which Redis (and key space) a cursor belongs to: pointing the desk elsewhere starts a new one."""
    return f"{redact_url(config.url)}#{config.key_prefix}"
