"""Trade ideas on a real SQLite file: one idea per asset from its evidence, revisions, reversals,
review, audit, restart, export, calibration and the LLM guardrail."""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from engine.ideas import DecisionError, IdeaBook, LlmOpinion, blend_confidence
from engine.market.prices import MarketData
from engine.risk.config import RiskConfig
from engine.store import DB_FILE_NAME, Store
from engine.types import Signal
from tests.conftest import db_with_demo_prices

NOW = 1_750_000_000.0  # 2025-06-15: the demo prices (ending 2023-2024) are stale by then
ACME_LAST_BAR = 1718323200  # 2024-06-14


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _signal(text: str, symbols: tuple[str, ...], label: str, confidence: float, at: float = NOW,
            source: str = "paste") -> Signal:
    rest = (1 - confidence) / 2
    probs = {"bearish": (confidence, rest, rest), "bullish": (rest, confidence, rest),
             "neutral": (rest, rest, confidence)}[label]
    return Signal(None, at, source, text, symbols, label, probs, confidence, probs[1] - probs[0],
                  "lexicon-fin", "1.0", 1.0)


HEADLINES = [
    ("$ACME beats estimates and raises guidance", ("ACME",), "bullish", 0.85),
    ("$DUNE slides again as orders dry up", ("DUNE",), "bearish", 0.90),
    ("$ZEPH plunges as auditors resign", ("ZEPH",), "bearish", 0.80),
    ("$VOLT swings wildly on takeover talk", ("VOLT",), "bullish", 0.75),
    ("$FXEU edges higher", ("FXEU",), "bullish", 0.90),
    ("$AAPL unveils a phone", ("AAPL",), "bullish", 0.90),
    ("$ACME mentioned in passing", ("ACME",), "bullish", 0.50),
    ("Markets mixed", (), "neutral", 0.90),
]


def _store(db: Path, signals: list[Signal]) -> list[Signal]:
    store = Store(db)
    try:
        return store.add_signals(signals)
    finally:
        store.close()


@pytest.fixture
def db(data_dir: Path) -> Path:
    return db_with_demo_prices(data_dir)


@pytest.fixture
def signals(db: Path) -> list[Signal]:
    return _store(db, [_signal(*h) for h in HEADLINES])


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def book(db: Path, clock: Clock):
    b = IdeaBook(db, clock=clock)
    yield b
    b.close()


def _open(book: IdeaBook) -> dict[str, object]:
    return {i.symbol: i for i in book.list(status="open")}


# --- one idea per asset, from its evidence ----------------------------------------------------------

def test_one_idea_per_asset_routed_by_regime_and_skips_explained(book: IdeaBook, signals: list[Signal]) -> None:
    result = book.propose()
    got = {i.symbol: (i.direction, i.strategy, i.regime, i.horizon, i.title) for i in result.ideas}
    assert {s: v[:4] for s, v in got.items()} == {
        "ACME": ("long", "follow_news", "bull_trend", "days"),          # follow in a bull trend
        "DUNE": ("long", "fade_stretched_move", "bear_trend", "days"),  # bearish news, stretched down: fade
        "ZEPH": ("short", "follow_news", "crash", "days"),              # follow in a crash
        "VOLT": ("long", "follow_news", "high_vol", "days"),
    }
    assert all(v[4].endswith(" r1") for v in got.values())
    assert [c.action for c in result.changes] == ["created"] * 4
    reasons = {s.symbol: s.reason for s in result.skipped}
    assert "not stretched" in reasons["FXEU"]  # chop and not stretched: nothing to fade
    assert reasons["AAPL"].startswith("no market data for AAPL")
    assert all(i.state == "proposed" and 0 < i.size == i.proposed_size <= i.size_limit for i in result.ideas)
    acme = next(i for i in result.ideas if i.symbol == "ACME")
    by_text = {s.text: s.id for s in signals}
    # Both ACME headlines are its evidence, ranked; the 0.50 one lowers the net score (same
    # weights: (0.85 + 0.50) / 2) but is below idea_min_confidence, so it is not support.
    assert [e["signal_id"] for e in acme.evidence] == [by_text["$ACME beats estimates and raises guidance"],
                                                       by_text["$ACME mentioned in passing"]]
    assert acme.snapshot["aggregate"]["net_score"] == pytest.approx(0.675)
    assert acme.snapshot["aggregate"]["supporting"] == 1 and acme.confidence == 0.85


def test_thresholds_are_settings_a_reviewer_can_read(db: Path, signals: list[Signal], clock: Clock) -> None:
    def skipped(cfg: RiskConfig, symbol: str = "ACME") -> str:
        path = db.parent / f"copy-{cfg.fingerprint()}.db"
        path.write_bytes(db.read_bytes())
        with IdeaBook(path, config=cfg, clock=clock) as b:
            result = b.propose(["ACME"])
        assert not result.ideas
        return next(s.reason for s in result.skipped if s.symbol == symbol)

    assert "min_headlines is 3" in skipped(RiskConfig(min_headlines=3))
    assert "inside the ±0.70 opening threshold" in skipped(RiskConfig(min_net_score=0.70))
    assert "0 independent bullish headlines at or above idea_min_confidence 90%" in skipped(
        RiskConfig(idea_min_confidence=0.90))
    clock.now = NOW + 73 * 3600  # three days and an hour later: too old to count
    assert skipped(RiskConfig()) == "no usable headline on ACME in the last 72 h"
    clock.now = NOW
    assert "market data is stale" in skipped(RiskConfig(stale_market_data="refuse"))


