"""Offline replay of a rollout spec: the controller's judge-and-step loop on a simulated
clock (1 s ticks), fed by synthetic or logged traffic, with no database and no network.

Each tick does what ``Controller.advance`` does: judge the window that began at
``status.step_started_at`` with ``analysis_in_force`` (the same ``judge``, the same
counters, the same deadline rule), then call the same ``step``. Between ticks one
second of traffic is served with the routing the status holds, and counted per version
into a cumulative window that restarts whenever the step does, as the gateway's
buckets read by the builtin provider would be. Webhook gates are taken as passed, and
the replay stops at the first terminal phase or pause (a human would have to act).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import numpy.typing as npt

from router.analysis.judge import JudgeState, judge
from router.analysis.measurement import LatencyCounts, Measurement, Quality
from router.analysis.spec import AnalysisSpec
from router.analysis.verdict import Verdict
from router.rollout.actions import CallGate, RecordDecision
from router.rollout.machine import analysis_in_force, desired_traffic, step, window_seconds
from router.rollout.phases import TERMINAL, RolloutPhase
from router.rollout.spec import Analysis, RolloutSpec
from router.rollout.status import RolloutStatus

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "ReplayError",
    "ReplayEvent",
    "ReplayResult",
    "Routing",
    "SyntheticTraffic",
    "Tally",
    "TrafficLog",
    "TrafficSource",
    "replay",
]

DEFAULT_MAX_SECONDS: Final = 7200.0
_MAX_RPS: Final = 100_000.0
_BASELINE_NAME: Final = "baseline"
_PAUSED_NOTE: Final = "note: paused; the replay stops here (a human would approve, resume or abort)"

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ReplayError(ValueError):
    """Replay input that cannot be used: a bad synthetic description or traffic log.
    One line naming where (``--synthetic: unknown key 'foo'``)."""


@cache
def _latency_bounds() -> tuple[float, ...]:
    # Lazy, as in router.analysis.adapt: importing router.telemetry loads its DB store.
    from router.telemetry.histogram import LATENCY_BOUNDS

    return tuple(LATENCY_BOUNDS)


@cache
def _bounds_array() -> FloatArray:
    return np.asarray(_latency_bounds(), dtype=np.float64)


def _latency_buckets(seconds: FloatArray) -> IntArray:
    """Counts per router.telemetry latency bucket: ``searchsorted(side="left")`` is
    ``bisect_left`` on the bounds, which is what ``bucket_index`` computes."""
    bounds = _bounds_array()
    idx = np.searchsorted(bounds, seconds, side="left")
    return np.bincount(idx, minlength=len(bounds) + 1).astype(np.int64)


# --- what one version served -----------------------------------------------------------


@dataclass
class Tally:
    """One version's counts over a window, added to second by second (mutable)."""

    requests: int = 0
    errors: int = 0
    latency: IntArray | None = None
    labels: Counter[str] = field(default_factory=Counter)
    values: Counter[int] = field(default_factory=Counter)
    labelled: int = 0
    correct: int = 0
    numeric_labelled: int = 0
    abs_error: float = 0.0
    sq_error: float = 0.0

    def add_latency(self, counts: IntArray) -> None:
        self.latency = counts if self.latency is None else self.latency + counts

    def measurement(self) -> Measurement | None:
        """What the builtin provider would read; None without requests (no data)."""
        if self.requests == 0:
            return None
        bounds = _latency_bounds()
        counts = (
            (0,) * (len(bounds) + 1)
            if self.latency is None
            else tuple(int(n) for n in self.latency)
        )
        return Measurement(
            requests=self.requests,
            errors=self.errors,
            latency=LatencyCounts(bounds, counts),
            output_labels=dict(self.labels),
            output_values=dict(self.values),
            quality=self._quality(),
        )

    def _quality(self) -> Quality | None:
        if self.labelled == 0:
            return None
        if self.numeric_labelled:
            n = self.numeric_labelled
            return Quality(labelled=n, mae=self.abs_error / n, rmse=math.sqrt(self.sq_error / n))
        return Quality(labelled=self.labelled, accuracy=self.correct / self.labelled)


