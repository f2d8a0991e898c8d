"""Errors of the rollout controller and the services the CLI and API call.

ControllerError
├── RolloutNotFound        no rollout with that id (or none active for the model)
├── ActiveRolloutExists    the model already has an active rollout
├── RolloutConflict        another action changed the rollout first; nothing was done
└── InvalidRollout         the request cannot start (candidate is champion, unknown version...)
"""

from __future__ import annotations


class ControllerError(Exception):
    """Base class of controller errors."""


class RolloutNotFound(ControllerError):
    pass


class ActiveRolloutExists(ControllerError):
    pass


class RolloutConflict(ControllerError):
    pass


class InvalidRollout(ControllerError):
    pass
