from __future__ import annotations

from router.quality import FeedbackError, QualityError


def test_feedback_error_is_a_quality_error() -> None:
    assert issubclass(FeedbackError, QualityError)
    assert issubclass(QualityError, Exception)
