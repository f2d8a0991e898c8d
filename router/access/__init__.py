"""API tokens with roles: viewer (read), operator (rollout actions, promote), admin."""

from __future__ import annotations

from router.access.tokens import (
    ROLES,
    AccessDenied,
    TokenError,
    TokenInfo,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
)

__all__ = [
    "ROLES",
    "AccessDenied",
    "TokenError",
    "TokenInfo",
    "authenticate",
    "create_token",
    "list_tokens",
    "revoke_token",
]
