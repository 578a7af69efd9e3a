"""Entity linking (issue #17): the frozen test set, the linker's rules, and linking through the engine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from engine.config import Config
from engine.engine import Engine
from engine.entities import default_linker
from engine.entities.evaluate import evaluate, load_labelled
from engine.store import DB_FILE_NAME, Store

TEST_SET = Path(__file__).resolve().parent.parent / "data" / "entities_test.jsonl"
# Recorded when the set was written, before any linking rule existed; see tests/data/entities_README.md.
TEST_SET_SHA256 = "9312a77b7937de0278dbfeee4c3998875dc1739cd5d357ba2c7085d43b6ebcff"


def test_the_test_set_is_frozen_and_well_formed() -> None:
    assert hashlib.sha256(TEST_SET.read_bytes()).hexdigest() == TEST_SET_SHA256
    rows = [json.loads(line) for line in TEST_SET.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 300
    assert len({r["text"] for r in rows}) == len(rows)
    assert all(isinstance(r["gold"], list) and r["text"].strip() for r in rows)
    tags = {t for r in rows for t in r["tags"]}
    assert {"us", "eu", "macro", "ambiguous", "multi", "cashtag", "former"} <= tags
    assert sum(1 for r in rows if not r["gold"]) >= 50  # macro and ordinary-word headlines
    assert sum(1 for r in rows if len(r["gold"]) > 1) >= 50  # several companies per headline


# --- linking through the real engine ---------------------------------------------------------------


def test_the_test_set_through_the_real_engine_meets_the_targets(data_dir: Path) -> None:
    rows = load_labelled(TEST_SET)
    engine = Engine(Config(), data_dir)
    try:
        stored = engine.analyze_batch([r["text"] for r in rows], "paste")
        report = evaluate(rows, lambda texts: [s.entities for s in stored])
    finally:
        engine.close()
    assert report.precision >= 0.95 and report.recall >= 0.90, report.errors
    # What was stored is what was linked: entities and every span, read back from the database.
    store = Store(data_dir / DB_FILE_NAME)
    try:
        again = store.recent_signals(len(rows))
    finally:
        store.close()
    assert [s.entities for s in again] == [s.entities for s in stored]
    assert [s.links for s in again] == [s.links for s in stored]
    spans = [(s.text, link) for s in again for link in s.links]
    assert len(spans) >= 450
    assert all(text[link.start:link.end] == link.text for text, link in spans)


@pytest.mark.parametrize("text, expected", [
    # case and context decide ordinary words
    ("Central bank misses its inflation target again", ()),
    ("Target cuts annual profit forecast", ("TGT",)),
    ("Target date funds see record inflows", ()),
    ("Shares of Target slide", ("TGT",)),
    ("Apple pie prices jump", ()),
    ("Apple's iPhone sales fall", ("AAPL",)),
    ("Harrison Ford stars in a new film", ()),
    ("Stellantis, Ford recall SUVs", ("STLAP.PA", "F")),
    ("Next week: Fed decision", ()),
    ("Next raises guidance", ("NXT.L",)),
    ("APPLE PIE PRICES JUMP", ()),
    ("APPLE SHARES JUMP", ("AAPL",)),
    # names, aliases and folding of punctuation and accents
    ("Rolls Royce and Nestle gain", ("RR.L", "NESN.SW")),
    ("JP Morgan profit rises", ("JPM",)),
    ("Facebook owner fined", ("META",)),
    ("Siemens Energy shares jump", ("ENR.DE",)),
    # an everyday word or market name needs its legal form
    ("Pool of buyers shrinks", ()),
    ("Pool Corp cuts forecast", ("POOL",)),
    ("Nasdaq closes higher", ()),
    ("Nasdaq Inc to buy a software firm", ("NDAQ",)),
    # symbols: canonical through any listing; unknown ones as written; money is not a cashtag
    ("$SHEL and $msft rise", ("SHEL.L", "MSFT")),
    ("Vodafone (LSE: VOD) sells unit", ("VOD.L",)),
    ("$ZZZQ halted", ("ZZZQ",)),
    ("A $5 billion buyback", ()),
    ("NVDA and AVGO lead; LNG prices fall", ("NVDA", "AVGO")),
    # a bank that signs a view is not the news
    ("Goldman Sachs upgrades Tesla to buy", ("TSLA",)),
    ("Goldman Sachs profit jumps", ("GS",)),
    ("Tesla cut to neutral at Morgan Stanley", ("TSLA",)),
])
def test_linking_rules(text: str, expected: tuple[str, ...]) -> None:
    assert default_linker().entities(text) == expected


def test_spans_roles_and_declared_symbols() -> None:
    linker = default_linker()
    text = "Goldman Sachs upgrades Apple's rival McDonald's"
    links = linker.link(text)
    assert [(l.symbol, l.text, l.method, l.role) for l in links] == [
        ("GS", "Goldman Sachs", "name", "analyst"), ("AAPL", "Apple", "name", "subject"),
        ("MCD", "McDonald's", "name", "subject")]
    assert all(text[l.start:l.end] == l.text for l in links)
    declared = linker.link_with_declared("Volt Motors names a new CEO", ["volt", "FXEU"])
    assert [(l.symbol, l.method, l.start) for l in declared] == [("FXEU", "feed", -1), ("VOLT", "name", 0)]


def test_linking_cost_is_bounded_for_hostile_input() -> None:
    # Untrusted text: a very long item is linked on its head only; odd characters do not break tokenising.
    text = ("Tesla " * 5000) + "\u202e\x00$$$ && -- ''"
    links = default_linker().link(text)
    assert links and all(l.end <= 4000 for l in links)
