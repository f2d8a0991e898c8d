"""The codec's exception tree and the statuses it carries."""

from __future__ import annotations

import pytest

from router.api.codec import BadRequest, InputError, ProtocolError, UnsupportedMediaType


@pytest.mark.parametrize(
    ("error", "status"), [(BadRequest, 400), (UnsupportedMediaType, 415), (InputError, 400)]
)
def test_each_kind_has_its_status(error: type[BadRequest], status: int) -> None:
    raised = error("what went wrong")
    assert isinstance(raised, ProtocolError)
    assert (raised.status, raised.message, str(raised)) == (
        status,
        "what went wrong",
        "what went wrong",
    )


def test_the_base_takes_any_status() -> None:
    too_large = ProtocolError(413, "the body is larger than 1 MiB")
    assert too_large.status == 413
    assert repr(too_large) == "ProtocolError(413, 'the body is larger than 1 MiB')"
