"""(pure) One metric, one tick: the numbers, the rule, and what they say on their own.

``assess`` turns a metric spec and two measurements into an Assessment: waiting for
data, a breach, undecided (no breach, but a regression that matters is not ruled out),
or a pass. The judge then applies the limits, the deadline and the counters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Final

from router.analysis.measurement import LatencyCounts, Measurement
from router.analysis.sequential import error_test, latency_test, log_moments
from router.analysis.shift import output_shift
from router.analysis.spec import MetricSpec, SequentialSpec

__all__ = ["TAIL_SAMPLES", "Assessment", "Outcome", "assess"]

# A tail quantile is only thresholded once each version has this many latencies beyond
# it (p99: 1000 samples): from fewer, the estimate is mostly noise, and comparing it
# every second would roll back healthy canaries.
TAIL_SAMPLES: Final = 10


class Outcome(Enum):
    WAITING = "waiting"  # not enough data to judge: never pass, never fail
    BREACH = "breach"  # a threshold is crossed, or the sequential test found a regression
    UNDECIDED = "undecided"  # no breach, but a regression that matters is not ruled out
    PASS = "pass"  # thresholds hold, and any sequential test rules the regression out


@dataclass(frozen=True, slots=True)
class Assessment:
    outcome: Outcome
    value: float | None = None
    baseline: float | None = None
    threshold: str = ""
    statistics: dict[str, float] = field(default_factory=dict)
    message: str = ""


def assess(
    metric: MetricSpec, candidate: Measurement | None, baseline: Measurement | None
) -> Assessment:
    """What ``candidate`` and ``baseline`` say about ``metric`` (pure)."""
    rule = _rule_text(metric)
    if candidate is None:
        return Assessment(Outcome.WAITING, threshold=rule, message="no candidate measurement yet")
    if baseline is None and _needs_baseline(metric):
        return Assessment(Outcome.WAITING, threshold=rule, message="no baseline measurement yet")
    kind = metric.kind
    if kind == "error_rate":
        return _error_rate(metric, candidate, baseline, rule)
    if kind == "latency":
        return _latency(metric, candidate, baseline, rule)
    if kind == "accuracy":
        return _accuracy(metric, candidate, baseline, rule)
    if kind in {"log_loss", "mae", "rmse"}:
        return _quality_mean(metric, candidate, baseline, rule)
    if kind == "prediction_shift":
        return _prediction_shift(metric, candidate, baseline, rule)
    if kind == "disagreement":
        return _disagreement(metric, candidate, rule)
    if kind == "input_drift":
        return _input_drift(metric, candidate, rule)
    return _custom(metric, candidate, baseline, rule)


def _needs_baseline(metric: MetricSpec) -> bool:
    return (
        metric.relative_max is not None
        or metric.sequential is not None
        or metric.kind == "prediction_shift"
    )


# --- per kind --------------------------------------------------------------------------


def _error_rate(metric: MetricSpec, c: Measurement, b: Measurement | None, rule: str) -> Assessment:
    waiting = _waiting(metric, "requests", c.requests, None if b is None else b.requests)
    if waiting:
        return Assessment(Outcome.WAITING, threshold=rule, message=waiting)
    value = c.errors / c.requests if c.requests else None
    base = None if b is None else b.error_rate
    return _counts_verdict(
        metric, rule, value, base, c.errors, c.requests, b, _pct, worse_is_higher=True
    )


def _accuracy(metric: MetricSpec, c: Measurement, b: Measurement | None, rule: str) -> Assessment:
    qc = c.quality
    qb = None if b is None else b.quality
    waiting = _waiting(
        metric,
        "labelled predictions",
        0 if qc is None else qc.labelled,
        None if b is None else (0 if qb is None else qb.labelled),
    )
    if waiting:
        return Assessment(Outcome.WAITING, threshold=rule, message=waiting)
    assert qc is not None  # _waiting saw its labelled count
    if qc.accuracy is None or (qb is not None and qb.accuracy is None and _needs_baseline(metric)):
        return Assessment(
            Outcome.WAITING, threshold=rule, message="accuracy is not available for these labels"
        )
    x_c = qc.misclassified or 0
    base = None if qb is None else qb.accuracy
    if b is not None and qb is not None:
        # The counts test runs on misclassifications among labelled predictions.
        b = Measurement(requests=qb.labelled, errors=qb.misclassified or 0)
    return _counts_verdict(
        metric, rule, qc.accuracy, base, x_c, qc.labelled, b, _num, worse_is_higher=False
    )


def _counts_verdict(
    metric: MetricSpec,
    rule: str,
    value: float | None,
    base: float | None,
    x_c: int,
    n_c: int,
    b: Measurement | None,
    show: Callable[[float | None], str],
    *,
    worse_is_higher: bool,
) -> Assessment:
    """Thresholds on ``value`` plus the error-count test on (x_c of n_c) vs b's counts."""
    breaches = _threshold_breaches(metric, value, base, show)
    stats: dict[str, float] = {}
    seq = metric.sequential
    undecided = ""
    if seq is not None and b is not None:
        effect = seq.effect_for(metric.kind)
        t = error_test(
            x_c,
            n_c,
            b.errors,
            b.requests,
            alpha=seq.alpha,
            min_effect=effect,
            prior_strength=seq.prior_strength,
        )
        sign = 1.0 if worse_is_higher else -1.0  # report in the metric's own direction
        diff, low, high = float(t.diff), float(t.ci_low), float(t.ci_high)
        if not worse_is_higher:
            low, high = -high, -low
        stats = {
            "n_candidate": float(n_c),
            "n_baseline": float(b.requests),
            "x_candidate": float(x_c),
            "x_baseline": float(b.errors),
            "share": float(t.share),
            "log_lr": float(t.log_lr),
            "log_threshold": math.log(1.0 / seq.alpha),
            "diff": sign * diff,
            "ci_low": low,
            "ci_high": high,
            "min_effect": effect,
            "alpha": seq.alpha,
        }
        gap = f"{_pts(sign * diff)} (bounds {_pts(low)} .. {_pts(high)})"
        if bool(t.rejected):
            breaches.append(
                f"sequential test: log LR {float(t.log_lr):.2f} >= {math.log(1 / seq.alpha):.2f} "
                f"and the difference {gap} is past {_pts(sign * effect)}"
            )
        elif not bool(t.ruled_out):
            undecided = f"difference {gap}: a {_pts(sign * effect)} regression is not ruled out yet"
        else:
            stats["ruled_out"] = 1.0
    head = f"candidate {show(value)} vs baseline {show(base)}"
    return _conclude(metric, rule, value, base, stats, head, breaches, undecided)


