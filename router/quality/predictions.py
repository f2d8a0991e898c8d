"""Prediction logging: the gateway's bounded buffer, its bulk writer and pruner, and the
extraction of a label and class scores per row from a model's outputs."""

from __future__ import annotations

import math
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeAlias, cast

import numpy as np
import numpy.typing as npt
import orjson
from sqlalchemy import CursorResult, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from migrations.models import Prediction
from router.quality._common import chunks, require_aware
from router.quality.errors import QualityError

__all__ = [
    "REQUEST_ID_MAX_LENGTH",
    "Label",
    "PredictionBuffer",
    "PredictionRecord",
    "labels_from_outputs",
    "prune_predictions",
    "write_predictions",
]

# The width of `request_id` in both tables; longer ids could never be joined.
REQUEST_ID_MAX_LENGTH = 128

# A class label (int, bool or str) or a regression value (float), as JSON stores it.
Label: TypeAlias = bool | int | float | str

# Rows whose probabilities sum to 1 within this are class scores (float32 softmax
# outputs are off by ~1e-7; raw decision scores are off by far more).
_SUM_TOLERANCE = 1e-3


class PredictionRecord(NamedTuple):
    """One output row of one model version for one request, as the gateway logs it.

    A named tuple: the gateway builds one per answered row on the request path, where
    a tuple costs a fraction of a dataclass.
    """

    request_id: str
    model: str
    version: str
    at: datetime
    row_index: int
    label: Label | None
    scores: Sequence[float] | None
    shadow: bool = False


class PredictionBuffer:
    """A bounded, thread-safe queue of records between the event loop and the DB writer.

    When the writer falls behind (the DB is down), the oldest records are dropped and
    counted, so memory stays bounded and the newest traffic, which a rollout judges, is
    kept. The lock is held only to append or swap, never while converting or writing.
    """

    def __init__(self, max_rows: int = 100_000) -> None:
        if max_rows < 1:
            raise ValueError(f"max_rows must be at least 1, got {max_rows}")
        self._max_rows = max_rows
        self._rows: deque[PredictionRecord] = deque(maxlen=max_rows)
        self._dropped = 0
        self._lock = threading.Lock()

    @property
    def max_rows(self) -> int:
        return self._max_rows

    @property
    def dropped(self) -> int:
        """Records discarded because the buffer was full, since it was created."""
        return self._dropped

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, records: Iterable[PredictionRecord]) -> None:
        """Append `records`; when full, the oldest records make room and are counted."""
        batch = records if isinstance(records, list | tuple) else list(records)
        if not batch:
            return
        with self._lock:
            overflow = len(self._rows) + len(batch) - self._max_rows
            if overflow > 0:
                self._dropped += overflow
            # A deque with maxlen discards from the left, i.e. the oldest first.
            self._rows.extend(batch)

    def drain(self) -> list[PredictionRecord]:
        """Take every buffered record, oldest first, leaving the buffer empty."""
        with self._lock:
            rows, self._rows = self._rows, deque(maxlen=self._max_rows)
        return list(rows)

    def requeue(self, records: Sequence[PredictionRecord]) -> None:
        """Put back drained records after a failed write, ahead of newer ones.

        They are the oldest, so when there is not room for all of them the excess is
        dropped from their front and counted; records added since the drain are kept.
        """
        if not records:
            return
        with self._lock:
            room = self._max_rows - len(self._rows)
            keep = records[len(records) - room :] if room < len(records) else records
            self._dropped += len(records) - len(keep)
            self._rows.extendleft(reversed(keep))


def write_predictions(session: Session, records: Iterable[PredictionRecord]) -> int:
    """Insert `records`, skipping any whose (request_id, row_index, version) is stored.

    A write retried after an ambiguous failure (the commit may have landed) therefore
    stores nothing twice; within `records` the first copy of a key wins. Records with a
    request id longer than REQUEST_ID_MAX_LENGTH are skipped. Returns the rows inserted.

    On SQLite and PostgreSQL this is driver-level `INSERT ... ON CONFLICT DO NOTHING`
    with values converted here (JSON text, UTC times): it runs on the flusher thread
    beside the event loop, and SQLAlchemy's per-row parameter processing costs more than
    the insert itself. SQLite gets multi-row statements, PostgreSQL an executemany.
    Other databases get a portable select-then-insert.
    """
    batch: dict[tuple[str, int, str], PredictionRecord] = {}
    for record in records:
        if len(record.request_id) <= REQUEST_ID_MAX_LENGTH:
            batch.setdefault((record.request_id, record.row_index, record.version), record)
    if not batch:
        return 0
    dialect = session.get_bind().dialect
    if dialect.name == "sqlite":
        return _insert_sqlite(session, _sqlite_rows(batch.values()))
    if dialect.name == "postgresql":
        return _insert_ignoring(session, _POSTGRES_INSERT, _postgres_rows(batch.values()))
    return _write_portable(session, batch)


