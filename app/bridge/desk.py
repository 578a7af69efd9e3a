"""The desk: one engine host and its feature bridges, built and wired in one place.

The main window receives a ``Desk`` and hands each panel only its own features; nothing outside
``app/`` touches the host.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.bridge.alerts import AlertsFeature
from app.bridge.analyze import AnalyzeFeature
from app.bridge.assets import AssetsFeature
from app.bridge.calibration import CalibrationFeature
from app.bridge.desklearn import DeskLearningFeature
from app.bridge.explain import ExplainFeature
from app.bridge.feedback import FeedbackFeature
from app.bridge.host import EngineHost, EngineInfo
from app.bridge.ideas import IdeasFeature
from app.bridge.live import LiveFeature
from app.bridge.models import ModelsFeature
from app.bridge.monitor import MonitorFeature
from app.bridge.watchlist import WatchlistFeature
from engine.config import Config


class Desk(QObject):
    ready = Signal(object)  # EngineInfo
    failed = Signal(str)  # the engine could not start
    problem = Signal(str)  # for the status bar: engine not running, unexpected errors

    def __init__(self, config: Config, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.config = config
        self.data_dir = Path(data_dir)
        self.host = EngineHost(config, self.data_dir, self)
        # Created in the order their start-up work should run on the engine lane.
        self.analyze = AnalyzeFeature(self.host)
        self.calibration = CalibrationFeature(self.host)
        self.feedback = FeedbackFeature(self.host, self.calibration)
        self.models = ModelsFeature(self.host)
        self.desklearn = DeskLearningFeature(self.host)
        # A verdict changes the label counts a training would use; a promotion changes what scores.
        self.feedback.recorded.connect(lambda _result: self.desklearn.refresh())
        self.desklearn.changed.connect(lambda _message: self.models.refresh())
        self.monitor = MonitorFeature(self.host, self.analyze.backlog.value, self.models.refresh)
        self.explain = ExplainFeature(self.host)
        self.ideas = IdeasFeature(self.host)
        self.watchlist = WatchlistFeature(self.host)
        self.assets = AssetsFeature(self.host)
        self.alerts = AlertsFeature(self.host)  # subscribes before live news resumes: no alert goes unheard
        self.live = LiveFeature(self.host)  # last: resumed news must find the listeners above in place
        self.host.ready.connect(self.ready)
        self.host.failed.connect(self.failed)
        self.host.problem.connect(self.problem)

    @property
    def info(self) -> EngineInfo | None:
        return self.host.info

    def start(self) -> None:
        self.host.start()

    def is_running(self) -> bool:
        return self.host.is_running()

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop every lane and close the engine; True when it ended in time."""
        return self.host.shutdown(timeout_ms)
