"""Ticker extraction from headlines: cashtags and exchange-qualified symbols."""

from __future__ import annotations

import re

# $AAPL, $BRK.B, $BTC.X (StockTwits-style crypto); not $5 or $1.2bn.
_CASHTAG = re.compile(r"(?<![\w$])\$([A-Za-z][A-Za-z0-9]{0,5}(?:\.[A-Za-z]{1,2})?)(?![\w])")
# (NYSE: IBM), NASDAQ:AAPL, LSE: VOD
_EXCHANGE = re.compile(
    r"\b(?:NYSE|NASDAQ|Nasdaq|AMEX|NYSEARCA|LSE|TSX|ASX|OTC)\s*:\s*([A-Z][A-Z0-9.]{0,6})\b"
)


def extract_tickers(text: str) -> tuple[str, ...]:
    """Unique tickers in order of first appearance, upper-cased."""
    found: list[str] = []
    for match in _CASHTAG.finditer(text):
        found.append(match.group(1).upper())
    for match in _EXCHANGE.finditer(text):
        found.append(match.group(1).upper().rstrip("."))
    return tuple(dict.fromkeys(found))