_COLUMNS = "request_id, model_name, version, at, row_index, label, scores, shadow"
_CONFLICT = "ON CONFLICT (request_id, row_index, version) DO NOTHING"
# SQLite stores JSON as text; PostgreSQL is given text and casts it.
_POSTGRES_INSERT = (
    f"INSERT INTO predictions ({_COLUMNS}) VALUES "
    f"(%s, %s, %s, %s, %s, CAST(%s AS JSON), CAST(%s AS JSON), %s) {_CONFLICT}"
)
_Row: TypeAlias = tuple[str, str, str, Any, int, str | None, str | None, bool]
# SQLite: rows per multi-row INSERT (8 values each, under the 32766-variable limit of
# SQLite >= 3.32; older libraries allow 999, so 124 rows). One statement per chunk runs
# the insert loop in SQLite's C instead of one Python-level step per row.
_SQLITE_CHUNK = 2000 if sqlite3.sqlite_version_info >= (3, 32, 0) else 124
_SQLITE_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?)"


def _insert_sqlite(session: Session, rows: list[_Row]) -> int:
    connection = session.connection()
    inserted = 0
    for start in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[start : start + _SQLITE_CHUNK]
        statement = (
            f"INSERT INTO predictions ({_COLUMNS}) VALUES "
            + ", ".join([_SQLITE_VALUES] * len(chunk))
            + f" {_CONFLICT}"
        )
        params = tuple(value for row in chunk for value in row)
        inserted += int(connection.exec_driver_sql(statement, params).rowcount)
    return inserted


def _insert_ignoring(session: Session, statement: str, rows: list[_Row]) -> int:
    result = session.connection().exec_driver_sql(statement, rows)
    # Both drivers sum executemany's row counts; a skipped conflict counts 0.
    return int(result.rowcount)


def _sqlite_rows(records: Iterable[PredictionRecord]) -> list[_Row]:
    # SQLAlchemy's SQLite DATETIME text: naive UTC, always six fractional digits.
    dumps = _json_text
    return [
        (
            r.request_id,
            r.model,
            r.version,
            _utc(r.at).replace(tzinfo=None).isoformat(" ", "microseconds"),
            r.row_index,
            None if r.label is None else dumps(r.label),
            None if r.scores is None else dumps(r.scores),
            r.shadow,
        )
        for r in records
    ]


def _postgres_rows(records: Iterable[PredictionRecord]) -> list[_Row]:
    dumps = _json_text
    return [
        (
            r.request_id,
            r.model,
            r.version,
            _utc(r.at),
            r.row_index,
            None if r.label is None else dumps(r.label),
            None if r.scores is None else dumps(r.scores),
            r.shadow,
        )
        for r in records
    ]


def _utc(at: datetime) -> datetime:
    if at.tzinfo is UTC:
        return at
    require_aware(at, "PredictionRecord.at")
    return at.astimezone(UTC)


def _json_text(value: Any) -> str:
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def _write_portable(session: Session, batch: dict[tuple[str, int, str], PredictionRecord]) -> int:
    stored: set[tuple[str, int, str]] = set()
    for ids in chunks(sorted({key[0] for key in batch})):
        query = select(Prediction.request_id, Prediction.row_index, Prediction.version).where(
            Prediction.request_id.in_(ids)
        )
        for request_id, row_index, version in session.execute(query):
            stored.add((request_id, row_index, version))
    rows = [_row(record) for key, record in batch.items() if key not in stored]
    if rows:
        session.execute(insert(Prediction), rows)
    session.flush()
    return len(rows)


def prune_predictions(session: Session, older_than: datetime) -> int:
    """Delete predictions made before `older_than` (aware); returns how many went."""
    require_aware(older_than, "older_than")
    result = session.execute(
        delete(Prediction).where(Prediction.at < older_than),
        execution_options={"synchronize_session": False},
    )
    session.flush()
    return int(cast("CursorResult[Any]", result).rowcount)


