"""Run real gateway processes for tests: `turnout serve` on a free loopback port.

Also client traffic from a background thread (`Load`), and a small TCP proxy, so a test
can cut a gateway off from its database and restore it, the way a network partition or a
DB restart would.
"""

from __future__ import annotations

import os
import random
import select
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TURNOUT = Path(sys.executable).with_name("turnout")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def base_env(state: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURNOUT_", "MLFLOW_"))}
    env["TURNOUT_STATE_DIR"] = str(state)
    env["TURNOUT_ACTOR"] = "tester"
    env.update(overrides)
    return env


def turnout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(TURNOUT), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@dataclass
class Gateway:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def stop(self) -> None:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_gateway(env: dict[str, str], log: Path, *extra: str, timeout: float = 90) -> Gateway:
    port = free_port()
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(TURNOUT), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                return Gateway(url, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gateway not ready in {timeout}s:\n{log.read_text()}")


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> float:  # type: ignore[no-untyped-def]
    """Poll PREDICATE until it is true; return the seconds it took (or raise)."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


@dataclass(frozen=True)
class Answer:
    at: float  # epoch seconds when the answer arrived
    key: str
    version: str  # the x-turnout-version header, "?" without one
    status: int


@dataclass
class Load:
    """A client posting keyed requests to `path` until stopped; every answer is kept.

    `body` is sent as is, or, given a list, one of its items chosen at random per request.
    Keys are `key_prefix` + a number below `users`. With `feedback` (operator token, true
    label), the label of every answered request is posted to /api/v1/feedback.
    """

    url: str
    body: Mapping[str, object] | Sequence[Mapping[str, object]]
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    users: int = 200
    key_prefix: str = "user-"
    pause_s: float = 0.005
    seed: int = 7
    feedback: tuple[str, int] | None = None
    answers: list[Answer] = field(default_factory=list)
    failures_without_version: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def between(self, start: float, end: float) -> list[Answer]:
        return [a for a in list(self.answers) if start <= a.at < end]

    def tally(self) -> Counter[tuple[str, int]]:
        """How many answers came back per (version, status)."""
        return Counter((a.version, a.status) for a in list(self.answers))

    def _run(self) -> None:
        rng = random.Random(self.seed)
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self._stop.is_set():
                body = self.body if isinstance(self.body, Mapping) else rng.choice(self.body)
                key = f"{self.key_prefix}{rng.randrange(self.users)}"
                try:
                    r = client.post(
                        self.path, json=body, headers={"x-turnout-key": key, **self.headers}
                    )
                except httpx.HTTPError:
                    self.failures_without_version += 1
                    continue
                version = r.headers.get("x-turnout-version", "?")
                self.answers.append(Answer(time.time(), key, version, r.status_code))
                if self.feedback is not None and r.status_code == 200:
                    token, label = self.feedback
                    client.post(
                        "/api/v1/feedback",
                        json={"request_id": r.headers["x-request-id"], "label": label},
                        headers={"authorization": f"Bearer {token}"},
                    )
                time.sleep(self.pause_s)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `cut()` drops every connection, `heal()` resumes."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def heal(self) -> None:
        self._stop.clear()
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while not self._stop.is_set():
                ready, _, _ = select.select([a, b], [], [], 0.2)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    peers[s].sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()