def test_proposing_again_without_new_evidence_changes_nothing(book: IdeaBook, signals: list[Signal], db: Path) -> None:
    first = book.propose()
    tables = _tables(db)
    again = book.propose()
    assert again.ideas == () and again.changes == ()
    unchanged = [s.reason for s in again.skipped if "no new evidence" in s.reason]
    assert len(unchanged) == len(first.ideas) and all("already proposed as idea" in r for r in unchanged)
    assert _tables(db) == tables


def _tables(db: Path) -> list:
    conn = sqlite3.connect(db)
    try:
        return [conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall()
                for t in ("ideas", "idea_audit", "asset_ideas", "idea_events")]
    finally:
        conn.close()


def test_new_evidence_is_a_new_revision_with_what_changed(book: IdeaBook, db: Path, clock: Clock) -> None:
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.80)])
    (first,) = book.propose(["ACME"]).ideas
    clock.now += 600
    (new,) = _store(db, [_signal("$ACME wins a large defence contract", ("ACME",), "bullish", 0.90, clock.now)])
    result = book.propose(["ACME"])
    (change,) = result.changes
    second = change.revision
    assert (change.action, second.idea_no, second.revision) == ("updated", first.idea_no, 2)
    assert result.superseded == (first.id,)
    assert f"1 new headline (#{new.id} bullish)" in second.change
    assert "net calibrated score +0.80 -> +0.85" in second.change
    assert "Changed since the previous revision: 1 new headline" in second.rationale
    assert second.snapshot["idea"] == {"id": first.idea_no, "revision": 2, "supersedes": first.id,
                                       "flipped_from": None, "changes": second.change.split("; ")}
    assert [e["signal_id"] for e in second.evidence] == [new.id, first.signal_id]  # ranked by weight x confidence
    assert [i.id for i in book.list()] == [second.id]  # the queue shows the newest revision only
    assert [r.id for r in book.revisions(first.idea_no)] == [first.id, second.id]
    assert not book.get(first.id).current and book.get(second.id).current
    assert [(e.kind, e.revision_id) for e in book.events(first.idea_no)] == [("opened", first.id),
                                                                               ("revised", second.id)]


def test_other_settings_make_a_revision_that_says_so(db: Path, clock: Clock) -> None:
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.85)])
    with IdeaBook(db, clock=clock) as book:
        (first,) = book.propose(["ACME"]).ideas
    with IdeaBook(db, clock=clock, tolerance="low", config=RiskConfig(stop_atr=2.5)) as careful:
        (change,) = careful.propose(["ACME"]).changes
    assert change.action == "updated" and change.revision.size < first.size
    assert "tolerance medium -> low" in change.reason and "[risk] settings changed" in change.reason


def test_reversed_evidence_flips_the_idea_visibly_and_never_holds_both_sides(book: IdeaBook, db: Path,
                                                                               clock: Clock) -> None:
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.80)])
    (long_idea,) = book.propose(["ACME"]).ideas
    clock.now += 3600
    _store(db, [_signal(f"$ACME accounting probe widens, part {i}", ("ACME",), "bearish", 0.90, clock.now)
                for i in range(4)])
    result = book.propose(["ACME"])
    assert [c.action for c in result.changes] == ["closed", "created"]
    closed, created = result.changes
    assert closed.idea_no == long_idea.idea_no
    assert closed.reason.startswith("reversed: the evidence now supports going short")
    short = created.revision
    assert (short.direction, short.idea_no) == ("short", long_idea.idea_no + 1)
    assert short.snapshot["idea"]["flipped_from"] == long_idea.idea_no and "flipped from long idea" in created.reason
    assert book.idea(long_idea.idea_no).status == "closed"
    assert book.idea(short.idea_no).flipped_from == long_idea.idea_no
    assert [i.direction for i in book.list(symbol="ACME")] == ["short"]
    assert [i.id for i in book.list(status="closed")] == [long_idea.id]
    assert [e.kind for e in book.events(long_idea.idea_no)] == ["opened", "closed"]
    # The database itself refuses a long beside the open short, whatever the code does.
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="never has a long and a short"):
        conn.execute("INSERT INTO asset_ideas (symbol, horizon, direction, opened_at) VALUES ('ACME', 'hours', "
                     "'long', 0)")
    with pytest.raises(sqlite3.DatabaseError, match="UNIQUE"):
        conn.execute("INSERT INTO asset_ideas (symbol, horizon, direction, opened_at) VALUES ('ACME', 'days', "
                     "'short', 0)")
    with pytest.raises(sqlite3.DatabaseError, match="only be closed"):
        conn.execute("UPDATE asset_ideas SET status = 'open', closed_at = NULL WHERE id = ?", (long_idea.idea_no,))
    conn.close()


