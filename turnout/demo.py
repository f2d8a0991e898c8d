"""The demo: a whole rollout story on embedded defaults, from nothing.

1. Train three classifiers on scikit-learn's bundled breast-cancer data (nothing is
   downloaded) and register them with the training data's reference profile: v1 the
   champion, v2 a better model, v3 one trained on corrupted labels.
2. Start `turnout serve`'s app in this process (gateway, rollout controller, drift
   monitor, alert worker, dashboard) on 127.0.0.1, a local receiver standing in for a
   retraining pipeline, and synthetic traffic whose true labels arrive later as feedback.
3. Play three scenes, printing what happens:
   - a good canary (v2) promoted step by step (5% -> 25% -> 50% -> 100%);
   - a bad canary (v3) rolled back by itself when its accuracy from the delayed labels
     falls below the champion's;
   - live inputs drifting until a drift alert fires and the retraining trigger reaches
     the receiver.

``speed`` scales every duration (steps, windows) down; ``headless`` stops after the
scenes, otherwise the server keeps serving until Ctrl-C so a person can look around.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from registry.names import CHAMPION
from turnout.registration import RegistrationResult, register_model
from turnout.services import Services
from turnout.settings import Settings

DEMO_MODEL = "breast-cancer"
# Features pushed upwards in the drift scene (a new scanner calibration, say).
DRIFTING = ("mean radius", "mean perimeter", "mean area", "worst radius")


@dataclass
class DemoOptions:
    headless: bool = False
    speed: float = 1.0
    port: int = 8000
    rps: float = 0.0  # 0: 40 requests/s, times the speed (at most 120)
    label_delay_s: float = 1.0

    def seconds(self, base: float) -> float:
        return max(base / self.speed, 1.0)

    @property
    def request_rate(self) -> float:
        # Faster steps need more requests per step for the 5% step to have evidence.
        return self.rps or min(40.0 * self.speed, 120.0)

    @property
    def window_s(self) -> int:
        """The drift monitor's window: 10 s at speed 1, never under 2 s."""
        return max(int(round(10 / self.speed)), 2)


@dataclass
class DemoResult:
    model: str
    url: str = ""
    registered: list[RegistrationResult] = field(default_factory=list)
    accuracy: dict[str, float] = field(default_factory=dict)
    scenes: list[dict[str, Any]] = field(default_factory=list)
    trigger: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "url": self.url,
            "registered": [r.to_dict() for r in self.registered],
            "accuracy": self.accuracy,
            "scenes": self.scenes,
            "retraining_trigger": self.trigger,
        }


Say = Callable[[str], None]


# -- models ------------------------------------------------------------------------------


@dataclass
class _Data:
    columns: list[str]
    test_rows: list[list[float]]
    test_labels: list[int]


def train_and_register(services: Services, model: str, say: Say) -> tuple[DemoResult, _Data]:
    import numpy as np
    import pandas as pd
    import skops.io as sio
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    workdir = services.settings.resolved_state_dir() / "demo"
    workdir.mkdir(parents=True, exist_ok=True)
    data = load_breast_cancer(as_frame=True)
    features: pd.DataFrame = data.data
    x_train, x_test, y_train, y_test = train_test_split(
        features, data.target, test_size=0.3, random_state=7, stratify=data.target
    )
    reference = workdir / "train.parquet"
    x_train.to_parquet(reference, index=False)
    say(f"training data: {len(x_train)} rows x {x_train.shape[1]} features -> {reference}")
    rng = np.random.default_rng(7)
    corrupted = y_train.to_numpy().copy()
    flip = rng.random(corrupted.size) < 0.45
    corrupted[flip] = 1 - corrupted[flip]
    candidates = [
        ("champion: logistic regression, strong regularisation (C=0.001)", 0.001, None),
        ("candidate: logistic regression, C=1.0", 1.0, None),
        ("bad candidate: trained on labels 45% flipped by a broken join", 1.0, corrupted),
    ]
    result = DemoResult(model=model)
    for description, c, labels in candidates:
        est = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
        est.fit(x_train.to_numpy(), y_train.to_numpy() if labels is None else labels)
        acc = float(est.score(x_test.to_numpy(), y_test.to_numpy()))
        path = workdir / f"model-{len(result.registered) + 1}.skops"
        sio.dump(est, path)
        reg = register_model(
            services,
            model,
            path,
            reference=reference,
            description=description,
            tags={"demo": "true", "holdout_accuracy": f"{acc:.4f}"},
        )
        result.registered.append(reg)
        result.accuracy[reg.version.version] = acc
        say(f"registered {model} v{reg.version.version}: {description}; accuracy {acc:.3f}")
    return result, _Data(
        columns=[str(c) for c in features.columns],
        test_rows=x_test.to_numpy().tolist(),
        test_labels=[int(v) for v in y_test.to_numpy()],
    )


# -- the retraining pipeline's receiver -------------------------------------------------------


