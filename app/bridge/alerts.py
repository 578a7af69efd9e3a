"""Alerts for the desk: a feed of alerts as the engine raises them, the alerts log and the settings.

Push feed: ``raised`` (``AlertsRaised``) re-emits ``engine.news.alerts`` callbacks, which run on the
engine's after-scoring thread, as a Qt signal (queued to the UI thread). The engine decides and
rate-limits; the window only shows what arrives. ``settings`` carries the ``AlertConfig`` in force
once the engine is up and after every save.

Operations: ``recent`` (the log, newest first), ``save_settings`` (writes ``[alerts]`` in
config.toml and hands the running pipeline the new settings: they apply to the next batch).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Signal

from app.bridge.feature import Feature
from app.bridge.host import EngineHost
from app.bridge.operations import Operation
from engine.alerts import Alert, AlertConfig
from engine.config import ConfigError

__all__ = ["Alert", "AlertConfig", "AlertsFeature", "AlertsRaised", "AlertSettings"]

log = logging.getLogger(__name__)

LOG_LIMIT = 500  # rows the log dialog reads at once


@dataclass(frozen=True)
class AlertsRaised:
    alerts: tuple[Alert, ...]


@dataclass(frozen=True)
class AlertSettings:
    config: AlertConfig  # in force (config.toml, then SIGNALDESK_ALERTS_* variables)
    overridden: tuple[str, ...] = ()  # fields an environment variable sets, whatever the file says


class AlertsFeature(Feature):
    raised = Signal(object)  # AlertsRaised
    settings = Signal(object)  # AlertSettings

    def __init__(self, host: EngineHost) -> None:
        super().__init__(host)
        self._pipeline_alerts = None
        self.current: AlertSettings | None = None  # as last published on ``settings``
        host.on_start(self._start)
        host.on_stop(self._stop)

    def _start(self, engine) -> None:
        try:
            alerts = engine.news.alerts
        except Exception:  # live news failing to build must not stop the desk; the live feature says why
            log.exception("alerts are unavailable: the live-news pipeline could not be built")
            return
        alerts.subscribe(self._on_alerts)
        self._pipeline_alerts = alerts
        self._publish(self._settings_of(alerts.config))

    def _stop(self, _engine) -> None:
        if self._pipeline_alerts is not None:
            self._pipeline_alerts.unsubscribe(self._on_alerts)
            self._pipeline_alerts = None

    def _publish(self, settings: AlertSettings) -> None:
        self.current = settings
        self.settings.emit(settings)

    def _on_alerts(self, alerts: list[Alert]) -> None:
        """After-scoring thread: relay to the UI (emitting queues the call to the UI thread)."""
        if alerts:
            self.raised.emit(AlertsRaised(tuple(alerts)))

    @staticmethod
    def _settings_of(config: AlertConfig) -> AlertSettings:
        import os

        from engine.alerts import ENV_PREFIX

        overridden = tuple(name for name in config.to_dict() if f"{ENV_PREFIX}{name.upper()}" in os.environ)
        return AlertSettings(config, overridden)

    def recent(self, on_listed: Callable[[tuple[Alert, ...]], None], on_failure: Callable[[str], None], *,
               since: float | None = None, symbol: str | None = None, limit: int = LOG_LIMIT) -> Operation:
        """The alerts log, newest first."""
        from engine.alerts import recent_alerts

        return self.op("Reading the alerts log",
                       lambda ctx: tuple(recent_alerts(ctx.engine.store, limit=limit, since=since, symbol=symbol))) \
            .on_success(on_listed).on_failure(on_failure).run()

    def save_settings(self, values: dict, on_saved: Callable[[AlertSettings], None],
                      on_refused: Callable[[str], None]) -> Operation:
        """Check ``values`` (AlertConfig fields), write them to config.toml and apply them at once.
        Bad values are refused with the one-line reason and nothing is written."""
        def save(ctx) -> AlertSettings:
            from engine.alerts import load_alert_config, save_alert_config

            if ctx.engine.data_dir is None:
                raise ConfigError("alert settings need a data folder")
            config = AlertConfig(**values)  # validates: a bad value never reaches the file
            save_alert_config(ctx.engine.data_dir, config)
            # What is in force: the file just written, under any environment override.
            in_force = load_alert_config(ctx.engine.data_dir)
            ctx.engine.news.alerts.config = in_force
            settings = self._settings_of(in_force)
            self._publish(settings)
            return settings

        return self.op("Saving alert settings", save, expected=(ConfigError, TypeError, OSError)) \
            .on_success(on_saved).on_failure(on_refused).run()
