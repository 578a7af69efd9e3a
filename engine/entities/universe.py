"""The symbol universe: which companies the desk knows, under which names and symbols.

Built once per process (lazily, cached) from offline data only:

- ``pytickersymbols`` (MIT, a PyPI package that carries its data): the constituents of the major
  US and European indices with the company name, the primary symbol, the symbols of other
  listings (Yahoo and Google style) and the company's Wikipedia infobox. Its names come from two
  sources that sometimes disagree (a handful of rows pair a name with another company's symbol),
  so the infobox's article title, which was fetched for the symbol, is trusted first.
  The Nikkei 225 is left out: the desk reads US and European news.
- ``resources/entities/aliases.json``: common short names and former names the package does not
  carry ("Google", "Facebook", "JPMorgan", "VW"), written by the team per company.
- ``resources/demo/news/companies.json``: the invented companies of the demo feed.
- the user's own additions (the watchlist), passed in by the caller.

A company's canonical symbol is its home listing as the package writes it (``VOW3.DE``,
``SHEL.L``, ``MC.PA``; US companies their US ticker): one symbol per company, so a headline that
names "Shell" and one that writes ``$SHEL`` reach the same gauge.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping
from urllib.parse import unquote

from engine.resources import resources_dir

# Home-market large-cap indices first, so a company listed in several places is known by its home
# listing (ASML.AS, not its Nasdaq ADR); mid and small caps last.
INDEX_ORDER: tuple[str, ...] = (
    "FTSE 100", "DAX", "CAC_40", "Switzerland 20", "AEX", "IBEX 35", "OMX Stockholm 30", "OMX Helsinki 25",
    "BEL 20", "EURO STOXX 50", "DOW JONES", "S&P 100", "NASDAQ 100", "S&P 500",
    "MDAX", "TecDAX", "SDAX", "CAC Mid 60", "S&P 600",
)
ALIASES_FILE = "entities/aliases.json"
DEMO_COMPANIES_FILE = "demo/news/companies.json"

# Legal forms and holding words that news copy drops ("Tesla, Inc." is "Tesla").
_LEGAL_SUFFIX = re.compile(
    r"(?:,?\s+(?:inc\.?|incorporated|corp\.?|corporation|company|co\.|plc|p\.l\.c\.|ltd\.?|limited|llc|l\.p\.|"
    r"s\.a\.|sa|s\.p\.a\.|spa|ag|se|n\.v\.|nv|ab|asa|oyj|a/s|kgaa|holdings?|group|& co\.?|co))+\s*$",
    re.IGNORECASE)
_PARENTHETICAL = re.compile(r"\s*\([^)]*\)\s*$")
_LEADING_THE = re.compile(r"^the\s+", re.IGNORECASE)
_FINANCIAL = re.compile(r"\bbank|brokerage|investment bank", re.IGNORECASE)
# Index and exchange names: "Dow" and "Nasdaq" in a headline are markets, not Dow Inc. or Nasdaq, Inc.
MARKET_WORDS = frozenset({"dow", "jones", "nasdaq", "ftse", "dax", "mdax", "sdax", "tecdax", "cac", "stoxx", "ibex",
                          "aex", "omx", "bel", "nikkei", "topix", "russell", "nyse", "s&p", "euronext", "xetra"})
_PERIOD_WORD = re.compile(r"^(?:[QH][1-4]|[1-4][QH]|FY\d{0,4})$", re.IGNORECASE)
_TRANSLITERATE = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})
_LEGAL_WORDS = frozenset({"inc", "corp", "corporation", "company", "group", "holding", "holdings", "limited"})
MAX_ALIAS_CHARS = 80
MAX_SYMBOL_CHARS = 16
_SYMBOL_OK = re.compile(r"^[A-Z0-9][A-Z0-9\-]{0,11}(?:\.[A-Z0-9]{1,3})?$")


class UniverseError(ValueError):
    """A universe file or a user addition is not usable; the message says which entry and why."""


@dataclass(frozen=True)
class Company:
    symbol: str  # canonical
    name: str  # display name
    aliases: tuple[str, ...]  # how text may name it (the name included)
    listings: tuple[str, ...]  # other symbols it trades under: "SHEL", "SHEL.L", "LON:SHEL", ...
    source: str  # pytickersymbols | aliases | demo | user
    indices: tuple[str, ...] = ()
    # Names that are also an everyday word or a market's name ("Pool", "Nasdaq"): they link only when
    # a legal form follows ("Pool Corp", "Nasdaq Inc"), unless a curated list names them as aliases.
    strict: tuple[str, ...] = ()
    financial: bool = False  # a bank or broker: its name often only signs an analyst view


@dataclass
class _Draft:
    symbol: str
    rank: int
    names: dict[str, int] = field(default_factory=dict)  # alias -> trust (2 infobox title, 1 index name)
    listings: dict[str, None] = field(default_factory=dict)
    isins: set[str] = field(default_factory=set)
    indices: dict[str, None] = field(default_factory=dict)
    financial: bool = False


def normalise_symbol(raw: str) -> str:
    """Upper case, no ``$``; raises UniverseError for anything that cannot be a ticker."""
    symbol = str(raw).strip().lstrip("$").upper()
    if not _SYMBOL_OK.match(symbol):
        raise UniverseError(f"not a symbol: {str(raw)[:40]!r} (letters, digits, '.' and '-', at most 16)")
    return symbol


def clean_alias(raw: str) -> str:
    """NFC, single spaces, straight apostrophes; raises UniverseError when empty or too long."""
    text = unicodedata.normalize("NFC", str(raw)).replace("\u2019", "'").replace("\u2018", "'")
    text = " ".join(text.split())
    if not text:
        raise UniverseError("an alias is empty")
    if len(text) > MAX_ALIAS_CHARS:
        raise UniverseError(f"alias longer than {MAX_ALIAS_CHARS} characters: {text[:40]!r}…")
    return text


def name_variants(name: str) -> list[str]:
    """The name as given, without a Wikipedia-style "(disambiguation)", and without legal forms."""
    base = _PARENTHETICAL.sub("", name).strip()
    variants = [name, base]
    short = _LEADING_THE.sub("", base)
    for _ in range(3):  # "Rolls-Royce Holdings plc": strip one legal word at a time
        stripped = re.sub(r"\s+(?:and|&)$", "", _LEGAL_SUFFIX.sub("", short).strip(" ,"))
        if not stripped or stripped == short:
            break
        short = stripped
    variants.append(short)
    variants += [v.translate(_TRANSLITERATE) for v in variants]  # "Deutsche Börse" is also "Deutsche Boerse"
    return list(dict.fromkeys(v for v in variants if v))


def _wiki_title(company: Mapping) -> str:
    url = (company.get("metadata") or {}).get("wikipedia_url") or ""
    return unquote(str(url).rsplit("/", 1)[-1]).replace("_", " ").strip() if url else ""


def _former_names(company: Mapping) -> list[str]:
    """"(as Royal Dutch Shell)" in the infobox's founding line: a name the company had before."""
    founded = str((company.get("metadata") or {}).get("founded") or "")
    names = []
    for found in re.findall(r"\(as ([^)]{3,60})\)", founded):
        name = re.split(r",|\s+in\s|\s+now\s", found)[0].strip(" \"")
        # Infobox prose ("a subsidiary") and web addresses ("X.com") are not names.
        if name[:1].isupper() and not re.search(r"\.[a-z]{2,3}\b", name) and len(name.split()) <= 6:
            names.append(name)
    return names


