"""Exceptions raised by router.analysis.

Every message is one line a user can act on; a SpecError names the field
(`metrics[1].failureLimit: must be >= 0`).

    AnalysisError
    ├── SpecError       an analysis spec is invalid, or names a provider that is not set up
    ├── StateError      a persisted judge state could not be read back
    └── ProviderError   a metric provider could not measure (network, HTTP status, parse)
"""

from __future__ import annotations

__all__ = ["AnalysisError", "ProviderError", "SpecError", "StateError"]


class AnalysisError(Exception):
    """Base class of every error raised by router.analysis."""


class SpecError(AnalysisError):
    """An analysis spec was rejected (a user's fault); the message names the field."""


class StateError(AnalysisError):
    """A stored JudgeState document is malformed; the judge cannot resume from it."""


class ProviderError(AnalysisError):
    """A provider failed to measure; the judge counts it toward consecutiveErrorLimit."""
