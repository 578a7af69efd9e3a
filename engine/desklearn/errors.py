"""What the desk-learning calls raise for the caller to show, in one line each."""

from __future__ import annotations


class Cancelled(Exception):
    """The caller's cancel() returned True; nothing was stored or changed."""


class DeskLearningError(ValueError):
    """A training, promotion or rollback cannot happen; the message says why."""
