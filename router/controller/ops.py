"""The rollout and alias operations the control API offers, on one set of collaborators."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from router.controller.controller import Controller, TickResult
from router.controller.service import run_command, start_rollout
from router.rollout import RolloutSpec


class ControlOps:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: Any,
        ledger: Any,
        controller: Controller,
    ) -> None:
        self.sessions = sessions
        self.registry = registry
        self.ledger = ledger
        self.controller = controller

    def start(self, spec_doc: Any, *, actor: str) -> tuple[int, RolloutSpec]:
        spec = RolloutSpec.from_dict(spec_doc, source="request body")
        return start_rollout(self.sessions, self.registry, spec, actor=actor)

    def command(self, rollout_id: int, kind: str, *, actor: str, reason: str) -> TickResult:
        return run_command(self.controller, rollout_id, kind, actor=actor, reason=reason)

    def promote(self, model: str, version: str, *, actor: str, reason: str | None) -> Any:
        return self.ledger.promote(model, version, actor=actor, reason=reason)

    def rollback(self, model: str, *, actor: str, reason: str | None) -> Any:
        return self.ledger.rollback(model, actor=actor, reason=reason)