def test_fading_evidence_closes_an_open_idea_but_a_weaker_view_keeps_it(book: IdeaBook, db: Path,
                                                                         clock: Clock) -> None:
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.85)])
    (idea,) = book.propose(["ACME"]).ideas
    # Two neutral stories: net 0.85 / 3 = 0.28, below opening (0.30) but above keeping (0.15): kept.
    clock.now += 60
    _store(db, [_signal(f"$ACME annual meeting set, note {i}", ("ACME",), "neutral", 0.85, clock.now)
                for i in range(2)])
    (kept,) = book.propose(["ACME"]).changes
    assert kept.action == "updated" and "against the ±0.15 keeping threshold" in kept.revision.rationale
    # Three more: 0.85 / 6 = 0.14 < 0.15: closed with the reason.
    _store(db, [_signal(f"$ACME files routine form, note {i}", ("ACME",), "neutral", 0.85, clock.now)
                for i in range(3)])
    (closed,) = book.propose(["ACME"]).changes
    assert closed.action == "closed" and "inside the ±0.15 keeping threshold" in closed.reason
    assert book.list(symbol="ACME") == []
    # Without an open idea the same 0.28 does not open one.
    path = db_with_demo_prices(db.parent / "fresh")
    _store(path, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.85),
                  *[_signal(f"$ACME annual meeting set, note {i}", ("ACME",), "neutral", 0.85) for i in range(2)]])
    with IdeaBook(path, clock=Clock(NOW)) as other:
        assert "inside the ±0.30 opening threshold" in other.propose(["ACME"]).skipped[0].reason


def test_expired_evidence_closes_the_idea(book: IdeaBook, signals: list[Signal], clock: Clock) -> None:
    created = book.propose().ideas
    clock.now = NOW + 73 * 3600
    result = book.propose()  # the assets with an open idea are looked at even without news
    assert {c.symbol for c in result.changes} == {i.symbol for i in created}
    assert all(c.action == "closed" and "no usable headline" in c.reason for c in result.changes)
    assert book.list() == []


# --- duplicates, invalid input, stale data, ticks ----------------------------------------------------

def test_duplicate_news_counts_once_and_keeps_every_source(book: IdeaBook, db: Path, clock: Clock) -> None:
    first, wire, social = _store(db, [
        _signal("Acme Corp beats estimates, raises guidance $ACME", ("ACME",), "bullish", 0.80, NOW - 600,
                "demo-wire"),
        _signal("Acme Corp (NASDAQ: ACME) beats estimates; raises guidance!", ("ACME",), "bullish", 0.80, NOW - 300,
                "rss:other-wire"),
        _signal("acme corp beats   estimates, raises guidance $ACME", ("ACME",), "bullish", 0.80, NOW, "demo-social"),
    ])
    (idea,) = book.propose(["ACME"]).ideas
    (item,) = idea.evidence
    assert item["signal_id"] == first.id and item["copies"] == [first.id, wire.id, social.id]
    assert item["sources"] == ["demo-social", "demo-wire", "rss:other-wire"]
    assert idea.snapshot["aggregate"]["copies"] == 2 and "2 repeated copies counted once" in idea.rationale
    # A re-post a day and more later is news again (the dedupe window is 24 h).
    clock.now = NOW + 25 * 3600
    _store(db, [_signal("Acme Corp beats estimates, raises guidance", ("ACME",), "bullish", 0.80, clock.now)])
    (change,) = book.propose(["ACME"]).changes
    assert change.action == "updated" and len(change.revision.evidence) == 2


def test_one_invalid_stored_signal_is_skipped_with_the_reason(book: IdeaBook, db: Path) -> None:
    good, forged = _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.85),
                               replace(_signal("$ACME to the moon", ("ACME",), "bullish", 0.85), confidence=7.5)])
    store = Store(db)  # a row written around the application: probabilities that are not JSON numbers
    store.execute("UPDATE signals SET probabilities = '{\"bullish\": \"x\"}' WHERE id = ?", (good.id,))
    store.close()
    (ok,) = _store(db, [_signal("$ACME wins a contract", ("ACME",), "bullish", 0.80)])
    result = book.propose(["ACME"])
    reasons = {s.signal_id: s.reason for s in result.skipped}
    assert "confidence 7.5 is not in [0, 1]" in reasons[forged.id]
    assert reasons[good.id].startswith("invalid stored signal: ")
    (idea,) = result.ideas
    assert [e["signal_id"] for e in idea.evidence] == [ok.id] and idea.size <= idea.size_limit


def test_stale_market_data_is_flagged_and_fresh_data_is_not(db: Path) -> None:
    stale_at, fresh_at = NOW, ACME_LAST_BAR + 3 * 86_400.0  # a year after the last bar / the Monday after it
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.85, stale_at)])
    with IdeaBook(db, clock=Clock(stale_at)) as book:
        (stale,) = book.propose(["ACME"]).ideas
    days = f"{(stale_at - ACME_LAST_BAR) / 86_400:.0f} days"
    assert stale.stale
    assert stale.rationale.startswith(f"Stale market data: the last ACME bar is from 2024-06-14, {days}")
    other = db_with_demo_prices(db.parent / "fresh")
    _store(other, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.85, fresh_at)])
    with IdeaBook(other, clock=Clock(fresh_at)) as book:
        (fresh,) = book.propose(["ACME"]).ideas
    assert not fresh.stale and "Stale" not in fresh.rationale
    assert fresh.snapshot["market_data"]["age_days"] == pytest.approx(3.0)


