"""Per-version helpers built when a version loads: input sketcher and output roles."""

from __future__ import annotations

from typing import Any

from monitors import profile_from_json
from router.serving.pool import LoadedVersion
from router.telemetry import InputSketcher, Recorder

_LABEL_TYPES = {"INT64", "INT32", "INT16", "INT8", "UINT8", "BYTES", "BOOL"}
_SCORE_TYPES = {"FP32", "FP64", "FP16"}


def version_helpers(loaded: LoadedVersion) -> dict[str, Any]:
    """Which input holds the feature matrix, and which outputs hold labels and scores."""
    sig = loaded.signature
    extra: dict[str, Any] = {}
    profile = None
    if loaded.profile_json is not None:
        try:
            profile = profile_from_json(loaded.profile_json)
        except Exception:  # an unreadable profile only costs the profile-based bins
            profile = None
    tensors = [s for s in sig.inputs if not s.opaque]
    if len(tensors) == 1 and tensors[0].rank == 2:
        spec = tensors[0]
        width = spec.shape[1]
        names: list[str] = []
        if profile is not None and (width is None or len(profile.features) == width):
            names = [f.name for f in profile.features]
        elif width is not None:
            names = [f"{spec.name}[{i}]" for i in range(width)]
        extra["feature_input"] = spec.name
        extra["sketcher"] = InputSketcher.from_profile(profile, names) if names else None
    label = next((o.name for o in sig.outputs if o.datatype in _LABEL_TYPES and o.rank <= 2), None)
    # Class probabilities are [n, k] with k >= 2; a [n, 1] float is a regressor's value.
    score = next(
        (
            o.name
            for o in sig.outputs
            if o.datatype in _SCORE_TYPES
            and o.rank == 2
            and (o.shape[1] is None or o.shape[1] >= 2)
        ),
        None,
    )
    single_value = next((o.name for o in sig.outputs if o.datatype in _SCORE_TYPES), None)
    extra["label_output"] = label
    extra["score_output"] = score
    extra["output_name"] = label or single_value or (sig.outputs[0].name if sig.outputs else None)
    return extra


def attach_with(recorder: Recorder) -> Any:
    """An attach hook for ModelPool that also registers the version with telemetry."""

    def attach(loaded: LoadedVersion) -> dict[str, Any]:
        extra = version_helpers(loaded)
        recorder.register(
            loaded.model, loaded.version, extra.get("sketcher"), extra.get("output_name")
        )
        return extra

    return attach
