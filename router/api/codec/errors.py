"""Exceptions raised by router.api.codec.

Each carries the HTTP status the gateway answers with and a one-line message that
names what is wrong (the input, the key, the byte offset), never a traceback.

    ProtocolError(status, message)   any status the app picks (413 for a large body)
    ├── BadRequest              400: the body is not a well-formed request
    │                           (malformed JSON, wrong keys, ragged or mistyped data)
    ├── UnsupportedMediaType    415: a Content-Type the protocol does not accept
    └── InputError              400: a well-formed request that does not fit the
                                model's inputs or outputs (names, shape, datatype)
"""

from __future__ import annotations

__all__ = ["BadRequest", "InputError", "ProtocolError", "UnsupportedMediaType"]


class ProtocolError(Exception):
    """Base class of every codec error: a request refused with an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r})"


class BadRequest(ProtocolError):
    """The body does not follow the protocol."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class UnsupportedMediaType(ProtocolError):
    """The Content-Type is not one the protocol accepts."""

    def __init__(self, message: str) -> None:
        super().__init__(415, message)


class InputError(ProtocolError):
    """The request is well formed but does not fit the model's inputs or outputs."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)