@dataclass(frozen=True)
class Routing:
    """Where one second's requests go: ``share`` of them to the candidate (0..1), and a
    copy of ``mirror`` of the baseline's requests to it (shadow / blue-green mirror)."""

    share: float = 0.0
    mirror: float = 0.0

    @classmethod
    def of(cls, status: RolloutStatus, spec: RolloutSpec) -> Routing:
        wanted = desired_traffic(status, spec)
        if wanted is None:
            return cls()
        share = sum(w for version, w in wanted.routes if version == spec.candidate) / 100.0
        mirror = 0.0
        if wanted.shadow is not None and wanted.shadow[0] == spec.candidate:
            mirror = wanted.shadow[1] / 100.0
        return cls(share, mirror)


class TrafficSource(Protocol):
    """One second of traffic at a time, counted into the candidate's and baseline's tallies."""

    @property
    def end(self) -> float | None:
        """The last tick that can see new traffic (None: the source never runs out)."""
        ...

    def baseline_for(self, spec: RolloutSpec) -> str:
        """The baseline version to resolve an unresolved spec with."""
        ...

    def notes(self, spec: RolloutSpec) -> list[str]:
        """What this source cannot reproduce of ``spec`` (said once, at the start)."""
        ...

    def serve(
        self,
        second: int,
        routing: Routing,
        rng: np.random.Generator,
        candidate: Tally,
        baseline: Tally,
    ) -> None:
        """Count the requests of ``[second, second + 1)`` into the two tallies."""
        ...


def _default_baseline(spec: RolloutSpec) -> str:
    return "champion" if spec.candidate == _BASELINE_NAME else _BASELINE_NAME


def _match_notes(spec: RolloutSpec) -> list[str]:
    notes = []
    if spec.match or (spec.bluegreen is not None and spec.bluegreen.preview_match is not None):
        notes.append(
            "header/cookie match rules are not replayed: these requests carry no headers, "
            "so only the weight and mirroring send traffic to the candidate"
        )
    return notes


# --- synthetic traffic -----------------------------------------------------------------

_SYNTHETIC_KEYS: Final = (
    "rps",
    "baseline_error",
    "candidate_error",
    "baseline_latency_ms",
    "candidate_latency_ms",
    "latency_sigma",
    "baseline_positive",
    "candidate_positive",
)


