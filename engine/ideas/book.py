"""The idea book: propose trade ideas from signals, review them, keep every decision.

``IdeaBook(db)`` works on the shared ``signaldesk.db`` (a path, or the engine's Store) with
a connection of its own. Ideas are advice: nothing here places, routes or sends an order.

Proposing: a stored, directional signal whose classifier confidence reaches
``idea_min_confidence`` yields one idea per ticker in its ``entities`` that has market
data, routed by regime (:mod:`engine.ideas.routing`), sized (:mod:`engine.risk.sizing`) and
frozen as a snapshot. Market data and headlines are taken as of the signal's arrival (bars
that had closed by then, headlines received by then), so replayed news never sees the
future. The same (signal, symbol) is never proposed twice. Everything not proposed comes
back in ``skipped`` with a reason.

Confidence: wherever the idea logic reads the classifier's confidence (the threshold, the win
probability for sizing, the ranking blend) it reads the calibrated one
(``Signal.shown_confidence``) when the signal's model version has a calibrator, so a model
that says 0.9 but is right 0.7 of the time is sized as 0.7. The raw figure is kept beside it:
in the idea's ``raw_confidence`` column and in the snapshot.

Reviewing: approve; reject (note required); edit the size within the idea's limit (note
required). Approval also checks the regime leverage cap against the gross exposure of
ideas already approved. Every decision and every proposal is a row in ``idea_audit``,
which triggers make append-only.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from engine import __version__
from engine.ideas.blend import LlmOpinion, blend_confidence
from engine.ideas.model import (ALLOWED_FROM, DECISIONS, NOTE_REQUIRED, STATES, AuditEntry,
                                ProposalResult, Skipped, TradeIdea)
from engine.ideas.routing import NoRoute, Route, route
from engine.market.db import Database, DbRef
from engine.market.features import InsufficientData
from engine.market.prices import MarketData, normalise_symbol
from engine.risk.config import RiskConfig
from engine.risk.portfolio import Position, PortfolioView, portfolio_view
from engine.risk.sizing import SizingError, SizingRequest, SizingResult, size_position
from engine.risk.symbol import SymbolRisk, assess_symbol, history_bars
from engine.types import Signal

# 2: confidence.classifier is the calibrated confidence when a calibrator existed;
#    confidence.classifier_raw / value_raw / calibrator keep the raw side.
SNAPSHOT_SCHEMA = 2
NOTICE = "Trade ideas are advice for human review. Nothing was sent to a broker or executed."

_IDEA_COLUMNS = ("id, created_at, signal_id, symbol, direction, strategy, regime, confidence, "
                 "risk_level, risk_score, proposed_size, size_limit, entry, stop_loss, take_profit, "
                 "snapshot, snapshot_sha256, state, size, updated_at, raw_confidence, calibrator")
_AUDIT_COLUMNS = "id, idea_id, at, action, from_state, to_state, size_before, size_after, note, actor"
_INSERT_IDEA = (f"INSERT INTO ideas ({_IDEA_COLUMNS.removeprefix('id, ')}) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
_INSERT_AUDIT = (f"INSERT INTO idea_audit ({_AUDIT_COLUMNS.removeprefix('id, ')}) "
                 "VALUES (?,?,?,?,?,?,?,?,?)")
_SIZE_EPSILON = 1e-12  # float slack when comparing a size with its limit


class DecisionError(ValueError):
    """A review decision was refused; the message says why and nothing was changed."""


def canonical_json(data: object) -> str:
    # allow_nan=False: a NaN in a snapshot is a bug upstream; refuse it rather than store it.
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class IdeaBook:
    def __init__(self, db: DbRef, *, config: RiskConfig | None = None, tolerance: str = "medium",
                 actor: str = "analyst", calibrate: Callable[[Signal], float] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config or RiskConfig()
        self.config.base_fraction(tolerance)  # fail now on an unknown tolerance
        self.tolerance = tolerance
        self.actor = actor
        # The win probability for follow-the-news sizing: the calibrated confidence when the
        # signal carries one (P(label is right) per the model version's calibrator), else the
        # raw one; sizing caps it at max_win_probability either way.
        self._calibrate = calibrate or (lambda signal: float(signal.shown_confidence))
        self._clock = clock
        self._db = Database(db)
        self.market = MarketData(db)

    def close(self) -> None:
        self.market.close()
        self._db.close()

    def __enter__(self) -> "IdeaBook":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- proposing -----------------------------------------------------------------------
    def stored_llm_opinions(self, signal_ids: Sequence[int]) -> dict[int, LlmOpinion]:
        """The newest LLM explanation per signal, skipping template fallbacks (not the LLM's view).

        Opinions only shift the blended (display and ranking) confidence; sizes, limits and
        states never read them.
        """
        if not signal_ids:
            return {}
        marks = ",".join("?" * len(signal_ids))
        try:
            rows = self._db.query(
                "SELECT sr.signal_id, sr.signal_json, a.model_id, a.model_version FROM signal_reasoning sr "
                f"JOIN reasoning_audit a ON a.id = sr.audit_id WHERE sr.fallback_used = 0 AND sr.signal_id IN ({marks}) "
                "ORDER BY sr.audit_id", tuple(int(i) for i in signal_ids))
        except sqlite3.OperationalError:  # a database without the reasoning tables
            return {}
        opinions: dict[int, LlmOpinion] = {}
        for signal_id, raw, model_id, model_version in rows:
            try:
                j6 = json.loads(raw)
                opinions[int(signal_id)] = LlmOpinion(str(j6["sentiment"]), float(j6["confidence"]),
                                                      model_id, model_version)
            except (ValueError, KeyError, TypeError):
                continue  # a malformed row is ignored: advice is optional
        return opinions

    def propose_from_signals(self, signals: Iterable[Signal], *,
                             llm: Mapping[int, LlmOpinion] | None = None) -> ProposalResult:
        signals = list(signals)
        # Without explicit opinions, use what the slow lane already concluded about these signals.
        llm = dict(llm) if llm is not None else self.stored_llm_opinions(
            [s.id for s in signals if s.id is not None])
        skipped: list[Skipped] = []
        candidates: list[tuple[Signal, str, dict, Route, SymbolRisk, SizingResult, float, float]] = []
        assessed: dict[tuple[str, float], SymbolRisk | Exception] = {}
        exposure = self.gross_exposure()

        def news_of(symbol: str, until: float) -> list[Signal]:
            return [s for s in signals if s.received_at <= until and symbol in {e.upper() for e in s.entities}]

        for signal in signals:
            reason = self._unusable(signal)
            if reason:
                skipped.append(Skipped(signal.id, None, reason))
                continue
            for raw in signal.entities:
                try:
                    symbol = normalise_symbol(raw)
                except ValueError:
                    skipped.append(Skipped(signal.id, raw, f"{raw!r} is not a symbol"))
                    continue
                if not self.market.has_data(symbol):
                    skipped.append(Skipped(signal.id, symbol, f"no market data for {symbol}"))
                    continue
                # As of the signal's arrival: no later bars, no later headlines (replayed
                # news must not see the future).
                key = (symbol, signal.received_at)
                if key not in assessed:
                    news = news_of(symbol, signal.received_at)
                    try:
                        assessed[key] = assess_symbol(self.market, symbol, self.config, news,
                                                      as_of=signal.received_at)
                    except InsufficientData as exc:
                        assessed[key] = exc
                state = assessed[key]
                if isinstance(state, Exception):
                    skipped.append(Skipped(signal.id, symbol, str(state)))
                    continue
                try:
                    chosen = route(state.regime.name, signal.label, state.features, self.config)
                    win_p = (self._calibrate(signal) if chosen.strategy == "follow_news"
                             else self.config.fade_win_probability)
                    sizing = size_position(SizingRequest(
                        direction=chosen.direction, entry=state.features.close, atr=state.features.atr,
                        realized_vol=state.features.realized_vol, ma_gap=state.features.ma_gap,
                        regime=state.regime.name, win_probability=win_p, tolerance=self.tolerance,
                        current_exposure=exposure), self.config)
                except (NoRoute, SizingError) as exc:
                    skipped.append(Skipped(signal.id, symbol, str(exc)))
                    continue
                if sizing.fraction <= 0:
                    skipped.append(Skipped(signal.id, symbol, f"size is zero ({sizing.binding}: "
                                                              f"{_zero_reason(sizing)})"))
                    continue
                opinion = llm.get(signal.id) if signal.id is not None else None
                blended, raw_blended = self._blend(signal, opinion)
                news_ids = sorted({s.id for s in news_of(symbol, signal.received_at) if s.id is not None})
                snapshot = self._snapshot(signal, symbol, news_ids, opinion, blended, chosen, state, sizing)
                candidates.append((signal, symbol, snapshot, chosen, state, sizing, blended["value"],
                                   raw_blended))
        ideas, more_skipped = self._store_proposals(candidates)
        return ProposalResult(tuple(ideas), tuple(skipped + more_skipped))

    def _blend(self, signal: Signal, opinion: LlmOpinion | None) -> tuple[dict, float]:
        """The ranking blend from the calibrated confidence (as the snapshot records it), and
        the same blend from the raw confidence, kept for comparison."""
        llm = None if opinion is None else opinion.confidence
        agrees = opinion is None or opinion.label == signal.label
        blended = blend_confidence(signal.shown_confidence, llm, llm_agrees=agrees,
                                   llm_weight=self.config.llm_weight)
        raw = blended if signal.calibrated_confidence is None else blend_confidence(
            signal.confidence, llm, llm_agrees=agrees, llm_weight=self.config.llm_weight)
        calibrator = signal.calibrator if signal.calibrated_confidence is not None else ""
        record = {**blended.to_dict(), "classifier_raw": float(signal.confidence), "value_raw": raw.value,
                  "calibrator": calibrator}
        return record, raw.value

    def _unusable(self, signal: Signal) -> str:
        if signal.id is None:
            return "signal is not stored (no id), so an idea could not point back to it"
        if signal.label not in ("bullish", "bearish"):
            return f"{signal.label} news has no direction to trade"
        if not signal.entities:
            return "no ticker in the signal"
        confidence = signal.shown_confidence
        if not math.isfinite(confidence) or confidence < self.config.idea_min_confidence:
            raw = (f" (calibrated by {signal.calibrator}; raw {signal.confidence:.2f})"
                   if signal.calibrated_confidence is not None else "")
            return (f"confidence {confidence:.2f}{raw} is below the idea threshold "
                    f"{self.config.idea_min_confidence:.2f}")
        return ""

    def _snapshot(self, signal: Signal, symbol: str, news_ids: list[int], opinion: LlmOpinion | None,
                  blended: dict, chosen: Route, state: SymbolRisk, sizing: SizingResult) -> dict:
        age_days = (signal.received_at - state.features.as_of) / 86_400
        models = {"sentiment": f"{signal.model_id}@{signal.model_version}"}
        if opinion is not None:
            models["llm"] = f"{opinion.model_id}@{opinion.model_version}"
        snapshot = {
            "schema": SNAPSHOT_SCHEMA,
            "symbol": symbol,
            "signal_ids": sorted({signal.id, *news_ids}),
            "trigger_signal": {k: v for k, v in signal.to_dict().items() if k != "latency_ms"},
            "model_versions": models,
            "engine_version": __version__,
            "risk_config_fingerprint": self.config.fingerprint(),
            "tolerance": self.tolerance,
            "confidence": blended,
            "llm_opinion": None if opinion is None else opinion.__dict__,
            "features": state.features.to_dict(),
            "regime": state.regime.to_dict(),
            "risk": state.risk.to_dict(),
            "strategy": chosen.to_dict(),
            "sizing": sizing.to_dict(),
            "data_age_days": age_days,
        }
        snapshot["rationale"] = render_rationale(signal, symbol, chosen, state, sizing, blended,
                                                 age_days, self.config)
        return snapshot

    def _store_proposals(self, candidates: list) -> tuple[list[TradeIdea], list[Skipped]]:
        stored: list[int] = []
        skipped: list[Skipped] = []
        now = self._clock()
        with self._db.transaction() as conn:
            for signal, symbol, snapshot, chosen, state, sizing, confidence, raw_confidence in candidates:
                existing = conn.execute("SELECT id FROM ideas WHERE signal_id = ? AND symbol = ?",
                                        (signal.id, symbol)).fetchone()
                if existing:
                    skipped.append(Skipped(signal.id, symbol, f"already proposed as idea #{existing[0]}"))
                    continue
                try:
                    text = canonical_json(snapshot)
                except ValueError as exc:
                    skipped.append(Skipped(signal.id, symbol, f"snapshot not storable: {exc}"))
                    continue
                cur = conn.execute(
                    _INSERT_IDEA,
                    (now, signal.id, symbol, chosen.direction, chosen.strategy, state.regime.name,
                     confidence, state.risk.level, state.risk.score, sizing.fraction, sizing.limit,
                     sizing.entry, sizing.stop_loss, sizing.take_profit, text,
                     hashlib.sha256(text.encode()).hexdigest(), "proposed", sizing.fraction, now,
                     raw_confidence, snapshot["confidence"]["calibrator"]),
                )
                idea_id = int(cur.lastrowid)
                conn.execute(
                    _INSERT_AUDIT,
                    (idea_id, now, "propose", None, "proposed", None, sizing.fraction, "", "engine"),
                )
                stored.append(idea_id)
        return [self.get(i) for i in stored], skipped

    # --- reading -------------------------------------------------------------------------
    def get(self, idea_id: int) -> TradeIdea:
        rows = self._db.query(f"SELECT {_IDEA_COLUMNS} FROM ideas WHERE id = ?", (int(idea_id),))
        if not rows:
            raise KeyError(f"no idea #{idea_id}")
        return _row_to_idea(rows[0])

    def list(self, state: str | None = None, symbol: str | None = None) -> list[TradeIdea]:
        """Newest first."""
        clauses, params = [], []
        if state is not None:
            if state not in STATES:
                raise ValueError(f"state must be one of {', '.join(STATES)}")
            clauses.append("state = ?")
            params.append(state)
        if symbol is not None:
            clauses.append("symbol = ?")
            params.append(normalise_symbol(symbol))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.query(f"SELECT {_IDEA_COLUMNS} FROM ideas{where} ORDER BY id DESC", tuple(params))
        return [_row_to_idea(r) for r in rows]

    def audit(self, idea_id: int | None = None) -> list[AuditEntry]:
        if idea_id is None:
            rows = self._db.query(f"SELECT {_AUDIT_COLUMNS} FROM idea_audit ORDER BY id")
        else:
            rows = self._db.query(f"SELECT {_AUDIT_COLUMNS} FROM idea_audit WHERE idea_id = ? ORDER BY id",
                                  (int(idea_id),))
        return [AuditEntry(*r) for r in rows]

    def gross_exposure(self, exclude: int | None = None) -> float:
        rows = self._db.query("SELECT COALESCE(SUM(size), 0) FROM ideas WHERE state = 'approved' AND id != ?",
                              (-1 if exclude is None else int(exclude),))
        return float(rows[0][0])

    def portfolio(self) -> PortfolioView:
        approved = self.list("approved")
        positions = [Position(i.symbol, i.direction, i.size, i.id) for i in approved]
        bars = {s: self.market.bars(s, limit=history_bars(self.config)) for s in {i.symbol for i in approved}}
        return portfolio_view(positions, bars)

    # --- reviewing -----------------------------------------------------------------------
    def decide(self, idea_id: int, decision: str, note: str = "", size: float | None = None,
               actor: str | None = None) -> TradeIdea:
        decision = "edit" if decision == "edit_size" else decision
        if decision not in DECISIONS:
            raise DecisionError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
        note = (note or "").strip()
        if decision in NOTE_REQUIRED and not note:
            raise DecisionError(f"a note is required to {decision} an idea")
        if decision == "edit" and size is None:
            raise DecisionError("edit needs the new size")
        if decision != "edit" and size is not None:
            raise DecisionError("only an edit changes the size; edit first, then approve")
        now = self._clock()
        with self._db.transaction() as conn:
            row = conn.execute(f"SELECT {_IDEA_COLUMNS} FROM ideas WHERE id = ?", (int(idea_id),)).fetchone()
            if row is None:
                raise DecisionError(f"no idea #{idea_id}")
            idea = _row_to_idea(row)
            if idea.state not in ALLOWED_FROM[decision]:
                raise DecisionError(f"idea #{idea.id} is {idea.state}; it cannot be {_past(decision)}")
            new_size = idea.size if size is None else self._checked_size(idea, size)
            new_state = {"approve": "approved", "reject": "rejected", "edit": idea.state}[decision]
            if new_state == "approved":
                self._check_leverage(conn, idea, new_size)
            conn.execute("UPDATE ideas SET state = ?, size = ?, updated_at = ? WHERE id = ?",
                         (new_state, new_size, now, idea.id))
            conn.execute(
                _INSERT_AUDIT,
                (idea.id, now, "edit_size" if decision == "edit" else decision, idea.state, new_state,
                 idea.size, new_size, note, actor or self.actor),
            )
        return self.get(idea.id)

    @staticmethod
    def _checked_size(idea: TradeIdea, size: float) -> float:
        if isinstance(size, bool) or not isinstance(size, (int, float)) or not math.isfinite(float(size)):
            raise DecisionError(f"size must be a finite number, got {size!r}")
        size = float(size)
        if size <= 0:
            raise DecisionError("size must be above zero; reject the idea instead")
        if size > idea.size_limit + _SIZE_EPSILON:
            raise DecisionError(f"size {size:.2%} is above this idea's limit {idea.size_limit:.2%}")
        return min(size, idea.size_limit)

    def _check_leverage(self, conn, idea: TradeIdea, size: float) -> None:
        cap = float(idea.snapshot["sizing"]["leverage_cap"])
        other = float(conn.execute(
            "SELECT COALESCE(SUM(size), 0) FROM ideas WHERE state = 'approved' AND id != ?", (idea.id,)
        ).fetchone()[0])
        if other + size > cap + _SIZE_EPSILON:
            raise DecisionError(
                f"approving {size:.2%} would take gross exposure to {other + size:.2%}, above the "
                f"{idea.regime} leverage cap {cap:.2f}x; edit the size to at most {max(0.0, cap - other):.2%}")

    # --- export --------------------------------------------------------------------------
    def export(self, path: str | Path, state: str | None = None) -> int:
        """Write ideas (and their audit trail in JSON) to ``.csv`` or ``.json``; returns the count."""
        path = Path(path)
        fmt = path.suffix.lower()
        if fmt not in (".csv", ".json"):
            raise ValueError(f"export to .csv or .json, not {path.suffix or 'no extension'}")
        ideas = self.list(state)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        try:
            # Side file then rename: a crash never leaves a half-written export.
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                if fmt == ".json":
                    trail: dict[int, list[dict]] = {}
                    for entry in self.audit():
                        trail.setdefault(entry.idea_id, []).append(entry.to_dict())
                    payload = {"generated_at": _iso(self._clock()), "notice": NOTICE,
                               "ideas": [{**i.to_dict(), "audit": trail.get(i.id, [])} for i in ideas]}
                    json.dump(payload, fh, indent=2, ensure_ascii=False, allow_nan=False)
                    fh.write("\n")
                else:
                    _write_csv(fh, ideas, self.audit())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return len(ideas)


EXPORT_COLUMNS = ("id", "created_at", "symbol", "direction", "strategy", "regime", "state", "size",
                  "proposed_size", "size_limit", "confidence", "raw_confidence", "calibrator", "risk_level",
                  "risk_score", "entry", "stop_loss", "take_profit", "signal_ids", "model_versions",
                  "last_decision", "last_note", "rationale", "snapshot_sha256")


def _write_csv(fh, ideas: Sequence[TradeIdea], audit: Sequence[AuditEntry]) -> None:
    last: dict[int, AuditEntry] = {}
    for entry in audit:
        last[entry.idea_id] = entry
    writer = csv.DictWriter(fh, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for idea in ideas:
        snap = idea.snapshot
        decision = last.get(idea.id)
        writer.writerow({
            **{k: getattr(idea, k) for k in EXPORT_COLUMNS if hasattr(idea, k) and k != "rationale"},
            "created_at": _iso(idea.created_at),
            "signal_ids": " ".join(str(i) for i in snap.get("signal_ids", [])),
            "model_versions": " ".join(f"{k}={v}" for k, v in sorted(snap.get("model_versions", {}).items())),
            "last_decision": decision.action if decision else "",
            "last_note": decision.note if decision else "",
            "rationale": idea.rationale,
        })


def _row_to_idea(row: tuple) -> TradeIdea:
    return TradeIdea(*row)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def _past(decision: str) -> str:
    return {"approve": "approved", "reject": "rejected", "edit": "edited"}[decision]


def _zero_reason(sizing: SizingResult) -> str:
    if sizing.binding == "Kelly cap":
        return "no edge after fees at this win probability and payoff"
    if sizing.binding == "regime leverage cap":
        return f"no exposure headroom under the {sizing.leverage_cap:.2f}x leverage cap"
    return "the size rounds to zero"


def render_rationale(signal: Signal, symbol: str, chosen: Route, state: SymbolRisk, sizing: SizingResult,
                     blended: dict, age_days: float, cfg: RiskConfig) -> str:
    """The idea's explanation, from a fixed template: every number comes from the snapshot."""
    f, risk = state.features, state.risk
    headline = signal.text if len(signal.text) <= 160 else signal.text[:157] + "..."
    if signal.calibrated_confidence is not None:
        confidence = (f"confidence {signal.calibrated_confidence:.0%} calibrated (raw {signal.confidence:.0%}, "
                      f"{signal.calibrator})")
    else:
        confidence = f"confidence {signal.confidence:.0%} (uncalibrated)"
    lines = [
        f"{chosen.title} ({state.regime.name.replace('_', ' ')}): {chosen.direction} {symbol}.",
        f"News: {signal.label}, {confidence} from {signal.model_id} "
        f"{signal.model_version}: \"{headline}\"",
        f"Why: {chosen.reason}.",
        f"Risk {risk.level} ({risk.score:.2f}). " + " ".join(risk.factors[:2]),
        f"Size {sizing.fraction:.2%} of equity, set by the {sizing.binding}; limit {sizing.limit:.2%}. "
        f"Entry {sizing.entry:.6g}, stop {sizing.stop_loss:.6g} ({sizing.stop_pct:.1%} away, "
        f"{cfg.stop_atr:g} ATR), target {sizing.take_profit:.6g} ({sizing.take_profit_pct:.1%}, "
        f"{cfg.take_profit_atr:g} ATR); round-trip fees {sizing.fees_round_trip:.2%}.",
    ]
    if blended.get("llm") is not None:
        lines.append(f"Blended confidence {blended['value']:.0%} ({blended['note']}); the LLM does not "
                     "affect size or limits.")
    if age_days > cfg.stale_after_days:
        last = datetime.fromtimestamp(f.as_of, tz=timezone.utc).date().isoformat()
        lines.append(f"Caution: market data is {age_days:.0f} days old (last bar {last}).")
    lines.append("Advice for review only; nothing is executed.")
    return "\n".join(lines)