def _agrees(name: str, title: str) -> bool:
    """Whether an index row's name is the company its infobox describes: the same start ("Nestlé SA",
    "Nestlé"), the initials ("ABB", "Asea Brown Boveri") or a shared distinctive word ("AB InBev",
    "Anheuser-Busch InBev")."""
    a, b = alias_key(name), alias_key(title)
    n = min(4, len(a), len(b))
    if not title or a[:n] == b[:n]:
        return True
    words = [w for w in re.split(r"[\s\-]+", _PARENTHETICAL.sub("", title)) if w]
    if alias_key(name) == alias_key("".join(w[0] for w in words if w[0].isupper())):
        return True
    from engine.entities.words import is_common_word

    def distinctive(text: str) -> set[str]:
        return {alias_key(w) for w in re.split(r"[\s\-]+", text)
                if len(alias_key(w)) >= 4 and not is_common_word(alias_key(w)) and alias_key(w) not in _LEGAL_WORDS}
    return bool(distinctive(name) & distinctive(title))


def _package_drafts() -> list[_Draft]:
    from pytickersymbols.indices_data import INDICES  # the package's data module only: no network code

    drafts: list[_Draft] = []
    by_symbol: dict[str, _Draft] = {}
    by_isin: dict[str, _Draft] = {}
    by_title: dict[str, _Draft] = {}
    for rank, index in enumerate(INDEX_ORDER):
        for row in (INDICES.get(index) or {}).get("companies") or []:
            name, symbol = str(row.get("name") or "").strip(), str(row.get("symbol") or "").strip().upper()
            if not name or not symbol or not _SYMBOL_OK.match(symbol):
                continue
            title = _PARENTHETICAL.sub("", _wiki_title(row)).strip()
            isins = {str(i) for i in row.get("isins") or []}
            # One company in several indices: the same symbol, or an ISIN or infobox title it shares
            # with a row of the same company (a few rows pair one company's name and ISIN with another's
            # symbol and infobox: the infobox was fetched for the symbol, so it decides).
            by_code = next((by_isin[i] for i in isins if i in by_isin), None) or (by_title.get(title) if title else None)
            if by_code is not None and not any(_agrees(title or name, known) for known in by_code.names):
                by_code = None
            draft = by_symbol.get(symbol) or by_code
            if draft is None:
                draft = _Draft(symbol, rank)
                drafts.append(draft)
            draft.indices[index] = None
            by_symbol.setdefault(symbol, draft)
            for isin in isins:
                by_isin.setdefault(isin, draft)
            if title:
                by_title.setdefault(title, draft)
                draft.names[title] = 2
            for former in _former_names(row):
                draft.names.setdefault(former, 1)
            if _agrees(name, title):
                draft.names.setdefault(name, 1)
            draft.listings[symbol] = None
            for listing in row.get("symbols") or []:
                for key in ("yahoo", "google"):
                    value = str(listing.get(key) or "").strip().upper()
                    if value and value != "-":
                        draft.listings[value] = None
            draft.isins |= isins
            draft.financial = draft.financial or any(_FINANCIAL.search(str(i)) for i in row.get("industries") or [])
    return drafts