def test_prices_are_rounded_to_the_symbols_tick(book: IdeaBook, signals: list[Signal]) -> None:
    for idea in book.propose().ideas:
        for price in (idea.entry, idea.stop_loss, idea.take_profit):
            assert round(price, 2) == price
        assert f"Entry {idea.entry:.2f}, stop {idea.stop_loss:.2f}" in idea.rationale
    cfg = RiskConfig()
    assert cfg.tick("FXEU") == 0.0001 and cfg.tick("ACME") == 0.01
    assert RiskConfig(tick_sizes="ACME=0.05").tick("acme") == 0.05
    with pytest.raises(ValueError, match="tick_sizes entry 'ACME=x'"):
        RiskConfig(tick_sizes="ACME=x")


# --- review ------------------------------------------------------------------------------------------

def test_review_rules(book: IdeaBook, signals: list[Signal]) -> None:
    ideas = {i.symbol: i for i in book.propose().ideas}
    acme, dune, zeph = ideas["ACME"], ideas["DUNE"], ideas["ZEPH"]
    with pytest.raises(DecisionError, match="note is required"):
        book.decide(dune.id, "reject", "  ")
    with pytest.raises(DecisionError, match="note is required"):
        book.decide(dune.id, "edit", size=0.01)
    with pytest.raises(DecisionError, match="above this idea's limit"):
        book.decide(dune.id, "edit", "bigger", size=dune.size_limit + 0.01)
    for bad in (0.0, -0.01, math.nan, math.inf):
        with pytest.raises(DecisionError):
            book.decide(dune.id, "edit", "odd", size=bad)
    with pytest.raises(DecisionError, match="only an edit"):
        book.decide(dune.id, "approve", size=0.01)
    with pytest.raises(DecisionError, match="decision must be"):
        book.decide(dune.id, "execute")
    with pytest.raises(DecisionError, match="no idea"):
        book.decide(99_999, "approve")
    assert book.get(dune.id).size == dune.size and book.audit(dune.id)[-1].action == "propose"

    edited = book.decide(dune.id, "edit", "half size, thin bounce", size=0.01)
    assert (edited.state, edited.size, edited.proposed_size) == ("proposed", 0.01, dune.proposed_size)
    assert book.decide(acme.id, "approve").state == "approved"
    with pytest.raises(DecisionError, match="is approved"):
        book.decide(acme.id, "approve")
    assert book.decide(zeph.id, "reject", "auditor story unconfirmed").state == "rejected"
    with pytest.raises(DecisionError, match="is rejected"):
        book.decide(zeph.id, "approve")
    assert [(a.action, a.from_state, a.to_state) for a in book.audit(dune.id)] == [
        ("propose", None, "proposed"), ("edit_size", "proposed", "proposed")]
    assert book.audit(dune.id)[-1].note == "half size, thin bounce" and book.audit(dune.id)[-1].size_before == dune.size
    assert [i.id for i in book.list("approved")] == [acme.id]
    assert [i.id for i in book.list("rejected")] == [zeph.id]


def test_decisions_follow_revisions_and_closures(book: IdeaBook, db: Path, clock: Clock) -> None:
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.80)])
    (r1,) = book.propose(["ACME"]).ideas
    book.decide(r1.id, "approve", "good")
    assert book.gross_exposure() == pytest.approx(r1.size)
    clock.now += 60
    _store(db, [_signal("$ACME wins a contract", ("ACME",), "bullish", 0.90, clock.now)])
    (r2,) = book.propose(["ACME"]).ideas
    with pytest.raises(DecisionError, match=f"superseded by revision 2 \\(#{r2.id}\\); review that one"):
        book.decide(r1.id, "edit", "smaller", size=0.01)
    assert book.gross_exposure() == pytest.approx(r1.size)  # the pending revision changes nothing yet
    assert [p.idea_id for p in book.portfolio().positions] == [r1.id]
    book.decide(r2.id, "edit", "a little less", size=0.04)
    book.decide(r2.id, "approve")
    assert book.gross_exposure() == pytest.approx(0.04) and [p.idea_id for p in book.portfolio().positions] == [r2.id]
    clock.now += 60
    _store(db, [_signal(f"$ACME accounting probe, part {i}", ("ACME",), "bearish", 0.95, clock.now) for i in range(6)])
    result = book.propose(["ACME"])
    assert [c.action for c in result.changes] == ["closed", "created"]
    with pytest.raises(DecisionError, match="is closed \\(reversed"):
        book.decide(r2.id, "edit", "smaller", size=0.01)
    assert book.gross_exposure() == 0.0  # a closed idea is no longer held
    assert book.decide(r2.id, "reject", "closed by the evidence anyway").state == "rejected"


def test_approval_respects_the_regime_leverage_cap(db: Path) -> None:
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.85),
                _signal("$VOLT soars on takeover bid", ("VOLT",), "bullish", 0.85)])
    cfg = RiskConfig(leverage_bull_trend=0.051)
    with IdeaBook(db, config=cfg, clock=Clock(NOW)) as book:
        ideas = {i.symbol: i for i in book.propose().ideas}
        acme, volt = ideas["ACME"], ideas["VOLT"]
        assert acme.size == 0.05 and 0 < volt.size < 0.01
        book.decide(volt.id, "approve")
        with pytest.raises(DecisionError, match="bull_trend leverage cap 0.05x"):
            book.decide(acme.id, "approve")
        book.decide(acme.id, "edit", "fit under the cap", size=0.04)
        assert book.decide(acme.id, "approve").state == "approved"
        assert book.gross_exposure() == pytest.approx(volt.size + 0.04)
        view = book.portfolio()
        assert {e.symbol for e in view.exposures} == {"ACME", "VOLT"}


