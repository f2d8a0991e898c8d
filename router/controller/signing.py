"""HMAC-SHA256 signatures of outgoing webhook bodies (rollout webhooks and alert sinks).

A receiver recomputes `sha256=<hex>` over the raw body with the shared secret and
compares it with the `x-turnout-signature` header in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "x-turnout-signature"


def sign(secret: str, body: bytes) -> str:
    """The header value for `body`: `sha256=` and the hex HMAC-SHA256 under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether `header` is the signature of `body` under `secret`."""
    return hmac.compare_digest(sign(secret, body), header.strip())
