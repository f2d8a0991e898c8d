"""Errors of the serving layer (model pool, policy store, watcher).

ServingError
├── UnknownModel        no policy and no champion: the gateway does not serve it
├── UnknownVersion      the model is served, but not that version
├── VersionLoadError    a version's artifact is missing or does not load; it takes no traffic
└── PolicyConflict      two writers raced for the same policy revision
"""

from __future__ import annotations


class ServingError(Exception):
    """Base class of serving errors."""


class UnknownModel(ServingError):
    pass


class UnknownVersion(ServingError):
    pass


class VersionLoadError(ServingError):
    pass


class PolicyConflict(ServingError):
    pass