def labels_from_outputs(
    outputs: Mapping[str, npt.NDArray[Any]],
    *,
    label_output: str | None = None,
    score_output: str | None = None,
) -> list[tuple[Label | None, list[float] | None]]:
    """One (label, scores) pair per row of a model's outputs, as JSON-safe Python values.

    Named outputs are used as given. Otherwise, for ONNX models converted by skl2onnx:

    - an integer, boolean or string output of shape (n,) or (n, 1) is the label
      (one whose name contains "label" first, then output order);
    - a float output of shape (n, k) with values in [0, 1] and rows summing to ~1, or a
      ZipMap sequence of {class: probability} maps (columns in sorted class order), is
      the scores (one whose name contains "prob" first);
    - with scores but no label, the label is the index (or ZipMap class) of the largest;
    - with neither, a single float output of shape (n,) or (n, 1) is a regression value.

    Returns [] when nothing fits (nothing worth logging). Non-finite floats become None.
    Raises QualityError when a named output is missing or has the wrong shape, or when
    the label and scores disagree on the number of rows.
    """
    if label_output is not None and score_output is not None:
        fast = _classifier_rows(outputs.get(label_output), outputs.get(score_output))
        if fast is not None:
            return fast
    labels = _named_labels(outputs, label_output) if label_output is not None else None
    scores, classes = (
        _named_scores(outputs, score_output) if score_output is not None else (None, None)
    )
    if labels is None and label_output is None:
        labels = _find_labels(outputs)
    if scores is None and score_output is None:
        scores, classes = _find_scores(outputs)
    if labels is None and scores is None and label_output is None and score_output is None:
        labels = _find_regression(outputs)
    if labels is None:
        if scores is None:
            return []
        labels = [_argmax_label(row, classes) for row in scores]
    if scores is None:
        return [(label, None) for label in labels]
    if len(scores) != len(labels):
        raise QualityError(
            f"label output has {len(labels)} rows but score output has {len(scores)}"
        )
    return list(zip(labels, scores, strict=True))


def _classifier_rows(
    labels: Any, scores: Any
) -> list[tuple[Label | None, list[float] | None]] | None:
    """The common case, a label vector and a float score matrix, on the request path.

    Gives what the general rules give for these arrays (integer or boolean labels are
    already JSON-safe, a float row whose sum is finite has only finite values); None
    for anything else, which then takes the general way.
    """
    if labels.__class__ is not np.ndarray or scores.__class__ is not np.ndarray:
        return None
    if labels.ndim != 1 or labels.dtype.kind not in "iub":
        return None
    if scores.ndim != 2 or scores.dtype.kind != "f" or len(scores) != len(labels):
        return None
    rows: list[list[float]] = scores.tolist()
    checked = [row if _finite(sum(row)) else _score_row(row) for row in rows]
    return list(zip(labels.tolist(), checked, strict=True))


def _row(record: PredictionRecord) -> dict[str, Any]:
    return {
        "request_id": record.request_id,
        "model_name": record.model,
        "version": record.version,
        "at": record.at,
        "row_index": record.row_index,
        "label": record.label,
        "scores": None if record.scores is None else list(record.scores),
        "shadow": record.shadow,
    }


# -- output heuristics -------------------------------------------------------------


def _output(outputs: Mapping[str, npt.NDArray[Any]], name: str) -> npt.NDArray[Any]:
    if name not in outputs:
        known = ", ".join(outputs) or "none"
        raise QualityError(f"the model has no output named {name!r} (outputs: {known})")
    return np.asarray(outputs[name])


def _column(array: npt.NDArray[Any]) -> npt.NDArray[Any] | None:
    """The array as one value per row: shape (n,) or (n, 1), else None."""
    if array.ndim == 1:
        return array
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    return None


def _is_text(array: npt.NDArray[Any]) -> bool:
    if array.dtype.kind in "US":
        return True
    return array.dtype.kind == "O" and all(isinstance(v, str | bytes) for v in array.flat)


def _is_zipmap(array: npt.NDArray[Any]) -> bool:
    return (
        array.ndim == 1
        and array.dtype.kind == "O"
        and len(array) > 0
        and all(isinstance(v, Mapping) for v in array.flat)
    )


def _label_like(array: npt.NDArray[Any]) -> bool:
    column = _column(array)
    return column is not None and (column.dtype.kind in "iub" or _is_text(column))


def _score_like(array: npt.NDArray[Any]) -> bool:
    if array.ndim != 2 or array.dtype.kind != "f" or array.shape[0] == 0 or array.shape[1] < 2:
        return False
    with np.errstate(invalid="ignore"):
        in_range = bool(np.all((array >= -_SUM_TOLERANCE) & (array <= 1 + _SUM_TOLERANCE)))
        sums_to_one = bool(np.allclose(array.sum(axis=1), 1.0, rtol=0, atol=_SUM_TOLERANCE))
    return in_range and sums_to_one


