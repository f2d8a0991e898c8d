"""Token storage and checks. Only a SHA-256 of each token is stored; the token itself is
shown once, when it is created. Roles are ordered: admin can do what operator can, and
operator what viewer can."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from migrations.models import ApiToken

ROLES = ("viewer", "operator", "admin")
_RANK = {role: i for i, role in enumerate(ROLES)}
_PREFIX = "tt_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


class TokenError(Exception):
    """A bad token request (unknown role, duplicate or invalid name, unknown token)."""


class AccessDenied(Exception):
    """No token, an unknown or revoked one, or one whose role is too low."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class TokenInfo:
    name: str
    role: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def allows(self, role: str) -> bool:
        return self.revoked_at is None and _RANK[self.role] >= _RANK[role]

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role,
            "created_at": self.created_at.isoformat(),
            "last_used_at": None if self.last_used_at is None else self.last_used_at.isoformat(),
            "revoked_at": None if self.revoked_at is None else self.revoked_at.isoformat(),
        }


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    role = (row.scopes or ["viewer"])[0]
    return TokenInfo(row.name, role, row.created_at, row.last_used_at, row.revoked_at)


def create_token(session: Session, name: str, role: str) -> str:
    """Store a new token and return it (the only time it is visible)."""
    if role not in _RANK:
        raise TokenError(f"unknown role '{role}'; one of {', '.join(ROLES)}")
    if not _NAME.match(name):
        raise TokenError(f"'{name}' is not a valid token name (letters, digits, . _ @ -)")
    token = _PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=_digest(token), scopes=[role]))
    try:
        session.flush()
    except IntegrityError:
        raise TokenError(
            f"a token named '{name}' exists already; revoke it or pick another name"
        ) from None
    return token


def list_tokens(session: Session) -> list[TokenInfo]:
    return [_info(r) for r in session.scalars(select(ApiToken).order_by(ApiToken.name))]


def revoke_token(session: Session, name: str) -> TokenInfo:
    row = session.scalars(select(ApiToken).where(ApiToken.name == name)).first()
    if row is None:
        raise TokenError(f"no token named '{name}'")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.flush()
    return _info(row)


def authenticate(session: Session, token: str | None, role: str) -> TokenInfo:
    """The token's owner if it may act as ROLE, else AccessDenied (401 or 403)."""
    if not token:
        raise AccessDenied(
            f"this endpoint needs a token with role {role} (Authorization: Bearer ...)"
        )
    digest = _digest(token)
    row = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    # compare_digest on the stored hash keeps timing independent of where strings differ.
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise AccessDenied("unknown token")
    info = _info(row)
    if info.revoked_at is not None:
        raise AccessDenied(f"token '{info.name}' was revoked")
    if not info.allows(role):
        raise AccessDenied(f"token '{info.name}' has role {info.role}; this needs {role}", 403)
    row.last_used_at = datetime.now(UTC)
    session.flush()
    return info
