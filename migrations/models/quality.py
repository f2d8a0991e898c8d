"""Logged predictions and the ground-truth labels clients send later, joined by request id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from migrations.coltypes import BigIntId, UTCDateTime, utcnow
from migrations.models.base import Base

__all__ = ["Feedback", "Prediction"]


class Prediction(Base):
    """One output row of one model version for one request, kept for a bounded time.

    A request may carry several rows (`row_index`); a shadow version's answer to the
    same request is a row of its own (`shadow`), so the unique key includes the version.
    `label` is the class label or regression value; `scores` the class probabilities
    (for log loss). Both are SQL NULL, not JSON null, when the model gave none.
    """

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("request_id", "row_index", "version"),
        Index("ix_predictions_model_name_at", "model_name", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(128))
    model_name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    row_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    label: Mapped[Any | None] = mapped_column(JSON(none_as_null=True))
    scores: Mapped[list[float] | None] = mapped_column(JSON(none_as_null=True))
    shadow: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Feedback(Base):
    """The ground-truth label of one request row; a second label for the row replaces it.

    Labels may arrive before the prediction is flushed, so nothing references
    `predictions`: the two are joined on (request_id, row_index) when quality is read.
    """

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("request_id", "row_index"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(128))
    row_index: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    model_name: Mapped[str | None] = mapped_column(String(255))
    label: Mapped[Any] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
