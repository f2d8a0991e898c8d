"""Planted shifts for drift experiments: what the tests and the P4 benchmark apply to
windows drawn from a reference, to see whether the policy catches them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = ["Shift", "category_move", "mean_shift", "scale"]

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