@dataclass(frozen=True)
class SyntheticTraffic:
    """Requests arrive as a Poisson process of ``rps`` per second and are split by the
    rollout's current routing. Per version: errors are Binomial(n, error rate);
    latencies lognormal with the given median and log-sd ``latency_sigma``, binned into
    router.telemetry's latency buckets; each answered request predicts class "1" with
    probability ``*_positive`` (else "0"), so the prediction-shift metric has outputs.
    The candidate's numbers default to the baseline's (a healthy candidate)."""

    rps: float = 100.0
    baseline_error: float = 0.01
    candidate_error: float = 0.01
    baseline_latency_ms: float = 20.0
    candidate_latency_ms: float = 20.0
    latency_sigma: float = 0.4
    baseline_positive: float = 0.3
    candidate_positive: float = 0.3

    def __post_init__(self) -> None:
        def check(name: str, ok: Callable[[float], bool], rule: str) -> None:
            value = getattr(self, name)
            if not (math.isfinite(value) and ok(value)):
                raise ReplayError(f"{name!r} must be {rule}, got {value:g}")

        check("rps", lambda v: 0 < v <= _MAX_RPS, f"in (0, {_MAX_RPS:g}]")
        for name in (
            "baseline_error",
            "candidate_error",
            "baseline_positive",
            "candidate_positive",
        ):
            check(name, lambda v: 0 <= v <= 1, "in [0, 1]")
        for name in ("baseline_latency_ms", "candidate_latency_ms"):
            check(name, lambda v: v > 0, "> 0")
        check("latency_sigma", lambda v: 0 < v <= 3, "in (0, 3]")

    @classmethod
    def parse(cls, text: str, *, source: str = "--synthetic") -> SyntheticTraffic:
        """``"baseline_error=0.01,candidate_error=0.05,rps=100"``; omitted candidate
        numbers copy the baseline's. ReplayError is one line starting with ``source``."""
        values: dict[str, float] = {}
        for part in text.split(","):
            if not part.strip():
                continue
            key, sep, raw = part.partition("=")
            key = key.strip()
            if not sep:
                raise ReplayError(
                    f"{source}: expected key=value pairs separated by commas, got {part.strip()!r}"
                )
            if key not in _SYNTHETIC_KEYS:
                raise ReplayError(
                    f"{source}: unknown key {key!r} (known: {', '.join(_SYNTHETIC_KEYS)})"
                )
            if key in values:
                raise ReplayError(f"{source}: {key!r} is given twice")
            try:
                values[key] = float(raw.strip())
            except ValueError:
                raise ReplayError(
                    f"{source}: {key!r} must be a number, got {raw.strip()!r}"
                ) from None
        for what in ("error", "latency_ms", "positive"):
            if f"baseline_{what}" in values:
                values.setdefault(f"candidate_{what}", values[f"baseline_{what}"])
        try:
            return cls(**values)
        except ReplayError as exc:
            raise ReplayError(f"{source}: {exc}") from None

    def describe(self) -> str:
        return ", ".join(f"{key}={getattr(self, key):g}" for key in _SYNTHETIC_KEYS)

    @property
    def end(self) -> float | None:
        return None

    def baseline_for(self, spec: RolloutSpec) -> str:
        return _default_baseline(spec)

    def notes(self, spec: RolloutSpec) -> list[str]:
        return _match_notes(spec)

    def serve(
        self,
        second: int,
        routing: Routing,
        rng: np.random.Generator,
        candidate: Tally,
        baseline: Tally,
    ) -> None:
        total = int(rng.poisson(self.rps))
        to_candidate = int(rng.binomial(total, routing.share))
        to_baseline = total - to_candidate
        mirrored = int(rng.binomial(to_baseline, routing.mirror))
        self._answer(
            rng,
            candidate,
            to_candidate + mirrored,
            self.candidate_error,
            self.candidate_latency_ms,
            self.candidate_positive,
        )
        self._answer(
            rng,
            baseline,
            to_baseline,
            self.baseline_error,
            self.baseline_latency_ms,
            self.baseline_positive,
        )

    def _answer(
        self,
        rng: np.random.Generator,
        tally: Tally,
        n: int,
        error_rate: float,
        median_ms: float,
        positive: float,
    ) -> None:
        errors = int(rng.binomial(n, error_rate))
        latencies = rng.lognormal(math.log(median_ms / 1000.0), self.latency_sigma, size=n)
        ones = int(rng.binomial(n - errors, positive))
        if n == 0:
            return
        tally.requests += n
        tally.errors += errors
        tally.add_latency(_latency_buckets(latencies))
        if ones:
            tally.labels["1"] += ones
        if n - errors - ones:
            tally.labels["0"] += n - errors - ones


# --- logged traffic --------------------------------------------------------------------

_LOG_COLUMNS: Final = ("t", "version", "error", "latency_ms")


