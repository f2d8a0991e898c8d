from __future__ import annotations

import threading

import pytest

from router.traffic import (
    CompiledPolicy,
    PolicyError,
    Route,
    RoutingPolicy,
    RoutingTable,
    single,
)


def _canary(model: str, weight: int, revision: int) -> RoutingPolicy:
    routes = (Route("1", 100 - weight), Route("2", weight))
    return RoutingPolicy(model, routes, revision=revision)


def test_an_empty_table() -> None:
    table = RoutingTable()
    assert table.get("fraud") is None
    assert table.models() == ()
    assert table.revision_of("fraud") is None
    assert table.snapshot() == {}
    assert len(table) == 0


def test_replace_publishes_compiled_policies() -> None:
    table = RoutingTable({"fraud": single("fraud", "7").with_revision(3)})
    compiled = table.get("fraud")
    assert isinstance(compiled, CompiledPolicy)
    assert compiled.decide(key="k", headers={}, cookies={}).version == "7"
    assert table.models() == ("fraud",)
    assert table.revision_of("fraud") == 3
    assert "fraud" in table


def test_replace_is_the_whole_table() -> None:
    table = RoutingTable({"fraud": single("fraud", "1"), "churn": single("churn", "1")})
    table.replace({"churn": single("churn", "2")})
    assert table.models() == ("churn",)
    assert table.get("fraud") is None


def test_snapshot_returns_the_policies_as_a_copy() -> None:
    policies = {"fraud": single("fraud", "1"), "churn": _canary("churn", 10, 2)}
    table = RoutingTable(policies)
    snapshot = table.snapshot()
    assert snapshot == policies
    snapshot.clear()
    assert table.models() == ("churn", "fraud")


def test_unchanged_policies_keep_their_compiled_form() -> None:
    table = RoutingTable({"fraud": single("fraud", "1"), "churn": single("churn", "1")})
    fraud, churn = table.get("fraud"), table.get("churn")
    table.replace({"fraud": single("fraud", "1"), "churn": single("churn", "2")})
    assert table.get("fraud") is fraud
    assert table.get("churn") is not churn


def test_a_policy_under_the_wrong_name_fails_and_keeps_the_old_table() -> None:
    old = {"fraud": single("fraud", "1")}
    table = RoutingTable(old)
    before = table.get("fraud")
    with pytest.raises(PolicyError, match="'churn'"):
        table.replace({"fraud": single("fraud", "2"), "churn": single("fraud", "2")})
    assert table.snapshot() == old
    assert table.get("fraud") is before


def test_a_policy_that_fails_to_compile_keeps_the_old_table() -> None:
    table = RoutingTable({"fraud": single("fraud", "1")})
    broken = single("churn", "1")
    object.__setattr__(broken, "routes", (Route("1", 40),))
    with pytest.raises(PolicyError, match="sum to 100"):
        table.replace({"fraud": single("fraud", "2"), "churn": broken})
    assert table.snapshot() == {"fraud": single("fraud", "1")}


def test_something_that_is_not_a_policy_fails() -> None:
    table = RoutingTable()
    with pytest.raises(PolicyError, match="expected a RoutingPolicy"):
        table.replace({"fraud": {"model": "fraud"}})  # type: ignore[dict-item]
    assert table.models() == ()


def test_readers_never_see_a_half_updated_table() -> None:
    models = [f"m{i}" for i in range(20)]
    tables = [{m: _canary(m, 10, revision) for m in models} for revision in (1, 2)]
    table = RoutingTable(tables[0])
    stop = threading.Event()
    mixed: list[set[int]] = []

    def read() -> None:
        while not stop.is_set():
            revisions = {p.revision for p in table.snapshot().values()}
            if len(revisions) != 1:
                mixed.append(revisions)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(2000):
            table.replace(tables[i % 2])
    finally:
        stop.set()
        reader.join()
    assert not mixed
