"""Live news: sources, the pipeline, event classes and the per-asset signal cache.

- ``items`` / ``files``: a ``NewsItem`` and its dedupe key; reading CSV/JSONL/TXT files.
- ``inbox``: items are committed here before a source is acknowledged (crash-safe, exactly once).
- ``lanes``: the bounded fast-lane queue (backpressure).
- ``pipeline``: ``NewsPipeline``, the one object the CLI and the GUI feed (``engine.news``).
- ``events``: event classification (rules + MiniLM prototypes); figures in EVENTS.md.
- ``cache``: per-asset latest signal, history, running sentiment, the J8 features.
- ``sources``: RSS/Atom feeds, a watched folder, the demo replay; ``demo`` writes the demo feed.
- ``config``: ``NewsConfig`` from the ``[news]`` section of config.toml.
"""

from engine.news.cache import FEATURE_NAMES, AssetSnapshot, SignalCache
from engine.news.config import NewsConfig, load_news_config
from engine.news.events import EventClassifier, EventInfo
from engine.news.items import NewsItem
from engine.news.pipeline import FileIngestReport, NewsPipeline, PipelineStats, SubmitResult
from engine.scored import ScoredBatch, ScoredItem

__all__ = ["FEATURE_NAMES", "AssetSnapshot", "EventClassifier", "EventInfo", "FileIngestReport", "NewsConfig",
           "NewsItem", "NewsPipeline", "PipelineStats", "ScoredBatch", "ScoredItem", "SignalCache", "SubmitResult",
           "load_news_config"]