@dataclass(frozen=True)
class TrafficLog:
    """Logged requests, sorted by time: each is counted at its ``t`` for the version that
    served it (the log's split, not the replayed weights: the log says what each
    version did). ``predictions`` are class labels (str) or numbers (float); ``labels``
    the ground truth of the same kind (None: not labelled)."""

    t: FloatArray
    candidate: npt.NDArray[np.bool_]
    error: npt.NDArray[np.bool_]
    latency_s: FloatArray
    versions: tuple[str, ...]  # the version names of the log, as given
    predictions: tuple[str | float | None, ...] | None = None
    labels: tuple[str | float | None, ...] | None = None
    source: str = "traffic log"

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, spec: RolloutSpec, *, source: str = "traffic log"
    ) -> TrafficLog:
        """Check and read a table with columns t, version, error, latency_ms (and
        optional label, prediction); ``version`` is "baseline"/"candidate" or the spec's
        version numbers. ReplayError names the file, the column and the first bad row."""
        missing = [c for c in _LOG_COLUMNS if c not in frame.columns]
        if missing:
            raise ReplayError(
                f"{source}: missing column(s) {', '.join(missing)} (needs t, version, error, "
                "latency_ms; optional label, prediction)"
            )
        if len(frame) == 0:
            raise ReplayError(f"{source}: no rows")
        frame = frame.reset_index(drop=True)
        t = _numbers(frame["t"], "t", source, lambda a: a >= 0, "a number of seconds >= 0")
        latency = _numbers(
            frame["latency_ms"], "latency_ms", source, lambda a: a >= 0, "a number >= 0"
        )
        error = _numbers(frame["error"], "error", source, lambda a: (a == 0) | (a == 1), "0 or 1")
        versions = [_text(v) for v in frame["version"]]
        is_candidate = _candidate_mask(versions, spec, source)
        predictions = labels = None
        if "prediction" in frame.columns:
            predictions = _outputs(frame["prediction"])
            if "label" in frame.columns:
                # Regression outputs are scored against numeric labels (MAE, RMSE).
                numeric = any(isinstance(p, float) for p in predictions)
                labels = _outputs(frame["label"], as_numbers=numeric)
        order = np.argsort(t, kind="stable")
        rows = order.tolist()
        return cls(
            t=t[order],
            candidate=is_candidate[order],
            error=error[order].astype(bool),
            latency_s=latency[order] / 1000.0,
            versions=tuple(dict.fromkeys(versions)),
            predictions=None if predictions is None else tuple(predictions[i] for i in rows),
            labels=None if labels is None else tuple(labels[i] for i in rows),
            source=source,
        )

    @property
    def end(self) -> float | None:
        return float(math.floor(float(self.t[-1])) + 1)

    def baseline_for(self, spec: RolloutSpec) -> str:
        others = [v for v in self.versions if v not in (spec.candidate, "candidate", "baseline")]
        return others[0] if len(others) == 1 else _default_baseline(spec)

    def notes(self, spec: RolloutSpec) -> list[str]:
        return [
            f"{self.source}: {len(self.t)} requests over {self.end:g} s, counted for the "
            "version that served them (the log's split, not the replayed weights)"
        ]

    def serve(
        self,
        second: int,
        routing: Routing,
        rng: np.random.Generator,
        candidate: Tally,
        baseline: Tally,
    ) -> None:
        lo = int(np.searchsorted(self.t, second, side="left"))
        hi = int(np.searchsorted(self.t, second + 1, side="left"))
        if lo == hi:
            return
        rows = np.arange(lo, hi)
        mask = self.candidate[lo:hi]
        for tally, chosen in ((candidate, rows[mask]), (baseline, rows[~mask])):
            if chosen.size:
                self._count(tally, chosen)

    def _count(self, tally: Tally, rows: IntArray) -> None:
        tally.requests += int(rows.size)
        tally.errors += int(self.error[rows].sum())
        tally.add_latency(_latency_buckets(self.latency_s[rows]))
        if self.predictions is None:
            return
        numbers: list[float] = []
        for i in rows.tolist():
            p = self.predictions[i]
            if isinstance(p, str):
                tally.labels[p] += 1
            elif p is not None:
                numbers.append(p)
            label = None if self.labels is None else self.labels[i]
            if label is None or p is None:
                continue
            tally.labelled += 1
            if isinstance(p, float) and isinstance(label, float):
                tally.numeric_labelled += 1
                tally.abs_error += abs(p - label)
                tally.sq_error += (p - label) ** 2
            elif str(p) == str(label):
                tally.correct += 1
        if numbers:
            from router.telemetry.outputs import OUTPUT_GRID  # lazy: see _latency_bounds

            for k, n in Counter(OUTPUT_GRID.bins(np.asarray(numbers)).tolist()).items():
                tally.values[int(k)] += n


