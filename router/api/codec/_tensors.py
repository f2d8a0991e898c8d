"""JSON data (nested lists of numbers, booleans or strings) to numpy, for one model input.

Shared by both protocols. OIP declares a datatype per tensor and MLflow's JSON forms do
not, so each check is told by its caller which datatype the values must have. Pure
numpy: no pandas here, this runs once per tensor of every request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from router.api.codec.errors import BadRequest, InputError, ProtocolError
from router.inference.signature import TensorSpec, numpy_dtype

__all__ = [
    "cast",
    "castable",
    "check_shape",
    "coerce",
    "fit_rank",
    "format_shape",
    "json_array",
]

Array = npt.NDArray[Any]
ErrorType = Callable[[str], ProtocolError]

# Which declared kinds may be cast to which model kinds without changing what a value
# means: widening, or int -> float (a client's INT64 into an FP32 input), never
# float -> int (that would truncate) and never text <-> numbers.
_CASTABLE_KINDS: dict[str, str] = {"b": "biuf", "i": "iuf", "u": "iuf", "f": "f", "O": "O"}


def format_shape(shape: Sequence[int | None]) -> str:
    """A shape as OIP metadata spells it: variable dimensions are -1."""
    return "[" + ", ".join("-1" if dim is None else str(dim) for dim in shape) + "]"


def json_array(data: Any, name: str, *, text: bool) -> Array:
    """Nested JSON lists as an array; BadRequest when they are not rectangular.

    Text stays an object array of the parsed values (checked by ``coerce``): numpy's
    own string dtype would silently turn numbers into strings.
    """
    try:
        values = np.array(data, dtype=object) if text else np.array(data)
    except ValueError:
        raise BadRequest(f"ragged nested data in input {name!r}") from None
    except (TypeError, OverflowError) as exc:
        raise BadRequest(f"input {name!r}: data is not an array ({exc})") from None
    if values.dtype.kind in "US":
        # Numbers mixed with text became text; keep the values as sent, so the error
        # ``coerce`` raises can show the one that is not a number.
        values = np.array(data, dtype=object)
    # With dtype=object numpy keeps ragged rows as list elements instead of refusing.
    if values.dtype.kind == "O" and any(isinstance(item, list) for item in values.flat):
        raise BadRequest(f"ragged nested data in input {name!r}")
    return values


def coerce(values: Array, name: str, datatype: str, error: ErrorType) -> Array:
    """``values`` as the numpy dtype of ``datatype``, if every value is one of its kind.

    Integral floats are integers (JSON cannot tell 1.0 from 1) and integers must fit
    the target's range; anything else raises ``error`` naming the input.
    """
    target = numpy_dtype(datatype)
    kind = values.dtype.kind
    if target.kind == "O":
        if kind != "O":
            bad = _any(values)
        else:
            bad = _first(values, lambda item: not isinstance(item, str))
            if bad is _NOTHING:
                return values
        raise error(f"input {name!r}: BYTES values must be strings, got {bad!r}")
    if values.dtype == target:
        return values
    if values.size == 0:
        return values.astype(target)
    if target.kind == "b":
        raise error(f"input {name!r}: BOOL values must be true or false, got {_any(values)!r}")
    if kind not in "iuf":
        raise error(_not_numbers(values, name, datatype))
    if kind == "f" and target.kind in "iu":
        fractional = values != np.trunc(values)
        if fractional.any():
            example = values[fractional].flat[0].item()
            raise error(f"input {name!r}: {datatype} values must be integers, got {example!r}")
    return cast(values, name, datatype, error)


def cast(values: Array, name: str, datatype: str, error: ErrorType) -> Array:
    """``values``, whose kind ``castable`` allows, as ``datatype``; integers range-checked."""
    target = numpy_dtype(datatype)
    if values.dtype == target:
        return values
    if target.kind == "f":
        # A float64 too large for FP32 becomes inf, which is what the model would
        # make of it anyway.
        with np.errstate(over="ignore"):
            return values.astype(target)
    if target.kind in "iu" and values.size:
        _check_range(values, name, datatype, target, error)
    return values.astype(target)


def castable(source: str, target: str) -> bool:
    """Whether data declared as OIP ``source`` may feed an input of OIP ``target``."""
    if source == target:
        return True
    return numpy_dtype(target).kind in _CASTABLE_KINDS.get(numpy_dtype(source).kind, "")


def check_shape(spec: TensorSpec, shape: Sequence[int]) -> None:
    """InputError unless ``shape`` has the spec's rank and every fixed dimension."""
    expected = spec.shape
    if len(shape) == len(expected) and all(
        want is None or want == got for want, got in zip(expected, shape, strict=True)
    ):
        return
    raise InputError(
        f"input {spec.name!r}: expected shape {format_shape(expected)}, got {format_shape(shape)}"
    )


def fit_rank(values: Array, spec: TensorSpec) -> Array:
    """Add the dimension an array one rank short of the input leaves out.

    A trailing one when the input's last dimension is 1 (a column of scalars for an
    [n, 1] input); otherwise a leading one (a single row, as feeds_from_array does).
    """
    if values.ndim != spec.rank - 1:
        return values
    if values.ndim >= 1 and spec.shape[-1] == 1:
        return values[..., np.newaxis]
    return values[np.newaxis, ...]


def _check_range(
    values: Array, name: str, datatype: str, target: np.dtype[Any], error: ErrorType
) -> None:
    if np.can_cast(values.dtype, target):
        return
    info = np.iinfo(target)
    low, high = _python(values.min()), _python(values.max())
    # info.max + 1 is a power of two, exact as a float, so floats compare correctly.
    if low < info.min or high >= info.max + 1:
        raise error(f"input {name!r}: values from {low} to {high} do not fit {datatype}")


def _python(value: Any) -> Any:
    # Integers that went through float64 (numpy's pick for int64 mixed with uint64
    # values) are still shown as integers.
    item = value.item() if isinstance(value, np.generic) else value
    return int(item) if isinstance(item, float) and item.is_integer() else item


_NOTHING = object()


def _first(values: Array, wrong: Callable[[Any], bool]) -> Any:
    for item in values.flat:
        if isinstance(item, np.generic):
            item = item.item()
        if wrong(item):
            return item
    return _NOTHING


def _any(values: Array) -> Any:
    item = values.flat[0]
    return item.item() if isinstance(item, np.generic) else item


def _not_numbers(values: Array, name: str, datatype: str) -> str:
    bad = _first(values, lambda item: isinstance(item, bool) or not isinstance(item, int | float))
    if bad is _NOTHING:
        bad = _any(values)
    return f"input {name!r}: {datatype} values must be numbers, got {bad!r}"
