"""Trade ideas on a real SQLite file: proposing, routing, review, audit, restart, export."""

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
from tests.conftest import db_with_demo_prices
from engine.types import Signal

NOW = 1_750_000_000.0


def _signal(text: str, symbols: tuple[str, ...], label: str, confidence: float) -> Signal:
    rest = (1 - confidence) / 2
    probs = {"bearish": (confidence, rest, rest), "bullish": (rest, confidence, rest),
             "neutral": (rest, rest, confidence)}[label]
    return Signal(None, NOW, "paste", text, symbols, label, probs, confidence, probs[1] - probs[0],
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


@pytest.fixture
def db(data_dir: Path) -> Path:
    return db_with_demo_prices(data_dir)


@pytest.fixture
def signals(db: Path) -> list[Signal]:
    store = Store(db)
    try:
        return store.add_signals([_signal(*h) for h in HEADLINES])
    finally:
        store.close()


@pytest.fixture
def book(db: Path):
    b = IdeaBook(db, clock=lambda: NOW)
    yield b
    b.close()


def test_ideas_are_routed_by_regime_and_skips_are_explained(book: IdeaBook, signals: list[Signal]) -> None:
    result = book.propose_from_signals(signals)
    got = {i.symbol: (i.direction, i.strategy, i.regime) for i in result.ideas}
    assert got == {
        "ACME": ("long", "follow_news", "bull_trend"),           # follow in a bull trend
        "DUNE": ("long", "fade_stretched_move", "bear_trend"),   # bearish news, stretched down: fade
        "ZEPH": ("short", "follow_news", "crash"),               # follow in a crash
        "VOLT": ("long", "follow_news", "high_vol"),
    }
    reasons = {(s.signal_id, s.symbol): s.reason for s in result.skipped}
    by_text = {s.text: s.id for s in signals}
    assert "not stretched" in reasons[(by_text["$FXEU edges higher"], "FXEU")]
    assert reasons[(by_text["$AAPL unveils a phone"], "AAPL")] == "no market data for AAPL"
    assert "below the idea threshold 0.70" in reasons[(by_text["$ACME mentioned in passing"], None)]
    assert "no direction" in reasons[(by_text["Markets mixed"], None)]
    assert all(i.state == "proposed" and 0 < i.size == i.proposed_size <= i.size_limit for i in result.ideas)


def test_threshold_is_configurable(db: Path, signals: list[Signal]) -> None:
    with IdeaBook(db, config=RiskConfig(idea_min_confidence=0.4)) as loose:
        symbols = sorted(i.symbol for i in loose.propose_from_signals(signals).ideas)
    assert symbols.count("ACME") == 2


def test_unsaved_signals_and_duplicates_are_not_proposed(book: IdeaBook, signals: list[Signal]) -> None:
    unsaved = _signal(*HEADLINES[0])
    assert book.propose_from_signals([unsaved]).ideas == ()
    first = book.propose_from_signals(signals)
    again = book.propose_from_signals(signals)
    assert again.ideas == () and sum("already proposed" in s.reason for s in again.skipped) == len(first.ideas)


def test_an_idea_is_a_complete_immutable_snapshot(book: IdeaBook, signals: list[Signal], db: Path) -> None:
    idea = next(i for i in book.propose_from_signals(signals).ideas if i.symbol == "ACME")
    snap = idea.snapshot
    assert hashlib.sha256(idea.snapshot_json.encode()).hexdigest() == idea.snapshot_sha256
    passing = next(s.id for s in signals if s.text == "$ACME mentioned in passing")
    assert snap["signal_ids"] == sorted([idea.signal_id, passing])  # every ACME headline so far
    assert snap["model_versions"] == {"sentiment": "lexicon-fin@1.0"}
    assert snap["features"]["symbol"] == "ACME" and snap["regime"]["name"] == "bull_trend"
    assert snap["risk"]["level"] == idea.risk_level and snap["risk"]["factors"]
    assert snap["sizing"]["fraction"] == idea.proposed_size and snap["sizing"]["stop_loss"] == idea.stop_loss
    assert snap["strategy"]["strategy"] == "follow_news"
    assert snap["risk_config_fingerprint"] == RiskConfig().fingerprint()
    for words in ("Follow the news", "long ACME", "stop", "target", "nothing is executed", "days old"):
        assert words in idea.rationale
    conn = sqlite3.connect(db)
    for sql in ("UPDATE ideas SET snapshot = '{}' WHERE id = ?", "UPDATE ideas SET size_limit = 1 WHERE id = ?",
                "UPDATE ideas SET direction = 'short' WHERE id = ?", "DELETE FROM ideas WHERE id = ?"):
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql, (idea.id,))
    conn.close()
    assert book.get(idea.id) == idea