def _numbers(
    column: pd.Series[Any],
    name: str,
    source: str,
    ok: Callable[[FloatArray], npt.NDArray[np.bool_]],
    rule: str,
) -> FloatArray:
    import pandas as pd

    values: FloatArray = np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)
    good = np.isfinite(values)
    good[good] = ok(values[good])
    if not good.all():
        row = int(np.argmin(good))
        shown = _shown(column.iloc[row])
        raise ReplayError(f"{source}: column {name!r} must be {rule}; row {row + 1} has {shown}")
    return values


def _shown(value: object) -> str:
    value = value.item() if isinstance(value, np.generic) else value
    return repr(value) if isinstance(value, str) else str(value)


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _candidate_mask(versions: list[str], spec: RolloutSpec, source: str) -> npt.NDArray[np.bool_]:
    candidate = {"candidate", spec.candidate}
    known = {"baseline", "candidate", spec.candidate}
    if spec.baseline is not None:
        known.add(spec.baseline)
    else:
        others = {v for v in versions if v not in known}
        if len(others) == 1:
            known |= others
    for row, version in enumerate(versions):
        if version not in known:
            expected = ", ".join(sorted(known))
            raise ReplayError(
                f"{source}: row {row + 1}: version {version!r} is neither the baseline nor "
                f"the candidate (expected one of {expected})"
            )
    return np.fromiter((v in candidate for v in versions), dtype=bool, count=len(versions))


def _outputs(column: pd.Series[Any], *, as_numbers: bool = False) -> list[str | float | None]:
    """Class labels as str (whole-number floats as integers: a label column with gaps
    reads as floats), other numbers as float, missing values as None. ``as_numbers``:
    every value as a float (what is not a number is missing)."""
    import pandas as pd

    present = column.notna().to_numpy()
    numeric = pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)
    if numeric or as_numbers:
        values: FloatArray = np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)
        present = np.isfinite(values)
        whole = not as_numbers and bool(np.all(np.mod(values[present], 1.0) == 0.0))
        return [
            None if not p else (str(int(v)) if whole else float(v))
            for v, p in zip(values.tolist(), present.tolist(), strict=True)
        ]
    return [_text(v) if p else None for v, p in zip(column.tolist(), present.tolist(), strict=True)]


# --- the replay ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayEvent:
    """A moment of the timeline: seconds from the start, the phase and candidate weight
    after it, and what happened."""

    t: float
    phase: str
    weight: int
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "phase": self.phase, "weight": self.weight, "note": self.note}


@dataclass(frozen=True)
class ReplayResult:
    """The timeline, where the rollout ended, when it was decided (reached a terminal
    phase or paused for a human; None: not within the replay), the verdict of that tick
    (or the last one judged), and the last tick run."""

    timeline: list[ReplayEvent]
    final_phase: RolloutPhase
    decided_at: float | None
    verdict: Verdict | None
    ended_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "final_phase": self.final_phase.value,
            "decided_at": self.decided_at,
            "ended_at": self.ended_at,
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "timeline": [event.to_dict() for event in self.timeline],
        }


def _remote_notes(spec: RolloutSpec) -> list[str]:
    analyses = [spec.analysis] + [s.analysis.spec for s in spec.steps if isinstance(s, Analysis)]
    names = dict.fromkeys(
        f"{m.name} ({m.provider})"
        for a in analyses
        if a is not None
        for m in a.metrics
        if m.provider != "builtin"
    )
    if not names:
        return []
    return [f"metric(s) {', '.join(names)} cannot be measured offline: they stay waiting for data"]


