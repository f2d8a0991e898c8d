"""Rollout webhooks: gates that must answer 2xx, and notifications.

Payloads are JSON; with a secret the body is signed with HMAC-SHA256 in the
`X-Turnout-Signature: sha256=<hex>` header, so a receiver can check who sent it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from router.controller.signing import SIGNATURE_HEADER, sign
from router.rollout import Webhook

_log = logging.getLogger(__name__)


class WebhookCaller:
    def __init__(
        self, secrets: Mapping[str, str], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.secrets = secrets  # environment-variable name -> value, from the composition root
        self.transport = transport

    def post(self, hook: Webhook, payload: Mapping[str, Any]) -> tuple[bool, str]:
        body = orjson.dumps(payload)
        headers = {"content-type": "application/json"}
        if hook.secret_env:
            secret = self.secrets.get(hook.secret_env)
            if not secret:
                return False, f"{hook.type} {hook.url}: secret {hook.secret_env} is not set"
            headers[SIGNATURE_HEADER] = sign(secret, body)
        try:
            with httpx.Client(timeout=hook.timeout_s, transport=self.transport) as client:
                response = client.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, f"{hook.type} {hook.url}: {type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return True, f"{hook.type} {hook.url}: {response.status_code}"
        return False, f"{hook.type} {hook.url}: answered {response.status_code}"

    def gate(self, hooks: Sequence[Webhook], payload: Mapping[str, Any]) -> tuple[bool, list[str]]:
        """Every hook must answer 2xx in time; a timeout or other status fails the gate."""
        notes: list[str] = []
        ok = True
        for hook in hooks:
            passed, note = self.post(hook, payload)
            notes.append(note)
            ok = ok and passed
        return ok, notes

    def notify(self, hooks: Sequence[Webhook], payload: Mapping[str, Any]) -> list[str]:
        notes = []
        for hook in hooks:
            passed, note = self.post(hook, payload)
            if not passed:
                _log.warning("rollout notification failed: %s", note)
            notes.append(note)
        return notes