def test_review_rules(book: IdeaBook, signals: list[Signal]) -> None:
    ideas = {i.symbol: i for i in book.propose_from_signals(signals).ideas}
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


def test_approval_respects_the_regime_leverage_cap(db: Path, signals: list[Signal]) -> None:
    cfg = RiskConfig(leverage_bull_trend=0.06, idea_min_confidence=0.4, trend_min_gap=0.02)
    with IdeaBook(db, config=cfg, tolerance="medium") as book:
        acme = sorted((i for i in book.propose_from_signals(signals).ideas if i.symbol == "ACME"),
                      key=lambda i: i.id)
        assert len(acme) == 2 and all(i.size == 0.05 for i in acme)
        book.decide(acme[0].id, "approve")
        with pytest.raises(DecisionError, match="leverage cap"):
            book.decide(acme[1].id, "approve")
        book.decide(acme[1].id, "edit", "fit under the cap", size=0.01)
        assert book.decide(acme[1].id, "approve").state == "approved"
        assert book.gross_exposure() == pytest.approx(0.06)
        view = book.portfolio()
        assert view.gross == pytest.approx(0.06) and [e.symbol for e in view.exposures] == ["ACME"]


def test_decisions_survive_reopening_the_database(db: Path, signals: list[Signal]) -> None:
    with IdeaBook(db) as book:
        ideas = {i.symbol: i for i in book.propose_from_signals(signals).ideas}
        book.decide(ideas["ACME"].id, "approve", "clean beat")
        book.decide(ideas["DUNE"].id, "edit", "smaller", size=0.005)
        book.decide(ideas["ZEPH"].id, "reject", "no")
        before = (book.list(), book.audit())
    with IdeaBook(Store(db)) as reopened:
        assert (reopened.list(), reopened.audit()) == before
        assert reopened.get(ideas["ACME"].id).state == "approved"
        assert reopened.get(ideas["DUNE"].id).size == 0.005
        assert reopened.audit(ideas["ZEPH"].id)[-1].note == "no"


def test_audit_is_append_only(book: IdeaBook, signals: list[Signal], db: Path) -> None:
    idea = book.propose_from_signals(signals).ideas[0]
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
    ideas = book.propose_from_signals(signals).ideas
    book.decide(ideas[0].id, "reject", "stale data")
    assert book.export(tmp_path / "ideas.json") == len(ideas)
    payload = json.loads((tmp_path / "ideas.json").read_text(encoding="utf-8"))
    assert "Nothing was sent" in payload["notice"] and len(payload["ideas"]) == len(ideas)
    exported = {i["id"]: i for i in payload["ideas"]}
    assert [a["action"] for a in exported[ideas[0].id]["audit"]] == ["propose", "reject"]
    assert exported[ideas[0].id]["snapshot"]["sizing"]["fraction"] == ideas[0].proposed_size
    assert book.export(tmp_path / "ideas.csv") == len(ideas)
    with open(tmp_path / "ideas.csv", encoding="utf-8", newline="") as fh:
        rows = {int(r["id"]): r for r in csv.DictReader(fh)}
    assert rows[ideas[0].id]["state"] == "rejected" and rows[ideas[0].id]["last_note"] == "stale data"
    assert "nothing is executed" in rows[ideas[0].id]["rationale"]
    assert book.export(tmp_path / "approved.csv", state="approved") == 0
    with pytest.raises(ValueError, match=".csv or .json"):
        book.export(tmp_path / "ideas.xlsx")
    assert not list(tmp_path.glob("*.part"))


# --- confidence blending ------------------------------------------------------------------

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
        store = Store(path)
        stored = store.add_signals([_signal(*h) for h in HEADLINES])
        store.close()
        llm = {s.id: LlmOpinion("bearish" if s.label == "bullish" else "bullish", 0.99, "llm", "q4")
               for s in stored} if with_llm else None
        with IdeaBook(path, clock=lambda: NOW) as book:
            results.append(book.propose_from_signals(stored, llm=llm).ideas)
    plain, advised = results
    assert [(i.symbol, i.proposed_size, i.size_limit, i.state, i.stop_loss) for i in plain] == \
        [(i.symbol, i.proposed_size, i.size_limit, i.state, i.stop_loss) for i in advised]
    assert all(a.confidence < p.confidence for p, a in zip(plain, advised))
    assert advised[0].snapshot["model_versions"]["llm"] == "llm@q4"


