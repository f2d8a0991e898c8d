"""A rollout spec: what to roll out, by which strategy and steps, how to judge it, whom to ask.

Frozen pydantic models. Errors name the field (``steps[2].setWeight: ...``); use
``RolloutSpec.from_dict`` (or ``router.rollout.spec_io.load_spec``) to get them as one
SpecError line. Flagger's shorthand (``step_weights`` or ``step_weight`` + ``max_weight``)
is expanded into ``steps`` when the spec is built, so a stored spec only holds steps.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    AliasGenerator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from router.analysis.spec import AnalysisSpec, default_analysis, default_shadow_analysis
from router.rollout.errors import SpecError
from router.traffic import VERSION_PATTERN, MatchRule, PolicyError, StickyKey

__all__ = [
    "GATE_TYPES",
    "STRATEGIES",
    "WEBHOOK_TYPES",
    "ABTestSpec",
    "Analysis",
    "AnalysisOptions",
    "BlueGreenSpec",
    "MatchSpec",
    "Pause",
    "PauseOptions",
    "RolloutSpec",
    "SetWeight",
    "Step",
    "StickySpec",
    "Strategy",
    "Webhook",
    "WebhookType",
    "format_validation_error",
]

Strategy = Literal["canary", "bluegreen", "abtest", "shadow"]
STRATEGIES: tuple[str, ...] = ("canary", "bluegreen", "abtest", "shadow")

WebhookType = Literal[
    "confirm-rollout",
    "pre-rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "post-rollout",
    "rollback",
    "event",
]
WEBHOOK_TYPES: tuple[str, ...] = (
    "confirm-rollout",
    "pre-rollout",
    "confirm-traffic-increase",
    "confirm-promotion",
    "post-rollout",
    "rollback",
    "event",
)
# Webhooks whose answer decides whether the rollout may go on; the others are told.
GATE_TYPES: frozenset[str] = frozenset(
    {"confirm-rollout", "pre-rollout", "confirm-traffic-increase", "confirm-promotion"}
)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_FORM = "must be a duration in seconds or like '30s', '5m', '1h30m'"
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _seconds(value: object) -> float:
    """30, 30.0, "30", "30s", "5m", "1h30m", "250ms" -> seconds (>= 0, finite)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            parts = _DURATION_PART.findall(text)
            if not text or "".join(n + u for n, u in parts) != text:
                raise ValueError(f"{_DURATION_FORM}, got {value!r}") from None
            seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    else:
        raise ValueError(f"{_DURATION_FORM}, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{_DURATION_FORM} (finite, >= 0), got {value!r}")
    return seconds


def _weight(value: object) -> int:
    # bool is an int subclass; `setWeight: true` is a mistake, not 1.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise ValueError(f"must be an integer 0..100, got {value!r}")
    return value


def _version(value: object) -> str:
    # Hand-written YAML says `candidate: 7`; MLflow versions are numbers.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if not isinstance(value, str) or VERSION_PATTERN.fullmatch(value) is None:
        raise ValueError(
            f"must be a version like '3' (letters, digits, '.', '_', '-'), got {value!r}"
        )
    return value


def _percent(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value) and 0 < value <= 100:
            return float(value)
    raise ValueError(f"must be a number in (0, 100], got {value!r}")


Seconds = Annotated[float, BeforeValidator(_seconds)]
Weight = Annotated[int, BeforeValidator(_weight)]
Version = Annotated[str, BeforeValidator(_version)]
Percent = Annotated[float, BeforeValidator(_percent)]


class _Model(BaseModel):
    # Fields read in snake_case or in the camelCase of Argo Rollouts and Flagger specs
    # (stepWeights, maxWeight, promoteOnSuccess, ...); written in snake_case.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        alias_generator=AliasGenerator(validation_alias=to_camel),
    )