def _load_json(path: Path) -> list:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UniverseError(f"{path.name}: {exc}") from exc
    if not isinstance(data, list):
        raise UniverseError(f"{path.name}: expected a list of companies")
    return data


@dataclass(frozen=True)
class Universe:
    companies: Mapping[str, Company]  # canonical symbol -> company
    listing_index: Mapping[str, str]  # any listing symbol ("SHEL", "LON:SHEL", "SHEL.L") -> canonical

    def __len__(self) -> int:
        return len(self.companies)

    def get(self, symbol: str) -> Company | None:
        return self.companies.get(symbol)

    def canonical(self, symbol: str) -> str | None:
        """The canonical symbol of a company trading under ``symbol`` on any listing, else None."""
        symbol = symbol.upper()
        return symbol if symbol in self.companies else self.listing_index.get(symbol)

    def resolve(self, query: str) -> Company | None:
        """A company by symbol (any listing, with or without ``$``) or by one of its names."""
        text = query.strip().lstrip("$")
        found = self.canonical(text) if _SYMBOL_OK.match(text.upper()) else None
        if found:
            return self.companies[found]
        key = alias_key(text)
        for company in self.companies.values():
            if any(alias_key(a) == key for a in company.aliases + company.strict):
                return company
        return None

    def with_additions(self, additions: Iterable[Company], primary: Iterable[str] = ()) -> "Universe":
        """A copy with curated or user companies added; a known symbol (any listing) gains their aliases.

        A name given here is an alias even when it is an everyday word ("Target"): someone decided
        that this company is called so, and the linker's case and context rules take it from there.
        An alias such an addition gives to one company is taken from any other company that had it.
        ``primary``: symbols that become their company's canonical symbol (``GOOGL`` over ``GOOG``).
        """
        companies = dict(self.companies)
        listing_index = dict(self.listing_index)
        claimed: dict[str, str] = {}
        for extra in additions:
            symbol = extra.symbol if extra.symbol in companies else listing_index.get(extra.symbol, extra.symbol)
            known = companies.get(symbol)
            companies[symbol] = extra if known is None else replace(
                known, aliases=tuple(dict.fromkeys(known.aliases + extra.aliases)))
            for alias in extra.aliases:
                claimed[alias_key(alias)] = symbol
        for symbol, company in list(companies.items()):
            keep = tuple(a for a in company.aliases if claimed.get(alias_key(a), symbol) == symbol)
            strict = tuple(a for a in company.strict if alias_key(a) not in claimed)
            if keep != company.aliases or strict != company.strict:
                companies[symbol] = replace(company, aliases=keep, strict=strict)
        for new in primary:
            old = listing_index.get(new)
            if old is None or old not in companies:
                continue
            company = companies.pop(old)
            companies[new] = replace(company, symbol=new,
                                     listings=tuple(dict.fromkeys(s for s in (old, *company.listings) if s != new)))
            for listing, target in list(listing_index.items()):
                if target == old:
                    listing_index[listing] = new
            listing_index[old] = new
            listing_index.pop(new, None)
        return Universe(companies, listing_index)


