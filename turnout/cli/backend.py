"""Where the rollout and promotion commands act: the control DB, or a turnout server.

Locally (the default) the CLI reads and writes the control DB itself, with the
operating-system user as the actor. With ``--server URL`` (or ``TURNOUT_SERVER``) it
calls that server's control API instead, authenticated by ``TURNOUT_TOKEN``: the
actor recorded is the token's name, and nothing but HTTP is needed on the machine
running the command (a CI job, say). Both backends return the same JSON documents, so
the commands print the same thing either way.
"""

from __future__ import annotations

import os
import time
from typing import Any, Protocol

from turnout.cli._common import STATE, services

__all__ = ["Backend", "RemoteError", "backend"]


class RemoteError(Exception):
    """The server refused or could not be reached; the message is one line for the user."""


class Backend(Protocol):
    def start(self, spec: dict[str, Any]) -> dict[str, Any]: ...

    def rollouts(self, model: str | None, limit: int) -> list[dict[str, Any]]: ...

    def rollout(self, rollout_id: int) -> dict[str, Any]: ...

    def decisions(self, rollout_id: int, limit: int) -> list[dict[str, Any]]: ...

    def command(self, rollout_id: int, kind: str, reason: str) -> dict[str, Any]: ...

    def promote(self, model: str, version: str, reason: str | None) -> dict[str, Any]: ...

    def rollback(self, model: str, reason: str | None) -> dict[str, Any]: ...


def decision_doc(d: Any) -> dict[str, Any]:
    return {
        "at": d.at.isoformat(),
        "step_index": d.step_index,
        "phase_before": d.phase_before,
        "phase_after": d.phase_after,
        "verdict": d.verdict,
        "reason": d.reason,
        "evidence": d.measurements,
    }


class LocalBackend:
    """The control DB and registry of this machine's settings."""

    def start(self, spec: dict[str, Any]) -> dict[str, Any]:
        from router.controller.service import start_rollout
        from router.rollout import RolloutSpec

        svc = services()
        rollout_id, resolved = start_rollout(
            svc.sessions, svc.registry, RolloutSpec.from_dict(spec), actor=svc.actor()
        )
        return {"id": rollout_id, "spec": resolved.to_dict()}

    def rollouts(self, model: str | None, limit: int) -> list[dict[str, Any]]:
        from router.controller.store import list_rollouts, rollout_document

        with services().sessions() as session:
            return [
                rollout_document(r, now=time.time())
                for r in list_rollouts(session, model=model, limit=limit)
            ]

    def rollout(self, rollout_id: int) -> dict[str, Any]:
        from router.controller.store import get_rollout, rollout_document

        with services().sessions() as session:
            return rollout_document(get_rollout(session, rollout_id), now=time.time())

    def decisions(self, rollout_id: int, limit: int) -> list[dict[str, Any]]:
        from router.controller.store import decisions, get_rollout

        with services().sessions() as session:
            get_rollout(session, rollout_id)
            return [decision_doc(d) for d in decisions(session, rollout_id, limit=limit)]

    def command(self, rollout_id: int, kind: str, reason: str) -> dict[str, Any]:
        from router.controller.service import run_command
        from turnout.serve import build_controller

        svc = services()
        # Commands act at once on the rollout; the compare-and-swap on its row, not the
        # lease, keeps them from racing the running controller.
        result = run_command(
            build_controller(svc, lease=False), rollout_id, kind, actor=svc.actor(), reason=reason
        )
        return {
            "id": rollout_id,
            "phase_before": result.phase_before,
            "phase": result.phase_after,
            "done": result.done,
        }

    def promote(self, model: str, version: str, reason: str | None) -> dict[str, Any]:
        svc = services()
        return svc.ledger.promote(model, version, actor=svc.actor(), reason=reason).to_dict()

    def rollback(self, model: str, reason: str | None) -> dict[str, Any]:
        svc = services()
        return svc.ledger.rollback(model, actor=svc.actor(), reason=reason).to_dict()


class RemoteBackend:
    """A turnout server's /api/v1, with a Bearer token for the commands that change things."""

    def __init__(self, url: str, token: str | None, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout_s = timeout_s

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        import httpx

        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        query = {k: v for k, v in params.items() if v is not None}
        try:
            with httpx.Client(base_url=self.url, timeout=self.timeout_s) as client:
                r = client.request(
                    method, f"/api/v1{path}", json=body, params=query, headers=headers
                )
        except httpx.HTTPError as exc:
            raise RemoteError(
                f"cannot reach the turnout server at {self.url}: {type(exc).__name__}: {exc}"
            ) from None
        if r.status_code >= 400:
            raise RemoteError(self._problem(r))
        try:
            return r.json()
        except ValueError:
            raise RemoteError(
                f"{self.url} answered {method} {path} with something that is not JSON "
                "(is it a turnout server?)"
            ) from None

    def _problem(self, r: Any) -> str:
        detail = ""
        try:
            doc = r.json()
            if isinstance(doc, dict):
                detail = str(doc.get("detail") or doc.get("title") or "")
        except ValueError:
            detail = r.text.strip().splitlines()[0] if r.text.strip() else ""
        if r.status_code == 401 and not self.token:
            detail = f"{detail} (set TURNOUT_TOKEN to an operator token)".strip()
        return f"server {self.url} answered {r.status_code}: {detail or r.reason_phrase}"

    def start(self, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/rollouts", spec))

    def rollouts(self, model: str | None, limit: int) -> list[dict[str, Any]]:
        return list(self._call("GET", "/rollouts", model=model, limit=limit))

    def rollout(self, rollout_id: int) -> dict[str, Any]:
        return dict(self._call("GET", f"/rollouts/{rollout_id}"))

    def decisions(self, rollout_id: int, limit: int) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/rollouts/{rollout_id}/decisions", limit=limit))

    def command(self, rollout_id: int, kind: str, reason: str) -> dict[str, Any]:
        path = f"/rollouts/{rollout_id}/{kind.replace('_', '-')}"
        return dict(self._call("POST", path, {"reason": reason}))

    def promote(self, model: str, version: str, reason: str | None) -> dict[str, Any]:
        return dict(
            self._call("POST", f"/models/{model}/promote", {"version": version, "reason": reason})
        )

    def rollback(self, model: str, reason: str | None) -> dict[str, Any]:
        return dict(self._call("POST", f"/models/{model}/rollback", {"reason": reason}))


def backend() -> Backend:
    """Remote when --server or TURNOUT_SERVER names a server, else local."""
    url = STATE.server or os.environ.get("TURNOUT_SERVER") or None
    if url:
        if not url.startswith(("http://", "https://")):
            raise RemoteError(f"--server must be an http:// or https:// URL, got {url!r}")
        return RemoteBackend(url, os.environ.get("TURNOUT_TOKEN") or None)
    return LocalBackend()
