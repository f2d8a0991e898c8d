"""Wires the drift monitor from settings: windows, policy, reference outputs, alerts, lease.

`turnout serve` (role all) runs it in a thread beside the gateway; `turnout monitor`
runs it alone. Either way one lease in the control DB makes one monitor do the work.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from turnout.services import Services

if TYPE_CHECKING:
    from monitors.runner import DriftMonitor

_log = logging.getLogger(__name__)

MONITOR_LEASE = "drift-monitor"


def reference_outputs(services: Services) -> Any:
    """(model, version) -> the version's outputs on its reference sample, or None.

    The version is loaded in onnxruntime once and run on the profile's sample rows;
    the answer is cached. None when the version has no profile, or when the sample's
    columns cannot be fed to the model (the profile holds more columns than the
    model's inputs, say): prediction drift is then not judged, and the report says so.
    """
    from monitors import profile_from_json
    from router.inference import load_session
    from router.serving.attach import version_helpers
    from router.serving.pool import LoadedVersion

    cache: dict[tuple[str, str], npt.NDArray[Any] | None] = {}

    def outputs(model: str, version: str) -> npt.NDArray[Any] | None:
        key = (model, version)
        if key in cache:
            return cache[key]
        registry = services.registry
        text = registry.reference_profile(model, version)
        found: npt.NDArray[Any] | None = None
        if text is not None:
            profile = profile_from_json(text)
            session = load_session(registry.model_bytes(model, version))
            loaded = LoadedVersion(model, version, session, session.signature, text, {})
            roles = version_helpers(loaded)
            feature_input, output = roles.get("feature_input"), roles.get("output_name")
            sample = profile.sample
            spec = next((s for s in session.signature.inputs if s.name == feature_input), None)
            width = None if spec is None else spec.shape[1]
            if (
                feature_input
                and output
                and sample.rows
                and (width is None or width == len(sample.columns))
            ):
                matrix = np.asarray(
                    [[np.nan if v is None else v for v in row] for row in sample.rows],
                    dtype=np.float64,
                )
                dtype = np.float32 if spec is None or spec.datatype == "FP32" else np.float64
                answer = session.run({feature_input: matrix.astype(dtype)})
                found = np.asarray(answer[output]).ravel()
        cache[key] = found
        return found

    return outputs


def build_monitor(services: Services, *, lease: bool = True) -> DriftMonitor:
    from monitors.live import drift_alert_hook, policy_evaluator, quality_alert_hook
    from monitors.runner import DriftMonitor, MonitorConfig
    from monitors.windows import parse_window
    from router.controller.lease import Lease
    from turnout.alerting import alerts_config

    settings = services.settings
    alerts = alerts_config(settings)
    config = MonitorConfig(
        spec=parse_window(settings.drift_window),
        hysteresis=settings.drift_hysteresis,
        interval_s=settings.monitor_interval_s,
    )
    return DriftMonitor(
        services.sessions,
        services.registry,
        policy_evaluator(reference_outputs=reference_outputs(services)),
        config=config,
        alert=drift_alert_hook(alerts),
        quality_alert=quality_alert_hook(alerts),
        lease=Lease(services.sessions, name=MONITOR_LEASE) if lease else None,
    )