class Receiver:
    """A local HTTP endpoint standing in for a retraining pipeline's trigger."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                length = int(self.headers.get("content-length") or 0)
                try:
                    received.append(json.loads(self.rfile.read(length) or b"{}"))
                except ValueError:
                    received.append({"unreadable": True})
                self.send_response(202)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/retrain"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- traffic -----------------------------------------------------------------------------------


class Traffic:
    """Requests at ``rps`` from the held-out rows; the true label follows as feedback."""

    def __init__(self, url: str, model: str, data: _Data, token: str, options: DemoOptions):
        self.url, self.model, self.data, self.token = url, model, data, token
        self.options = options
        self.drift = 0.0  # relative push of the DRIFTING features
        self.sent = 0
        self.failed = 0
        self.by_version: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self._drifting = [data.columns.index(c) for c in DRIFTING if c in data.columns]

    def start(self) -> Traffic:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import httpx

        rng = random.Random(11)
        pending: list[tuple[float, dict[str, Any]]] = []
        pause = 1.0 / self.options.request_rate
        headers = {"authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                i = rng.randrange(len(self.data.test_rows))
                row = list(self.data.test_rows[i])
                for j in self._drifting:
                    row[j] *= 1.0 + self.drift
                body = {"dataframe_split": {"columns": self.data.columns, "data": [row]}}
                try:
                    r = client.post(
                        f"/models/{self.model}/invocations",
                        json=body,
                        headers={"x-turnout-key": f"user-{rng.randrange(500)}"},
                    )
                    self.sent += 1
                    version = r.headers.get("x-turnout-version", "?")
                    self.by_version[version] = self.by_version.get(version, 0) + 1
                    if r.status_code == 200:
                        due = time.monotonic() + self.options.label_delay_s
                        label = {
                            "request_id": r.headers["x-request-id"],
                            "label": self.data.test_labels[i],
                        }
                        pending.append((due, label))
                    else:
                        self.failed += 1
                except httpx.HTTPError:
                    self.failed += 1
                ready = [item for due, item in pending if due <= time.monotonic()]
                if len(ready) >= 10 or (ready and len(ready) == len(pending)):
                    pending = [(d, item) for d, item in pending if d > time.monotonic()]
                    try:
                        client.post("/api/v1/feedback", json=ready, headers=headers)
                    except httpx.HTTPError:
                        pass  # a label lost in the demo only thins the evidence
                self._stop.wait(pause)


# -- the server ----------------------------------------------------------------------------


@contextmanager
def _server(settings: Settings, port: int) -> Iterator[str]:
    import socket

    import uvicorn

    from router.api.protocol import GatewayHttpProtocol
    from turnout.serve import build_gateway

    if port == 0:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    process = build_gateway(settings)
    config = uvicorn.Config(
        process.app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        http=GatewayHttpProtocol,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"the demo server did not start on 127.0.0.1:{port} (in use?)")
        if time.monotonic() > deadline:
            raise RuntimeError("the demo server did not start within 60 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _demo_settings(services: Services, options: DemoOptions, receiver: Receiver) -> Settings:
    state = services.settings.resolved_state_dir()
    alerts = state / "demo" / "alerts.toml"
    alerts.write_text(
        f"""# Written by `turnout demo`: drift alerts go to the demo's retraining receiver.
[sinks.retrain]
type = "webhook"
url = "{receiver.url}"

[[routes]]
kinds = ["drift"]
sinks = ["retrain", "log"]

