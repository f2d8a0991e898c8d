"""Engines for the control-DB tests, once per backend (the URLs come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from migrations import make_engine, upgrade


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on an empty control DB (no tables yet), once per backend."""
    eng = make_engine(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def migrated_engine(engine: Engine) -> Engine:
    """An engine on a control DB upgraded to head, once per backend."""
    upgrade(engine)
    return engine
