"""The asset view for the desk: one symbol's prices, news, decayed sentiment, regime and open idea,
and opening one stored signal (a chart marker, an idea's evidence).

Operations only, no feed: ``view`` runs ``engine.asset_view`` on the engine lane (it reads up to
2,000 signals); ``signal`` reads one stored signal with its calibrated view and event class.
A query nothing matches, or a signal id that is not stored, is refused with one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from app.bridge.feature import Feature
from app.bridge.operations import Operation, Refused
from engine.assets import AssetView, Bar, NewsMarker
from engine.reasoning.lookup import SignalEvent
from engine.types import Signal

__all__ = ["AssetView", "AssetsFeature", "Bar", "NewsMarker", "SignalOpened"]

DEFAULT_DAYS = 30.0


@dataclass(frozen=True)
class SignalOpened:
    signal: Signal  # with its model version's calibrated confidence when there is a calibrator
    event: SignalEvent | None


class AssetsFeature(Feature):
    def view(self, query: str, on_view: Callable[[AssetView], None], on_failure: Callable[[str], None],
             days: float = DEFAULT_DAYS) -> Operation:
        """Everything the asset view shows for a symbol or company name over the last ``days``."""
        query = str(query).strip()
        return self.op(f"Reading the asset view of {query[:40]!r}",
                       lambda ctx: ctx.engine.asset_view(query, days=days), expected=(ValueError, LookupError)) \
            .on_success(on_view).on_failure(on_failure).run()

    def signal(self, signal_id: int, on_opened: Callable[[SignalOpened], None],
               on_failure: Callable[[str], None]) -> Operation:
        """One stored signal by id, as the desk shows it (calibrated confidence, event class, links)."""
        def read(ctx) -> SignalOpened:
            from engine.reasoning.lookup import signal_event

            found = ctx.engine.store.get_signal(int(signal_id))
            if found is None:
                raise Refused(f"signal #{signal_id} is not stored")
            calibrated = ctx.engine.with_calibration([found])[0]
            return SignalOpened(calibrated, signal_event(ctx.engine.store, calibrated.id, calibrated.text))

        return self.op(f"Opening signal #{signal_id}", read).on_success(on_opened).on_failure(on_failure).run()
