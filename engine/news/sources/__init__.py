"""News sources: RSS/Atom feeds, a watched folder and the demo replay, each polled on its own thread.

A source turns what it finds into ``NewsItem``s and hands them to ``NewsPipeline.submit``,
which returns only once they are committed to the inbox (or refused). Only then does the
source advance its own cursor: a feed saves its ETag/Last-Modified, a folder moves the file
away, the replay moves its position. A crash in between repeats the fetch and the inbox dedupes.
"""

from engine.news.sources.base import PolledSource, SourceStatus
from engine.news.sources.folder import FolderSource
from engine.news.sources.replay import ReplaySource, demo_feed_path
from engine.news.sources.rss import FeedSource

__all__ = ["FeedSource", "FolderSource", "PolledSource", "ReplaySource", "SourceStatus", "demo_feed_path"]
