"""Reading tabular data files (CSV, Parquet) for input examples and reference data."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import DataFileError

if TYPE_CHECKING:
    import pandas as pd

_CSV = {".csv", ".txt"}
_PARQUET = {".parquet", ".pq"}


def read_table(path: Path, *, what: str = "data") -> pd.DataFrame:
    """Read a CSV or Parquet file into a DataFrame, or raise DataFileError naming the problem."""
    import pandas as pd

    if not path.exists():
        raise DataFileError(f"{what} file not found: {path}")
    if not path.is_file():
        raise DataFileError(f"{what} path is not a file: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix in _PARQUET:
            frame = pd.read_parquet(path)
        elif suffix in _CSV:
            frame = pd.read_csv(path)
        else:
            raise DataFileError(
                f"{what} file {path.name} has an unknown extension {suffix or '(none)'}; "
                "use .csv or .parquet"
            )
    except DataFileError:
        raise
    except PermissionError:
        raise DataFileError(f"{what} file is not readable: {path}") from None
    except Exception as exc:  # pandas/pyarrow raise many types for a corrupt file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFileError(f"cannot read {what} file {path}: {reason}") from None
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise DataFileError(f"{what} file {path} has no rows or no columns")
    return frame
