"""Replay of the bundled demo feed (resources/demo/news/demo_feed.jsonl) at a chosen rate.

Items are re-stamped with the time they are replayed, so decay and TTLs behave as live.
Each replay run gets its own guid suffix: replaying again is new news for the demo, while
within one run the inbox still dedupes. A full pipeline slows the replay down (the submit
blocks); the lost time is not made up in a burst afterwards.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from engine.news.demo import demo_feed_path
from engine.news.files import RowProblem, iter_news_file
from engine.news.items import NewsItem
from engine.news.sources.base import PolledSource, SourceError

TICK_S = 0.1

__all__ = ["ReplaySource", "demo_feed_path"]


class ReplaySource(PolledSource):
    kind = "replay"

    def __init__(self, name: str, path: str | Path | None = None, *, rate: float = 20.0, loop: bool = False,
                 max_chars: int = 2000, **kwargs) -> None:
        path = Path(path) if path else demo_feed_path()
        kwargs.setdefault("interval_s", TICK_S)
        super().__init__(name, str(path), **kwargs)
        if rate <= 0:
            raise ValueError("replay rate must be positive")
        self.path = path
        self.rate = float(rate)
        self.loop = loop
        self.max_chars = max_chars
        self._records: list[NewsItem] | None = None
        self._position = 0
        self._run_id = ""
        self._credit = 0.0
        self._last_tick: float | None = None
        self._done = False

    def _load(self) -> list[NewsItem]:
        if self._records is None:
            try:
                # The demo feed we ship names its own sources; any other replayed file is a user's file.
                entries = list(iter_news_file(self.path, self.name, self.source_kind, self.max_chars,
                                              trusted=self.path == demo_feed_path()))
            except (OSError, ValueError) as exc:
                raise SourceError(f"cannot read the demo feed {self.path}: {exc}") from None
            self._records = [e for e in entries if not isinstance(e, RowProblem)]
            if not self._records:
                raise SourceError(f"{self.path}: no items to replay")
        return self._records

    def finished(self) -> bool:
        return self._done

    def poll(self) -> None:
        records = self._load()
        now = time.monotonic()
        if self._last_tick is None or not self._run_id:
            self._run_id = _new_run_id()
            self._last_tick = now
        # Credit accrues with time but never beyond one second's worth: no catch-up bursts.
        self._credit = min(self.rate, self._credit + (now - self._last_tick) * self.rate)
        self._last_tick = now
        due = int(self._credit)
        if due <= 0:
            return
        batch: list[NewsItem] = []
        stamp = time.time()
        while len(batch) < due and not self._done:
            record = records[self._position]
            # Re-stamped and re-keyed per run; the row's own source (wire, research, social) is kept.
            batch.append(NewsItem(text=record.text, source=record.source, source_kind=record.source_kind,
                                  published_at=stamp, guid=f"{record.guid or self._position}@{self._run_id}",
                                  tickers=record.tickers, truncated=record.truncated))
            self._position += 1
            if self._position >= len(records):
                self._position = 0
                if self.loop:
                    self._run_id = _new_run_id()
                else:
                    self._done = True
        if self.deliver(batch):
            self._credit -= len(batch)
        else:
            self._position = (self._position - len(batch)) % len(records)  # not acknowledged: replay them
            self._done = False
        self.detail = f"replayed {self._position if not self._done else len(records)}/{len(records)} at {self.rate:g}/s"


def _new_run_id() -> str:
    # Unique per run: a clock in whole seconds gave two runs started within one second (a replay
    # restarted at a new rate, or a short looped feed) the same guids, so the second was all duplicates.
    return uuid.uuid4().hex[:12]