def _prefer(names: list[str], hint: str) -> str | None:
    """The first name containing `hint`, else the first name, else None."""
    for name in names:
        if hint in name.lower():
            return name
    return names[0] if names else None


def _named_labels(outputs: Mapping[str, npt.NDArray[Any]], name: str) -> list[Label | None]:
    column = _column(_output(outputs, name))
    if column is None:
        raise QualityError(f"label output {name!r} must have shape (n,) or (n, 1)")
    if column.dtype.kind in "iub":  # tolist() gives Python ints and bools already
        return cast("list[Label | None]", column.tolist())
    return [_json_scalar(value) for value in column.tolist()]


def _named_scores(
    outputs: Mapping[str, npt.NDArray[Any]], name: str
) -> tuple[list[list[float] | None], list[Any] | None]:
    array = _output(outputs, name)
    if _is_zipmap(array):
        return _zipmap_scores(array)
    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise QualityError(f"score output {name!r} must be a numeric matrix of shape (n, k)")
    rows: list[list[float]] = array.tolist()
    if array.dtype.kind == "f":
        # A finite sum means every value is finite (overflow only sends a row the slow way).
        return [row if _finite(sum(row)) else _score_row(row) for row in rows], None
    return [_score_row(row) for row in rows], None


def _find_labels(outputs: Mapping[str, npt.NDArray[Any]]) -> list[Label | None] | None:
    names = [name for name, value in outputs.items() if _label_like(np.asarray(value))]
    chosen = _prefer(names, "label")
    return None if chosen is None else _named_labels(outputs, chosen)


def _find_scores(
    outputs: Mapping[str, npt.NDArray[Any]],
) -> tuple[list[list[float] | None] | None, list[Any] | None]:
    names = [
        name
        for name, value in outputs.items()
        if _score_like(np.asarray(value)) or _is_zipmap(np.asarray(value))
    ]
    chosen = _prefer(names, "prob")
    if chosen is None:
        return None, None
    return _named_scores(outputs, chosen)


def _find_regression(outputs: Mapping[str, npt.NDArray[Any]]) -> list[Label | None] | None:
    names = []
    for name, value in outputs.items():
        column = _column(np.asarray(value))
        if column is not None and column.dtype.kind == "f":
            names.append(name)
    # Two float outputs and no way to tell which is the prediction: log nothing.
    return _named_labels(outputs, names[0]) if len(names) == 1 else None


def _zipmap_scores(array: npt.NDArray[Any]) -> tuple[list[list[float] | None], list[Any]]:
    classes = sorted(cast("Mapping[Any, Any]", array[0]).keys())
    rows: list[list[float] | None] = []
    for item in array.flat:
        mapping = cast("Mapping[Any, Any]", item)
        rows.append(_score_row([mapping.get(c, math.nan) for c in classes]))
    return rows, [_json_scalar(c) for c in classes]


def _finite(x: float) -> bool:
    return x - x == 0.0  # NaN for NaN and both infinities


def _score_row(values: Iterable[Any]) -> list[float] | None:
    """A row of probabilities as floats; None when any is not a finite number."""
    row: list[float] = []
    for value in values:
        number = float(value)
        if not math.isfinite(number):
            return None
        row.append(number)
    return row


def _argmax_label(row: list[float] | None, classes: list[Any] | None) -> Label | None:
    if row is None or not row:
        return None
    index = max(range(len(row)), key=row.__getitem__)
    return index if classes is None else cast("Label | None", classes[index])


def _json_scalar(value: Any) -> Label | None:
    """A value JSON can store: numpy scalars unwrapped, bytes decoded, NaN/inf as None."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class PredictionWriter:
    """Moves buffered predictions into the control DB; a failed write puts them back."""

    def __init__(self, buffer: PredictionBuffer, sessions: sessionmaker[Session]) -> None:
        self.buffer = buffer
        self.sessions = sessions
        self.errors = 0
        self.last_error: str | None = None

    def flush(self) -> int:
        records = self.buffer.drain()
        if not records:
            return 0
        try:
            with self.sessions.begin() as session:
                written = write_predictions(session, records)
        except Exception as exc:  # DB down: keep them (bounded by the buffer) and retry
            self.errors += 1
            self.last_error = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self.buffer.requeue(records)
            return 0
        self.last_error = None
        return written
