"""Shared HTTP plumbing of the prometheus and web providers: one GET, errors as ProviderError."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx

from router.analysis.errors import ProviderError

__all__ = ["get_json", "to_number"]

_BODY_EXCERPT = 200


def get_json(
    client: httpx.Client | None,
    url: str,
    *,
    params: dict[str, str] | None,
    timeout_s: float,
    what: str,
) -> Any:
    """GET ``url`` and parse its JSON body; ProviderError on any failure, naming ``what``."""
    try:
        if client is None:
            with httpx.Client(timeout=timeout_s) as own:
                response = own.get(url, params=params)
        else:
            response = client.get(url, params=params, timeout=timeout_s)
    except httpx.TimeoutException:
        raise ProviderError(f"{what}: no answer within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"{what}: {type(exc).__name__}: {exc}") from None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if response.status_code != 200:
        detail = body.get("error") if isinstance(body, dict) else None
        if not detail:
            detail = response.text[:_BODY_EXCERPT]
        raise ProviderError(f"{what}: HTTP {response.status_code}: {detail}")
    if body is None:
        raise ProviderError(f"{what}: the answer is not JSON: {response.text[:_BODY_EXCERPT]!r}")
    return body


def to_number(value: Any, what: str) -> float | None:
    """A metric value: numbers and numeric strings; None (or NaN) is "no data"."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ProviderError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ProviderError(f"{what}: expected a number, got {value!r}") from None
    else:
        raise ProviderError(f"{what}: expected a number, got {type(value).__name__}")
    return None if math.isnan(number) else number
