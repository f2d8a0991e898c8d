"""orjson with the codec's error message, and the numpy-aware dump both protocols use."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from router.api.codec.errors import BadRequest

__all__ = ["DUMP_OPTIONS", "default", "loads"]

# Numpy arrays go straight to orjson; non-string keys cover the {class: probability}
# maps of ZipMap outputs.
DUMP_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def loads(body: bytes | bytearray | memoryview | str) -> Any:
    """Parse a request body; BadRequest naming the byte offset when it is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if not body:
            raise BadRequest("malformed JSON: the request body is empty") from None
        raise BadRequest(f"malformed JSON at byte {_byte_offset(exc)}: {exc.msg}") from None


def _byte_offset(exc: orjson.JSONDecodeError) -> int:
    # orjson counts characters of the decoded text; clients count bytes of what they sent.
    return len(exc.doc[: exc.pos].encode("utf-8", "surrogatepass"))


def default(value: Any) -> Any:
    """What orjson cannot serialize alone: numpy scalars and odd arrays inside objects."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    raise TypeError(f"cannot serialize {type(value).__name__} as JSON")