class MatchSpec(_Model):
    """A request whose header (or cookie) ``name`` matches ``value`` goes to the candidate."""

    source: Literal["header", "cookie"] = "header"
    name: str
    op: Literal["exact", "prefix", "regex"] = "exact"
    value: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value or value != value.strip():
            raise ValueError("must be a non-empty string without surrounding spaces")
        return value

    @field_validator("value")
    @classmethod
    def _value(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("op") == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex {value!r} ({exc})") from None
        return value

    def rule(self, version: str) -> MatchRule:
        """The router.traffic match rule that sends matching requests to ``version``."""
        return MatchRule(self.source, self.name, self.op, self.value, version)


class StickySpec(_Model):
    """Where the stickiness key is read (router.traffic.StickyKey); first found wins."""

    header: str | None = "x-turnout-key"
    cookie: str | None = None
    json_field: str | None = None

    @model_validator(mode="after")
    def _check(self) -> StickySpec:
        try:
            self.key().validate("sticky")
        except PolicyError as exc:
            raise ValueError(str(exc).removeprefix("sticky.")) from None
        return self

    def key(self) -> StickyKey:
        return StickyKey(header=self.header, cookie=self.cookie, json_field=self.json_field)


def _default_preview() -> MatchSpec:
    return MatchSpec(name="x-turnout-preview", value="true")


class BlueGreenSpec(_Model):
    """Blue-green: the preview (candidate) gets only header-matched and/or mirrored traffic
    for ``pre_promotion_s``; then 100% switches, judged for ``post_promotion_s`` (0: none)."""

    preview_match: MatchSpec | None = Field(default_factory=_default_preview)
    mirror_percent: Percent | None = None
    pre_promotion_s: Seconds = 60.0
    post_promotion_s: Seconds = 60.0

    @field_validator("pre_promotion_s")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be > 0: the preview is judged before the switch")
        return value

    @model_validator(mode="after")
    def _some_preview_traffic(self) -> BlueGreenSpec:
        if self.preview_match is None and self.mirror_percent is None:
            raise ValueError(
                "preview_match: give preview_match or mirror_percent, "
                "or the preview gets no traffic to judge"
            )
        return self


class ABTestSpec(_Model):
    """A/B test: a fixed sticky split of ``split`` percent to the candidate.

    It ends on the first decisive verdict: Failed/Error rolls back at any time;
    Successful ends it once ``min_duration_s`` has passed (default: ``max_duration_s``,
    i.e. always run the full test). At ``max_duration_s`` without a decision it pauses
    for a human. ``promote_winner`` moves the champion alias to a winning candidate.
    """

    split: Weight = 50
    max_duration_s: Seconds = 3600.0
    min_duration_s: Seconds | None = None
    promote_winner: bool = False

    @field_validator("split")
    @classmethod
    def _split(cls, value: int) -> int:
        if not 0 < value < 100:
            raise ValueError(f"must be 1..99 (percent to the candidate), got {value}")
        return value

    @field_validator("max_duration_s")
    @classmethod
    def _max(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be > 0")
        return value

    @model_validator(mode="after")
    def _min_le_max(self) -> ABTestSpec:
        if self.min_duration_s is not None and self.min_duration_s > self.max_duration_s:
            raise ValueError(
                f"min_duration_s: {self.min_duration_s:g} s is above max_duration_s "
                f"{self.max_duration_s:g} s"
            )
        return self

    @property
    def decide_after_s(self) -> float:
        return self.max_duration_s if self.min_duration_s is None else self.min_duration_s


class Webhook(_Model):
    """A Flagger-style webhook. Gates (confirm-*, pre-rollout) pass on 2xx; a timeout or
    any other status halts advancement (pre-rollout: rolls back). The rest are notified."""

    type: WebhookType
    url: str
    timeout_s: Seconds = 10.0
    secret_env: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        scheme, _, rest = value.partition("://")
        if scheme not in {"http", "https"} or not rest or any(c.isspace() for c in value):
            raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("timeout_s")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be > 0")
        return value

    @field_validator("secret_env")
    @classmethod
    def _env(cls, value: str | None) -> str | None:
        if value is not None and _ENV_NAME.fullmatch(value) is None:
            raise ValueError(f"must be an environment variable name, got {value!r}")
        return value

    @property
    def is_gate(self) -> bool:
        return self.type in GATE_TYPES


class SetWeight(_Model):
    """Send ``setWeight`` percent of unmatched traffic to the candidate."""

    set_weight: Weight = Field(alias="setWeight")


class PauseOptions(_Model):
    duration_s: Seconds | None = Field(
        default=None, validation_alias=AliasChoices("duration_s", "duration")
    )


class Pause(_Model):
    """Wait ``duration_s`` seconds, or (None) until someone approves."""

    pause: PauseOptions = PauseOptions()

    @field_validator("pause", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        return {} if value is None else value


class AnalysisOptions(_Model):
    """Judge for ``duration_s`` (default: the spec's ``step_duration_s``) with ``spec``
    (default: the spec's ``analysis``)."""

    duration_s: Seconds | None = Field(
        default=None, validation_alias=AliasChoices("duration_s", "duration")
    )
    spec: AnalysisSpec | None = None

    @field_validator("duration_s")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("must be > 0: an analysis needs time to see traffic")
        return value


class Analysis(_Model):
    """A gate: advance once the analysis is Successful and ``duration_s`` has passed."""

    analysis: AnalysisOptions = AnalysisOptions()

    @field_validator("analysis", mode="before")
    @classmethod
    def _empty(cls, value: object) -> object:
        return {} if value is None else value

    @property
    def duration_s(self) -> float:
        # Always set once the step sits in a RolloutSpec (filled from step_duration_s).
        return self.analysis.duration_s or 0.0


_STEP_TAGS = ("setWeight", "pause", "analysis")


def _step_tag(value: object) -> str | None:
    if isinstance(value, Mapping):
        found = [tag for tag in _STEP_TAGS if tag in value]
        return found[0] if len(found) == 1 else None
    for kind, tag in ((SetWeight, "setWeight"), (Pause, "pause"), (Analysis, "analysis")):
        if isinstance(value, kind):
            return tag
    return None


Step = Annotated[
    Annotated[SetWeight, Tag("setWeight")]
    | Annotated[Pause, Tag("pause")]
    | Annotated[Analysis, Tag("analysis")],
    Discriminator(
        _step_tag,
        custom_error_type="step_kind",
        custom_error_message=(
            "a step is exactly one of {setWeight: N}, {pause: {duration_s?}}, "
            "{analysis: {duration_s?, spec?}}"
        ),
    ),
]

_SHORTHAND = frozenset({"step_weights", "step_weight", "max_weight"})


class RolloutSpec(_Model):
    """One rollout of ``model`` from ``baseline`` (default: the champion when it starts)
    to ``candidate``."""

    model: str
    candidate: Version
    baseline: Version | None = None
    strategy: Strategy = "canary"
    steps: tuple[Step, ...] = ()
    step_weights: tuple[Weight, ...] | None = None
    step_weight: Weight | None = None
    max_weight: Weight | None = None
    step_duration_s: Seconds = 60.0
    analysis: AnalysisSpec | None = Field(default_factory=default_analysis)
    sticky: StickySpec = StickySpec()
    match: tuple[MatchSpec, ...] = ()
    shadow_percent: Percent | None = None
    bluegreen: BlueGreenSpec | None = None
    abtest: ABTestSpec | None = None
    webhooks: tuple[Webhook, ...] = ()
    promote_on_success: bool = True

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        if not value or value != value.strip() or len(value) > 255:
            raise ValueError("must be a model name: non-empty, no surrounding spaces")
        return value

    @field_validator("step_duration_s")
    @classmethod
    def _step_duration(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be > 0")
        return value

    @model_validator(mode="after")
    def _settle(self) -> RolloutSpec:
        if self.baseline is not None and self.baseline == self.candidate:
            raise ValueError(f"baseline: must differ from candidate {self.candidate!r}")
        self._settle_steps()
        for block in ("bluegreen", "abtest"):
            if getattr(self, block) is not None and self.strategy != block:
                raise ValueError(f"{block}: only for strategy {block}, not {self.strategy}")
        if self.strategy == "bluegreen" and self.bluegreen is None:
            object.__setattr__(self, "bluegreen", BlueGreenSpec())
        if self.strategy == "abtest" and self.abtest is None:
            object.__setattr__(self, "abtest", ABTestSpec())
        if self.strategy == "shadow":
            if self.match:
                raise ValueError("match: the shadow strategy sends no user to the candidate")
            if self.shadow_percent is None:
                object.__setattr__(self, "shadow_percent", 100.0)
            if "analysis" not in self.model_fields_set:
                object.__setattr__(self, "analysis", default_shadow_analysis())
        elif self.shadow_percent is not None:
            raise ValueError(
                "shadow_percent: only for strategy shadow (blue-green: bluegreen.mirror_percent)"
            )
        return self

    def _settle_steps(self) -> None:
        given = [
            name
            for name, value in (
                ("steps", self.steps or None),
                ("step_weights", self.step_weights),
                ("step_weight", self.step_weight),
            )
            if value is not None
        ]
        if self.max_weight is not None and self.step_weight is None:
            raise ValueError("max_weight: only together with step_weight")
        if self.strategy != "canary":
            if given:
                raise ValueError(f"{given[0]}: only for strategy canary, not {self.strategy}")
            return
        if len(given) > 1:
            raise ValueError(f"{given[1]}: give one of steps, step_weights or step_weight")
        if not given:
            raise ValueError("steps: a canary needs steps, step_weights or step_weight")
        steps = list(self.steps) if self.steps else self._expand()
        previous, previous_at = 0, ""
        for i, item in enumerate(steps):
            if isinstance(item, SetWeight):
                if item.set_weight < previous:
                    raise ValueError(
                        f"steps[{i}].setWeight: {item.set_weight} is below {previous} "
                        f"({previous_at}); weights only grow (abort to go back)"
                    )
                previous, previous_at = item.set_weight, f"steps[{i}]"
            elif isinstance(item, Analysis) and item.analysis.duration_s is None:
                options = item.analysis.model_copy(update={"duration_s": self.step_duration_s})
                steps[i] = Analysis(analysis=options)
        object.__setattr__(self, "steps", tuple(steps))
        for name in _SHORTHAND:
            object.__setattr__(self, name, None)

    def _expand(self) -> list[SetWeight | Pause | Analysis]:
        if self.step_weights is not None:
            weights = list(self.step_weights)
            if not weights:
                raise ValueError("step_weights: give at least one weight")
            for i in range(1, len(weights)):
                if weights[i] <= weights[i - 1]:
                    raise ValueError(
                        f"step_weights[{i}]: {weights[i]} must be above {weights[i - 1]}"
                    )
        else:
            step = self.step_weight or 0
            top = 100 if self.max_weight is None else self.max_weight
            if step <= 0:
                raise ValueError("step_weight: must be 1..100")
            if top < step:
                raise ValueError(f"max_weight: {top} is below step_weight {step}")
            # Flagger: grow by step_weight, the last increase capped at max_weight.
            weights = list(range(step, top, step)) + [top]
        steps: list[SetWeight | Pause | Analysis] = []
        for weight in weights:
            steps.append(SetWeight(setWeight=weight))
            steps.append(Analysis(analysis=AnalysisOptions(duration_s=self.step_duration_s)))
        return steps

    # -- reading --------------------------------------------------------------------

    def webhooks_of(self, kind: str) -> tuple[Webhook, ...]:
        return tuple(hook for hook in self.webhooks if hook.type == kind)

    def has_gate(self, kind: str) -> bool:
        return kind in GATE_TYPES and any(hook.type == kind for hook in self.webhooks)

    def resolve(self, baseline: str) -> RolloutSpec:
        """This spec with its baseline fixed (the champion when the rollout starts)."""
        if self.baseline == baseline:
            return self
        return type(self).from_dict({**self.to_dict(), "baseline": baseline})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (steps expanded); ``from_dict(s.to_dict()) == s``."""
        return self.model_dump(mode="json", by_alias=True, exclude=set(_SHORTHAND))

    @classmethod
    def from_dict(cls, data: object, *, source: str | None = None) -> RolloutSpec:
        """Build and validate a spec; SpecError is one line naming the first bad field."""
        if not isinstance(data, Mapping):
            where = f"{source}: " if source else ""
            raise SpecError(f"{where}a rollout spec must be a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise SpecError(format_validation_error(exc, source)) from None


def _path(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    out = ""
    for i, part in enumerate(parts):
        # A tagged union repeats its tag: ("steps", 2, "setWeight", "setWeight").
        if part in _STEP_TAGS and i + 1 < len(parts) and parts[i + 1] == part:
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# A model-level check names the field relative to its model: "min_duration_s: ...".
_RELATIVE = re.compile(r"([A-Za-z_]\w*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*): (.*)")


def _message(error: Mapping[str, Any]) -> str:
    kind, msg = error["type"], str(error["msg"])
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "literal_error":
        return f"must be {error['ctx']['expected']}, got {error['input']!r}"
    msg = msg.removeprefix("Value error, ")
    return msg[:1].lower() + msg[1:] if msg.startswith("Input should") else msg


def format_validation_error(exc: ValidationError, source: str | None = None) -> str:
    """One line: ``source: path: message`` for the first error, and how many more."""
    errors = exc.errors()
    first = errors[0]
    path, message = _path(tuple(first["loc"])), _message(first)
    relative = _RELATIVE.fullmatch(message) if first["type"] == "value_error" else None
    if relative is not None:
        path = f"{path}.{relative[1]}" if path else relative[1]
        message = relative[2]
    line = f"{path}: {message}" if path else message
    if len(errors) > 1:
        line += f" (and {len(errors) - 1} more)"
    return f"{source}: {line}" if source else line
