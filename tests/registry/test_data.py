"""registry.data.read_table: CSV and Parquet in, one clear DataFileError for anything else."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from registry.data import read_table
from registry.errors import DataFileError


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "amount": [12.5, 0.1, -3.25, 1e6],
            "count": np.array([1, 2, 3, 40], dtype=np.int64),
            "country": ["no", "pe", "in", "de"],
            "flagged": [True, False, False, True],
        }
    )


def _message(exc: DataFileError, path: Path) -> str:
    message = str(exc)
    assert "\n" not in message, message
    assert path.name in message, message
    return message


def test_csv_reads_back_what_was_written(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)

    pd.testing.assert_frame_equal(read_table(path), frame)


def test_parquet_reads_back_what_was_written(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.parquet"
    frame.assign(amount=frame["amount"].astype(np.float32)).to_parquet(path, index=False)

    pd.testing.assert_frame_equal(
        read_table(path), frame.assign(amount=frame["amount"].astype(np.float32))
    )


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.parquet"

    with pytest.raises(DataFileError, match="not found") as info:
        read_table(path, what="reference")

    message = _message(info.value, path)
    assert str(path) in message
    assert message.startswith("reference")


def test_directory(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.mkdir()

    with pytest.raises(DataFileError, match="not a file") as info:
        read_table(path)

    _message(info.value, path)


def test_unknown_extension(tmp_path: Path, frame: pd.DataFrame) -> None:
    path = tmp_path / "data.xlsx"
    frame.to_csv(path, index=False)

    with pytest.raises(DataFileError, match="unknown extension") as info:
        read_table(path)

    message = _message(info.value, path)
    assert ".csv" in message and ".parquet" in message


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    path.write_bytes(np.random.default_rng(3).bytes(512))

    with pytest.raises(DataFileError) as info:
        read_table(path)

    _message(info.value, path)


def test_csv_with_header_only(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("amount,count,country\n")

    with pytest.raises(DataFileError, match="no rows") as info:
        read_table(path)

    _message(info.value, path)


def test_unreadable_file(tmp_path: Path, frame: pd.DataFrame) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading the file")
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    path.chmod(0)
    try:
        with pytest.raises(DataFileError, match="not readable") as info:
            read_table(path)
    finally:
        path.chmod(0o600)

    _message(info.value, path)
