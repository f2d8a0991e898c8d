"""The gateway's per-request core, independent of the HTTP framework.

`Gateway` owns the routing table, the model pool, telemetry and the prediction log.
`route()` picks the version (and shadow) for a request; `run()` executes a decoded
request and records what happened. The HTTP layer (router.api) only parses and writes.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from router.inference import InputMismatchError, ModelRuntimeError
from router.quality import PredictionBuffer, PredictionRecord, labels_from_outputs
from router.serving.errors import UnknownModel, UnknownVersion
from router.serving.pool import LoadedVersion, ModelPool
from router.telemetry import Recorder, names
from router.traffic import RoutingTable, extract_key

_log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "x-request-id"
VERSION_HEADER = "x-turnout-version"


@dataclass(frozen=True)
class Target:
    primary: LoadedVersion
    shadow: LoadedVersion | None
    reason: str


class ModelFailed(Exception):
    """The model raised while running a well-formed request (a 500, counted against it)."""


class ModelTimedOut(Exception):
    """The model answered, but after the deadline: a 504, counted as a timeout."""


class Gateway:
    def __init__(
        self,
        table: RoutingTable,
        pool: ModelPool,
        recorder: Recorder,
        predictions: PredictionBuffer,
        *,
        log_predictions: bool = True,
        deadline_s: float | None = None,
        max_shadow_inflight: int = 1,
    ) -> None:
        self.table = table
        self.pool = pool
        self.recorder = recorder
        self.predictions = predictions
        self.log_predictions = log_predictions
        self.deadline_s = deadline_s
        # One mirrored call at a time: a slow shadow drops copies instead of queueing
        # work that would compete with live requests for the CPU.
        self._shadow_slots = threading.BoundedSemaphore(max_shadow_inflight)
        self.shadow_skipped = 0

    # -- routing ----------------------------------------------------------------------

    def served_models(self) -> list[str]:
        return sorted(self.table.models())

    def served_versions(self, model: str) -> list[str]:
        compiled = self.table.get(model)
        if compiled is None:
            raise UnknownModel(f"model '{model}' is not served (no champion and no policy)")
        return sorted(compiled.policy.versions(), key=_version_key)

    def route(
        self,
        model: str,
        version: str | None,
        headers: Mapping[str, str],
        cookies: Mapping[str, str],
        body_doc: Mapping[str, Any] | None = None,
    ) -> Target:
        compiled = self.table.get(model)
        if compiled is None:
            raise UnknownModel(f"model '{model}' is not served (no champion and no policy)")
        if version is not None:
            loaded = self.pool.get(model, version)
            if loaded is None or version not in compiled.policy.versions():
                served = ", ".join(self.served_versions(model))
                raise UnknownVersion(
                    f"version {version} of model '{model}' is not served (served: {served})"
                )
            return Target(loaded, None, "pinned")
        key = extract_key(compiled.policy.sticky, headers, cookies, body_doc)
        decision = compiled.decide(key=key, headers=headers, cookies=cookies)
        loaded = self.pool.get(model, decision.version)
        if loaded is None:  # the watcher loads before it publishes; this is a race guard
            raise UnknownVersion(f"version {decision.version} of '{model}' is not loaded yet")
        shadow = None if decision.shadow is None else self.pool.get(model, decision.shadow)
        return Target(loaded, shadow, decision.reason)

    # -- running ----------------------------------------------------------------------

    def run(
        self,
        loaded: LoadedVersion,
        feeds: Mapping[str, np.ndarray],
        *,
        request_id: str,
        rows: int,
        started: float,
    ) -> dict[str, np.ndarray]:
        """Run the model and record the outcome.

        Raises InputMismatchError (the client's fault), ModelFailed (the model's), or
        ModelTimedOut when the answer came after the deadline: a caller that waited
        that long has given up, so the answer counts as a timeout, not a success.
        """
        try:
            outputs = loaded.session.run(dict(feeds))
        except InputMismatchError:
            self.record_client_error(loaded, started)
            raise
        except ModelRuntimeError as exc:
            self.recorder.record(
                loaded.model,
                loaded.version,
                latency_s=time.perf_counter() - started,
                outcome=names.OUTCOME_MODEL_ERROR,
                rows=rows,
            )
            raise ModelFailed(str(exc)) from None
        elapsed = time.perf_counter() - started
        if self.deadline_s is not None and elapsed > self.deadline_s:
            self.recorder.record(
                loaded.model,
                loaded.version,
                latency_s=elapsed,
                outcome=names.OUTCOME_TIMEOUT,
                rows=rows,
            )
            raise ModelTimedOut(
                f"the request took {elapsed:.3f} s, over the {self.deadline_s:g} s deadline"
            )
        self.recorder.record(
            loaded.model,
            loaded.version,
            latency_s=time.perf_counter() - started,
            outcome=names.OUTCOME_OK,
            rows=rows,
            **_sketch_args(loaded, feeds),
            outputs=outputs.get(loaded.extra.get("output_name", "")) if outputs else None,
        )
        if self.log_predictions:
            self._log(loaded, request_id, outputs, shadow=False)
        return outputs

    def record_client_error(self, loaded: LoadedVersion, started: float) -> None:
        self.recorder.record(
            loaded.model,
            loaded.version,
            latency_s=time.perf_counter() - started,
            outcome=names.OUTCOME_CLIENT_ERROR,
            rows=0,  # nothing was scored
        )

    def try_shadow(self) -> bool:
        """Reserve a shadow slot; False (and the copy is dropped) while all are busy."""
        if self._shadow_slots.acquire(blocking=False):
            return True
        self.shadow_skipped += 1
        return False

    def run_shadow(
        self,
        shadow: LoadedVersion,
        feeds: Mapping[str, np.ndarray],
        primary_outputs: Mapping[str, np.ndarray],
        *,
        primary_version: str,
        request_id: str,
    ) -> None:
        """Mirror a request to the shadow version (after try_shadow()); never raises."""
        try:
            self._mirror(shadow, feeds, primary_outputs, primary_version, request_id)
        finally:
            self._shadow_slots.release()

    def _mirror(
        self,
        shadow: LoadedVersion,
        feeds: Mapping[str, np.ndarray],
        primary_outputs: Mapping[str, np.ndarray],
        primary_version: str,
        request_id: str,
    ) -> None:
        started = time.perf_counter()
        try:
            outputs = shadow.session.run(dict(feeds))
        except Exception as exc:
            self.recorder.record_shadow(
                shadow.model,
                primary_version,
                shadow.version,
                latency_s=time.perf_counter() - started,
                outcome=names.OUTCOME_MODEL_ERROR,
                agreed=None,
            )
            _log.debug("shadow %s v%s failed: %s", shadow.model, shadow.version, exc)
            return
        self.recorder.record_shadow(
            shadow.model,
            primary_version,
            shadow.version,
            latency_s=time.perf_counter() - started,
            outcome=names.OUTCOME_OK,
            agreed=_agreement(primary_outputs, outputs, shadow.extra.get("output_name")),
        )
        if self.log_predictions:
            self._log(shadow, request_id, outputs, shadow=True)

    def _log(
        self,
        loaded: LoadedVersion,
        request_id: str,
        outputs: Mapping[str, np.ndarray],
        *,
        shadow: bool,
    ) -> None:
        try:
            pairs = labels_from_outputs(
                outputs,
                label_output=loaded.extra.get("label_output"),
                score_output=loaded.extra.get("score_output"),
            )
        except Exception:  # a prediction we cannot summarise is not worth failing a request
            return
        at = datetime.now(UTC)
        model, version = loaded.model, loaded.version
        self.predictions.add(
            [
                PredictionRecord(request_id, model, version, at, i, label, scores, shadow)
                for i, (label, scores) in enumerate(pairs)
            ]
        )


# A random per-process prefix and a counter: unique across replicas and restarts without
# a urandom syscall per request (which waits for the GIL behind the flusher thread).
_ID_PREFIX = uuid.uuid4().hex[:12]
_ID_COUNTER = itertools.count(1)


def _new_id_prefix() -> None:  # a forked worker must not repeat its parent's ids
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX, _ID_COUNTER = uuid.uuid4().hex[:12], itertools.count(1)


os.register_at_fork(after_in_child=_new_id_prefix)


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):012x}"


def _sketch_args(loaded: LoadedVersion, feeds: Mapping[str, np.ndarray]) -> dict[str, Any]:
    feature_input = loaded.extra.get("feature_input")
    if feature_input is None:
        return {}
    matrix = feeds.get(feature_input)
    if matrix is None or matrix.ndim != 2:
        return {}
    # The sketcher queues small float arrays and bins them in batches with numpy.
    return {"matrix": matrix}


def _agreement(
    primary: Mapping[str, np.ndarray], shadow: Mapping[str, np.ndarray], output: str | None
) -> bool | None:
    if not output or output not in primary or output not in shadow:
        return None
    a, b = np.asarray(primary[output]), np.asarray(shadow[output])
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-3, atol=1e-6))
    return bool(np.array_equal(a, b))


def _version_key(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (1 << 30, version)
