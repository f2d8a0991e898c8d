"""Exceptions raised by router.rollout.

Every message is one line: a spec error names the field (``steps[2].setWeight: ...``),
a command error says why the command does not apply in the rollout's phase.

    RolloutError
    ├── SpecError         a rollout spec (YAML, JSON, CLI flags) is invalid
    ├── TransitionError   a phase change the transition table does not allow
    └── CommandError      a human command that does not apply now (approve when not paused)
"""

from __future__ import annotations

__all__ = ["CommandError", "RolloutError", "SpecError", "TransitionError"]


class RolloutError(Exception):
    """Base class of every error raised by router.rollout."""


class SpecError(RolloutError):
    """A rollout spec, or the text or flags it was built from, is invalid."""


class TransitionError(RolloutError):
    """A phase change that TRANSITIONS does not allow (a bug in the caller or the machine)."""


class CommandError(RolloutError):
    """A command (approve, pause, resume, promote, abort, retry) that does not apply now."""
