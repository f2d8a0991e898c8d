"""Small helpers shared by the quality repositories."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TypeVar

__all__ = ["IN_CHUNK", "chunks", "require_aware"]

# Keys per IN (...) list: far below SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 500

_T = TypeVar("_T")


def chunks(items: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def require_aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime: comparing it with stored UTC times would guess its zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime; pass an aware UTC time")
