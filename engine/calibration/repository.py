"""Persistence of outcomes and fitted calibrators (tables from migration m0004).

Uses the Store's own connection and lock so the "one writer" rule holds: there is still a
single SQLite connection per database in the process.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from engine.calibration.calibrators import Calibrator, calibrator_from_dict
from engine.calibration.outcomes import Outcome
from engine.store import Store
from engine.types import Signal
from engine.users import current_user


@dataclass(frozen=True)
class StoredCalibrator:
    id: int
    model_id: str
    model_version: str
    method: str
    scheme: str
    params: dict[str, Any]
    fitted_at: float
    n: int
    metrics: dict[str, Any] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def load(self) -> Calibrator:
        return calibrator_from_dict(self.params)

    @property
    def label(self) -> str:
        """Short name for a status line or table cell, e.g. ``isotonic/top_label #3``."""
        return f"{self.method}/{self.scheme} #{self.id}"


_OUTCOME_INSERT = ("signal_id, text, label, correct, source, created_at, model_id, model_version, "
                   "probabilities, origin, detail")
_OUTCOME_COLS = "id, " + _OUTCOME_INSERT
_CAL_COLS = "id, model_id, model_version, method, scheme, params, fitted_at, n, metrics, sources"


class CalibrationRepository:
    def __init__(self, store: Store) -> None:
        self.store = store

    def _tx(self):
        return self.store.transaction()  # the Store's single writer connection

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return self.store.query(sql, tuple(args))

    # --- outcomes ------------------------------------------------------------------------
    @staticmethod
    def _outcome_row(o: Outcome) -> tuple:
        return (o.signal_id, o.text, o.label, int(bool(o.correct)), o.source, o.created_at, o.model_id,
                o.model_version, json.dumps(list(o.probs)), o.origin, json.dumps(dict(o.detail), default=float))

    def add_outcomes(self, outcomes: Sequence[Outcome]) -> list[int]:
        """Insert in one transaction. An analyst verdict replaces that signal's earlier one, and an
        analyst label on a bare text (an imported file) the earlier label on the same text."""
        ids = []
        with self._tx() as conn:
            for o in outcomes:
                if o.source == "analyst" and o.signal_id is not None:
                    conn.execute("DELETE FROM outcomes WHERE source = 'analyst' AND signal_id = ?", (o.signal_id,))
                elif o.source == "analyst":
                    conn.execute("DELETE FROM outcomes WHERE source = 'analyst' AND signal_id IS NULL AND text = ?",
                                 (o.text,))
                cur = conn.execute(
                    f"INSERT INTO outcomes ({_OUTCOME_INSERT}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    self._outcome_row(o))
                ids.append(int(cur.lastrowid))
        return ids

    def replace_origin(self, source: str, origin: str, model_id: str, model_version: str,
                       outcomes: Sequence[Outcome]) -> list[int]:
        """Re-evaluating the same file must not count its rows twice: drop the old ones first."""
        ids = []
        with self._tx() as conn:
            conn.execute("DELETE FROM outcomes WHERE source = ? AND origin = ? AND model_id = ? AND model_version = ?",
                         (source, origin, model_id, model_version))
            for o in outcomes:
                cur = conn.execute(
                    f"INSERT INTO outcomes ({_OUTCOME_INSERT}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    self._outcome_row(o))
                ids.append(int(cur.lastrowid))
        return ids

    @staticmethod
    def _outcome(r: tuple) -> Outcome:
        return Outcome(source=r[5], model_id=r[7], model_version=r[8],
                       probs=tuple(float(x) for x in json.loads(r[9])),  # type: ignore[arg-type]
                       correct=bool(r[4]), label=r[3], signal_id=r[1], text=r[2], origin=r[10],
                       detail=json.loads(r[11]), created_at=r[6], id=r[0])

    def _where(self, model_id: str, model_version: str, sources: Sequence[str] | None) -> tuple[str, list]:
        sql, args = "model_id = ? AND model_version = ?", [model_id, model_version]
        if sources:
            sql += f" AND source IN ({','.join('?' * len(sources))})"
            args += list(sources)
        return sql, args

    def outcomes(self, model_id: str, model_version: str, sources: Sequence[str] | None = None) -> list[Outcome]:
        where, args = self._where(model_id, model_version, sources)
        rows = self._query(f"SELECT {_OUTCOME_COLS} FROM outcomes WHERE {where} ORDER BY id", args)
        return [self._outcome(r) for r in rows]

    def count_outcomes(self, model_id: str, model_version: str, sources: Sequence[str] | None = None) -> int:
        where, args = self._where(model_id, model_version, sources)
        return int(self._query(f"SELECT COUNT(*) FROM outcomes WHERE {where}", args)[0][0])

    def outcome_counts(self) -> dict[tuple[str, str, str], int]:
        """(model_id, model_version, source) -> count, for a panel's model/source pickers."""
        rows = self._query("SELECT model_id, model_version, source, COUNT(*) FROM outcomes "
                           "GROUP BY model_id, model_version, source")
        return {(r[0], r[1], r[2]): int(r[3]) for r in rows}

    def analyst_text_labels(self, texts: Sequence[str]) -> int:
        """How many of ``texts`` already carry an analyst label of their own (no stored signal)."""
        found = 0
        for text in texts:
            found += int(self._query("SELECT COUNT(*) FROM outcomes WHERE source = 'analyst' AND signal_id IS NULL "
                                     "AND text = ?", (text,))[0][0])
        return found

    def analyst_verdict(self, signal_id: int) -> Outcome | None:
        rows = self._query(f"SELECT {_OUTCOME_COLS} FROM outcomes WHERE source = 'analyst' AND signal_id = ?",
                           (signal_id,))
        if not rows:
            return None
        return self._outcome(rows[0])

    def signal(self, signal_id: int) -> Signal | None:
        return self.store.get_signal(signal_id)

    # --- calibrators ---------------------------------------------------------------------
    def save_calibrator(self, model_id: str, model_version: str, calibrator: Calibrator, n: int,
                        metrics: dict[str, Any], sources: Sequence[str] = (),
                        fitted_at: float | None = None) -> StoredCalibrator:
        params = calibrator.to_dict()
        at = time.time() if fitted_at is None else fitted_at
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO calibrators (model_id, model_version, method, scheme, params, fitted_at, n, metrics, "
                "sources) VALUES (?,?,?,?,?,?,?,?,?)",
                (model_id, model_version, calibrator.method, calibrator.scheme, json.dumps(params), at, int(n),
                 json.dumps(metrics), json.dumps(list(sources))))
            new_id = int(cur.lastrowid)
        return StoredCalibrator(new_id, model_id, model_version, calibrator.method, calibrator.scheme, params, at,
                                int(n), metrics, tuple(sources))

    @staticmethod
    def _cal(r: tuple) -> StoredCalibrator:
        return StoredCalibrator(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], json.loads(r[8]),
                                tuple(json.loads(r[9])))

    # --- audit -------------------------------------------------------------------------
    def audit(self, model_id: str, model_version: str, action: str, method: str, scheme: str,
              calibrator_id: int | None, active_before: StoredCalibrator | None, figures: dict[str, Any],
              who: str = "") -> None:
        """One append-only row: a refit accepted, refused, or confirmed over a refusal by ``who``."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO calibration_audit (at, who, action, model_id, model_version, method, scheme, "
                "calibrator_id, active_before, figures) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (time.time(), who or current_user(), action, model_id, model_version, method, scheme, calibrator_id,
                 active_before.label if active_before else "", json.dumps(figures, default=float)))

    def audit_entries(self, model_id: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT id, at, who, action, model_id, model_version, method, scheme, calibrator_id, active_before, "
               "figures FROM calibration_audit")
        rows = self._query(sql + (" WHERE model_id = ?" if model_id else "") + " ORDER BY id",
                           (model_id,) if model_id else ())
        keys = ("id", "at", "who", "action", "model_id", "model_version", "method", "scheme", "calibrator_id",
                "active_before", "figures")
        return [{**dict(zip(keys, r)), "figures": json.loads(r[10])} for r in rows]

    def active_calibrator(self, model_id: str, model_version: str) -> StoredCalibrator | None:
        """The newest calibrator for exactly this model version (another version's never applies)."""
        rows = self._query(f"SELECT {_CAL_COLS} FROM calibrators WHERE model_id = ? AND model_version = ? "
                           "ORDER BY id DESC LIMIT 1", (model_id, model_version))
        return self._cal(rows[0]) if rows else None

    def calibrators(self, model_id: str | None = None, model_version: str | None = None) -> list[StoredCalibrator]:
        sql, args = f"SELECT {_CAL_COLS} FROM calibrators", []
        if model_id is not None:
            sql += " WHERE model_id = ?"
            args.append(model_id)
            if model_version is not None:
                sql += " AND model_version = ?"
                args.append(model_version)
        return [self._cal(r) for r in self._query(sql + " ORDER BY id", args)]
