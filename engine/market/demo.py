"""Synthetic demo prices: seeded, regime-switching random walks written as OHLCV CSV.

Why synthetic: the sample files that ship inside the ``backtesting`` package (GOOG,
EURUSD, BTCUSD) come with that package's AGPL-3.0 licence and no separate data licence
or provenance, so this MIT project does not redistribute them. These series are made
here, are free to share with the project, and end in known regimes (one per regime) so
the desk has something to show for each.

The files under ``resources/demo/prices/`` are exactly what this module writes:
``python -m engine.market.demo --write`` regenerates them byte for byte (a test checks).
The symbols are invented; nothing here is a real market's history.
"""

from __future__ import annotations

import argparse
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from engine.resources import resources_dir

TRADING_DAYS = 252


@dataclass(frozen=True)
class Segment:
    bars: int
    drift: float  # annualised log drift
    vol: float  # annualised volatility


@dataclass(frozen=True)
class DemoSeries:
    symbol: str
    seed: int
    start: str  # ISO date of the first bar
    hourly: bool  # hourly bars on weekdays, else one bar per weekday
    price: float
    volume: float  # typical volume per bar
    decimals: int
    segments: tuple[Segment, ...]
    ends_in: str  # the regime the classifier sees at the last bar (with default thresholds)


DEMO_SERIES: tuple[DemoSeries, ...] = (
    DemoSeries("ACME", 11, "2021-01-04", False, 120.0, 3.0e6, 2,
               (Segment(260, 0.10, 0.20), Segment(180, -0.25, 0.28), Segment(200, 0.0, 0.18),
                Segment(260, 0.40, 0.16)), "bull_trend"),
    DemoSeries("DUNE", 12, "2021-01-04", False, 60.0, 1.5e6, 2,
               (Segment(300, 0.15, 0.22), Segment(200, 0.0, 0.20), Segment(300, -0.35, 0.22)),
               "bear_trend"),
    DemoSeries("ZEPH", 13, "2021-01-04", False, 45.0, 8.0e5, 2,
               (Segment(300, 0.25, 0.35), Segment(250, 0.0, 0.30), Segment(300, 0.50, 0.35),
                Segment(25, -4.0, 0.70)), "crash"),
    DemoSeries("VOLT", 14, "2021-01-04", False, 30.0, 1.2e6, 2,
               (Segment(400, 0.05, 0.25), Segment(300, 0.10, 0.22), Segment(30, 0.0, 1.10)),
               "high_vol"),
    DemoSeries("FXEU", 15, "2023-01-02", True, 1.10, 5.0e6, 5,
               (Segment(1500, 0.0, 0.07), Segment(1000, 0.08, 0.08), Segment(1500, 0.0, 0.07)),
               "chop"),
)


def _timestamps(series: DemoSeries, count: int) -> list[datetime]:
    stamps: list[datetime] = []
    current = datetime.combine(date.fromisoformat(series.start), datetime.min.time())
    step = timedelta(hours=1) if series.hourly else timedelta(days=1)
    while len(stamps) < count:
        if current.weekday() < 5:  # weekdays only, as exchanges (and FX, roughly) trade
            stamps.append(current)
        current += step
    return stamps


def generate_csv(series: DemoSeries) -> str:
    """The series as CSV text; the same DemoSeries always gives the same text."""
    rng = np.random.Generator(np.random.PCG64(series.seed))
    per_year = TRADING_DAYS * (24 if series.hourly else 1)
    drift = np.concatenate([np.full(s.bars, s.drift / per_year) for s in series.segments])
    sigma = np.concatenate([np.full(s.bars, s.vol / np.sqrt(per_year)) for s in series.segments])
    n = len(drift)
    shocks = rng.standard_normal((n, 4))
    gap = 0.1 * sigma * shocks[:, 0]  # small open-vs-previous-close gaps
    body = drift + sigma * shocks[:, 1]
    wick_up = 0.5 * sigma * np.abs(shocks[:, 2])
    wick_down = 0.5 * sigma * np.abs(shocks[:, 3])
    noise = rng.standard_normal(n)

    scale = 10 ** series.decimals
    out = io.StringIO()
    out.write("Date,Open,High,Low,Close,Volume\n")
    close = series.price
    for i, stamp in enumerate(_timestamps(series, n)):
        open_ = round(close * np.exp(gap[i]) * scale) / scale
        close = round(open_ * np.exp(body[i]) * scale) / scale
        high = max(open_, close, round(max(open_, close) * np.exp(wick_up[i]) * scale) / scale)
        low = min(open_, close, round(min(open_, close) * np.exp(-wick_down[i]) * scale) / scale)
        # Volume swells on big moves, as it does in markets.
        volume = int(series.volume * np.exp(0.3 * noise[i] + 0.5 * abs(body[i]) / sigma[i]))
        when = stamp.strftime("%Y-%m-%d %H:%M:%S" if series.hourly else "%Y-%m-%d")
        out.write(f"{when},{open_:.{series.decimals}f},{high:.{series.decimals}f},"
                  f"{low:.{series.decimals}f},{close:.{series.decimals}f},{volume}\n")
    return out.getvalue()


def demo_dir() -> Path:
    return resources_dir() / "demo" / "prices"


def demo_files() -> list[Path]:
    """Shipped demo CSVs; the file stem is the symbol."""
    return sorted(demo_dir().glob("*.csv"))


def write_demo_files(folder: Path | None = None) -> list[Path]:
    folder = Path(folder) if folder else demo_dir()
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for series in DEMO_SERIES:
        path = folder / f"{series.symbol}.csv"
        path.write_text(generate_csv(series), encoding="utf-8", newline="")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", nargs="?", const="", metavar="DIR",
                        help="write the demo CSVs (default: resources/demo/prices)")
    args = parser.parse_args(argv)
    if args.write is None:
        parser.print_help()
        return 2
    for path in write_demo_files(Path(args.write) if args.write else None):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