def test_revision_history_and_decisions_survive_a_restart(db: Path, clock: Clock) -> None:
    _store(db, [_signal("$ACME beats estimates", ("ACME",), "bullish", 0.80)])
    with IdeaBook(db, clock=clock) as book:
        (r1,) = book.propose(["ACME"]).ideas
        book.decide(r1.id, "approve", "clean beat")
        clock.now += 60
        _store(db, [_signal("$ACME wins a contract", ("ACME",), "bullish", 0.90, clock.now)])
        book.propose(["ACME"])
        before = (book.list(status="all"), book.revisions(r1.idea_no), book.events(r1.idea_no), book.audit(),
                  book.idea(r1.idea_no))
    store = Store(db)  # the app restarts: a new Store, a new book
    with IdeaBook(store, clock=clock) as reopened:
        after = (reopened.list(status="all"), reopened.revisions(r1.idea_no), reopened.events(r1.idea_no),
                 reopened.audit(), reopened.idea(r1.idea_no))
        assert reopened.propose(["ACME"]).changes == ()  # and nothing new to say
    store.close()
    assert after == before
    revisions = after[1]
    assert [(r.revision, r.state) for r in revisions] == [(1, "approved"), (2, "proposed")]
    assert [e["signal_id"] for e in revisions[1].evidence] == [revisions[1].signal_id, r1.signal_id]
    assert after[2][1].reason == revisions[1].change


def test_an_idea_is_a_complete_immutable_snapshot(book: IdeaBook, signals: list[Signal], db: Path) -> None:
    idea = next(i for i in book.propose().ideas if i.symbol == "ACME")
    snap = idea.snapshot
    assert hashlib.sha256(idea.snapshot_json.encode()).hexdigest() == idea.snapshot_sha256
    acme_ids = sorted(s.id for s in signals if "ACME" in s.entities)
    assert snap["signal_ids"] == acme_ids and snap["aggregate"]["story_ids"] == acme_ids
    assert snap["model_versions"] == {"sentiment": "lexicon-fin@1.0"}
    assert snap["features"]["symbol"] == "ACME" and snap["regime"]["name"] == "bull_trend"
    assert snap["risk"]["level"] == idea.risk_level and snap["risk"]["factors"]
    assert snap["sizing"]["fraction"] == idea.proposed_size and snap["sizing"]["stop_loss"] == idea.stop_loss
    assert snap["strategy"]["strategy"] == "follow_news" and snap["horizon"] == "days"
    assert snap["risk_config_fingerprint"] == RiskConfig().fingerprint()
    assert snap["thresholds"]["min_net_score"] == 0.30 and snap["market_data"]["stale"] is True
    first = snap["evidence"][0]
    assert set(first) >= {"signal_id", "headline", "sources", "time", "label", "confidence", "raw_confidence",
                          "weight", "copies"}
    for words in ("Follow the news", "long ACME", "stop", "target", "nothing is executed", "Stale market data"):
        assert words in idea.rationale
    conn = sqlite3.connect(db)
    for sql in ("UPDATE ideas SET snapshot = '{}' WHERE id = ?", "UPDATE ideas SET size_limit = 1 WHERE id = ?",
                "UPDATE ideas SET direction = 'short' WHERE id = ?", "UPDATE ideas SET revision = 5 WHERE id = ?",
                "UPDATE ideas SET change = 'rewritten' WHERE id = ?", "DELETE FROM ideas WHERE id = ?"):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql, (idea.id,))
    for sql in ("UPDATE idea_events SET reason = 'x'", "DELETE FROM idea_events", "DELETE FROM asset_ideas"):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql)
    conn.close()
    assert book.get(idea.id) == idea


def test_audit_is_append_only(book: IdeaBook, signals: list[Signal], db: Path) -> None:
    idea = book.propose().ideas[0]
    book.decide(idea.id, "approve", "ok")
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE idea_audit SET note = 'rewritten'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM idea_audit")
    conn.execute("INSERT INTO idea_audit (idea_id, at, action, to_state, size_after, actor) "
                 "VALUES (?, 0, 'approve', 'approved', 0.01, 'test')", (idea.id,))  # appending still works
    conn.commit()
    conn.close()
    assert [a.action for a in book.audit(idea.id)] == ["propose", "approve", "approve"]


