"""Exceptions raised by router.quality.

Every message is one line a client can act on; a FeedbackError names the offending
item and field (`items[2].request_id: required`).

    QualityError
    └── FeedbackError   a feedback payload is malformed (shape, field, type, size)
"""

from __future__ import annotations

__all__ = ["FeedbackError", "QualityError"]


class QualityError(Exception):
    """Base class of every error raised by router.quality."""


class FeedbackError(QualityError):
    """A feedback payload was rejected; nothing from it was stored (a client's fault)."""
