"""Prediction logging: the gateway's bounded buffer, its bulk writer and pruner, and the
extraction of a label and class scores per row from a model's outputs."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias, cast

import numpy as np
import numpy.typing as npt
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


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One output row of one model version for one request, as the gateway logs it."""

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
    stores nothing twice. Portable select-then-insert: a request is logged by the one
    gateway that served it, so no other writer races for the same key. Records with a
    request id longer than REQUEST_ID_MAX_LENGTH are skipped. Returns the rows inserted.
    """
    batch: dict[tuple[str, int, str], PredictionRecord] = {}
    for record in records:
        if len(record.request_id) <= REQUEST_ID_MAX_LENGTH:
            batch.setdefault((record.request_id, record.row_index, record.version), record)
    if not batch:
        return 0
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
    return [_json_scalar(value) for value in column.tolist()]


def _named_scores(
    outputs: Mapping[str, npt.NDArray[Any]], name: str
) -> tuple[list[list[float] | None], list[Any] | None]:
    array = _output(outputs, name)
    if _is_zipmap(array):
        return _zipmap_scores(array)
    if array.ndim != 2 or array.dtype.kind not in "fiu":
        raise QualityError(f"score output {name!r} must be a numeric matrix of shape (n, k)")
    return [_score_row(row) for row in array.tolist()], None


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
