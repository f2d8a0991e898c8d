"""Planted shifts for drift experiments: what the tests and the P4 benchmark apply to
windows drawn from a reference, to see whether the policy catches them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["CATS", "Shift", "category_move", "mean_shift", "scale", "synthetic"]

CATS = ["a", "b", "c", "d"]

# A window (changed in place and returned) and the generator for any randomness.
Shift = Callable[[pd.DataFrame, np.random.Generator], pd.DataFrame]


def mean_shift(column: str, sd: float, amount: float) -> Shift:
    """Add ``amount`` standard deviations (``sd``) to a numeric column."""

    def apply(w: pd.DataFrame, _: np.random.Generator) -> pd.DataFrame:
        w[column] = w[column] + amount * sd
        return w

    return apply


def scale(column: str, center: float, factor: float) -> Shift:
    """Stretch a numeric column around ``center`` by ``factor`` (a variance change)."""

    def apply(w: pd.DataFrame, _: np.random.Generator) -> pd.DataFrame:
        w[column] = center + (w[column] - center) * factor
        return w

    return apply


def category_move(column: str, share: float, *, source_share: float = 0.4) -> Shift:
    """Move ``share`` of all rows from category "a" (which holds ``source_share`` of
    the rows) to category "d"."""

    def apply(w: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        moved = (w[column] == "a") & (rng.random(len(w)) < share / source_share)
        w.loc[moved, column] = "d"
        return w

    return apply


def synthetic(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """20 features: normal, lognormal, exponential, uniform, Poisson, small integers,
    a 0/1 flag, a column with 5% missing, Student t(3), three categoricals, a bool."""
    d: dict[str, object] = {}
    for i in range(5):
        d[f"norm{i}"] = rng.normal(10 * i, 1 + i, n)
    for i in range(3):
        d[f"logn{i}"] = rng.lognormal(0, 0.5 + 0.3 * i, n)
    for i in range(2):
        d[f"expo{i}"] = rng.exponential(1 + i, n)
    d["unif"] = rng.uniform(-1, 1, n)
    d["pois"] = rng.poisson(3, n).astype(np.int64)
    d["small"] = rng.integers(0, 4, n)
    d["flag"] = (rng.random(n) < 0.3).astype(np.int64)
    gappy = rng.normal(size=n)
    gappy[rng.random(n) < 0.05] = np.nan
    d["gappy"] = gappy
    d["heavy"] = rng.standard_t(3, n)
    for i in range(3):
        d[f"cat{i}"] = rng.choice(CATS, n, p=[0.4, 0.3, 0.2, 0.1])
    d["bool"] = rng.random(n) < 0.6
    return pd.DataFrame(d)
