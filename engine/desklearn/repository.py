"""Persistence of desk versions and their audit (tables from migration m0026), on the Store's connection."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from engine.store import Store


@dataclass(frozen=True)
class DeskVersion:
    id: str
    number: int
    version: str
    base_model_id: str
    base_model_version: str
    path: str
    manifest: dict[str, Any]
    created_at: float
    created_by: str
    labels: int
    evaluation: dict[str, Any]
    offered: bool


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: float
    who: str
    action: str  # trained | evaluated | promoted | rolled_back
    model_id: str
    from_model: tuple[str, str] | None  # (id, version) active before
    to_model: tuple[str, str] | None  # (id, version) active after
    figures: dict[str, Any] = field(default_factory=dict)


_COLS = ("id, number, version, base_model_id, base_model_version, path, manifest, created_at, created_by, labels, "
         "evaluation, offered")
_AUDIT_COLS = ("id, at, who, action, model_id, from_model_id, from_model_version, to_model_id, to_model_version, "
               "figures")


def _version(r: tuple) -> DeskVersion:
    return DeskVersion(r[0], int(r[1]), r[2], r[3], r[4], r[5], json.loads(r[6]), float(r[7]), r[8], int(r[9]),
                       json.loads(r[10]), bool(r[11]))


def _audit(r: tuple) -> AuditEntry:
    return AuditEntry(int(r[0]), float(r[1]), r[2], r[3], r[4], (r[5], r[6]) if r[5] else None,
                      (r[7], r[8]) if r[7] else None, json.loads(r[9]))


class DeskRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def versions(self) -> list[DeskVersion]:
        return [_version(r) for r in self.store.query(f"SELECT {_COLS} FROM desk_models ORDER BY number")]

    def get(self, model_id: str) -> DeskVersion | None:
        rows = self.store.query(f"SELECT {_COLS} FROM desk_models WHERE id = ?", (model_id,))
        return _version(rows[0]) if rows else None

    def last_number(self) -> int:
        return int(self.store.query("SELECT COALESCE(MAX(number), 0) FROM desk_models")[0][0])

    def add(self, version: DeskVersion, audit_figures: dict[str, Any]) -> None:
        """The version and its 'trained' audit entry, in one transaction."""
        with self.store.transaction() as conn:
            conn.execute(
                f"INSERT INTO desk_models ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (version.id, version.number, version.version, version.base_model_id, version.base_model_version,
                 version.path, json.dumps(version.manifest), version.created_at, version.created_by, version.labels,
                 json.dumps(version.evaluation), int(version.offered)))
            self._insert_audit(conn, version.created_by, "trained", version.id, None, None, audit_figures,
                               version.created_at)

    def set_evaluation(self, model_id: str, evaluation: dict[str, Any], offered: bool, who: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE desk_models SET evaluation = ?, offered = ? WHERE id = ?",
                         (json.dumps(evaluation), int(offered), model_id))
            self._insert_audit(conn, who, "evaluated", model_id, None, None, evaluation)

    def record(self, who: str, action: str, model_id: str, from_model: tuple[str, str] | None,
               to_model: tuple[str, str] | None, figures: dict[str, Any]) -> None:
        with self.store.transaction() as conn:
            self._insert_audit(conn, who, action, model_id, from_model, to_model, figures)

    @staticmethod
    def _insert_audit(conn, who: str, action: str, model_id: str, from_model, to_model, figures,
                      at: float | None = None) -> None:
        conn.execute(
            f"INSERT INTO desk_model_audit ({_AUDIT_COLS.split(', ', 1)[1]}) VALUES (?,?,?,?,?,?,?,?,?)",
            (time.time() if at is None else at, who, action, model_id,
             from_model[0] if from_model else None, from_model[1] if from_model else None,
             to_model[0] if to_model else None, to_model[1] if to_model else None, json.dumps(figures)))

    def audit(self, model_id: str | None = None) -> list[AuditEntry]:
        if model_id is None:
            rows = self.store.query(f"SELECT {_AUDIT_COLS} FROM desk_model_audit ORDER BY id")
        else:
            rows = self.store.query(f"SELECT {_AUDIT_COLS} FROM desk_model_audit WHERE model_id = ? ORDER BY id",
                                    (model_id,))
        return [_audit(r) for r in rows]