def alias_key(text: str) -> str:
    """Letters and digits only, case- and accent-folded: "Rolls Royce" and "Rolls-Royce" are one name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if ch.isalnum())


def _is_everyday(alias: str) -> bool:
    """A one-word name that is also a common word ("Pool"), or a name made of market words ("Nasdaq")."""
    from engine.entities.words import is_common_word

    if _PERIOD_WORD.match(alias):
        return True  # "Q2 Holdings" is not every "Q2" in an earnings headline
    if alias.isupper():
        return False  # an acronym ("SAP") links only as written in capitals, never as the word "sap"
    words = [w for w in re.split(r"[\s\-,.]+", alias.casefold()) if w]
    return bool(words) and ((len(words) == 1 and is_common_word(words[0])) or all(w in MARKET_WORDS for w in words))


def _package_companies() -> tuple[dict[str, Company], dict[str, str]]:
    drafts = sorted(_package_drafts(), key=lambda d: d.rank)
    # Who claims each name; a name two companies claim goes to the one whose infobox title it is,
    # and to neither when that does not decide (a handful of rows pair names with other symbols).
    claims: dict[str, list[tuple[int, str]]] = {}
    for draft in drafts:
        for name, trust in draft.names.items():
            for variant in name_variants(name):
                claims.setdefault(alias_key(variant), []).append((trust, draft.symbol))
    owner: dict[str, str] = {}
    for key, claimants in claims.items():
        top = max(t for t, _s in claimants)
        best = {s for t, s in claimants if t == top}
        if len(best) == 1:
            owner[key] = next(iter(best))
    companies: dict[str, Company] = {}
    listing_index: dict[str, str] = {}
    for draft in drafts:
        names = sorted(draft.names, key=lambda n: -draft.names[n])
        variants = list(dict.fromkeys(v for n in names for v in name_variants(n)
                                      if owner.get(alias_key(v)) == draft.symbol))
        listings = tuple(s for s in draft.listings if s != draft.symbol)
        companies[draft.symbol] = Company(
            draft.symbol, names[0] if names else draft.symbol,
            aliases=tuple(v for v in variants if not _is_everyday(v)), listings=listings, source="pytickersymbols",
            indices=tuple(draft.indices), strict=tuple(v for v in variants if _is_everyday(v)),
            financial=draft.financial)
        for listing in listings:
            listing_index.setdefault(listing, draft.symbol)  # the higher-ranked company keeps a shared listing
    return companies, listing_index


def company_from_entry(entry: object, source: str, where: str) -> tuple[Company, bool]:
    """A company (and whether it asks to be primary) from one JSON entry of a curated or user list."""
    if not isinstance(entry, dict):
        raise UniverseError(f"{where}: expected an object with symbol, name and aliases")
    symbol = normalise_symbol(str(entry.get("symbol") or ""))
    raw_aliases = entry.get("aliases") or []
    if not isinstance(raw_aliases, list):
        raise UniverseError(f"{where} ({symbol}): aliases must be a list")
    aliases = [clean_alias(a) for a in raw_aliases]
    name = clean_alias(entry["name"]) if entry.get("name") else (aliases[0] if aliases else symbol)
    names = name_variants(name) if entry.get("name") else []
    company = Company(symbol, name, tuple(dict.fromkeys([*names, *aliases])), (symbol,), source)
    return company, bool(entry.get("primary"))


def build_universe(resources: Path | None = None) -> Universe:
    """The package's companies, with the shipped alias file and the demo companies."""
    root = resources or resources_dir()
    companies, listing_index = _package_companies()
    extra: list[Company] = []
    primary: list[str] = []
    sources = [(ALIASES_FILE, "aliases")]
    if (root / DEMO_COMPANIES_FILE).is_file():
        sources.append((DEMO_COMPANIES_FILE, "demo"))
    for relative, source in sources:
        for n, entry in enumerate(_load_json(root / relative), start=1):
            company, is_primary = company_from_entry(entry, source, f"{relative} entry {n}")
            extra.append(company)
            if is_primary:
                primary.append(company.symbol)
    return Universe(companies, listing_index).with_additions(extra, primary)


@functools.cache
def default_universe() -> Universe:
    """The shipped universe, built on first use and kept for the process (it never changes;
    two threads racing on the first call build equal copies)."""
    return build_universe()