def test_replayed_news_only_sees_bars_and_headlines_from_before_it(db: Path) -> None:
    market = MarketData(db)
    acme = market.bars("ACME")
    market.close()
    # A headline that arrived at noon on the day of bar 400 (bars are stamped at their open).
    arrival = float(acme.ts[400] + 12 * 3600)
    store = Store(db)
    early, late = store.add_signals([
        replace(_signal("$ACME loses a big contract", ("ACME",), "bearish", 0.9), received_at=arrival),
        replace(_signal("$ACME later news", ("ACME",), "bearish", 0.9), received_at=arrival + 86_400 * 30),
    ])
    store.close()
    with IdeaBook(db) as book:
        result = book.propose_from_signals([early, late])
    idea = next(i for i in result.ideas if i.signal_id == early.id)
    snap = idea.snapshot
    assert snap["features"]["as_of"] == int(acme.ts[399])  # bar 400 had not closed yet
    assert snap["sizing"]["entry"] == acme.close[399]
    assert snap["signal_ids"] == [early.id]  # the later headline is not in its news
    assert late.id not in {s.signal_id for s in result.skipped if "had closed" in s.reason}


def test_news_older_than_all_market_data_is_skipped(db: Path) -> None:
    store = Store(db)
    (old,) = store.add_signals([replace(_signal("$ACME in 1999", ("ACME",), "bullish", 0.9), received_at=9e8)])
    store.close()
    with IdeaBook(db) as book:
        result = book.propose_from_signals([old])
    assert result.ideas == () and "had closed" in result.skipped[0].reason


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


def test_stored_llm_explanations_are_blended_but_fallbacks_are_not(tmp_path: Path) -> None:
    path = db_with_demo_prices(tmp_path)
    store = Store(path)
    stored = store.add_signals([_signal(*h) for h in HEADLINES])
    contrary = {"bullish": "bearish", "bearish": "bullish", "neutral": "bullish"}
    _store_llm_explanation(store, stored[0].id, contrary[stored[0].label], 0.95, fallback=False)
    _store_llm_explanation(store, stored[1].id, contrary[stored[1].label], 0.95, fallback=True)
    store.close()
    with IdeaBook(path, clock=lambda: NOW) as book:
        opinions = book.stored_llm_opinions([s.id for s in stored])
        assert set(opinions) == {stored[0].id}  # the template fallback is not an LLM opinion
        assert opinions[stored[0].id].model_id == "smollm2"
        ideas = book.propose_from_signals(stored).ideas
    advised = [i for i in ideas if i.snapshot.get("llm_opinion")]
    assert len(advised) == 1 and advised[0].snapshot["model_versions"]["llm"] == "smollm2@q4_1"


# --- calibrated confidence -------------------------------------------------------------------

def _calibrated(signal: Signal, confidence: float, calibrator: str = "platt/top_label #1") -> Signal:
    return replace(signal, calibrated_confidence=confidence, calibrator=calibrator)


def test_ideas_use_the_calibrated_confidence_and_keep_the_raw_one(db: Path, signals: list[Signal]) -> None:
    by_text = {s.text: s for s in signals}
    acme = by_text["$ACME beats estimates and raises guidance"]  # raw 0.85
    zeph = by_text["$ZEPH plunges as auditors resign"]  # raw 0.80
    passing = by_text["$ACME mentioned in passing"]  # raw 0.50
    shown = [_calibrated(acme, 0.72), _calibrated(zeph, 0.61), _calibrated(passing, 0.74)]
    with IdeaBook(db, clock=lambda: NOW) as book:
        result = book.propose_from_signals(shown)
    ideas = {i.signal_id: i for i in result.ideas}
    # The threshold reads the calibrated figure both ways: 0.80 raw but 0.61 calibrated is out,
    # 0.50 raw but 0.74 calibrated is in.
    reasons = {s.signal_id: s.reason for s in result.skipped}
    assert zeph.id not in ideas and "confidence 0.61" in reasons[zeph.id] and "raw 0.80" in reasons[zeph.id]
    assert passing.id in ideas
    idea = ideas[acme.id]
    assert (idea.confidence, idea.raw_confidence, idea.calibrator) == (0.72, 0.85, "platt/top_label #1")
    assert idea.calibrated and idea.confidence_text == "72% (raw 85%, platt/top_label #1)"
    snap = idea.snapshot
    assert snap["sizing"]["win_probability"] == 0.72  # sized by the calibrated figure (cap is 0.75)
    assert snap["confidence"]["classifier"] == 0.72 and snap["confidence"]["classifier_raw"] == 0.85
    assert snap["confidence"]["value_raw"] == 0.85 and snap["confidence"]["calibrator"] == "platt/top_label #1"
    assert snap["trigger_signal"]["confidence"] == 0.85 and snap["trigger_signal"]["calibrated_confidence"] == 0.72
    assert "confidence 72% calibrated (raw 85%, platt/top_label #1)" in idea.rationale
    with IdeaBook(Store(db)) as reopened:  # both figures survive a restart
        assert reopened.get(idea.id) == idea