def _latency(metric: MetricSpec, c: Measurement, b: Measurement | None, rule: str) -> Assessment:
    hc = c.latency
    hb = None if b is None else b.latency
    n_c = 0 if hc is None else hc.total
    n_b = None if b is None else (0 if hb is None else hb.total)
    waiting = _waiting(metric, "latencies", n_c, n_b)
    if waiting:
        return Assessment(Outcome.WAITING, threshold=rule, message=waiting)
    assert hc is not None
    q = metric.latency_quantile
    value = hc.quantile(q)
    base = None if hb is None else hb.quantile(q)
    breaches: list[str] = []
    tail_wait = ""
    if metric.max is not None or metric.min is not None or metric.relative_max is not None:
        need = max(metric.min_samples, math.ceil(TAIL_SAMPLES / (1.0 - q) - 1e-9))
        have = n_c if metric.relative_max is None or n_b is None else min(n_c, n_b)
        if have < need:
            tail_wait = (
                f"p{_qname(q)} is judged from {need} latencies per version "
                f"({TAIL_SAMPLES} beyond it); {have} so far"
            )
        else:
            breaches = _threshold_breaches(metric, value, base, _ms)
    stats: dict[str, float] = {"quantile": q}
    undecided = ""
    seq = metric.sequential
    if seq is not None and hb is not None:
        stats, breach, undecided = _latency_sequential(seq, hc, hb)
        stats["quantile"] = q
        if breach:
            breaches.append(breach)
    head = f"candidate p{_qname(q)} {_ms(value)} vs baseline {_ms(base)}"
    if tail_wait and not breaches:
        return Assessment(Outcome.WAITING, value, base, rule, stats, f"{head}; {tail_wait}")
    return _conclude(metric, rule, value, base, stats, head, breaches, undecided)


