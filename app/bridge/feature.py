"""What every feature bridge shares: the engine's ready/failed state and a way to run operations."""

from __future__ import annotations

from typing import Callable, TypeVar

from PySide6.QtCore import QObject, Signal

from app.bridge.host import EngineHost, EngineInfo
from app.bridge.operations import Latest, OpContext, Operation

T = TypeVar("T")


class Feature(QObject):
    """Base of the per-feature bridges. A panel is given its feature(s), never the host."""

    ready = Signal(object)  # EngineInfo: the engine is up (relayed from the host)
    failed = Signal(str)  # the engine could not start

    def __init__(self, host: EngineHost) -> None:
        super().__init__()
        self._host = host
        host.ready.connect(self.ready)
        host.failed.connect(self.failed)

    @property
    def info(self) -> EngineInfo | None:
        """Set once the engine is up; None before (and when it failed to start)."""
        return self._host.info

    @property
    def config(self):
        return self._host.config

    def op(self, name: str, fn: Callable[[OpContext], T], *, lane: str = "engine",
           expected: tuple[type[BaseException], ...] = ()) -> Operation[T]:
        return Operation(self._host, name, fn, lane=lane, expected=expected)

    @staticmethod
    def latest() -> Latest:
        """A slot for a series of operations of which only the newest one's answer counts."""
        return Latest()
