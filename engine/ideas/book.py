"""The idea book: one idea per asset and horizon from the evidence on it, reviewed by a person.

``IdeaBook(db)`` works on the shared ``signaldesk.db`` (a path, or the engine's Store) with a
connection of its own. Ideas are advice: nothing here places, routes or sends an order.

Proposing (``propose``, and ``propose_from_signals`` for the assets a batch names): for each
asset, the stored headlines naming it in the last ``max_evidence_age_hours`` are checked,
deduplicated, decayed and ranked (:mod:`engine.ideas.evidence`); with the asset's regime and
risk as of now (bars that had closed by then) they give a sized candidate or the reason there
is none (:mod:`engine.ideas.view`). Then, in one write transaction per asset:

- no open idea: a candidate opens one (revision 1); otherwise the asset is skipped with why;
- an open idea and a candidate in its direction: when what the decision depends on changed
  (new or expired headlines, a new bar, other settings) a new immutable revision records what
  changed and why; when nothing did, nothing is written (proposing again is idempotent);
- an open idea and a candidate the other way: the idea is closed as reversed and the opposite
  one opened, linked to it (``flipped_from``); the database refuses a long and a short open;
- an open idea and no candidate: it is closed with the reason (faded, expired, no strategy).

Confidence: the win probability of a follow-the-news idea is the weighted mean calibrated
confidence of the headlines behind it (``Signal.shown_confidence``: calibrated when the
signal's model version has a calibrator), so a model that says 0.9 but is right 0.7 of the
time is sized as 0.7. The raw figure is kept beside it. An LLM's opinion only moves the
blended ranking confidence; sizes, limits and states never read it.

Reviewing: approve or edit the newest revision of an open idea; reject any revision not yet
rejected (a note is required to reject or edit). Approval checks the regime leverage cap
against the exposure of what else is approved. Every proposal and decision is a row in
``idea_audit``; every opening, revision and closing a row in ``idea_events``; triggers make
both append-only and revisions immutable.
"""

from __future__ import annotations

import collections
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

from engine.calibration.service import CalibrationService
import engine.ideas.records as records
from engine.ideas.blend import LlmOpinion
from engine.ideas.evidence import AssetEvidence, Headline, gather
from engine.ideas.model import (ALLOWED_FROM, DECISIONS, NOTE_REQUIRED, STATES, AssetIdea, AuditEntry,
                                IdeaChange, IdeaEvent, ProposalResult, Skipped, TradeIdea)
from engine.ideas.revision import blend, build_snapshot, canonical_json, changes, evidence_key
from engine.ideas.routing import regime_words
from engine.ideas.view import Candidate, NoIdea, evaluate, horizon_of
from engine.market.db import Database, DbRef
from engine.market.features import InsufficientData
from engine.market.prices import MarketData, normalise_symbol
from engine.news.config import NewsConfig
from engine.news.events import classify_by_rules
from engine.risk.config import RiskConfig
from engine.risk.portfolio import Position, PortfolioView, portfolio_view
from engine.risk.symbol import UnknownSymbol, assess_symbol, history_bars
from engine.store import Store
from engine.types import Signal

NOTICE = "Trade ideas are advice for human review. Nothing was sent to a broker or executed."
_SIZE_EPSILON = 1e-12  # float slack when comparing a size with its limit
LIST_STATUSES = ("open", "closed", "legacy", "all")
CATEGORY_CACHE = 100_000  # pasted headlines whose event class is remembered

__all__ = ["DecisionError", "IdeaBook", "NOTICE", "canonical_json"]


class DecisionError(ValueError):
    """A review decision was refused; the message says why and nothing was changed."""