def test_export_csv_and_json(book: IdeaBook, signals: list[Signal], tmp_path: Path) -> None:
    ideas = book.propose().ideas
    book.decide(ideas[0].id, "reject", "stale data")
    assert book.export(tmp_path / "ideas.json") == len(ideas)
    payload = json.loads((tmp_path / "ideas.json").read_text(encoding="utf-8"))
    assert "Nothing was sent" in payload["notice"] and len(payload["ideas"]) == len(ideas)
    exported = {i["id"]: i for i in payload["ideas"]}
    assert [a["action"] for a in exported[ideas[0].id]["audit"]] == ["propose", "reject"]
    assert [h["kind"] for h in exported[ideas[0].id]["history"]] == ["opened"]
    assert exported[ideas[0].id]["snapshot"]["sizing"]["fraction"] == ideas[0].proposed_size
    assert book.export(tmp_path / "ideas.csv") == len(ideas)
    with open(tmp_path / "ideas.csv", encoding="utf-8", newline="") as fh:
        rows = {int(r["id"]): r for r in csv.DictReader(fh)}
    row = rows[ideas[0].id]
    assert row["state"] == "rejected" and row["last_note"] == "stale data" and row["status"] == "open"
    assert row["revision"] == "1" and row["stale"] == "1" and "nothing is executed" in row["rationale"]
    assert book.export(tmp_path / "approved.csv", state="approved") == 0
    with pytest.raises(ValueError, match=".csv or .json"):
        book.export(tmp_path / "ideas.xlsx")
    assert not list(tmp_path.glob("*.part"))


# --- confidence: blending, the LLM guardrail, calibration -------------------------------------------

def test_blend_confidence() -> None:
    assert blend_confidence(0.8).value == 0.8 and blend_confidence(0.8).llm is None
    agree = blend_confidence(0.8, 0.9, llm_weight=0.3)
    assert agree.value == pytest.approx(0.7 * 0.8 + 0.3 * 0.9) and agree.llm_agrees
    disagree = blend_confidence(0.8, 0.9, llm_agrees=False, llm_weight=0.3)
    assert disagree.value == pytest.approx(0.7 * 0.8 + 0.3 * 0.1)
    for junk in (math.nan, 1.5, -0.1, "high", True):
        ignored = blend_confidence(0.8, junk)  # type: ignore[arg-type]
        assert ignored.value == 0.8 and ignored.llm is None and "ignored" in ignored.note
    with pytest.raises(ValueError):
        blend_confidence(math.nan)


def test_llm_opinion_changes_ranking_confidence_but_never_size_limits_or_state(tmp_path: Path) -> None:
    results = []
    for name, with_llm in (("plain", False), ("llm", True)):
        path = db_with_demo_prices(tmp_path / name)
        stored = _store(path, [_signal(*h) for h in HEADLINES])
        llm = {s.id: LlmOpinion("bearish" if s.label == "bullish" else "bullish", 0.99, "llm", "q4")
               for s in stored} if with_llm else None
        with IdeaBook(path, clock=Clock(NOW)) as book:
            results.append(sorted(book.propose_from_signals(stored, llm=llm).ideas, key=lambda i: i.symbol))
    plain, advised = results
    assert [(i.symbol, i.proposed_size, i.size_limit, i.state, i.stop_loss) for i in plain] == \
        [(i.symbol, i.proposed_size, i.size_limit, i.state, i.stop_loss) for i in advised]
    assert all(a.confidence < p.confidence for p, a in zip(plain, advised))
    assert advised[0].snapshot["model_versions"]["llm"] == "llm@q4"
    assert "the LLM never changes sizes, limits or states" in advised[0].rationale


def _store_llm_explanation(store: Store, signal_id: int, sentiment: str, confidence: float, fallback: bool) -> None:
    """One stored explanation, as engine.reasoning writes it (audit row + signal_reasoning row)."""
    j6 = {"direction": "SELL", "confidence": confidence, "sentiment": sentiment, "entities": [], "events": [],
          "timeframe": "short", "magnitude": "medium", "rationale": "test"}
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO reasoning_audit (created_at, signal_id, mode, model_id, model_version, status, "
            "fallback_used, attempts, prompt, response_schema, retrieved, raw_output, errors, parsed_output, "
            "latency_ms, first_token_ms, prompt_tokens, completion_tokens) "
            "VALUES (?, ?, 'plain', 'smollm2', 'q4_1', 'ok', ?, 1, '[]', '{}', '[]', '[]', '[]', '{}', 1, 1, 1, 1)",
            (NOW, signal_id, int(fallback)))
        conn.execute("INSERT INTO signal_reasoning VALUES (?, ?, ?, 'plain', ?, '[]', '[]', ?)",
                     (signal_id, cur.lastrowid, NOW, json.dumps(j6), int(fallback)))


def test_stored_llm_explanations_are_blended_but_fallbacks_are_not(db: Path, signals: list[Signal]) -> None:
    by_symbol = {s.entities[0]: s for s in signals if s.entities and s.confidence > 0.6}
    contrary = {"bullish": "bearish", "bearish": "bullish", "neutral": "bullish"}
    store = Store(db)
    _store_llm_explanation(store, by_symbol["ZEPH"].id, contrary[by_symbol["ZEPH"].label], 0.95, fallback=False)
    _store_llm_explanation(store, by_symbol["DUNE"].id, contrary[by_symbol["DUNE"].label], 0.95, fallback=True)
    store.close()
    with IdeaBook(db, clock=Clock(NOW)) as book:
        opinions = book.stored_llm_opinions([s.id for s in signals])
        assert set(opinions) == {by_symbol["ZEPH"].id}  # the template fallback is not an LLM opinion
        assert opinions[by_symbol["ZEPH"].id].model_id == "smollm2"
        ideas = book.propose().ideas
    advised = [i for i in ideas if i.snapshot.get("llm_opinions")]
    assert [i.symbol for i in advised] == ["ZEPH"] and advised[0].snapshot["model_versions"]["llm"] == "smollm2@q4_1"


