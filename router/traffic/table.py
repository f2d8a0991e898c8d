"""The gateway's in-process routing table: one compiled policy per model.

Readers never lock: the whole table is one dict that is never mutated after it is
published, and ``replace`` publishes a new one with a single reference assignment, so a
reader sees either the old table or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Mapping

from router.traffic.errors import PolicyError
from router.traffic.policy import RoutingPolicy
from router.traffic.split import CompiledPolicy

__all__ = ["RoutingTable"]


class RoutingTable:
    """Compiled routing policies by model name, swapped atomically as a whole."""

    __slots__ = ("_compiled",)

    def __init__(self, policies: Mapping[str, RoutingPolicy] | None = None) -> None:
        self._compiled: dict[str, CompiledPolicy] = {}
        if policies:
            self.replace(policies)

    def get(self, model: str) -> CompiledPolicy | None:
        return self._compiled.get(model)

    def replace(self, policies: Mapping[str, RoutingPolicy]) -> None:
        """Make ``policies`` the whole table; on PolicyError the old table stays."""
        current = self._compiled
        fresh: dict[str, CompiledPolicy] = {}
        for model, policy in policies.items():
            if not isinstance(policy, RoutingPolicy):
                raise PolicyError(
                    f"{model!r}: expected a RoutingPolicy, got {type(policy).__name__}"
                )
            if policy.model != model:
                raise PolicyError(f"{model!r}: the table entry holds a policy for {policy.model!r}")
            previous = current.get(model)
            # Watchers re-send unchanged policies every poll; keep their compiled form.
            if previous is not None and previous.policy == policy:
                fresh[model] = previous
            else:
                fresh[model] = CompiledPolicy.from_policy(policy)
        self._compiled = fresh

    def models(self) -> tuple[str, ...]:
        return tuple(sorted(self._compiled))

    def revision_of(self, model: str) -> int | None:
        compiled = self._compiled.get(model)
        return None if compiled is None else compiled.policy.revision

    def snapshot(self) -> dict[str, RoutingPolicy]:
        """The policies of one published table (a copy the caller may keep)."""
        table = self._compiled
        return {model: compiled.policy for model, compiled in table.items()}

    def __len__(self) -> int:
        return len(self._compiled)

    def __contains__(self, model: object) -> bool:
        return model in self._compiled
