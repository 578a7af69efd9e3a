"""One incoming news item, before scoring, and the key that deduplicates it.

Dedupe order (issue 8): a feed's guid, else the link, else a hash of the normalised text.
Guids and texts are scoped by source, because the same headline from a wire and from a
social account is two voices for the consensus, not a duplicate; a link names one web page
wherever it was seen, so it is global.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from engine.news.config import SOURCE_KINDS
from engine.validation import strip_control

_SPACES = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def normalise_link(link: str) -> str:
    """Scheme and host lower-cased, fragment dropped; the query stays (it often is the article id)."""
    parts = urlsplit(link.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


def content_key(source: str, text: str, guid: str | None = None, link: str | None = None) -> str:
    if guid and guid.strip():
        basis = f"guid\x1f{source}\x1f{guid.strip()}"
    elif link and link.strip():
        basis = f"link\x1f{normalise_link(link)}"
    else:
        basis = f"text\x1f{source}\x1f{normalise_text(text)}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewsItem:
    text: str
    source: str  # a source's name, e.g. "rss:wire-demo", "folder:drop", "file:headlines.csv"
    source_kind: str = "news"  # news | analyst | social: the weight class for aggregation
    published_at: float | None = None  # unix seconds as the source stated it
    guid: str | None = None
    link: str | None = None
    tickers: tuple[str, ...] = ()  # tickers the source named explicitly (merged with extracted ones)
    truncated: bool = False
    key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.source_kind not in SOURCE_KINDS:
            raise ValueError(f"source_kind must be one of {', '.join(SOURCE_KINDS)}, got {self.source_kind!r}")
        if not self.key:
            object.__setattr__(self, "key", content_key(self.source, self.text, self.guid, self.link))


def make_item(text: str, source: str, max_chars: int, **fields) -> NewsItem | None:
    """A trimmed, length-capped item, or None for blank text (counted by the caller as invalid).
    Control characters go first, so a line of NUL bytes is blank, not a headline."""
    cleaned = _SPACES.sub(" ", strip_control(text or "")).strip()
    if not cleaned:
        return None
    cut = len(cleaned) > max_chars
    return NewsItem(text=cleaned[:max_chars] if cut else cleaned, source=source, truncated=cut, **fields)