def _calibrated(signal: Signal, confidence: float, calibrator: str = "platt/top_label #1") -> Signal:
    return replace(signal, calibrated_confidence=confidence, calibrator=calibrator)


def test_ideas_use_the_calibrated_confidence_and_keep_the_raw_one(db: Path, signals: list[Signal]) -> None:
    by_text = {s.text: s for s in signals}
    acme = by_text["$ACME beats estimates and raises guidance"]  # raw 0.85
    zeph = by_text["$ZEPH plunges as auditors resign"]  # raw 0.80
    passing = by_text["$ACME mentioned in passing"]  # raw 0.50
    shown = [_calibrated(acme, 0.76), _calibrated(zeph, 0.61), _calibrated(passing, 0.74)]
    with IdeaBook(db, clock=Clock(NOW)) as book:
        result = book.propose_from_signals(shown)
    ideas = {i.symbol: i for i in result.ideas}
    # The threshold reads the calibrated figure: ZEPH's 0.80 raw is 0.61 calibrated, below 0.70.
    reasons = {s.symbol: s.reason for s in result.skipped}
    assert "ZEPH" not in ideas and "0 independent bearish headlines at or above idea_min_confidence" in reasons["ZEPH"]
    idea = ideas["ACME"]
    assert (idea.confidence, idea.raw_confidence, idea.calibrator) == (pytest.approx(0.75), pytest.approx(0.675),
                                                                       "platt/top_label #1")
    assert idea.calibrated and idea.confidence_text == "75% (raw 68%, platt/top_label #1)"
    snap = idea.snapshot
    assert snap["sizing"]["win_probability"] == pytest.approx(0.75)  # sized by the calibrated figure (cap 0.75)
    assert snap["confidence"]["classifier_raw"] == pytest.approx(0.675) and snap["confidence"]["calibrator"]
    assert snap["trigger_signal"]["confidence"] == 0.85 and snap["trigger_signal"]["calibrated_confidence"] == 0.76
    assert "confidence 76% calibrated (raw 85%, platt/top_label #1)" in idea.rationale
    with IdeaBook(Store(db)) as reopened:  # both figures survive a restart
        assert reopened.get(idea.id) == idea


def test_calibration_changes_sizing_against_the_raw_run(tmp_path: Path) -> None:
    """Same headline, same market: raw 0.85 sizes at the 0.75 cap, calibrated 0.72 below it."""
    sizes = {}
    for name, calibrated in (("raw", None), ("calibrated", 0.72)):
        path = db_with_demo_prices(tmp_path / name)
        (stored,) = _store(path, [_signal(*HEADLINES[0])])
        signal = stored if calibrated is None else _calibrated(stored, calibrated)
        with IdeaBook(path, clock=Clock(NOW)) as book:
            (idea,) = book.propose_from_signals([signal]).ideas
        sizes[name] = idea
    raw, cal = sizes["raw"], sizes["calibrated"]
    assert raw.snapshot["sizing"]["win_probability"] == 0.75  # 0.85 capped
    assert cal.snapshot["sizing"]["win_probability"] == 0.72
    assert cal.snapshot["sizing"]["kelly_cap"] < raw.snapshot["sizing"]["kelly_cap"]
    assert (raw.calibrator, raw.raw_confidence, raw.confidence) == ("", 0.85, 0.85)
    assert raw.confidence_text == "85% (uncalibrated)"


def test_a_stored_calibrator_reaches_ideas_by_itself(db: Path, signals: list[Signal]) -> None:
    """No calibrated view handed in: the book calibrates stored evidence with the stored calibrator."""
    from engine.calibration.calibrators import make_calibrator
    from engine.calibration.repository import CalibrationRepository

    rng = np.random.default_rng(7)
    conf = rng.uniform(0.34, 1.0, 4000)
    correct = rng.uniform(size=conf.size) < 0.15 + 0.7 * conf  # overconfident: 0.85 is right ~75%
    store = Store(db)
    stored = CalibrationRepository(store).save_calibrator(
        "lexicon-fin", "1.0", make_calibrator("platt").fit_correctness(conf, correct), len(conf), {})
    store.close()
    with IdeaBook(db, clock=Clock(NOW)) as book:
        ideas = {i.symbol: i for i in book.propose().ideas}
    acme = ideas["ACME"]  # supported by one headline, raw 0.85
    assert acme.calibrator == stored.label and acme.raw_confidence == 0.85 and 0.70 < acme.confidence < 0.80
    assert acme.snapshot["sizing"]["win_probability"] == pytest.approx(acme.confidence)


# --- as of the decision time --------------------------------------------------------------------------

def test_replayed_news_only_sees_bars_and_headlines_from_before_it(db: Path) -> None:
    market = MarketData(db)
    acme = market.bars("ACME")
    market.close()
    # A headline that arrived at noon on the day of bar 400 (bars are stamped at their open).
    arrival = float(acme.ts[400] + 12 * 3600)
    early, late = _store(db, [
        _signal("$ACME loses a big contract", ("ACME",), "bearish", 0.9, arrival),
        _signal("$ACME later news", ("ACME",), "bearish", 0.9, arrival + 86_400 * 30),
    ])
    with IdeaBook(db, clock=Clock(arrival)) as book:
        result = book.propose(["ACME"])
    (idea,) = result.ideas
    snap = idea.snapshot
    assert snap["features"]["as_of"] == int(acme.ts[399])  # bar 400 had not closed yet
    assert snap["sizing"]["entry"] == acme.close[399]
    assert snap["signal_ids"] == [early.id]  # the later headline is not in its evidence
    assert not idea.stale


