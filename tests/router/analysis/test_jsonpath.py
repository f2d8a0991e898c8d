from __future__ import annotations

import pytest

from router.analysis.jsonpath import parse_path, pick


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("$", ()),
        ("", ()),
        ("$.data.value", ("data", "value")),
        ("data.value", ("data", "value")),
        ("$.data.result[0].value[1]", ("data", "result", 0, "value", 1)),
        ("$['odd key'].x", ("odd key", "x")),
        ('$["a.b"]', ("a.b",)),
        ("[2]", (2,)),
        ("$.items[-1]", ("items", -1)),
    ],
)
def test_parse(path: str, steps: tuple[object, ...]) -> None:
    assert parse_path(path) == steps


@pytest.mark.parametrize("path", ["$.", "$..a", "a[", "$[x]", "$.a b"])
def test_bad_paths_are_rejected(path: str) -> None:
    with pytest.raises(ValueError, match="bad JSON path"):
        parse_path(path)


def test_pick_walks_objects_and_lists() -> None:
    doc = {"data": {"result": [{"value": [1.0, "0.25"]}]}}
    assert pick(doc, parse_path("$.data.result[0].value[1]")) == "0.25"
    assert pick(doc, ()) is doc


def test_pick_says_where_it_stopped() -> None:
    doc = {"data": {"items": [1]}}
    with pytest.raises(LookupError, match=r"\$\.data has no key 'value'"):
        pick(doc, parse_path("data.value"))
    with pytest.raises(LookupError, match=r"\$\.data\.items has no item \[3\]"):
        pick(doc, parse_path("data.items[3]"))
