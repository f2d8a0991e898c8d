"""Who may call the control API (hashed tokens) and which controller may act (leases)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from migrations.coltypes import BigIntId, UTCDateTime, utcnow
from migrations.models.base import Base

__all__ = ["ApiToken", "ControllerLease"]


class ApiToken(Base):
    """An API token; only its hash is stored, so a leaked table grants nothing."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ControllerLease(Base):
    """A named lease; the holder whose `expires_at` is in the future is the active one.

    Standbys take over by updating the row only where it has expired, so at most one
    controller acts even when clocks and processes misbehave.
    """

    __tablename__ = "controller_leases"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