def _latency_sequential(
    seq: SequentialSpec, hc: LatencyCounts, hb: LatencyCounts
) -> tuple[dict[str, float], str, str]:
    effect = seq.effect_for("latency")
    n_c, m_c, v_c = (float(x) for x in log_moments(hc.counts, hc.log_midpoints()))
    n_b, m_b, v_b = (float(x) for x in log_moments(hb.counts, hb.log_midpoints()))
    t = latency_test(
        n_c,
        m_c,
        v_c,
        n_b,
        m_b,
        v_b,
        alpha=seq.alpha,
        min_effect=effect,
        prior_strength=seq.prior_strength,
    )
    ratio, low, high = (math.exp(float(x)) for x in (t.diff, t.ci_low, t.ci_high))
    stats = {
        "n_candidate": n_c,
        "n_baseline": n_b,
        "log_mean_candidate": m_c,
        "log_mean_baseline": m_b,
        "ratio": ratio,
        "ratio_low": low,
        "ratio_high": high,
        "min_effect": effect,
        "alpha": seq.alpha,
    }
    gap = f"typical latency x{ratio:.3f} (bounds x{low:.3f} .. x{high:.3f})"
    if bool(t.rejected):
        return stats, f"sequential test: {gap} is past x{1 + effect:.3f}", ""
    if bool(t.ruled_out):
        stats["ruled_out"] = 1.0
        return stats, "", ""
    return stats, "", f"{gap}: a x{1 + effect:.3f} regression is not ruled out yet"


def _quality_mean(
    metric: MetricSpec, c: Measurement, b: Measurement | None, rule: str
) -> Assessment:
    qc = c.quality
    qb = None if b is None else b.quality
    n_b = None if b is None or metric.relative_max is None else (0 if qb is None else qb.labelled)
    waiting = _waiting(metric, "labelled predictions", 0 if qc is None else qc.labelled, n_b)
    if waiting:
        return Assessment(Outcome.WAITING, threshold=rule, message=waiting)
    value = None if qc is None else getattr(qc, metric.kind)
    base = None if qb is None else getattr(qb, metric.kind)
    if value is None or (metric.relative_max is not None and base is None):
        return Assessment(
            Outcome.WAITING,
            value,
            base,
            rule,
            message=f"{metric.kind} is not available for these predictions",
        )
    head = f"candidate {_num(value)} vs baseline {_num(base)}"
    breaches = _threshold_breaches(metric, value, base, _num)
    return _conclude(metric, rule, value, base, {}, head, breaches, "")


def _prediction_shift(
    metric: MetricSpec, c: Measurement, b: Measurement | None, rule: str
) -> Assessment:
    assert b is not None  # _needs_baseline
    n_c = sum(c.output_labels.values()) + sum(c.output_values.values())
    n_b = sum(b.output_labels.values()) + sum(b.output_values.values())
    waiting = _waiting(metric, "outputs", n_c, n_b)
    if waiting:
        return Assessment(Outcome.WAITING, threshold=rule, message=waiting)
    s = output_shift(c.output_labels, c.output_values, b.output_labels, b.output_values)
    stats = {
        "distance": s.distance,
        "raw_distance": s.raw,
        "noise": s.noise,
        "bins": float(s.bins),
        "n_candidate": float(s.n_candidate),
        "n_baseline": float(s.n_baseline),
    }
    head = (
        f"Jensen-Shannon distance {s.distance:.4f} over {s.bins} bins "
        f"(raw {s.raw:.4f}, noise floor {s.noise:.5f} removed)"
    )
    breaches = _threshold_breaches(metric, s.distance, None, _num)
    return _conclude(metric, rule, s.distance, None, stats, head, breaches, "")


def _disagreement(metric: MetricSpec, c: Measurement, rule: str) -> Assessment:
    """The share of compared (mirrored) requests where the candidate answered otherwise."""
    waiting = _waiting(metric, "compared answers", c.pairs, None)
    if waiting:
        return Assessment(Outcome.WAITING, threshold=rule, message=waiting)
    value = c.disagreements / c.pairs
    stats = {"pairs": float(c.pairs), "disagreements": float(c.disagreements)}
    head = f"candidate disagreed on {c.disagreements} of {c.pairs} compared answers ({_pct(value)})"
    breaches = _threshold_breaches(metric, value, None, _pct)
    return _conclude(metric, rule, value, None, stats, head, breaches, "")


_BANDS = {0.0: "OK", 1.0: "WARN", 2.0: "DRIFT"}


def _input_drift(metric: MetricSpec, c: Measurement, rule: str) -> Assessment:
    """The drift monitor's verdict on the candidate's inputs (0 OK, 1 WARN, 2 DRIFT)."""
    if c.input_drift is None:
        return Assessment(
            Outcome.WAITING,
            threshold=rule,
            message="no drift window of the candidate has ended in this analysis window yet",
        )
    value = c.input_drift
    head = f"candidate inputs {_BANDS.get(value, str(value))} in its newest drift window"
    breaches = _threshold_breaches(metric, value, None, _num)
    return _conclude(metric, rule, value, None, {"band": value}, head, breaches, "")


