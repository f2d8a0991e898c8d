"""Token checks on the inference hot path: an in-memory copy of the token table.

The control API looks a token up in the control DB per request; inference requests
come thousands a second, so with ``TURNOUT_INFERENCE_AUTH`` on, a gateway keeps the
SHA-256 digests of the tokens that are not revoked and re-reads them every ``ttl_s``
seconds. A new or revoked token therefore takes effect within ``ttl_s``. While the
control DB is unreachable the last copy is used; before one was ever read, every
request is refused (closed, not open).
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from migrations.models import ApiToken
from router.access.tokens import _digest

__all__ = ["TokenCache"]


class TokenCache:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessions = sessions
        self.ttl_s = ttl_s
        self.clock = clock
        self._digests: frozenset[str] | None = None
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        now = self.clock()
        if now - self._read_at < self.ttl_s:
            return
        with self._lock:
            if now - self._read_at < self.ttl_s:
                return
            self._read_at = now  # also after a failure: retry in ttl_s, not per request
            try:
                with self.sessions() as session:
                    rows = session.scalars(
                        select(ApiToken.token_hash).where(ApiToken.revoked_at.is_(None))
                    ).all()
            except Exception:
                return  # keep the last copy (or none: refuse) while the DB is away
            self._digests = frozenset(rows)

    def check(self, authorization: str | None) -> str | None:
        """None when the header carries a live token, else why the request is refused."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return "this model needs a token (Authorization: Bearer ...)"
        self._refresh()
        digests = self._digests
        if digests is None:
            return "tokens cannot be checked now (the control DB is unreachable)"
        digest = _digest(authorization[7:].strip())
        if any(hmac.compare_digest(digest, known) for known in digests):
            return None
        return "unknown or revoked token"