class IdeaBook:
    def __init__(self, db: DbRef, *, config: RiskConfig | None = None, tolerance: str = "medium",
                 actor: str = "analyst", attach: Callable[[Sequence[Signal]], list[Signal]] | None = None,
                 news: NewsConfig | None = None, clock: Callable[[], float] = time.time) -> None:
        """``attach`` gives stored signals their model version's calibrated view (the engine's
        ``with_calibration``); by default a CalibrationService on this database does it."""
        self.config = config or RiskConfig()
        self.config.base_fraction(tolerance)  # fail now on an unknown tolerance
        self.tolerance = tolerance
        self.actor = actor
        self.news = news or NewsConfig()
        self._clock = clock
        self._own_store = None if isinstance(db, Store) else Store(Path(db))
        store = db if isinstance(db, Store) else self._own_store
        self._db = Database(store)
        self.market = MarketData(store)
        self._attach = attach or CalibrationService(store).attach
        # Event class by signal id for pasted headlines (the rules cost ~0.3 ms each; each pass
        # would otherwise classify the whole window again). Bounded: oldest forgotten first.
        self._categories: collections.OrderedDict[int, str] = collections.OrderedDict()

    def close(self) -> None:
        self.market.close()
        self._db.close()
        if self._own_store is not None:
            self._own_store.close()

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
        """Propose for every asset the signals name, from all the evidence stored on each; the
        signals given are used as given (e.g. with their calibrated view attached)."""
        given: dict[int, Signal] = {}
        unstored: list[Skipped] = []
        symbols: set[str] = set()
        for signal in signals:
            if signal.id is None:
                unstored.append(Skipped(None, None, "signal is not stored (no id), so an idea could not point "
                                                    "back to it"))
                continue
            given[signal.id] = signal
            symbols.update(str(e) for e in signal.entities)
        result = self.propose(symbols, llm=llm, given=given)
        return ProposalResult(result.ideas, tuple(unstored) + result.skipped, result.changes, result.superseded)

    def propose(self, symbols: Iterable[str] | None = None, *, llm: Mapping[int, LlmOpinion] | None = None,
                given: Mapping[int, Signal] | None = None) -> ProposalResult:
        """Propose for ``symbols`` (default: every asset with headlines in the evidence window or
        an open idea). ``llm``: opinions by signal id, on top of the stored explanations."""
        now = self._clock()
        since = now - self.config.max_evidence_age_hours * 3600.0
        if symbols is None:
            symbols = set(records.symbols_with_news(self._db.query, since, now)) | set(
                records.open_symbols(self._db.query))
        out = _Outcomes()
        for raw in sorted(set(symbols)):
            try:
                symbol = normalise_symbol(raw.lstrip("$"))
            except ValueError:
                out.skipped.append(Skipped(None, raw[:40], f"{raw[:40]!r} is not a symbol"))
                continue
            self._propose_asset(symbol, now, since, given or {}, llm or {}, out)
        ideas = tuple(c.revision for c in out.changes if c.revision is not None)
        return ProposalResult(ideas, tuple(out.skipped), tuple(out.changes), tuple(out.superseded))

    def evidence(self, symbol: str, given: Mapping[int, Signal] | None = None) -> AssetEvidence:
        """The evidence on ``symbol`` now (what ``propose`` would count), for the CLI and the desk."""
        now = self._clock()
        headlines, _unreadable = self._headlines(normalise_symbol(symbol), now - self.config.max_evidence_age_hours
                                                 * 3600.0, now, given or {})
        return gather(normalise_symbol(symbol), headlines, now, self.config, self.news)

    def _category(self, signal: Signal) -> str:
        category = self._categories.get(signal.id) if signal.id is not None else None
        if category is None:
            category = classify_by_rules(signal.text).category
            if signal.id is not None:
                self._categories[signal.id] = category
                if len(self._categories) > CATEGORY_CACHE:
                    self._categories.popitem(last=False)
        return category

    def _headlines(self, symbol: str, since: float, now: float,
                   given: Mapping[int, Signal]) -> tuple[list[Headline], list[tuple]]:
        found, unreadable = records.headlines(self._db.query, symbol, since, now, self._category)
        stored = [h for h in found if h.signal.id not in given]
        calibrated = iter(self._attach([h.signal for h in stored]))
        return [Headline(given[h.signal.id], h.time, h.category, h.source_kind) if h.signal.id in given
                else Headline(next(calibrated), h.time, h.category, h.source_kind) for h in found], unreadable

    def _propose_asset(self, symbol: str, now: float, since: float, given: Mapping[int, Signal],
                       llm: Mapping[int, LlmOpinion], out: "_Outcomes") -> None:
        if not self.market.has_data(symbol) and not records.is_open(self._db.query, symbol):
            # Checked first: most assets in a news flow have no prices, and reading their evidence costs.
            out.skipped.append(Skipped(None, symbol, f"no market data for {symbol}"))
            return
        headlines, unreadable = self._headlines(symbol, since, now, given)
        evidence = gather(symbol, headlines, now, self.config, self.news)
        for signal_id, problem in (*unreadable, *evidence.invalid):
            out.skipped.append(Skipped(signal_id, symbol, f"invalid stored signal: {problem}"))
        if not evidence.items and not records.is_open(self._db.query, symbol):
            out.skipped.append(Skipped(None, symbol, f"no usable headline on {symbol} in the last "
                                                     f"{self.config.max_evidence_age_hours:g} h"))
            return
        try:
            state = assess_symbol(self.market, symbol, self.config, evidence.representatives, as_of=now)
        except (UnknownSymbol, InsufficientData) as exc:
            out.skipped.append(Skipped(None, symbol, str(exc).split(";")[0]))
            return
        opinions = {**self.stored_llm_opinions(evidence.story_ids()), **llm}
        with self._db.transaction() as conn:
            current = records.open_idea(conn, symbol)
            horizon = horizon_of(state.features.periods_per_year)
            if current is not None and current.horizon != horizon:
                self._close(conn, current, now, f"its market data now has {horizon} bars, not {current.horizon}",
                            evidence, out)
                current = None
            exposure = sum(r[3] for r in records.exposure(lambda sql, p: conn.execute(sql, p).fetchall(),
                                                          exclude_idea=current.id if current else None))
            view = evaluate(evidence, state, self.config, tolerance=self.tolerance, exposure=exposure,
                            keeping=current.direction if current else None, tick=self.config.tick(symbol), as_of=now)
            if current is None:
                if isinstance(view, NoIdea):
                    out.skipped.append(Skipped(None, symbol, view.reason))
                else:
                    self._open(conn, view, now, opinions, None, out)
            elif isinstance(view, NoIdea):
                self._close(conn, current, now, f"the evidence no longer supports it: {view.reason}", evidence, out)
            elif view.direction != current.direction:
                self._close(conn, current, now, f"reversed: the evidence now supports going {view.direction} "
                                                f"(net calibrated score {evidence.net_score:+.2f}, "
                                                f"{view.route.title.lower()} in a "
                                                f"{regime_words(view.state.regime.name)} regime)",
                            evidence, out)
                self._open(conn, view, now, opinions, current, out)
            else:
                self._revise(conn, current, view, now, opinions, out)

    def _open(self, conn, c: Candidate, now: float, opinions: Mapping[int, LlmOpinion],
              flipped: AssetIdea | None, out: "_Outcomes") -> None:
        ev = c.evidence
        reason = (f"net calibrated score {ev.net_score:+.2f} from {len(ev.items)} independent headline"
                  f"{'' if len(ev.items) == 1 else 's'} ({ev.count('bullish')} bullish, {ev.count('bearish')} "
                  f"bearish, {ev.count('neutral')} neutral) reaches the ±{c.threshold:.2f} opening threshold; "
                  f"{c.route.title.lower()} in a {regime_words(c.state.regime.name)} regime")
        if flipped is not None:
            reason += f"; flipped from {flipped.direction} idea {flipped.id}"
        idea_no = records.open_new(conn, c.symbol, c.horizon, c.direction, now, flipped.id if flipped else None)
        revision = self._store_revision(conn, c, now, opinions, idea_no, 1, None, flipped, [])
        records.add_event(conn, idea_no, now, "opened", revision.id, reason, _detail(ev))
        out.changes.append(IdeaChange("created", idea_no, c.symbol, reason, revision))

    def _revise(self, conn, current: AssetIdea, c: Candidate, now: float, opinions: Mapping[int, LlmOpinion],
                out: "_Outcomes") -> None:
        head = records.head(conn, current.id)
        stored_key = conn.execute("SELECT evidence_key FROM ideas WHERE id = ?", (head.id,)).fetchone()[0]
        if stored_key == evidence_key(c, self.config, self.tolerance):
            out.skipped.append(Skipped(None, c.symbol, f"already proposed as {head.title} (#{head.id}); no new "
                                                       "evidence since"))
            return
        changed = changes(head.snapshot, c, self.config, self.tolerance) or ["the inputs it was built from changed"]
        revision = self._store_revision(conn, c, now, opinions, current.id, head.revision + 1, head.id, None, changed)
        reason = "; ".join(changed)
        records.add_event(conn, current.id, now, "revised", revision.id, reason, _detail(c.evidence))
        out.changes.append(IdeaChange("updated", current.id, c.symbol, reason, revision))
        out.superseded.append(head.id)

    def _close(self, conn, current: AssetIdea, now: float, reason: str, evidence: AssetEvidence,
               out: "_Outcomes") -> None:
        records.close(conn, current.id, now, reason, _detail(evidence))
        out.changes.append(IdeaChange("closed", current.id, current.symbol, reason))
        out.superseded.append(records.head(conn, current.id).id)

    def _store_revision(self, conn, c: Candidate, now: float, opinions: Mapping[int, LlmOpinion], idea_no: int,
                        number: int, supersedes: int | None, flipped: AssetIdea | None,
                        changed: list[str]) -> TradeIdea:
        blended, raw = blend(c, opinions, self.config.llm_weight)
        snapshot = build_snapshot(c, cfg=self.config, tolerance=self.tolerance, blended=blended, opinions=opinions,
                                  idea={"id": idea_no, "revision": number, "supersedes": supersedes,
                                        "flipped_from": flipped.id if flipped else None, "changes": changed})
        text = canonical_json(snapshot)
        s = c.sizing
        cur = conn.execute(records.INSERT_REVISION, (
            now, c.supporting[0].signal_id, c.symbol, c.direction, c.route.strategy, c.state.regime.name,
            blended["value"], c.state.risk.level, c.state.risk.score, s.fraction, s.limit, s.entry, s.stop_loss,
            s.take_profit, text, hashlib.sha256(text.encode()).hexdigest(), "proposed", s.fraction, now, raw,
            c.calibrators, idea_no, number, c.horizon, evidence_key(c, self.config, self.tolerance),
            "; ".join(changed)))
        revision_id = int(cur.lastrowid)
        conn.execute(records.INSERT_AUDIT, (revision_id, now, "propose", None, "proposed", None, s.fraction, "",
                                            "engine"))
        return records.to_idea(conn.execute(f"{records.SELECT_IDEAS} WHERE i.id = ?", (revision_id,)).fetchone())

    # --- reading -------------------------------------------------------------------------
    def get(self, idea_id: int) -> TradeIdea:
        """One revision by its id (the number decisions and the audit use)."""
        rows = self._db.query(f"{records.SELECT_IDEAS} WHERE i.id = ?", (int(idea_id),))
        if not rows:
            raise KeyError(f"no idea #{idea_id}")
        return records.to_idea(rows[0])

    def list(self, state: str | None = None, symbol: str | None = None, status: str | None = None) -> list[TradeIdea]:
        """The newest revision of each idea, newest first. ``status``: None (the live book: open
        ideas and those from before the per-asset book), open, closed, legacy or all."""
        clauses, params = [records.CURRENT], []
        if state is not None:
            if state not in STATES:
                raise ValueError(f"state must be one of {', '.join(STATES)}")
            clauses.append("i.state = ?")
            params.append(state)
        if symbol is not None:
            clauses.append("i.symbol = ?")
            params.append(normalise_symbol(symbol))
        if status is None:
            clauses.append("COALESCE(a.status, 'legacy') != 'closed'")
        elif status != "all":
            if status not in LIST_STATUSES:
                raise ValueError(f"status must be one of {', '.join(LIST_STATUSES)}")
            clauses.append("COALESCE(a.status, 'legacy') = ?")
            params.append(status)
        rows = self._db.query(f"{records.SELECT_IDEAS} WHERE {' AND '.join(clauses)} ORDER BY i.id DESC",
                              tuple(params))
        return [records.to_idea(r) for r in rows]

    def idea(self, idea_no: int) -> AssetIdea:
        found = records.asset_idea(self._db.query, idea_no)
        if found is None:
            raise KeyError(f"no idea {idea_no}")
        return found

    def revisions(self, idea_no: int) -> list[TradeIdea]:
        """Every revision of a per-asset idea, oldest first."""
        rows = self._db.query(f"{records.SELECT_IDEAS} WHERE i.asset_idea_id = ? ORDER BY i.revision",
                              (int(idea_no),))
        return [records.to_idea(r) for r in rows]

    def events(self, idea_no: int) -> list[IdeaEvent]:
        """The idea's history: opened, each revision with what changed, closed with why."""
        return records.events(self._db.query, idea_no)

    def audit(self, idea_id: int | None = None) -> list[AuditEntry]:
        if idea_id is None:
            rows = self._db.query(f"SELECT {records.AUDIT_COLUMNS} FROM idea_audit ORDER BY id")
        else:
            rows = self._db.query(f"SELECT {records.AUDIT_COLUMNS} FROM idea_audit WHERE idea_id = ? ORDER BY id",
                                  (int(idea_id),))
        return [records.to_audit(r) for r in rows]

    def gross_exposure(self, exclude: int | None = None) -> float:
        """Approved exposure (see records.EXPOSURE), without the idea revision ``exclude`` belongs to."""
        idea = self.get(exclude) if exclude is not None else None
        held = records.exposure(self._db.query, exclude_idea=idea.idea_no if idea and idea.idea_no else None,
                                exclude_row=exclude if idea and idea.idea_no is None else None)
        return float(sum(r[3] for r in held))

    def portfolio(self) -> PortfolioView:
        held = records.exposure(self._db.query)
        positions = [Position(symbol, direction, size, row_id) for row_id, symbol, direction, size, _no in held]
        bars = {p.symbol: self.market.bars(p.symbol, limit=history_bars(self.config)) for p in positions}
        return portfolio_view(positions, bars)

    # --- reviewing -----------------------------------------------------------------------
    def decide(self, idea_id: int, decision: str, note: str = "", size: float | None = None,
               actor: str | None = None) -> TradeIdea:
        """Decide on one revision (by its id). Approve and edit take the newest revision of an
        open idea; reject takes any revision not yet rejected."""
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
            row = conn.execute(f"{records.SELECT_IDEAS} WHERE i.id = ?", (int(idea_id),)).fetchone()
            if row is None:
                raise DecisionError(f"no idea #{idea_id}")
            idea = records.to_idea(row)
            if idea.state not in ALLOWED_FROM[decision]:
                raise DecisionError(f"idea #{idea.id} is {idea.state}; it cannot be {_past(decision)}")
            if decision != "reject" and not idea.reviewable:
                raise DecisionError(self._not_reviewable(conn, idea))
            new_size = idea.size if size is None else self._checked_size(idea, size)
            new_state = {"approve": "approved", "reject": "rejected", "edit": idea.state}[decision]
            if new_state == "approved":
                self._check_leverage(conn, idea, new_size)
            conn.execute("UPDATE ideas SET state = ?, size = ?, updated_at = ? WHERE id = ?",
                         (new_state, new_size, now, idea.id))
            conn.execute(
                records.INSERT_AUDIT,
                (idea.id, now, "edit_size" if decision == "edit" else decision, idea.state, new_state,
                 idea.size, new_size, note, actor or self.actor),
            )
        return self.get(idea.id)

    @staticmethod
    def _not_reviewable(conn, idea: TradeIdea) -> str:
        if idea.status == "closed":
            reason = conn.execute("SELECT close_reason FROM asset_ideas WHERE id = ?", (idea.idea_no,)).fetchone()[0]
            return f"{idea.title} (#{idea.id}) is closed ({reason}); there is nothing to approve or resize"
        newest = records.head(conn, idea.idea_no)
        return (f"{idea.title} (#{idea.id}) was superseded by revision {newest.revision} (#{newest.id}); "
                "review that one")

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
        held = records.exposure(lambda sql, p: conn.execute(sql, p).fetchall(),
                                exclude_idea=idea.idea_no if idea.idea_no is not None else None,
                                exclude_row=idea.id if idea.idea_no is None else None)
        other = float(sum(r[3] for r in held))
        if other + size > cap + _SIZE_EPSILON:
            raise DecisionError(
                f"approving {size:.2%} would take gross exposure to {other + size:.2%}, above the "
                f"{idea.regime} leverage cap {cap:.2f}x; edit the size to at most {max(0.0, cap - other):.2%}")

    # --- export --------------------------------------------------------------------------
    def export(self, path: str | Path, state: str | None = None) -> int:
        """Write the newest revision of every idea, open or closed (JSON adds each one's snapshot,
        audit trail and history), to ``.csv`` or ``.json``; returns the count."""
        path = Path(path)
        fmt = path.suffix.lower()
        if fmt not in (".csv", ".json"):
            raise ValueError(f"export to .csv or .json, not {path.suffix or 'no extension'}")
        ideas = self.list(state, status="all")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        try:
            # Side file then rename: a crash never leaves a half-written export.
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                if fmt == ".json":
                    trail: dict[int, list[dict]] = {}
                    for entry in self.audit():
                        trail.setdefault(entry.idea_id, []).append(entry.to_dict())
                    payload = {"generated_at": _iso(self._clock()), "notice": NOTICE, "ideas": [
                        {**i.to_dict(), "audit": trail.get(i.id, []),
                         "history": [e.to_dict() for e in self.events(i.idea_no)] if i.idea_no else []}
                        for i in ideas]}
                    json.dump(payload, fh, indent=2, ensure_ascii=False, allow_nan=False)
                    fh.write("\n")
                else:
                    _write_csv(fh, ideas, self.audit())
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return len(ideas)


