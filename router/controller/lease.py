"""Exactly one active controller: a lease row in the control DB, renewed every tick.

Acquiring and renewing are one conditional UPDATE (`holder = me OR expired`), atomic
on PostgreSQL and SQLite alike, so two controllers can never both believe they hold it.
A controller that dies stops renewing; a standby takes over once the lease expires.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from migrations.models import ControllerLease

DEFAULT_LEASE = "rollout-controller"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Lease:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        name: str = DEFAULT_LEASE,
        holder: str | None = None,
        ttl_s: float = 10.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.sessions = sessions
        self.name = name
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.ttl = timedelta(seconds=ttl_s)
        self.clock = clock

    def acquire(self) -> bool:
        """Take or renew the lease; False while another live holder has it."""
        now = self.clock()
        with self.sessions.begin() as session:
            taken = session.execute(
                update(ControllerLease)
                .where(
                    ControllerLease.name == self.name,
                    or_(ControllerLease.holder == self.holder, ControllerLease.expires_at < now),
                )
                .values(holder=self.holder, expires_at=now + self.ttl)
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if session.get(ControllerLease, self.name) is not None:
                return False
        try:
            with self.sessions.begin() as session:
                session.add(
                    ControllerLease(
                        name=self.name,
                        holder=self.holder,
                        acquired_at=now,
                        expires_at=now + self.ttl,
                    )
                )
        except IntegrityError:  # another controller created it first
            return False
        return True

    def release(self) -> None:
        """Give the lease up at once (a clean shutdown), so a standby need not wait."""
        with self.sessions.begin() as session:
            session.execute(
                update(ControllerLease)
                .where(ControllerLease.name == self.name, ControllerLease.holder == self.holder)
                .values(expires_at=self.clock() - timedelta(seconds=1))
                .execution_options(synchronize_session=False)
            )

    def holder_now(self) -> str | None:
        with self.sessions() as session:
            row = session.get(ControllerLease, self.name)
            if row is None or row.expires_at < self.clock():
                return None
            return row.holder
