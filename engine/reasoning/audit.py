"""The reasoning audit: every explanation, model-written or template, leaves one append-only row
with the prompt, what was retrieved, each raw answer, what callers got, latency and tokens."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class AuditRecord:
    id: int
    created_at: float
    signal_id: int | None
    mode: str
    model_id: str
    model_version: str
    status: str
    fallback_used: bool
    attempts: int
    prompt: list
    response_schema: dict
    retrieved: list
    raw_output: list
    errors: list
    parsed_output: dict
    latency_ms: float
    first_token_ms: float | None
    prompt_tokens: int
    completion_tokens: int
    checks: list  # [{name, passed, detail, blocking}] of what callers got (m0024)
    model_source: str  # what the model was: local file or endpoint host (m0024)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


_COLUMNS = ("id, created_at, signal_id, mode, model_id, model_version, status, fallback_used, attempts, "
            "prompt, response_schema, retrieved, raw_output, errors, parsed_output, latency_ms, "
            "first_token_ms, prompt_tokens, completion_tokens, checks, model_source")
_JSON = {"prompt", "response_schema", "retrieved", "raw_output", "errors", "parsed_output", "checks"}


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, default=str)


def write_audit(store: Any, *, signal_id: int | None, mode: str, model_id: str, model_version: str,
                status: str, fallback_used: bool, attempts: int, prompt: list, response_schema: dict,
                retrieved: Sequence[dict], raw_output: Sequence[str], errors: Sequence[str],
                parsed_output: dict, latency_ms: float, first_token_ms: float | None,
                prompt_tokens: int, completion_tokens: int, checks: Sequence[dict] = (), model_source: str = "",
                link: bool = True) -> int:
    """Append the audit row; with ``link`` (and a signal id) it also becomes the signal's latest
    explanation (``latest_for_signal``)."""
    now = time.time()
    # RETURNING (SQLite >= 3.35) gives the id in the same statement: the connection is shared
    # between threads, so a separate last_insert_rowid() could see another thread's insert.
    rows = store.query(
        f"INSERT INTO reasoning_audit ({_COLUMNS.removeprefix('id, ')}) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
        (now, signal_id, mode, model_id, model_version, status, int(fallback_used), attempts, _dumps(prompt),
         _dumps(response_schema), _dumps(list(retrieved)), _dumps(list(raw_output)), _dumps(list(errors)),
         _dumps(parsed_output), float(latency_ms), first_token_ms, int(prompt_tokens), int(completion_tokens),
         _dumps(list(checks)), str(model_source)))
    audit_id = int(rows[0][0])
    if signal_id is not None and link:
        store.execute(
            "INSERT INTO signal_reasoning (signal_id, audit_id, created_at, mode, signal_json, chain_json, "
            "cited_json, fallback_used) VALUES (?,?,?,?,?,?,?,?)",
            (signal_id, audit_id, now, mode, _dumps(parsed_output["signal"]), _dumps(parsed_output["chain"]),
             _dumps(parsed_output["cited"]), int(fallback_used)))
    return audit_id


def read_audit(store: Any, audit_id: int) -> AuditRecord | None:
    rows = store.query(f"SELECT {_COLUMNS} FROM reasoning_audit WHERE id = ?", (int(audit_id),))
    if not rows:
        return None
    names = [c.strip() for c in _COLUMNS.split(",")]
    values = {n: (json.loads(v) if n in _JSON else v) for n, v in zip(names, rows[0])}
    values["fallback_used"] = bool(values["fallback_used"])
    return AuditRecord(**values)


def latest_for_signal(store: Any, signal_id: int) -> dict | None:
    """The newest explanation stored with a signal: {audit_id, mode, signal, chain, cited, …}."""
    rows = store.query(
        "SELECT audit_id, created_at, mode, signal_json, chain_json, cited_json, fallback_used "
        "FROM signal_reasoning WHERE signal_id = ? ORDER BY audit_id DESC LIMIT 1", (int(signal_id),))
    if not rows:
        return None
    audit_id, at, mode, sig, chain, cited, fallback = rows[0]
    return {"audit_id": audit_id, "created_at": at, "mode": mode, "signal": json.loads(sig),
            "chain": json.loads(chain), "cited": json.loads(cited), "fallback_used": bool(fallback)}
