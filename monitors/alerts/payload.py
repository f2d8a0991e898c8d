"""What an alert says: the alert a caller raises, and the stored alert as read back (pure).

`NewAlert` is what the drift runner or the rollout controller hands to `raise_alert`;
`AlertRead` / `DeliveryRead` are the frozen views every sink, the CLI and the API use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitors.alerts.rules import AlertKind, Severity, as_kind, as_severity, dedup_key

__all__ = ["AlertRead", "DeliveryRead", "FeatureDrift", "NewAlert"]

PAYLOAD_SCHEMA = 1


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift evidence: the statistic, its value and the threshold it crossed.

    `band` is the policy's verdict for the feature (OK / WARN / DRIFT); `p_value` is set
    only for tests that have one (KS, chi-square).
    """

    feature: str
    statistic: str
    value: float
    threshold: float
    band: str = "DRIFT"
    p_value: float | None = None

    @property
    def excess(self) -> float:
        """How far past its threshold the value is (value / threshold), for ranking."""
        if self.threshold > 0 and math.isfinite(self.value):
            return self.value / self.threshold
        return self.value if math.isfinite(self.value) else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "statistic": self.statistic,
            "value": _finite(self.value),
            "threshold": _finite(self.threshold),
            "band": self.band,
            "p_value": None if self.p_value is None else _finite(self.p_value),
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> FeatureDrift:
        p_value = doc.get("p_value")
        return cls(
            feature=str(doc["feature"]),
            statistic=str(doc.get("statistic", "")),
            value=_float(doc.get("value")),
            threshold=_float(doc.get("threshold")),
            band=str(doc.get("band", "DRIFT")),
            p_value=None if p_value is None else float(p_value),
        )


@dataclass(frozen=True)
class NewAlert:
    """An alert to raise. Strings are accepted for kind and severity and checked here.

    `feature` is part of the dedup key: one alert per drifting feature, or None for a
    dataset-level alert. `features` carries the evidence, most drifted first. A
    relative `report_url` (`/reports/12`) is joined with TURNOUT_PUBLIC_URL when sent.
    """

    kind: AlertKind
    severity: Severity
    model: str
    title: str
    version: str | None = None
    feature: str | None = None
    summary: str = ""
    features: tuple[FeatureDrift, ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None
    report_url: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", as_kind(self.kind))
        object.__setattr__(self, "severity", as_severity(self.severity))
        if not self.model.strip():
            raise ValueError("an alert needs a model name")
        if not self.title.strip():
            raise ValueError("an alert needs a title")
        for moment in (self.window_start, self.window_end):
            if moment is not None and moment.utcoffset() is None:
                raise ValueError("window times must be aware datetimes (UTC)")
        ranked = sorted(self.features, key=lambda f: f.excess, reverse=True)
        object.__setattr__(self, "features", tuple(ranked))
        object.__setattr__(self, "details", dict(self.details))

    @property
    def dedup_key(self) -> str:
        return dedup_key(self.model, self.version, self.kind, self.feature)

    def payload(self) -> dict[str, Any]:
        """The JSON document stored with the alert (the columns hold kind, severity...)."""
        window = None
        if self.window_start is not None or self.window_end is not None:
            window = {
                "start": _iso(self.window_start),
                "end": _iso(self.window_end),
            }
        return {
            "schema": PAYLOAD_SCHEMA,
            "title": self.title,
            "summary": self.summary,
            "feature": self.feature,
            "features": [f.to_dict() for f in self.features],
            "window": window,
            "report_url": self.report_url,
            "details": self.details,
        }


@dataclass(frozen=True)
class DeliveryRead:
    """One outbox row: the state of sending one alert to one sink."""

    id: int
    sink: str
    status: str  # pending, delivered or failed
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sink": self.sink,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at) if self.status == "pending" else None,
            "last_attempt_at": _iso(self.last_attempt_at),
            "delivered_at": _iso(self.delivered_at),
            "last_error": self.last_error,
        }


@dataclass(frozen=True)
class AlertRead:
    """A stored alert with its deliveries, as sinks, the CLI and the API see it."""

    id: str
    created_at: datetime
    kind: str
    severity: str
    model: str
    version: str | None
    dedup_key: str
    status: str  # open or acked
    repeats: int
    last_seen_at: datetime | None
    acked_at: datetime | None
    acked_by: str | None
    payload: Mapping[str, Any]
    deliveries: tuple[DeliveryRead, ...] = ()

    @property
    def title(self) -> str:
        return str(self.payload.get("title") or f"{self.kind} alert for {self.model}")

    @property
    def summary(self) -> str:
        return str(self.payload.get("summary") or "")

    @property
    def feature(self) -> str | None:
        value = self.payload.get("feature")
        return None if value is None else str(value)

    @property
    def features(self) -> tuple[FeatureDrift, ...]:
        raw = self.payload.get("features") or []
        return tuple(FeatureDrift.from_dict(f) for f in raw if isinstance(f, Mapping))

    @property
    def window(self) -> Mapping[str, Any] | None:
        value = self.payload.get("window")
        return value if isinstance(value, Mapping) else None

    @property
    def report_url(self) -> str | None:
        value = self.payload.get("report_url")
        return None if value is None else str(value)

    @property
    def details(self) -> Mapping[str, Any]:
        value = self.payload.get("details")
        return value if isinstance(value, Mapping) else {}

    def delivery_counts(self) -> dict[str, int]:
        counts = {"pending": 0, "delivered": 0, "failed": 0}
        for d in self.deliveries:
            counts[d.status] = counts.get(d.status, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": _iso(self.created_at),
            "kind": self.kind,
            "severity": self.severity,
            "model": self.model,
            "version": self.version,
            "dedup_key": self.dedup_key,
            "status": self.status,
            "repeats": self.repeats,
            "last_seen_at": _iso(self.last_seen_at),
            "acked_at": _iso(self.acked_at),
            "acked_by": self.acked_by,
            "title": self.title,
            "payload": dict(self.payload),
            "deliveries": [d.to_dict() for d in self.deliveries],
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _finite(value: float) -> float | None:
    # JSON has no NaN or infinity; receivers get null rather than an unparsable body.
    return float(value) if math.isfinite(value) else None


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)