[[routes]]
kinds = ["rollout_rollback", "data_quality", "test"]
sinks = ["log"]
""",
        encoding="utf-8",
    )
    window = options.window_s
    return services.settings.model_copy(
        update={
            "alerts_config": alerts,
            "drift_window": f"{window}s",
            "drift_hysteresis": 2,
            "monitor_interval_s": 1.0,
            "controller_interval_s": 0.5,
            "alerts_poll_s": 0.5,
            "public_url": f"http://127.0.0.1:{options.port}" if options.port else None,
        }
    )


# -- scenes ----------------------------------------------------------------------------------


def _canary_spec(model: str, version: str, options: DemoOptions) -> Any:
    from router.rollout import RolloutSpec

    # Thresholds a healthy candidate passes on demo traffic; accuracy comes from the
    # delayed labels. (Without an analysis block a rollout gets the default one: the
    # sequential tests of docs/analysis.md.)
    return RolloutSpec.from_dict(
        {
            "model": model,
            "candidate": version,
            "step_weights": [5, 25, 50, 100],
            "step_duration_s": options.seconds(16),
            "analysis": {
                "metrics": [
                    {"name": "error-rate", "kind": "error_rate", "max": 0.02, "minSamples": 10},
                    {
                        "name": "accuracy",
                        "kind": "accuracy",
                        "min": 0.8,
                        "minSamples": 10,
                        "interval": 1,
                    },
                ]
            },
        }
    )


def _play_rollout(services: Services, spec: Any, say: Say, *, timeout_s: float) -> dict[str, Any]:
    from router.controller.service import start_rollout
    from router.controller.store import get_rollout

    rollout_id, _ = start_rollout(
        services.sessions, services.registry, spec, actor="demo", now=time.time()
    )
    say(f"  rollout #{rollout_id} started: {spec.model} v{spec.candidate}, canary 5/25/50/100")
    seen: tuple[str, int] | None = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with services.sessions() as session:
            row = get_rollout(session, rollout_id)
            now = (row.phase, row.weight)
            message = row.message or ""
        if now != seen:
            seen = now
            say(f"  {now[0]:<12} v{spec.candidate} at {now[1]:>3}%  {message}")
        if now[0] in ("Succeeded", "RolledBack", "Aborted", "Failed"):
            return {"rollout_id": rollout_id, "phase": now[0], "message": message}
        if now[0] == "Paused":
            break
        time.sleep(0.25)
    # Paused for a human, or out of time: the demo cannot wait for one, so it aborts.
    from router.controller.service import run_command
    from turnout.serve import build_controller

    run_command(
        build_controller(services, lease=False),
        rollout_id,
        "abort",
        actor="demo",
        reason="the demo does not wait for a human",
    )
    say(f"  aborted rollout #{rollout_id}: it needed a human ({message})")
    return {"rollout_id": rollout_id, "phase": seen[0] if seen else "?", "message": message}


def run_demo(
    services: Services,
    options: DemoOptions | None = None,
    *,
    model: str = DEMO_MODEL,
    say: Say = lambda _msg: None,
) -> DemoResult:
    from router.access import create_token

    options = options or DemoOptions()
    result, data = train_and_register(services, model, say)
    first, good, bad = (r.version.version for r in result.registered)
    try:
        champion = services.registry.version_by_alias(model, CHAMPION).version
    except Exception:
        champion = None
    if champion is None or champion != first:
        services.ledger.promote(model, first, actor="demo", reason="demo: initial champion")
    say(f"{model} v{first} is champion")

    receiver = Receiver()
    settings = _demo_settings(services, options, receiver)
    token_name = f"demo-{int(time.time() * 1000)}"
    with services.sessions.begin() as session:
        token = create_token(session, token_name, "operator")
    try:
        with _server(settings, options.port) as url:
            result.url = url
            say(f"server and dashboard: {url}/  (rollouts, drift and alerts live)")
            traffic = Traffic(url, model, data, token, options).start()
            try:
                _scenes(services, result, traffic, receiver, options, good, bad, say)
                if not options.headless:
                    say(f"still serving at {url}/ with traffic; Ctrl-C to stop")
                    while True:
                        time.sleep(3600)
            finally:
                traffic.stop()
    finally:
        receiver.stop()
    return result


def _scenes(
    services: Services,
    result: DemoResult,
    traffic: Traffic,
    receiver: Receiver,
    options: DemoOptions,
    good: str,
    bad: str,
    say: Say,
) -> None:
    model = result.model
    step_s = options.seconds(16)
    say("")
    say(f"scene 1: a good canary. v{good} takes 5% -> 25% -> 50% -> 100% of traffic,")
    say(f"  each step judged for {step_s:g} s on errors and on accuracy from delayed labels")
    outcome = _play_rollout(
        services, _canary_spec(model, good, options), say, timeout_s=step_s * 8 + 30
    )
    result.scenes.append({"scene": "good canary", **outcome})
    champion = services.registry.version_by_alias(model, CHAMPION).version
    say(f"  -> {outcome['phase']}; champion is now v{champion}")

    say("")
    say(f"scene 2: a bad canary. v{bad} was trained on corrupted labels; its accuracy")
    say("  shows once the true labels arrive, and the controller rolls it back by itself")
    outcome = _play_rollout(
        services, _canary_spec(model, bad, options), say, timeout_s=step_s * 8 + 30
    )
    result.scenes.append({"scene": "bad canary", **outcome})
    champion = services.registry.version_by_alias(model, CHAMPION).version
    say(f"  -> {outcome['phase']}; champion stays v{champion}")

    say("")
    window = options.window_s
    say(f"scene 3: drift. {', '.join(DRIFTING)} creep upwards in live traffic;")
    say(f"  the monitor judges windows of {window} s and alerts after 2 drifting windows")
    started = time.monotonic()
    before = len(receiver.bodies)
    deadline = started + max(window * 8, 40)
    level = 0.0
    while time.monotonic() < deadline and len(receiver.bodies) == before:
        level = min(level + 0.1, 0.6)
        traffic.drift = level
        time.sleep(max(window / 2, 1.0))
    traffic.drift = 0.0
    if len(receiver.bodies) > before:
        body = receiver.bodies[-1]
        result.trigger = body
        features = ", ".join(
            f"{f.get('feature')} ({f.get('statistic')} {f.get('value', 0):.3g})"
            for f in body.get("features", [])
        )
        say(f"  retraining trigger received after {time.monotonic() - started:.0f} s:")
        say(f"  {body.get('title')}; drifted: {features}")
        result.scenes.append({"scene": "drift", "phase": "alerted", "alert": body.get("id")})
    else:
        say("  no drift alert reached the receiver in time")
        result.scenes.append({"scene": "drift", "phase": "no alert"})
    say(
        f"traffic: {traffic.sent} requests, {traffic.failed} failed; by version "
        f"{dict(sorted(traffic.by_version.items()))}"
    )
