"""Keyword rules for event classes (seed J7): (category, subcategory, weight, pattern).

A headline's score for a category is the sum of the weights of that category's rules that
match (each rule counts once). Event cues ("beats estimates", "FDA approves", "rate cut")
weigh 2.5-4; bare price-action words ("shares", "falls", "premarket") weigh about 1, so
"X shares fall after earnings miss" is an earnings event, not a market one: the cause wins.
Crypto terms weigh 4 and crypto wins whenever one matches, because the labelling guide puts
crypto regulation, crypto ETFs and crypto exchanges under crypto (see EVENTS.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    category: str
    subcategory: str
    weight: float
    pattern: re.Pattern


def _r(category: str, subcategory: str, weight: float, pattern: str) -> Rule:
    return Rule(category, subcategory, weight, re.compile(pattern, re.IGNORECASE))


_MOVE = (r"rises?|rose|falls?|fell|drops?|dropped|jumps?|jumped|surges?|surged|soars?|soared|slides?|slid|"
         r"slumps?|slumped|tumbles?|tumbled|plunges?|plunged|climbs?|climbed|rall(?:y|ies|ied)|gains?|gained|"
         r"sinks?|sank|rebounds?|rebounded|slips?|slipped|edges? (?:up|down|higher|lower)|sell-?offs?|rout|"
         r"higher|lower|mixed|little changed|(?:up|down) \d[\d.]*%")

RULES: tuple[Rule, ...] = (
    # --- crypto (dominant) ---
    _r("crypto", "price", 4, r"\b(bitcoin|ether|ethereum|crypto\w*|solana|dogecoin|xrp|cardano|altcoins?|"
                             r"meme ?coins?|coin exchange)\b|\$(btc|eth|sol|doge|xrp|ada)(\.x)?\b"),
    _r("crypto", "stablecoin", 4, r"\b(stablecoins?|tether|usdt|usdc)\b"),
    _r("crypto", "network", 4, r"\b(blockchain|defi|nfts?|tokens?|tokeni[sz]ed|halving|hashrate|staking|"
                               r"layer-?2|mainnet|web3|mt\.? ?gox|mica)\b"),
    _r("crypto", "exchange", 4, r"\b(binance|coinbase)\b"),
    # --- earnings ---
    _r("earnings", "results", 3, r"\bearnings\b|\b(eps|ebitda)\b"),
    _r("earnings", "results", 1.5, r"\bq[1-4]\b|\b(first|second|third|fourth)[- ]quarter\b|\bquarterly\b|"
                                   r"\b(first|second)[- ]half\b|\bfull[- ]year\b|\bannual (sales|revenue|profit|outlook|guidance)\b"),
    _r("earnings", "guidance", 2.5, r"\b(guidance|outlook)\b"),
    _r("earnings", "guidance", 2, r"\b(raises?|lifts?|cuts?|slash(es)?|lowers?|reaffirms?|reiterates?|withdraws?|boosts?|sees)\b"
                                  r"[^.]{0,40}\b(guidance|outlook|forecasts?|targets?|sales growth)\b"),
    _r("earnings", "preannouncement", 3, r"\b(profit|earnings|sales|revenue) warning\b|\bwarns?\b[^.]{0,40}\b(revenue|profit|"
                                         r"earnings|sales|results)\b|\bpre-?announc\w*|\bexpects? [^.]{0,25}(earnings|profit|revenue)"),
    _r("earnings", "beat", 3, r"\b(beats?|tops?|exceeds?|surpass(es)?|above)\b[^.]{0,30}\b(estimates?|expectations|"
                              r"forecasts?|consensus|street)\b|\bbeats? (by|on)\b"),
    _r("earnings", "miss", 3, r"\b(miss(es)?|falls? short|below|short of|weaker-than-expected|softer-than-expected)\b"
                              r"[^.]{0,30}\b(estimates?|expectations|forecasts?|consensus)\b|\bmiss(es)? on\b|\bwider-than-expected\b"),
    _r("earnings", "results", 1, r"\b(revenue|sales|net (income|profit|loss)|profits?|loss|margins?|bookings|backlog|"
                                 r"deliveries|same-store|comparable sales|combined ratio|recurring revenue|free cash flow|"
                                 r"subscriber growth|churn)\b"),
    _r("earnings", "schedule", 2.5, r"\bto report\b|\bearnings (call|preview|date|release)\b|\bafter the bell\b|\bresults (on|next)\b"),
    _r("earnings", "results", 1.5, r"\b(write-?downs?|writes? down|impairment|swings? to a (loss|profit)|narrows? (quarterly )?loss)\b"),
    # --- macro ---
    _r("macro", "central_bank", 3, r"\b(fed|federal reserve|fomc|ecb|boj|boe|snb|rba|rbi|pboc|central bank|bank of (england|japan|canada)|"
                                   r"people's bank|reserve bank|national bank|powell|lagarde|fed chair|fed's)\b"),
    _r("macro", "central_bank", 2.5, r"\b(rate (cut|hike|decision)s?|monetary policy|basis points?|negative interest rates?|"
                                     r"(repo|bank|cash|deposit|policy|loan prime|interest) rates?|borrowing costs)\b"),
    _r("macro", "inflation", 3, r"\b(inflation|cpi|ppi|pce|consumer prices|producer prices|price index|deflation)\b"),
    _r("macro", "employment", 3, r"\b(jobs report|payrolls?|nonfarm|unemployment|jobless claims|labou?r market|wage growth|"
                                 r"adds [\d,]+ jobs)\b"),
    _r("macro", "growth", 2.5, r"\b(gdp|economy|economic|recession|pmi|ism|retail sales|industrial (output|production)|"
                               r"durable goods|housing starts|consumer (confidence|sentiment)|exports|imports|"
                               r"trade (deficit|surplus|volumes?)|current account)\b"),
    _r("macro", "trade", 3, r"\b(tariffs?|trade war|trade deal|wto)\b"),
    _r("macro", "fiscal", 2.5, r"\b(budget deficit|deficit|stimulus|government shutdown|spending bill|refunding|fiscal|debt ceiling)\b"),
    _r("macro", "commodities", 3.5, r"\b(opec\+?|output cuts?|supply fears|pipeline outage|oil (output|supply|production))\b"),
    # --- corporate ---
    _r("corporate", "m_and_a", 3, r"\b(acquires?|acquisition|to buy|agrees? to (buy|acquire)|takeover|mergers?|merge|buyout|"
                                  r"taken private|take-private|bid for|purchase of|spin (off|out)|spin-?off|divest\w*|"
                                  r"explores? (a )?sale|strategic (options|alternatives|review)|all-stock deal|"
                                  r"sells? [^.]{0,40}\b(unit|business|division|portfolio|stake|brands?|properties))\b"),
    _r("corporate", "management", 2.5, r"\b(ceo|cfo|coo|chief executive|chief financial|chairman|chairwoman|founder|head of|"
                                       r"steps? down|resigns?|appoints?|names? [^.]{0,30}(ceo|chief|head|chair))\b"),
    _r("corporate", "capital_return", 3, r"\b(buyback|share repurchase|repurchase|dividend|stock split|\d-for-\d)\b"),
    _r("corporate", "financing", 2.5, r"\b(notes offering|bond (sale|offering)|senior notes|share sale|secondary offering|"
                                      r"equity raise|credit facility|convertible|rights issue|loan for|raises \$[\d.]+ (million|billion)|"
                                      r"prices \$[\d.]+ (million|billion))\b"),
    _r("corporate", "restructuring", 3, r"\b(layoffs?|job cuts|cut [\d,]+ jobs|restructuring|close [\d,]+ stores|store closures|"
                                        r"idles?|plant closure|suspends? (its )?(dividend|production|operations))\b"),
    _r("corporate", "bankruptcy", 3, r"\b(bankruptcy|chapter 11|insolven\w*|default(s|ed)? on)\b"),
    _r("corporate", "product", 2, r"\b(launch(es|ed)?|unveils?|introduces?|new (product|model|lineup)|pre-orders|recalls?|rolls out)\b"),
    _r("corporate", "contract", 2.5, r"\b(wins? [^.]{0,30}contract|contract to|orders? [\d,]+|partnership|partners? with|alliance|"
                                     r"joint venture|licensing deal|licen[cs]e agreement|signs? [^.]{0,30}(deal|agreement|partnership))\b"),
    _r("corporate", "operations", 1.5, r"\b(plant|factory|facility|opens|to build|expands?|expansion|outage|strike|workers|union)\b"),
    _r("corporate", "legal", 2, r"\b(sues|sued|lawsuit|patent|breach of contract|litigation)\b"),
    _r("corporate", "activism", 2.5, r"\b(activist|proxy fight|board seats?|[\d.]+% stake)\b"),
    _r("corporate", "listing", 2, r"\b(to list|plans? to list|go public|files? for (an )?ipo)\b"),
    # --- regulatory ---
    _r("regulatory", "regulator", 3, r"\b(sec|fda|ftc|doj|justice department|department of justice|cftc|cfpb|epa|faa|nhtsa|fcc|"
                                     r"ofcom|finra|european commission|regulators?|regulatory|watchdog|attorney general|"
                                     r"commerce department|labou?r department|health canada|antitrust)\b"),
    _r("regulatory", "approval", 1.5, r"\b(approves?|approval|approved|clears?|grants?|authori[sz]\w*|licen[cs]e extension)\b"),
    _r("regulatory", "investigation", 2.5, r"\b(probes?|investigat\w*|inquiry|subpoena|warning letter)\b"),
    _r("regulatory", "enforcement", 2.5, r"\b(fines?|fined|penalt(y|ies)|charges|charged|settles with|sanctions?|sanctioned|bans?|"
                                         r"banned|revokes?|revoked|halts approvals|orders? [^.]{0,30}\b(to (raise|improve|carry|pay)))\b"),
    _r("regulatory", "antitrust", 3, r"\b(competition (watchdog|authority|regulator)|monopoly|abusing dominance|cartel|"
                                     r"sues to block|blocks? (the )?(deal|merger|acquisition))\b"),
    _r("regulatory", "legislation", 1.5, r"\b(bill|legislation|rulemaking|regulations?|requirements|oversight|finali[sz]es? [^.]{0,30}rule|"
                                         r"adopts? rule|new rule|\w+ rule\b)"),
    _r("regulatory", "ruling", 3, r"\b(court|judge|rules? [^.]{0,30}must|ruled|ruling|verdict|tribunal)\b"),
    _r("regulatory", "safety", 2, r"\b(grounds?|grounded|safety (probe|review|controls)|inspections?|risk controls)\b"),
    # --- market ---
    _r("market", "index_move", 3, r"(s&p|\bdow\b|\bnasdaq (futures|composite|100)\b|russell 2000|\bftse\b|\bdax\b|\bnikkei\b|hang seng|"
                                  r"\bstoxx\b|\bkospi\b|wall street|stock market|european stocks|asian markets|semiconductor index)"),
    _r("market", "analyst_rating", 2, r"\b(upgrades?|downgrades?|upgraded|downgraded)\b"),
    _r("market", "analyst_rating", 4, r"\b((upgrades?|downgrades?|upgraded|downgraded) [^.]{0,40}\bto (buy|sell|hold|neutral|overweight|underweight|outperform|underperform)|price target|target to \$[\d.]+|initiated at|"
                                      r"initiates|starts coverage|reiterates? [^.]{0,30}rating|(overweight|underweight|outperform|"
                                      r"underperform|buy|sell|neutral) rating|keeps overweight)\b"),
    _r("market", "flows", 2.5, r"\b(vix|volatility|options traders|bearish bets|bullish bets|short interest|short sellers?|"
                               r"hedge funds?|net long|meme stocks?|retail traders|breadth|inflows?|outflows?|etfs?)\b"),
    _r("market", "trading", 3, r"\b(halted|trading halt|(market|trading|nasdaq|nyse|stock market) debut|debut on|ipo priced|priced above range|most active)\b"),
    _r("market", "stock_move", 1, rf"\b({_MOVE})\b"),
    _r("market", "stock_move", 1, r"\b(shares|stocks?|equities|futures|\d+-week (high|low)|record high|(two|three|four|five|six|seven|"
                                  r"eight|nine|ten|\d+)-(year|month|week|day) (high|low)|all-time high|straight (session|week)s?)\b"),
    _r("market", "stock_move", 0.8, r"\b(premarket|pre-market|after-hours|midday|session|trading|trade|heavy volume|volume|"
                                    r"on the session)\b"),
    _r("market", "commodities", 1.5, r"\b(gold|silver|copper|oil futures|crude|brent|wti|wheat|corn|soybeans?|natural gas|"
                                     r"an ounce|per barrel)\b"),
    _r("market", "fx", 1.2, r"\b(dollar|euro|yen|sterling|pound|peso|lira|yuan|franc|currency)\b"),
    _r("market", "rates", 1.5, r"\b(treasury yields?|bond yields?|yields?|bond market|auction)\b"),
)

# Cue words for urgency and impact (applied after the category is known).
URGENT = re.compile(r"\b(breaking|urgent|flash|halted|halts?|emergency|unexpectedly|surprise\w*|immediately|just in|"
                    r"alert|hacked|stolen|exploited|grounds?|suspends?|freezes?|frozen|bankruptcy|warning)\b", re.IGNORECASE)
SCHEDULED = re.compile(r"\b(preview|to report|will report|expected to|ahead of|next week|scheduled|calendar|opinion|"
                       r"analysis|explainer|review:|tips|how to|quiz)\b", re.IGNORECASE)
BIG_MOVE = re.compile(r"\b(record|plunges?|plunged|soars?|soared|surges?|surged|crash\w*|collapses?|all-time|historic|"
                      r"slump\w*|tumbles?|rout|bankruptcy|chapter 11|halted|billion)\b", re.IGNORECASE)
SMALL_MOVE = re.compile(r"\b(in line|little changed|steady|edges?|mixed|reiterates?|reaffirms?|maintains?|keeps)\b", re.IGNORECASE)
PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?%")
EXCHANGE_TAG = re.compile(r"\(\s*(NYSE|NASDAQ|Nasdaq|AMEX|NYSEARCA|LSE|TSX|ASX|OTC)\s*:\s*[A-Z0-9.]+\s*\)")

# Base impact per (category, subcategory); anything missing is "medium".
BASE_IMPACT: dict[tuple[str, str], str] = {
    ("earnings", "beat"): "high", ("earnings", "miss"): "high", ("earnings", "guidance"): "high",
    ("earnings", "preannouncement"): "high", ("earnings", "schedule"): "low",
    ("macro", "central_bank"): "high", ("macro", "inflation"): "high", ("macro", "employment"): "high",
    ("corporate", "m_and_a"): "high", ("corporate", "bankruptcy"): "high", ("corporate", "product"): "low",
    ("corporate", "operations"): "low", ("corporate", "management"): "medium",
    ("regulatory", "approval"): "high", ("regulatory", "antitrust"): "high", ("regulatory", "ruling"): "medium",
    ("regulatory", "legislation"): "medium", ("market", "stock_move"): "medium", ("market", "analyst_rating"): "medium",
    ("market", "trading"): "high", ("crypto", "exchange"): "high",
    ("other", "general"): "low",
}
