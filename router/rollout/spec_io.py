"""Rollout specs from text (YAML or JSON) and from the CLI's common flags.

The only module of router.rollout that imports yaml. Every error is one SpecError line
naming where: ``spec.yaml: steps[2].pause.duration: ...`` or ``--steps: ...``.
"""

from __future__ import annotations

from typing import Any

import yaml

from router.analysis import AnalysisSpec
from router.rollout.errors import SpecError
from router.rollout.spec import STRATEGIES, RolloutSpec

__all__ = ["dump_spec", "load_spec", "spec_from_flags"]

STEPS_FORM = "expected weights 1..100 in increasing order, comma-separated, e.g. 5,25,50,100"

# Spec fields as the CLI names them, for errors about flag values.
_FLAGS = {
    "model": "MODEL",
    "candidate": "--to",
    "baseline": "--baseline",
    "strategy": "--strategy",
    "step_duration_s": "--step-duration",
    "bluegreen.pre_promotion_s": "--step-duration",
    "bluegreen.post_promotion_s": "--step-duration",
    "abtest.split": "--split",
    "abtest.max_duration_s": "--max-duration",
    "abtest.min_duration_s": "--max-duration",
    "shadow_percent": "--shadow-percent",
    "analysis": "--analysis",
}


def load_spec(text: str, *, source: str) -> RolloutSpec:
    """Parse a YAML (or JSON, a subset of YAML) rollout spec; ``source`` names it in errors."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or str(exc).splitlines()[0])
        raise SpecError(f"{source}: {where}not valid YAML or JSON ({problem})") from None
    if data is None:
        raise SpecError(f"{source}: empty; a rollout spec needs at least model and candidate")
    return RolloutSpec.from_dict(data, source=source)


def dump_spec(spec: RolloutSpec) -> str:
    """The spec as YAML (steps expanded), loadable by load_spec."""
    text: str = yaml.safe_dump(spec.to_dict(), sort_keys=False, allow_unicode=True)
    return text


def spec_from_flags(
    model: str,
    to_version: str,
    strategy: str = "canary",
    *,
    baseline: str | None = None,
    steps: str = "5,25,50,100",
    step_duration_s: float = 60.0,
    analysis: AnalysisSpec | bool = True,
    split: int | None = None,
    max_duration_s: float | None = None,
    shadow_percent: float | None = None,
    promote: bool = True,
) -> RolloutSpec:
    """The CLI's common case: ``rollout start fraud --to 7 --steps 5,25,50,100``.

    canary: each weight of ``steps`` then an analysis of ``step_duration_s``. bluegreen:
    pre- and post-promotion windows of ``step_duration_s``. abtest: ``split`` percent
    (default 50) for up to ``max_duration_s`` (default 3600), the winner promoted if
    ``promote``. shadow: ``shadow_percent`` (default 100) mirrored for
    ``step_duration_s``. ``analysis``: True for the default analysis, False for none
    (timers only), or a spec. ``steps`` is ignored by the other strategies.
    """
    if strategy not in STRATEGIES:
        raise SpecError(f"--strategy: {strategy!r}: expected one of {', '.join(STRATEGIES)}")
    data: dict[str, Any] = {
        "model": model,
        "candidate": to_version,
        "strategy": strategy,
        "step_duration_s": step_duration_s,
        "promote_on_success": promote,
    }
    if baseline is not None:
        data["baseline"] = baseline
    if analysis is False:
        data["analysis"] = None
    elif analysis is not True:
        data["analysis"] = analysis
    if strategy == "canary":
        data["step_weights"] = _parse_steps(steps)
    elif strategy == "bluegreen":
        data["bluegreen"] = {
            "pre_promotion_s": step_duration_s,
            "post_promotion_s": step_duration_s,
        }
    elif strategy == "abtest":
        data["abtest"] = {
            "split": 50 if split is None else split,
            "max_duration_s": 3600.0 if max_duration_s is None else max_duration_s,
            "promote_winner": promote,
        }
    elif shadow_percent is not None:
        data["shadow_percent"] = shadow_percent
    try:
        return RolloutSpec.from_dict(data)
    except SpecError as exc:
        raise SpecError(_as_flag(str(exc))) from None


def _parse_steps(text: str) -> list[int]:
    weights: list[int] = []
    for item in text.split(","):
        item = item.strip().removesuffix("%")
        if not item.isdigit() or not 1 <= int(item) <= 100:
            raise SpecError(f"--steps: {text!r}: {item!r} is not a weight; {STEPS_FORM}")
        if weights and int(item) <= weights[-1]:
            raise SpecError(f"--steps: {text!r}: {item} does not grow; {STEPS_FORM}")
        weights.append(int(item))
    return weights


def _as_flag(message: str) -> str:
    path, sep, rest = message.partition(": ")
    for field, flag in _FLAGS.items():
        if path == field or path.startswith(field + ".") or path.startswith(field + "["):
            return f"{flag}: {rest}" if sep else message
    return message