def _offline(analysis: AnalysisSpec) -> dict[str, tuple[None, None]]:
    """Metrics of other providers (Prometheus, web) have no data in a replay."""
    return {m.name: (None, None) for m in analysis.metrics if m.provider != "builtin"}


def replay(
    spec: RolloutSpec,
    traffic_source: TrafficSource,
    *,
    seed: int,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> ReplayResult:
    """Run ``spec`` through the judge and the state machine, one tick per simulated
    second from 0 to ``max_seconds`` (or the end of a traffic log), on traffic from
    ``traffic_source``. Same inputs and seed, same result."""
    if not max_seconds > 0:
        raise ReplayError(f"max_seconds must be > 0, got {max_seconds:g}")
    if spec.baseline is None:
        spec = spec.resolve(traffic_source.baseline_for(spec))
    rng = np.random.default_rng(seed)
    status = RolloutStatus.new(0.0)
    timeline = [
        ReplayEvent(0.0, status.phase.value, 0, f"note: {note}")
        for note in [*traffic_source.notes(spec), *_remote_notes(spec)]
    ]
    end = traffic_source.end
    last_tick = int(max_seconds if end is None else min(max_seconds, end))
    candidate, baseline = Tally(), Tally()
    verdict: Verdict | None = None
    decided_at: float | None = None
    t = 0
    for t in range(last_tick + 1):
        now = float(t)
        before = status
        judged: Verdict | None = None
        analysis = analysis_in_force(status, spec)
        if analysis is not None:
            state = JudgeState.from_dict(status.analysis_state)
            judged, state = judge(
                analysis,
                candidate.measurement(),
                baseline.measurement(),
                state,
                deadline_passed=now - status.step_started_at >= window_seconds(status, spec),
                now=now,
                measurements=_offline(analysis),
            )
            status = replace(status, analysis_state=state.to_dict())
            verdict = judged
        # Offline nobody answers webhooks: a pending gate is taken as passed.
        gate_ok = True if status.pending_gate else None
        status, actions = step(status, spec, judged, now, gate_ok=gate_ok)
        timeline.extend(_events(now, before, status, actions))
        if status.phase in TERMINAL or status.phase is RolloutPhase.PAUSED:
            decided_at = now
            if status.phase is RolloutPhase.PAUSED:
                timeline.append(_event(now, status, _PAUSED_NOTE))
            break
        if status.step_started_at != before.step_started_at:
            candidate, baseline = Tally(), Tally()  # a new window: the step began now
        if t < last_tick:
            traffic_source.serve(t, Routing.of(status, spec), rng, candidate, baseline)
    if decided_at is None:
        why = "the traffic log ends" if end is not None and end <= max_seconds else "time is up"
        timeline.append(_event(float(t), status, f"note: no decision: {why} after {t} s"))
    return ReplayResult(timeline, status.phase, decided_at, verdict, float(t))


def _event(now: float, status: RolloutStatus, note: str) -> ReplayEvent:
    return ReplayEvent(now, status.phase.value, status.weight, note)


def _events(
    now: float, before: RolloutStatus, after: RolloutStatus, actions: list[Any]
) -> list[ReplayEvent]:
    out = []
    moved = (before.phase, before.weight, before.step_index, before.promoted) != (
        after.phase,
        after.weight,
        after.step_index,
        after.promoted,
    )
    if moved:
        reasons = [a.reason for a in actions if isinstance(a, RecordDecision)]
        out.append(_event(now, after, reasons[0] if reasons else after.message))
    out.extend(
        _event(
            now, after, f"note: {a.kind} gate asked; taken as passed (a replay calls no webhooks)"
        )
        for a in actions
        if isinstance(a, CallGate)
    )
    return out