def test_calibration_changes_sizing_against_the_raw_run(tmp_path: Path) -> None:
    """Same headline, same market: raw 0.85 sizes at the 0.75 cap, calibrated 0.72 below it."""
    sizes = {}
    for name, calibrated in (("raw", None), ("calibrated", 0.72)):
        path = db_with_demo_prices(tmp_path / name)
        store = Store(path)
        (stored,) = store.add_signals([_signal(*HEADLINES[0])])
        store.close()
        signal = stored if calibrated is None else _calibrated(stored, calibrated)
        with IdeaBook(path, clock=lambda: NOW) as book:
            (idea,) = book.propose_from_signals([signal]).ideas
        sizes[name] = idea
    raw, cal = sizes["raw"], sizes["calibrated"]
    assert raw.snapshot["sizing"]["win_probability"] == 0.75  # 0.85 capped
    assert cal.snapshot["sizing"]["win_probability"] == 0.72
    assert cal.snapshot["sizing"]["kelly_cap"] < raw.snapshot["sizing"]["kelly_cap"]
    assert (raw.calibrator, raw.raw_confidence, raw.confidence) == ("", 0.85, 0.85)
    assert raw.confidence_text == "85% (uncalibrated)"


def test_a_stored_calibrator_reaches_ideas_through_the_calibration_service(db: Path, signals: list[Signal]) -> None:
    from engine.calibration.calibrators import make_calibrator
    from engine.calibration.repository import CalibrationRepository
    from engine.calibration.service import CalibrationService

    rng = np.random.default_rng(7)
    conf = rng.uniform(0.34, 1.0, 4000)
    correct = rng.uniform(size=conf.size) < 0.15 + 0.7 * conf  # overconfident: 0.85 is right ~75%
    store = Store(db)
    stored = CalibrationRepository(store).save_calibrator(
        "lexicon-fin", "1.0", make_calibrator("platt").fit_correctness(conf, correct), len(conf), {})
    views = CalibrationService(store).calibrate(signals)
    store.close()
    shown = [replace(s, calibrated_confidence=v.confidence, calibrator=v.calibrator) for s, v in zip(signals, views)]
    acme = next(s for s in shown if s.text.startswith("$ACME beats"))
    assert acme.calibrator == stored.label and 0.70 < acme.calibrated_confidence < acme.confidence
    with IdeaBook(db, clock=lambda: NOW) as book:
        idea = next(i for i in book.propose_from_signals(shown).ideas if i.signal_id == acme.id)
    assert idea.confidence == pytest.approx(acme.calibrated_confidence) and idea.raw_confidence == 0.85
    assert idea.calibrator == stored.label


def test_migration_keeps_raw_confidence_of_ideas_from_before_calibration(tmp_path: Path) -> None:
    from engine.migrations import all_migrations
    from engine.store import split_sql

    path = tmp_path / DB_FILE_NAME
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at REAL NOT NULL)")
    before = [m for m in all_migrations() if m[0] < 12]  # a database from before m0012
    for number, name, sql in before:
        for statement in split_sql(sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (number, name))
    conn.execute(f"PRAGMA user_version = {before[-1][0]}")
    conn.execute(
        "INSERT INTO ideas (created_at, signal_id, symbol, direction, strategy, regime, confidence, risk_level, "
        "risk_score, proposed_size, size_limit, entry, stop_loss, take_profit, snapshot, snapshot_sha256, state, "
        "size, updated_at) VALUES (?, 1, 'ACME', 'long', 'follow_news', 'bull_trend', 0.83, 'low', 0.2, 0.01, "
        "0.02, 10, 9, 12, '{}', 'x', 'proposed', 0.01, ?)", (NOW, NOW))
    conn.commit()
    conn.close()

    store = Store(path)  # an app update opens the old database
    assert 12 in store.applied_migrations()
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