def test_news_older_than_all_market_data_is_skipped(db: Path) -> None:
    _store(db, [_signal("$ACME in 1999", ("ACME",), "bullish", 0.9, 9e8)])
    with IdeaBook(db, clock=Clock(9e8)) as book:
        result = book.propose(["ACME"])
    assert result.ideas == () and "had closed" in result.skipped[0].reason


# --- schema -------------------------------------------------------------------------------------------

def _database_before(path: Path, last: int) -> sqlite3.Connection:
    from engine.migrations import all_migrations
    from engine.store import split_sql

    from engine.textsearch import SQL_FUNCTION, sql_fold

    conn = sqlite3.connect(path)
    conn.create_function(SQL_FUNCTION, 1, sql_fold, deterministic=True)  # migration 13 uses it
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at REAL NOT NULL)")
    before = [m for m in all_migrations() if m[0] <= last]
    for number, name, sql in before:
        for statement in split_sql(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (number, name))
    conn.execute(f"PRAGMA user_version = {before[-1][0]}")
    return conn


def test_migration_keeps_raw_confidence_of_ideas_from_before_calibration(tmp_path: Path) -> None:
    path = tmp_path / DB_FILE_NAME
    conn = _database_before(path, 11)  # a database from before m0012
    conn.execute(
        "INSERT INTO ideas (created_at, signal_id, symbol, direction, strategy, regime, confidence, risk_level, "
        "risk_score, proposed_size, size_limit, entry, stop_loss, take_profit, snapshot, snapshot_sha256, state, "
        "size, updated_at) VALUES (?, 1, 'ACME', 'long', 'follow_news', 'bull_trend', 0.83, 'low', 0.2, 0.01, "
        "0.02, 10, 9, 12, '{}', 'x', 'proposed', 0.01, ?)", (NOW, NOW))
    conn.commit()
    conn.close()

    store = Store(path)  # an app update opens the old database
    assert {12, 20, 21} <= set(store.applied_migrations())
    with IdeaBook(store) as book:
        (old,) = book.list()
        assert (old.confidence, old.raw_confidence, old.calibrator) == (0.83, 0.83, "")
        assert old.confidence_text == "83% (uncalibrated)"
    conn = sqlite3.connect(path)
    for sql in ("UPDATE ideas SET raw_confidence = 0.5", "UPDATE ideas SET calibrator = 'forged'"):
        with pytest.raises(sqlite3.DatabaseError, match="immutable"):
            conn.execute(sql)
    with pytest.raises(sqlite3.DatabaseError, match="raw confidence"):
        conn.execute(
            "INSERT INTO ideas (created_at, signal_id, symbol, direction, strategy, regime, confidence, risk_level, "
            "risk_score, proposed_size, size_limit, entry, stop_loss, take_profit, snapshot, snapshot_sha256, "
            "state, size, updated_at) VALUES (0, 2, 'ACME', 'long', 'follow_news', 'bull_trend', 0.8, 'low', "
            "0.2, 0.01, 0.02, 10, 9, 12, '{}', 'x', 'proposed', 0.01, 0)")
    conn.close()
    store.close()


def test_ideas_from_before_revisions_keep_their_rows_decisions_and_audit(tmp_path: Path) -> None:
    """m0020 rebuilds the ideas and audit tables: per-headline ideas, their states and audit survive."""
    path = tmp_path / DB_FILE_NAME
    conn = _database_before(path, 13)
    columns = ("created_at, signal_id, symbol, direction, strategy, regime, confidence, risk_level, risk_score, "
               "proposed_size, size_limit, entry, stop_loss, take_profit, snapshot, snapshot_sha256, state, size, "
               "updated_at, raw_confidence, calibrator")
    for signal_id, state in ((1, "approved"), (2, "proposed"), (3, "rejected")):
        conn.execute(f"INSERT INTO ideas ({columns}) VALUES (?, ?, 'ACME', 'long', 'follow_news', 'bull_trend', "
                     "0.8, 'low', 0.2, 0.01, 0.02, 10, 9, 12, '{\"sizing\": {\"leverage_cap\": 1.0}}', 'x', ?, "
                     "0.01, ?, 0.8, '')", (NOW, signal_id, state, NOW))
        conn.execute("INSERT INTO idea_audit (idea_id, at, action, from_state, to_state, size_after, actor) "
                     "VALUES (?, ?, 'propose', NULL, 'proposed', 0.01, 'engine')", (signal_id, NOW))
    conn.commit()
    conn.close()
    store = Store(path)
    with IdeaBook(store, clock=Clock(NOW)) as book:
        assert [(i.id, i.state, i.status, i.title) for i in book.list(status="all")] == [
            (3, "rejected", "legacy", "#3"), (2, "proposed", "legacy", "#2"), (1, "approved", "legacy", "#1")]
        assert [a.idea_id for a in book.audit()] == [1, 2, 3]
        assert book.gross_exposure() == pytest.approx(0.01)  # the approved one is still held
        assert book.decide(2, "approve").state == "approved"  # and the pending one still decidable
    store.close()
