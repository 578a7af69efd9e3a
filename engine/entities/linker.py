"""Entity linking: which companies a headline names, and where.

``EntityLinker(universe).link(text)`` returns ``EntityLink`` records (symbol, character span, the
matched text, how it was found, and the role: ``subject`` or ``analyst``). ``Signal.entities`` is the
ordered set of subject symbols; an analyst link is a bank that only signs a view ("Goldman Sachs
upgrades Tesla" names Tesla's news, not Goldman's) and is kept with its span but not as an entity.

How a mention is found:

- cashtags ``$TSLA`` and exchange-qualified symbols ``(LSE: VOD)``: resolved through the universe's
  listings to the company's canonical symbol, kept as written when the universe does not know them;
- company names and aliases: the headline's tokens are matched against the universe's names with
  punctuation, case and accents folded, so "Rolls Royce" is "Rolls-Royce", "JP Morgan" is
  "J.P. Morgan", "Nestle" is "Nestlé"; the longest name wins ("Siemens Energy" over "Siemens");
- bare upper-case tickers in running text ("NVDA, AMD and AVGO"), three letters or more, when they
  are a universe company's symbol and not an English word or a common abbreviation ("LNG", "CEO").

When a name counts is decided by case and context, never by a list of headlines:

- Case: "apple", "target" in lower case are words. A name written in capitals ("BP", "UBS") must
  appear in capitals. Capitals tell nothing at the start of a sentence, in a Title Case headline or
  an ALL CAPS one.
- A name that is also a common English word ("Target", "Shell", "Next", "Visa"; engine/entities/
  words.py) needs evidence where capitals tell nothing: a possessive ("Target's"), a corporate word
  next to it ("Target cuts", "Shell profit", "shares of Target", "Target to buy"), another company
  beside it ("Visa and Mastercard"), or its own cashtag. Mid-sentence in sentence case the capital
  is the evidence.
- A one-word name right after another capitalised name is part of that name ("Harrison Ford",
  "Mekong Delta", "Swiss National Bank").
- A name that is an everyday word or a market's name and that no curated list gives as an alias
  ("Pool", "Nasdaq") links only with its legal form ("Pool Corp", "Nasdaq Inc").

Cost: one pass over ~15 tokens with dictionary lookups; see bench/bench_entities.py.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from engine.entities.universe import Company, Universe, alias_key
from engine.entities.words import is_common_word, is_person_name
from engine.types import EntityLink

MAX_NAME_TOKENS = 7
MAX_TEXT_CHARS = 4000
MAX_DECLARED_CHARS = 16  # linking looks at the head of long items only; scoring cuts them earlier anyway

# $AAPL, $BRK.B, $BTC.X; not $5 or $1.2bn.
_CASHTAG = r"(?<![\w$])\$[A-Za-z][A-Za-z0-9]{0,5}(?:\.[A-Za-z]{1,2})?(?!\w)"
# A word: letters and digits, with inner & . - ' when a letter or digit follows ("AT&T", "E.ON",
# "Rolls-Royce", "McDonald's", "L'Oréal").
_WORD = r"[^\W_](?:[^\W_]|[&.\-'\u2019](?=[^\W_]))*"
# Whitespace is matched (and skipped) as a run, so the scan does not try every pattern at every space.
_TOKEN = re.compile(rf"(?P<dash>\s[-\u2013\u2014]\s|[\u2013\u2014])|\s+|(?P<word>{_WORD})|(?P<cashtag>{_CASHTAG})"
                    rf"|(?P<join>[&+])|(?P<stop>[.!?:;|])|(?P<other>[^\w\s])")
_EXCHANGE = re.compile(
    r"\b(NYSE|NASDAQ|Nasdaq|AMEX|NYSEARCA|NYSE American|LSE|LON|TSX|TSXV|ASX|OTC|OTCMKTS|XETRA|Xetra|ETR|FWB|"
    r"FRA|EPA|Euronext|AMS|EBR|BME|BIT|SIX|STO|HEL|CPH)\s*:\s*([A-Z][A-Z0-9.\-]{0,9})\b")
# Exchange names in text -> the prefix the universe's Google-style listings use.
_EXCHANGE_PREFIX = {"LSE": "LON", "XETRA": "FRA", "ETR": "FRA", "FWB": "FRA", "EPA": "EPA", "EURONEXT": "EPA",
                    "OTC": "OTCMKTS", "NYSE AMERICAN": "NYSEAMERICAN", "AMEX": "NYSEAMERICAN"}
_POSSESSIVE = re.compile(r"['\u2019]s$", re.IGNORECASE)
_UPPER = re.compile(r"[^\W\d_a-z]")  # letters that are not lower-case ASCII: close enough to "upper"
_LOWER = re.compile(r"[a-z]")

LEGAL_FORMS = frozenset({"inc", "corp", "corporation", "co", "company", "plc", "ag", "se", "sa", "nv", "group",
                         "holdings", "ltd", "llc", "kgaa", "spa", "asa", "ab", "oyj"})
# Abbreviations that are written like tickers but are not companies in a headline.
COMMON_ABBREVIATIONS = frozenset({
    "AI", "API", "ATM", "BOE", "BOJ", "CBO", "CEO", "CFO", "CFPB", "COO", "CPI", "CTO", "DOJ", "ECB", "EPS", "ESG",
    "ETF", "EUR", "EV", "EVS", "FAA", "FCC", "FDA", "FOMC", "FTC", "GBP", "GDP", "HR", "IMF", "IPO", "IRS", "JPY",
    "LNG", "LSE", "NATO", "NFT", "NYSE", "OECD", "OPEC", "PCE", "PMI", "PPI", "REIT", "SEC", "SPAC", "UAW", "UK",
    "US", "USA", "USD", "WTO", "YOY", "CNY", "EU", "ESG", "GPU", "CPU", "PC", "TV", "LLM", "FX", "ADR", "OTC"})
# Words next to a name that make it a company: legal forms, corporate nouns, the verbs of company news.
_CUE_NOUNS = {
    "shares", "share", "stock", "stocks", "stake", "profit", "profits", "revenue", "revenues", "sales", "earnings",
    "results", "quarter", "quarterly", "annual", "q1", "q2", "q3", "q4", "guidance", "outlook", "forecast",
    "forecasts", "dividend", "buyback", "ceo", "cfo", "chief", "boss", "chairman", "chairwoman", "executive",
    "executives", "board", "shareholders", "investors", "unit", "division", "subsidiary", "deal", "bid", "merger",
    "takeover", "ipo", "bonds", "workers", "employees", "staff", "stores", "plant", "plants", "factory", "premiums",
    "deliveries", "orders", "margins", "valuation", "customers", "users", "subscribers", "brand", "management"}
_CUE_VERBS = {
    "beats", "misses", "tops", "posts", "reports", "raises", "lifts", "lowers", "cuts", "slashes", "trims", "boosts",
    "warns", "recalls", "sues", "settles", "agrees", "plans", "launches", "unveils", "announces", "buys", "sells",
    "acquires", "hires", "names", "appoints", "invests", "expands", "opens", "closes", "says", "signs",
    "wins", "loses", "faces", "rejects", "scraps", "halts", "suspends", "resumes", "delays", "files", "seeks",
    "confirms", "denies", "completes", "books", "expects", "pays", "offers", "shuts", "exits", "enters", "joins",
    "renames", "rebrands", "overtakes", "outsells", "extends", "bets", "backs", "partners", "bids", "considers",
    "explores", "weighs", "mulls", "slumps", "slides", "jumps", "soars", "surges", "falls", "rises", "drops",
    "gains", "climbs", "tumbles", "plunges", "sinks", "rallies", "gets", "receives", "hikes", "delivers", "ships",
    "lays", "reaches", "hits", "sets", "prices", "issues", "restructures", "axes", "ends", "resigns", "ousts",
    "beat", "missed", "posted", "reported", "raised", "cut", "agreed", "launched", "unveiled", "announced"}
_CUE_AFTER = frozenset(_CUE_NOUNS | _CUE_VERBS | LEGAL_FORMS)
_CUE_BASE_VERBS = frozenset({
    "buy", "sell", "cut", "close", "open", "raise", "pay", "acquire", "invest", "hire", "lay", "spin", "split",
    "merge", "exit", "launch", "build", "list", "delist", "return", "report", "join", "replace", "name", "appoint",
    "shut", "slash", "boost", "expand", "offer", "issue", "sue", "settle", "end", "halt", "resume", "scrap",
    "repurchase", "step", "axe", "take", "book", "post", "add", "sign", "move", "test", "open", "double", "triple"})
_CUE_BEFORE = frozenset({"upgrades", "downgrades", "buys", "sells", "acquires", "sues", "owner", "parent", "rival",
                         "rivals", "overtakes", "beats", "vs", "versus", "backs", "joins", "bought", "sold"})
_CUE_BEFORE_OF = frozenset({"shares", "stake", "stakes", "owner", "chief", "ceo", "head", "boss", "investors"})
_COORDINATORS = frozenset({"and", "&", ",", "or", "vs", "versus", "/"})
_CONNECTORS = frozenset({"of", "and", "de", "la", "le", "du", "des", "von", "van", "der", "the", "&", "y", "et"})
# An analyst view: "<bank> upgrades X", "<bank> analysts say", "cut to neutral at <bank>".
_ANALYST_VERBS = frozenset({"upgrades", "downgrades", "initiates", "reiterates", "reinstates", "rates"})
_ANALYST_NOUNS = frozenset({"analysts", "analyst", "strategists", "strategist", "economists", "economist",
                            "research"})
_TARGET_VERBS = frozenset({"raises", "cuts", "lifts", "lowers", "trims", "boosts", "hikes", "ups", "slashes", "sets"})
_VIEW_VERBS = frozenset({"says", "sees", "expects", "predicts", "forecasts", "thinks", "recommends", "likes",
                         "prefers", "favours", "favors", "adds", "picks"})
# Words only an analyst action uses ("buy" and "target" are also company news: "to buy TSB", "profit target").
_RATING_WORDS = frozenset({"upgrade", "downgrade", "upgraded", "downgraded", "neutral", "overweight", "underweight",
                           "outperform", "underperform", "equalweight", "rating", "coverage", "conviction"})
_SOURCE_BEFORE = frozenset({"at", "from", "by", "says", "said", "per"})


def subjects(links: Iterable[EntityLink]) -> tuple[str, ...]:
    """The entities of a signal: subject symbols, once each, in order of first mention."""
    return tuple(dict.fromkeys(link.symbol for link in links if link.role == "subject"))


@dataclass(slots=True)
class _Token:
    kind: str  # cashtag | word | join | dash | stop | other
    text: str
    start: int
    end: int
    key: str = ""  # alias_key of the word, possessive removed
    possessive: bool = False
    sentence_start: bool = False


@dataclass(frozen=True)
class _Name:
    symbol: str
    alias: str
    strict: bool  # an everyday word or a market's name: needs its legal form after it
    acronym: bool  # written in capitals ("BP"): must appear in capitals
    everyday: bool  # one common English word (or all common words): needs evidence where case tells nothing


@dataclass
class _Candidate:
    name: _Name
    first: int  # token indices, inclusive
    last: int
    needs_context: bool


@functools.lru_cache(maxsize=65536)
def _word_key(word: str) -> tuple[str, bool]:
    """(alias key, possessive) of a word token; cached: headline vocabulary repeats."""
    if len(word) > 2 and word[-2] in "'\u2019" and word[-1] in "sS":
        return alias_key(word[:-2]), True
    return alias_key(word), False


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue  # whitespace
        token = _Token(kind, m.group(), m.start(), m.end())
        if kind == "word":
            token.key, token.possessive = _word_key(token.text)
        tokens.append(token)
    previous = None
    for token in tokens:
        if token.kind in ("word", "cashtag"):
            token.sentence_start = previous is None or previous.kind == "dash" or (
                previous.kind == "stop" and not (previous.text == "." and _is_abbreviation(tokens, previous)))
        if token.kind != "join":
            previous = token
    return tokens


def _is_abbreviation(tokens: list[_Token], stop: _Token) -> bool:
    """A period after "Inc", "J.P" or "U.S" ends an abbreviation, not a sentence."""
    before = [t for t in tokens if t.end == stop.start]
    return bool(before) and (len(before[0].text) <= 3 or "." in before[0].text)


def _headline_mode(text: str, tokens: list[_Token]) -> str:
    """``caps`` (ALL CAPS), ``title`` (Title Case) or ``sentence``: how much capitals tell."""
    upper, lower = len(_UPPER.findall(text)), len(_LOWER.findall(text))
    if upper + lower >= 12 and upper >= 0.85 * (upper + lower):
        return "caps"
    words = [t.text for t in tokens[1:] if t.kind == "word" and len(t.text) >= 4 and t.text.isalpha()]
    if len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.75 * len(words):
        return "title"
    return "sentence"


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


class EntityLinker:
    """Links company mentions to a universe's canonical symbols. Immutable after construction; thread-safe."""

    def __init__(self, universe: Universe) -> None:
        self.universe = universe
        self._names: dict[str, _Name] = {}
        self._tickers: dict[str, str] = {}  # bare upper-case tickers -> canonical
        for company in universe.companies.values():
            self._add_company(company)
        # Every leading part of every name key: extending a token run stops as soon as no name can follow.
        self._prefixes = frozenset(key[:n] for key in self._names for n in range(1, len(key) + 1))

    def _add_company(self, company: Company) -> None:
        for alias, strict in [(a, False) for a in company.aliases] + [(a, True) for a in company.strict]:
            key = alias_key(alias)
            if not key or key in self._names and not self._names[key].strict:
                continue  # first (higher-ranked) company keeps a shared name
            words = [w for w in re.split(r"[\s\-]+", alias.casefold()) if w]
            acronym = alias.isupper() and sum(ch.isalpha() for ch in alias) >= 2
            everyday = not acronym and bool(words) and all(is_common_word(w.strip(".,'")) for w in words)
            self._names[key] = _Name(company.symbol, alias, strict, acronym, everyday)
        symbol = company.symbol
        if (len(symbol) >= 3 and symbol.isalpha() and symbol.isupper() and not is_common_word(symbol)
                and symbol not in COMMON_ABBREVIATIONS):
            self._tickers.setdefault(symbol, symbol)

    # --- public ------------------------------------------------------------------------------
    def link(self, text: str) -> tuple[EntityLink, ...]:
        text = text[:MAX_TEXT_CHARS]
        tokens = _tokenize(text)
        mode = _headline_mode(text, tokens)
        links: dict[int, tuple[int, EntityLink]] = {}  # first token index -> (last index, link)
        self._link_symbols(text, tokens, links)
        pending = self._link_names(text, tokens, mode, links)
        for candidate in pending:  # everyday names, once every other link is known
            if self._has_context(tokens, candidate, links):
                self._accept(text, tokens, candidate, links)
        if mode != "caps":
            self._link_bare_tickers(tokens, links)
        ordered = [link for _first, (_last, link) in sorted(links.items())]
        return tuple(self._with_roles(tokens, links, ordered))

    def entities(self, text: str) -> tuple[str, ...]:
        return subjects(self.link(text))

    def link_with_declared(self, text: str, declared: Sequence[str] = ()) -> tuple[EntityLink, ...]:
        """Links found in the text, after the symbols the source declared for the item (a feed's
        ``tickers``): those come first and carry no span unless the text names them too."""
        found = self.link(text)
        named = {link.symbol for link in found}
        extra = []
        for raw in declared:
            written = str(raw).strip().lstrip("$").upper()[:MAX_DECLARED_CHARS]
            symbol = self.universe.canonical(written) or written
            if symbol and symbol not in named and symbol not in {l.symbol for l in extra}:
                extra.append(EntityLink(symbol, -1, -1, "", "feed"))
        return tuple(extra) + found

    # --- symbols -----------------------------------------------------------------------------
    def _link_symbols(self, text: str, tokens: list[_Token], links: dict) -> None:
        for i, token in enumerate(tokens):
            if token.kind == "cashtag":
                written = token.text[1:].upper()
                symbol = self.universe.canonical(written) or written
                links[i] = (i, EntityLink(symbol, token.start, token.end, token.text, "cashtag"))
        for m in _EXCHANGE.finditer(text):
            exchange, written = m.group(1).upper(), m.group(2).upper().rstrip(".")
            prefix = _EXCHANGE_PREFIX.get(exchange, exchange)
            symbol = (self.universe.canonical(f"{prefix}:{written}") or self.universe.canonical(written) or written)
            index = next((i for i, t in enumerate(tokens) if t.start >= m.start(2)), len(tokens))
            links[index] = (index, EntityLink(symbol, m.start(2), m.start(2) + len(written), written, "exchange"))

    def _link_bare_tickers(self, tokens: list[_Token], links: dict) -> None:
        taken = {i for first, (last, _l) in links.items() for i in range(first, last + 1)}
        for i, token in enumerate(tokens):
            if token.kind == "word" and i not in taken and token.text in self._tickers and not token.possessive:
                links[i] = (i, EntityLink(self._tickers[token.text], token.start, token.end, token.text, "ticker"))

    # --- names -------------------------------------------------------------------------------
    def _link_names(self, text: str, tokens: list[_Token], mode: str, links: dict) -> list[_Candidate]:
        pending: list[_Candidate] = []
        taken = {i for first, (last, _l) in links.items() for i in range(first, last + 1)}
        i = 0
        while i < len(tokens):
            if tokens[i].kind != "word" or i in taken:
                i += 1
                continue
            candidate = self._best_candidate(tokens, i, mode, links)
            if candidate is None:
                i += 1
                continue
            if candidate.needs_context:
                pending.append(candidate)
            else:
                self._accept(text, tokens, candidate, links)
            i = candidate.last + 1
        return pending

    def _best_candidate(self, tokens: list[_Token], i: int, mode: str, links: dict) -> _Candidate | None:
        """The longest name starting at token ``i`` that passes the case rules, or None."""
        hits: list[tuple[int, _Name]] = []
        key = ""
        for j in range(i, min(len(tokens), i + MAX_NAME_TOKENS)):
            token = tokens[j]
            if token.kind == "join":
                continue
            if token.kind != "word" or (j > i and tokens[j - 1].possessive):
                break
            key += token.key
            if key not in self._prefixes:
                break
            if token.possessive:
                name = self._names.get(key + "s")  # "McDonald's", "Lowe's"
                if name is not None:
                    hits.append((j, name))
            name = self._names.get(key)
            if name is not None:
                hits.append((j, name))
        for last, name in sorted(hits, key=lambda h: -h[0]):
            candidate = self._check(tokens, i, last, name, mode, links)
            if candidate is not None:
                return candidate
        return None

    def _check(self, tokens: list[_Token], first: int, last: int, name: _Name, mode: str,
               links: dict) -> _Candidate | None:
        mention = [t for t in tokens[first:last + 1] if t.kind == "word"]
        if not self._case_ok(mention, name, mode):
            return None
        if sum(ch.isalpha() for ch in alias_key(name.alias)) < 2 and \
                "".join(t.text for t in tokens[first:last + 1]) != name.alias.replace(" ", ""):
            return None  # "1&1" folds to "11": only the name as written, never "$1.1 billion"
        if name.strict:
            after = self._next_word(tokens, last, skip_commas=True)
            if after is None or tokens[after].key not in LEGAL_FORMS:
                return None
            return _Candidate(name, first, after, needs_context=False)
        single = len(mention) == 1
        if mode == "sentence" and (single or name.everyday) and self._after_other_name(tokens, first, links):
            return None
        if single and name.everyday and self._before_of_name(tokens, last):
            return None
        informative = mode == "sentence" and not tokens[first].sentence_start
        ambiguous = name.everyday and single or (name.acronym and mode == "caps" and is_common_word(name.alias))
        return _Candidate(name, first, last, needs_context=ambiguous and not informative)

    @staticmethod
    def _case_ok(mention: list[_Token], name: _Name, mode: str) -> bool:
        written = " ".join(t.text for t in mention)
        if mention[-1].possessive and not _POSSESSIVE.search(name.alias):
            written = written[:-2]
        if name.acronym:
            return written.isupper() or not any(ch.isalpha() for ch in written)
        if mode == "caps" or _strip_accents(written) == _strip_accents(name.alias):
            return True
        return all(t.text[0].isupper() or t.text[0].isdigit() or (k and t.text.lower() in _CONNECTORS)
                   for k, t in enumerate(mention))

    def _after_other_name(self, tokens: list[_Token], first: int, links: dict) -> bool:
        """"Harrison Ford", "Mekong Delta": the word before is a capitalised name that is not a company."""
        if first == 0 or tokens[first - 1].kind != "word" or tokens[first - 1].possessive:
            return False
        prev = tokens[first - 1]
        if not prev.text[0].isupper() or prev.text.isupper() or any(last == first - 1 for last, _l in links.values()):
            return False
        word = prev.text.lower()
        return not prev.sentence_start or is_person_name(word) or not is_common_word(word)

    def _before_of_name(self, tokens: list[_Token], last: int) -> bool:
        """"Oracle of Omaha", "Shell of Sweden": an everyday name followed by "of" and a proper name
        is the start of another name."""
        of = self._next_word(tokens, last)
        if of is None or tokens[of].key != "of" or tokens[last].possessive:
            return False
        nxt = self._next_word(tokens, of)
        return nxt is not None and tokens[nxt].text[0].isupper()

    # --- context for everyday names --------------------------------------------------------------
    def _has_context(self, tokens: list[_Token], candidate: _Candidate, links: dict) -> bool:
        first, last = candidate.first, candidate.last
        if tokens[last].possessive:
            return True
        if any(link.symbol == candidate.name.symbol and link.method == "cashtag" for _l, link in links.values()):
            return True
        if last + 1 < len(tokens) and tokens[last + 1].text == ":" and tokens[first].sentence_start:
            return True  # "Ford: EV losses to top $5 billion": the headline's subject, then what it says
        after = self._next_word(tokens, last)
        if after is not None:
            word = tokens[after].key
            if word in _CUE_AFTER:
                return True
            if word in ("to", "will") and (nxt := self._next_word(tokens, after)) is not None:
                if tokens[nxt].key in _CUE_BASE_VERBS:
                    return True
        before = self._prev_word(tokens, first)
        if before is not None:
            word = tokens[before].key
            if word in _CUE_BEFORE:
                return True
            if word in ("of", "in") and (prior := self._prev_word(tokens, before)) is not None:
                if tokens[prior].key in _CUE_BEFORE_OF:
                    return True
        return self._coordinated(tokens, first, last, links)

    @staticmethod
    def _coordinated(tokens: list[_Token], first: int, last: int, links: dict) -> bool:
        """"Visa and Mastercard", "Shell, BP", "Orange and MasOrange": listed with another company, or
        with a capitalised name that is no English word (most likely a company the universe lacks)."""
        def named(k: int) -> bool:
            if k in links or any(end == k for end, _l in links.values()):
                return True
            token = tokens[k] if 0 <= k < len(tokens) else None
            return (token is not None and token.kind == "word" and token.text[0].isupper()
                    and not is_common_word(token.key) and not token.sentence_start)
        k = last + 1
        if k < len(tokens) and tokens[k].text.lower() in _COORDINATORS and named(k + 1):
            return True
        k = first - 1
        return k >= 0 and tokens[k].text.lower() in _COORDINATORS and named(k - 1)

    @staticmethod
    def _accept(text: str, tokens: list[_Token], candidate: _Candidate, links: dict) -> None:
        start, end = tokens[candidate.first].start, tokens[candidate.last].end
        if tokens[candidate.last].possessive and not _POSSESSIVE.search(candidate.name.alias):
            end -= 2  # "Apple's": the span is the name; "McDonald's" keeps its "'s"
        links[candidate.first] = (candidate.last, EntityLink(candidate.name.symbol, start, end, text[start:end], "name"))

    @staticmethod
    def _next_word(tokens: list[_Token], index: int, *, skip_commas: bool = False) -> int | None:
        k = index + 1
        while k < len(tokens) and skip_commas and tokens[k].text == ",":
            k += 1
        return k if k < len(tokens) and tokens[k].kind == "word" else None

    @staticmethod
    def _prev_word(tokens: list[_Token], index: int) -> int | None:
        k = index - 1
        return k if k >= 0 and tokens[k].kind == "word" else None

    # --- roles -------------------------------------------------------------------------------
    def _with_roles(self, tokens: list[_Token], links: dict, ordered: list[EntityLink]) -> list[EntityLink]:
        by_start = {link.start: (first, last) for first, (last, link) in links.items()}
        out = []
        for link in ordered:
            first, last = by_start[link.start]
            analyst = link.method in ("name", "ticker") and self._signs_a_view(tokens, first, last, links)
            out.append(EntityLink(link.symbol, link.start, link.end, link.text, link.method,
                                  "analyst" if analyst else "subject"))
        return out

    def _signs_a_view(self, tokens: list[_Token], first: int, last: int, links: dict) -> bool:
        """"Goldman Sachs upgrades Tesla", "UBS analysts say", "cut to neutral at Wells Fargo"."""
        words = [t.key for t in tokens if t.kind == "word"]
        after = self._next_word(tokens, last) if not tokens[last].possessive else None
        verb = tokens[after].key if after is not None else ""
        if verb in _ANALYST_NOUNS:
            return True
        if verb in _ANALYST_VERBS and any(after < f <= after + 4 for f in links):
            return True  # "upgrades Tesla", "reiterates buy on Amazon"; not "Danone upgrades sales guidance"
        if verb in _TARGET_VERBS and after is not None:
            keys = [t.key for t in tokens[after + 1:after + 10]]
            if "target" in keys:
                upto = keys.index("target")
                other_company = any(after < f <= after + upto for f in links)
                if other_company or (upto > 0 and keys[upto - 1] == "price") or \
                        any(k in ("sp", "s&p", "nasdaq", "stoxx", "ftse", "dax") for k in keys[:upto]):
                    return True
        company = self.universe.get(links[first][1].symbol)
        if company is not None and company.financial and verb in _VIEW_VERBS:
            nxt = self._next_word(tokens, after) if after is not None else None
            # "Goldman Sachs says it will cut jobs" is its own news; "adds it to conviction list" is a view.
            if verb in ("adds", "picks") or nxt is None or tokens[nxt].key not in ("it", "its", "they", "their"):
                return True
        before = self._prev_word(tokens, first)
        if before is not None and tokens[before].key in _SOURCE_BEFORE:
            return any(w in _RATING_WORDS for w in words) or "pricetarget" in "".join(words)
        if before is not None and tokens[before].key == "to" and \
                (prior := self._prev_word(tokens, before)) is not None and tokens[prior].key == "according":
            return True
        return False
