"""Reconnect loops: exponential backoff (tenacity) that a stop event cuts short."""

from __future__ import annotations

import logging
import threading
from typing import Callable

from tenacity import Retrying, retry_if_exception_type, stop_when_event_set, wait_exponential

from engine.redisbus.client import TRANSIENT_ERRORS

log = logging.getLogger(__name__)


def redis_retrying(stop: threading.Event, max_backoff_s: float,
                   on_retry: Callable[[BaseException, float], None] | None = None) -> Retrying:
    """Retry on transient Redis errors, 0.25 s doubling up to ``max_backoff_s``, until ``stop`` is set
    (then the last error is raised). ``on_retry(error, seconds)`` is told before each wait."""

    def before_sleep(state) -> None:
        if on_retry is not None and state.outcome is not None:
            on_retry(state.outcome.exception(), state.next_action.sleep if state.next_action else 0.0)

    return Retrying(
        retry=retry_if_exception_type(TRANSIENT_ERRORS),
        wait=wait_exponential(multiplier=0.25, min=0.25, max=max_backoff_s),
        stop=stop_when_event_set(stop),
        sleep=stop.wait,  # a stop request ends the wait at once
        before_sleep=before_sleep,
        reraise=True,
    )
