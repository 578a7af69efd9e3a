"""The bundled demo news feed and synthetic headline bursts (all invented, generated here).

``python -m engine.news.demo --write`` regenerates ``resources/demo/news/demo_feed.jsonl``
byte for byte (fixed seed). The companies are fictional; the five symbols with demo prices
(ACME, DUNE, ZEPH, VOLT, FXEU, see resources/demo/prices/README.md) get news that fits the
regime their price series ends in: ACME mostly good news (bull trend), DUNE mostly bad (bear
trend), ZEPH a collapse (crash), VOLT both ways (high volatility), FXEU euro macro (chop).

``synthetic_headlines(n)`` produces a reproducible burst of distinct headlines for the
pipeline bench and the crash test, from the same templates.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from engine.resources import resources_dir

DEMO_SEED = 8
DEMO_ITEMS = 320
DEMO_START = datetime(2025, 3, 3, 13, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Company:
    ticker: str
    name: str
    exchange: str


PRICED = {
    "ACME": Company("ACME", "Acme Corp", "NASDAQ"),
    "DUNE": Company("DUNE", "Dune Energy", "NYSE"),
    "ZEPH": Company("ZEPH", "Zephyr Biotech", "NASDAQ"),
    "VOLT": Company("VOLT", "Volt Motors", "NASDAQ"),
}
OTHERS = [Company(t, n, x) for t, n, x in (
    ("ORBT", "Orbit Telecom", "NYSE"), ("NWND", "Northwind Foods", "NYSE"), ("PNCR", "Pinecrest Bank", "NYSE"),
    ("QNTA", "Quanta Chips", "NASDAQ"), ("SBLA", "Sable Airlines", "NYSE"), ("MRDN", "Meridian Software", "NASDAQ"),
    ("HRBR", "Harbor Retail", "NYSE"), ("KSTL", "Kestrel Aerospace", "NYSE"), ("LTCE", "Lattice Data", "NASDAQ"),
    ("GRNT", "Granite Insurance", "NYSE"), ("FTHM", "Fathom Robotics", "NASDAQ"), ("BCN", "Beacon Financial", "NYSE"),
)]
# Share of items per priced symbol and the chance that an item about it is good news.
TONE = {"ACME": 0.8, "DUNE": 0.2, "ZEPH": 0.1, "VOLT": 0.5}

GOOD = [
    ("earnings", "{name} beats {q} profit estimates as revenue climbs {pct}%"),
    ("earnings", "{name} raises full-year guidance after strong {q} results"),
    ("earnings", "{name} {q} EPS ${eps} vs ${eps_lo} expected; revenue tops forecasts"),
    ("earnings", "{name} posts record quarterly revenue, margins widen"),
    ("corporate", "{name} announces ${amt} billion share buyback"),
    ("corporate", "{name} raises quarterly dividend by {small}%"),
    ("corporate", "{name} wins ${amt} billion multi-year contract"),
    ("corporate", "{name} agrees to acquire smaller rival for ${amt} billion"),
    ("corporate", "{name} unveils new product line, pre-orders strong"),
    ("regulatory", "Regulators approve {name}'s flagship product for sale in Europe"),
    ("regulatory", "{name} wins court ruling in long-running patent case"),
    ("market", "{broker} upgrades {name} to buy, lifts price target to ${target}"),
    ("market", "{name} shares jump {pct}% to a record high"),
    ("market", "${ticker} rallies in heavy volume, up {pct}% on the session"),
    ("market", "{broker} initiates {name} at outperform"),
]
BAD = [
    ("earnings", "{name} misses {q} estimates as costs rise; shares slide"),
    ("earnings", "{name} cuts annual outlook, citing weaker demand"),
    ("earnings", "{name} warns {q} revenue will fall short of forecasts"),
    ("earnings", "{name} swings to a {q} loss on writedowns"),
    ("corporate", "{name} to cut {jobs} jobs in restructuring"),
    ("corporate", "{name} suspends dividend to preserve cash"),
    ("corporate", "{name} chief financial officer resigns unexpectedly"),
    ("corporate", "{name} recalls products over safety defect"),
    ("regulatory", "SEC opens investigation into {name}'s accounting"),
    ("regulatory", "{name} fined ${small}0 million by regulators over compliance lapses"),
    ("regulatory", "Justice Department sues to block {name} merger"),
    ("market", "{broker} downgrades {name} to sell, cuts target to ${target}"),
    ("market", "{name} shares tumble {pct}% to a 52-week low"),
    ("market", "${ticker} slides {pct}% premarket as selling accelerates"),
    ("market", "Short sellers pile into {name} as short interest hits {small}%"),
]
CRASH = [
    ("regulatory", "FDA rejects {name}'s lead drug, shares halted"),
    ("corporate", "{name} drug trial fails to meet main goal; stock plunges {big}%"),
    ("market", "{name} shares crash {big}% in record volume"),
    ("corporate", "{name} explores options including sale after trial failure"),
    ("market", "{broker} slashes {name} target to ${target_lo} after trial flop"),
    ("corporate", "{name} to cut half of workforce as cash runs low"),
    ("regulatory", "Shareholders sue {name} over trial disclosures"),
]
FX_MACRO = [
    ("macro", "ECB holds rates, signals cut as euro-area inflation eases to {infl}%"),
    ("macro", "Euro zone PMI rises to {pmi}, beating forecasts ($FXEU)"),
    ("macro", "Euro slips after weak German factory orders; $FXEU lower"),
    ("macro", "Eurozone inflation rises to {infl}%, above ECB target ($FXEU)"),
    ("macro", "ECB's chief economist says policy must stay restrictive ($FXEU)"),
    ("market", "$FXEU edges higher as dollar softens ahead of US data"),
    ("market", "$FXEU little changed in quiet Asian session"),
    ("macro", "German GDP contracts {small_dec}% in the quarter ($FXEU)"),
]
MACRO = [
    "Fed holds rates steady, sees {cuts} cuts this year",
    "US consumer prices rise {infl_m}% in the month, core inflation {infl}%",
    "US economy adds {payrolls},000 jobs; unemployment at {unemp}%",
    "Initial jobless claims fall to {claims},000",
    "US retail sales rise {small_dec}% in February",
    "Treasury yields climb after strong ISM services reading",
    "Oil jumps {small}% as OPEC+ extends output cuts",
    "Bank of Japan keeps policy unchanged, yen weakens",
]
CRYPTO = [
    ("BTC.X", "Bitcoin rises {small}% to ${btc:,} as ETF inflows continue"),
    ("BTC.X", "Bitcoin slips below ${btc:,} as traders take profits"),
    ("ETH.X", "Ether climbs {small}% ahead of network upgrade"),
    ("ETH.X", "Ether falls {small}% as staking withdrawals rise"),
    ("BTC.X", "Crypto exchange reports record bitcoin trading volume"),
    ("BTC.X", "Bitcoin miners sell holdings as hashrate hits high"),
]
BROKERS = ["Goldman Sachs", "Morgan Stanley", "JPMorgan", "Barclays", "Citi", "UBS", "Jefferies", "Bernstein"]
QUARTERS = ["Q1", "Q2", "Q3", "Q4", "first-quarter", "second-quarter", "third-quarter", "fourth-quarter"]
# Source kinds: a wire, a research desk, a social account (seed 000 weights them).
SOURCES = (("demo-wire", "news", 0.65), ("demo-research", "analyst", 0.2), ("demo-social", "social", 0.15))


def demo_feed_path() -> Path:
    return resources_dir() / "demo" / "news" / "demo_feed.jsonl"


def _slots(rng: random.Random) -> dict:
    eps = round(rng.uniform(0.3, 3.5), 2)
    return {
        "q": rng.choice(QUARTERS), "pct": rng.randint(3, 14), "small": rng.randint(2, 9), "big": rng.randint(35, 80),
        "eps": f"{eps:.2f}", "eps_lo": f"{eps - rng.uniform(0.02, 0.2):.2f}", "amt": rng.choice(["1", "1.5", "2", "3.2", "5"]),
        "jobs": f"{rng.randint(4, 60) * 100:,}", "target": rng.randint(40, 400), "target_lo": rng.randint(2, 15),
        "broker": rng.choice(BROKERS), "infl": f"{rng.uniform(1.8, 3.6):.1f}", "infl_m": f"{rng.uniform(0.1, 0.5):.1f}",
        "pmi": f"{rng.uniform(46, 54):.1f}", "small_dec": f"{rng.uniform(0.1, 0.9):.1f}", "cuts": rng.choice(["two", "three"]),
        "payrolls": rng.randint(120, 320), "unemp": f"{rng.uniform(3.6, 4.4):.1f}", "claims": rng.randint(195, 260),
        "btc": rng.randint(52, 74) * 1000,
    }


def _with_ticker(rng: random.Random, text: str, company: Company) -> str:
    """Name the ticker the way feeds do: a cashtag, an exchange tag, or not at all (then the
    item carries it in its ``tickers`` field)."""
    if f"${company.ticker}" in text:
        return text
    style = rng.random()
    if style < 0.45 or f"{company.name}'s" in text:  # "Acme Corp (NASDAQ: ACME)'s" reads badly
        return f"{text} ${company.ticker}"
    if style < 0.8:
        return text.replace(company.name, f"{company.name} ({company.exchange}: {company.ticker})", 1)
    return text


def _headline(rng: random.Random) -> tuple[str, tuple[str, ...]]:
    roll = rng.random()
    if roll < 0.52:
        ticker = rng.choices(list(PRICED), weights=[3, 3, 2, 3])[0]
        company = PRICED[ticker]
        pool = CRASH if ticker == "ZEPH" and rng.random() < 0.6 else (GOOD if rng.random() < TONE[ticker] else BAD)
        _cat, template = rng.choice(pool)
    elif roll < 0.64:
        _cat, template = rng.choice(FX_MACRO)
        return template.format(**_slots(rng)), ("FXEU",)
    elif roll < 0.72:
        return rng.choice(MACRO).format(**_slots(rng)), ()
    elif roll < 0.8:
        ticker, template = rng.choice(CRYPTO)
        return f"{template.format(**_slots(rng))} ${ticker}", (ticker,)
    else:
        company = rng.choice(OTHERS)
        _cat, template = rng.choice(GOOD + BAD)
    text = template.format(name=company.name, ticker=company.ticker, **_slots(rng))
    return _with_ticker(rng, text, company), (company.ticker,)


def demo_records(n: int = DEMO_ITEMS, seed: int = DEMO_SEED) -> list[dict]:
    rng = random.Random(seed)
    moment = DEMO_START.timestamp()
    records, seen = [], set()
    while len(records) < n:
        text, tickers = _headline(rng)
        if text in seen:
            continue
        seen.add(text)
        moment += rng.randint(20, 150)
        source, kind = rng.choices([(s, k) for s, k, _w in SOURCES], weights=[w for *_x, w in SOURCES])[0]
        records.append({
            "guid": f"demo-{len(records) + 1:04d}",
            "published_at": datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "source": source, "kind": kind, "tickers": list(tickers), "text": text,
        })
    return records


def render_demo_feed() -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in demo_records())


def synthetic_headlines(n: int, seed: int = 1) -> Iterator[str]:
    """``n`` distinct headlines, lazily (a 100k burst never sits in memory as objects)."""
    rng = random.Random(seed)
    seen: set[int] = set()
    produced = 0
    while produced < n:
        text, _tickers = _headline(rng)
        key = hash(text)
        if key in seen:
            text = f"{text} (update {produced})"  # templates repeat at this scale; the wording must not
            key = hash(text)
        seen.add(key)
        produced += 1
        yield text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="(re)write resources/demo/news/demo_feed.jsonl")
    args = parser.parse_args(argv)
    content = render_demo_feed()
    if args.write:
        path = demo_feed_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path} ({content.count(chr(10))} items)")
    else:
        print(content, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