class _Outcomes:
    """What one ``propose`` call did, collected asset by asset."""

    def __init__(self) -> None:
        self.changes: list[IdeaChange] = []
        self.skipped: list[Skipped] = []
        self.superseded: list[int] = []


def _detail(evidence: AssetEvidence) -> dict:
    return {"net_score": round(evidence.net_score, 6), "stories": evidence.story_ids(),
            "bullish": evidence.count("bullish"), "bearish": evidence.count("bearish"),
            "neutral": evidence.count("neutral"), "as_of": evidence.as_of}


EXPORT_COLUMNS = ("id", "idea_no", "revision", "status", "horizon", "created_at", "symbol", "direction", "strategy",
                  "regime", "state", "size", "proposed_size", "size_limit", "confidence", "raw_confidence",
                  "calibrator", "risk_level", "risk_score", "entry", "stop_loss", "take_profit", "stale",
                  "net_score", "signal_ids", "model_versions", "last_decision", "last_note", "change", "rationale",
                  "snapshot_sha256")


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
            **{k: getattr(idea, k) for k in EXPORT_COLUMNS if hasattr(idea, k) and k not in ("rationale", "stale")},
            "created_at": _iso(idea.created_at),
            "stale": int(idea.stale),
            "net_score": (snap.get("aggregate") or {}).get("net_score", ""),
            "signal_ids": " ".join(str(i) for i in snap.get("signal_ids", [])),
            "model_versions": " ".join(f"{k}={v}" for k, v in sorted(snap.get("model_versions", {}).items())),
            "last_decision": decision.action if decision else "",
            "last_note": decision.note if decision else "",
            "rationale": idea.rationale,
        })


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds")


def _past(decision: str) -> str:
    return {"approve": "approved", "reject": "rejected", "edit": "edited"}[decision]