def _custom(metric: MetricSpec, c: Measurement, b: Measurement | None, rule: str) -> Assessment:
    value = c.value
    base = None if b is None else b.value
    if value is None or math.isnan(value):
        return Assessment(Outcome.WAITING, threshold=rule, message="the query returned no value")
    if metric.relative_max is not None and (base is None or math.isnan(base)):
        return Assessment(
            Outcome.WAITING, value, threshold=rule, message="no baseline value to compare with"
        )
    head = f"candidate {_num(value)} vs baseline {_num(base)}"
    breaches = _threshold_breaches(metric, value, base, _num)
    return _conclude(metric, rule, value, base, {}, head, breaches, "")


# --- shared ----------------------------------------------------------------------------


def _waiting(metric: MetricSpec, what: str, n_c: int, n_b: int | None) -> str:
    """'' when the versions the metric reads have min_samples, else 'waiting for data: ...'.

    The baseline's count only matters to metrics that compare with it.
    """
    if not _needs_baseline(metric):
        n_b = None
    need = metric.min_samples
    short_c = n_c < need or n_c == 0
    short_b = n_b is not None and (n_b < need or n_b == 0)
    if not (short_c or short_b):
        return ""
    parts = [f"candidate {n_c}/{need} {what}"]
    if n_b is not None:
        parts.append(f"baseline {n_b}/{need}")
    return "waiting for data: " + ", ".join(parts)


def _threshold_breaches(
    metric: MetricSpec,
    value: float | None,
    base: float | None,
    show: Callable[[float | None], str],
) -> list[str]:
    out: list[str] = []
    if value is None:
        return out
    if metric.max is not None and value > metric.max:
        out.append(f"{show(value)} is above max {show(metric.max)}")
    if metric.min is not None and value < metric.min:
        out.append(f"{show(value)} is below min {show(metric.min)}")
    if metric.relative_max is not None and base is not None:
        limit = base * metric.relative_max
        if value > limit:
            out.append(
                f"{show(value)} is above {metric.relative_max:g} x baseline {show(base)} "
                f"= {show(limit)}"
            )
    return out


def _conclude(
    metric: MetricSpec,
    rule: str,
    value: float | None,
    base: float | None,
    stats: dict[str, float],
    head: str,
    breaches: list[str],
    undecided: str,
) -> Assessment:
    if breaches:
        return Assessment(
            Outcome.BREACH, value, base, rule, stats, f"{head}: {'; '.join(breaches)}"
        )
    if undecided:
        return Assessment(Outcome.UNDECIDED, value, base, rule, stats, f"{head}; {undecided}")
    detail = "within thresholds"
    if "ruled_out" in stats:
        detail = "no regression that matters (ruled out by the sequential test)"
        if metric.max is not None or metric.min is not None or metric.relative_max is not None:
            detail = "within thresholds, and a regression that matters is ruled out"
    return Assessment(Outcome.PASS, value, base, rule, stats, f"{head}: {detail}")


def _rule_text(metric: MetricSpec) -> str:
    show = {"error_rate": _pct, "latency": _ms, "disagreement": _pct}.get(metric.kind, _num)
    parts: list[str] = []
    subject = f"p{_qname(metric.latency_quantile)}" if metric.kind == "latency" else "value"
    if metric.max is not None:
        parts.append(f"{subject} <= {show(metric.max)}")
    if metric.min is not None:
        parts.append(f"{subject} >= {show(metric.min)}")
    if metric.relative_max is not None:
        parts.append(f"{subject} <= {metric.relative_max:g} x baseline")
    seq = metric.sequential
    if seq is not None:
        effect = seq.effect_for(metric.kind)
        what = {
            "error_rate": f"error rate up by {effect * 100:.2f} pts",
            "latency": f"typical latency up by {effect:.0%}",
            "accuracy": f"accuracy down by {effect * 100:.2f} pts",
        }[metric.kind]
        parts.append(f"sequential test (alpha {seq.alpha:g}) fails on a regression: {what}")
    parts.append(
        f"at least {metric.min_samples} samples per version; failureLimit "
        f"{metric.failure_limit}, inconclusiveLimit {metric.inconclusive_limit}, "
        f"consecutiveErrorLimit {metric.consecutive_error_limit}"
    )
    return "; ".join(parts)


def _qname(q: float) -> str:
    return f"{q * 100:g}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def _pts(value: float) -> str:
    """A difference of rates in percentage points, signed."""
    return f"{value * 100:+.2f} pts"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 1000:.4g} ms"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
